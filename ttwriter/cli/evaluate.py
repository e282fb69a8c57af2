"""`ttwriter evaluate`: evaluate runs of an experiment folder, the command each eval job runs.

The work is in evaluate/run.py. On SLURM, eval.sbatch runs `ttwriter evaluate DIR --runs <run id>`
with its output going to the run's eval log, which this command then writes to directly; by hand
(or from `ttwriter run`) the harness output goes to logs/<run id>.eval.out and the terminal gets
one line per evaluation.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from ttwriter.child import signal_of
from ttwriter.cli._output import pasteable
from ttwriter.cli._parser import parse
from ttwriter.cli.exit_codes import EXIT_OK, EXIT_SOME_FAILED, exit_codes_text, interrupted, interrupted_by
from ttwriter.cli.options import EvaluateOptions
from ttwriter.errors import ExperimentDirError
from ttwriter.evaluate.run import JOB_VARIABLE, EvalOutcome, evaluate_target
from ttwriter.folder import markers
from ttwriter.folder.layout import EVAL_LOG_PATTERN, STATUS_DIR, eval_log_path
from ttwriter.folder.read import ExperimentFolder, read_experiment_folder
from ttwriter.formats import counted, listed
from ttwriter.slurm.choose import Choice, choose_runs
from ttwriter.slurm.status import DONE, RunStatus, eval_targets

DESCRIPTION = (
    "Evaluate runs of an experiment folder with the harness of its evaluation settings: each "
    f"checkpoint run_mapping.yaml lists, the harness output in {EVAL_LOG_PATTERN}, the scores in "
    f"<results>/scores.json, the eval marker in {STATUS_DIR}/. This is what each task of "
    "eval.sbatch runs; 'ttwriter run' and 'ttwriter submit' evaluate after training by themselves."
    f"\n\n{exit_codes_text('evaluate')}"
)


def print_eval_skipped(skipped: Sequence[RunStatus], out: TextIO) -> None:
    """The evaluations submit or run leave out because they are done or still queued."""
    if skipped:
        reasons = [f"{s.run.id} ({s.state}{f', job {s.job}' if s.state != DONE else ''})" for s in skipped]
        print(f"Leaving out {counted(len(reasons), 'evaluation')}: {listed(reasons)}", file=out)


def print_re_evaluated(targets: Sequence[str], out: TextIO) -> None:
    """The done evaluations `--runs` named: they are done again."""
    for target in targets:
        print(
            f"note: {target}'s evaluation had finished; it is evaluated again, and its scores are "
            "replaced once the new ones are all in",
            file=out,
        )


def scores_text(outcome: EvalOutcome) -> str:
    """`words/accuracy=0.1` (one checkpoint), or `epoch_0: ..., epoch_1: ...`."""
    parts = []
    for label, scores in outcome.scores.items():
        text = ", ".join(f"{name}={value:.4g}" for name, value in scores.items())
        parts.append(text if len(outcome.scores) == 1 else f"{label}: {text}")
    return "; ".join(parts)


def outcome_line(outcome: EvalOutcome) -> str:
    if outcome.ok:
        return f"evaluated in {outcome.seconds:.1f} s: {scores_text(outcome)}"
    return f"evaluation FAILED in {outcome.stage} after {outcome.seconds:.1f} s: {outcome.message}; see {outcome.log}"


def _is_log(stream: TextIO, log: Path) -> bool:
    """Whether `stream` writes to `log` already (eval.sbatch's output is the eval log)."""
    try:
        return log.exists() and os.path.samestat(os.fstat(stream.fileno()), os.stat(log))
    except (OSError, ValueError, AttributeError):  # a StringIO, a closed or odd stream
        return False


def interrupted_text(folder: ExperimentFolder, target: str, more: bool, interrupt: BaseException) -> str:
    """What Ctrl-C (or SIGTERM, SIGHUP: `interrupt`) during `target`'s evaluation left, as its eval
    marker says now."""
    marker = markers.read_marker(folder.path, target, markers.EVALUATION)
    if marker is not None and marker.state == DONE:
        left = f"its previous result is kept ({STATUS_DIR}/{target}.eval.done and its scores)"
    else:
        left = "it is marked failed"
    return f"{interrupted_by(interrupt)}: the evaluation of {target} was stopped; {left}" + (
        "; the rest did not run" if more else ""
    )


def choose_evaluations(
    folder: ExperimentFolder, ids: Sequence[str] | None, failed: bool, typed_dir: str
) -> Choice:
    """The evaluations `ttwriter evaluate` does, chosen as `submit` and `run` choose runs
    (slurm.choose). An eval job (TTWRITER_JOB set by eval.sbatch) does the one it is named:
    `ttwriter submit` chose it, its own marker says running, and squeue may not answer on a node."""
    if not folder.evaluates:
        raise ExperimentDirError(
            "this experiment has no evaluation",
            file=folder.path,
            fix="add an evaluation section to the experiment and regenerate the folder (docs/evaluation.md)",
        )
    if ids is not None and os.environ.get(JOB_VARIABLE):
        for target in ids:
            folder.eval_record(target)  # an unknown run, or a base model not evaluated, is an error
        return Choice(tuple(t for t in eval_targets(folder) if t.id in ids))
    return choose_runs(folder, ids, failed, command="evaluate", typed_dir=typed_dir, phase=markers.EVALUATION)


def evaluate_command(argv: Sequence[str], out: TextIO, err: TextIO) -> int:
    """`ttwriter evaluate DIR [--runs run_000,base_model | --failed]`."""
    args = parse(EvaluateOptions, argv, prog="ttwriter evaluate", description=DESCRIPTION, out=out)
    folder = read_experiment_folder(args.dir, "evaluate")
    choice = choose_evaluations(folder, args.run_ids(), args.failed, args.dir)
    print_eval_skipped(choice.skipped, out)
    print_re_evaluated(choice.retrained, out)
    targets = [t.id for t in choice.runs]
    if not targets:
        if args.failed:
            print(
                f"Nothing to evaluate: every evaluation is done or still queued (see: ttwriter status {pasteable(folder.path)})",
                file=out,
            )
        else:
            print("Nothing to evaluate: no run's training is done yet (ttwriter status).", file=out)
        return EXIT_OK
    failed = []
    for i, target in enumerate(targets, start=1):
        log = eval_log_path(folder.path, target)
        try:
            if _is_log(out, log):  # the eval job: this output is the log already
                outcome = evaluate_target(folder, target, out)
            else:
                print(f"  [{i}/{len(targets)}] {target}", file=out, flush=True)
                outcome = evaluate_target(folder, target)
                print(f"          {outcome_line(outcome)}", file=out, flush=True)
        except KeyboardInterrupt as interrupt:
            print(interrupted_text(folder, target, i < len(targets), interrupt), file=err)
            return interrupted(signal_of(interrupt))
        if not outcome.ok:
            failed.append(target)
    if len(targets) > 1 or failed:
        print(
            f"{len(targets) - len(failed)}/{counted(len(targets), 'evaluation')} done"
            + (f"; failed: {', '.join(failed)}" if failed else ""),
            file=out,
        )
    return EXIT_SOME_FAILED if failed else EXIT_OK
