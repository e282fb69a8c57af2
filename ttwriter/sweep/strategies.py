"""The run space of a sweep: grid axes (variables, linked), exclusions, draws, replicates, derived.

Order (docs/sweeps.md): the grid as itertools.product of the axes (the variables in the order
written, then the linked axes in the order written; the last axis changes fastest), minus the
excluded grid points; each kept grid point once per draw (draw 0..num_samples-1); each of those a
condition (`c000`, `c001`, ...), run once per replicate (0..R-1) innermost, so the replicates of
one condition have consecutive run ids. Run `index` is therefore
`(kept_position * num_draws + draw) * replicates + replicate`, and any run's params are made from
its index alone: nothing per run is kept, however large the sweep.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ttwriter.errors import ExperimentSchemaError, KeyPath, Problems, ValuePath, did_you_mean, suggestion
from ttwriter.experiment.sample import Distribution
from ttwriter.experiment.strategies import RECORDED
from ttwriter.safe_read import data_problem
from ttwriter.sweep.expression import Expression
from ttwriter.sweep.sample import draw
from ttwriter.yaml_io import dump_scalar

SEED = "seed"
"""The param (and top-level config key) a replicate's seed is written to."""


@dataclasses.dataclass(frozen=True)
class Setting:
    """One key a run's params name and its config sets: `lora_rank` -> ('model', 'lora_rank')."""

    written: str
    path: KeyPath
    origin: ValuePath
    """Where it is written in the experiment (errors are located there)."""


@dataclasses.dataclass(frozen=True)
class Axis:
    """One grid axis: a variable (one key) or a linked axis (several keys set together)."""

    name: str
    settings: tuple[Setting, ...]
    entries: tuple[tuple[Any, ...], ...]
    """One tuple of values per point of the axis, in the order of `settings`."""
    linked: bool = False


@dataclasses.dataclass(frozen=True)
class Derived:
    """A key computed per run: from an expression, a Python callable, or values recorded per run."""

    setting: Setting
    compute: Callable[[dict[str, Any]], Any] | None
    recorded: tuple[Any, ...] | None = None

    def value(self, params: dict[str, Any], index: int, run_id: str) -> Any:
        if self.recorded is not None:
            return self.recorded[index]
        assert self.compute is not None
        try:
            value = self.compute(dict(params))
        except KeyError as exc:
            name = str(exc.args[0]) if exc.args else "?"
            hint = did_you_mean(name, params)
            raise ExperimentSchemaError(
                f"derived {self.setting.written!r} reads param {name!r}, which this run does not have"
                + (f"; {hint}" if hint else ""),
                path=self.setting.origin,
                run_id=run_id,
                fix="the run's params are: " + ", ".join(params),
            ) from None
        except Exception as exc:  # the researcher's callable or arithmetic (1 / 0) failed
            raise ExperimentSchemaError(
                f"derived {self.setting.written!r} failed for params "
                f"{_shown(params)}: "
                f"{type(exc).__name__}: {exc}",
                path=self.setting.origin,
                run_id=run_id,
                fix="make it give a value for every run's params",
            ) from None
        # What a callable returns is data built in code, checked like the experiment's own.
        problem = data_problem(value, levels_above=1)
        if problem is not None:
            message, _, fix = problem
            raise ExperimentSchemaError(
                f"derived {self.setting.written!r} gives {message} for params {_shown(params)}",
                path=self.setting.origin,
                run_id=run_id,
                fix=fix,
            )
        return value


