"""experiment.json: every field of the experiment plus where and how it was made, as a typed `Snapshot`.

Feeding the snapshot back to ttwriter regenerates byte-identical configs, so it records the
resolved experiment folder and the base config's sha256 (regeneration refuses a changed base).
Generation builds it here; every reader (regeneration from `ttwriter <folder>/experiment.json`,
and `run`, `results`, `status`, `submit` through the folder reader) reads it here, so a snapshot
that was edited, cut short or written by another version is the same error everywhere: the file,
the key (`provenance.lineage`) and what was expected, never a crash later.
"""

from __future__ import annotations

import dataclasses
import json
import platform
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from ttwriter._version import __version__
from ttwriter.errors import (
    ConfigWriterError,
    ExperimentDirError,
    ExperimentLoadError,
    ValidationError,
    each_problem,
)
from ttwriter.experiment.evaluation import Evaluation
from ttwriter.experiment.experiment import Experiment
from ttwriter.experiment.frozen import thaw
from ttwriter.experiment.schema import field_names
from ttwriter.experiment.slurm_config import SlurmConfig
from ttwriter.folder.fields import Fields
from ttwriter.folder.layout import SNAPSHOT_FILE
from ttwriter.formats import utc_now
from ttwriter.registry import torchtune_version
from ttwriter.safe_read import read_json, sha256_file

_S = TypeVar("_S")

if TYPE_CHECKING:
    from ttwriter.experiment.loading import LoadedExperiment
    from ttwriter.sweep.base_config import BaseConfig

SNAPSHOT_FORMAT = "ttwriter.experiment/1"
SNAPSHOT_KEYS = ("format", "experiment", "experiment_class", "experiment_extra", "provenance")
"""experiment.json's top level (build_snapshot); format and experiment are required."""
PROVENANCE_KEYS = (
    "ttwriter_version", "torchtune_version", "python_version", "created_utc", "source", "source_kind",
    "source_files", "lineage", "cli_overrides", "base_config", "recipe", "experiment_dir", "n_runs",
    "smoke", "git", "regenerated_from",
)  # fmt: skip
"""Every key of `provenance` any version wrote, all optional (smoke and regenerated_from came
later). `regenerated_from` keeps an earlier provenance as it was: its keys are not checked."""
BASE_CONFIG_KEYS = ("name", "path", "sha256")
GIT_KEYS = ("repo", "commit", "dirty")
NOT_A_SNAPSHOT_FIX = f"pass an {SNAPSHOT_FILE} written by ttwriter, a .py experiment or an experiment.yaml"


@dataclasses.dataclass(frozen=True)
class Provenance:
    """Where and how the folder was made: what later steps read of experiment.json's `provenance`."""

    source_files: dict[str, str]
    """The files copied into the folder (experiment file, ancestors, custom base) -> sha256."""
    lineage: tuple[str, ...]
    cli_overrides: tuple[str, ...]
    base_config_sha256: str | None
    smoke: bool
    git: dict[str, Any] | None
    data: dict[str, Any]
    """The whole provenance, as written (a regeneration keeps it as `regenerated_from`)."""


@dataclasses.dataclass(frozen=True)
class Snapshot:
    """An experiment.json whose fields have the shapes ttwriter relies on."""

    path: Path | None
    """The file it was read from; None for one just built."""
    data: dict[str, Any]
    """The whole document."""
    experiment: dict[str, Any]
    """The experiment's fields (a mapping; the values are checked by `Experiment` itself)."""
    provenance: Provenance

    @property
    def smoke(self) -> bool:
        return self.provenance.smoke

    def slurm_config(self) -> SlurmConfig:
        """The experiment's slurm settings (defaults when it has none); invalid ones are an
        `ExperimentDirError` naming the key under `experiment.slurm`."""
        settings = self._settings("slurm", SlurmConfig.from_mapping)
        return SlurmConfig() if settings is None else settings

    def evaluation_config(self) -> Evaluation | None:
        """The experiment's evaluation settings (None when it has none); invalid ones are an
        `ExperimentDirError` naming the key under `experiment.evaluation`."""
        return self._settings("evaluation", Evaluation.from_mapping)

    def _settings(self, name: str, build: Callable[[Any], _S]) -> _S | None:
        """One settings section of the recorded experiment, rebuilt by its own type's reader, so a
        snapshot edited by hand is refused with the key it broke, as its experiment file would be."""
        settings = self.experiment.get(name)
        if settings is None:
            return None
        try:
            return build(settings)
        except ConfigWriterError as exc:
            problems = each_problem(exc)
            what = "; ".join(p.message if len(problems) == 1 else f"{p.key}: {p.message}" for p in problems)
            raise ExperimentDirError(
                f"the {name} settings in {SNAPSHOT_FILE} are not valid: {what}",
                file=self.path,
                key=f"experiment.{problems[0].key}"
                if len(problems) == 1 and problems[0].key
                else f"experiment.{name}",
                fix="regenerate the folder from its experiment file",
            ) from None

    def check_base(self, base: BaseConfig) -> None:
        """Refuse to regenerate from a base config that is not the one the snapshot was made from."""
        recorded = self.provenance.base_config_sha256
        if recorded and recorded != base.sha256:
            raise ValidationError(
                f"the base config {base.name} has changed since this snapshot was written "
                f"(sha256 {recorded[:12]}... then, {base.sha256[:12]}... now), so the configs "
                "cannot be regenerated as they were",
                file=self.path,
                key="provenance.base_config.sha256",
                fix="restore the base config file (or the torchtune version) the snapshot was made with",
            )


