"""Reading a generated experiment folder back: its runs, as run_mapping.yaml lists them.

What runs after generation (local training, results) starts here: run ids, absolute config paths,
each run's output_dir and params, and the recipe. A folder that is not a ttwriter output, or a run
id it does not have, is an `ExperimentDirError` that says what to do.
"""

from __future__ import annotations

import dataclasses
import re
import shlex
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ttwriter.errors import ConfigWriterError, ExperimentDirError, did_you_mean
from ttwriter.folder.fields import Fields
from ttwriter.folder.layout import CONFIGS_DIR, LOGS_DIR, MAPPING_FILE, SNAPSHOT_FILE
from ttwriter.folder.snapshot import read_snapshot
from ttwriter.yaml_io import read_yaml


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
    """experiment.json (checked, see ttwriter.snapshot), or None when the folder has none."""
    smoke: bool = False
    """Smoke runs (`--smoke`), as experiment.json records."""
    slurm: dict[str, Any] | None = None
    """The experiment's slurm settings in experiment.json, or None."""

    @property
    def logs_dir(self) -> Path:
        return self.path / LOGS_DIR

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
        fix=f"give the folder ttwriter wrote (the one with {MAPPING_FILE} and {CONFIGS_DIR}/), "
        "e.g. outputs/<name>_<timestamp>",
    )


_RUN_ID = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")
"""A run id names files (configs/<id>.yaml, status/<id>.done, logs/<id>.out): one plain name."""


def _runs(mapping: Fields, folder: Path) -> tuple[FolderRun, ...]:
    runs: list[FolderRun] = []
    seen: dict[str, int] = {}
    for index, entry in enumerate(mapping.mappings("runs")):
        run_id = entry.text("id")
        if not _RUN_ID.fullmatch(run_id):
            raise entry.error(f"is not a run id: {run_id!r}", "id")
        if run_id in seen:
            raise entry.error(
                f"run id {run_id!r} is listed twice (runs[{seen[run_id]}] and runs[{index}])", "id"
            )
        seen[run_id] = index
        config = Path(entry.path_str("config"))
        runs.append(
            FolderRun(
                id=run_id,
                config=config if config.is_absolute() else folder / config,
                output_dir=entry.path_str("output_dir"),
                params=dict(entry.mapping("params", default={}).data),
            )
        )
    return tuple(runs)


def read_experiment_folder(path: str | Path) -> ExperimentFolder:
    """Read run_mapping.yaml (and experiment.json, if there) of a generated folder, every field
    checked: a damaged file is an `ExperimentDirError` naming it and the key, before anything runs."""
    if "\0" in str(path):
        raise ExperimentDirError(
            "the folder name contains a NUL byte (\\0), which no path can hold",
            file=repr(str(path)),
            fix=f"remove it: {str(path).replace(chr(0), '')!r}",
        )
    folder = Path(path).expanduser().resolve()
    if not folder.is_dir():
        raise _not_a_folder(folder, "no such folder")
    mapping_path = folder / MAPPING_FILE
    if not mapping_path.is_file():
        raise _not_a_folder(folder, f"not a ttwriter experiment folder: it has no {MAPPING_FILE}")
    regenerate = f"regenerate the folder: ttwriter {shlex.quote(str(folder / SNAPSHOT_FILE))} --output-dir <new folder>"
    try:
        data, lines = read_yaml(mapping_path)
    except ConfigWriterError as exc:
        raise ExperimentDirError(exc.message, file=mapping_path, line=exc.line, fix=regenerate) from None
    mapping = Fields.document(data, mapping_path, error=ExperimentDirError, fix=regenerate, lines=lines)
    runs = _runs(mapping, folder)
    snapshot = None
    if (folder / SNAPSHOT_FILE).exists():
        snapshot = read_snapshot(
            folder / SNAPSHOT_FILE,
            ExperimentDirError,
            fix="restore it from a copy, or regenerate the folder from the experiment file it was made from",
        )
    return ExperimentFolder(
        path=folder,
        experiment=mapping.text("experiment", default=folder.name),
        recipe=mapping.text("recipe", default=None),
        variables=tuple(mapping.str_list("variables", default=[])),
        runs=runs,
        snapshot=snapshot.data if snapshot else None,
        smoke=snapshot.smoke if snapshot else False,
        slurm=snapshot.slurm if snapshot else None,
    )