def _shown(params: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={dump_scalar(v)}" for k, v in params.items())


def make_derived(setting: Setting, how: Any, names: Sequence[str], n_runs: int) -> Derived:
    """A derived key from what the experiment says: text is an Expression over `names`."""
    if isinstance(how, str):
        return Derived(setting, Expression(how, names, setting.origin))
    if isinstance(how, Mapping) and RECORDED in how:
        values = tuple(how[RECORDED])
        if len(values) != n_runs:
            raise ExperimentSchemaError(
                f"derived {setting.written!r} was recorded for {len(values)} runs, but this sweep has {n_runs}",
                path=setting.origin,
                fix="recorded values regenerate the same sweep only: change the sweep in the experiment file "
                "(whose callable computes them) and generate from it",
            )
        return Derived(setting, None, values)
    return Derived(setting, how)


@dataclasses.dataclass(frozen=True)
class Place:
    """Where a run is in the space."""

    condition: int
    replicate: int | None
    settings: tuple[tuple[Setting, Any], ...]
    """Every key this run sets from the sweep, with its value, in params order."""
    params: dict[str, Any]


@dataclasses.dataclass(frozen=True)
class RunSpace:
    axes: tuple[Axis, ...]
    kept: Sequence[int]
    """The grid indices that are not excluded, in grid order."""
    sampled: tuple[tuple[Setting, Distribution], ...] = ()
    num_draws: int = 1
    sample_seed: int = 0
    seeds: Sequence[int] | None = None
    seed_setting: Setting | None = None
    derived: tuple[Derived, ...] = ()

    @property
    def n_replicates(self) -> int:
        return len(self.seeds) if self.seeds is not None else 1

    @functools.cached_property
    def n_conditions(self) -> int:
        return len(self.kept) * self.num_draws

    @functools.cached_property
    def n_runs(self) -> int:
        return self.n_conditions * self.n_replicates

    @functools.cached_property
    def n_grid(self) -> int:
        n = 1
        for axis in self.axes:
            n *= len(axis.entries)
        return n

    @property
    def has_strategies(self) -> bool:
        """Whether anything beyond the full grid of variables makes the runs."""
        return bool(
            any(a.linked for a in self.axes)
            or len(self.kept) != self.n_grid
            or self.sampled
            or self.seeds is not None
            or self.derived
        )

    def count_text(self) -> str:
        """How the run count comes about: `12 runs = (4 grid - 1 excluded) x 2 draws x 2 replicates`."""
        excluded = self.n_grid - len(self.kept)
        text = f"{self.n_runs} run{'s' * (self.n_runs != 1)} = "
        text += f"({self.n_grid} grid - {excluded} excluded)" if excluded else f"{self.n_grid} grid"
        if self.sampled:
            text += f" x {self.num_draws} draw{'s' * (self.num_draws != 1)}"
        if self.seeds is not None:
            text += f" x {self.n_replicates} replicate{'s' * (self.n_replicates != 1)}"
        return text

    @functools.cached_property
    def condition_width(self) -> int:
        return max(3, len(str(self.n_conditions - 1)))

    def condition_id(self, condition: int) -> str:
        return f"c{condition:0{self.condition_width}d}"

    @functools.cached_property
    def _distributions(self) -> dict[str, Distribution]:
        return {s.written: d for s, d in self.sampled}

    def combo(self, grid_index: int) -> list[int]:
        """The entry of each axis at a grid index (the last axis fastest)."""
        combo, rest = [], grid_index
        for axis in reversed(self.axes):
            rest, position = divmod(rest, len(axis.entries))
            combo.append(position)
        combo.reverse()
        return combo

    def grid_settings(self, combo: Sequence[int]) -> list[tuple[Setting, Any]]:
        return [
            (setting, value)
            for axis, position in zip(self.axes, combo, strict=True)
            for setting, value in zip(axis.settings, axis.entries[position], strict=True)
        ]

    def place(self, index: int, run_id: str, draws: dict[int, dict[str, Any]] | None = None) -> Place:
        """The run at `index`; `draws`, if given, caches draws by k (the caller keeps it small)."""
        condition, replicate = divmod(index, self.n_replicates)
        position, k = divmod(condition, self.num_draws)
        settings = self.grid_settings(self.combo(self.kept[position]))
        if self.sampled:
            drawn = draws.get(k) if draws is not None else None
            if drawn is None:
                drawn = draw(self.sample_seed, k, self._distributions)
                if draws is not None:
                    draws.clear()
                    draws[k] = drawn
            settings += [(s, drawn[s.written]) for s, _ in self.sampled]
        if self.seeds is not None:
            assert self.seed_setting is not None
            settings.append((self.seed_setting, self.seeds[replicate]))
        params = {s.written: v for s, v in settings}
        for derived in self.derived:
            value = derived.value(params, index, run_id)
            settings.append((derived.setting, value))
            params[derived.setting.written] = value
        return Place(condition, replicate if self.seeds is not None else None, tuple(settings), params)


# --- exclusions ----------------------------------------------------------------------------------


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    return a == b


def _nearest(wanted: Any, values: Sequence[Any]) -> str | None:
    """For a number: "did you mean" the closest value when it is within half of it (17 -> 16)."""
    numbers = [v for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)]
    if not numbers or isinstance(wanted, bool) or not isinstance(wanted, (int, float)) or not wanted:
        return None
    closest = min(numbers, key=lambda v: abs(v - wanted))
    return suggestion([dump_scalar(closest)]) if abs(closest - wanted) <= abs(wanted) / 2 else None


