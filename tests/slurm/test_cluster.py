"""Against a real SLURM: generated sweeps submitted with `ttwriter submit`, followed with
`ttwriter status`, failed runs resubmitted with `--failed`.

The session fixture `slurm` (conftest.py) starts the one-node cluster of scripts/slurm_local.sh,
installing it when needed, as root. These tests are skipped, with the reason, only when that is
impossible.
Training is the fake trainer of slurm_sweeps.py, so each job takes well under a second, except
in one test that trains a smoke run of the tiny CPU family with the default `tune run` command.
"""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import TINY_FAMILY
from tests.slurm.sweeps import FAILING_RUN, MISSPELLED_OPTIMIZER, make_sweep, ran
from ttwriter.folder.read import read_job_folder
from ttwriter.slurm.status import PENDING, RUNNING, SweepStatus, sweep_status

pytestmark = pytest.mark.cluster

WAIT_SECONDS = 180
"""A bound, not an expectation: alone on the node a sweep here finishes in seconds, but other jobs
(another test session, say) can hold its CPUs for a while."""


def wait_for(folder: Path, done: callable, what: str) -> SweepStatus:
    """Poll the sweep's status until `done(status)`; fail with the last status after WAIT_SECONDS."""
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        status = sweep_status(read_job_folder(folder))
        if done(status):
            return status
        if time.monotonic() > deadline:
            states = {r.run.id: (r.state, r.detail) for r in status.runs}
            queue = subprocess.run(["squeue"], capture_output=True, text=True, timeout=30).stdout
            pytest.fail(f"still waiting for {what} after {WAIT_SECONDS} s: {states}\nsqueue:\n{queue}")
        time.sleep(0.3)


def finished(status: SweepStatus) -> bool:
    return not status.with_state(PENDING, RUNNING)


def states(status: SweepStatus) -> dict[str, str]:
    return {r.run.id: r.state for r in status.runs}


def records(folder: Path) -> list[dict]:
    return [json.loads(line) for line in (folder / "submissions.jsonl").read_text().splitlines()]


def attempts(folder: Path, run_id: str) -> int:
    return (folder / "logs" / f"{run_id}.out").read_text().count(f"=== ttwriter: {run_id} (array task")


def test_a_submitted_sweep_runs_every_run_and_failed_runs_are_resubmitted_alone(slurm, run_cli, tmp_path):
    result = make_sweep(tmp_path, max_parallel=2)
    folder = result.experiment_dir

    submitted = run_cli("submit", str(folder))

    assert submitted.code == 0, submitted.err
    job = records(folder)[0]["job_id"]
    assert submitted.out.splitlines()[:2] == [
        f"Submitted 4 runs of fake as SLURM job {job} (--array=0-3%2)",
        "  runs: run_000, run_001, run_002, run_003",
    ]
    assert f"  squeue -j {job}" in submitted.out
    wait_for(folder, finished, "the first submission")

    status = run_cli("status", str(folder))
    assert status.code == 1, status.err  # run_002 failed
    rows = [line.split()[:3] for line in status.out.splitlines()[1:5]]
    assert rows == [
        ["run_000", "done", f"{job}_0"],
        ["run_001", "done", f"{job}_1"],
        ["run_002", "failed", f"{job}_2"],
        ["run_003", "done", f"{job}_3"],
    ]
    assert f"lora_rank=32  (exit 1; log: {folder}/logs/run_002.out)" in status.out
    assert status.out.endswith(
        f"3 done, 1 failed\nSubmit the runs that did not complete: ttwriter submit {folder} --failed\n"
    )
    for run in result.runs:
        config, run_id, output_dir, cwd, _ = ran(result, run.id)
        assert (config, run_id, output_dir) == (str(run.config_path), run.id, run.output_dir)
        assert cwd == str(folder)
        log = (folder / "logs" / f"{run.id}.out").read_text()
        assert f"=== ttwriter: {run.id} (array task {run.id[-1]}, job {job}_{run.id[-1]})" in log
        if run.id == FAILING_RUN:
            assert "fake trainer: lora_rank 32 diverged" in log
        else:
            assert f"fake trainer: trained {run.id} with {run.config_path}" in log

    (tmp_path / "allow_rank_32").touch()  # the "fix" for the failing run
    resubmitted = run_cli("submit", str(folder), "--failed")

    assert resubmitted.code == 0, resubmitted.err
    second = records(folder)[1]
    assert (second["runs"], second["array"]) == ([FAILING_RUN], "2")
    assert resubmitted.out.splitlines()[:2] == [
        "Leaving out 3 runs: run_000 (done), run_001 (done), run_003 (done)",
        f"Submitted 1 run of fake as SLURM job {second['job_id']} (--array=2)",
    ]
    final = wait_for(folder, finished, "the resubmission")
    assert states(final) == dict.fromkeys(["run_000", "run_001", "run_002", "run_003"], "done")
    assert [attempts(folder, r.id) for r in result.runs] == [1, 1, 2, 1]

    again = run_cli("submit", str(folder), "--failed")
    everything = run_cli("submit", str(folder))
    assert again.out.endswith(
        f"Nothing to submit: every run is done or still queued (see: ttwriter status {folder})\n"
    )
    assert everything.code == 2
    assert everything.err.startswith(f"error: {folder}: all 4 runs are already done\n")
    assert run_cli("status", str(folder)).code == 0
    assert len(records(folder)) == 2


