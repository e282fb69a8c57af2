"""Evaluation on a real SLURM: `ttwriter submit` queues the eval array after the training array,
each eval task waiting for its own training task; `ttwriter status` shows both stages; `--failed`
submits again what did not complete, an evaluation alone when its run is trained.

The first test trains with the fake trainer (tests/slurm/sweeps.py), so it takes seconds: its
evaluations fail at once (the fake trainer saves no checkpoint), which is all the chaining needs.
The second trains the tiny model and evaluates it with inspect-ai for real.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import TINY_FAMILY
from tests.slurm.sweeps import FAILING_RUN, make_sweep
from ttwriter.folder.markers import EVALUATION
from ttwriter.folder.read import read_job_folder
from ttwriter.slurm.status import PENDING, RUNNING, sweep_status

pytestmark = pytest.mark.cluster

WAIT_SECONDS = 300
"""A bound, not an expectation (see test_cluster.WAIT_SECONDS); real evaluations take ~15 s each."""
LETTERS_TASK = TINY_FAMILY / "eval" / "letters.py"


def wait_for_both(folder: Path, what: str):
    """Poll until no training and no evaluation is pending or running; both stages' status."""
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        job_folder = read_job_folder(folder)
        training, evaluation = sweep_status(job_folder), sweep_status(job_folder, EVALUATION)
        if not training.with_state(PENDING, RUNNING) and not evaluation.with_state(PENDING, RUNNING):
            return training, evaluation
        if time.monotonic() > deadline:
            queue = subprocess.run(["squeue"], capture_output=True, text=True, timeout=30).stdout
            stages = {r.run.id: r.state for r in training.runs}, {r.run.id: r.state for r in evaluation.runs}
            pytest.fail(f"still waiting for {what} after {WAIT_SECONDS} s: {stages}\nsqueue:\n{queue}")
        time.sleep(0.5)


def records(folder: Path) -> list[dict]:
    return [json.loads(line) for line in (folder / "submissions.jsonl").read_text().splitlines()]


def test_evaluations_wait_for_their_own_training_and_failed_ones_are_resubmitted(slurm, run_cli, tmp_path):
    evaluation = {"harness": "inspect", "tasks": [f"{LETTERS_TASK}@letters"], "base_model": True}
    result = make_sweep(tmp_path, controls={"device": "cpu"}, evaluation=evaluation)
    folder = result.experiment_dir

    submitted = run_cli("submit", str(folder))
    assert submitted.code == 0, submitted.err
    train, runs, base = records(folder)
    assert (train["stage"], train["array"]) == ("train", "0-3")
    assert (runs["stage"], runs["array"], runs["after"], runs["runs"]) == (
        "eval",
        "0-3",
        train["job_id"],
        ["run_000", "run_001", "run_002", "run_003"],
    )
    assert f"--dependency=aftercorr:{train['job_id']}" in runs["command"]
    assert "--kill-on-invalid-dep=yes" in runs["command"]
    assert (base["runs"], base["array"], base["after"]) == (["base_model"], "4", None)
    assert submitted.out.splitlines()[:4] == [
        f"Submitted 4 runs of fake as SLURM job {train['job_id']} (--array=0-3)",
        "  runs: run_000, run_001, run_002, run_003",
        f"Evaluation of run_000, run_001, run_002, run_003, each after its own training task in job "
        f"{train['job_id']}: SLURM job {runs['job_id']} (--array=0-3)",
        f"Evaluation of base_model (nothing to wait for): SLURM job {base['job_id']} (--array=4)",
    ]

    training, evaluated = wait_for_both(folder, "the first submission")
    assert {r.run.id: r.state for r in training.runs} == {
        "run_000": "done",
        "run_001": "done",
        "run_002": "failed",
        "run_003": "done",
    }
    assert {r.run.id: r.state for r in evaluated.runs} == dict.fromkeys(
        ["run_000", "run_001", "run_002", "run_003", "base_model"], "failed"
    )
    # The evaluation of the run whose training failed never started: SLURM removed it.
    assert not (folder / "status" / f"{FAILING_RUN}.eval.failed").exists()
    assert not (folder / "logs" / f"{FAILING_RUN}.eval.out").exists()
    # The others started after their training ended, and failed for want of a checkpoint.
    for run_id in ("run_000", "run_001", "run_003"):
        trained = (folder / "status" / f"{run_id}.done").stat().st_mtime
        marker = folder / "status" / f"{run_id}.eval.failed"
        assert "stage=checkpoint\n" in marker.read_text()
        assert marker.stat().st_mtime >= trained

    status = run_cli("status", str(folder))
    assert status.code == 1
    lines = status.out.splitlines()
    assert lines[1].split() == ["run", "training", "job", "evaluation", "job", "params"]
    assert "evaluation: not run: its training did not complete" in lines[4]
    assert lines[-2] == "training: 3 done, 1 failed; evaluation: 5 failed"
    assert lines[-1] == f"Submit the runs that did not complete: ttwriter submit {folder} --failed"

    (tmp_path / "allow_rank_32").touch()  # the failing run's training now succeeds
    again = run_cli("submit", str(folder), "--failed")
    assert again.code == 0, again.err
    retrain, after_new, alone, base_again = records(folder)[3:]
    assert (retrain["stage"], retrain["runs"]) == ("train", [FAILING_RUN])
    assert (after_new["runs"], after_new["after"]) == ([FAILING_RUN], retrain["job_id"])
    assert (alone["runs"], alone["after"], alone["array"]) == (
        ["run_000", "run_001", "run_003"],
        None,
        "0-1,3",
    )
    assert not any(part.startswith("--dependency") for part in alone["command"])
    assert (base_again["runs"], base_again["after"]) == (["base_model"], None)
    assert again.out.splitlines()[0] == "Leaving out 3 runs: run_000 (done), run_001 (done), run_003 (done)"

    training, evaluated = wait_for_both(folder, "the resubmission")
    assert {r.run.id: r.state for r in training.runs} == dict.fromkeys(
        ["run_000", "run_001", "run_002", "run_003"], "done"
    )
    # run_002's evaluation ran this time (and failed like the others: no checkpoint).
    assert "stage=checkpoint\n" in (folder / "status" / f"{FAILING_RUN}.eval.failed").read_text()