def exclude(axes: Sequence[Axis], items: Sequence[Mapping[str, Any]], sampled: Sequence[str]) -> list[int]:
    """The grid indices left after `items`, checked: every name is a grid param, every item
    drops at least one grid point, and at least one point is left. Errors at `exclude[i]`."""
    where: dict[str, tuple[int, int]] = {}
    for a, axis in enumerate(axes):
        for s, setting in enumerate(axis.settings):
            where[setting.written] = (a, s)
    problems: list[ExperimentSchemaError] = []
    allowed: list[dict[int, set[int]]] = []
    for i, item in enumerate(items):
        per_axis: dict[int, set[int]] = {}
        bad = False
        for name, wanted in item.items():
            if name not in where:
                hint = did_you_mean(name, where)
                why = " (sampled values cannot be excluded)" if name in sampled else ""
                problems.append(
                    ExperimentSchemaError(
                        f"exclude item {i} names {name!r}, which is not a grid param{why}"
                        + (f"; {hint}" if hint else ""),
                        path=("exclude", i, name),
                        fix="exclude by variables and linked keys: " + (", ".join(where) or "(none)"),
                    )
                )
                bad = True
                continue
            a, s = where[name]
            matching = {e for e, entry in enumerate(axes[a].entries) if _same(entry[s], wanted)}
            if not matching:
                values = [dump_scalar(entry[s]) for entry in axes[a].entries]
                hint = _nearest(wanted, [entry[s] for entry in axes[a].entries]) or did_you_mean(
                    dump_scalar(wanted), values
                )
                problems.append(
                    ExperimentSchemaError(
                        f"exclude item {i} matches no run: {name} is never {dump_scalar(wanted)}"
                        + (f"; {hint}" if hint else ""),
                        path=("exclude", i, name),
                        fix=f"use one of the values of {name}: {', '.join(dict.fromkeys(values))}",
                    )
                )
                bad = True
                continue
            per_axis[a] = per_axis.get(a, matching) & matching
            if not per_axis[a]:
                problems.append(
                    ExperimentSchemaError(
                        f"exclude item {i} matches no run: no entry of linked axis {axes[a].name!r} "
                        f"has all of {', '.join(f'{k}={dump_scalar(v)}' for k, v in item.items())}",
                        path=("exclude", i),
                        fix=f"use values that one entry of {axes[a].name!r} sets together",
                    )
                )
                bad = True
        allowed.append({} if bad else per_axis)
    Problems(problems).raise_if_any()
    n = 1
    for axis in axes:
        n *= len(axis.entries)
    if not items:
        return range(n)  # type: ignore[return-value]
    kept: list[int] = []
    sizes = [len(axis.entries) for axis in axes]
    for index in range(n):
        combo, rest = [0] * len(sizes), index
        for a in range(len(sizes) - 1, -1, -1):
            rest, combo[a] = divmod(rest, sizes[a])
        if not any(
            per_axis and all(combo[a] in entries for a, entries in per_axis.items()) for per_axis in allowed
        ):
            kept.append(index)
    if not kept:
        raise ExperimentSchemaError(
            f"exclude drops every one of the {n} grid points, so the sweep would have no runs",
            path=("exclude",),
            fix="remove an exclude item, or add values to the variables",
        )
    return kept


# --- the seed control under replicates -------------------------------------------------------------


def replicated_seed(control: Any, replicates: Any, typed: bool) -> str | None:
    """What a `seed` control means next to `replicates` (docs/sweeps.md): with a count N it is the
    first of the N seeds (nothing to say); a list of seeds leaves it unused, an error when it was
    typed on the command line (`typed`), else the note returned."""
    if isinstance(replicates, int):
        return None
    seeds = list(replicates)
    shown = ", ".join(str(s) for s in seeds[:6]) + (", ..." if len(seeds) > 6 else "")
    value = control.value
    if not typed:
        return (
            f"replicates list the seeds ({shown}), so control {control.written!r} "
            f"(seed {dump_scalar(value)}) is not used; with a count (replicates: N) it would be the first seed"
        )
    if isinstance(value, int) and not isinstance(value, bool):
        wanted = range(value, value + len(seeds))
        listed = " ".join(map(str, wanted))
        fix = (
            f"for the seeds {value} .. {wanted[-1]}, give replicates as a count, which starts at the seed: "
            f"--replicates {len(seeds)}"
            + (f", or list them: --replicates {listed}" if len(seeds) <= 8 else "")
        )
    else:
        fix = "give the seeds with --replicates SEED [SEED ...]"
    raise ExperimentSchemaError(
        f"seed {dump_scalar(value)} would never be used: replicates list the seeds each run takes ({shown})",
        path=("controls", *control.written.split(".")),
        fix=fix,
    )
