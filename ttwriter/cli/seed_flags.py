"""`--variables.seed` on the command line: a sweep's seeds are replicates' (docs/sweeps.md), so
the flag is answered with `--replicates` rather than with the nearest spelling of another flag
(`--sample.seed`, which seeds the random draws and takes one value)."""

from __future__ import annotations

import shlex
from collections.abc import Sequence

from ttwriter.cli._arguments import FLAG, ArgumentError, normal
from ttwriter.experiment.experiment import Experiment
from ttwriter.sweep.strategies import SEED

_SEED_VARIABLE = f"--variables.{SEED}"
_REPLICATES = "--replicates"


def _flag_at(token: str) -> tuple[str, str | None] | None:
    match = FLAG.fullmatch(token)
    if match is None:
        return None
    flag, value = match.groups()
    return normal(flag), value[1:] if value is not None else None


def _remove(argv: list[str], flag: str) -> tuple[list[str], int, list[str] | None]:
    """`argv` without `flag` and the values after it, where they were, and those values (None:
    not given)."""
    for i, token in enumerate(argv):
        found = _flag_at(token)
        if found is None or found[0] != flag:
            continue
        if found[1] is not None:
            return argv[:i] + argv[i + 1 :], i, [found[1]]
        end = i + 1
        while end < len(argv) and _flag_at(argv[end]) is None:
            end += 1
        return argv[:i] + argv[end:], i, argv[i + 1 : end]
    return argv, len(argv), None


def check_seed_variable(experiment: Experiment, typed: Sequence[str], prog: str) -> None:
    """Refuse `--variables.seed` when the experiment has no `seed` variable, with the
    `--replicates` that gives the seeds asked for (ArgumentError)."""
    if SEED in experiment.variables:
        return  # its own flag: tyro parses it, and the run space refuses it next to replicates
    argv, at, seeds = _remove(list(typed), normal(_SEED_VARIABLE))
    if seeds is None:
        return
    without, where, replicates = _remove(argv, _REPLICATES)
    if replicates is not None:  # the seeds asked for replace the replicates given
        argv, at = without, at - (len(argv) - len(without)) * (where < at)
    why = (
        "seed cannot be a variable together with replicates, which set each run's seed"
        if replicates is not None or experiment.replicates is not None
        else "a sweep's seeds are not a variable: replicates run every condition once per seed"
    )
    if seeds:
        # One value after --replicates is a count: a single seed is a list of one.
        given = seeds if len(seeds) > 1 else [f"[{seeds[0]}]"]
        fix = f"{prog} {shlex.join([*argv[:at], _REPLICATES, *given, *argv[at:]])}"
    else:
        fix = f"give the seeds with {_REPLICATES} SEED [SEED ...]"
    raise ArgumentError(
        f"{prog} has no option {_SEED_VARIABLE!r}: {why}",
        fix=f"{fix} (each condition runs once per seed; docs/sweeps.md#replicates)",
    )
