"""The exit codes of every command, and what each means for each command, defined once.

Scripts branch on them (`ttwriter status DIR || notify`), so they are part of the interface: the
top-level help, each command's --help and the docs all print them from here.
"""

from __future__ import annotations

import signal

EXIT_OK = 0
"""Done."""
EXIT_SOME_FAILED = 1
"""The command ran, but something it reports failed, or for `diff` differs (per command: SOME_FAILED)."""
EXIT_BAD_INPUT = 2
"""Invalid input or arguments: an `error:` line and a `fix:`; nothing was done or written."""
EXIT_INTERNAL = 3
"""An internal error, a bug in ttwriter (TTWRITER_DEBUG=1 shows the traceback)."""
EXIT_INTERRUPTED = 130
"""Ctrl-C (128 + SIGINT); another stop signal gives 128 + its number (`interrupted`)."""

SOME_FAILED: dict[str, str | None] = {
    "generate": "some configs failed validation (they are written; the report says why)",
    "submit": None,
    "status": "some run or evaluation failed (pending, running or not submitted ones are not failures)",
    "run": "some runs or evaluations failed (the others are done)",
    "results": None,
    "evaluate": "some evaluations failed (the others are done)",
    "tiny-assets": None,
    "tree": "some file is flagged: its lineage, or loading or planning it, is broken",
    "diff": "the two experiments differ (as diff does)",
    "new": None,
}
"""What exit code 1 means for each command; None where the command never exits 1."""

_OTHERS = (
    (EXIT_BAD_INPUT, "bad input or arguments (nothing done)"),
    (EXIT_INTERNAL, "internal error, a bug in ttwriter"),
    (EXIT_INTERRUPTED, "interrupted (128 + the signal; 130 is Ctrl-C)"),
)


def interrupted(signum: int) -> int:
    """The exit code of a command stopped by signal `signum` (130 for Ctrl-C, 143 for SIGTERM)."""
    return 128 + signum


def interrupted_by(interrupt: BaseException) -> str:
    """`interrupted` after Ctrl-C, `interrupted by SIGTERM` after another stop signal: how an
    interrupted command's message starts."""
    signum = getattr(interrupt, "signum", signal.SIGINT)
    return "interrupted" if signum == signal.SIGINT else f"interrupted by {signal.Signals(signum).name}"


def exit_codes_text(command: str) -> str:
    """One command's exit codes, as a line of its --help."""
    what = SOME_FAILED[command]
    codes = [(EXIT_OK, "ok"), *([(EXIT_SOME_FAILED, what)] if what else []), *_OTHERS]
    return "Exit codes: " + "; ".join(f"{code} {meaning}" for code, meaning in codes) + "."


def exit_codes_table() -> list[str]:
    """Every exit code and what it means for each command, as rows of the top-level help."""
    rows = [
        f"  {EXIT_OK:<4} ok",
        f"  {EXIT_SOME_FAILED:<4} the command ran, but something it reports failed (or differs):",
    ]
    rows += [f"         {name}: {what}" for name, what in SOME_FAILED.items() if what]
    rows += [f"  {code:<4} {meaning}" for code, meaning in _OTHERS]
    return rows
