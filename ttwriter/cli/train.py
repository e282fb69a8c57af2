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

from ttwriter.cli._output import pasteable, print_choice, print_gate
from ttwriter.cli._parser import parse
from ttwriter.cli.exit_codes import EXIT_INTERRUPTED, EXIT_OK, EXIT_SOME_FAILED, exit_codes_text
from ttwriter.cli.options import ResultsOptions, StartOptions, TinyAssetsOptions
from ttwriter.errors import ExperimentDirError
from ttwriter.folder.layout import (
    LOG_PATTERN,
    LOG_SUFFIX,
    LOGS_DIR,
    PLOT_FILE,
    RESULTS_FILE,
    STATUS_DIR,
    log_path,
)
from ttwriter.formats import counted, params_text
from ttwriter.train.local import plan_local_runs, train_one
from ttwriter.train.plot import plot_loss_curves
from ttwriter.train.results import FAILED, collect_results, results_csv, results_table, run_result
from ttwriter.train.tiny_assets import (
    DATA_FILE,
    MANIFEST_FILE,
    MODEL_DIR,
    MODEL_FILE,
    N_EXAMPLES,
    TINY_LLAMA2,
    TOKENIZER_FILE,
    build_tiny_assets,
)

RUN_DESCRIPTION = (
    "Train the runs of an experiment folder on this machine, one after another, with each run's "
    f"command (slurm.command); logs go to {LOG_PATTERN} and completion markers to {STATUS_DIR}/, "
    "as on SLURM. Runs are chosen as by 'ttwriter submit': all of them (refused once a run is "
    "done), the ones named with --runs, or with --failed those that did not complete. A run that "
    "failed validation is not trained (a folder written with --no-validate is validated first)."
    f"\n\n{exit_codes_text('run')}"
)
RESULTS_DESCRIPTION = (
    "Join every run's torchtune loss log (DiskLogger log_*.txt under its output_dir) with its "
    f"params: a table on the terminal, {RESULTS_FILE} and {PLOT_FILE} in the folder.\n\n"
    f"{exit_codes_text('results')}"
)
TINY_ASSETS_DESCRIPTION = (
    "Build a tokenizer, initial weights of a tiny Llama 2 and a small alpaca-style data set for "
    "CPU training with the example family experiments/tiny/cpu/. Nothing is downloaded; the same "
    f"files come out every time.\n\n{exit_codes_text('tiny-assets')}"
)


def run_command(argv: Sequence[str], out: TextIO, err: TextIO) -> int:
    """`ttwriter run DIR [--runs run_000,run_002 | --failed] [--dry-run] [--ignore-validation]`."""
    args = parse(StartOptions, argv, prog="ttwriter run", description=RUN_DESCRIPTION, out=out)
    plan = plan_local_runs(
        args.dir,
        args.run_ids("run"),
        args.failed,
        ignore_validation=args.ignore_validation,
        announce=lambda line: print(line, file=out, flush=True),
    )
    folder = plan.folder
    print_gate(plan.validation, out)
    print_choice(plan.skipped, plan.retrained, out)
    n = len(plan.runs)
    if n == 0:
        print(
            f"Nothing to train: every run is done or still queued (see: ttwriter status {pasteable(folder.path)})",
            file=out,
        )
        return EXIT_OK
    if args.dry_run:
        print(
            f"Dry run: would train {counted(n)} of {folder.experiment} (cwd {folder.path}):",
            file=out,
        )
        for run in plan.runs:
            print(f"  {run.id}  {plan.command(run)}", file=out)
        return EXIT_OK
    print(
        f"Training {counted(n)} of {folder.experiment} locally, one after another "
        f"(logs: {folder.path / LOGS_DIR}/<run id>{LOG_SUFFIX})",
        file=out,
    )
    if plan.slurm.setup:
        print("note: slurm.setup lines are not run locally; this shell's environment is used", file=out)
    outcomes = []
    for i, run in enumerate(plan.runs, start=1):
        params = params_text(run.params)
        print(f"  [{i}/{n}] {run.id}  {params}".rstrip(), file=out, flush=True)
        try:
            outcome = train_one(plan, run)
        except KeyboardInterrupt:
            print(f"interrupted: {run.id} is marked failed; the rest did not run", file=err)
            return EXIT_INTERRUPTED
        outcomes.append(outcome)
        if outcome.ok:
            result = run_result(folder, run)
            loss = f", final loss {result.final_loss:.4f}" if result.final_loss is not None else ""
            print(f"          done in {outcome.seconds:.1f} s{loss}", file=out, flush=True)
        else:
            print(
                f"          FAILED in {outcome.stage} with exit code {outcome.exit_code} after "
                f"{outcome.seconds:.1f} s; see {outcome.log}",
                file=out,
                flush=True,
            )
            for line in _tail(outcome.log, 5):
                print(f"            | {line}", file=out)
    failed = [o.run_id for o in outcomes if not o.ok]
    print(f"{n - len(failed)}/{n} runs done" + (f"; failed: {', '.join(failed)}" if failed else ""), file=out)
    if failed:
        print(f"Rerun the failed ones: ttwriter run {shlex.quote(str(folder.path))} --failed", file=out)
    print(f"Results: ttwriter results {shlex.quote(str(folder.path))}", file=out)
    return EXIT_SOME_FAILED if failed else EXIT_OK


def _tail(path: Path, n: int) -> list[str]:
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return []
    lines = [line for line in lines if line.strip() and not line.startswith("=== ttwriter")]
    return [line[:200] for line in lines[-n:]]


def results_command(argv: Sequence[str], out: TextIO, err: TextIO) -> int:
    """`ttwriter results DIR [--no-plot]`."""
    args = parse(ResultsOptions, argv, prog="ttwriter results", description=RESULTS_DESCRIPTION, out=out)

    # Everything that can fail comes before results.csv is written.
    results = collect_results(args.dir)
    folder = results.folder
    csv_path = folder.path / RESULTS_FILE
    csv_text = results_csv(results)
    counts = ", ".join(f"{n} {s}" for s, n in results.counts().items())
    smoke = " (smoke runs: for checking the pipeline, not for results)" if folder.smoke else ""
    n = len(results.runs)
    lines = [f"Results of {folder.experiment}: {counted(n)}, {counts}{smoke}"]
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
        png, problem = plot_loss_curves(results)
        if png is not None:
            written.append(png.name)
        if problem:
            print(f"note: {problem}", file=out)
    print(f"Wrote {' and '.join(written)} to {folder.path}/", file=out)
    return EXIT_OK


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
        (TOKENIZER_FILE, f"SentencePiece BPE, {TINY_LLAMA2['vocab_size']} tokens"),
        (
            f"{MODEL_DIR}/{MODEL_FILE}",
            f"random initial weights of a {TINY_LLAMA2['num_layers']}-layer Llama 2 "
            f"({model['parameters']:,} parameters)",
        ),
        (DATA_FILE, f"{N_EXAMPLES} alpaca-style examples"),
        (MANIFEST_FILE, "what was written, with sha256"),
    ):
        print(f"  {name:<18} {what}", file=out)
    where = shlex.quote(str(root))
    print(
        f"Use them: ttwriter experiments/tiny/cpu/lora_rank_lr_02_01.py --controls.tiny-assets {where}\n"
        f"  or: export TTWRITER_TINY_ASSETS={where}   (see docs/training.md)",
        file=out,
    )
    return EXIT_OK
