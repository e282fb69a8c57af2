"""`ttwriter run`: train the runs of an experiment folder here, one after another, without SLURM.

Each run is trained the way its SLURM array task would train it (see slurm.script): the
same command template (`slurm.command`, default `tune run {recipe} --config {config}`) run by bash
from the experiment folder, output appended to `logs/<run id>.out`, and the same completion
markers: `status/<run id>.running` while it trains, then `.done` only when training exits 0, else
`.failed` with the exit code. The running marker names this process, so `ttwriter status` shows
the run as running while it lives and no second `ttwriter run` or `submit` starts it again; Ctrl-C,
SIGTERM and SIGHUP are passed on to the training (child.stop) and leave `.failed` with 128 + the
signal. `ttwriter status` and `ttwriter results` read the markers alike, and the
runs are chosen as `ttwriter submit` chooses them (slurm.choose). The experiment's
`slurm.setup` lines are not run: they prepare a cluster node, and a local run uses the environment
it is started from.

For an experiment with evaluation, each run is evaluated right after its training succeeds
(evaluate.run, as an eval job does: logs/<run id>.eval.out, status/<run id>.eval.<state>), and
the base model at the end when the experiment asks for it; which evaluations, is the rule
`ttwriter submit` follows (slurm.chain), so `--failed` also evaluates a trained run whose
evaluation did not complete.
"""

from __future__ import annotations

import dataclasses
import os
import shlex
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from ttwriter import child
from ttwriter.errors import ExperimentDirError
from ttwriter.experiment.slurm_config import SlurmConfig
from ttwriter.folder import markers
from ttwriter.folder.layout import BASE_MODEL, LOGS_DIR, STATUS_DIR, log_path
from ttwriter.folder.read import ExperimentFolder, FolderRun, read_experiment_folder
from ttwriter.formats import utc_now
from ttwriter.placeholders import names, substitute
from ttwriter.registry import add_tune_to_path
from ttwriter.slurm.chain import NEW_JOB, plan_evaluations, split_base_model
from ttwriter.slurm.choose import choose_runs
from ttwriter.slurm.script import shell_command
from ttwriter.slurm.status import RunStatus, sweep_status
from ttwriter.validation.gate import GateResult, check_runs, typed_command


@dataclasses.dataclass(frozen=True)
class LocalRun:
    """How one run ended."""

    run_id: str
    exit_code: int
    stage: str
    """'training', or where it stopped before training: 'config' (missing) or 'recipe' (unknown)."""
    seconds: float
    log: Path

    @property
    def ok(self) -> bool:
        return self.exit_code == 0


@dataclasses.dataclass(frozen=True)
class LocalPlan:
    """What `ttwriter run` will do: the folder and the runs to train, with the folder's command."""

    folder: ExperimentFolder
    runs: tuple[FolderRun, ...]
    validation: GateResult | None = None
    """What the validation gate did (None when there is nothing to run)."""
    skipped: tuple[RunStatus, ...] = ()
    """With --failed: the runs left out because they are done or still queued."""
    retrained: tuple[str, ...] = ()
    """Runs named with --runs that had finished successfully: they train again."""
    evaluations: tuple[str, ...] = ()
    """What is evaluated (run ids, then `base_model`): a run being trained only once its training
    succeeds."""
    eval_skipped: tuple[RunStatus, ...] = ()
    """Evaluations left out because they are done or still queued on SLURM."""
    not_trained: tuple[str, ...] = ()
    """With eval_only: selected runs left out because their training is not done."""
    re_evaluated: tuple[str, ...] = ()
    """With eval_only: done evaluations named with --runs: they are evaluated again."""

    @property
    def template(self) -> str:
        """The command template every run trains with (as the job script's)."""
        return self.folder.training_command

    @property
    def slurm(self) -> SlurmConfig:
        return self.folder.slurm

    def command(self, run: FolderRun) -> str:
        """The command with this run's values filled in, each a quoted shell word, as the log and
        `--dry-run` show it (a user pastes it; the run itself gets the values as variables)."""
        values = {
            "recipe": self.folder.recipe or "<RECIPE>",
            "config": str(run.config_path),
            "run_id": run.id,
            "output_dir": run.output_dir,
            "nproc": str(max(1, self.slurm.gpus_per_run)),
        }
        return substitute(self.template, values, _word)


