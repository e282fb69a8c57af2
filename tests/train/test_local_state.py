"""A local `ttwriter run` while it trains, when it is stopped, and after: what status, results and
the next run or submit make of it.

The sweep is the lora_rank sweep of tests.slurm.sweeps, whose training is a fake trainer (a few
lines of sh) that waits while its `hold` file exists, so a run can be caught in the middle. The
`ttwriter run` being watched is a real process (`python -m ttwriter`), as a user starts it.
"""

from __future__ import annotations

import csv
import dataclasses
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

import ttwriter.evaluate.run as evaluate_run
from tests.conftest import TINY_FAMILY, write_letters
from tests.slurm.sweeps import FAILING_RUN, make_sweep
from ttwriter import generate_configs
from ttwriter.errors import Interrupted
from ttwriter.experiment.loading import load_experiment
from ttwriter.folder import markers
from ttwriter.folder.layout import STATUS_DIR
from ttwriter.formats import utc_now

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def sweep(tmp_path):
    return make_sweep(tmp_path, tmp_path / "exp").experiment_dir


def _start_run(folder: Path, *argv: str) -> subprocess.Popen[str]:
    """`ttwriter run FOLDER ARGV` in its own process, held in training until `hold` is removed."""
    (folder.parent / "hold").touch()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-m", "ttwriter", "run", str(folder), *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def _wait_for(path: Path, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 30
    while not path.exists():
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.05)
    time.sleep(0.2)  # the trainer is started right after the marker


def _dead_pid() -> int:
    process = subprocess.Popen(["sleep", "30"])
    process.kill()
    process.wait()
    return process.pid


def _running_marker(folder: Path, run_id: str, **fields: object) -> None:
    lines = {"run": run_id, "job": "local_0", "host": socket.gethostname(), "time": utc_now(), **fields}
    (folder / STATUS_DIR).mkdir(exist_ok=True)
    text = "".join(f"{key}={value}\n" for key, value in lines.items())
    (folder / STATUS_DIR / f"{run_id}.running").write_text(text)


def test_a_run_training_here_is_running_and_is_not_started_again(sweep, run_cli):
    training = _start_run(sweep, "--runs", "run_000")
    try:
        _wait_for(sweep / STATUS_DIR / "run_000.running", training)

        status = run_cli("status", str(sweep))
        again = run_cli("run", str(sweep), "--runs", "run_000")
        failed = run_cli("run", str(sweep), "--failed", "--dry-run")
        submit = run_cli("submit", str(sweep), "--runs", "run_000", "--dry-run")
        results = run_cli("results", str(sweep), "--no-plot")
    finally:
        (sweep.parent / "hold").unlink()
        out, err = training.communicate(timeout=60)

    assert training.returncode == 0, out + err
    assert status.code == 0, status.out
    row = next(line for line in status.out.splitlines() if line.startswith("  run_000"))
    assert row.split()[:3] == ["run_000", "running", f"local_{training.pid}"]
    assert status.out.splitlines()[-2:] == [
        "1 running, 3 not submitted",
        f"Submit the runs that did not complete: ttwriter submit {sweep} --failed",
    ]
    for refused, command in ((again, "run"), (submit, "submit")):
        assert refused.code == 2
        assert refused.err == (
            f"error: {sweep}: already queued: run_000 (running here: ttwriter pid {training.pid})\n"
            f"  fix: wait for them (ttwriter status {sweep}), or stop that ttwriter first (Ctrl-C, or "
            f"kill PID); ttwriter {command} {sweep} --failed takes only the runs that are neither done "
            "nor queued\n"
        )
    assert failed.code == 0
    assert f"run_000 (running, job local_{training.pid})" in failed.out
    assert "  run_000  " not in failed.out.split("Dry run")[1]
    assert "  run_000  8          running      -" in results.out, results.out
    assert markers.is_done(sweep, "run_000")


def test_a_local_run_whose_process_is_gone_is_failed_and_may_run_again(sweep, run_cli):
    _running_marker(sweep, "run_000", pid=_dead_pid())
    _running_marker(sweep, "run_001", pid=os.getpid(), pid_start="1")  # this pid, reused

    status = run_cli("status", str(sweep))
    results = run_cli("results", str(sweep), "--no-plot")
    again = run_cli("run", str(sweep), "--failed", "--dry-run")

    assert status.code == 1
    assert "Results of fake: 4 runs, 2 failed, 2 no log" in results.out
    rows = {line.split()[0]: line for line in status.out.splitlines() if line.startswith("  run_")}
    for run_id in ("run_000", "run_001"):
        assert rows[run_id].split()[1] == "failed"
        assert "(its process is gone without recording a result)" in rows[run_id]
    assert again.code == 0, again.err
    assert "would train 4 runs" in again.out


def test_a_local_run_started_on_another_host_is_unknown_and_not_started_again(sweep, run_cli):
    _running_marker(sweep, "run_000", pid=4242, host="elsewhere")

    status = run_cli("status", str(sweep))
    again = run_cli("run", str(sweep), "--runs", "run_000", "--dry-run")

    row = next(line for line in status.out.splitlines() if line.startswith("  run_000"))
    assert row.split()[:3] == ["run_000", "unknown", "local_4242"]
    assert "(started by pid 4242 on elsewhere; whether it still runs can only be told there)" in row
    assert again.code == 2
    assert again.err.startswith(
        f"error: {sweep}: already queued: run_000 (unknown: started by pid 4242 on elsewhere; "
    )


