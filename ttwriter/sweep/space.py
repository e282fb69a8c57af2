"""Making a sweep's run space from its experiment: every key resolved, every conflict found.

A key is set by one strategy only (a variable, a linked axis, a sampled key, the replicates' seed
or a derived key); a second setter is an error naming both. The values runs will get are checked
against the config's types here, before anything is written (sweep.plan passes the check).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any

from ttwriter.errors import ExperimentSchemaError, KeyPath, Problems, TooManyRunsError
from ttwriter.sweep.run_limit import Factor, check_run_count
from ttwriter.sweep.strategies import SEED, Axis, RunSpace, Setting, exclude, make_derived


class _Taken:
    """The keys set so far, by config path and by param name: a second setter is an error."""

    def __init__(self) -> None:
        self.by_path: dict[KeyPath, str] = {}
        self.by_name: dict[str, str] = {}

    def take(self, setting: Setting, what: str) -> None:
        other = self.by_path.get(setting.path) or self.by_name.get(setting.written)
        if other is not None:
            raise ExperimentSchemaError(
                f"{what} {setting.written!r} sets {'.'.join(setting.path)!r}, which {other} sets too",
                path=setting.origin,
                fix=f"set {setting.written!r} in one place only: remove it from {what.split()[0]} or from "
                f"{other.split()[0]}",
            )
        self.by_path[setting.path] = self.by_name[setting.written] = f"{what} {setting.written!r}"


def plan_space(
    experiment: Any,
    resolve: Callable[[str, KeyPath], KeyPath],
    variables: Sequence[Any],
    seed_control: Any,
    problems: Problems,
) -> RunSpace | None:
    """The run space of `experiment` with every key resolved (`resolve(section, written)`, as
    controls are) and every conflict found; None when a problem leaves no space to make.
    `seed_control` is the value of a `seed` control (the first seed of `replicates: N`)."""
    taken = _Taken()
    axes: list[Axis] = []
    for a in variables:
        setting = Setting(a.written, a.path, ("variables", *a.written.split(".")))
        taken.by_path[a.path] = taken.by_name[a.written] = f"variable {a.written!r}"
        axes.append(Axis(a.written, (setting,), tuple((v,) for v in a.value)))
    ok = True
    for name, entries in experiment.linked.items():
        settings = []
        for key in entries[0]:
            with problems.collect():
                setting = Setting(
                    key, resolve(f"linked.{name}", tuple(key.split("."))), ("linked", name, key)
                )
                taken.take(setting, f"linked key (axis {name!r})")
                settings.append(setting)
                continue
            ok = False
        if len(settings) == len(entries[0]):
            keys = list(entries[0])
            axes.append(Axis(name, tuple(settings), tuple(tuple(e[k] for k in keys) for e in entries), True))
    sampled = []
    for key, d in experiment.sample.distributions().items():
        with problems.collect():
            setting = Setting(key, resolve("sample.params", tuple(key.split("."))), ("sample", "params", key))
            taken.take(setting, "sampled key")
            sampled.append((setting, d))
            continue
        ok = False
    seeds: Sequence[int] | None = None
    seed_setting = None
    replicates = experiment.replicates
    if replicates is not None:
        with problems.collect():
            seed_setting = Setting(SEED, (SEED,), ("replicates",))
            if (SEED,) in taken.by_path or SEED in taken.by_name:
                raise ExperimentSchemaError(
                    f"replicates set the seed, which {taken.by_path.get((SEED,)) or taken.by_name[SEED]} sets too",
                    path=("replicates",),
                    fix="leave the seed to replicates (a list of seeds gives them explicitly), or remove replicates",
                )
            taken.take(seed_setting, "replicates")
            if isinstance(replicates, int):
                first = (
                    seed_control
                    if isinstance(seed_control, int) and not isinstance(seed_control, bool)
                    else 0
                )
                seeds = range(first, first + replicates)  # a count of a billion takes no memory
            else:
                seeds = tuple(replicates)
        if seeds is None:
            ok = False
    num_draws = experiment.sample.num_samples if experiment.sample.params else 1
    try:  # from the counts alone, before exclusions or anything per run
        check_run_count(_factors(variables, axes, num_draws, seeds, replicates), bool(experiment.exclude))
    except TooManyRunsError as exc:
        problems.add(exc)
        return None
    kept: Sequence[int] = []
    with problems.collect():
        kept = exclude(axes, experiment.exclude, [s.written for s, _ in sampled])
    if not kept:
        ok = False
    space = RunSpace(
        tuple(axes),
        kept,
        tuple(sampled),
        experiment.sample.num_samples if sampled else 1,
        experiment.sample.seed,
        seeds,
        seed_setting,
    )
    names = [*taken.by_name]
    derived = []
    for key, how in experiment.derived.items():
        with problems.collect():
            setting = Setting(key, resolve("derived", tuple(key.split("."))), ("derived", key))
            for other in variables:
                if setting.written == other.written or setting.path == other.path:
                    raise ExperimentSchemaError(
                        f"derived key {key!r} is also variable {other.written!r}: a run cannot take both values",
                        path=("derived", key),
                        fix=f"remove {key!r} from variables (to compute it) or from derived (to sweep it)",
                    )
            taken.take(setting, "derived key")
            derived.append(make_derived(setting, how, names, space.n_runs if ok else 0))
            names.append(key)
            continue
        ok = False
    if not ok:
        return None
    return dataclasses.replace(space, derived=tuple(derived))


def _factors(
    variables: Sequence[Any],
    axes: Sequence[Axis],
    num_draws: int,
    seeds: Sequence[int] | None,
    replicates: Any,
) -> list[Factor]:
    """The counts the sweep's runs are the product of, each where the experiment writes it."""
    factors = [
        Factor("variable", a.written, len(a.value), ("variables", *a.written.split("."))) for a in variables
    ]
    factors += [Factor("linked", a.name, len(a.entries), ("linked", a.name)) for a in axes if a.linked]
    if num_draws > 1:
        factors.append(Factor("draws", "sample.num_samples", num_draws, ("sample", "num_samples")))
    if replicates is not None:
        listed = not isinstance(replicates, int)
        count = len(seeds) if seeds is not None else (len(replicates) if listed else replicates)
        factors.append(Factor("replicates", "replicates", count, ("replicates",), listed))
    return factors


