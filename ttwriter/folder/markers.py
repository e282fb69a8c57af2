"""Completion markers: how a run of an experiment folder ended, written and read only here.

A marker is a small file in status/, named by the run and its state: `status/<run id>.running`
while it trains, then `.done` (training exited 0) or `.failed`. Writing one removes the run's
other markers, so each run has one; it is written to a hidden file first and renamed into place,
so a reader never sees half of it. The job script writes them from bash with `mark`, whose text
comes from here (`shell_mark_function`); `ttwriter run` writes them with `write_marker`;
`ttwriter status` and `ttwriter results` read them with `read_marker`.

A marker's content is `key=value` lines: the run, the job that wrote it (`<array job>_<task>`,
`local_<task>` for `ttwriter run`), the host, the time (UTC), when the attempt started (`started`,
the same in its running and its finished marker), and for a finished run its exit code and, when
it failed, the stage it stopped in ('setup line N', 'config', 'recipe', 'training'). A marker
`ttwriter run` or `ttwriter evaluate` writes also names its process (`pid`, and on Linux its start
time `pid_start`), so that a local run's 'running' can be checked: `local_process_alive` says
whether that process still runs (SLURM's jobs are asked of squeue instead, slurm.status).

Every function takes a `phase`: the step of a run the marker is about. Training has the marker
names above; evaluation (`EVALUATION`) has `status/<run id>.eval.<state>`, written by the eval job
(eval.sbatch, `ttwriter evaluate`) and `ttwriter run`, and for the base model's evaluation
`status/base_model.eval.<state>`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import re
import socket
from pathlib import Path

from ttwriter.errors import ExperimentDirError
from ttwriter.folder.claim import pid_alive
from ttwriter.folder.layout import STATUS_DIR
from ttwriter.formats import UTC_FORMAT, utc_now
from ttwriter.safe_read import read_text

RUNNING, DONE, FAILED = "running", "done", "failed"
"""The states a marker records: training started, exited 0, or did not."""
STATES = (RUNNING, DONE, FAILED)
_PRECEDENCE = (DONE, FAILED, RUNNING)
"""A finished marker wins over a stale 'running' one."""

TRAINING = ""
"""The phase of training's markers (status/<run id>.<state>)."""
EVALUATION = "eval"
"""The phase of evaluation's markers (status/<run id>.eval.<state>)."""
PHASES = (TRAINING, EVALUATION)

RUN, JOB, HOST, TIME, EXIT_CODE, STAGE = "run", "job", "host", "time", "exit_code", "stage"
"""The keys of a marker's `key=value` lines."""
STARTED, PID, PID_START = "started", "pid", "pid_start"
"""When the attempt started (UTC), and the local process that writes its markers."""
LOCAL_JOB = "local"
"""The job of a marker `ttwriter run` or `ttwriter evaluate` wrote outside SLURM: `local_<task>`."""

_NUMBER = re.compile(r"-?[0-9]{1,18}")


@dataclasses.dataclass(frozen=True)
class Marker:
    """A completion marker as the job script or `ttwriter run` wrote it."""

    state: str
    """'running', 'done' (training exited 0) or 'failed'."""
    job_id: int | None
    """The array job that wrote it; None when the script ran outside SLURM."""
    exit_code: int | None
    stage: str | None
    """Where a failed run stopped: 'setup line N', 'config', 'recipe' or 'training'."""
    local: bool = False
    """Written outside SLURM (`local_<task>`): by `ttwriter run`, or the job script run by hand."""
    host: str | None = None
    pid: int | None = None
    """The process that writes the attempt's markers, when it said (`ttwriter run`/`evaluate`)."""
    pid_start: str | None = None
    """That process's start time in clock ticks since boot (Linux), to tell a reused pid."""
    started: dt.datetime | None = None
    """When the attempt started (UTC); None in a marker written before ttwriter recorded it."""


def marker_name(run_id: str, state: str, phase: str = TRAINING) -> str:
    """`run_000.done`; `run_000.<phase>.done` for a phase other than training."""
    return f"{run_id}.{phase}.{state}" if phase else f"{run_id}.{state}"


def marker_path(folder: Path, run_id: str, state: str, phase: str = TRAINING) -> Path:
    return folder / STATUS_DIR / marker_name(run_id, state, phase)


def _number(text: str) -> int | None:
    """A marker's job id or exit code: plain ASCII digits of a sane length, or None."""
    return int(text) if _NUMBER.fullmatch(text) else None


def _moment(text: str) -> dt.datetime | None:
    try:
        return dt.datetime.strptime(text, UTC_FORMAT).replace(tzinfo=dt.timezone.utc)
    except ValueError:
        return None


