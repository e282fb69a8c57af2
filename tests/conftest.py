"""Shared fixtures and constants: the repo's example experiments, a CLI runner that captures
output, the tiny CPU training assets, and the real SLURM cluster.

Tests that need the slow parts are marked, so the fast loop leaves them out:
`training` (the real torch stack: a real `tune run`, or torch, torchtune or lm_eval imported in
full to compare with) and `cluster` (the one-node SLURM of scripts/slurm_local.sh);
`pytest -m "not training and not cluster"` runs the rest (see the README's Development section).
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest

from ttwriter.cli.main import main

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = REPO / "experiments"
LLAMA_1B = EXAMPLES / "sft" / "llama_1b"
"""The example family of Python experiments."""
PY_EXAMPLE = LLAMA_1B / "lora_rank_02_01.py"
PY_PARENT = LLAMA_1B / "baseline_01_01.py"
YAML_EXAMPLE = EXAMPLES / "yaml" / "lora_rank" / "experiment.yaml"
BASE = "llama3_2/1B_lora_single_device"
"""The shipped config most tests start from."""


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
"""The tiny CPU family that trains for real on the tiny assets."""
TINY_BASE = TINY_FAMILY / "tiny_lora.yaml"
LETTERS = TINY_FAMILY / "letters_inspect_03_01.py"
"""The tiny family's inspect-ai example: two runs and the base model, each evaluated."""


def write_letters(run_cli, folder: Path, assets: Path, *flags: str) -> Path:
    """The letters sweep written to `folder` unvalidated (the assets need not exist), with `flags`."""
    made = run_cli(
        str(LETTERS),
        "--controls.tiny-assets",
        str(assets),
        *flags,
        "--output-dir",
        str(folder),
        "--no-validate",
    )
    assert made.code == 0, made.err
    return folder


@pytest.fixture(scope="session")
def tiny_assets(tmp_path_factory):
    """The tiny CPU training assets (`ttwriter tiny-assets`), built once per test session."""
    from ttwriter.train.tiny_assets import build_tiny_assets

    folder = tmp_path_factory.mktemp("tiny_assets")
    build_tiny_assets(folder)
    return folder


@pytest.fixture(autouse=True, scope="session")
def cache_home(tmp_path_factory):
    """ttwriter's caches (lm_eval's task names) in a folder of the test session, never ~/.cache;
    shared by the tests, so the list is made once per session."""

    # One folder for every pytest-xdist worker of the session (their base folders share a
    # parent), so the list is made once, not once per worker; the cache is written atomically.
    shared = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        shared = shared.parent
    folder = shared / "cache_home"
    folder.mkdir(exist_ok=True)
    before = os.environ.get("XDG_CACHE_HOME")
    os.environ["XDG_CACHE_HOME"] = str(folder)
    yield folder
    if before is None:
        os.environ.pop("XDG_CACHE_HOME", None)
    else:
        os.environ["XDG_CACHE_HOME"] = before


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


_SLOW = {
    "slurm": "cluster",
    "tiny_env": "training",
    "trained": "training",
    "imported": "training",
    "tiny_assets": "training",
}
"""Fixtures that only the slow tests use, and the marker each such test must carry."""


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist reads the groups from the markers
def pytest_collection_modifyitems(config, items):
    """Refuse to run a test that needs the cluster or real training without saying so: the fast
    loop (`-m "not training and not cluster"`) relies on the markers.

    The marked tests also form one pytest-xdist group (`--dist loadgroup` in pyproject.toml): they
    run on one worker, in order, so the session's trained runs and cluster are made once and two
    trainings never compete for the two cores; the other worker takes the rest."""
    unmarked = []
    for item in items:
        if item.get_closest_marker("training") or item.get_closest_marker("cluster"):
            item.add_marker(pytest.mark.xdist_group("slow"))
        parametrized = getattr(getattr(item, "callspec", None), "params", {})
        for fixture, marker in _SLOW.items():
            used = fixture in getattr(item, "fixturenames", ()) and fixture not in parametrized
            if used and item.get_closest_marker(marker) is None:
                unmarked.append(f"{item.nodeid} uses the {fixture!r} fixture but is not marked {marker!r}")
    if unmarked:
        raise pytest.UsageError("\n".join(unmarked))
