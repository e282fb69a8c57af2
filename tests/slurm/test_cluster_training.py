"""End to end on a real SLURM: the tiny 2x2 sweep is generated, submitted with `ttwriter submit`,
trained by `tune run` in a job array, and its results come back joined with the params.

Uses the one-node cluster of scripts/slurm_local.sh (the `slurm` fixture starts it, or skips with
the reason when it cannot). The jobs inherit this process's environment, as sbatch passes it on,
so the offline Hugging Face settings and OMP_NUM_THREADS=1 (see the tiny_env fixture) reach them.
"""

from __future__ import annotations

import time

import pytest

from tests.train.tiny_training import RUN_IDS, SWEEP, check_every_run_trained, check_results
from ttwriter.folder.read import read_job_folder
from ttwriter.slurm.status import PENDING, RUNNING, sweep_status

pytestmark = [pytest.mark.cluster, pytest.mark.training]

WAIT_SECONDS = 300
"""A bound, not a benchmark: the four runs take about a minute, two at a time on the two-CPU test
node, but a busy machine or queue can stretch that."""


def test_the_tiny_sweep_trains_on_slurm_and_reports_its_results(
    slurm, tiny_assets, tiny_env, run_cli, tmp_path
):
    folder = tmp_path / "tiny"
    made = run_cli(
        str(SWEEP),
        "--controls.tiny-assets",
        str(tiny_assets),
        "--output-dir",
        str(folder),
    )
    assert made.code == 0, made.out + made.err

    submitted = run_cli("submit", str(folder))
    assert submitted.code == 0, submitted.err
    assert "--array=0-3" in submitted.out

    deadline = time.monotonic() + WAIT_SECONDS
    status = sweep_status(read_job_folder(folder))
    while status.with_state(PENDING, RUNNING) and time.monotonic() < deadline:
        time.sleep(1)
        status = sweep_status(read_job_folder(folder))
    states = {r.run.id: r.state for r in status.runs}
    assert states == dict.fromkeys(RUN_IDS, "done"), (
        f"after {WAIT_SECONDS} s: {states}\n" + (folder / "logs" / "run_000.out").read_text()[-2000:]
    )

    check_every_run_trained(folder)
    check_results(folder, run_cli)
