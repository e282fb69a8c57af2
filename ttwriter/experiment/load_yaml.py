"""Loading experiment.yaml, in either shape the spec shows.

Flat:   experiment_name, base_config | base_config_file, variables, controls, output.experiment_dir
Nested: experiment: {name, framework, question, ...}, framework_config: {base_config | ...},
        variables, controls, output: {experiment_dir | base_dir}

Both become the same `Experiment`. The keys each shape allows follow from the `Experiment`'s
fields, so a field added there (a section like `slurm:`) is read from YAML with no change here.
Unknown keys are errors with a suggestion, never ignored, and every problem of the file is found
in one go: every unknown key in every section, and every field the `Experiment` refuses.
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ttwriter.errors import (
    ConfigWriterError,
    ExperimentLoadError,
    ExperimentSchemaError,
    Problems,
    close_matches,
    did_you_mean,
    locating,
)
from ttwriter.experiment.experiment import Experiment
from ttwriter.experiment.schema import build_valid, sub_configs
from ttwriter.experiment.source_map import SourceMap
from ttwriter.yaml_io import read_yaml

_EXPERIMENT = {"name", "framework", "question", "hypothesis", "researcher", "date", "tags", "notes"}
"""Fields under `experiment:` in the nested shape (`name` is `experiment_name` in the flat one)."""
_FRAMEWORK_CONFIG = {"base_config", "base_config_file", "recipe"}
_OUTPUT = {"experiment_dir", "base_dir"}
_COMMON = {f.name for f in dataclasses.fields(Experiment)} - _EXPERIMENT - _FRAMEWORK_CONFIG - {"output_dir"}
_COMMON |= {"output"}
"""Top-level keys of both shapes: variables, controls, delete, slurm, output, and any field added."""
_FLAT = _COMMON | (_EXPERIMENT - {"name"}) | {"experiment_name"} | _FRAMEWORK_CONFIG
_NESTED = _COMMON | {"experiment", "framework_config"}

_SECTIONS = set(sub_configs(Experiment)) | {
    name for name, hint in typing.get_type_hints(Experiment).items() if typing.get_origin(hint) is Mapping
}
"""Fields written as a mapping of keys: controls, variables, slurm, and any such field added."""

# Where each Experiment field is written, per shape, for error lines.
_FLAT_FIELDS: dict[str, tuple[str, ...]] = {"name": ("experiment_name",), "output_dir": ("output",)}
_NESTED_FIELDS: dict[str, tuple[str, ...]] = {
    **{f: ("experiment", f) for f in _EXPERIMENT},
    **{f: ("framework_config", f) for f in _FRAMEWORK_CONFIG},
    "output_dir": ("output",),
}

_TORCHTUNE_KEYS = {
    "model",
    "tokenizer",
    "checkpointer",
    "dataset",
    "optimizer",
    "loss",
    "output_dir",
    "epochs",
    "batch_size",
    "device",
    "dtype",
    "seed",
    "metric_logger",
    "lr_scheduler",
    "gradient_accumulation_steps",
    "compile",
}
"""Top-level keys of torchtune's recipe configs, which an experiment never has."""


def _check_keys(
    data: Mapping[str, Any], allowed: set[str], where: str, source: SourceMap, path: tuple[str, ...]
) -> list[ConfigWriterError]:
    problems: list[ConfigWriterError] = []
    for key in data:
        if key not in allowed:
            hint = did_you_mean(str(key), allowed)
            file, line = source("", (*path, str(key)))
            problems.append(
                ExperimentSchemaError(
                    f"unknown key {key!r} in {where}" + (f"; {hint}" if hint else ""),
                    file=file,
                    line=line,
                    key=".".join((*path, str(key))),
                    fix="allowed keys here: " + ", ".join(sorted(allowed)),
                )
            )
    return problems


def _meant_fields(unknown_keys: tuple[ConfigWriterError, ...]) -> set[str]:
    """The fields the unknown keys found so far were probably meant to be: a problem of such a
    field (`base_cofig:` leaves base_config unset) is the same mistake, said once already."""
    names = {"experiment_name": "name"}
    return {
        names.get(match, match)
        for problem in unknown_keys
        if problem.key
        for match in close_matches(problem.key.rpartition(".")[2], _FLAT | _EXPERIMENT | _OUTPUT, n=1)
    }


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


def _has_component(node: Any, depth: int = 0) -> bool:
    if isinstance(node, Mapping):
        return "_component_" in node or (
            depth < 3 and any(_has_component(v, depth + 1) for v in node.values())
        )
    if isinstance(node, list) and depth < 3:
        return any(_has_component(v, depth + 1) for v in node)
    return False


def _check_not_torchtune(data: Mapping[str, Any], source: SourceMap) -> None:
    """A torchtune config given where an experiment belongs: say so, rather than list its keys."""
    others = [str(key) for key in data if key not in _TORCHTUNE_KEYS]
    if any(close_matches(key, _FLAT | _NESTED, n=1) for key in others):
        return  # an experiment, perhaps with typos
    typical = sorted(k for k in data if k in _TORCHTUNE_KEYS)
    if not _has_component(data) and len(typical) < 2:
        return
    file = source("", ())[0]
    name = Path(file).name if file else "this file"
    shown = ", ".join(typical[:4]) if typical else "_component_ nodes"
    raise ExperimentLoadError(
        f"this is a torchtune config ({shown}), not an experiment",
        file=file,
        fix=f"use it as the base of an experiment: an experiment.yaml beside it with "
        f"'experiment_name: my_sweep' and 'base_config_file: {name}', then controls and variables "
        "(see docs/experiment_format.md)",
    )


