"""Submitting a sweep's job arrays with sbatch, and recording what was submitted.

`submit` chooses the runs (all of them, the ones named, or those that did not complete), never
queues a run twice, calls `sbatch --array=<their task ids> submit.sbatch`, and appends
the job id and runs to submissions.jsonl, which `ttwriter status` reads. For an experiment with
evaluation it then submits the eval array (slurm.chain), each task waiting for its own training
task, and records it the same way with its stage.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path

from ttwriter.errors import SlurmError
from ttwriter.folder.layout import BASE_MODEL, LOGS_DIR, MAPPING_FILE, SCRIPT_FILE
from ttwriter.folder.markers import EVALUATION, TRAINING
from ttwriter.folder.read import ExperimentFolder, read_job_folder
from ttwriter.folder.runs import FolderRun
from ttwriter.folder.submissions import append_submission
from ttwriter.formats import listed
from ttwriter.placeholders import names
from ttwriter.registry import add_tune_to_path
from ttwriter.slurm.chain import (
    EvalPlan,
    EvalSubmission,
    add_ttwriter_to_path,
    plan_evaluations,
    submit_evaluations,
)
from ttwriter.slurm.script import array_spec
from ttwriter.slurm.status import (
    DONE,
    PENDING,
    RUNNING,
    RunStatus,
    SweepStatus,
    slurm_command,
    sweep_status,
)
from ttwriter.validation.gate import GateResult, check_runs, typed_command


@dataclasses.dataclass(frozen=True)
class Submission:
    """What `submit` did (or, for a dry run, would do)."""

    folder: ExperimentFolder
    runs: tuple[FolderRun, ...]
    """The runs submitted; empty when there was nothing to submit."""
    array: str
    command: tuple[str, ...]
    job_id: int | None
    """SLURM's job id; None for a dry run or when nothing was submitted."""
    dry_run: bool
    skipped: tuple[RunStatus, ...]
    """With `failed`: the runs left out because they are done or still queued."""
    retrained: tuple[str, ...]
    """Runs named with --runs that had already finished successfully and will train again."""
    tune_path: str | None = None
    """A folder put first on the jobs' PATH because `tune` was not on this one (see `registry.add_tune_to_path`)."""
    validation: GateResult | None = None
    """What the validation gate did (None when nothing was to be submitted)."""
    evaluations: tuple[EvalSubmission, ...] = ()
    """The eval arrays submitted (or, for a dry run, to submit) after or without training."""
    eval_skipped: tuple[RunStatus, ...] = ()
    """With `failed`: evaluations left out because they are done or still queued."""


def _status(folder: ExperimentFolder, phase: str = TRAINING) -> SweepStatus:
    """The sweep's state; refused when squeue is needed and cannot answer (a run could be queued)."""
    status = sweep_status(folder, phase)
    if status.scheduler_problem is not None:
        raise SlurmError(
            f"cannot tell which runs are still queued: {status.scheduler_problem}",
            file=folder.path,
            fix="run this where squeue works, so that no run is submitted twice",
        )
    return status


def _job_environment() -> tuple[dict[str, str], str | None]:
    """sbatch's environment, which the jobs inherit (--export=ALL, SLURM's default), with `tune`
    and `ttwriter` findable (see registry.add_tune_to_path; setup lines run later and can still
    change it)."""
    env = dict(os.environ)
    return env, add_tune_to_path(env) or add_ttwriter_to_path(env)


def _check_recipe(folder: ExperimentFolder) -> None:
    """A job script whose command needs the recipe has nothing to run when the recipe is unknown."""
    if folder.recipe is None and "recipe" in names(folder.training_command):
        raise SlurmError(
            f"the recipe of this experiment is unknown ({MAPPING_FILE} has recipe: null), so "
            f"{SCRIPT_FILE} has no training command to run",
            file=folder.path,
            key="recipe",
            fix="set `recipe` in the experiment (a name from 'tune ls' or the path of your recipe "
            ".py) and regenerate, or set slurm.command to a command without {recipe}",
        )


