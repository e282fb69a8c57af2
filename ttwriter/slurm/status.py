"""What happened to each run of a submitted sweep, per stage: training, then evaluation.

Completion markers (status/<run id>.done or .failed, written by the job script) say how a run
ended; squeue says which runs are still pending or running, which no marker can; and for a run
whose job ended without writing a marker (killed, cancelled before it started, a failed node) the
final state comes from sacct, or from scontrol where SLURM keeps no accounting.

A 'running' marker `ttwriter run` or `ttwriter evaluate` wrote (job `local_<task>`) is asked of
the process it names instead of squeue: running while that process is alive on this host, failed
(lost) once it is gone, unknown when it ran on another host (`local_state`).

Evaluation is the same question asked of the eval markers (status/<run id>.eval.done) and the
eval array's submissions; its targets are the runs and, when the experiment asks for it, the base
model (a pseudo-run `base_model`, the eval array's task after the last run).
"""

from __future__ import annotations

import dataclasses
import re
import shutil
import subprocess
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

from ttwriter.errors import SlurmError
from ttwriter.folder import markers
from ttwriter.folder.layout import BASE_MODEL
from ttwriter.folder.markers import EVALUATION, LOCAL_JOB, TRAINING, Marker, local_process_alive, read_marker
from ttwriter.folder.read import ExperimentFolder
from ttwriter.folder.runs import FolderRun
from ttwriter.folder.submissions import EVAL, TRAIN, SubmissionRecord, read_submissions

NOT_SUBMITTED, PENDING, UNKNOWN = "not submitted", "pending", "unknown"
"""Run states only the scheduler can tell (or that it could not); the others are the markers'."""
RUNNING, DONE, FAILED = markers.RUNNING, markers.DONE, markers.FAILED
STATES = (DONE, FAILED, RUNNING, PENDING, NOT_SUBMITTED, UNKNOWN)
"""Every state a run can be in, in the order summaries list them."""

_RUNNING_STATES = {"RUNNING", "COMPLETING", "CONFIGURING", "SIGNALING", "STAGE_OUT", "SUSPENDED", "STOPPED"}
_TIMEOUT = 60
TaskKey = tuple[int, int]
"""(array job id, array task id)."""


@dataclasses.dataclass(frozen=True)
class RunStatus:
    run: FolderRun
    state: str
    job: str | None
    """`<array job id>_<task>` of the attempt the state is about, when known."""
    detail: str
    """Why, for failed and unknown runs: `exit 1`, `TIMEOUT`, ...; otherwise empty."""


@dataclasses.dataclass(frozen=True)
class SweepStatus:
    folder: ExperimentFolder
    runs: tuple[RunStatus, ...]
    scheduler_problem: str | None
    """Why squeue could not be asked (runs whose state needed it are `unknown`); None when it was."""
    phase: str = TRAINING
    """markers.TRAINING or markers.EVALUATION: which stage of the runs this is the state of."""

    def of(self, run_id: str) -> RunStatus | None:
        return next((s for s in self.runs if s.run.id == run_id), None)

    def counts(self) -> dict[str, int]:
        found = Counter(r.state for r in self.runs)
        return {state: found[state] for state in STATES if found[state]}

    def with_state(self, *states: str) -> tuple[RunStatus, ...]:
        return tuple(r for r in self.runs if r.state in states)