def experiment_from_yaml_data(
    data: Any, source: SourceMap
) -> tuple[Experiment, SourceMap, tuple[ConfigWriterError, ...]]:
    """The Experiment of parsed experiment.yaml data of either shape, where its fields are written,
    and every problem found. With problems, the experiment is made of the fields that have none,
    so that generation can find the problems of the keys too before reporting them all (it must
    not be generated); when not even that can be made, the problems are raised here."""
    if not isinstance(data, Mapping):
        raise ExperimentSchemaError(
            "experiment.yaml must be a mapping with at least experiment_name and base_config",
            file=source("", ())[0],
            fix="see docs/experiment_format.md for both accepted shapes",
        )
    _check_not_torchtune(data, source)
    nested = "experiment" in data or "framework_config" in data
    problems = Problems(_check_keys(data, _NESTED if nested else _FLAT, "experiment.yaml", source, ()))
    fields = _nested_fields(data, source, problems) if nested else _flat_fields(data, source, problems)
    for key in data:
        if key not in _COMMON or key == "output":
            continue
        if key in _SECTIONS:
            with problems.collect():
                fields[key] = _mapping(data[key], key, source, (key,))
        elif data[key] is not None:
            fields[key] = data[key]
    field_paths = dict(_NESTED_FIELDS if nested else _FLAT_FIELDS)
    with problems.collect():
        written = _output_dir(data, fields, source, problems)
        if written:
            field_paths["output_dir"] = ("output", written)
    mapped = SourceMap(source.files, source.yaml_lines, field_paths)
    with locating(mapped.locate):
        experiment, found = build_valid(Experiment, fields)
    meant = _meant_fields(problems.found)
    for problem in found:
        if not (problem.path and problem.path[0] in meant):
            problems.add(problem)
    if experiment is None:
        problems.raise_if_any()
    assert experiment is not None
    return experiment, mapped, problems.found


def _nested_fields(data: Mapping[str, Any], source: SourceMap, problems: Problems) -> dict[str, Any]:
    """The fields under `experiment:` and `framework_config:`."""
    fields: dict[str, Any] = {}
    for section, allowed in (("experiment", _EXPERIMENT), ("framework_config", _FRAMEWORK_CONFIG)):
        with problems.collect():
            values = _mapping(data.get(section), section, source, (section,))
            for problem in _check_keys(values, allowed, f"{section}:", source, (section,)):
                problems.add(problem)
            fields.update((k, v) for k, v in values.items() if k in allowed)
    meta = data.get("experiment") or {}
    if "name" not in fields and isinstance(meta, Mapping) and not _misspelled("name", meta):
        file, line = source("", ("experiment",))
        problems.add(
            ExperimentSchemaError(
                "experiment.name is missing",
                file=file,
                line=line,
                key="experiment.name",
                fix="add 'name: my_experiment' under experiment:",
            )
        )
    fields.setdefault("name", Experiment.STAND_INS["name"])  # reported: check the rest
    return fields


def _flat_fields(data: Mapping[str, Any], source: SourceMap, problems: Problems) -> dict[str, Any]:
    """The metadata and base config fields at the top level."""
    fields = {
        "name" if key == "experiment_name" else key: data[key]
        for key in sorted(_FLAT - _COMMON)
        if key in data
    }
    if "name" not in fields and not _misspelled("experiment_name", data):
        problems.add(
            ExperimentSchemaError(
                "experiment_name is missing",
                file=source("", ())[0],
                line=1,
                key="experiment_name",
                fix="add 'experiment_name: my_experiment' at the top",
            )
        )
    fields.setdefault("name", Experiment.STAND_INS["name"])  # reported: check the rest
    return fields


def _misspelled(key: str, data: Mapping[Any, Any]) -> bool:
    """Whether a key of `data` looks like a misspelling of `key` (then reported as unknown)."""
    return any(close_matches(str(k), [key]) for k in data)


def _output_dir(
    data: Mapping[str, Any], fields: dict[str, Any], source: SourceMap, problems: Problems
) -> str | None:
    """Set the `output_dir` field from the `output:` section; returns the key it is written as."""
    output = _mapping(data.get("output"), "output", source, ("output",))
    for problem in _check_keys(output, _OUTPUT, "output:", source, ("output",)):
        problems.add(problem)
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
        return "experiment_dir"
    if output.get("base_dir") is not None:
        base_dir = _path(output["base_dir"], "base_dir", source)
        fields["output_dir"] = str(Path(base_dir) / "{experiment_name}_{timestamp}")
        return "base_dir"
    return None


def load_yaml_experiment(path: Path) -> tuple[Experiment, SourceMap, tuple[ConfigWriterError, ...]]:
    """An experiment.yaml file: see `experiment_from_yaml_data`."""
    data, lines = read_yaml(path)
    return experiment_from_yaml_data(data, SourceMap([path], lines))
