"""Submitting a sweep's job array with sbatch, and recording what was submitted.

`submit` chooses the runs (all that still need to run, the ones named, or the failed ones),
refuses to queue a run twice, calls `sbatch --array=<their task ids> submit.sbatch`, and appends
the job id and runs to submissions.jsonl, which `ttwriter status` reads.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import getpass
import shutil
from collections.abc import Sequence

from ttwriter.errors import SlurmError
from ttwriter.slurm_folder import ArrayRun, SweepFolder, open_folder
from ttwriter.slurm_script import LOGS_DIR, NO_RECIPE, array_spec, script_max_parallel
from ttwriter.slurm_status import (
    DONE,
    FAILED,
    PENDING,
    RUNNING,
    RunStatus,
    SweepStatus,
    slurm_command,
    sweep_status,
)


@dataclasses.dataclass(frozen=True)
class Submission:
    """What `submit` did (or, for a dry run, would do)."""

    folder: SweepFolder
    runs: tuple[ArrayRun, ...]
    """The runs submitted; empty when there was nothing to submit."""
    array: str
    command: tuple[str, ...]
    job_id: int | None
    """SLURM's job id; None for a dry run or when nothing was submitted."""
    dry_run: bool
    skipped: tuple[RunStatus, ...]
    """Runs left out because they are done or already queued (not for --runs)."""
    retrained: tuple[str, ...]
    """Runs named with --runs that had already finished successfully and will train again."""


def _status(folder: SweepFolder) -> SweepStatus:
    """The sweep's state; refused when squeue is needed and cannot answer (a run could be queued)."""
    status = sweep_status(folder)
    if status.scheduler_problem is not None:
        raise SlurmError(
            f"cannot tell which runs are still queued: {status.scheduler_problem}",
            file=folder.path,
            fix="run this where squeue works, so that no run is submitted twice",
        )
    return status


def _check_recipe(folder: SweepFolder) -> None:
    if NO_RECIPE in folder.script.read_text(encoding="utf-8"):
        raise SlurmError(
            "the recipe of this experiment is unknown (run_mapping.yaml has recipe: null), so "
            "submit.sbatch has no training command to run",
            file=folder.path,
            key="recipe",
            fix="set `recipe` in the experiment (a name from 'tune ls' or the path of your recipe "
            ".py) and regenerate, or set slurm.command to a command without {recipe}",
        )


def submit(
    path: str,
    runs: Sequence[str] | None = None,
    *,
    failed: bool = False,
    dry_run: bool = False,
) -> Submission:
    """Submit runs of the experiment folder at `path` as one job array.

    By default every run that is not done and not already queued; `runs` names runs (a done one
    trains again); `failed` takes only runs whose last attempt failed. Raises `SlurmError` when
    sbatch is missing, SLURM refuses the job, a run id is unknown or a run is still queued.
    """
    folder = open_folder(path)
    if runs is not None and failed:
        raise SlurmError("--runs and --failed choose runs in two ways", fix="use one of them")
    _check_recipe(folder)
    states = {s.run.id: s for s in _status(folder).runs}
    skipped: tuple[RunStatus, ...] = ()
    retrained: tuple[str, ...] = ()
    if runs is not None:
        chosen = folder.select(runs)
        queued = [states[r.id] for r in chosen if r.id in states and states[r.id].state in (PENDING, RUNNING)]
        if queued:
            raise SlurmError(
                "already queued: " + ", ".join(f"{s.run.id} ({s.state} as job {s.job})" for s in queued),
                file=folder.path,
                fix="wait for them (ttwriter status), or cancel them with scancel <job> first",
            )
        retrained = tuple(r.id for r in chosen if r.id in states and states[r.id].state == DONE)
    elif failed:
        chosen = tuple(s.run for s in states.values() if s.state == FAILED)
    else:
        skipped = tuple(s for s in states.values() if s.state in (DONE, PENDING, RUNNING))
        left_out = {s.run.id for s in skipped}
        chosen = tuple(r for r in folder.runs if r.id not in left_out)

    script_text = folder.script.read_text(encoding="utf-8")
    limit = script_max_parallel(script_text)
    limit = limit if limit is not None and limit < len(chosen) else None
    array = array_spec([r.task for r in chosen], limit) if chosen else ""
    sbatch = shutil.which("sbatch")
    command = (sbatch or "sbatch", "--parsable", f"--array={array}", str(folder.script))
    if not chosen or dry_run:
        return Submission(folder, chosen, array, command, None, dry_run, skipped, retrained)
    if sbatch is None:
        raise SlurmError(
            "sbatch is not on PATH, so the runs cannot be submitted",
            fix="run this on a login node of your SLURM cluster (or load its module); for a local "
            "one-node test cluster run scripts/slurm_local.sh up as root; --dry-run shows the command",
        )
    (folder.path / LOGS_DIR).mkdir(exist_ok=True)
    proc = slurm_command(list(command))
    if proc.returncode != 0:
        message = "\n  ".join(line for line in proc.stderr.strip().splitlines() if line.strip())
        raise SlurmError(
            f"SLURM refused the job: {message or f'sbatch exit code {proc.returncode}'}",
            file=folder.script,
            fix="check the experiment's slurm settings (partition, account, qos, time, gpus) against "
            "'sinfo' and your cluster's rules, then regenerate the folder",
        )
    job = proc.stdout.strip().split(";")[0]
    if not job.isdigit():
        raise SlurmError(
            f"sbatch answered {proc.stdout.strip()!r} instead of a job id",
            fix="check with squeue whether the job was queued",
        )
    folder.record(
        {
            "job_id": int(job),
            "array": array,
            "runs": [r.id for r in chosen],
            "submitted_utc": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "user": getpass.getuser(),
            "command": list(command),
        }
    )
    return Submission(folder, chosen, array, command, int(job), False, skipped, retrained)
