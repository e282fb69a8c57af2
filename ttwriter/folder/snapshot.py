"""Reading experiment.json back: every field ttwriter uses, checked once, with its key path.

Two readers need the snapshot: generation (`ttwriter <folder>/experiment.json` regenerates the
sweep) and the commands that work on a folder (`run`, `results`, `status`, `submit`). Both read it
here, so a snapshot that was edited, cut short or written by another version is the same error
everywhere: the file, the key (`provenance.lineage`) and what was expected, never a crash later.
Writing it is ttwriter.provenance.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from ttwriter.errors import ConfigWriterError, ExperimentLoadError
from ttwriter.folder.fields import Fields
from ttwriter.safe_read import read_json

SNAPSHOT_FORMAT = "ttwriter.experiment/1"
NOT_A_SNAPSHOT_FIX = "pass an experiment.json written by ttwriter, a .py experiment or an experiment.yaml"


@dataclasses.dataclass(frozen=True)
class Snapshot:
    """An experiment.json whose fields have the shapes ttwriter relies on."""

    path: Path
    data: dict[str, Any]
    """The whole file."""
    experiment: dict[str, Any]
    """The experiment's fields (a mapping; the values are checked by `Experiment` itself)."""
    provenance: dict[str, Any]

    @property
    def smoke(self) -> bool:
        return bool(self.provenance.get("smoke"))

    @property
    def slurm(self) -> dict[str, Any] | None:
        """experiment.slurm, a mapping, or None when it is not there."""
        return self.experiment.get("slurm")


def read_snapshot(
    path: Path, error: type[ConfigWriterError] = ExperimentLoadError, fix: str = NOT_A_SNAPSHOT_FIX
) -> Snapshot:
    """Read and check experiment.json; `error` is the class every problem is raised as."""
    data = read_json(path, error, fix=fix)
    top = Fields.document(data, path, error=error, fix=fix, what="an experiment snapshot")
    if top.data.get("format") != SNAPSHOT_FORMAT:
        raise error(
            "this JSON file is not an experiment snapshot written by ttwriter"
            + (f" (format {top.data['format']!r})" if "format" in top.data else ""),
            file=path,
            key="format",
            fix=f'a snapshot has "format": "{SNAPSHOT_FORMAT}"; regenerate it with ttwriter',
        )
    experiment = top.mapping("experiment")
    provenance = top.mapping("provenance", default={})
    source_files = provenance.mapping("source_files", default={})
    for name, sha in source_files.data.items():
        if not name or "/" in name or "\\" in name or name in (".", "..") or "\0" in name:
            raise source_files.error("is not the name of a file in this folder", name)
        if not isinstance(sha, str):
            raise source_files.error(f"must be a sha256 string, got {sha!r}", name)
    checked = {
        "source_files": dict(source_files.data),
        "lineage": provenance.str_list("lineage", default=[]),
        "cli_overrides": provenance.str_list("cli_overrides", default=[]),
        "base_config": dict(provenance.mapping("base_config", default={}).data),
        "smoke": provenance.flag("smoke", default=False),
    }
    provenance.mapping("base_config", default={}).text("sha256", default=None)
    provenance.mapping("git", default={})
    # Keys that are there hold checked values (null becomes the empty default); none are added.
    normalized = {k: checked[k] if k in checked else v for k, v in provenance.data.items()}
    slurm = experiment.mapping("slurm", default={})
    fields = {**experiment.data, **({"slurm": dict(slurm.data)} if "slurm" in experiment.data else {})}
    return Snapshot(path, dict(top.data), fields, normalized)
