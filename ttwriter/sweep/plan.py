"""Expanding an experiment into runs: base -> deletes -> controls -> this run's variables.

Keys are resolved and types checked once for the whole sweep; each run then costs one copy of the
shared config plus its own variable values, so large sweeps stay linear and can be written as they
are produced.
"""

from __future__ import annotations

import dataclasses
import functools
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from ttwriter.errors import (
    ExperimentSchemaError,
    KeyPath,
    Problems,
    TooManyRunsError,
    ValuePath,
    did_you_mean,
    key_path,
)
from ttwriter.experiment.experiment import Experiment
from ttwriter.experiment.frozen import thaw
from ttwriter.experiment.strategies import RECORDED
from ttwriter.folder.layout import RUNS_DIR
from ttwriter.placeholders import is_template, names, substitute
from ttwriter.sweep.base_config import BaseConfig
from ttwriter.sweep.expression import Expression
from ttwriter.sweep.keys import Assignment, KeyResolver, flatten
from ttwriter.sweep.merge import copy_config, copy_value, delete_path, set_path
from ttwriter.sweep.space import check_values, plan_space
from ttwriter.sweep.strategies import RunSpace, Setting, replicated_seed
from ttwriter.yaml_io import dump_scalar


@dataclasses.dataclass(frozen=True)
class Run:
    """One generated torchtune config and the variable values that made it."""

    id: str
    index: int
    params: dict[str, Any]
    """Swept values by the names the researcher wrote (`lora_rank`), with their real types:
    variables, linked keys, sampled values, the replicate's seed, derived values."""
    output_dir: str
    config: dict[str, Any]
    condition: str | None = None
    """The condition id (`c000`) shared by the replicates of one condition; None without replicates."""
    replicate: int | None = None
    """The replicate index 0..R-1; None without replicates."""


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
    space: RunSpace
    """The runs: grid, exclusions, draws, replicates and derived values (sweep.strategies)."""

    @property
    def n_runs(self) -> int:
        return self.space.n_runs

    @functools.cached_property
    def swept_paths(self) -> tuple[KeyPath, ...]:
        """Every config key a run sets from the sweep (variables, linked, sampled, seed, derived)."""
        return tuple(s.path for s in _settings(self.space))

    def derived_expressions(self) -> dict[str, str]:
        """Top-level config key -> the text of the expression that derives it (`lora_rank / 4`)."""
        return {
            d.setting.path[0]: d.compute.text
            for d in self.space.derived
            if len(d.setting.path) == 1 and isinstance(d.compute, Expression)
        }

    @functools.cached_property
    def id_width(self) -> int:
        return max(3, len(str(self.n_runs - 1)))

    def run_id(self, index: int) -> str:
        return f"run_{index:0{self.id_width}d}"

    @property
    def common(self) -> dict[str, Any]:
        """The config every run starts from: base, deletes and controls applied. Do not change it."""
        return self._common

    @functools.cached_property
    def varying_keys(self) -> frozenset[str]:
        """Top-level keys whose value can differ from `common` in a run; all others are equal to it."""
        return frozenset(
            ("output_dir", *(p[0] for p in self.swept_paths), *(a.path[0] for a in self._templated))
        )

    def runs(self, *, share_unchanged: bool = False) -> Iterator[Run]:
        """Every run in sweep order: the first variable outermost, like itertools.product.

        Each run's config is its own deep copy. With `share_unchanged`, top-level sections outside
        `varying_keys` are instead the objects of `common` itself, shared by every run: much
        cheaper, for readers that never change a run's config below its top level.
        """
        draws: dict[int, dict[str, Any]] = {}
        varying = self.varying_keys
        space = self.space
        for index in range(space.n_runs):
            run_id = self.run_id(index)
            place = space.place(index, run_id, draws)
            if share_unchanged:
                config = {k: copy_value(v) if k in varying else v for k, v in self._common.items()}
            else:
                config = copy_config(self._common)
            output_dir = self._apply(config, run_id, place.settings, place.params)
            condition = space.condition_id(place.condition) if place.replicate is not None else None
            yield Run(run_id, index, place.params, output_dir, config, condition, place.replicate)

    def recorded_experiment(self) -> Experiment:
        """The experiment with each derived callable replaced by the values it gave each run
        (`{per_run: [...]}`), as experiment.json records it: it regenerates without the callable."""
        derived = self.experiment.derived
        if not any(callable(how) for how in derived.values()):
            return self.experiment
        values: dict[str, list[Any]] = {key: [] for key, how in derived.items() if callable(how)}
        draws: dict[int, dict[str, Any]] = {}
        for index in range(self.n_runs):
            params = self.space.place(index, self.run_id(index), draws).params
            for key, recorded in values.items():
                recorded.append(params[key])
        kept = {key: {RECORDED: values[key]} if key in values else how for key, how in derived.items()}
        return dataclasses.replace(self.experiment, derived=kept)

    @functools.cached_property
    def _draws(self) -> dict[int, dict[str, Any]]:
        """The last draw `describe` made (records are read in order: consecutive runs share it)."""
        return {}

    def condition_of(self, index: int) -> tuple[str | None, int | None]:
        """`(condition id, replicate index)` of the run at `index`; `(None, None)` without replicates."""
        if self.space.seeds is None:
            return None, None
        condition, replicate = divmod(index, self.space.n_replicates)
        return self.space.condition_id(condition), replicate

    def describe(self, index: int) -> tuple[str, dict[str, Any], str]:
        """`(id, params, output_dir)` of the run at `index` of `runs()`, without making its config."""
        if not 0 <= index < self.n_runs:
            raise IndexError(f"run index {index} out of range for a sweep of {self.n_runs} runs")
        run_id = self.run_id(index)
        place = self.space.place(index, run_id, self._draws)
        # A run's output_dir depends on nothing but the output_dir section: make only that one.
        config = {k: v for k, v in self._common.items() if k == "output_dir"}
        return (
            run_id,
            place.params,
            self._apply(config, run_id, place.settings, place.params, only="output_dir"),
        )

    def _apply(
        self,
        config: dict[str, Any],
        run_id: str,
        settings: Sequence[tuple[Setting, Any]],
        params: dict[str, Any],
        only: str | None = None,
    ) -> str:
        """Set this run's templated controls and swept values (under top-level key `only`, if
        given) and its output_dir in `config`; return the output_dir."""
        fields = {"run_id": run_id, "experiment_name": self.experiment.name, **params}
        for assignment in self._templated:
            if only is None or assignment.path[0] == only:
                set_path(
                    config,
                    assignment.path,
                    substitute(assignment.value, fields, _format),
                    _origin("controls", assignment),
                )
        for setting, value in settings:
            if only is None or setting.path[0] == only:
                if isinstance(value, str) and "{" in value or isinstance(value, (dict, list)):
                    value = substitute(value, fields, _format)  # '/data/{run_id}.json' as a variable value
                set_path(config, setting.path, value, setting.origin)
        output_dir = self._run_output_dir(config, run_id)
        config["output_dir"] = output_dir
        return output_dir

    @functools.cached_property
    def _distinguishing(self) -> list[str]:
        """The params that together tell every run apart (grid, draws, seed; derived follow from them)."""
        space = self.space
        names = [s.written for axis in space.axes for s in axis.settings]
        names += [s.written for s, _ in space.sampled]
        names += [space.seed_setting.written] if space.seed_setting else []
        return names

    def _run_output_dir(self, config: dict[str, Any], run_id: str) -> str:
        if ("output_dir",) in self.swept_paths:
            chosen = str(config["output_dir"])
        elif any(a.path == ("output_dir",) for a in self.controls):
            template = next(a.value for a in self.controls if a.path == ("output_dir",))
            chosen = str(config["output_dir"])
            if not _makes_unique(str(template), self._distinguishing):
                chosen = f"{chosen.rstrip('/')}/{run_id}"
        else:
            return os.path.join(self.experiment_dir, RUNS_DIR, run_id)  # as str(Path / ...), faster
        if chosen.startswith("~"):
            return os.path.expanduser(chosen)  # torchtune would not expand it
        if chosen.startswith(("/", "${")):
            return chosen
        return str(self.experiment_dir / chosen)


