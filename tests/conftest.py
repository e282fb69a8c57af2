"""Shared test helpers: the repo's example experiments and a CLI runner that captures output."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from ttwriter.cli import main

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = REPO / "experiments"


class CliResult:
    def __init__(self, code: int, out: str, err: str) -> None:
        self.code, self.out, self.err = code, out, err


@pytest.fixture
def run_cli():
    """Call `ttwriter.cli.main(argv)` in-process; returns exit code, stdout and stderr."""

    def _run(*argv: str) -> CliResult:
        out, err = io.StringIO(), io.StringIO()
        code = main(list(argv), out=out, err=err)
        return CliResult(code, out.getvalue(), err.getvalue())

    return _run
