"""`ttwriter run`, `ttwriter results` and `ttwriter tiny-assets`: their arguments and what they print.

The work is in train/ (local, results, plot, tiny_assets), which raises ttwriter's errors; the
dispatcher (cli.main) turns those into `error: ...` and exit code 2.
"""

from __future__ import annotations

import argparse
import shlex
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from ttwriter.cli._output import EXIT_INTERRUPTED, EXIT_OK, EXIT_SOME_FAILED, print_gate
from ttwriter.cli.evaluate import outcome_line
from ttwriter.errors import ExperimentDirError
from ttwriter.evaluate.run import evaluate_target
from ttwriter.folder.layout import (
    BASE_MODEL,
    EVAL_LOG_PATTERN,
    LOG_PATTERN,
    LOG_SUFFIX,
    LOGS_DIR,
    PLOT_FILE,
    RESULTS_FILE,
    STATUS_DIR,
    eval_log_path,
    log_path,
)
from ttwriter.folder.read import ExperimentFolder, FolderRun, parse_run_ids
from ttwriter.formats import counted, params_text
from ttwriter.train.local import LocalPlan, LocalRun, plan_local_runs, train_one
from ttwriter.train.plot import plot_loss_curves, plot_scores
from ttwriter.train.results import FAILED, collect_results, results_csv, results_table, run_result
from ttwriter.train.scores import NO_SCORES
from ttwriter.train.tiny_assets import (
    DATA_FILE,
    HF_CONFIG_FILE,
    MANIFEST_FILE,
    MODEL_DIR,
    MODEL_FILE,
    N_EXAMPLES,
    TINY_LLAMA2,
    TOKENIZER_CONFIG_FILE,
    TOKENIZER_FILE,
    build_tiny_assets,
)
from ttwriter.validation.gate import IGNORE_FLAG, IGNORE_HELP


def run_command(argv: Sequence[str], out: TextIO, err: TextIO) -> int:
    """`ttwriter run <experiment dir> [--runs IDS] [--failed] [--dry-run] [--ignore-validation] [--no-eval | --eval-only]`."""
    parser = argparse.ArgumentParser(
        prog="ttwriter run",
        description="Train the runs of an experiment folder on this machine, one after another, "
        f"with each run's command (slurm.command); logs go to {LOG_PATTERN} and completion "
        f"markers to {STATUS_DIR}/, as on SLURM. A run that failed validation is not trained (a folder "
        "written with --no-validate is validated first). An experiment with evaluation evaluates "
        f"each run after its training ({EVAL_LOG_PATTERN}), and the base model at the end if asked.",
    )
    parser.add_argument("experiment_dir", metavar="EXPERIMENT_DIR", help="folder written by ttwriter")
    parser.add_argument(
        "--runs",
        metavar="IDS",
        help=f"only these runs, comma-separated: run_000,run_002 ({BASE_MODEL}: its evaluation)",
    )
    parser.add_argument(
        "--failed",
        action="store_true",
        help="only runs not marked done (failed or never run), and evaluations not marked done",
    )
    parser.add_argument("--dry-run", action="store_true", help="print the commands, run nothing")
    parser.add_argument(IGNORE_FLAG, action="store_true", help=IGNORE_HELP)
    stages = parser.add_mutually_exclusive_group()
    stages.add_argument(
        "--no-eval", action="store_true", help="train only, even if the experiment has evaluation"
    )
    stages.add_argument(
        "--eval-only", action="store_true", help="evaluate only: the selected runs whose training is done"
    )
    args = parser.parse_args(list(argv))

    plan = plan_local_runs(
        args.experiment_dir,
        parse_run_ids(args.runs),
        args.failed,
        ignore_validation=args.ignore_validation,
        announce=lambda line: print(line, file=out, flush=True),
        evaluate=not args.no_eval,
        eval_only=args.eval_only,
    )
    folder = plan.folder
    print_gate(plan.validation, out)
    n = len(plan.runs)
    for run_id in plan.not_trained:
        print(
            f"note: {run_id} is not evaluated: its training is not done (ttwriter run without --eval-only)",
            file=out,
        )
    if n == 0 and not plan.evaluations:
        done = "evaluated" if args.eval_only else "marked done"
        print(f"Nothing to run: every selected run of {folder.experiment} is {done}.", file=out)
        return EXIT_OK
    if args.dry_run:
        return _dry_run(plan, out)
    evaluating = f", then evaluating each ({EVAL_LOG_PATTERN})" if plan.evaluations and n else ""
    if n:
        print(
            f"Training {counted(n)} of {folder.experiment} locally, one after another{evaluating} "
            f"(logs: {folder.path / LOGS_DIR}/<run id>{LOG_SUFFIX})",
            file=out,
        )
    else:
        print(
            f"Evaluating {counted(len(plan.evaluations), 'target')} of {folder.experiment} locally ({EVAL_LOG_PATTERN})",
            file=out,
        )
    if plan.slurm.setup:
        print("note: slurm.setup lines are not run locally; this shell's environment is used", file=out)
    outcomes = []
    evaluated: dict[str, bool] = {}
    try:
        for i, run in enumerate(plan.runs, start=1):
            print(f"  [{i}/{n}] {run.id}  {params_text(run.params)}".rstrip(), file=out, flush=True)
            try:
                outcome = train_one(plan, run)
            except KeyboardInterrupt:
                print(f"interrupted: {run.id} is marked failed; the rest did not run", file=err)
                return EXIT_INTERRUPTED
            outcomes.append(outcome)
            _print_training(plan, run, outcome, out)
            if outcome.ok and run.id in plan.evaluations:
                evaluated[run.id] = _evaluate(folder, run.id, out)
        rest = [t for t in plan.evaluations if t not in evaluated and t not in {r.id for r in plan.runs}]
        for target in rest:
            label = "[base]" if target == BASE_MODEL else "[eval]"
            print(f"  {label} {target}", file=out, flush=True)
            evaluated[target] = _evaluate(folder, target, out)
    except KeyboardInterrupt:
        print("interrupted: the evaluation is marked failed; the rest did not run", file=err)
        return EXIT_INTERRUPTED
    failed = [o.run_id for o in outcomes if not o.ok]
    eval_failed = [t for t, ok in evaluated.items() if not ok]
    summary = f"{n - len(failed)}/{n} runs done" + (f"; failed: {', '.join(failed)}" if failed else "")
    if plan.evaluations:
        summary = (summary + ", " if n else "") + (
            f"{len(evaluated) - len(eval_failed)}/{counted(len(plan.evaluations), 'evaluation')} done"
            + (f"; failed: {', '.join(eval_failed)}" if eval_failed else "")
        )
    print(summary, file=out)
    if failed or eval_failed:
        print(f"Rerun the failed ones: ttwriter run {shlex.quote(str(folder.path))} --failed", file=out)
    print(f"Results: ttwriter results {shlex.quote(str(folder.path))}", file=out)
    return EXIT_SOME_FAILED if failed or eval_failed else EXIT_OK