def _makes_unique(template: str, variable_names: list[str]) -> bool:
    used = names(template)
    return "run_id" in used or (bool(variable_names) and set(variable_names) <= used)


def _format(value: Any) -> str:
    """A value as it appears inside a string: `1e-05`, not YAML's `1.0e-05`; `true`, `8`."""
    if isinstance(value, str):
        return value
    if isinstance(value, float):
        return repr(value)
    return dump_scalar(value)


def _order_like(node: Any, base: Any) -> Any:
    """`node` with its keys in `base`'s order wherever `base` has them; new keys after, as they were."""
    if not isinstance(node, dict) or not isinstance(base, dict):
        return node
    ordered = {k: _order_like(node[k], base[k]) for k in base if k in node}
    ordered.update((k, v) for k, v in node.items() if k not in ordered)
    return ordered


def _is_variable_leaf(value: Any) -> bool:
    return not isinstance(value, Mapping)


def _resolve_section(
    resolver: KeyResolver,
    section: str,
    tree: Mapping[str, Any],
    is_leaf: Any,
    notes: list[str],
    problems: Problems,
) -> list[Assignment]:
    """Resolve every leaf of one section; a key that cannot be resolved is a problem, and the
    others are still resolved. When two spellings of controls set the same key (a child's
    `{**parent.controls, "lr": 1e-4}` where the parent wrote `learning_rate`), the later one
    wins, as in a Python dict, and a note says so; for variables it is an error."""
    out: dict[KeyPath, Assignment] = {}
    for written_path, value in flatten(tree, is_leaf):
        with problems.collect():
            path = resolver.resolve(section, written_path)
            written = ".".join(written_path)
            if path in out and section == "variables":
                # For a variable the later spelling would silently drop a whole axis of the sweep.
                raise ExperimentSchemaError(
                    f"{out[path].written!r} and {written!r} both sweep {'.'.join(path)!r}",
                    path=(section, *written_path),
                    fix="keep one of them; to combine their values, list them under one key",
                )
            if path in out:
                earlier = out.pop(path).written
                how = (
                    f"{earlier!r} and then {written!r}"
                    if earlier != written
                    else f"{written!r} twice (nested and dotted)"
                )
                notes.append(f"{section} set {'.'.join(path)} as {how}; the later value wins")
            out[path] = Assignment(written, path, thaw(value))
    return list(out.values())


