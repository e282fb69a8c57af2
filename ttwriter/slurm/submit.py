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
from ttwriter.folder.layout import LOGS_DIR, MAPPING_FILE, SCRIPT_FILE
from ttwriter.folder.markers import EVALUATION
from ttwriter.folder.read import ExperimentFolder, read_job_folder
from ttwriter.folder.runs import FolderRun
from ttwriter.folder.submissions import append_submission
from ttwriter.placeholders import names
from ttwriter.registry import add_tune_to_path
from ttwriter.slurm.chain import (
    EvalPlan,
    EvalSubmission,
    add_ttwriter_to_path,
    plan_evaluations,
    split_base_model,
    submit_evaluations,
)
from ttwriter.slurm.choose import choose_runs
from ttwriter.slurm.script import array_spec
from ttwriter.slurm.status import RunStatus, SweepStatus, slurm_command, sweep_status
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
    """The eval arrays submitted (or, for a dry run, to submit), after training or alone."""
    eval_skipped: tuple[RunStatus, ...] = ()
    """Evaluations left out because they are done or still queued."""
    sbatch_found: bool = True
    """False when sbatch is not on PATH here: a dry run still shows the command, which only a
    machine with SLURM can run."""


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

    Which runs: every run, the ones named in `runs`, or with `failed` those that did not complete,
    as slurm.choose decides for `ttwriter run` too (a plain submit is refused once a run is done;
    a queued run is never submitted again). Raises `SlurmError` when sbatch is missing, SLURM
    refuses the job, a run is still queued or the recipe is unknown, `InvalidRunsError` when a
    run to submit failed validation (a folder never validated is validated first, see
    validation.gate; `ignore_validation` skips that), and `ExperimentDirError` for a folder that
    is not an experiment folder, an unknown run id, or a choice slurm.choose refuses.
    `announce` is told when a validation starts.

    For an experiment with evaluation (unless `evaluate` is False), every run trained is
    evaluated after its training, and the base model's evaluation goes with a submit of every
    run or when `runs` names `base_model`; with `failed`, an evaluation that did not complete is
    submitted again, alone when its run is trained (slurm.chain).
    """
    folder = read_job_folder(path)
    _check_recipe(folder)
    runs, base = split_base_model(folder, runs)
    choice = choose_runs(folder, runs, failed, command="submit", typed_dir=path)
    chosen, skipped, retrained = choice.runs, choice.skipped, choice.retrained
    plans: list[EvalPlan] = []
    eval_skipped: tuple[RunStatus, ...] = ()
    if evaluate and folder.evaluates:
        plans, eval_skipped = plan_evaluations(
            folder, chosen, sweep_status(folder), _eval_status(folder), failed=failed, base=base
        )

    limit = folder.max_parallel
    limit = limit if limit is not None and limit < len(chosen) else None
    array = array_spec([r.task for r in chosen], limit) if chosen else ""
    sbatch = shutil.which("sbatch")
    command = (sbatch or "sbatch", "--parsable", f"--array={array}", str(folder.script))

    def unsent(
        validation: GateResult | None = None, evaluations: tuple[EvalSubmission, ...] = ()
    ) -> Submission:
        """What is returned when no training array goes to SLURM: nothing to do, evaluations
        alone, or a dry run."""
        return Submission(
            folder,
            chosen,
            array,
            command,
            None,
            dry_run,
            skipped,
            retrained,
            validation=validation,
            evaluations=evaluations,
            eval_skipped=eval_skipped,
            sbatch_found=sbatch is not None,
        )

    if not chosen and not plans:
        return unsent()
    # The validation gate goes first: a folder with broken runs says so even where sbatch is not.
    # Evaluations alone train nothing, so the gate has nothing to check.
    gate = (
        check_runs(
            folder,
            [r.id for r in chosen],
            verb="submit",
            command=typed_command("submit", path, runs, failed),
            ignore=ignore_validation,
            announce=announce,
        )
        if chosen
        else None
    )
    if sbatch is None and not dry_run:
        raise SlurmError(
            "sbatch is not on PATH, so the runs cannot be submitted",
            fix="run this on a login node of your SLURM cluster (or load its module); for a local "
            "one-node test cluster run scripts/slurm_local.sh up as root; --dry-run shows the command",
        )
    if not chosen:
        return unsent(
            evaluations=submit_evaluations(folder, plans, None, sbatch or "sbatch", dry_run, _job_environment)
        )
    if dry_run:
        return unsent(
            gate, submit_evaluations(folder, plans, None, sbatch or "sbatch", True, _job_environment)
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


def _eval_status(folder: ExperimentFolder) -> SweepStatus:
    """The evaluations' state; refused when squeue cannot say which are queued (one could run twice)."""
    status = sweep_status(folder, EVALUATION)
    if status.scheduler_problem is not None:
        raise SlurmError(
            f"cannot tell which evaluations are still queued: {status.scheduler_problem}",
            file=folder.path,
            fix="run this where squeue works, so that no evaluation is submitted twice",
        )
    return status
