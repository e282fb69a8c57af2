"""Shared test helpers: the repo's example experiments and a CLI runner that captures output."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from ttwriter.cli.main import main

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
    from ttwriter.train.tiny_assets import build_tiny_assets

    folder = tmp_path_factory.mktemp("tiny_assets")
    build_tiny_assets(folder)
    return folder


@pytest.fixture
def offline(monkeypatch):
    """Nothing a training run does may reach for the network (Hugging Face hub and datasets)."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")


@pytest.fixture
def tiny_env(offline, monkeypatch):
    """Offline, and one CPU thread per training process: the tiny model trains fastest that way,
    and on a busy machine two OpenMP threads per run mostly wait for each other."""
    monkeypatch.setenv("OMP_NUM_THREADS", "1")


@pytest.fixture(scope="session")
def slurm():
    """A running one-node SLURM cluster (scripts/slurm_local.sh), or a skip that says why not."""
    import os
    import shutil
    import subprocess

    script = REPO / "scripts" / "slurm_local.sh"
    if shutil.which("bash") is None:
        pytest.skip("bash is needed to start SLURM")
    up = subprocess.run(["bash", str(script), "status"], capture_output=True, text=True, timeout=60)
    if up.returncode != 0:
        if os.geteuid() != 0:
            pytest.skip(
                "SLURM is not running and starting it needs root: sudo bash scripts/slurm_local.sh up"
            )
        up = subprocess.run(["bash", str(script), "up"], capture_output=True, text=True, timeout=900)
        if up.returncode != 0:
            reason = (up.stderr.strip().splitlines() or ["no output"])[-1]
            pytest.skip(f"SLURM could not be installed or started here: {reason}")
    if shutil.which("sbatch") is None:
        pytest.skip("SLURM is up but sbatch is not on PATH")