def test_sigterm_stops_a_local_run_as_ctrl_c_does(sweep, run_cli):
    training = _start_run(sweep, "--runs", "run_000,run_001")
    _wait_for(sweep / STATUS_DIR / "run_000.running", training)

    training.send_signal(signal.SIGTERM)
    out, err = training.communicate(timeout=60)
    (sweep.parent / "hold").unlink()

    assert training.returncode == 143, out + err
    assert err == "interrupted by SIGTERM: run_000 is marked failed; the rest did not run\n"
    assert sorted(p.name for p in (sweep / STATUS_DIR).iterdir()) == ["run_000.failed"]
    marker = (sweep / STATUS_DIR / "run_000.failed").read_text()
    assert "exit_code=143\n" in marker and "stage=training\n" in marker
    log = (sweep / "logs" / "run_000.out").read_text()
    assert "ttwriter: interrupted by SIGTERM\n" in log
    assert "=== ttwriter: run_000 FAILED in training with exit code 143 at " in log
    time.sleep(0.3)  # the trainer got the signal too: released now, it would say it trained
    assert "fake trainer: trained" not in (sweep / "logs" / "run_000.out").read_text()
    status = run_cli("status", str(sweep))
    assert "(exit 143, signal 15; log: " in status.out, status.out


def test_sigterm_stops_ttwriter_evaluate_as_ctrl_c_does(tmp_path, run_cli, monkeypatch):
    folder = tmp_path / "letters"
    write_letters(run_cli, folder, tmp_path / "assets")

    def stopped(*args: object) -> None:  # the harness, stopped by SIGTERM (cli.main's handler)
        raise Interrupted(signal.SIGTERM)

    monkeypatch.setattr(evaluate_run, "_evaluate", stopped)
    result = run_cli("evaluate", str(folder), "--runs", "run_000,run_001")

    assert result.code == 143
    assert result.err == (
        "interrupted by SIGTERM: the evaluation of run_000 was stopped; it is marked failed; the rest did not run\n"
    )
    marker = (folder / STATUS_DIR / "run_000.eval.failed").read_text()
    assert "exit_code=143\n" in marker
    log = (folder / "logs" / "run_000.eval.out").read_text()
    assert "ttwriter: interrupted by SIGTERM\n" in log
    assert "=== ttwriter: evaluation of run_000 FAILED in harness with exit code 143 at " in log
    assert not (folder / STATUS_DIR / "run_001.eval.running").exists()


def _disk_log(folder: Path, run_id: str, stamp: int, losses: list[float]) -> Path:
    logs = folder / "runs" / run_id / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    path = logs / f"log_{stamp}.txt"
    path.write_text("".join(f"Step {i} | loss:{loss} lr:0.001 \n" for i, loss in enumerate(losses, 1)))
    return path


def test_a_failed_rerun_does_not_show_the_earlier_attempts_losses(sweep, run_cli):
    earlier = _disk_log(sweep, FAILING_RUN, int(time.time()) - 3600, [6.0, 5.4801])
    (sweep / STATUS_DIR).mkdir()
    markers.write_marker(sweep, FAILING_RUN, markers.DONE, job="local_2", exit_code=0)

    rerun = run_cli("run", str(sweep), "--runs", FAILING_RUN)  # this attempt fails before logging
    results = run_cli("results", str(sweep), "--no-plot")

    assert rerun.code == 1
    row = next(line for line in results.out.splitlines() if line.strip().startswith(FAILING_RUN))
    assert row.split()[1:] == ["32", "failed", "-", "-", "-"]
    assert (
        f"note: {FAILING_RUN}'s latest attempt (failed) has no loss log yet; {earlier} is an earlier "
        "attempt's, so its losses are not shown or counted"
    ) in results.out
    csv_row = next(r for r in (sweep / "results.csv").read_text().splitlines() if r.startswith(FAILING_RUN))
    assert csv_row == f"{FAILING_RUN},32,failed,,,,,"


def test_a_failed_or_unfinished_replicate_lowers_n(tmp_path, run_cli):
    loaded = load_experiment(TINY_FAMILY / "baseline_01_01.py")
    experiment = dataclasses.replace(
        loaded.experiment, name="reps", variables={"lora_rank": [4]}, replicates=3
    )
    folder = generate_configs(
        dataclasses.replace(loaded, experiment=experiment), output_dir=tmp_path / "sweep", validate=False
    ).experiment_dir
    now = int(time.time())
    (folder / STATUS_DIR).mkdir()
    for run_id, final in (("run_000", 2.0), ("run_001", 3.0)):
        _disk_log(folder, run_id, now, [4.0, final])
        markers.write_marker(folder, run_id, markers.DONE, job="local_0", exit_code=0)
    # run_002: an earlier attempt that finished, then a rerun that failed after two steps of its own
    _disk_log(folder, "run_002", now - 3600, [4.0, 9.0])
    failed = f"run=run_002\njob=local_2\nexit_code=1\nstage=training\nstarted={utc_now()}\n"
    (folder / STATUS_DIR / "run_002.failed").write_text(failed)  # as the job script's `mark` writes it
    _disk_log(folder, "run_002", now + 1, [4.0, 8.0])

    results = run_cli("results", str(folder), "--no-plot")

    lines = results.out.splitlines()
    start = lines.index("By condition (1 condition; mean ± std over replicates, n with a value):")
    assert lines[start + 2] == "  c000       4             3  2.5000 ± 0.7071  2"
    row = next(line for line in lines if line.strip().startswith("run_002"))
    assert row.split() == ["run_002", "4", "2", "failed", "2", "8.0000", "4.0000"]  # its own attempt's
    with open(folder / "results_by_condition.csv", newline="") as f:
        assert next(csv.DictReader(f))["final_loss_n"] == "2"
