"""Expanding an experiment into runs: base -> deletes -> controls -> this run's variables.

Keys are resolved and types checked once for the whole sweep; each run then costs one copy of the
shared config plus its own variable values, so large sweeps stay linear and can be written as they
are produced.
"""

from __future__ import annotations

import dataclasses
import itertools
import os
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from ttwriter.base_config import BaseConfig
from ttwriter.errors import ExperimentSchemaError, did_you_mean
from ttwriter.experiment import Experiment
from ttwriter.frozen import thaw
from ttwriter.keys import Assignment, KeyResolver, Locate, flatten
from ttwriter.merge import copy_config, delete_path, set_path
from ttwriter.yaml_io import dump_scalar

KeyPath = tuple[str, ...]

_PLACEHOLDER = re.compile(r"\{([A-Za-z_][\w.]*)\}")


def _tokens(text: str) -> list[tuple[str, str]]:
    """Split a control string into ('text', s) and ('name', placeholder) pieces, left to right.

    `${...}` OmegaConf interpolations (nested ones too) are copied through untouched; `{{` and `}}`
    are literal braces, as in `str.format`; `{name}` is a placeholder.
    """
    out: list[tuple[str, str]] = []
    i = 0
    while i < len(text):
        if text.startswith("${", i):
            depth, j = 0, i + 1
            while j < len(text):
                depth += {"{": 1, "}": -1}.get(text[j], 0)
                j += 1
                if depth == 0:
                    break
            out.append(("text", text[i:j]))
            i = j
        elif text.startswith(("{{", "}}"), i):
            out.append(("text", text[i]))
            i += 2
        elif (match := _PLACEHOLDER.match(text, i)) is not None:
            out.append(("name", match.group(1)))
            i = match.end()
        else:
            out.append(("text", text[i]))
            i += 1
    return out


def _is_template(text: str) -> bool:
    return any(kind == "name" for kind, _ in _tokens(text)) or "{{" in text or "}}" in text


@dataclasses.dataclass(frozen=True)
class Run:
    """One generated torchtune config and the variable values that made it."""

    id: str
    index: int
    params: dict[str, Any]
    """Variable values by the names the researcher wrote (`lora_rank`), with their real types."""
    output_dir: str
    config: dict[str, Any]


@dataclasses.dataclass(frozen=True)
class SweepPlan:
    """Everything needed to produce the runs of one experiment, resolved and checked."""

    experiment: Experiment
    base: BaseConfig
    experiment_dir: Path
    controls: tuple[Assignment, ...]
    variables: tuple[Assignment, ...]
    deletes: tuple[Assignment, ...]
    notes: tuple[str, ...]
    """Things the researcher should hear about, such as a variable overriding a control."""
    _common: dict[str, Any]
    _templated: tuple[Assignment, ...]

    @property
    def n_runs(self) -> int:
        n = 1
        for assignment in self.variables:
            n *= len(assignment.value)
        return n

    @property
    def id_width(self) -> int:
        return max(3, len(str(self.n_runs - 1)))

    def run_id(self, index: int) -> str:
        return f"run_{index:0{self.id_width}d}"

    def runs(self) -> Iterator[Run]:
        """Every run in sweep order: the first variable outermost, like itertools.product."""
        value_lists = [a.value for a in self.variables]
        for index, combo in enumerate(itertools.product(*value_lists)):
            yield self._make_run(index, combo)

    def _make_run(self, index: int, combo: tuple[Any, ...]) -> Run:
        run_id = self.run_id(index)
        params = {a.written: value for a, value in zip(self.variables, combo, strict=True)}
        config = copy_config(self._common)
        fields = {"run_id": run_id, "experiment_name": self.experiment.name, **params}
        for assignment in self._templated:
            set_path(
                config,
                assignment.path,
                _substitute(assignment.value, fields),
                f"controls.{assignment.written}",
            )
        for assignment, value in zip(self.variables, combo, strict=True):
            set_path(config, assignment.path, value, f"variables.{assignment.written}")
        output_dir = self._run_output_dir(config, run_id)
        config["output_dir"] = output_dir
        return Run(run_id, index, params, output_dir, config)

    def _run_output_dir(self, config: dict[str, Any], run_id: str) -> str:
        if any(a.path == ("output_dir",) for a in self.variables):
            chosen = str(config["output_dir"])
        elif any(a.path == ("output_dir",) for a in self.controls):
            template = next(a.value for a in self.controls if a.path == ("output_dir",))
            chosen = str(config["output_dir"])
            if not _makes_unique(str(template), [a.written for a in self.variables]):
                chosen = f"{chosen.rstrip('/')}/{run_id}"
        else:
            return str(self.experiment_dir / "runs" / run_id)
        if chosen.startswith("~"):
            return os.path.expanduser(chosen)  # torchtune would not expand it
        if chosen.startswith(("/", "${")):
            return chosen
        return str(self.experiment_dir / chosen)