def _snapshot(
    path: Path | None, data: dict[str, Any], experiment: dict[str, Any], provenance: dict
) -> Snapshot:
    base = provenance.get("base_config") or {}
    return Snapshot(
        path,
        data,
        experiment,
        Provenance(
            source_files=dict(provenance.get("source_files") or {}),
            lineage=tuple(provenance.get("lineage") or ()),
            cli_overrides=tuple(provenance.get("cli_overrides") or ()),
            base_config_sha256=base.get("sha256"),
            smoke=bool(provenance.get("smoke")),
            git=provenance.get("git"),
            data=provenance,
        ),
    )


# --- reading -------------------------------------------------------------------------------------


def read_snapshot(
    path: Path,
    error: type[ConfigWriterError] = ExperimentLoadError,
    fix: str = NOT_A_SNAPSHOT_FIX,
    *,
    experiment_keys: bool = False,
) -> Snapshot:
    """Read and check experiment.json; `error` is the class every problem is raised as. A key
    ttwriter never writes is refused with "did you mean"; under `experiment` only with
    `experiment_keys` (the folder reader, which builds no Experiment: regeneration leaves those
    to the Experiment schema, which reports every problem of the fields together)."""
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
    top.only(SNAPSHOT_KEYS)
    experiment = top.mapping("experiment")
    if experiment_keys:
        experiment.only(field_names(Experiment)).text("name")
    provenance = top.mapping("provenance", default={}).only(PROVENANCE_KEYS)
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
    provenance.mapping("base_config", default={}).only(BASE_CONFIG_KEYS).text("sha256", default=None)
    provenance.mapping("git", default={}).only(GIT_KEYS)
    # Keys that are there hold checked values (null becomes the empty default); none are added.
    normalized = {k: checked[k] if k in checked else v for k, v in provenance.data.items()}
    slurm = experiment.mapping("slurm", default={})
    fields = {**experiment.data, **({"slurm": dict(slurm.data)} if "slurm" in experiment.data else {})}
    if experiment.data.get("evaluation") is not None:
        fields["evaluation"] = dict(experiment.mapping("evaluation").data)
    return _snapshot(path, dict(top.data), fields, normalized)


# --- building and writing ------------------------------------------------------------------------


def _git(folder: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(folder), *args], capture_output=True, text=True, timeout=10, check=True
    ).stdout


def _git_state(folder: Path) -> dict[str, Any] | None:
    """Commit and dirty flag of the repo holding the experiment, if it is in one."""
    try:
        top = _git(folder, "rev-parse", "--show-toplevel", "HEAD").split()
        dirty = _git(folder, "status", "--porcelain", "--untracked-files=no").strip()
    except (OSError, subprocess.SubprocessError):
        return None
    if len(top) != 2:
        return None
    return {"repo": top[0], "commit": top[1], "dirty": bool(dirty)}


def experiment_fields(experiment: Experiment, base: BaseConfig, experiment_dir: Path) -> dict[str, Any]:
    """The experiment as plain data, with paths resolved so the snapshot stands on its own."""
    fields = {
        f.name: _plain(getattr(experiment, f.name))
        for f in dataclasses.fields(Experiment)
        if f.name not in STRATEGY_FIELDS or getattr(experiment, f.name) != _default(f)
    }
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
) -> Snapshot:
    folder = loaded.path.parent if loaded.path else None
    git = _git_state(folder) if folder is not None and loaded.kind in ("python", "yaml") else None
    regenerated = loaded.snapshot if loaded.kind == "json" else None
    if regenerated is not None:
        git = regenerated.provenance.git
    experiment = loaded.experiment
    base_names = {f.name for f in dataclasses.fields(Experiment)}
    extra = {
        f.name: _jsonable(getattr(experiment, f.name))
        for f in dataclasses.fields(experiment)
        if f.name not in base_names
    }
    fields = experiment_fields(experiment, base, experiment_dir)
    provenance = {
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
        "regenerated_from": regenerated.provenance.data if regenerated is not None else None,
    }
    data = {
        "format": SNAPSHOT_FORMAT,
        "experiment": fields,
        "experiment_class": f"{type(experiment).__module__}.{type(experiment).__qualname__}",
        "experiment_extra": extra,
        "provenance": provenance,
    }
    return _snapshot(None, data, fields, provenance)


STRATEGY_FIELDS = ("linked", "derived", "exclude", "sample", "replicates")
"""Written only when set, so the snapshot of a plain grid is what it was before they existed."""


def _default(field: dataclasses.Field[Any]) -> Any:
    if field.default_factory is not dataclasses.MISSING:
        return field.default_factory()
    return field.default


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


def dump_snapshot(snapshot: Snapshot) -> str:
    return json.dumps(snapshot.data, indent=2, ensure_ascii=False) + "\n"
