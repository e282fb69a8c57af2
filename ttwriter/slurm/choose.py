"""Which runs of an experiment folder a command starts: one rule for `ttwriter submit`,
`ttwriter run` and `ttwriter evaluate`, so `--runs` and `--failed` mean the same in all three.

- neither: every run, refused once a run is done (its result would be replaced; say which runs)
  or still queued (it would run twice);
- `--runs`: the runs named, a done one included (it trains again: `Choice.retrained`), a queued
  one refused;
- `--failed`: the runs that did not complete, that is neither done nor still queued (failed,
  lost, never started); the others are left out (`Choice.skipped`).

A run is queued while SLURM has its job pending or running, or while the `ttwriter run` (or
`ttwriter evaluate`) training it here is alive (its running marker names the process; one that
names a process on another host cannot be checked, so it counts as queued too). A folder whose
runs were submitted needs squeue to tell, and is refused where squeue cannot answer.

`ttwriter evaluate` asks the same of the evaluations (`phase=EVALUATION`): its targets are the
runs whose training is done and the base model when the experiment evaluates it (named with
`--runs`, any run or `base_model`); done means its eval marker says done.
"""

from __future__ import annotations

import dataclasses
import shlex
from collections.abc import Sequence
from pathlib import Path

from ttwriter.errors import ExperimentDirError, SlurmError
from ttwriter.folder import markers
from ttwriter.folder.layout import BASE_MODEL
from ttwriter.folder.markers import EVALUATION, LOCAL_JOB, TRAINING
from ttwriter.folder.read import ExperimentFolder
from ttwriter.folder.runs import FolderRun
from ttwriter.formats import counted, listed
from ttwriter.slurm.status import DONE, PENDING, RUNNING, UNKNOWN, RunStatus, eval_targets, sweep_status

QUEUED = (PENDING, RUNNING)
"""The states of a run SLURM (or a local ttwriter) still has: starting it again would run it twice."""
BUSY = (*QUEUED, UNKNOWN)
"""What is never started again: queued, or (once squeue has answered) started by a local ttwriter
on another host, whose process cannot be checked from here."""


def _is_local(state: RunStatus) -> bool:
    return state.job is not None and state.job.startswith(f"{LOCAL_JOB}_")


@dataclasses.dataclass(frozen=True)
class Choice:
    """The runs a command starts, and what it says about the others."""

    runs: tuple[FolderRun, ...]
    """In sweep order; empty when nothing is left to start (`--failed` of a complete sweep)."""
    skipped: tuple[RunStatus, ...] = ()
    """With --failed: the runs left out because they are done or still queued."""
    retrained: tuple[str, ...] = ()
    """Runs named with --runs that had finished successfully: they train (or, for evaluations,
    are evaluated) again."""


@dataclasses.dataclass(frozen=True)
class _Words:
    """How the messages name what is chosen, per phase."""

    one: str
    again: str
    """`to <again> done ones again`."""


_WORDS = {TRAINING: _Words("run", "train"), EVALUATION: _Words("evaluation", "evaluate")}


def _pool(folder: ExperimentFolder, phase: str) -> tuple[FolderRun, ...]:
    """What a plain command or --failed chooses from: every run; for evaluation, the runs whose
    training is done and the base model (when the experiment evaluates it)."""
    if phase == TRAINING:
        return folder.runs
    return tuple(t for t in eval_targets(folder) if t.id == BASE_MODEL or markers.is_done(folder.path, t.id))


def _named(folder: ExperimentFolder, runs: Sequence[str], phase: str) -> tuple[FolderRun, ...]:
    """The runs --runs names, in sweep order; for evaluation `base_model` among them."""
    if phase == TRAINING:
        return folder.select(runs)
    chosen = folder.select([r for r in runs if r != BASE_MODEL]) if set(runs) - {BASE_MODEL} else ()
    if BASE_MODEL in runs:
        folder.eval_record(BASE_MODEL)  # an error when the experiment does not evaluate it
        chosen = (*chosen, *(t for t in eval_targets(folder) if t.id == BASE_MODEL))
    return chosen


