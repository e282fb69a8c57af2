"""One entry point for every kind of experiment source: .py, experiment.yaml, experiment.json.

Each loader produces the same `LoadedExperiment`: the `Experiment` plus what generation needs to
know about where it came from (files to copy, lineage, where each key is written).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from ttwriter.errors import (
    COMMAND_LINE,
    ConfigWriterError,
    ExperimentLoadError,
    ExperimentSchemaError,
    did_you_mean,
)
from ttwriter.experiment.experiment import Experiment
from ttwriter.experiment.load_python import load_python_experiment
from ttwriter.experiment.load_yaml import build_experiment, load_yaml_experiment
from ttwriter.experiment.source_map import SourceMap
from ttwriter.folder.layout import SNAPSHOT_FILE
from ttwriter.folder.snapshot import Snapshot, read_snapshot
from ttwriter.safe_read import sha256_file


@dataclasses.dataclass(frozen=True)
class LoadedExperiment:
    """An experiment and its origin."""

    experiment: Experiment
    kind: str
    """'python', 'yaml', 'json' (a snapshot) or 'api' (an Experiment or dict passed in code)."""
    path: Path | None
    relative_to: Path
    """Folder that relative paths in the experiment (base_config_file, recipe) start from."""
    sources: tuple[Path, ...]
    """Files copied into the output folder: the experiment file and, for .py, its ancestors."""
    lineage: tuple[str, ...]
    """Python experiments: file names from the root base to this file."""
    source_map: SourceMap
    snapshot: Snapshot | None = None
    """The experiment.json it was loaded from (kind 'json')."""
    cli_overrides: tuple[str, ...] = ()
    """Command-line flags that changed the experiment, as typed (recorded in experiment.json)."""
    cli_keys: frozenset[str] = frozenset()
    """Keys those flags changed (`controls.learning_rate`): errors about them name the command line."""

    def locate(self, section: str, written: tuple[str, ...]) -> tuple[str | None, int | None]:
        """Where a key is written: the command line when an override set it, else the source file."""
        dotted = ".".join((section, *written))
        if any(dotted == key or dotted.startswith(key + ".") for key in self.cli_keys):
            return COMMAND_LINE, None
        return self.source_map(section, written)


def load_experiment(path: str | Path) -> LoadedExperiment:
    """Load a `.py` experiment, an experiment.yaml or an experiment.json snapshot."""
    path = Path(path)
    if not path.is_file():
        raise ExperimentLoadError(
            "no such file" if not path.exists() else "not a file",
            file=path,
            fix=f"pass a .py experiment, an experiment.yaml or an {SNAPSHOT_FILE} snapshot",
        )
    path = path.resolve()
    suffix = path.suffix.lower()
    if suffix == ".py":
        loaded = load_python_experiment(path)
        files = tuple(f.path for f in loaded.chain)
        return LoadedExperiment(
            loaded.experiment,
            "python",
            path,
            path.parent,
            files,
            tuple(f.path.name for f in loaded.chain),
            SourceMap(files),
        )
    if suffix in (".yaml", ".yml"):
        experiment, source = load_yaml_experiment(path)
        return LoadedExperiment(experiment, "yaml", path, path.parent, (path,), (), source)
    if suffix == ".json":
        snapshot = read_snapshot(path)
        experiment = _prefer_copied_base(_snapshot_experiment(snapshot, path), snapshot, path.parent)
        sources = tuple(
            path.parent / name for name in snapshot.provenance.source_files if (path.parent / name).is_file()
        )
        return LoadedExperiment(
            experiment,
            "json",
            path,
            path.parent,
            sources,
            snapshot.provenance.lineage,
            SourceMap([path]),
            snapshot,
        )
    raise ExperimentLoadError(
        f"unknown experiment file type {suffix or '(none)'!r}",
        file=path,
        fix=f"pass a .py experiment, an experiment.yaml (.yaml/.yml) or an {SNAPSHOT_FILE} snapshot",
    )


def _snapshot_experiment(snapshot: Snapshot, path: Path) -> Experiment:
    """The `Experiment` of an experiment.json written by ttwriter."""
    source = SourceMap([path])
    names = [f.name for f in dataclasses.fields(Experiment)]
    for key in snapshot.experiment:
        if key not in names:
            hint = did_you_mean(key, names)
            raise ExperimentSchemaError(
                f"unknown experiment field {key!r}" + (f"; {hint}" if hint else ""),
                file=path,
                line=source("", (key,))[1],
                key=f"experiment.{key}",
                fix="experiment fields: " + ", ".join(names),
            )
    try:
        return build_experiment(dict(snapshot.experiment), source)
    except ConfigWriterError as exc:  # the snapshot holds the fields under "experiment"
        if exc.key and not exc.key.startswith("experiment."):
            exc.key = f"experiment.{exc.key}"
            exc.args = (exc.render(),)
        raise


def _prefer_copied_base(experiment: Experiment, snapshot: Snapshot, folder: Path) -> Experiment:
    """A snapshot's custom base config, from the copy beside it when the original is gone.

    The folder holds a copy of the base file; its sha256 is in the provenance, so the copy is used
    only when it is exactly the file the configs were made from (the cluster, a moved folder).
    """
    recorded = experiment.base_config_file
    if recorded is None or Path(recorded).is_file():
        return experiment
    expected = snapshot.provenance.base_config_sha256
    # The copy keeps the base's name unless that is one of the folder's own (then source_<name>).
    names = [Path(recorded).name]
    names += [n for n, sha in snapshot.provenance.source_files.items() if sha == expected and n not in names]
    for name in names:
        copy = folder / name
        if copy.is_file() and expected == sha256_file(copy):
            return dataclasses.replace(experiment, base_config_file=str(copy))
    return experiment


def from_experiment(experiment: Experiment) -> LoadedExperiment:
    """Wrap an `Experiment` built in code; relative paths start from the working directory."""
    return LoadedExperiment(experiment, "api", None, Path.cwd(), (), (), SourceMap([]))
