"""submissions.jsonl: what `ttwriter submit` queued, one JSON object per `sbatch` call.

Written by `submit` (appended, one write per record, so concurrent appends stay whole) and read
by `status` and `submit`, which must know every job a run was queued in: a record that cannot be
read is an error naming its line, because a lost record could let a queued run be submitted
twice.
"""

from __future__ import annotations

import dataclasses
import getpass
import json
from collections.abc import Sequence
from pathlib import Path

from ttwriter.errors import ExperimentDirError
from ttwriter.folder.fields import Fields
from ttwriter.folder.layout import SUBMISSIONS_FILE
from ttwriter.formats import utc_now
from ttwriter.safe_read import parse_json, read_text

_MAX_ID = 2**63


@dataclasses.dataclass(frozen=True)
class SubmissionRecord:
    """One line of submissions.jsonl: an sbatch call and the runs it submitted."""

    job_id: int
    runs: tuple[str, ...]
    array: str
    submitted_utc: str


def read_submissions(folder: Path) -> list[SubmissionRecord]:
    """Every recorded submission of the folder, oldest first."""
    path = folder / SUBMISSIONS_FILE
    if not path.exists():
        return []
    records = []
    damaged = f"{SUBMISSIONS_FILE} is written by ttwriter submit: repair or remove the damaged line"
    for number, line in enumerate(read_text(path, ExperimentDirError, damaged).splitlines(), start=1):
        if not line.strip():
            continue
        fix = f"line {number} should be a JSON object with job_id, runs, array and submitted_utc; repair or remove it"
        data = parse_json(line, path, ExperimentDirError, fix=fix, line_offset=number - 1)
        record = Fields.document(
            data, path, error=ExperimentDirError, fix=fix, what=f"line {number}", lines={(): number}
        )
        job_id = record.get("job_id", int, what="a job id (a whole number)")
        if not 0 < job_id < _MAX_ID:
            raise record.error(f"{job_id} is not a SLURM job id", "job_id")
        records.append(
            SubmissionRecord(
                job_id, tuple(record.str_list("runs")), record.text("array"), record.text("submitted_utc")
            )
        )
    return records


def append_submission(
    folder: Path,
    *,
    job_id: int,
    array: str,
    runs: Sequence[str],
    command: Sequence[str],
    path_added: str | None,
) -> None:
    """Record one sbatch call: its job id, array, runs, when, by whom and with what command."""
    record = {
        "job_id": job_id,
        "array": array,
        "runs": list(runs),
        "submitted_utc": utc_now(),
        "user": getpass.getuser(),
        "command": list(command),
        "path_added": path_added,
    }
    with open(folder / SUBMISSIONS_FILE, "a", encoding="utf-8") as f:
        f.write(json.dumps(record, ensure_ascii=False) + "\n")
