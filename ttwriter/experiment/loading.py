"""One entry point for every kind of experiment source: .py, experiment.yaml, experiment.json.

Each loader produces the same `LoadedExperiment`: the `Experiment` plus what generation needs to
know about where it came from (files to copy, lineage, where each key is written). Where the
loader holds the fields as data (experiment.yaml, experiment.json), every problem of them is found
at once and generation goes on to find the problems of the keys too (`read_experiment`);
`load_experiment` raises them.
"""

from __future__ import annotations

import dataclasses
import shlex
from pathlib import Path

from ttwriter.errors import (
    COMMAND_LINE,
    ConfigWriterError,
    ExperimentLoadError,
    KeyPath,
    Location,
    Problems,
    ValuePath,
    locating,
)
from ttwriter.experiment.experiment import Experiment
from ttwriter.experiment.load_python import load_python_experiment
from ttwriter.experiment.load_yaml import load_yaml_experiment
from ttwriter.experiment.schema import build_valid
from ttwriter.experiment.source_map import SourceMap
from ttwriter.folder.layout import CONFIGS_DIR, OWN_FILES, SNAPSHOT_FILE, experiment_folder_of
from ttwriter.folder.snapshot import Snapshot, read_snapshot
from ttwriter.safe_read import read_text, sha256_file
from ttwriter.yaml_io import parse_yaml


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
    cli_keys: frozenset[ValuePath] = frozenset()
    """Key paths those flags changed (`('controls', 'learning_rate')`), split at dots: errors about
    them, or about keys below them, name the command line."""
    problems: tuple[ConfigWriterError, ...] = ()
    """Problems found in the fields while loading. `experiment` is then made of the fields that
    have none, only so that generation can find and report the other problems with them: it
    raises them all and writes nothing (`load_experiment` never returns one with problems)."""

    def from_command_line(self, path: ValuePath) -> bool:
        """Whether a command-line override set the value at `path` (or a value it is inside)."""
        return any(tuple(path[: len(key)]) == key for key in self.cli_keys)

    def locate(self, path: ValuePath) -> Location | None:
        """Where a key is written: the command line when an override set it, else the source file."""
        if self.from_command_line(path):
            return Location(COMMAND_LINE)
        return self.source_map.locate(path)


def load_experiment(path: str | Path) -> LoadedExperiment:
    """Load a `.py` experiment, an experiment.yaml or an experiment.json snapshot; raises every
    problem of its fields together."""
    loaded = read_experiment(path)
    Problems(loaded.problems).raise_if_any()
    return loaded


def read_experiment(path: str | Path) -> LoadedExperiment:
    """`load_experiment` for generation: problems of the fields are kept in `problems`, so that
    the problems of the keys can be found too, not raised."""
    path = Path(path)
    # Output given where an experiment belongs: the folder, or a file ttwriter wrote in it (not
    # the snapshot, which regenerates it, nor the copies of the experiment's own files).
    written = path.is_dir() or path.name in OWN_FILES - {SNAPSHOT_FILE} or path.parent.name == CONFIGS_DIR
    folder = experiment_folder_of(path) if written else None
    if folder is not None:
        what = "an experiment folder" if path.is_dir() else f"{path.name} of the experiment folder {folder}"
        shown = shlex.quote(str(folder))
        raise ExperimentLoadError(
            f"this is {what} ttwriter wrote, not an experiment",
            file=path,
            fix=f"follow its runs with ttwriter status {shown} (or submit, run, results); regenerate it "
            f"with ttwriter {shlex.quote(str(folder / SNAPSHOT_FILE))}",
        )
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
        experiment, source, problems = load_yaml_experiment(path)
        return LoadedExperiment(experiment, "yaml", path, path.parent, (path,), (), source, problems=problems)
    if suffix == ".json":
        snapshot = read_snapshot(path)
        source = SourceMap([path], _json_key_lines(path), key_prefix="experiment")
        experiment, problems = _snapshot_experiment(snapshot, source)
        experiment = _prefer_copied_base(experiment, snapshot, path.parent)
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
            source,
            snapshot,
            problems=problems,
        )
    raise ExperimentLoadError(
        f"unknown experiment file type {suffix or '(none)'!r}",
        file=path,
        fix=f"pass a .py experiment, an experiment.yaml (.yaml/.yml) or an {SNAPSHOT_FILE} snapshot",
    )


def _json_key_lines(path: Path) -> dict[KeyPath, int]:
    """The line of each key of a JSON file (JSON is YAML, and the YAML reader keeps key lines);
    none when the YAML reader refuses the text, and keys are then searched for as text."""
    try:
        return parse_yaml(read_text(path), str(path))[1]
    except ConfigWriterError:
        return {}


def _snapshot_experiment(
    snapshot: Snapshot, source: SourceMap
) -> tuple[Experiment, tuple[ConfigWriterError, ...]]:
    """The `Experiment` of an experiment.json written by ttwriter, and the problems of its fields
    (located in the file, under its `experiment` key)."""
    with locating(source.locate):
        experiment, problems = build_valid(Experiment, snapshot.experiment)
    if experiment is None:
        Problems(problems).raise_if_any()
    assert experiment is not None
    return experiment, problems


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
