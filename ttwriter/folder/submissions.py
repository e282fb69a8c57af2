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
TRAIN, EVAL = "train", "eval"
"""The stage a submission is for: the training array (submit.sbatch) or the eval array (eval.sbatch).
A record without a stage is from before evaluation existed: training."""
STAGES = (TRAIN, EVAL)


@dataclasses.dataclass(frozen=True)
class SubmissionRecord:
    """One line of submissions.jsonl: an sbatch call and the runs it submitted."""

    job_id: int
    runs: tuple[str, ...]
    array: str
    submitted_utc: str
    stage: str = TRAIN
    after: int | None = None
    """The training job an eval array waits for (--dependency=aftercorr), if any."""


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
        stage = record.text("stage", default=TRAIN)
        if stage not in STAGES:
            raise record.error(f"is not a stage ({' or '.join(STAGES)}): {stage!r}", "stage")
        after = record.get("after", int, None, what="a job id (a whole number), or null")
        records.append(
            SubmissionRecord(
                job_id,
                tuple(record.str_list("runs")),
                record.text("array"),
                record.text("submitted_utc"),
                stage,
                after,
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
    stage: str = TRAIN,
    after: int | None = None,
) -> None:
    """Record one sbatch call: its job id, stage, array, runs, when, by whom and with what command."""
    record = {
        "job_id": job_id,
        "stage": stage,
        "after": after,
        "array": array,
        "runs": list(runs),
        "submitted_utc": utc_now(),
        "user": getpass.getuser(),
        "command": list(command),
        "path_added": path_added,
    }
    with open(folder / SUBMISSIONS_FILE, "a", encoding="utf-8") as f:
        f.write(json.dumps(record, ensure_ascii=False) + "\n")