@pytest.mark.training
def test_the_tiny_sweep_is_trained_and_evaluated_on_slurm_and_a_failed_evaluation_rerun_alone(
    slurm, tiny_assets, tiny_env, run_cli, tmp_path
):
    tasks = tmp_path / "tasks"
    tasks.mkdir()
    shutil.copy(LETTERS_TASK, tasks / "letters.py")  # without its data: every evaluation fails
    folder = tmp_path / "letters"
    made = run_cli(
        str(TINY_FAMILY / "letters_inspect_03_01.py"),
        "--controls.tiny-assets",
        str(tiny_assets),
        "--evaluation.tasks",
        f"{tasks / 'letters.py'}@letters",
        "--evaluation.no-base-model",  # the base model's evaluation is covered by test_evaluations_wait...
        "--output-dir",
        str(folder),
    )
    assert made.code == 0, made.out + made.err
    assert run_cli("submit", str(folder)).code == 0

    training, evaluated = wait_for_both(folder, "training and the evaluations")
    assert [r.state for r in training.runs] == ["done", "done"]
    assert [r.state for r in evaluated.runs] == ["failed", "failed"]
    assert all("in harness" in r.detail for r in evaluated.runs), [r.detail for r in evaluated.runs]
    assert "letters.jsonl" in (folder / "logs" / "run_000.eval.out").read_text()

    shutil.copy(LETTERS_TASK.with_name("letters.jsonl"), tasks)  # the fix
    again = run_cli("submit", str(folder), "--failed")
    assert again.code == 0, again.err
    (alone,) = records(folder)[2:]  # no training resubmitted: the evaluations alone
    assert (alone["stage"], alone["runs"], alone["after"]) == ("eval", ["run_000", "run_001"], None)

    training, evaluated = wait_for_both(folder, "the evaluations again")
    assert [r.state for r in evaluated.runs] == ["done", "done"]
    for results in (
        folder / "runs" / "run_000" / "eval" / "epoch_0",
        folder / "runs" / "run_001" / "eval" / "epoch_0",
    ):
        scores = json.loads((results / "scores.json").read_text())["scores"]
        assert set(scores) == {"letters/accuracy", "letters/stderr"}
    result = run_cli("results", str(folder))
    assert result.code == 0, result.err
    assert result.out.splitlines()[0] == "Results of tiny_letters: 2 runs, 2 done; evaluations: 2 done"
