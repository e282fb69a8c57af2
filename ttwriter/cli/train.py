"""`ttwriter run`, `ttwriter results` and `ttwriter tiny-assets`: their arguments and what they print.

Their options are cli.options' dataclasses, parsed by cli._parser; `run` takes the same options
as `submit` and chooses runs the same way (slurm.choose). The work is in
train/ (local, results, plot, tiny_assets), which raises ttwriter's errors; the dispatcher
(cli.main) turns those into `error: ...` and exit code 2.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from ttwriter.child import signal_of
from ttwriter.cli._arguments import ArgumentError
from ttwriter.cli._output import pasteable, print_choice, print_gate
from ttwriter.cli._parser import parse
from ttwriter.cli.evaluate import interrupted_text, outcome_line, print_eval_skipped, print_re_evaluated
from ttwriter.cli.exit_codes import EXIT_OK, EXIT_SOME_FAILED, exit_codes_text, interrupted, interrupted_by
from ttwriter.cli.options import ResultsOptions, RunOptions, TinyAssetsOptions
from ttwriter.cli.results_across import print_written_csv, results_across, write_csv
from ttwriter.errors import ExperimentDirError
from ttwriter.evaluate.run import evaluate_target
from ttwriter.folder.layout import (
    BASE_MODEL,
    CONDITIONS_FILE,
    EVAL_LOG_PATTERN,
    EVAL_LOG_SUFFIX,
    LOG_PATTERN,
    LOG_SUFFIX,
    LOGS_DIR,
    PLOT_FILE,
    RESULTS_FILE,
    SCORES_PLOT_FILE,
    STATUS_DIR,
    eval_log_path,
    log_path,
)
from ttwriter.folder.read import ExperimentFolder, FolderRun
from ttwriter.formats import counted, listed, params_text
from ttwriter.train.collect import choose, folder_asked, holds_experiments, is_experiment_folder
from ttwriter.train.conditions import by_condition, conditions_csv, conditions_table
from ttwriter.train.local import LocalPlan, LocalRun, plan_local_runs, train_one
from ttwriter.train.plot import plot_loss_curves, plot_scores
from ttwriter.train.results import (
    FAILED,
    ExperimentResults,
    collect_results,
    results_csv,
    results_table,
    run_result,
)
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

RUN_DESCRIPTION = (
    "Train the runs of an experiment folder on this machine, one after another, with each run's "
    f"command (slurm.command); logs go to {LOG_PATTERN} and completion markers to {STATUS_DIR}/, "
    "as on SLURM. Runs are chosen as by 'ttwriter submit': all of them (refused once a run is "
    "done), the ones named with --runs, or with --failed those that did not complete. A run that "
    "failed validation is not trained (a folder written with --no-validate is validated first). "
    f"An experiment with evaluation evaluates each run after its training ({EVAL_LOG_PATTERN}), "
    "and the base model at the end when it asks for that; --failed also evaluates a trained run "
    f"whose evaluation did not complete.\n\n{exit_codes_text('run')}"
)
RESULTS_DESCRIPTION = (
    "Join every run's torchtune loss log (DiskLogger log_*.txt under its output_dir) with its "
    f"params: a table on the terminal, {RESULTS_FILE} and {PLOT_FILE} in the folder. With "
    "evaluation, each run's eval status and scores too (one column per metric, and a base_model "
    f"row), and {SCORES_PLOT_FILE}: the main metric against the swept variables. Several folders "
    "(or a folder holding many) are joined in one table: experiment, file and parent, run id, the "
    "union of their params, losses and eval metrics, each experiment's question and hypothesis "
    "above it. --where and --sort choose the rows shown, of one folder as of several (one folder's "
    f"{RESULTS_FILE} still holds every run); a --where no run matches says which values the column "
    "has. --csv FILE writes the rows shown with a comparison plot beside it.\n\n"
    f"{exit_codes_text('results')}"
)
TINY_ASSETS_DESCRIPTION = (
    "Build a tiny Llama 2 (random initial weights and its tokenizer, in Hugging Face's format) and a "
    "small alpaca-style data set for CPU training with the example family experiments/tiny/cpu/. Nothing is downloaded; the same "
    f"files come out every time.\n\n{exit_codes_text('tiny-assets')}"
)


def run_command(argv: Sequence[str], out: TextIO, err: TextIO) -> int:
    """`ttwriter run DIR [--runs IDS | --failed] [--dry-run] [--ignore-validation] [--no-eval | --eval-only]`."""
    args = parse(RunOptions, argv, prog="ttwriter run", description=RUN_DESCRIPTION, out=out)
    if args.no_eval and args.eval_only:
        raise ArgumentError(
            "--no-eval and --eval-only leave nothing to do together",
            fix=f"use one: ttwriter run {shlex.quote(args.dir)} --eval-only (or --no-eval)",
        )
    plan = plan_local_runs(
        args.dir,
        args.run_ids("run"),
        args.failed,
        ignore_validation=args.ignore_validation,
        announce=lambda line: print(line, file=out, flush=True),
        evaluate=not args.no_eval,
        eval_only=args.eval_only,
    )
    folder = plan.folder
    print_gate(plan.validation, out)
    print_choice(plan.skipped, plan.retrained, out)
    print_eval_skipped(plan.eval_skipped, out)
    print_re_evaluated(plan.re_evaluated, out)
    for run_id in plan.not_trained:
        print(f"note: {run_id} is not evaluated: its training is not done", file=out)
    n = len(plan.runs)
    if n == 0 and not plan.evaluations:
        what = "evaluation" if args.eval_only else "run"
        print(
            f"Nothing to {'evaluate' if args.eval_only else 'train'}: every {what} is done or still queued "
            f"(see: ttwriter status {pasteable(folder.path)})",
            file=out,
        )
        return EXIT_OK
    if args.dry_run:
        _dry_run(plan, out)
        return EXIT_OK
    if n:
        then, logs = (
            (", each evaluated after its training", f", <run id>{EVAL_LOG_SUFFIX}")
            if plan.evaluations
            else ("", "")
        )
        print(
            f"Training {counted(n)} of {folder.experiment} locally, one after another{then} "
            f"(logs: {folder.path / LOGS_DIR}/<run id>{LOG_SUFFIX}{logs})",
            file=out,
        )
    else:
        print(
            f"Evaluating {listed(list(plan.evaluations))} of {folder.experiment} locally "
            f"(logs: {folder.path / LOGS_DIR}/<run id>{EVAL_LOG_SUFFIX})",
            file=out,
        )
    if plan.slurm.setup:
        print("note: slurm.setup lines are not run locally; this shell's environment is used", file=out)
    outcomes: list[LocalRun] = []
    evaluated: dict[str, bool] = {}
    trained = {r.id for r in plan.runs}
    for i, run in enumerate(plan.runs, start=1):
        params = params_text(run.params)
        print(f"  [{i}/{n}] {run.id}  {params}".rstrip(), file=out, flush=True)
        try:
            outcome = train_one(plan, run)
        except KeyboardInterrupt as interrupt:
            print(f"{interrupted_by(interrupt)}: {run.id} is marked failed; the rest did not run", file=err)
            return interrupted(signal_of(interrupt))
        outcomes.append(outcome)
        _print_training(plan, run, outcome, out)
        if outcome.ok and run.id in plan.evaluations:
            stopped = _evaluate(folder, run.id, evaluated, out, err)
            if stopped is not None:
                return stopped
    for target in (t for t in plan.evaluations if t not in trained):
        print(f"  [{'base' if target == BASE_MODEL else 'eval'}] {target}", file=out, flush=True)
        stopped = _evaluate(folder, target, evaluated, out, err)
        if stopped is not None:
            return stopped
    failed = [o.run_id for o in outcomes if not o.ok]
    eval_failed = [t for t, ok in evaluated.items() if not ok]
    parts = (
        [f"{n - len(failed)}/{n} runs done" + (f"; failed: {', '.join(failed)}" if failed else "")]
        if n
        else []
    )
    if plan.evaluations:
        parts.append(
            f"{len(evaluated) - len(eval_failed)}/{counted(len(plan.evaluations), 'evaluation')} done"
            + (f"; failed: {', '.join(eval_failed)}" if eval_failed else "")
        )
    print(", ".join(parts), file=out)
    if failed or eval_failed:
        print(f"Rerun the failed ones: ttwriter run {shlex.quote(str(folder.path))} --failed", file=out)
    print(f"Results: ttwriter results {shlex.quote(str(folder.path))}", file=out)
    return EXIT_SOME_FAILED if failed or eval_failed else EXIT_OK


def _dry_run(plan: LocalPlan, out: TextIO) -> None:
    folder = plan.folder
    if plan.runs:
        print(
            f"Dry run: would train {counted(len(plan.runs))} of {folder.experiment} (cwd {folder.path}):",
            file=out,
        )
        for run in plan.runs:
            print(f"  {run.id}  {plan.command(run)}", file=out)
    if plan.evaluations:
        lead = "and evaluate" if plan.runs else f"Dry run: would evaluate, for {folder.experiment},"
        print(f"{lead} {listed(list(plan.evaluations))} with:", file=out)
        for target in plan.evaluations:
            for checkpoint in folder.eval_record(target).checkpoints:
                print(f"  {target} {checkpoint.label}  {shlex.join(checkpoint.command)}", file=out)


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


def _evaluate(
    folder: ExperimentFolder, target: str, evaluated: dict[str, bool], out: TextIO, err: TextIO
) -> int | None:
    """Evaluate one target, printing how it went; the exit code when an interrupt stopped it."""
    try:
        outcome = evaluate_target(folder, target)
    except KeyboardInterrupt as interrupt:
        print(interrupted_text(folder, target, True, interrupt), file=err)
        return interrupted(signal_of(interrupt))
    evaluated[target] = outcome.ok
    print(f"          {outcome_line(outcome)}", file=out, flush=True)
    if not outcome.ok:
        for line in _tail(outcome.log, 5):
            print(f"            | {line}", file=out)
    return None


def _tail(path: Path, n: int) -> list[str]:
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return []
    lines = [line for line in lines if line.strip() and not line.startswith("=== ttwriter")]
    return [line[:200] for line in lines[-n:]]


def results_command(argv: Sequence[str], out: TextIO, err: TextIO) -> int:
    """`ttwriter results DIR [--where KEY=VALUE ...] [--sort KEY] [--csv FILE] [--no-plot]`."""
    args = parse(ResultsOptions, argv, prog="ttwriter results", description=RESULTS_DESCRIPTION, out=out)
    one = args.dirs[0]
    if args.joined or holds_experiments(one) or (args.chooses and not is_experiment_folder(one)):
        return results_across(args, out, err)  # several experiments in one table (train.collect)

    # Everything that can fail comes before results.csv is written.
    results = collect_results(args.dirs[0])
    folder = results.folder
    if folder.moved is not None:
        print(folder.moved.warning(), file=err)
    conditions = args.conditions()
    chosen = args.chooses
    shown, joined = choose(results, conditions, args.sort) if chosen else (results, None)
    csv_path = folder.path / RESULTS_FILE
    csv_text = results_csv(results)  # every run, in sweep order: the folder's record
    counts = ", ".join(f"{n} {s}" for s, n in results.counts().items())
    smoke = " (smoke runs: for checking the pipeline, not for results)" if folder.smoke else ""
    n = len(results.runs)
    evaluated = ""
    if results.evaluations:
        evaluated = "; evaluations: " + ", ".join(f"{n} {s}" for s, n in results.eval_counts().items())
    lines = [f"Results of {folder.experiment}: {counted(n)}, {counts}{evaluated}{smoke}"]
    lines += folder_asked(folder)
    if conditions or args.sort:
        lines.append(_shown_line(len(shown.runs), n, conditions, args.sort))
    lines += [f"  {line}" for line in results_table(shown)]
    groups = by_condition(results)
    shown_groups = by_condition(shown) if chosen else groups
    if shown_groups:
        lines.append(
            f"By condition ({counted(len(shown_groups), 'condition')}; mean ± std over replicates, n with a value):"
        )
        lines += [f"  {line}" for line in conditions_table(shown, shown_groups)]
    if joined is not None and joined.unmatched:
        lines.append(f"note: {joined.unmatched}")
    lines += _notes(shown)
    try:
        csv_path.write_text(csv_text, encoding="utf-8")
        if groups:
            (folder.path / CONDITIONS_FILE).write_text(conditions_csv(results, groups), encoding="utf-8")
    except OSError as exc:
        raise ExperimentDirError(
            f"cannot write {RESULTS_FILE}: {exc.strerror or exc}",
            file=csv_path,
            fix="make the experiment folder writable, or copy it somewhere you can write",
        ) from None
    joined_csv = write_csv(joined, args.csv) if joined is not None else None
    for line in lines:
        print(line, file=out)
    written = [csv_path.name, *([CONDITIONS_FILE] if groups else [])]
    if not args.no_plot:
        plots = [plot_loss_curves] + ([plot_scores] if results.evaluations else [])
        for plot in plots:
            png, problem = plot(results)
            if png is not None:
                written.append(png.name)
            if problem:
                print(f"note: {problem}", file=out)
    names = ", ".join(written[:-1]) + " and " + written[-1] if len(written) > 1 else written[0]
    every = " (every run, in sweep order)" if conditions or args.sort else ""
    print(f"Wrote {names} to {folder.path}/{every}", file=out)
    if joined is not None and joined_csv is not None:
        print_written_csv(joined, joined_csv, args.no_plot, out)
    return EXIT_OK


def _shown_line(shown: int, n: int, conditions: list[tuple[str, str]], sort: str | None) -> str:
    """`Showing 2 of 4 runs with lora_rank=16, sorted by final_loss (smallest first):`."""
    parts = []
    if conditions:
        parts.append(
            f"Showing {shown} of {counted(n)} with " + " and ".join(f"{k}={v}" for k, v in conditions)
        )
    if sort:
        parts.append(f"{'sorted' if parts else 'Sorted'} by {sort} (smallest first)")
    return ", ".join(parts) + ":"


def _notes(results: ExperimentResults) -> list[str]:
    """What a reader should know about the runs shown: reruns, failures, damaged logs and evaluations."""
    folder = results.folder
    lines = []
    for run in results.runs:
        if run.earlier is not None:
            lines.append(
                f"note: {run.run_id}'s latest attempt ({run.status}) has no loss log yet; {run.earlier} "
                "is an earlier attempt's, so its losses are not shown or counted"
            )
        elif run.n_logs > 1:
            lines.append(f"note: {run.run_id} has {run.n_logs} loss logs (rerun); the newest is used")
        if run.status == FAILED:
            lines.append(f"note: {run.run_id} failed; see {log_path(folder.path, run.run_id)}")
        if run.log and run.log.bad_byte is not None:
            lines.append(
                f"note: {run.log.path}: byte offset {run.log.bad_byte} is not UTF-8; "
                "lines that do not read as records are skipped"
            )
    shown = {run.run_id for run in results.runs} | {BASE_MODEL}
    for target, evaluation in results.evaluations.items():
        if target in shown and evaluation.status in (FAILED, NO_SCORES):
            why = (
                "failed"
                if evaluation.status == FAILED
                else "is marked done but its scores.json cannot be read"
            )
            lines.append(f"note: the evaluation of {target} {why}; see {eval_log_path(folder.path, target)}")
    return lines


def tiny_assets_command(argv: Sequence[str], out: TextIO, err: TextIO) -> int:
    """`ttwriter tiny-assets DIR`."""
    args = parse(
        TinyAssetsOptions, argv, prog="ttwriter tiny-assets", description=TINY_ASSETS_DESCRIPTION, out=out
    )
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