def _makes_unique(template: str, variable_names: list[str]) -> bool:
    used = _placeholders(template)
    return "run_id" in used or (bool(variable_names) and set(variable_names) <= used)


def _format(value: Any) -> str:
    return value if isinstance(value, str) else dump_scalar(value)


def _substitute(value: Any, fields: Mapping[str, Any]) -> Any:
    if isinstance(value, str):
        return "".join(piece if kind == "text" else _format(fields[piece]) for kind, piece in _tokens(value))
    if isinstance(value, dict):
        return {k: _substitute(v, fields) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, fields) for v in value]
    return value


def _placeholders(value: Any) -> set[str]:
    if isinstance(value, str):
        return {piece for kind, piece in _tokens(value) if kind == "name"}
    if isinstance(value, dict):
        return set().union(*(_placeholders(v) for v in value.values())) if value else set()
    if isinstance(value, list):
        return set().union(*(_placeholders(v) for v in value)) if value else set()
    return set()


def _is_variable_leaf(value: Any) -> bool:
    return not isinstance(value, Mapping)


def _resolve_section(
    resolver: KeyResolver, section: str, tree: Mapping[str, Any], is_leaf: Any
) -> list[Assignment]:
    """Resolve every leaf of one section, refusing two spellings of the same key."""
    out: list[Assignment] = []
    seen: dict[KeyPath, str] = {}
    for written_path, value in flatten(tree, is_leaf):
        path = resolver.resolve(section, written_path)
        written = ".".join(written_path)
        if path in seen:
            raise ExperimentSchemaError(
                f"{seen[path]!r} and {written!r} both set {'.'.join(path)!r}",
                key=f"{section}.{written}",
                fix="keep only one of them",
            )
        seen[path] = written
        out.append(Assignment(written, path, thaw(value)))
    return out


def expand_sweep(
    experiment: Experiment, base: BaseConfig, experiment_dir: Path, locate: Locate | None = None
) -> SweepPlan:
    """Resolve keys, apply deletes and controls once, and return the plan that yields each run.

    Raises the errors a researcher can fix before anything is written: unknown or ambiguous keys,
    type changes, deletes of missing keys, unknown placeholders.
    """
    resolver = KeyResolver(base.data, locate)
    deletes = [
        Assignment(d, resolver.resolve("delete", tuple(d.split(".")), must_exist=True), None)
        for d in experiment.delete
    ]
    controls = _resolve_section(resolver, "controls", experiment.controls, lambda v: False)
    variables = _resolve_section(resolver, "variables", experiment.variables, _is_variable_leaf)

    notes = []
    variable_paths = {a.path: a for a in variables}
    kept_controls = []
    for control in controls:
        if control.path in variable_paths:
            notes.append(
                f"variable {variable_paths[control.path].written!r} overrides control "
                f"{control.written!r} ({'.'.join(control.path)}): each run uses the variable's value"
            )
        else:
            kept_controls.append(control)

    allowed = {"run_id", "experiment_name", *(a.written for a in variables)}
    templated = []
    for control in kept_controls:
        names = _placeholders(control.value)
        unknown = sorted(names - allowed)
        if unknown:
            hint = did_you_mean(unknown[0], allowed)
            file, line = (locate or (lambda s, p: (None, None)))(
                "controls", tuple(control.written.split("."))
            )
            raise ExperimentSchemaError(
                f"unknown placeholder {{{unknown[0]}}}" + (f"; {hint}" if hint else ""),
                file=file,
                line=line,
                key=f"controls.{control.written}",
                fix="placeholders are {run_id}, {experiment_name} and variable names: "
                + ", ".join("{" + a + "}" for a in sorted(allowed))
                + "; write {{ and }} for literal braces",
            )
        if names or "{{" in str(control.value) or "}}" in str(control.value):
            templated.append(control)

    common = copy_config(base.data)
    for delete in deletes:
        delete_path(common, delete.path, f"delete.{delete.written}")
    for control in kept_controls:
        set_path(common, control.path, control.value, f"controls.{control.written}")
    # Type-check every variable value now, so a bad value fails before anything is written.
    for variable in variables:
        for value in variable.value:
            set_path(copy_config(common), variable.path, value, f"variables.{variable.written}")

    return SweepPlan(
        experiment=experiment,
        base=base,
        experiment_dir=experiment_dir,
        controls=tuple(kept_controls),
        variables=tuple(variables),
        deletes=tuple(deletes),
        notes=tuple(notes),
        _common=common,
        _templated=tuple(templated),
    )
