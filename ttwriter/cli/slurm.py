"""`ttwriter submit` and `ttwriter status`: their arguments and what they print.

Their options are cli.options' dataclasses, parsed by cli._parser. The work is in slurm/ (submit, status), which raises `SlurmError`; the dispatcher
(cli.main) turns those into `error: ...` and exit code 2.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from typing import TextIO

from ttwriter.cli._output import pasteable, print_choice, print_gate
from ttwriter.cli._parser import parse
from ttwriter.cli.evaluate import print_eval_skipped
from ttwriter.cli.exit_codes import EXIT_OK, EXIT_SOME_FAILED, exit_codes_text
from ttwriter.cli.options import FolderOptions, SubmitOptions
from ttwriter.folder.layout import EVAL_SCRIPT_FILE, SCRIPT_FILE, STATUS_DIR, SUBMISSIONS_FILE, eval_log_path
from ttwriter.folder.markers import EVALUATION
from ttwriter.folder.read import read_job_folder
from ttwriter.folder.runs import FolderRun
from ttwriter.formats import counted, listed, params_text
from ttwriter.slurm.chain import EvalSubmission
from ttwriter.slurm.status import FAILED, NOT_SUBMITTED, RunStatus, SweepStatus, sweep_status
from ttwriter.slurm.submit import submit

SUBMIT_DESCRIPTION = (
    f"Submit an experiment folder's runs to SLURM as one job array ({SCRIPT_FILE}): all of them, "
    "the ones named with --runs, or with --failed those that did not complete. A plain submit is "
    "refused once a run is done; a run that is still queued is never submitted twice, and a run "
    "that failed validation is not submitted (a folder written with --no-validate is validated "
    f"first). An experiment with evaluation gets a second array ({EVAL_SCRIPT_FILE}) whose task i "
    "starts when training task i exits 0; --failed also submits the evaluations that did not "
    f"complete (alone when the run is trained).\n\n{exit_codes_text('submit')}"
)
STATUS_DESCRIPTION = (
    "Print the state of every run of an experiment folder: not submitted, pending, running, done "
    f"or failed (from its {STATUS_DIR}/ markers, squeue, and sacct or scontrol), for training and, "
    f"with evaluation, for each run's evaluation.\n\n{exit_codes_text('status')}"
)


def submit_command(argv: list[str], out: TextIO, err: TextIO) -> int:
    """`ttwriter submit DIR [--runs IDS | --failed] [--dry-run] [--ignore-validation] [--no-eval]`."""
    args = parse(SubmitOptions, argv, prog="ttwriter submit", description=SUBMIT_DESCRIPTION, out=out)
    result = submit(
        args.dir,
        args.run_ids("submit"),
        failed=args.failed,
        dry_run=args.dry_run,
        ignore_validation=args.ignore_validation,
        announce=lambda line: print(line, file=out, flush=True),
        evaluate=not args.no_eval,
    )
    folder = result.folder
    where = pasteable(folder.path)
    print_gate(result.validation, out, pasteable)
    print_choice(result.skipped, result.retrained, out)
    print_eval_skipped(result.eval_skipped, out)
    if not result.runs and not result.evaluations:
        print(
            f"Nothing to submit: every run is done or still queued (see: ttwriter status {where})", file=out
        )
        return EXIT_OK
    n = len(result.runs)
    runs = f"{counted(n)} of {folder.experiment}"
    if result.dry_run:
        if result.runs:
            print(f"Dry run: would submit {runs} ({listed([r.id for r in result.runs])}) with:", file=out)
            print(f"  {shlex.join(result.command)}", file=out)
        for evaluation in result.evaluations:
            print(f"{_evaluations(evaluation, result.runs)}, with:", file=out)
            print(f"  {shlex.join(evaluation.command)}", file=out)
        print("Nothing was submitted.", file=out)
        if not result.sbatch_found and (result.runs or result.evaluations):
            print(
                "note: sbatch is not on PATH here, so the real submit would be refused: run it on a "
                "login node of your SLURM cluster",
                file=out,
            )
        return EXIT_OK
    if result.runs:
        print(f"Submitted {runs} as SLURM job {result.job_id} (--array={result.array})", file=out)
        print(f"  runs: {listed([r.id for r in result.runs])}", file=out)
    for evaluation in result.evaluations:
        print(
            f"{_evaluations(evaluation, result.runs)}: SLURM job {evaluation.job_id} (--array={evaluation.array})",
            file=out,
        )
    if result.tune_path:
        print(f"  tune is not on PATH here: the jobs get {result.tune_path} first on theirs", file=out)
    print(f"  recorded in {pasteable(folder.path / SUBMISSIONS_FILE)}", file=out)
    jobs = [j for j in (result.job_id, *(e.job_id for e in result.evaluations)) if j is not None]
    print("Follow the jobs:", file=out)
    print(f"  ttwriter status {where}", file=out)
    print(f"  squeue -j {','.join(map(str, jobs))}", file=out)
    first = result.runs[0].id if result.runs else result.evaluations[0].targets[0]
    log = folder.log(first) if result.runs else eval_log_path(folder.path, first)
    print(f"  tail -f {pasteable(log)}", file=out)
    return EXIT_OK


def _evaluations(evaluation: EvalSubmission, trained: Sequence[FolderRun]) -> str:
    """`Evaluation of run_000, run_001 after training job 12` and the like."""
    targets = listed(list(evaluation.targets))
    if not evaluation.waits:
        return f"Evaluation of {targets} (nothing to wait for)"
    job = evaluation.after if evaluation.after is not None else "<the training job above>"
    wait = "each after its own training task" if len(evaluation.targets) > 1 else "after its training task"
    return f"Evaluation of {targets}, {wait} in job {job}"


def print_status(status: SweepStatus, out: TextIO, evaluation: SweepStatus | None = None) -> None:
    """The state of every run (and, with `evaluation`, of its evaluation), one line each."""
    folder = status.folder
    where = pasteable(folder.path)
    n = len(folder.runs)
    print(f"{folder.experiment}: {counted(n)} in {where}", file=out)
    if evaluation is not None:
        _print_stages(status, evaluation, out)
    else:
        width = max(len(r.id) for r in folder.runs)
        for s in status.runs:
            line = f"  {s.run.id:<{width}}  {s.state:<13}  {s.job or '-':<12}  {params_text(s.run.params)}"
            notes = [s.detail] if s.detail else []
            if s.state == FAILED and folder.log(s.run.id).exists():
                notes.append(f"log: {pasteable(folder.log(s.run.id))}")
            print(line.rstrip() + (f"  ({'; '.join(notes)})" if notes else ""), file=out)
        print(", ".join(f"{n} {state}" for state, n in status.counts().items()), file=out)
    problem = status.scheduler_problem or (evaluation.scheduler_problem if evaluation else None)
    if problem:
        print(f"note: {problem}", file=out)
    stages = [status, *([evaluation] if evaluation else [])]
    if all(len(s.with_state(NOT_SUBMITTED)) == len(s.runs) for s in stages):
        print(f"Submit them: ttwriter submit {where}", file=out)
    elif any(s.with_state(FAILED, NOT_SUBMITTED) for s in stages):
        print(f"Submit the runs that did not complete: ttwriter submit {where} --failed", file=out)


def _eval_detail(state: RunStatus, training: RunStatus | None) -> str:
    """Why an evaluation failed; one SLURM removed because its training failed says so."""
    if (
        state.state == FAILED
        and training is not None
        and training.state == FAILED
        and "ended before" in state.detail
    ):
        return "not run: its training did not complete"
    return state.detail


def _print_stages(status: SweepStatus, evaluation: SweepStatus, out: TextIO) -> None:
    folder = status.folder
    rows = [("run", "training", "job", "evaluation", "job", "params", "")]
    for e in evaluation.runs:
        t = status.of(e.run.id)
        notes = []
        if t is not None and t.detail:
            notes.append(f"training: {t.detail}")
        if t is not None and t.state == FAILED and folder.log(t.run.id).exists():
            notes.append(f"log: {pasteable(folder.log(t.run.id))}")
        detail = _eval_detail(e, t)
        if detail:
            notes.append(f"evaluation: {detail}")
        log = eval_log_path(folder.path, e.run.id)
        if e.state == FAILED and log.exists():
            notes.append(f"log: {pasteable(log)}")
        rows.append(
            (
                e.run.id,
                t.state if t else "-",
                (t.job or "-") if t else "-",
                e.state,
                e.job or "-",
                params_text(e.run.params),
                f"({'; '.join(notes)})" if notes else "",
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    for row in rows:
        cells = [c.ljust(w) for c, w in zip(row[:5], widths, strict=True)] + list(row[5:])
        print(("  " + "  ".join(cells)).rstrip(), file=out)
    counts = [
        f"{what}: " + ", ".join(f"{n} {state}" for state, n in stage.counts().items())
        for what, stage in (("training", status), ("evaluation", evaluation))
    ]
    print("; ".join(counts), file=out)


def status_command(argv: list[str], out: TextIO, err: TextIO) -> int:
    """`ttwriter status DIR`: exit code 1 when a run failed (see cli.exit_codes)."""
    args = parse(FolderOptions, argv, prog="ttwriter status", description=STATUS_DESCRIPTION, out=out)
    folder = read_job_folder(args.dir, "status", moved_ok=True)
    if folder.moved is not None:
        print(folder.moved.warning(), file=err)
    status = sweep_status(folder)
    evaluation = sweep_status(folder, EVALUATION) if folder.evaluates else None
    print_status(status, out, evaluation)
    failed = status.with_state(FAILED) or (evaluation is not None and evaluation.with_state(FAILED))
    return EXIT_SOME_FAILED if failed else EXIT_OK