def _origin(section: str, assignment: Assignment) -> ValuePath:
    """Where an assignment is in the experiment, as errors locate it: `('controls', 'optimizer', 'lr')`."""
    return (section, *assignment.written.split("."))


def expand_sweep(
    experiment: Experiment,
    base: BaseConfig,
    experiment_dir: Path,
    from_command_line: Callable[[ValuePath], bool] = lambda path: False,
) -> SweepPlan:
    """Resolve keys, apply deletes and controls once, and return the plan that yields each run.

    Raises the errors a researcher can fix before anything is written, all of them at once:
    unknown or ambiguous keys, type changes, deletes of missing keys, unknown placeholders.
    `from_command_line` says which keys a command-line override set (a control the sweep then
    never uses is an error for those, a note otherwise).
    """
    problems = Problems()
    resolver = KeyResolver(base.data)
    deletes: list[Assignment] = []
    for written in experiment.delete:
        with problems.collect():
            delete = Assignment(
                written, resolver.resolve("delete", tuple(written.split(".")), must_exist=True), None
            )
            for other in deletes:
                inner, outer = sorted((delete, other), key=lambda d: len(d.path), reverse=True)
                if inner.path[: len(outer.path)] == outer.path:
                    raise ExperimentSchemaError(
                        f"delete lists {inner.written!r}, which is inside {outer.written!r}, deleted too"
                        if inner.path != outer.path
                        else f"delete lists {'.'.join(inner.path)!r} twice",
                        path=_origin("delete", inner),
                        fix=f"keep only {outer.written!r}",
                    )
            deletes.append(delete)
    notes: list[str] = []
    controls = _resolve_section(resolver, "controls", experiment.controls, lambda v: False, notes, problems)
    variables = _resolve_section(
        resolver, "variables", experiment.variables, _is_variable_leaf, notes, problems
    )

    seed_control = next((c.value for c in controls if c.path == ("seed",)), None)

    def resolve(section: str, written: KeyPath) -> KeyPath:
        return resolver.resolve(section, written)

    space = plan_space(experiment, resolve, variables, seed_control, problems)
    if any(isinstance(p, TooManyRunsError) for p in problems.found):
        problems.raise_if_any()  # the checks per value below would take as long as the sweep is large
    swept: dict[KeyPath, tuple[str, str, ValuePath]] = {}
    if space is not None:
        for setting in _settings(space):
            swept[setting.path] = (_what(setting), setting.written, setting.origin)
    for a in variables:
        swept.setdefault(a.path, ("variable", a.written, _origin("variables", a)))
    kept_controls = []
    for control in controls:
        if control.path not in swept:
            kept_controls.append(control)
            continue
        what, swept_by, where = swept[control.path]
        typed = from_command_line(_origin("controls", control))
        if what == "replicates":
            with problems.collect():
                note = replicated_seed(control, experiment.replicates, typed)
                kept_controls.append(control)  # replicates: N count from it (docs/sweeps.md)
                if note:
                    notes.append(note)
            continue
        if typed:
            flag = (
                f"give its values with --variables.{swept_by.replace('_', '-')} VALUE [VALUE ...]"
                if what == "variable"
                else f"change its values in {key_path(where)}, which the sweep sets it from"
            )
            problems.add(
                ExperimentSchemaError(
                    f"{control.written!r} is swept by {what} {swept_by!r}, so this value would never be used",
                    path=_origin("controls", control),
                    fix=flag,
                )
            )
            continue
        notes.append(
            f"{what} {swept_by!r} overrides control "
            f"{control.written!r} ({'.'.join(control.path)}): each run uses the {what}'s value"
        )

    allowed = {"run_id", "experiment_name", *(a.written for a in variables)}
    allowed |= {s.written for s in _settings(space)} if space is not None else set()

    def check_placeholders(section: str, assignment: Assignment, value: Any) -> None:
        """Refuse unknown placeholders."""
        unknown = sorted(names(value) - allowed)
        if unknown:
            hint = did_you_mean(unknown[0], allowed)
            raise ExperimentSchemaError(
                f"unknown placeholder {{{unknown[0]}}}" + (f"; {hint}" if hint else ""),
                path=_origin(section, assignment),
                fix="placeholders are {run_id}, {experiment_name} and variable names: "
                + ", ".join("{" + a + "}" for a in sorted(allowed))
                + "; write {{ and }} for literal braces",
            )

    valid_controls = []
    for control in kept_controls:
        with problems.collect():
            check_placeholders("controls", control, control.value)
            valid_controls.append(control)
    templated = [c for c in valid_controls if is_template(c.value)]
    for variable in variables:
        for value in variable.value:
            with problems.collect():
                check_placeholders("variables", variable, value)

    common = copy_config(base.data)
    for delete in deletes:
        with problems.collect():
            delete_path(common, delete.path, _origin("delete", delete))
    for control in valid_controls:
        with problems.collect():
            set_path(common, control.path, control.value, _origin("controls", control))
    if deletes:
        common = _order_like(common, base.data)  # a node deleted, then set again, keeps its place
    # Type-check every variable value now, so a bad value fails before anything is written.
    for variable in variables:
        for value in variable.value:
            with problems.collect():
                set_path(copy_config(common), variable.path, value, _origin("variables", variable))
    if space is not None:
        width = max(3, len(str(space.n_runs - 1)))

        def check(setting: Setting, value: Any) -> None:
            set_path(copy_config(common), setting.path, value, setting.origin)

        check_values(space, check, problems, lambda index: f"run_{index:0{width}d}")
    problems.raise_if_any()
    assert space is not None

    return SweepPlan(
        experiment=experiment,
        base=base,
        experiment_dir=experiment_dir,
        controls=tuple(valid_controls),
        variables=tuple(variables),
        deletes=tuple(deletes),
        notes=tuple(notes),
        _common=common,
        _templated=tuple(templated),
        space=space,
    )


def _settings(space: RunSpace) -> list[Setting]:
    """Every key the space sets, in params order."""
    out = [s for axis in space.axes for s in axis.settings]
    out += [s for s, _ in space.sampled]
    out += [space.seed_setting] if space.seed_setting else []
    return out + [d.setting for d in space.derived]


def _what(setting: Setting) -> str:
    return {
        "variables": "variable",
        "linked": "linked key",
        "sample": "sampled key",
        "replicates": "replicates",
        "derived": "derived key",
    }[str(setting.origin[0])]
