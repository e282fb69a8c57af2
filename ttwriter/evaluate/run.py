"""Running one run's evaluation (or the base model's): what `ttwriter evaluate` and `ttwriter run`
do, on a SLURM node or here.

For each checkpoint run_mapping.yaml lists: check it was saved, link its files into
`<results>/model/` without torchtune's `adapter_*` files, run the recorded harness command with
its output appended to `logs/<run id>.eval.out`, read the scores back, and once every checkpoint
has its scores write them to `<results>/scores.json`. The eval marker
(`status/<run id>.eval.<state>`) says `running`, then `done` only when every checkpoint has its
scores, else `failed` with the exit code and the stage it stopped in ('checkpoint', 'harness',
'scores').

Evaluating a done evaluation again never loses its result: the previous scores.json files are
replaced only when all the new scores are in, and when Ctrl-C stops the new attempt before that,
the previous `done` marker is put back unchanged. (A new attempt that fails is marked failed; the
previous scores.json stays on disk until an evaluation completes.)

Why the links: with peft installed (lm-eval needs it), transformers loads a folder holding
`adapter_config.json` as a PEFT adapter, and torchtune writes that file without
`base_model_name_or_path`, so both harnesses fail on an untouched epoch folder. The checkpoint
itself is never changed, moved or deleted: only links in `<results>/model/` are ever removed,
and a folder there that holds anything but links is refused.
"""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import socket
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from ttwriter import child
from ttwriter.errors import ExperimentDirError
from ttwriter.evaluate.harness import PYTHON, ScoresError, read_scores
from ttwriter.evaluate.plan import EvalCheckpoint, EvalRecord
from ttwriter.experiment.evaluation import Evaluation
from ttwriter.folder import markers
from ttwriter.folder.layout import BASE_MODEL, LOGS_DIR, SCORES_FILE, STATUS_DIR, eval_log_path
from ttwriter.folder.read import ExperimentFolder
from ttwriter.formats import utc_now

ADAPTER_PREFIX = "adapter_"
"""torchtune's adapter files in a saved epoch: adapter_config.json, adapter_model.pt/.safetensors."""
JOB_VARIABLE = "TTWRITER_JOB"
"""Set by eval.sbatch: the `<array job>_<task>` its markers name."""
SCORES_FORMAT = "ttwriter.scores/1"


@dataclasses.dataclass(frozen=True)
class EvalOutcome:
    """How one run's (or the base model's) evaluation ended."""

    target: str
    exit_code: int
    stage: str
    """'' when it succeeded, else 'checkpoint', 'harness' or 'scores'."""
    message: str
    seconds: float
    log: Path
    scores: dict[str, dict[str, float]]
    """checkpoint label (`epoch_0`, `base_model`) -> `{"<task>/<metric>": value}`."""

    @property
    def ok(self) -> bool:
        return self.exit_code == 0


def stage_model(checkpoint: Path, staged: Path) -> None:
    """`staged` becomes a folder of links to every file of `checkpoint` except the adapter files.
    Links left from an earlier attempt are replaced; nothing else is ever removed."""
    if staged.is_symlink() or (staged.exists() and not staged.is_dir()):
        raise ExperimentDirError(
            "is not the folder of links ttwriter makes for the harness",
            file=staged,
            fix="move it away; ttwriter never deletes what it did not make",
        )
    if staged.is_dir():
        entries = list(staged.iterdir())
        kept = [e.name for e in entries if not e.is_symlink()]
        if kept:
            raise ExperimentDirError(
                f"holds files that are not links ({', '.join(sorted(kept)[:3])}), so it is not the folder "
                "of links ttwriter makes for the harness",
                file=staged,
                fix="move them away; ttwriter never deletes what it did not make",
            )
        for entry in entries:
            entry.unlink()  # a link: its target, the checkpoint's file, stays
    staged.mkdir(parents=True, exist_ok=True)
    for entry in sorted(checkpoint.iterdir()):
        if not entry.name.startswith(ADAPTER_PREFIX):
            (staged / entry.name).symlink_to(entry.resolve())


def _argv(command: tuple[str, ...]) -> list[str]:
    """The recorded command with `python` as the interpreter running ttwriter."""
    return [sys.executable if command[0] == PYTHON else command[0], *command[1:]]


def write_scores(checkpoint: EvalCheckpoint, evaluation: Evaluation, scores: dict[str, float]) -> Path:
    path = Path(checkpoint.results) / SCORES_FILE
    data = {
        "format": SCORES_FORMAT,
        "checkpoint": checkpoint.checkpoint,
        "epoch": checkpoint.epoch,
        "harness": evaluation.harness,
        "tasks": list(evaluation.tasks),
        "scores": scores,
        "finished_utc": utc_now(),
    }
    tmp = path.with_name(f".{SCORES_FILE}.{os.getpid()}")
    tmp.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    tmp.replace(path)
    return path


