"""The printing helpers every command uses, so each says things the same way: paths as the user
can paste them, how many runs a finding touches, tables cut at one limit, the validation gate.

The words themselves (`k=v` params, "a, b and N more", "4 runs") come from ttwriter.formats,
which the library's own messages use too.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from ttwriter.formats import listed

if TYPE_CHECKING:
    from ttwriter.validation.gate import GateResult

TABLE_LIMIT = 20
"""Most rows a table on the terminal shows before `... and N more (see FILE)`."""

EXIT_OK, EXIT_SOME_FAILED, EXIT_BAD_INPUT, EXIT_INTERNAL = 0, 1, 2, 3
"""0: done; 1: done, but some configs failed validation (generate) or some runs failed (run);
2: invalid input or arguments, nothing done; 3: an internal error, a bug in ttwriter."""
EXIT_INTERRUPTED = 130
"""Ctrl-C (128 + SIGINT); another stop signal gives 128 + its number."""


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
