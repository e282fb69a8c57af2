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
from ttwriter.cli._parser import parse
from ttwriter.cli.exit_codes import EXIT_OK, EXIT_SOME_FAILED, exit_codes_text, interrupted, interrupted_by
from ttwriter.cli.options import EvaluateOptions
from ttwriter.errors import ExperimentDirError
from ttwriter.evaluate.run import EvalOutcome, evaluate_target
from ttwriter.folder import markers
from ttwriter.folder.layout import BASE_MODEL, EVAL_LOG_PATTERN, STATUS_DIR, eval_log_path
from ttwriter.folder.read import ExperimentFolder, parse_run_ids, read_experiment_folder
from ttwriter.formats import counted, listed
from ttwriter.slurm.status import DONE, RunStatus

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


def eval_targets_of(folder: ExperimentFolder, ids: Sequence[str] | None) -> list[str]:
    """The runs named (base_model among them), or every run whose training is done and the base model."""
    if not folder.evaluates:
        raise ExperimentDirError(
            "this experiment has no evaluation",
            file=folder.path,
            fix="add an evaluation section to the experiment and regenerate the folder (docs/evaluation.md)",
        )
    if ids is None:
        done = [r.id for r in folder.runs if markers.is_done(folder.path, r.id)]
        return done + ([BASE_MODEL] if folder.base_eval is not None else [])
    wanted = [i for i in ids if i != BASE_MODEL]
    targets = [r.id for r in folder.select(wanted)] if wanted else []
    if BASE_MODEL in ids:
        folder.eval_record(BASE_MODEL)  # an error when the experiment does not evaluate it
        targets.append(BASE_MODEL)
    return targets


def evaluate_command(argv: Sequence[str], out: TextIO, err: TextIO) -> int:
    """`ttwriter evaluate DIR [--runs run_000,base_model]`."""
    args = parse(EvaluateOptions, argv, prog="ttwriter evaluate", description=DESCRIPTION, out=out)
    folder = read_experiment_folder(args.dir, "evaluate")
    ids = [i for value in args.runs for i in parse_run_ids(value) or []] if args.runs else None
    targets = eval_targets_of(folder, ids)
    if not targets:
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
            rest = "; the rest did not run" if i < len(targets) else ""
            print(f"{interrupted_by(interrupt)}: the evaluation of {target} is marked failed{rest}", file=err)
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