def submit(
    path: str | Path,
    runs: Sequence[str] | None = None,
    *,
    failed: bool = False,
    dry_run: bool = False,
    ignore_validation: bool = False,
    announce: Callable[[str], None] | None = None,
    evaluate: bool = True,
) -> Submission:
    """Submit runs of the experiment folder at `path` as one job array.

    By default every run, which is refused once any run is done or queued; `runs` names runs (a
    done one trains again); `failed` takes the runs that did not complete: neither done nor queued,
    like `ttwriter run --failed`. A queued run is never submitted again. Raises `SlurmError` when
    sbatch is missing, SLURM refuses the job, a run is still queued or the recipe is unknown,
    `InvalidRunsError` when a run to submit failed validation (a folder never validated is
    validated first, see validation.gate; `ignore_validation` skips that), and
    `ExperimentDirError` for a folder that is not an experiment folder or an unknown run id.
    `announce` is told when a validation starts.

    With evaluation (unless `evaluate` is False), every run trained is evaluated after its
    training, and `base_model` among `runs` (or a submit of every run) evaluates the base model;
    with `failed`, an evaluation that did not complete is submitted again, alone when its run is
    trained (see slurm.chain).
    """
    folder = read_job_folder(path)
    if runs is not None and failed:
        raise SlurmError("--runs and --failed choose runs in two ways", fix="use one of them")
    evaluate = evaluate and folder.evaluates
    base = evaluate and folder.base_eval is not None and (runs is None or BASE_MODEL in runs)
    if runs is not None and BASE_MODEL in runs:
        if not (folder.evaluates and folder.base_eval is not None):
            raise SlurmError(
                f"{BASE_MODEL} is evaluated only when the experiment sets evaluation.base_model",
                file=folder.path,
                fix="leave it out of --runs, or set evaluation.base_model: true and regenerate",
            )
        runs = [r for r in runs if r != BASE_MODEL]
    _check_recipe(folder)
    status = _status(folder)
    states = status.runs
    skipped: tuple[RunStatus, ...] = ()
    retrained: tuple[str, ...] = ()
    if failed:
        skipped = tuple(s for s in states if s.state in (DONE, PENDING, RUNNING))
        left_out = {s.run.id for s in skipped}
        chosen = tuple(r for r in folder.runs if r.id not in left_out)
    else:
        chosen = folder.runs if runs is None else folder.select(runs) if runs else ()
        wanted = {r.id for r in chosen}
        queued = [s for s in states if s.run.id in wanted and s.state in (PENDING, RUNNING)]
        if queued:
            raise SlurmError(
                "already queued: " + listed([f"{s.run.id} ({s.state} as job {s.job})" for s in queued]),
                file=folder.path,
                fix="wait for them (ttwriter status), or cancel them with scancel first; "
                "--failed submits only the runs that are neither done nor queued",
            )
        done = tuple(s.run.id for s in states if s.run.id in wanted and s.state == DONE)
        if done and runs is None:
            raise SlurmError(
                f"{len(done)} of {len(folder.runs)} runs are already done: {listed(list(done))}",
                file=folder.path,
                fix="--failed submits only the runs that did not complete; to train done runs "
                "again, name them with --runs",
            )
        retrained = done

    limit = folder.max_parallel
    limit = limit if limit is not None and limit < len(chosen) else None
    array = array_spec([r.task for r in chosen], limit) if chosen else ""
    sbatch = shutil.which("sbatch")
    command = (sbatch or "sbatch", "--parsable", f"--array={array}", str(folder.script))
    plans: list[EvalPlan] = []
    eval_skipped: tuple[RunStatus, ...] = ()
    if evaluate:
        eval_status = _status(folder, EVALUATION)
        plans, eval_skipped = plan_evaluations(folder, chosen, status, eval_status, failed=failed, base=base)
    if not chosen and not plans:
        return Submission(
            folder, chosen, array, command, None, dry_run, skipped, retrained, eval_skipped=eval_skipped
        )
    if sbatch is None and not dry_run:
        raise SlurmError(
            "sbatch is not on PATH, so the runs cannot be submitted",
            fix="run this on a login node of your SLURM cluster (or load its module); for a local "
            "one-node test cluster run scripts/slurm_local.sh up as root; --dry-run shows the command",
        )
    if not chosen:  # evaluations only: no training, so no validation gate
        evals = submit_evaluations(folder, plans, None, sbatch or "sbatch", dry_run, _job_environment)
        return Submission(
            folder,
            chosen,
            array,
            command,
            None,
            dry_run,
            skipped,
            retrained,
            evaluations=evals,
            eval_skipped=eval_skipped,
        )
    gate = check_runs(
        folder,
        [r.id for r in chosen],
        verb="submit",
        command=typed_command("submit", path, runs, failed),
        ignore=ignore_validation,
        announce=announce,
    )
    if dry_run:
        evals = submit_evaluations(folder, plans, None, sbatch or "sbatch", True, _job_environment)
        return Submission(
            folder,
            chosen,
            array,
            command,
            None,
            True,
            skipped,
            retrained,
            validation=gate,
            evaluations=evals,
            eval_skipped=eval_skipped,
        )
    (folder.path / LOGS_DIR).mkdir(exist_ok=True)
    env, tune_path = _job_environment()
    proc = slurm_command(list(command), env)
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
    append_submission(
        folder.path,
        job_id=int(job),
        array=array,
        runs=[r.id for r in chosen],
        command=command,
        path_added=tune_path,
    )
    evals = submit_evaluations(folder, plans, int(job), sbatch or "sbatch", False, _job_environment)
    return Submission(
        folder,
        chosen,
        array,
        command,
        int(job),
        False,
        skipped,
        retrained,
        tune_path,
        gate,
        evals,
        eval_skipped,
    )