def check_choice(runs: Sequence[str] | None, failed: bool, *, command: str, typed_dir: str | Path) -> None:
    """`--runs` and `--failed` together are refused (before the folder is read, by the CLI too)."""
    if runs is not None and failed:
        where = f"ttwriter {command} {shlex.quote(str(typed_dir))}"
        raise ExperimentDirError(
            "--runs and --failed choose runs in two ways",
            fix=f"use one: {where} --failed, or {where} --runs {','.join(runs)}",
        )


def choose_runs(
    folder: ExperimentFolder,
    runs: Sequence[str] | None,
    failed: bool,
    *,
    command: str,
    typed_dir: str | Path,
    phase: str = TRAINING,
    flags: str = "",
) -> Choice:
    """The runs `ttwriter <command> <typed_dir>` starts, given `--runs` (`runs`) or `--failed`;
    with `phase=EVALUATION`, the evaluations it starts (see the module's docstring). `flags`
    (` --eval-only`) follow the folder in the commands the messages suggest.

    Raises `ExperimentDirError` for both at once, an unknown run id, or a plain command once a
    run is done; `SlurmError` for a run still queued or when squeue cannot say which are.
    """
    where = f"ttwriter {command} {shlex.quote(str(typed_dir))}{flags}"
    words = _WORDS[phase]
    check_choice(runs, failed, command=command, typed_dir=typed_dir)
    status = sweep_status(folder, phase)
    if status.scheduler_problem is not None:
        raise SlurmError(
            f"cannot tell which runs are still queued: {status.scheduler_problem}",
            file=folder.path,
            fix="run this where squeue works, so that no run is started twice",
        )
    pool = _pool(folder, phase)
    if failed:
        ids = {r.id for r in pool}
        skipped = tuple(s for s in status.runs if s.run.id in ids and (s.state == DONE or s.state in BUSY))
        left_out = {s.run.id for s in skipped}
        return Choice(tuple(r for r in pool if r.id not in left_out), skipped=skipped)

    chosen = pool if runs is None else _named(folder, runs, phase)
    wanted = {r.id for r in chosen}
    states = [s for s in status.runs if s.run.id in wanted]
    queued = [s for s in states if s.state in BUSY]
    if queued:
        local = [_is_local(s) for s in queued]
        stop = "cancel them with scancel first"
        if all(local):
            stop = "stop that ttwriter first (Ctrl-C, or kill PID)"
        elif any(local):
            stop = "stop them first (scancel; Ctrl-C or kill PID for a local ttwriter)"
        raise SlurmError(
            "already queued: " + listed([_queued_text(s) for s in queued]),
            file=folder.path,
            fix=f"wait for them (ttwriter status {shlex.quote(str(typed_dir))}), or {stop}; "
            f"{where} --failed takes only the {words.one}s that are neither done nor queued",
        )
    done = tuple(s.run.id for s in states if s.state == DONE)
    if done and runs is None:
        left = len(pool) - len(done)
        again = ",".join(done) if len(done) <= 3 else done[0]
        if left:
            message = f"{len(done)} of {counted(len(pool), words.one)} are already done: {listed(list(done))}"
            fix = (
                f"{where} --failed for the {counted(left, words.one)} that did not complete; to "
                f"{words.again} done ones again, name them: --runs {again}"
            )
        else:
            message = f"all {counted(len(done), words.one)} are already done"
            fix = f"to {words.again} them again, name them: {where} --runs {again}"
        raise ExperimentDirError(message, file=folder.path, fix=fix)
    return Choice(chosen, retrained=done)


def _queued_text(state: RunStatus) -> str:
    """`run_000 (running as job 12_0)`, `run_000 (running here: ttwriter pid 4242)`."""
    if not _is_local(state):
        return f"{state.run.id} ({state.state} as job {state.job})"
    pid = state.job.removeprefix(f"{LOCAL_JOB}_") if state.job else "?"
    if state.state == UNKNOWN:
        return f"{state.run.id} (unknown: {state.detail})"
    return f"{state.run.id} ({state.state} here: ttwriter pid {pid})"
