"""Reading a generated experiment folder back: its runs, as run_mapping.yaml lists them.

What runs after generation (local training, results) starts here: run ids, absolute config paths,
each run's output_dir and params, and the recipe. A folder that is not a ttwriter output, or a run
id it does not have, is an `ExperimentDirError` that says what to do.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ttwriter.errors import ConfigWriterError, ExperimentDirError, did_you_mean
from ttwriter.yaml_io import read_yaml

MAPPING_FILE = "run_mapping.yaml"
SNAPSHOT_FILE = "experiment.json"


@dataclasses.dataclass(frozen=True)
class FolderRun:
    """One run of a generated experiment folder."""

    id: str
    config: Path
    """Absolute path of the run's config."""
    output_dir: str
    """Where torchtune writes this run's checkpoints and logs (as the config says)."""
    params: dict[str, Any]


@dataclasses.dataclass(frozen=True)
class ExperimentFolder:
    """A generated experiment folder: what run_mapping.yaml and experiment.json say about it."""

    path: Path
    experiment: str
    recipe: str | None
    variables: tuple[str, ...]
    runs: tuple[FolderRun, ...]
    snapshot: dict[str, Any] | None
    """experiment.json, or None when it is missing or unreadable."""

    @property
    def smoke(self) -> bool:
        return bool(((self.snapshot or {}).get("provenance") or {}).get("smoke"))

    @property
    def logs_dir(self) -> Path:
        return self.path / "logs"

    def select(self, run_ids: Iterable[str] | None) -> tuple[FolderRun, ...]:
        """The runs named (in sweep order), or all of them; an unknown id is an error."""
        if run_ids is None:
            return self.runs
        wanted = list(dict.fromkeys(run_ids))
        known = {run.id for run in self.runs}
        for run_id in wanted:
            if run_id not in known:
                hint = did_you_mean(run_id, known)
                raise ExperimentDirError(
                    f"no run {run_id!r} in this experiment" + (f"; {hint}" if hint else ""),
                    file=self.path / MAPPING_FILE,
                    fix=f"run ids go from {self.runs[0].id} to {self.runs[-1].id}"
                    if self.runs
                    else "this experiment has no runs",
                )
        return tuple(run for run in self.runs if run.id in wanted)


def parse_run_ids(text: str | None) -> list[str] | None:
    """`run_001,run_004` -> ['run_001', 'run_004']; None stays None (all runs)."""
    if text is None:
        return None
    return [part.strip() for part in text.split(",") if part.strip()]


def _not_a_folder(path: Path, why: str) -> ExperimentDirError:
    return ExperimentDirError(
        why,
        file=path,
        fix="give the folder ttwriter wrote (the one with run_mapping.yaml and configs/), "
        "e.g. outputs/<name>_<timestamp>",
    )


def read_experiment_folder(path: str | Path) -> ExperimentFolder:
    """Read run_mapping.yaml (and experiment.json, if readable) of a generated folder."""
    folder = Path(path).expanduser().resolve()
    if not folder.is_dir():
        raise _not_a_folder(folder, "no such folder")
    mapping_path = folder / MAPPING_FILE
    if not mapping_path.is_file():
        raise _not_a_folder(folder, f"not a ttwriter experiment folder: it has no {MAPPING_FILE}")
    try:
        data, _ = read_yaml(mapping_path)
    except ConfigWriterError as exc:
        raise ExperimentDirError(exc.message, file=mapping_path, line=exc.line, fix=exc.fix) from None
    runs_data = data.get("runs") if isinstance(data, dict) else None
    if not isinstance(runs_data, list):
        raise ExperimentDirError(
            "run_mapping.yaml has no list of runs",
            file=mapping_path,
            fix="regenerate the folder with ttwriter (ttwriter <folder>/experiment.json --force)",
        )
    runs = []
    for index, entry in enumerate(runs_data):
        if not isinstance(entry, dict) or not {"id", "config", "output_dir"} <= entry.keys():
            raise ExperimentDirError(
                f"entry {index} of runs lacks id, config or output_dir",
                file=mapping_path,
                key=f"runs[{index}]",
                fix="regenerate the folder with ttwriter (ttwriter <folder>/experiment.json --force)",
            )
        config = Path(str(entry["config"]))
        runs.append(
            FolderRun(
                id=str(entry["id"]),
                config=config if config.is_absolute() else folder / config,
                output_dir=str(entry["output_dir"]),
                params=dict(entry.get("params") or {}),
            )
        )
    snapshot = None
    try:
        snapshot = json.loads((folder / SNAPSHOT_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        pass
    return ExperimentFolder(
        path=folder,
        experiment=str(data.get("experiment", folder.name)),
        recipe=data.get("recipe"),
        variables=tuple(str(v) for v in data.get("variables") or ()),
        runs=tuple(runs),
        snapshot=snapshot if isinstance(snapshot, dict) else None,
    )
