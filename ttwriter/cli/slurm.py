"""`ttwriter submit` and `ttwriter status`: their arguments and what they print.

Their options are cli.options' dataclasses, parsed by cli._parser. The work is in slurm/ (submit, status), which raises `SlurmError`; the dispatcher
(cli.main) turns those into `error: ...` and exit code 2.
"""

from __future__ import annotations

import shlex
from typing import TextIO

from ttwriter.cli._output import pasteable, print_choice, print_gate
from ttwriter.cli._parser import parse
from ttwriter.cli.exit_codes import EXIT_OK, EXIT_SOME_FAILED, exit_codes_text
from ttwriter.cli.options import FolderOptions, StartOptions
from ttwriter.folder.layout import SCRIPT_FILE, STATUS_DIR, SUBMISSIONS_FILE
from ttwriter.folder.read import read_job_folder
from ttwriter.formats import counted, listed, params_text
from ttwriter.slurm.status import FAILED, NOT_SUBMITTED, SweepStatus, sweep_status
from ttwriter.slurm.submit import submit

SUBMIT_DESCRIPTION = (
    f"Submit an experiment folder's runs to SLURM as one job array ({SCRIPT_FILE}): all of them, "
    "the ones named with --runs, or with --failed those that did not complete. A plain submit is "
    "refused once a run is done; a run that is still queued is never submitted twice, and a run "
    "that failed validation is not submitted (a folder written with --no-validate is validated "
    f"first).\n\n{exit_codes_text('submit')}"
)
STATUS_DESCRIPTION = (
    "Print the state of every run of an experiment folder: not submitted, pending, running, done "
    f"or failed (from its {STATUS_DIR}/ markers, squeue, and sacct or scontrol).\n\n"
    f"{exit_codes_text('status')}"
)


def submit_command(argv: list[str], out: TextIO, err: TextIO) -> int:
    """`ttwriter submit DIR [--runs IDS | --failed] [--dry-run] [--ignore-validation]`."""
    args = parse(StartOptions, argv, prog="ttwriter submit", description=SUBMIT_DESCRIPTION, out=out)
    result = submit(
        args.dir,
        args.run_ids("submit"),
        failed=args.failed,
        dry_run=args.dry_run,
        ignore_validation=args.ignore_validation,
        announce=lambda line: print(line, file=out, flush=True),
    )
    folder = result.folder
    where = pasteable(folder.path)
    print_gate(result.validation, out, pasteable)
    print_choice(result.skipped, result.retrained, out)
    if not result.runs:
        print(
            f"Nothing to submit: every run is done or still queued (see: ttwriter status {where})", file=out
        )
        return EXIT_OK
    n = len(result.runs)
    runs = f"{counted(n)} of {folder.experiment}"
    if result.dry_run:
        print(f"Dry run: would submit {runs} ({listed([r.id for r in result.runs])}) with:", file=out)
        print(f"  {shlex.join(result.command)}", file=out)
        print("Nothing was submitted.", file=out)
        return EXIT_OK
    print(f"Submitted {runs} as SLURM job {result.job_id} (--array={result.array})", file=out)
    print(f"  runs: {listed([r.id for r in result.runs])}", file=out)
    if result.tune_path:
        print(f"  tune is not on PATH here: the jobs get {result.tune_path} first on theirs", file=out)
    print(f"  recorded in {pasteable(folder.path / SUBMISSIONS_FILE)}", file=out)
    print("Follow the jobs:", file=out)
    print(f"  ttwriter status {where}", file=out)
    print(f"  squeue -j {result.job_id}", file=out)
    print(f"  tail -f {pasteable(folder.log(result.runs[0].id))}", file=out)
    return EXIT_OK


def print_status(status: SweepStatus, out: TextIO) -> None:
    folder = status.folder
    where = pasteable(folder.path)
    n = len(folder.runs)
    print(f"{folder.experiment}: {counted(n)} in {where}", file=out)
    width = max(len(r.id) for r in folder.runs)
    for s in status.runs:
        line = f"  {s.run.id:<{width}}  {s.state:<13}  {s.job or '-':<12}  {params_text(s.run.params)}"
        notes = [s.detail] if s.detail else []
        if s.state == FAILED and folder.log(s.run.id).exists():
            notes.append(f"log: {pasteable(folder.log(s.run.id))}")
        print(line.rstrip() + (f"  ({'; '.join(notes)})" if notes else ""), file=out)
    print(", ".join(f"{n} {state}" for state, n in status.counts().items()), file=out)
    if status.scheduler_problem:
        print(f"note: {status.scheduler_problem}", file=out)
    if len(status.with_state(NOT_SUBMITTED)) == len(status.runs):
        print(f"Submit them: ttwriter submit {where}", file=out)
    elif status.with_state(FAILED, NOT_SUBMITTED):
        print(f"Submit the runs that did not complete: ttwriter submit {where} --failed", file=out)


def status_command(argv: list[str], out: TextIO, err: TextIO) -> int:
    """`ttwriter status DIR`: exit code 1 when a run failed (see cli.exit_codes)."""
    args = parse(FolderOptions, argv, prog="ttwriter status", description=STATUS_DESCRIPTION, out=out)
    status = sweep_status(read_job_folder(args.dir))
    print_status(status, out)
    return EXIT_SOME_FAILED if status.with_state(FAILED) else EXIT_OK
