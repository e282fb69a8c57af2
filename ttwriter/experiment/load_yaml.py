"""Loading experiment.yaml, in either shape the spec shows.

Flat:   experiment_name, base_config | base_config_file, variables, controls, output.experiment_dir
Nested: experiment: {name, framework, question, ...}, framework_config: {base_config | ...},
        variables, controls, output: {experiment_dir | base_dir}

Both become the same `Experiment`. Unknown keys are errors with a suggestion, never ignored.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ttwriter.errors import ConfigWriterError, ExperimentSchemaError, did_you_mean
from ttwriter.experiment.experiment import Experiment
from ttwriter.experiment.source_map import SourceMap
from ttwriter.yaml_io import read_yaml

_COMMON = {"variables", "controls", "delete", "output", "slurm", "evaluation"}
_FLAT = _COMMON | {
    "experiment_name",
    "framework",
    "base_config",
    "base_config_file",
    "recipe",
    "question",
    "hypothesis",
    "researcher",
    "date",
    "tags",
    "notes",
}
_NESTED = _COMMON | {"experiment", "framework_config"}
_EXPERIMENT = {"name", "framework", "question", "hypothesis", "researcher", "date", "tags", "notes"}
_FRAMEWORK_CONFIG = {"base_config", "base_config_file", "recipe"}
_OUTPUT = {"experiment_dir", "base_dir"}

# Where each Experiment field is written, per shape, for error lines.
_FLAT_FIELDS: dict[str, tuple[str, ...]] = {"name": ("experiment_name",), "output_dir": ("output",)}
_NESTED_FIELDS: dict[str, tuple[str, ...]] = {
    **{f: ("experiment", f) for f in _EXPERIMENT if f != "name"},
    "name": ("experiment", "name"),
    **{f: ("framework_config", f) for f in _FRAMEWORK_CONFIG},
    "output_dir": ("output",),
}


def _check_keys(
    data: Mapping[str, Any], allowed: set[str], where: str, source: SourceMap, path: tuple[str, ...]
) -> None:
    for key in data:
        if key not in allowed:
            hint = did_you_mean(str(key), allowed)
            file, line = source("", (*path, str(key)))
            raise ExperimentSchemaError(
                f"unknown key {key!r} in {where}" + (f"; {hint}" if hint else ""),
                file=file,
                line=line,
                key=".".join((*path, str(key))),
                fix="allowed keys here: " + ", ".join(sorted(allowed)),
            )


def _mapping(data: Any, key: str, source: SourceMap, path: tuple[str, ...]) -> dict[str, Any]:
    if data is None:
        return {}
    if not isinstance(data, Mapping):
        file, line = source("", path)
        raise ExperimentSchemaError(
            f"{key} must be a mapping, got {type(data).__name__} {data!r}",
            file=file,
            line=line,
            key=".".join(path),
            fix=f"indent the keys of {key} under it, one per line",
        )
    return dict(data)


def _path(value: Any, key: str, source: SourceMap) -> str:
    """A folder path under output:, which must be one string (a list would name a folder `['a']`)."""
    if isinstance(value, str):
        return value
    file, line = source("", ("output", key))
    if isinstance(value, list) and value and all(isinstance(v, (str, int, float)) for v in value):
        example = "/".join(str(v) for v in value)
        fix = f"write one path, e.g. {key}: {example}"
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        fix = f"quote it to make it a folder name: {key}: '{value}'"
    else:
        fix = f"write one folder path, e.g. {key}: outputs/my_sweep"
    raise ExperimentSchemaError(
        f"output.{key} must be a folder path (a string), got {type(value).__name__} {value!r}",
        file=file,
        line=line,
        key=f"output.{key}",
        fix=fix,
    )


def experiment_from_yaml_data(data: Any, source: SourceMap) -> tuple[Experiment, SourceMap]:
    """Build the Experiment from parsed experiment.yaml data of either shape."""
    if not isinstance(data, Mapping):
        raise ExperimentSchemaError(
            "experiment.yaml must be a mapping with at least experiment_name and base_config",
            file=source("", ())[0],
            fix="see docs/experiment_format.md for both accepted shapes",
        )
    nested = "experiment" in data or "framework_config" in data
    _check_keys(data, _NESTED if nested else _FLAT, "experiment.yaml", source, ())
    fields: dict[str, Any] = {}
    if nested:
        meta = _mapping(data.get("experiment"), "experiment", source, ("experiment",))
        _check_keys(meta, _EXPERIMENT, "experiment:", source, ("experiment",))
        framework = _mapping(data.get("framework_config"), "framework_config", source, ("framework_config",))
        _check_keys(framework, _FRAMEWORK_CONFIG, "framework_config:", source, ("framework_config",))
        fields.update(meta)
        fields.update(framework)
        field_paths = _NESTED_FIELDS
        if "name" not in meta:
            raise ExperimentSchemaError(
                "experiment.name is missing",
                file=source("", ("experiment",))[0],
                line=source("", ("experiment",))[1],
                key="experiment.name",
                fix="add 'name: my_experiment' under experiment:",
            )
    else:
        field_paths = _FLAT_FIELDS
        for key in _FLAT - _COMMON:
            if key in data:
                fields["name" if key == "experiment_name" else key] = data[key]
        if "name" not in fields:
            raise ExperimentSchemaError(
                "experiment_name is missing",
                file=source("", ())[0],
                line=1,
                key="experiment_name",
                fix="add 'experiment_name: my_experiment' at the top",
            )
    for key in ("variables", "controls"):
        if key in data:
            fields[key] = _mapping(data[key], key, source, (key,))
    if "slurm" in data:
        fields["slurm"] = _mapping(data["slurm"], "slurm", source, ("slurm",))
    if data.get("evaluation") is not None:
        fields["evaluation"] = _mapping(data["evaluation"], "evaluation", source, ("evaluation",))
    if "delete" in data:
        fields["delete"] = data["delete"] if data["delete"] is not None else ()
    output = _mapping(data.get("output"), "output", source, ("output",))
    _check_keys(output, _OUTPUT, "output:", source, ("output",))
    if "experiment_dir" in output and "base_dir" in output:
        file, line = source("", ("output", "base_dir"))
        raise ExperimentSchemaError(
            "output sets both experiment_dir and base_dir",
            file=file,
            line=line,
            key="output",
            fix="experiment_dir is the exact folder; base_dir gets <name>_<timestamp> inside it: keep one",
        )
    if output.get("experiment_dir") is not None:
        fields["output_dir"] = _path(output["experiment_dir"], "experiment_dir", source)
    elif output.get("base_dir") is not None:
        base_dir = _path(output["base_dir"], "base_dir", source)
        fields["output_dir"] = str(Path(base_dir) / "{experiment_name}_{timestamp}")
    mapped = SourceMap(
        source.files,
        source.yaml_lines,
        {k: v for k, v in field_paths.items()},
    )
    return build_experiment(fields, mapped), mapped


def build_experiment(fields: dict[str, Any], source: SourceMap) -> Experiment:
    """Experiment(**fields), with schema errors pointed at the line that caused them."""
    try:
        return Experiment(**fields)
    except ConfigWriterError as exc:
        if exc.key and exc.file is None:
            exc.file, exc.line = source.field(exc.key)
            exc.args = (exc.render(),)
        raise
    except TypeError as exc:
        raise ExperimentSchemaError(str(exc), file=source("", ())[0], fix="check the field names") from None


def load_yaml_experiment(path: Path) -> tuple[Experiment, SourceMap]:
    data, lines = read_yaml(path)
    return experiment_from_yaml_data(data, SourceMap([path], lines))
