"""The experiment.json snapshot: every field of the experiment plus where and how it was made.

Feeding the snapshot back to ttwriter regenerates byte-identical configs, so it records the
resolved experiment folder and the base config's sha256 (regeneration refuses a changed base).
"""

from __future__ import annotations

import dataclasses
import json
import platform
import subprocess
from pathlib import Path
from typing import Any

from ttwriter._version import __version__
from ttwriter.experiment.experiment import Experiment
from ttwriter.experiment.frozen import thaw
from ttwriter.experiment.loading import LoadedExperiment
from ttwriter.folder.snapshot import SNAPSHOT_FORMAT
from ttwriter.formats import utc_now
from ttwriter.registry import torchtune_version
from ttwriter.safe_read import sha256_file
from ttwriter.sweep.base_config import BaseConfig


def _git_state(folder: Path) -> dict[str, Any] | None:
    """Commit and dirty flag of the repo holding the experiment, if it is in one."""
    try:
        top = subprocess.run(
            ["git", "-C", str(folder), "rev-parse", "--show-toplevel", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.split()
        dirty = subprocess.run(
            ["git", "-C", str(folder), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    if len(top) != 2:
        return None
    return {"repo": top[0], "commit": top[1], "dirty": bool(dirty)}


def experiment_fields(experiment: Experiment, base: BaseConfig, experiment_dir: Path) -> dict[str, Any]:
    """The experiment as plain data, with paths resolved so the snapshot stands on its own."""
    fields = {f.name: _plain(getattr(experiment, f.name)) for f in dataclasses.fields(Experiment)}
    if experiment.base_config_file is not None:
        fields["base_config_file"] = str(base.path)
    if experiment.recipe is not None and base.recipe is not None:
        fields["recipe"] = base.recipe
    fields["output_dir"] = str(experiment_dir)
    return fields


def build_snapshot(
    loaded: LoadedExperiment,
    base: BaseConfig,
    experiment_dir: Path,
    source_copies: dict[str, Path],
    n_runs: int,
    smoke: bool = False,
) -> dict[str, Any]:
    folder = loaded.path.parent if loaded.path else None
    git = _git_state(folder) if folder is not None and loaded.kind in ("python", "yaml") else None
    if loaded.kind == "json" and loaded.snapshot_provenance:
        git = loaded.snapshot_provenance.get("git")
    experiment = loaded.experiment
    base_names = {f.name for f in dataclasses.fields(Experiment)}
    extra = {
        f.name: _jsonable(getattr(experiment, f.name))
        for f in dataclasses.fields(experiment)
        if f.name not in base_names
    }
    return {
        "format": SNAPSHOT_FORMAT,
        "experiment": experiment_fields(experiment, base, experiment_dir),
        "experiment_class": f"{type(experiment).__module__}.{type(experiment).__qualname__}",
        "experiment_extra": extra,
        "provenance": {
            "ttwriter_version": __version__,
            "torchtune_version": torchtune_version(),
            "python_version": platform.python_version(),
            "created_utc": utc_now(),
            "source": str(loaded.path) if loaded.path else None,
            "source_kind": loaded.kind,
            "source_files": {name: sha256_file(path) for name, path in source_copies.items()},
            "lineage": list(loaded.lineage),
            "cli_overrides": list(loaded.cli_overrides),
            "base_config": {"name": base.name, "path": str(base.path), "sha256": base.sha256},
            "recipe": base.recipe,
            "experiment_dir": str(experiment_dir),
            "n_runs": n_runs,
            "smoke": smoke,
            "git": git,
            # A regeneration keeps the provenance it was made from, so the original command line,
            # source and timestamps are never lost.
            "regenerated_from": loaded.snapshot_provenance if loaded.kind == "json" else None,
        },
    }


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    return thaw(value)


def _jsonable(value: Any) -> Any:
    """Extra fields of an Experiment subclass, as JSON can hold them (repr for anything else)."""
    value = _plain(value)
    try:
        json.dumps(value)
        return value
    except (TypeError, ValueError):
        return repr(value)


def dump_snapshot(snapshot: dict[str, Any]) -> str:
    return json.dumps(snapshot, indent=2, ensure_ascii=False) + "\n"
