"""The eval array after the training array: which evaluations to submit, and on what they wait.

Every run trained by a submission is evaluated after it: one eval array with
`--dependency=aftercorr:<training job>`, so eval task i starts when training task i exits 0 and
the others keep going, and `--kill-on-invalid-dep=yes`, so SLURM removes the eval of a run whose
training failed instead of leaving it pending forever. With `--failed`, an evaluation that did
not complete is submitted again: alone (no dependency) when its run is trained, after the
training job it is queued in when that one is still pending or running, after the new training
job when the run trains again. The base model's evaluation waits for nothing and is its own
sbatch call, because its log is not a run's (`--output=logs/base_model.eval.out`).
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from ttwriter.errors import SlurmError
from ttwriter.folder.layout import BASE_MODEL, eval_log_path
from ttwriter.folder.read import ExperimentFolder
from ttwriter.folder.runs import FolderRun
from ttwriter.folder.submissions import EVAL, append_submission
from ttwriter.slurm.script import array_spec
from ttwriter.slurm.status import DONE, PENDING, RUNNING, RunStatus, SweepStatus, eval_targets, slurm_command

NEW_JOB = -1
"""`EvalPlan.after` for the training job this submission is about to queue."""
ACTIVE = (DONE, PENDING, RUNNING)
"""States in which an evaluation is not submitted again."""


@dataclasses.dataclass(frozen=True)
class EvalPlan:
    """One eval array to submit: its targets and the training job they wait for (None: none)."""

    targets: tuple[FolderRun, ...]
    after: int | None


@dataclasses.dataclass(frozen=True)
class EvalSubmission:
    """An eval array submitted (or, for a dry run, to submit)."""

    targets: tuple[str, ...]
    array: str
    command: tuple[str, ...]
    after: int | None
    """The training job each task waits for; None when they wait for nothing (or, in a dry run,
    for the training job not submitted yet: see `waits`)."""
    job_id: int | None
    """SLURM's job id; None for a dry run."""
    waits: bool = False
    """Whether each task waits for its training task."""


def add_ttwriter_to_path(env: dict[str, str]) -> str | None:
    """Make `ttwriter` findable for the eval jobs, as registry.add_tune_to_path does for `tune`:
    the folder of the Python running ttwriter goes first on PATH when `ttwriter` is not on it."""
    here = Path(sys.executable).parent
    if shutil.which("ttwriter", path=env.get("PATH")) is None and (here / "ttwriter").is_file():
        env["PATH"] = os.pathsep.join(p for p in (str(here), env.get("PATH")) if p)
        return str(here)
    return None


def split_base_model(folder: ExperimentFolder, runs: Sequence[str] | None) -> tuple[list[str] | None, bool]:
    """`--runs` without `base_model`, and whether the base model's evaluation is chosen: named,
    or (no --runs) whenever the experiment evaluates it. Naming it when it is not evaluated is
    an error."""
    evaluated = folder.evaluates and folder.base_eval is not None
    if runs is None:
        return None, evaluated
    if BASE_MODEL not in runs:
        return list(runs), False
    if not evaluated:
        raise SlurmError(
            f"{BASE_MODEL} is evaluated only when the experiment sets evaluation.base_model",
            file=folder.path,
            fix=f"leave {BASE_MODEL} out of --runs, or set evaluation.base_model: true and regenerate",
        )
    return [r for r in runs if r != BASE_MODEL], True


def _training_job(state: RunStatus | None) -> int | None:
    if state is None or state.job is None:
        return None
    job = state.job.split("_")[0]
    return int(job) if job.isdigit() else None


def plan_evaluations(
    folder: ExperimentFolder,
    trained: Sequence[FolderRun],
    training: SweepStatus,
    evaluation: SweepStatus,
    *,
    failed: bool,
    base: bool,
) -> tuple[list[EvalPlan], tuple[RunStatus, ...]]:
    """The eval arrays to submit alongside training `trained`, and the evaluations left out
    because they are done or still queued (with `failed`, or the base model's)."""
    plans: list[EvalPlan] = []
    skipped: list[RunStatus] = []
    now = {r.id for r in trained}
    after_new = []
    for run in trained:
        state = evaluation.of(run.id)
        if state is not None and state.state in (PENDING, RUNNING):
            skipped.append(state)  # still queued: never twice
        else:
            after_new.append(run)
    if after_new:
        plans.append(EvalPlan(tuple(after_new), NEW_JOB))
    if failed:
        waiting: dict[int | None, list[FolderRun]] = {}
        for run in folder.runs:
            state = evaluation.of(run.id)
            if run.id in now or state is None:
                continue
            if state.state in ACTIVE:
                skipped.append(state)
                continue
            trains = training.of(run.id)
            if trains is not None and trains.state == DONE:
                waiting.setdefault(None, []).append(run)
            elif trains is not None and trains.state in (PENDING, RUNNING):
                waiting.setdefault(_training_job(trains), []).append(run)
        plans += [EvalPlan(tuple(runs), after) for after, runs in waiting.items()]
    if base:
        target = next(t for t in eval_targets(folder) if t.id == BASE_MODEL)
        state = evaluation.of(BASE_MODEL)
        if state is not None and state.state in ACTIVE:
            skipped.append(state)
        else:
            plans.append(EvalPlan((target,), None))
    return plans, tuple(skipped)


def _command(folder: ExperimentFolder, plan: EvalPlan, after: int | None, sbatch: str) -> tuple[str, ...]:
    limit = folder.max_parallel
    limit = limit if limit is not None and limit < len(plan.targets) else None
    argv = [sbatch, "--parsable", f"--array={array_spec([t.task for t in plan.targets], limit)}"]
    if plan.after is not None:
        argv += [
            f"--dependency=aftercorr:{after if after is not None else '<training job>'}",
            "--kill-on-invalid-dep=yes",
        ]
    if plan.targets[0].id == BASE_MODEL:
        argv.append(f"--output={eval_log_path(folder.path, BASE_MODEL)}")
    return (*argv, str(folder.eval_script))


def submit_evaluations(
    folder: ExperimentFolder,
    plans: Sequence[EvalPlan],
    training_job: int | None,
    sbatch: str,
    dry_run: bool,
    environment: Callable[[], tuple[dict[str, str], str | None]],
) -> tuple[EvalSubmission, ...]:
    """sbatch each eval array (a dry run only says how) and record it in submissions.jsonl."""
    done = []
    for plan in plans:
        after = training_job if plan.after == NEW_JOB else plan.after
        command = _command(folder, plan, after, sbatch)
        array = command[2].removeprefix("--array=")
        ids = tuple(t.id for t in plan.targets)
        if dry_run:
            done.append(EvalSubmission(ids, array, command, after, None, plan.after is not None))
            continue
        env, path_added = environment()
        proc = slurm_command(list(command), env)
        job = proc.stdout.strip().split(";")[0]
        if proc.returncode != 0 or not job.isdigit():
            message = " ".join(proc.stderr.split()) or proc.stdout.strip() or f"exit code {proc.returncode}"
            trained = f"training was submitted as job {training_job}; " if training_job else ""
            raise SlurmError(
                f"SLURM refused the evaluation of {', '.join(ids)}: {message}",
                file=folder.eval_script,
                fix=f"{trained}once the cause is fixed, ttwriter submit {folder.path} --failed submits "
                "the evaluations that did not complete",
            )
        append_submission(
            folder.path,
            job_id=int(job),
            array=array,
            runs=ids,
            command=command,
            path_added=path_added,
            stage=EVAL,
            after=after,
        )
        done.append(EvalSubmission(ids, array, command, after, int(job), plan.after is not None))
    return tuple(done)
