"""An experiment folder as `ttwriter submit` and `ttwriter status` see it.

The runs come from run_mapping.yaml, read by `experiment_folder` (array task i is run i, as in
submit.sbatch); what was submitted is appended to submissions.jsonl, one JSON object per `sbatch`
call; what happened to a run is its completion marker in status/, written by the job script.
"""

from __future__ import annotations

import dataclasses
import json
import shlex
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ttwriter.errors import ExperimentDirError
from ttwriter.folder.fields import Fields
from ttwriter.folder.layout import MAPPING_FILE, SCRIPT_FILE, SNAPSHOT_FILE, SUBMISSIONS_FILE, log_path
from ttwriter.folder.markers import Marker, read_marker
from ttwriter.folder.read import ExperimentFolder, read_experiment_folder
from ttwriter.safe_read import parse_json, read_text


@dataclasses.dataclass(frozen=True)
class ArrayRun:
    """One run of the sweep: its id, its array task index and its variable values."""

    id: str
    task: int
    params: dict[str, Any]


@dataclasses.dataclass(frozen=True)
class SubmissionRecord:
    """One line of submissions.jsonl: an sbatch call and the runs it submitted."""

    job_id: int
    runs: tuple[str, ...]
    array: str
    submitted_utc: str


@dataclasses.dataclass(frozen=True)
class SweepFolder:
    """A generated experiment folder with its job script, submissions and markers."""

    path: Path
    experiment: str
    runs: tuple[ArrayRun, ...]
    source: ExperimentFolder
    """The folder as `read_experiment_folder` reads it (configs, output dirs, recipe, snapshot)."""

    @property
    def script(self) -> Path:
        return self.path / SCRIPT_FILE

    def script_text(self) -> str:
        """submit.sbatch, which may have been edited: bytes that are not UTF-8 are an error."""
        return read_text(self.script, ExperimentDirError, f"regenerate {SCRIPT_FILE}, or undo the edit")

    @property
    def submissions_file(self) -> Path:
        return self.path / SUBMISSIONS_FILE

    def log(self, run_id: str) -> Path:
        return log_path(self.path, run_id)

    def marker(self, run_id: str) -> Marker | None:
        """The run's marker; a finished one wins over a stale 'running' (the script keeps one)."""
        return read_marker(self.path, run_id)

    def submissions(self) -> list[SubmissionRecord]:
        """Every recorded submission, oldest first. A line that is not a record is an error: a
        lost record could let a queued run be submitted twice."""
        path = self.submissions_file
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

    def record(self, data: dict[str, Any]) -> None:
        """Append one submission to submissions.jsonl (one write, so concurrent appends stay whole)."""
        with open(self.submissions_file, "a", encoding="utf-8") as f:
            f.write(json.dumps(data, ensure_ascii=False) + "\n")

    def select(self, run_ids: Sequence[str]) -> tuple[ArrayRun, ...]:
        """The named runs in sweep order; an unknown id is an `ExperimentDirError` with a suggestion."""
        wanted = {run.id for run in self.source.select(run_ids)}
        return tuple(r for r in self.runs if r.id in wanted)


_MAX_ID = 2**63


def open_folder(path: str | Path) -> SweepFolder:
    """Read an experiment folder written by ttwriter, or say why it is not one."""
    given = Path(path).expanduser()
    if given.is_file():
        fix = f"give the folder ttwriter wrote (the one with {MAPPING_FILE} and {SCRIPT_FILE})"
        if given.suffix.lower() in (".py", ".yaml", ".yml", ".json"):
            fix = f"generate the sweep first (ttwriter {shlex.quote(str(given))}), then give the folder it writes"
        raise ExperimentDirError("this is a file, not an experiment folder", file=given, fix=fix)
    folder = read_experiment_folder(given)
    if not folder.runs:
        raise ExperimentDirError(
            f"{MAPPING_FILE} lists no runs",
            file=folder.path / MAPPING_FILE,
            fix=f"regenerate the folder with ttwriter (ttwriter <folder>/{SNAPSHOT_FILE} --force)",
        )
    if not (folder.path / SCRIPT_FILE).is_file():
        raise ExperimentDirError(
            f"this experiment folder has no {SCRIPT_FILE} (written by an older ttwriter?)",
            file=folder.path,
            fix=f"regenerate it: ttwriter {shlex.quote(str(folder.path / SNAPSHOT_FILE))} --output-dir <new folder>",
        )
    runs = tuple(ArrayRun(run.id, task, run.params) for task, run in enumerate(folder.runs))
    return SweepFolder(folder.path, folder.experiment, runs, folder)