def _word(value: str) -> str:
    return value if value == "<RECIPE>" else shlex.quote(value)


def _eval_only(
    folder: ExperimentFolder,
    run_ids: Sequence[str] | None,
    failed_only: bool,
    base: bool,
    experiment_dir: str | Path,
) -> LocalPlan:
    """Evaluations alone, chosen as `ttwriter evaluate` chooses them (slurm.choose): of the
    selected runs whose training is done, and of the base model; a plain --eval-only is refused
    once one of them is done, --failed takes those that did not complete."""
    if not folder.evaluates:
        raise ExperimentDirError(
            "--eval-only: this experiment has no evaluation",
            file=folder.path,
            fix="add an evaluation section to the experiment and regenerate the folder (docs/evaluation.md)",
        )
    selected = folder.select(run_ids) if run_ids is None or run_ids else ()
    untrained = tuple(r.id for r in selected if not markers.is_done(folder.path, r.id))
    named = None
    if run_ids is not None:
        named = [r.id for r in selected if r.id not in untrained] + ([BASE_MODEL] if base else [])
    choice = choose_runs(
        folder,
        named,
        failed_only,
        command="run",
        typed_dir=experiment_dir,
        phase=markers.EVALUATION,
        flags=" --eval-only",
    )
    return LocalPlan(
        folder,
        (),
        evaluations=tuple(t.id for t in choice.runs),
        eval_skipped=choice.skipped,
        not_trained=untrained,
        re_evaluated=choice.retrained,
    )


def plan_local_runs(
    experiment_dir: str | Path,
    run_ids: Sequence[str] | None = None,
    failed_only: bool = False,
    *,
    ignore_validation: bool = False,
    announce: Callable[[str], None] | None = None,
    evaluate: bool = True,
    eval_only: bool = False,
) -> LocalPlan:
    """The runs to train and their command: every run, the ones named in `run_ids`, or with
    `failed_only` those that did not complete, chosen as `ttwriter submit` chooses them (see
    slurm.choose: a plain run is refused once a run is done or queued on SLURM). For an
    experiment with evaluation, also what to evaluate (unless `evaluate` is False; with
    `eval_only`, only that); `base_model` among `run_ids` names the base model's evaluation.

    Runs that failed validation are refused with `InvalidRunsError`, and a folder that was never
    validated is validated first (see validation.gate), unless `ignore_validation`; `announce`
    is told when a validation starts.
    """
    folder = read_experiment_folder(experiment_dir, "run")
    _ = folder.slurm  # read now: invalid settings in experiment.json stop here, before any validation
    run_ids, base = split_base_model(folder, run_ids)
    if eval_only:
        return _eval_only(folder, run_ids, failed_only, base, experiment_dir)
    choice = choose_runs(folder, run_ids, failed_only, command="run", typed_dir=experiment_dir)
    evaluations: tuple[str, ...] = ()
    eval_skipped: tuple[RunStatus, ...] = ()
    if evaluate and folder.evaluates:
        plans, eval_skipped = plan_evaluations(
            folder,
            choice.runs,
            sweep_status(folder),
            sweep_status(folder, markers.EVALUATION),
            failed=failed_only,
            base=base,
        )
        here = [p for p in plans if p.after in (None, NEW_JOB)]  # not those waiting on a SLURM job
        evaluations = tuple(t.id for p in here for t in p.targets)
    gate = None
    if choice.runs:
        gate = check_runs(
            folder,
            [r.id for r in choice.runs],
            verb="train",
            command=typed_command("run", experiment_dir, run_ids, failed_only),
            ignore=ignore_validation,
            announce=announce,
        )
    return LocalPlan(folder, choice.runs, gate, choice.skipped, choice.retrained, evaluations, eval_skipped)


