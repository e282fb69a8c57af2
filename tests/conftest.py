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


TINY_FAMILY = EXAMPLES / "tiny" / "cpu"


@pytest.fixture(scope="session")
def tiny_assets(tmp_path_factory):
    """The tiny CPU training assets (`ttwriter tiny-assets`), built once per test session."""
    from ttwriter.tiny_assets import build_tiny_assets

    folder = tmp_path_factory.mktemp("tiny_assets")
    build_tiny_assets(folder)
    return folder


@pytest.fixture
def offline(monkeypatch):
    """Nothing a training run does may reach for the network (Hugging Face hub and datasets)."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