def _evaluate(
    checkpoint: EvalCheckpoint, evaluation: Evaluation, stream: TextIO, say: Callable[[str], None]
) -> tuple[int, str, str, dict[str, float]]:
    """(exit code, stage, message, scores) of one checkpoint."""
    folder = Path(checkpoint.checkpoint)
    if not folder.is_dir():
        why = (
            "the base model's folder does not exist"
            if checkpoint.epoch is None
            else f"training has not saved {folder.name} (is the run done? ttwriter status)"
        )
        return 2, "checkpoint", f"no checkpoint at {folder}: {why}", {}
    Path(checkpoint.results).mkdir(parents=True, exist_ok=True)
    stage_model(folder, Path(checkpoint.model_dir))
    argv = _argv(checkpoint.command)
    say(f"--- {checkpoint.label}: {folder}")
    say(f"command:    {' '.join(checkpoint.command)}")
    stream.flush()
    process = child.start(argv, cwd=checkpoint.cwd, stdout=stream)
    try:
        code = child.exit_code(process.wait())
    except KeyboardInterrupt as interrupt:
        child.stop(process, child.signal_of(interrupt))
        raise
    say("")
    if code != 0:
        return code, "harness", f"{evaluation.harness} exited with code {code}", {}
    try:
        scores = read_scores(evaluation, Path(checkpoint.results))
    except ScoresError as exc:
        return 1, "scores", str(exc), {}
    say("scores:     " + ", ".join(f"{k}={v:.4g}" for k, v in scores.items()))
    return 0, "", "", scores


def target_task(folder: ExperimentFolder, target: str) -> int:
    """The eval array task of a run (its own task), or of the base model (the one after the runs)."""
    if target == BASE_MODEL:
        return len(folder.runs)
    return next(r.task for r in folder.runs if r.id == target)


def evaluate_target(folder: ExperimentFolder, target: str, stream: TextIO | None = None) -> EvalOutcome:
    """Evaluate a run's checkpoints (or the base model), leaving scores, log and eval marker.

    `stream` receives the log (the job's own output on SLURM); default: appended to
    logs/<target>.eval.out.
    """
    record: EvalRecord = folder.eval_record(target)
    evaluation = folder.evaluation
    if evaluation is None:
        raise ExperimentDirError(
            "the folder's experiment.json has no evaluation settings",
            file=folder.path,
            fix="regenerate the folder from its experiment file",
        )
    (folder.path / STATUS_DIR).mkdir(exist_ok=True)
    (folder.path / LOGS_DIR).mkdir(exist_ok=True)
    log = eval_log_path(folder.path, target)
    job = os.environ.get(JOB_VARIABLE) or f"{markers.LOCAL_JOB}_{target_task(folder, target)}"
    start = time.monotonic()
    started = utc_now()
    previous = markers.save_marker(folder.path, target, markers.EVALUATION)
    kept = previous if previous is not None and previous.state == markers.DONE else None
    markers.write_marker(
        folder.path, target, markers.RUNNING, job=job, phase=markers.EVALUATION, started=started
    )
    own = stream is None
    out = stream if stream is not None else open(log, "a", encoding="utf-8")  # noqa: SIM115
    code, stage, message = 1, "harness", "stopped by an unexpected error"
    finished = interrupted = replacing = False
    try:

        def say(text: str) -> None:
            out.write(text + "\n")
            out.flush()

        say(
            f"=== ttwriter: evaluating {target} ({evaluation.harness}) on {socket.gethostname()} at {utc_now()} ==="
        )
        all_scores: dict[str, dict[str, float]] = {}
        try:
            new: list[tuple[EvalCheckpoint, dict[str, float]]] = []
            for checkpoint in record.checkpoints:
                code, stage, message, scores = _evaluate(checkpoint, evaluation, out, say)
                if code != 0:
                    break
                new.append((checkpoint, scores))
            else:
                # Every score is in: only now are the previous scores.json replaced (each atomically).
                replacing = True
                for checkpoint, scores in new:
                    write_scores(checkpoint, evaluation, scores)
                    all_scores[checkpoint.label] = scores
                finished = True
                code, stage, message = 0, "", ""
        except KeyboardInterrupt as interrupt:
            signum = child.signal_of(interrupt)
            by = signal.Signals(signum).name
            code, stage, message = 128 + signum, "harness", f"interrupted by {by}"
            interrupted = True
            raise
        except ExperimentDirError as exc:
            code, stage, message = 2, "checkpoint", exc.render()
        finally:
            if interrupted and kept is not None and not replacing:
                markers.restore_marker(folder.path, kept)
                say(f"ttwriter: {message}; {target}'s previous evaluation (done) and its scores are kept")
                say(
                    f"=== ttwriter: evaluation of {target} interrupted at {utc_now()}; the previous result stands ==="
                )
            elif finished:
                markers.write_marker(
                    folder.path,
                    target,
                    markers.DONE,
                    job=job,
                    exit_code=0,
                    phase=markers.EVALUATION,
                    started=started,
                )
                say(f"=== ttwriter: evaluation of {target} done at {utc_now()} ===")
            else:
                markers.write_marker(
                    folder.path,
                    target,
                    markers.FAILED,
                    job=job,
                    exit_code=code,
                    stage=stage,
                    phase=markers.EVALUATION,
                    started=started,
                )
                say(f"ttwriter: {message}")
                say(
                    f"=== ttwriter: evaluation of {target} FAILED in {stage} with exit code {code} at {utc_now()} ==="
                )
    finally:
        if own:
            out.close()
    return EvalOutcome(target, code, stage, message, time.monotonic() - start, log, all_scores)