def _environment(plan: LocalPlan, run: FolderRun, shell: str) -> dict[str, str]:
    env = dict(os.environ)
    add_tune_to_path(env)
    env.update(
        EXPERIMENT_DIR=str(plan.folder.path),
        RECIPE=plan.folder.recipe or "",
        CONFIG=str(run.config_path),
        RUN_ID=run.id,
        OUTPUT_DIR=run.output_dir,
        NPROC=str(max(1, plan.slurm.gpus_per_run)),
        COMMAND=shell,
        TTWRITER_EXPERIMENT_DIR=str(plan.folder.path),
        TTWRITER_RUN_ID=run.id,
        TTWRITER_CONFIG=str(run.config_path),
        TTWRITER_OUTPUT_DIR=run.output_dir,
    )
    return env


def train_one(plan: LocalPlan, run: FolderRun) -> LocalRun:
    """Train one run, logging to logs/<run id>.out and leaving its completion marker.

    An interrupt (Ctrl-C, or SIGTERM and SIGHUP turned into `Interrupted` by the CLI) is passed on
    to the training (child.stop), recorded as a failure with 128 + the signal, and raised again."""
    folder = plan.folder.path
    (folder / STATUS_DIR).mkdir(exist_ok=True)
    (folder / LOGS_DIR).mkdir(exist_ok=True)
    task = run.task
    log = log_path(folder, run.id)
    start = time.monotonic()
    started = utc_now()
    job = f"{markers.LOCAL_JOB}_{task}"
    shell = shell_command(plan.template)
    with open(log, "a", encoding="utf-8") as stream:

        def say(text: str) -> None:
            stream.write(text + "\n")
            stream.flush()

        def finish(code: int, stage: str) -> None:
            _finish(folder, run.id, job, started, code, stage, say)

        stage = "training"
        process: subprocess.Popen[bytes] | None = None
        try:
            markers.write_marker(folder, run.id, markers.RUNNING, job=job, started=started)
            say(f"=== ttwriter: {run.id} (ttwriter run, local) on {socket.gethostname()} at {started} ===")
            say(f"config:     {run.config_path}")
            say(f"output_dir: {run.output_dir}")
            if not run.config_path.is_file():
                code, stage = 2, "config"
                say(f"ttwriter: {run.config_path} does not exist; regenerate the experiment folder")
            elif plan.folder.recipe is None and "recipe" in names(plan.template):
                code, stage = 2, "recipe"
                say("ttwriter: the recipe of this experiment is unknown; set 'recipe' and regenerate")
            else:
                say(f"command:    {plan.command(run)}")
                process = child.start(
                    ["bash", "-c", 'eval "$COMMAND"'],
                    cwd=folder,
                    env=_environment(plan, run, shell),
                    stdout=stream,
                )
                code = child.exit_code(process.wait())
        except KeyboardInterrupt as interrupt:
            signum = child.signal_of(interrupt)
            code = child.stop(process, signum) if process is not None else 128 + signum
            say("")
            say(f"ttwriter: interrupted by {signal.Signals(signum).name}")
            finish(code, stage)
            raise
        finish(code, stage)
    return LocalRun(run.id, code, stage, time.monotonic() - start, log)


def _finish(
    folder: Path, run_id: str, job: str, started: str, code: int, stage: str, say: Callable[[str], None]
) -> None:
    say("")  # training may end on a progress bar without a line break
    if code == 0:
        markers.write_marker(folder, run_id, markers.DONE, job=job, exit_code=0, started=started)
        say(f"=== ttwriter: {run_id} done at {utc_now()} ===")
    else:
        markers.write_marker(
            folder, run_id, markers.FAILED, job=job, exit_code=code, stage=stage, started=started
        )
        say(f"=== ttwriter: {run_id} FAILED in {stage} with exit code {code} at {utc_now()} ===")