def _dry_run(plan: LocalPlan, out: TextIO) -> int:
    folder = plan.folder
    if plan.runs:
        print(
            f"Dry run: would train {counted(len(plan.runs))} of {folder.experiment} (cwd {folder.path}):",
            file=out,
        )
        for run in plan.runs:
            print(f"  {run.id}  {plan.command(run)}", file=out)
    if plan.evaluations:
        print(
            f"Then evaluate {counted(len(plan.evaluations), 'target')} ({', '.join(plan.evaluations)}) with:",
            file=out,
        )
        for target in plan.evaluations:
            for checkpoint in folder.eval_record(target).checkpoints:
                print(f"  {target} {checkpoint.label}  {shlex.join(checkpoint.command)}", file=out)
    return EXIT_OK


def _print_training(plan: LocalPlan, run: FolderRun, outcome: LocalRun, out: TextIO) -> None:
    if outcome.ok:
        result = run_result(plan.folder, run)
        loss = f", final loss {result.final_loss:.4f}" if result.final_loss is not None else ""
        print(f"          done in {outcome.seconds:.1f} s{loss}", file=out, flush=True)
        return
    print(
        f"          FAILED in {outcome.stage} with exit code {outcome.exit_code} after "
        f"{outcome.seconds:.1f} s; see {outcome.log}",
        file=out,
        flush=True,
    )
    for line in _tail(outcome.log, 5):
        print(f"            | {line}", file=out)


def _evaluate(folder: ExperimentFolder, target: str, out: TextIO) -> bool:
    outcome = evaluate_target(folder, target)
    print(f"          {outcome_line(outcome)}", file=out, flush=True)
    if not outcome.ok:
        for line in _tail(outcome.log, 5):
            print(f"            | {line}", file=out)
    return outcome.ok


def _tail(path: Path, n: int) -> list[str]:
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return []
    lines = [line for line in lines if line.strip() and not line.startswith("=== ttwriter")]
    return [line[:200] for line in lines[-n:]]