def slurm_command(argv: list[str], env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run a SLURM client command, capturing its output; a hung controller is an error, not a hang."""
    try:
        return subprocess.run(argv, capture_output=True, text=True, timeout=_TIMEOUT, check=False, env=env)
    except subprocess.TimeoutExpired:
        raise SlurmError(
            f"{Path(argv[0]).name} did not answer within {_TIMEOUT} s",
            fix="check that the SLURM controller is reachable (sinfo), then retry",
        ) from None


def _tasks(spec: str) -> list[int]:
    """Array task ids of `3`, `1-5%1`, `[1,3-4]` or `0-15:5`."""
    out: list[int] = []
    for part in spec.strip("[]").split("%")[0].split(","):
        bounds, _, step = part.partition(":")
        first, _, last = bounds.partition("-")
        if first.isdigit() and (not last or last.isdigit()) and (not step or step.isdigit()):
            out += range(int(first), int(last or first) + 1, int(step or 1))
    return out


def active_tasks(job_ids: Iterable[int]) -> dict[TaskKey, str]:
    """squeue's state (PENDING, RUNNING, ...) of every array task of these jobs still queued."""
    squeue = shutil.which("squeue")
    if squeue is None:
        raise SlurmError(
            "squeue is not on PATH, so pending and running jobs cannot be seen",
            fix="run this where SLURM's commands are available (a login node of the cluster)",
        )
    ids = ",".join(str(j) for j in sorted(set(job_ids)))
    proc = slurm_command([squeue, "-h", "-r", "-j", ids, "-o", "%F|%K|%T"])
    if proc.returncode != 0:
        if "Invalid job id" in proc.stderr:  # every job has left the queue
            return {}
        raise SlurmError(
            f"squeue failed: {proc.stderr.strip() or f'exit code {proc.returncode}'}",
            fix="check that the SLURM controller is reachable (sinfo), then retry",
        )
    active: dict[TaskKey, str] = {}
    for line in proc.stdout.splitlines():
        job, _, rest = line.strip().partition("|")
        spec, _, state = rest.partition("|")
        if job.isdigit():
            for task in _tasks(spec):
                active[int(job), task] = state.strip()
    return active


def final_states(job_ids: Iterable[int]) -> dict[TaskKey, str]:
    """How finished array tasks ended (COMPLETED, FAILED, TIMEOUT, ...), as far as SLURM knows.

    sacct where accounting is on; otherwise scontrol, which remembers jobs for MinJobAge seconds.
    """
    ids = sorted(set(job_ids))
    found: dict[TaskKey, str] = {}
    if not ids:
        return found
    sacct = shutil.which("sacct")
    if sacct is not None:
        joined = ",".join(map(str, ids))
        proc = slurm_command([sacct, "-n", "-P", "-X", "-j", joined, "-o", "JobID,State"])
        if proc.returncode == 0:
            for line in proc.stdout.splitlines():
                job_task, _, state = line.partition("|")
                job, _, spec = job_task.partition("_")
                if job.isdigit() and spec:
                    for task in _tasks(spec):
                        found[int(job), task] = state.split()[0] if state.split() else "UNKNOWN"
    scontrol = shutil.which("scontrol")
    for job_id in ids:
        if scontrol is None or any(key[0] == job_id for key in found):
            continue
        proc = slurm_command([scontrol, "show", "job", "-o", str(job_id)])
        if proc.returncode != 0:
            continue
        for raw in proc.stdout.splitlines():
            line = re.sub(r" JobName=.*? UserId=", " UserId=", raw)  # a job name may hold anything
            array_job = re.search(r"\bArrayJobId=(\d+)", line)
            array_task = re.search(r"\bArrayTaskId=(\S+)", line)
            job_state = re.search(r"\bJobState=(\S+)", line)
            if array_job and array_task and job_state:
                for task in _tasks(array_task.group(1)):
                    found[int(array_job.group(1)), task] = job_state.group(1)
    return found


def _exit_detail(code: int | None, stage: str | None) -> str:
    text = f"exit {code}" if code is not None else "no exit code"
    if code is not None and code > 128:
        text += f", signal {code - 128}"
    if stage and stage != "training":
        text += f" in {stage}"
    return text


def eval_targets(folder: ExperimentFolder) -> tuple[FolderRun, ...]:
    """What the eval array evaluates: every run, then the base model when asked for (a pseudo-run
    with the task after the last run and no params)."""
    if not folder.evaluates:
        return ()
    targets = folder.runs
    if folder.base_eval is not None:
        base = FolderRun(BASE_MODEL, folder.path, "", {}, len(folder.runs), folder.base_eval)
        targets = (*targets, base)
    return targets


STAGE_OF_PHASE = {TRAINING: TRAIN, EVALUATION: EVAL}


def sweep_status(folder: ExperimentFolder, phase: str = TRAINING) -> SweepStatus:
    """The state of every run in one phase (training, by default, or evaluation): markers, then
    squeue for active jobs, then sacct/scontrol."""
    targets = folder.runs if phase == TRAINING else eval_targets(folder)
    stage = STAGE_OF_PHASE[phase]
    latest: dict[str, SubmissionRecord] = {}
    for record in read_submissions(folder.path):
        if record.stage != stage:
            continue
        for run_id in record.runs:
            latest[run_id] = record
    found = {run.id: read_marker(folder.path, run.id, phase) for run in targets}
    jobs = {record.job_id for record in latest.values()}
    jobs |= {m.job_id for m in found.values() if m and m.state == RUNNING and m.job_id is not None}
    problem: str | None = None
    active: dict[TaskKey, str] = {}
    if jobs:
        try:
            active = active_tasks(jobs)
        except SlurmError as exc:
            problem = exc.message

    # Final states are asked only for runs whose job ended without saying how.
    unexplained: set[int] = set()
    for run in targets:
        marker, last = found[run.id], latest.get(run.id)
        keys = _keys(run, marker, last)
        finished = marker is not None and _current(marker, last) and marker.state != RUNNING
        if finished or any(key in active for key in keys):
            continue
        unexplained.update(job for job, _ in keys)
    finals = final_states(unexplained) if unexplained and problem is None else {}

    statuses = []
    for run in targets:
        statuses.append(_run_status(run, found[run.id], latest.get(run.id), active, finals, problem))
    return SweepStatus(folder, tuple(statuses), problem, phase)


def _keys(run: FolderRun, marker: Marker | None, record: SubmissionRecord | None) -> list[TaskKey]:
    """The array tasks that may be this run's latest attempt: the submitted one, the marker's."""
    keys = [(record.job_id, run.task)] if record else []
    if marker and marker.job_id is not None:
        keys.append((marker.job_id, run.task))
    return keys


def _current(marker: Marker | None, record: SubmissionRecord | None) -> bool:
    """The marker is about the latest attempt (a later submission would have replaced it on start)."""
    return marker is not None and (record is None or marker.job_id is None or marker.job_id >= record.job_id)


def _run_status(
    run: FolderRun,
    marker: Marker | None,
    record: SubmissionRecord | None,
    active: dict[TaskKey, str],
    finals: dict[TaskKey, str],
    problem: str | None,
) -> RunStatus:
    for key in _keys(run, marker, record):
        if key in active:
            state = active[key]
            kind = RUNNING if state in _RUNNING_STATES else PENDING
            detail = "" if state in ("RUNNING", "PENDING") else state
            return RunStatus(run, kind, f"{key[0]}_{key[1]}", detail)
    if marker is not None and _current(marker, record):
        job = f"{marker.job_id}_{run.task}" if marker.job_id is not None else None
        if marker.state == DONE:
            return RunStatus(run, DONE, job, "")
        if marker.state == FAILED:
            return RunStatus(run, FAILED, job, _exit_detail(marker.exit_code, marker.stage))
        if marker.local:
            return _local_running(run, marker)
        if problem:
            return RunStatus(run, UNKNOWN, job, "started; squeue cannot say whether it still runs")
        final = finals.get((marker.job_id, run.task)) if marker.job_id is not None else None
        detail = f"{final}: " if final else ""
        return RunStatus(run, FAILED, job, detail + "the job ended without recording a result")
    if record is not None:
        job = f"{record.job_id}_{run.task}"
        if problem:
            return RunStatus(run, UNKNOWN, job, "submitted; squeue cannot say whether it is queued")
        final = finals.get((record.job_id, run.task))
        detail = f"{final}: " if final else ""
        return RunStatus(run, FAILED, job, detail + "the job ended before the run started")
    return RunStatus(run, NOT_SUBMITTED, None, "")


def local_state(marker: Marker) -> str:
    """The state of a run whose 'running' marker was written outside SLURM (`ttwriter run`,
    `ttwriter evaluate`): running while the process it names is alive on this host; failed (lost)
    when it is gone (killed with SIGKILL, the machine restarted) or the marker names none; unknown
    when it ran on another host. `ttwriter results` asks this too."""
    alive = local_process_alive(marker)
    if alive:
        return RUNNING
    return UNKNOWN if alive is None and marker.pid is not None else FAILED


def _local_running(run: FolderRun, marker: Marker) -> RunStatus:
    job = f"{LOCAL_JOB}_{marker.pid}" if marker.pid is not None else None
    state = local_state(marker)
    if state == RUNNING:
        return RunStatus(run, RUNNING, job, "a ttwriter process on this host")
    if state == UNKNOWN:
        return RunStatus(
            run,
            UNKNOWN,
            job,
            f"started by pid {marker.pid} on {marker.host or 'another host'}; whether it still runs can "
            f"only be told there",
        )
    why = "its process is gone" if marker.pid is not None else "the job ended"
    return RunStatus(run, FAILED, job, f"{why} without recording a result")