def test_queued_runs_show_as_pending_or_running_and_are_never_queued_twice(slurm, run_cli, tmp_path):
    (tmp_path / "hold").touch()  # the fake trainer waits while this exists
    result = make_sweep(tmp_path, ranks=[8, 16], max_parallel=1)
    folder = str(result.experiment_dir)
    assert run_cli("submit", folder).code == 0
    job = records(result.experiment_dir)[0]["job_id"]

    status = wait_for(folder, lambda s: RUNNING in states(s).values(), "a run to start")
    twice = run_cli("submit", folder, "--runs", "run_001")
    everything = run_cli("submit", folder)
    failed = run_cli("submit", folder, "--failed")
    here = run_cli("run", folder, "--runs", "run_001")  # `run` never trains a queued run either
    here_failed = run_cli("run", folder, "--failed", "--dry-run")

    assert states(status) == {"run_000": "running", "run_001": "pending"}
    assert twice.code == 2
    assert twice.err.startswith(f"error: {folder}: already queued: run_001 (pending as job {job}_1)\n")
    assert everything.code == 2
    assert everything.err.startswith(
        f"error: {folder}: already queued: run_000 (running as job {job}_0), run_001 (pending as job {job}_1)\n"
    )
    assert failed.out == (
        f"Leaving out 2 runs: run_000 (running, job {job}_0), run_001 (pending, job {job}_1)\n"
        f"Nothing to submit: every run is done or still queued (see: ttwriter status {folder})\n"
    )
    assert here.code == 2
    assert here.err.startswith(f"error: {folder}: already queued: run_001 (pending as job {job}_1)\n")
    assert here_failed.out == (
        f"Leaving out 2 runs: run_000 (running, job {job}_0), run_001 (pending, job {job}_1)\n"
        f"Nothing to train: every run is done or still queued (see: ttwriter status {folder})\n"
    )
    assert not (result.experiment_dir / "status" / "run_001.running").exists()

    subprocess.run(["scancel", str(job)], check=True, timeout=30)
    cancelled = wait_for(folder, finished, "the cancelled job to end")

    assert states(cancelled) == {"run_000": "failed", "run_001": "failed"}
    assert [r.detail for r in cancelled.runs] == [
        "exit 143, signal 15",
        "CANCELLED: the job ended before the run started",
    ]

    (tmp_path / "hold").unlink()
    assert run_cli("submit", folder, "--failed").code == 0
    assert records(result.experiment_dir)[1]["array"] == "0-1%1"
    assert states(wait_for(folder, finished, "the resubmission")) == {"run_000": "done", "run_001": "done"}


def test_slurm_refusing_the_job_is_an_error_with_its_message(slurm, run_cli, tmp_path):
    partition = f"nope'; touch {tmp_path}/PWNED; echo '"
    folder = make_sweep(tmp_path, partition=partition).experiment_dir

    result = run_cli("submit", str(folder))

    assert result.code == 2
    assert result.err.startswith(
        f"error: {folder}/submit.sbatch: SLURM refused the job: sbatch: error: invalid partition specified: "
        f"{partition}\n"
    )
    assert "\n  fix: check the experiment's slurm settings (partition, account" in result.err
    assert not (folder / "submissions.jsonl").exists()
    assert not (tmp_path / "PWNED").exists()


def test_odd_folder_names_and_job_names_survive_sbatch(slurm, run_cli, tmp_path):
    nasty = 'it\'s a "$(touch PWNED)" `x` 100%'
    result = make_sweep(tmp_path, tmp_path / nasty / "exp", ranks=[8], job_name=nasty)
    folder = result.experiment_dir

    assert run_cli("submit", str(folder)).code == 0, "sbatch refused the script"
    status = wait_for(folder, finished, "the run")

    assert states(status) == {"run_000": "done"}
    assert ran(result, "run_000")[:2] == [str(folder / "configs" / "run_000.yaml"), "run_000"]
    assert "fake trainer: trained run_000" in (folder / "logs" / "run_000.out").read_text()
    assert not list(tmp_path.rglob("PWNED"))
    job = records(folder)[0]["job_id"]
    shown = subprocess.run(
        ["scontrol", "show", "job", "-o", str(job)], capture_output=True, text=True, timeout=30, check=True
    )
    assert f"JobName={nasty} " in shown.stdout


