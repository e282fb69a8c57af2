"""`ttwriter submit` and `ttwriter status`: their arguments and what they print.

The work is in slurm/ (submit, status), which raises `SlurmError`; the dispatcher (cli.main) turns
those into `error: ...` and exit code 2.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from typing import TextIO

from ttwriter.cli._output import EXIT_OK, pasteable, print_gate
from ttwriter.errors import ConfigWriterError
from ttwriter.folder.layout import SCRIPT_FILE, STATUS_DIR, SUBMISSIONS_FILE
from ttwriter.folder.read import parse_run_ids, read_job_folder
from ttwriter.formats import counted, listed, params_text
from ttwriter.slurm.status import FAILED, NOT_SUBMITTED, SweepStatus, sweep_status
from ttwriter.slurm.submit import submit
from ttwriter.validation.gate import IGNORE_FLAG, IGNORE_HELP


class _Parser(argparse.ArgumentParser):
    """argparse writing to the given streams, its usage errors raised as ttwriter errors."""

    def __init__(self, out: TextIO, err: TextIO, **kwargs) -> None:
        super().__init__(**kwargs)
        self._out, self._err = out, err

    def _print_message(self, message: str, file=None) -> None:
        if message:
            (self._err if file is sys.stderr else self._out).write(message)

    def error(self, message: str):
        raise ConfigWriterError(message, fix=f"see '{self.prog} --help'")


def _parse_runs(text: str) -> list[str]:
    ids = parse_run_ids(text) or []
    if not ids:
        raise ConfigWriterError("--runs needs run ids", fix="e.g. --runs run_001,run_004")
    return ids


def submit_command(argv: list[str], out: TextIO, err: TextIO) -> int:
    """`ttwriter submit DIR [--runs IDS | --failed] [--dry-run] [--ignore-validation]`."""
    parser = _Parser(
        out,
        err,
        prog="ttwriter submit",
        description=f"Submit an experiment folder's runs to SLURM as one job array ({SCRIPT_FILE}): "
        "all of them, the ones named with --runs, or with --failed those that did not complete. "
        "A run that is still queued is never submitted twice, and a run that failed validation "
        "is not submitted (a folder written with --no-validate is validated first).",
    )
    parser.add_argument("folder", help="experiment folder written by ttwriter")
    parser.add_argument("--runs", type=_parse_runs, help="only these runs, e.g. run_001,run_004")
    parser.add_argument(
        "--failed", action="store_true", help="only runs that did not complete (neither done nor queued)"
    )
    parser.add_argument("--dry-run", action="store_true", help="print the sbatch command, submit nothing")
    parser.add_argument(IGNORE_FLAG, action="store_true", help=IGNORE_HELP)
    args = parser.parse_args(argv)
    result = submit(
        args.folder,
        args.runs,
        failed=args.failed,
        dry_run=args.dry_run,
        ignore_validation=args.ignore_validation,
        announce=lambda line: print(line, file=out, flush=True),
    )
    folder = result.folder
    where = pasteable(folder.path)
    print_gate(result.validation, out, pasteable)
    if result.skipped:
        reasons = [
            f"{s.run.id} ({s.state}{f', job {s.job}' if s.state != 'done' else ''})" for s in result.skipped
        ]
        print(f"Leaving out {counted(len(reasons))}: {listed(reasons)}", file=out)
    if not result.runs:
        print(
            f"Nothing to submit: every run is done or still queued (see: ttwriter status {where})", file=out
        )
        return EXIT_OK
    n = len(result.runs)
    runs = f"{counted(n)} of {folder.experiment}"
    for run_id in result.retrained:
        print(f"note: {run_id} had finished; it trains again and its result is replaced", file=out)
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
    """`ttwriter status DIR`."""
    parser = _Parser(
        out,
        err,
        prog="ttwriter status",
        description="Print the state of every run of a submitted experiment folder: not submitted, "
        f"pending, running, done or failed (from {STATUS_DIR}/ markers, squeue and sacct or scontrol).",
    )
    parser.add_argument("folder", help="experiment folder written by ttwriter")
    args = parser.parse_args(argv)
    print_status(sweep_status(read_job_folder(args.folder)), out)
    return EXIT_OK
