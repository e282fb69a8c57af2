"""The most runs one sweep may have, and the check that refuses more before any run is made.

A sweep's run count is a product of counts (docs/sweeps.md): the values of each variable, the
entries of each linked axis, the draws and the replicates. Every later step (exclusions, derived
values, type checks, writing) costs something per grid point or per run, so a count beyond what
research uses (`replicates: 1000000000`, four variables of 1,000 values) would run for hours or
fill the memory instead of saying what is wrong. The count is therefore checked here from those
counts alone, before anything is done per run; exclusions are not subtracted, as finding which
grid points they drop means visiting each of them.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

from ttwriter.errors import TooManyRunsError, ValuePath

MAX_RUNS = 100_000
"""The most runs a sweep may have: ten times the 10,000 runs written in about 4 s
(docs/benchmarks.md), far beyond a research sweep, and small enough to be generated in a minute."""


@dataclasses.dataclass(frozen=True)
class Factor:
    """One count the runs are multiplied by: a variable's values, a linked axis's entries, ..."""

    kind: str
    """'variable', 'linked', 'draws' or 'replicates'."""
    name: str
    """As the experiment writes it: `lora_rank`, `schedule`, `sample.num_samples`, `replicates`."""
    count: int
    path: ValuePath
    """Where it is written in the experiment (the error is located at the factor it suggests lowering)."""
    seeds_listed: bool = False
    """For replicates: a list of seeds rather than a count."""


_UNITS = {"variable": "variables", "linked": "linked entries", "draws": "draws", "replicates": "replicates"}


def count_text(n: int) -> str:
    """`3,000,000` for a count; `about 1.2e+150` past 24 digits (an int of 4300 digits has no text)."""
    if n < 10**24:
        return f"{n:,}"
    exponent = int(math.log10(n))
    while 10**exponent > n:
        exponent -= 1
    while 10 ** (exponent + 1) <= n:
        exponent += 1
    return f"about {n / 10**exponent:.1f}e+{exponent}"


def _arithmetic(factors: Sequence[Factor]) -> str:
    """`3 x 1,000 variables x 1,000,000,000 replicates`: the counts of each kind, in order."""
    parts = []
    for kind, unit in _UNITS.items():
        counts = [f for f in factors if f.kind == kind]
        if not counts:
            continue
        if kind == "variable" and len(counts) == 1:
            unit = f"values of {counts[0].name}"
        elif kind == "linked" and len(counts) == 1:
            unit = f"entries of linked {counts[0].name}"
        parts.append(" x ".join(count_text(f.count) for f in counts) + f" {unit}")
    return " x ".join(parts) or "1 grid point"


def _lower(factor: Factor, at_most: int, rest: int) -> str:
    """How to bring one factor down to `at_most` (the other factors make `rest`), in the
    experiment's own words; the new value as it would be written (no thousands separators)."""
    if factor.kind == "variable":
        how = f"give {factor.name} at most {at_most} of its {count_text(factor.count)} values"
    elif factor.kind == "linked":
        how = f"give linked {factor.name} at most {at_most} of its {count_text(factor.count)} entries"
    elif factor.kind == "draws":
        how = f"lower sample.num_samples to at most {at_most}"
    elif factor.seeds_listed:
        how = f"keep at most {at_most} of the {count_text(factor.count)} seeds in replicates"
    else:
        how = f"lower replicates to at most {at_most}"
    return how + f" ({count_text(rest)} x {at_most} = {at_most * rest:,} runs)"


def check_run_count(factors: Sequence[Factor], excluding: bool = False) -> None:
    """Raise `TooManyRunsError` when the product of `factors` is over `MAX_RUNS`; `excluding`
    says the experiment excludes grid points (counted anyway: the message says so)."""
    total = math.prod(f.count for f in factors)
    if total <= MAX_RUNS:
        return
    before = " before exclusions" if excluding else ""
    message = (
        f"{_arithmetic(factors)} = {count_text(total)} runs{before}, "
        f"over the limit of {MAX_RUNS:,} runs a sweep may have"
    )
    # The largest count that can be lowered alone to fit, else the largest of all.
    alone = [f for f in factors if total // f.count <= MAX_RUNS]
    if alone:
        factor = max(alone, key=lambda f: f.count)
        rest = total // factor.count
        fix = _lower(factor, MAX_RUNS // rest, rest)
    else:
        factor = max(factors, key=lambda f: f.count)
        largest = sorted((f for f in factors if f.count > 1), key=lambda f: -f.count)
        fix = (
            f"make the product at most {MAX_RUNS:,}: fewer values for "
            + ", ".join(f"{f.name} ({count_text(f.count)})" for f in largest[:4])
            + ("" if len(largest) <= 4 else ", ...")
        )
    raise TooManyRunsError(
        message, path=factor.path, fix=fix + ", or split the sweep into several experiments"
    )
