"""The printing helpers every command uses, so each says things the same way: paths as the user
can paste them, how many runs a finding touches, tables cut at one limit, the validation gate.

The words themselves (`k=v` params, "a, b and N more", "4 runs") come from ttwriter.formats,
which the library's own messages use too.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from ttwriter.formats import counted, listed
from ttwriter.slurm.status import DONE

if TYPE_CHECKING:
    from ttwriter.slurm.status import RunStatus
    from ttwriter.validation.gate import GateResult

TABLE_LIMIT = 20
"""Most rows a table on the terminal shows before `... and N more (see FILE)`."""


def relative(path: Path) -> str:
    """A path relative to the working folder when it is inside it, else as it is."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def pasteable(path: Path) -> str:
    """`relative(path)` as one shell word, to paste into a command."""
    return shlex.quote(relative(path))


def runs_label(runs: list[str], total: int) -> str:
    """Which runs something applies to: `all 4 runs`, or the runs by id."""
    if len(runs) == total and total > 1:
        return f"all {total} runs"
    return listed(runs)


def more_rows(n: int, where: str) -> str:
    """The line under a table that stopped at TABLE_LIMIT rows."""
    return f"  ... and {n} more (see {where})"


def print_gate(gate: GateResult | None, out: TextIO, show: Callable[[Path], str] = str) -> None:
    """What the validation gate did before runs were started, naming its report as `show` shows it."""
    for line in gate.lines(show(gate.report)) if gate else []:
        print(line, file=out)


def print_choice(skipped: Sequence[RunStatus], retrained: Sequence[str], out: TextIO) -> None:
    """What `submit` and `run` say about the runs slurm.choose left out (--failed) or starts again
    (--runs naming done runs)."""
    if skipped:
        reasons = [f"{s.run.id} ({s.state}{f', job {s.job}' if s.state != DONE else ''})" for s in skipped]
        print(f"Leaving out {counted(len(reasons))}: {listed(reasons)}", file=out)
    for run_id in retrained:
        print(f"note: {run_id} had finished; it trains again and its result is replaced", file=out)