def check_values(
    space: RunSpace, check: Callable[[Setting, Any], None], problems: Problems, run_id: Callable[[int], str]
) -> None:
    """Check the values runs will get before anything is written: each linked entry and a value
    of each distribution by `check(setting, value)` (the config's types), and, when there are
    derived keys, every run's derived values (computed once each; one value per type checked)."""
    for axis in (a for a in space.axes if a.linked):  # variables are checked with the others
        for entry in axis.entries:
            for setting, value in zip(axis.settings, entry, strict=True):
                with problems.collect():
                    check(setting, value)
    for setting, d in space.sampled:
        for value in (
            d.args if d.kind == "choice" else (d.args[0] if d.kind == "int_uniform" else float(d.args[0]),)
        ):
            with problems.collect():
                check(setting, value)
    if space.seed_setting is not None and space.seeds:
        with problems.collect():
            check(space.seed_setting, space.seeds[0])
    if not space.derived:
        return
    seen: set[tuple[str, type]] = set()
    draws: dict[int, dict[str, Any]] = {}
    for index in range(space.n_runs):
        try:
            place = space.place(index, run_id(index), draws)
        except ExperimentSchemaError as exc:
            problems.add(exc)
            return  # the same mistake would be said for every run
        for derived in space.derived:
            value = place.params[derived.setting.written]
            if (derived.setting.written, type(value)) not in seen:
                seen.add((derived.setting.written, type(value)))
                with problems.collect():
                    check(derived.setting, value)
