"""Completion markers: written by `ttwriter run` and by the job script's `mark`, read back alike."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from ttwriter.folder import markers
from ttwriter.folder.layout import STATUS_DIR
from ttwriter.formats import UTC_FORMAT, utc_now


def folder_with_status(tmp_path: Path) -> Path:
    (tmp_path / STATUS_DIR).mkdir(parents=True)
    return tmp_path


def fields(path: Path) -> dict[str, str]:
    return dict(line.split("=", 1) for line in path.read_text().splitlines())


def ended(marker: markers.Marker | None) -> tuple | None:
    """What a marker says about how the run ended, without who wrote it (host, process)."""
    return None if marker is None else (marker.state, marker.job_id, marker.exit_code, marker.stage)


def test_a_written_marker_reads_back_with_its_exit_code_and_stage(tmp_path):
    folder = folder_with_status(tmp_path)

    markers.write_marker(folder, "run_001", markers.FAILED, job="1234_1", exit_code=137, stage="training")

    assert ended(markers.read_marker(folder, "run_001")) == (markers.FAILED, 1234, 137, "training")
    assert sorted(p.name for p in (folder / STATUS_DIR).iterdir()) == ["run_001.failed"]


def test_a_new_state_replaces_the_runs_other_markers(tmp_path):
    folder = folder_with_status(tmp_path)
    markers.write_marker(folder, "run_000", markers.RUNNING, job="local_0")

    markers.write_marker(folder, "run_000", markers.DONE, job="local_0", exit_code=0)

    assert sorted(p.name for p in (folder / STATUS_DIR).iterdir()) == ["run_000.done"]
    assert markers.is_done(folder, "run_000")
    assert ended(markers.read_marker(folder, "run_000")) == (markers.DONE, None, 0, None)


def test_a_finished_marker_wins_over_a_stale_running_one(tmp_path):
    folder = folder_with_status(tmp_path)
    (folder / STATUS_DIR / "run_000.running").write_text("run=run_000\njob=7_0\n")
    (folder / STATUS_DIR / "run_000.done").write_text("run=run_000\njob=7_0\nexit_code=0\n")

    assert ended(markers.read_marker(folder, "run_000")) == (markers.DONE, 7, 0, None)
    assert markers.read_marker(folder, "run_001") is None


def test_the_job_scripts_mark_writes_what_write_marker_writes(tmp_path):
    by_script, by_python = folder_with_status(tmp_path / "a"), folder_with_status(tmp_path / "b")
    shell = f"{markers.shell_status_dir()}\n{markers.shell_mark_function()}\nmark {markers.FAILED} exit_code=2 stage=config\n"
    env = {**os.environ, "EXPERIMENT_DIR": str(by_script), "RUN_ID": "run_003", "JOB": "99_3"}

    subprocess.run(["bash", "-c", shell], env=env, check=True)
    markers.write_marker(
        by_python, "run_003", markers.FAILED, job="99_3", exit_code=2, stage="config", started=utc_now()
    )

    written = {p.name: fields(p) for p in (by_script / STATUS_DIR).iterdir()}
    expected = {p.name: fields(p) for p in (by_python / STATUS_DIR).iterdir()}
    assert written.keys() == expected.keys() == {"run_003.failed"}
    python_only = [markers.PID_START]  # the process's start time, which bash does not read
    assert list(written["run_003.failed"]) == [k for k in expected["run_003.failed"] if k not in python_only]
    for values in (written["run_003.failed"], expected["run_003.failed"]):
        assert values["time"].endswith("Z") and len(values["time"]) == len("2026-01-01T00:00:00Z")
    assert written["run_003.failed"]["started"].endswith("Z")
    assert ended(markers.read_marker(by_script, "run_003")) == ended(
        markers.read_marker(by_python, "run_003")
    )
    assert UTC_FORMAT in markers.shell_mark_function()


def test_another_phase_has_its_own_markers_and_leaves_trainings_alone(tmp_path):
    folder = folder_with_status(tmp_path)
    markers.write_marker(folder, "run_000", markers.DONE, job="local_0", exit_code=0)

    markers.write_marker(folder, "run_000", markers.FAILED, job="local_0", exit_code=1, phase="eval")

    assert sorted(p.name for p in (folder / STATUS_DIR).iterdir()) == ["run_000.done", "run_000.eval.failed"]
    assert markers.read_marker(folder, "run_000").state == markers.DONE
    assert markers.read_marker(folder, "run_000", phase="eval").state == markers.FAILED