def results_command(argv: Sequence[str], out: TextIO, err: TextIO) -> int:
    """`ttwriter results <experiment dir> [--no-plot]`."""
    parser = argparse.ArgumentParser(
        prog="ttwriter results",
        description="Join every run's torchtune loss log (DiskLogger log_*.txt under its output_dir) "
        f"with its params: a table on the terminal, {RESULTS_FILE} and {PLOT_FILE} in the folder.",
    )
    parser.add_argument("experiment_dir", metavar="EXPERIMENT_DIR", help="folder written by ttwriter")
    parser.add_argument("--no-plot", action="store_true", help="do not write the loss curve PNG")
    args = parser.parse_args(list(argv))

    # Everything that can fail comes before results.csv is written.
    results = collect_results(args.experiment_dir)
    folder = results.folder
    csv_path = folder.path / RESULTS_FILE
    csv_text = results_csv(results)
    counts = ", ".join(f"{n} {s}" for s, n in results.counts().items())
    smoke = " (smoke runs: for checking the pipeline, not for results)" if folder.smoke else ""
    n = len(results.runs)
    evaluated = ""
    if results.evaluations:
        evaluated = "; evaluations: " + ", ".join(f"{n} {s}" for s, n in results.eval_counts().items())
    lines = [f"Results of {folder.experiment}: {counted(n)}, {counts}{evaluated}{smoke}"]
    lines += [f"  {line}" for line in results_table(results)]
    for run in results.runs:
        if run.n_logs > 1:
            lines.append(f"note: {run.run_id} has {run.n_logs} loss logs (rerun); the newest is used")
        if run.status == FAILED:
            lines.append(f"note: {run.run_id} failed; see {log_path(folder.path, run.run_id)}")
        if run.log and run.log.bad_byte is not None:
            lines.append(
                f"note: {run.log.path}: byte offset {run.log.bad_byte} is not UTF-8; "
                "lines that do not read as records are skipped"
            )
    for target, evaluation in results.evaluations.items():
        if evaluation.status in (FAILED, NO_SCORES):
            why = (
                "failed"
                if evaluation.status == FAILED
                else "is marked done but its scores.json cannot be read"
            )
            lines.append(f"note: the evaluation of {target} {why}; see {eval_log_path(folder.path, target)}")
    try:
        csv_path.write_text(csv_text, encoding="utf-8")
    except OSError as exc:
        raise ExperimentDirError(
            f"cannot write {RESULTS_FILE}: {exc.strerror or exc}",
            file=csv_path,
            fix="make the experiment folder writable, or copy it somewhere you can write",
        ) from None
    for line in lines:
        print(line, file=out)
    written = [csv_path.name]
    if not args.no_plot:
        plots = [plot_loss_curves] + ([plot_scores] if results.evaluations else [])
        for plot in plots:
            png, problem = plot(results)
            if png is not None:
                written.append(png.name)
            if problem:
                print(f"note: {problem}", file=out)
    names = ", ".join(written[:-1]) + " and " + written[-1] if len(written) > 1 else written[0]
    print(f"Wrote {names} to {folder.path}/", file=out)
    return EXIT_OK


def tiny_assets_command(argv: Sequence[str], out: TextIO, err: TextIO) -> int:
    """`ttwriter tiny-assets DIR`."""
    parser = argparse.ArgumentParser(
        prog="ttwriter tiny-assets",
        description="Build a tokenizer, initial weights of a tiny Llama 2 and a small alpaca-style "
        "data set for CPU training with the example family experiments/tiny/cpu/. Nothing is "
        "downloaded; the same files come out every time.",
    )
    parser.add_argument("dir", metavar="DIR", help="folder to write the assets into (created if missing)")
    args = parser.parse_args(list(argv))
    manifest = build_tiny_assets(args.dir)
    root = Path(args.dir).expanduser().resolve()
    model = manifest["model"]
    assert isinstance(model, dict)
    print(f"Wrote tiny training assets to {root}/", file=out)
    for name, what in (
        (
            f"{MODEL_DIR}/",
            f"a {TINY_LLAMA2['num_layers']}-layer Llama 2 with random initial weights "
            f"({model['parameters']:,} parameters), in Hugging Face's format",
        ),
        (f"  {MODEL_FILE}", "the weights"),
        (f"  {HF_CONFIG_FILE}", "the model's shape, as transformers reads it"),
        (f"  {TOKENIZER_FILE}", f"SentencePiece BPE tokenizer, {TINY_LLAMA2['vocab_size']} tokens"),
        (f"  {TOKENIZER_CONFIG_FILE}", "the tokenizer for transformers, with an alpaca chat template"),
        (DATA_FILE, f"{N_EXAMPLES} alpaca-style examples"),
        (MANIFEST_FILE, "what was written, with sha256"),
    ):
        print(f"  {name:<24} {what}", file=out)
    where = shlex.quote(str(root))
    print(
        f"Use them: ttwriter experiments/tiny/cpu/lora_rank_lr_02_01.py --controls.tiny-assets {where}\n"
        f"  or: export TTWRITER_TINY_ASSETS={where}   (see docs/training.md)",
        file=out,
    )
    return EXIT_OK
