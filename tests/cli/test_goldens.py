"""Golden files for what every command prints about its own arguments: its --help, and one
argument error each (tests/golden/cli/). Regenerate after an intended change, and review the diff:

    UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/test_golden.py tests/cli/test_goldens.py

Help is rendered 100 columns wide (COLUMNS), as on a terminal of that width.
"""

from __future__ import annotations

import pytest

from tests.conftest import PY_EXAMPLE, REPO
from tests.test_golden import check_golden, normalise

DIR = "outputs/lora_rank_20260101_120000"
"""An experiment folder as the user types it; argument errors are found before it is read."""

HELP = {
    "help": ["--help"],
    "generate": ["generate", "--help"],
    "submit": ["submit", "--help"],
    "status": ["status", "--help"],
    "run": ["run", "--help"],
    "results": ["results", "--help"],
    "evaluate": ["evaluate", "--help"],
    "tiny-assets": ["tiny-assets", "--help"],
    "tree": ["tree", "--help"],
    "diff": ["diff", "--help"],
    "new": ["new", "--help"],
}

ERRORS = {
    "command": ["stauts", DIR],
    "generate": [str(PY_EXAMPLE), "--controls.learning-rat", "1e-4", "--dry-run"],
    "submit": ["submit", DIR, "--fialed"],
    "status": ["status"],
    "run": ["run", DIR, "--runs", "run_000", "--failed"],
    "results": ["results", DIR, "--no-plot=yes"],
    "run-stages": ["run", DIR, "--no-eval", "--eval-only"],
    "evaluate": ["evaluate", DIR, "--run", "run_000"],
    "tiny-assets": ["tiny-assets", "assets", "more"],
    "tree": ["tree", "experiments/sft/llama_1b", "--jsn"],
    "diff": ["diff"],
    "new": ["new", "experiments/sft/llama_1b/lora_rank_02_01.py"],
}


@pytest.fixture(autouse=True)
def width(monkeypatch):
    monkeypatch.setenv("COLUMNS", "100")


@pytest.mark.parametrize("argv", HELP.values(), ids=HELP.keys())
def test_help(run_cli, capsys, argv, request):
    result = run_cli(*argv)

    assert (result.code, result.err) == (0, "")
    assert capsys.readouterr() == ("", "")
    check_golden(f"cli/{request.node.callspec.id}.txt", normalise(result.out))


@pytest.mark.parametrize("argv", ERRORS.values(), ids=ERRORS.keys())
def test_argument_error(run_cli, capsys, argv, request):
    result = run_cli(*argv)

    assert (result.code, result.out) == (2, "")
    assert result.err.startswith("error: ") and "\n  fix: " in result.err
    assert capsys.readouterr() == ("", "")
    check_golden(f"cli/errors/{request.node.callspec.id}.txt", normalise(result.err, REPO=REPO))