@pytest.mark.training
def test_the_default_command_trains_a_tiny_run_with_tune_run(slurm, run_cli, tiny_assets, tiny_env, tmp_path):
    folder = tmp_path / "tiny"
    source = str(TINY_FAMILY / "baseline_01_01.py")
    made = run_cli(source, "--controls.tiny-assets", str(tiny_assets), "--output-dir", str(folder), "--smoke")
    assert made.code == 0, made.out + made.err

    submitted = run_cli("submit", str(folder))  # the jobs inherit this environment (offline)
    assert submitted.code == 0, submitted.err
    status = wait_for(folder, finished, "the tiny run")

    log = (folder / "logs" / "run_000.out").read_text()
    assert states(status) == {"run_000": "done"}, log
    assert "recipe:     lora_finetune_single_device\n" in log
    assert 'command:    tune run "$RECIPE" --config "$CONFIG"\n' in log
    assert "Loss:" in log
    assert list((folder / "runs" / "run_000").glob("epoch_0/*adapter*"))


def queued_jobs(name: str) -> list[str]:
    """Job ids SLURM knows under a job name: queued, running or finished (sacct when it works)."""
    queue = subprocess.run(
        ["squeue", "-h", "-n", name, "-o", "%i"], capture_output=True, text=True, timeout=30, check=True
    ).stdout.split()
    history = subprocess.run(
        ["sacct", "-n", "-X", "--name", name, "-o", "JobID", "-S", "now-1hours"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    return sorted(set(queue) | set(history.stdout.split() if history.returncode == 0 else []))


def test_a_folder_that_failed_validation_is_refused_and_the_override_submits_it(slurm, run_cli, tmp_path):
    name = f"gate_{tmp_path.name}"[-40:]
    result = make_sweep(tmp_path, variables=MISSPELLED_OPTIMIZER, job_name=name)
    folder = result.experiment_dir

    dry = run_cli("submit", str(folder), "--dry-run")
    refused = run_cli("submit", str(folder))

    assert refused.code == 2
    assert refused.err == dry.err
    assert refused.err.startswith(
        f"error: {folder}/validation_report.txt: 1 of 3 runs to submit failed validation: run_001\n"
        "  run_001: optimizer._component_: component 'torch.optim.AdamWW' does not exist"
    )
    assert refused.err.endswith(f"or submit them anyway: ttwriter submit {folder} --ignore-validation\n")
    assert not (folder / "submissions.jsonl").exists()
    assert queued_jobs(name) == []

    (tmp_path / "hold").touch()  # the fake trainer waits: the jobs stay in the queue
    valid_ones = run_cli("submit", str(folder), "--runs", "run_000,run_002")
    assert valid_ones.code == 0, valid_ones.err
    assert queued_jobs(name) != []  # the helper above does see queued jobs
    (tmp_path / "hold").unlink()
    wait_for(folder, finished, "the valid runs")
    forced = run_cli("submit", str(folder), "--failed", "--ignore-validation")

    assert forced.code == 0, forced.err
    assert forced.out.splitlines()[0] == (
        "note: --ignore-validation: starting 1 run that failed validation: run_001 "
        f"(see {folder}/validation_report.txt)"
    )
    assert [r["runs"] for r in records(folder)] == [["run_000", "run_002"], ["run_001"]]
    assert states(wait_for(folder, finished, "the forced run")) == dict.fromkeys(
        ["run_000", "run_001", "run_002"], "done"
    )


def test_a_folder_written_with_no_validate_is_validated_then_submitted(slurm, run_cli, tmp_path):
    result = make_sweep(tmp_path, ranks=[8, 16], validate=False)
    folder = result.experiment_dir

    submitted = run_cli("submit", str(folder))

    assert submitted.code == 0, submitted.err
    job = records(folder)[0]["job_id"]
    assert submitted.out.splitlines()[:3] == [
        "Validating 2 runs first: the folder was written with --no-validate",
        f"Validation: 2/2 configs valid (details: {folder}/validation_report.txt)",
        f"Submitted 2 runs of fake as SLURM job {job} (--array=0-1)",
    ]
    assert json.loads((folder / "validation_report.json").read_text())["validated_by"] == "ttwriter submit"
    assert states(wait_for(folder, finished, "the runs")) == {"run_000": "done", "run_001": "done"}


def test_a_never_validated_folder_that_fails_is_refused_before_anything_is_queued(slurm, run_cli, tmp_path):
    name = f"gate_nv_{tmp_path.name}"[-40:]
    folder = make_sweep(
        tmp_path, variables=MISSPELLED_OPTIMIZER, validate=False, job_name=name
    ).experiment_dir

    refused = run_cli("submit", str(folder))

    assert refused.code == 2
    assert refused.out == "Validating 3 runs first: the folder was written with --no-validate\n"
    assert "1 of 3 runs to submit failed validation: run_001\n" in refused.err
    assert (folder / "validation_report.txt").read_text().endswith("\n2/3 configs valid\n")
    assert not (folder / "submissions.jsonl").exists()
    assert queued_jobs(name) == []
