"""The sweep strategies beyond the grid, as an experiment writes them: `linked`, `derived`,
`exclude` and `replicates` (`sample` is its own config class, experiment.sample).

Each check takes the field as given (Python values or YAML data) and returns it in one frozen
shape, or raises an `ExperimentSchemaError` at the key path a researcher writes
(`linked.schedule[1]`). What the values mean for the runs (keys resolved, exclusions matched,
derived values computed) is sweep.strategies' job, once the base config is known.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ttwriter.errors import ExperimentSchemaError, Problems
from ttwriter.experiment.frozen import freeze, sameness, thaw

RECORDED = "per_run"
"""A derived value recorded in experiment.json: `{per_run: [value of run 0, run 1, ...]}`, how a
Python callable is kept so the snapshot regenerates without it."""


def check_linked(value: Any, plain: Callable[[Any, tuple[Any, ...]], Any], problems: Problems) -> Any:
    """`linked`: axis name -> list of entries, each a mapping of key -> value, all entries of an
    axis setting the same keys."""
    if not isinstance(value, Mapping):
        problems.add(
            ExperimentSchemaError(
                f"linked must be a mapping of axis name -> list of entries, got {type(value).__name__}",
                path=("linked",),
                fix="e.g. linked={'schedule': [{'lr': 1e-4, 'num_warmup_steps': 50}, "
                "{'lr': 3e-4, 'num_warmup_steps': 100}]}",
            )
        )
        return freeze({})
    out: dict[str, Any] = {}
    for axis, entries in value.items():
        with problems.collect():
            out[axis] = _check_axis(axis, thaw(entries), plain)
    return freeze(out)


def _check_axis(axis: Any, entries: Any, plain: Callable[[Any, tuple[Any, ...]], Any]) -> list[Any]:
    where = ("linked", axis)
    if not isinstance(axis, str) or not axis:
        raise ExperimentSchemaError(
            f"linked axis name {axis!r} must be a non-empty string",
            path=("linked",),
            fix="name the axis, e.g. linked={'schedule': [...]}",
        )
    if not isinstance(entries, list) or not entries:
        raise ExperimentSchemaError(
            f"linked axis {axis!r} takes a non-empty list of entries, got {entries!r}",
            path=where,
            fix=f"e.g. {axis}: [{{learning_rate: 1.0e-4, num_warmup_steps: 50}}, ...]",
        )
    first: list[str] | None = None
    seen: list[Any] = []
    repeats: set[Any] = set()
    for i, entry in enumerate(entries):
        if not isinstance(entry, Mapping) or not entry:
            raise ExperimentSchemaError(
                f"entry {i} of linked axis {axis!r} must be a mapping of key -> value, got {entry!r}",
                path=(*where, i),
                fix="each entry sets the same keys together, e.g. {learning_rate: 1.0e-4, num_warmup_steps: 50}",
            )
        for key in entry:
            if not isinstance(key, str) or not key:
                raise ExperimentSchemaError(
                    f"key {key!r} must be a non-empty string",
                    path=(*where, i),
                    fix="write config keys as text, e.g. 'learning_rate'",
                )
        keys = list(entry)
        if first is None:
            first = keys
        elif set(keys) != set(first):
            missing = [k for k in first if k not in keys]
            extra = [k for k in keys if k not in first]
            said = ", ".join(
                part
                for part in (
                    f"lacks {', '.join(missing)}" if missing else "",
                    f"adds {', '.join(extra)}" if extra else "",
                )
                if part
            )
            raise ExperimentSchemaError(
                f"entry {i} of linked axis {axis!r} sets different keys than entry 0 ({said})",
                path=(*where, i),
                fix=f"every entry of {axis!r} sets the same keys: {', '.join(first)}",
            )
        value = plain(dict(entry), (*where, i))
        key = frozenset((k, sameness(value[k])) for k in first)
        if key in repeats:
            raise ExperimentSchemaError(
                f"entry {i} of linked axis {axis!r} repeats an earlier entry, which would make identical runs",
                path=(*where, i),
                fix="list each entry once",
            )
        repeats.add(key)
        seen.append(value)
    return seen


def check_derived(value: Any, problems: Problems) -> Any:
    """`derived`: key -> an expression over param names (text), a callable of the run's params
    (Python), or values recorded per run (experiment.json)."""
    if not isinstance(value, Mapping):
        problems.add(
            ExperimentSchemaError(
                f"derived must be a mapping of key -> expression, got {type(value).__name__}",
                path=("derived",),
                fix="e.g. derived={'lora_alpha': lambda p: 2 * p['lora_rank']} or in YAML "
                "derived: {lora_alpha: '2 * lora_rank'}",
            )
        )
        return freeze({})
    out: dict[str, Any] = {}
    for key, how in value.items():
        with problems.collect():
            if not isinstance(key, str) or not key:
                raise ExperimentSchemaError(
                    f"derived key {key!r} must be a non-empty string",
                    path=("derived",),
                    fix="write config keys as text, e.g. 'lora_alpha'",
                )
            if (
                isinstance(how, Mapping)
                and set(how) == {RECORDED}
                and isinstance(how[RECORDED], (list, tuple))
            ):
                out[key] = freeze(dict(how))
            elif isinstance(how, str) and how.strip() or callable(how):
                out[key] = how
            else:
                raise ExperimentSchemaError(
                    f"derived {key!r} must be an expression or a callable of the run's params, got {how!r}",
                    path=("derived", key),
                    fix=f"e.g. {key}: '2 * lora_rank' (YAML) or lambda p: 2 * p['lora_rank'] (Python)",
                )
    return freeze(out) if all(not callable(v) for v in out.values()) else _FrozenCallables(out)


class _FrozenCallables(Mapping[str, Any]):
    """derived with callables: read-only like a FrozenDict (which would try to freeze them)."""

    def __init__(self, data: dict[str, Any]) -> None:
        self._data = {k: v if callable(v) else freeze(v) for k, v in data.items()}

    def __getitem__(self, key: str) -> Any:
        return self._data[key]

    def __iter__(self) -> Any:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __repr__(self) -> str:
        return repr(self._data)

    def __hash__(self) -> int:
        return hash(tuple((k, id(v) if callable(v) else v) for k, v in self._data.items()))


def check_exclude(value: Any, plain: Callable[[Any, tuple[Any, ...]], Any], problems: Problems) -> Any:
    """`exclude`: a list of mappings param name -> value; a run matching every entry of one is dropped."""
    if isinstance(value, Mapping):
        value = [value]
    if not isinstance(value, (list, tuple)):
        problems.add(
            ExperimentSchemaError(
                f"exclude must be a list of mappings, got {type(value).__name__}",
                path=("exclude",),
                fix="e.g. exclude=[{'lora_rank': 16, 'learning_rate': 3e-4}]",
            )
        )
        return ()
    out = []
    for i, item in enumerate(value):
        with problems.collect():
            if not isinstance(item, Mapping) or not item or not all(isinstance(k, str) for k in item):
                raise ExperimentSchemaError(
                    f"exclude item {i} must be a mapping of param name -> value, got {item!r}",
                    path=("exclude", i),
                    fix="e.g. {lora_rank: 16, learning_rate: 3.0e-4}: runs with both values are dropped",
                )
            out.append(freeze(plain(dict(item), ("exclude", i))))
    return tuple(out)


def check_replicates(value: Any) -> Any:
    """`replicates`: None (no replicates), a count N >= 1, or a list of distinct seeds."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, list, tuple)):
        raise ExperimentSchemaError(
            f"replicates must be a number of seeds or a list of seeds, got {value!r}",
            path=("replicates",),
            fix="e.g. replicates: 3 (seeds 0, 1, 2) or replicates: [11, 22, 33]",
        )
    if isinstance(value, int):
        if value < 1:
            raise ExperimentSchemaError(
                f"replicates is {value}, so the sweep would have no runs",
                path=("replicates",),
                fix="run each condition at least once: replicates: 1 (or leave replicates out)",
            )
        return value
    seeds = list(value)
    if not seeds or not all(isinstance(s, int) and not isinstance(s, bool) for s in seeds):
        raise ExperimentSchemaError(
            f"a list of replicates takes whole-number seeds, got {seeds!r}",
            path=("replicates",),
            fix="e.g. replicates: [11, 22, 33], or a count: replicates: 3",
        )
    doubled, listed = None, set()
    for seed in seeds:  # one pass: a list of 100,000 seeds is checked at once
        if seed in listed:
            doubled = seed
            break
        listed.add(seed)
    if doubled is not None:
        raise ExperimentSchemaError(
            f"seed {doubled} appears twice in replicates, which would make identical runs",
            path=("replicates",),
            fix="list each seed once: " + repr(list(dict.fromkeys(seeds))),
        )
    return tuple(seeds)