def process_start(pid: int) -> str | None:
    """Process `pid`'s start time in clock ticks since boot (field 22 of /proc/<pid>/stat), or None
    where there is no /proc: with the pid it names one process, even after the pid is reused."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            fields = stat.read().rsplit(b")", 1)[1].split()
        return fields[19].decode()
    except (OSError, IndexError, UnicodeDecodeError):
        return None


def local_process_alive(marker: Marker) -> bool | None:
    """Whether the local process that wrote a 'running' marker still runs: None when that cannot be
    told from here (another host, or a marker that names no process), else True or False."""
    if marker.pid is None or marker.host != socket.gethostname():
        return None
    if not pid_alive(marker.pid):
        return False
    return marker.pid_start is None or process_start(marker.pid) in (None, marker.pid_start)


def read_marker(folder: Path, run_id: str, phase: str = TRAINING) -> Marker | None:
    """The run's marker in `folder`, None when it has none; a finished one wins over a stale
    'running' (a job killed mid-run leaves one). Unknown or malformed values are None."""
    for state in _PRECEDENCE:
        path = marker_path(folder, run_id, state, phase)
        if not path.is_file():
            continue
        text = read_text(
            path,
            ExperimentDirError,
            f"the job script writes this marker; delete it ({path.name}) to forget how {run_id} ended",
        )
        fields = dict(line.split("=", 1) for line in text.splitlines() if "=" in line)
        job = fields.get(JOB, "").split("_")[0]
        return Marker(
            state,
            _number(job),
            _number(fields.get(EXIT_CODE, "")),
            fields.get(STAGE),
            local=job == LOCAL_JOB,
            host=fields.get(HOST),
            pid=_number(fields.get(PID, "")),
            pid_start=fields.get(PID_START),
            started=_moment(fields.get(STARTED, "")),
        )
    return None


def is_done(folder: Path, run_id: str, phase: str = TRAINING) -> bool:
    """Whether the run's last attempt finished with exit code 0."""
    return marker_path(folder, run_id, DONE, phase).is_file()


def write_marker(
    folder: Path,
    run_id: str,
    state: str,
    *,
    job: str,
    exit_code: int | None = None,
    stage: str | None = None,
    phase: str = TRAINING,
    started: str | None = None,
) -> None:
    """Make `state` the run's only marker, as the job script's `mark` does (status/ must exist).

    `started` is when the attempt started (`utc_now()` at its 'running' marker); this process is
    named as the one that writes the attempt's markers (`pid`, `pid_start`)."""
    lines = [f"{RUN}={run_id}", f"{JOB}={job}", f"{HOST}={socket.gethostname()}", f"{TIME}={utc_now()}"]
    if started is not None:
        lines.append(f"{STARTED}={started}")
    pid = os.getpid()
    lines.append(f"{PID}={pid}")
    start = process_start(pid)
    if start is not None:
        lines.append(f"{PID_START}={start}")
    if exit_code is not None:
        lines.append(f"{EXIT_CODE}={exit_code}")
    if stage is not None:
        lines.append(f"{STAGE}={stage}")
    _put(folder, run_id, state, "\n".join(lines) + "\n", phase)


def _put(folder: Path, run_id: str, state: str, text: str, phase: str) -> None:
    for old in STATES:
        marker_path(folder, run_id, old, phase).unlink(missing_ok=True)
    final = marker_path(folder, run_id, state, phase)
    tmp = final.with_name(f".{final.name}.{os.getpid()}")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(final)


@dataclasses.dataclass(frozen=True)
class SavedMarker:
    """A marker as it was on disk, to put back unchanged (`restore_marker`)."""

    run_id: str
    state: str
    text: str
    phase: str


def save_marker(folder: Path, run_id: str, phase: str = TRAINING) -> SavedMarker | None:
    """The run's finished marker (done or failed) as it is now, None when it has none: what an
    attempt that is stopped before it ends puts back, so that stopping it loses no result."""
    for state in (DONE, FAILED):
        path = marker_path(folder, run_id, state, phase)
        try:
            return SavedMarker(run_id, state, path.read_text(encoding="utf-8"), phase)
        except (OSError, UnicodeDecodeError):
            continue
    return None


def restore_marker(folder: Path, saved: SavedMarker) -> None:
    """Make `saved` the run's only marker again, byte for byte (its job, host and time too)."""
    _put(folder, saved.run_id, saved.state, saved.text, saved.phase)


_STARTED_VARIABLE = "ATTEMPT_STARTED"


def shell_status_dir(experiment_dir_variable: str = "EXPERIMENT_DIR") -> str:
    """The job script's `STATUS=...` line: where `mark` writes."""
    return f'STATUS="${experiment_dir_variable}/{STATUS_DIR}"'


def shell_mark_function(phase: str = TRAINING) -> str:
    """The job script's `mark STATE [KEY=VALUE...]`: from bash, the marker `write_marker` writes
    (it reads $STATUS, $RUN_ID and $JOB)."""
    stale = " ".join(f'"$STATUS/{marker_name("$RUN_ID", state, phase)}"' for state in STATES)
    fields = " ".join(
        f'"{key}={value}"'
        for key, value in (
            (RUN, "$RUN_ID"),
            (JOB, "$JOB"),
            (HOST, "$(uname -n)"),
            (TIME, f"$(date -u +{UTC_FORMAT})"),
            (STARTED, f"${_STARTED_VARIABLE}"),
            (PID, "$$"),
        )
    )
    shown = marker_name("<run id>", "STATE", phase)
    final = marker_name("$RUN_ID", "$state", phase)
    return (
        f"# mark STATE [KEY=VALUE...]: {STATUS_DIR}/{shown} becomes the run's only marker.\n"
        f'{_STARTED_VARIABLE}="$(date -u +{UTC_FORMAT})"  # this attempt\'s start, in each of its markers\n'
        "mark() {\n"
        '    local state="$1" tmp="$STATUS/.$RUN_ID.$1.$$"\n'
        "    shift\n"
        f"    rm -f {stale}\n"
        f"    printf '%s\\n' {fields} \"$@\" \\\n"
        f'        >"$tmp" && mv -f "$tmp" "$STATUS/{final}"\n'
        "}\n"
    )
