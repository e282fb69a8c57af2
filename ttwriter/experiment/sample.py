"""Seeded random draws of an experiment (`sample:`): how many, from which seed, and each value's
distribution.

A frozen config class like `SlurmConfig`, set in Python (`sample=Sample(num_samples=8, ...)`), in
experiment.yaml (a `sample:` section) or on the command line (`--sample.num-samples 8`). The
distributions are checked here, every problem at once; the draws themselves are made in
sweep.sample, from `seed` alone, so a snapshot reproduces them on any machine.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from typing import Any, ClassVar

from ttwriter.errors import ExperimentSchemaError, Problems, did_you_mean
from ttwriter.experiment.frozen import FrozenDict, freeze, thaw
from ttwriter.experiment.schema import ConfigClass

KINDS = ("uniform", "log_uniform", "int_uniform", "choice")
"""The distributions a sampled value can have."""
ROUNDING = ("round", "digits")
"""`round: N` keeps N decimals (Python's round); `digits: N` keeps N significant digits."""


@dataclasses.dataclass(frozen=True)
class Distribution:
    """One sampled value's distribution, checked: `kind` over `args`, then rounded."""

    kind: str
    args: tuple[Any, ...]
    round: int | None = None
    digits: int | None = None


@dataclasses.dataclass(frozen=True)
class Sample(ConfigClass):
    """Random draws: `num_samples` draws of every value in `params`, the same draws for every grid point."""

    SECTION: ClassVar[tuple[str, ...]] = ("sample",)

    num_samples: int = 1
    """How many draws; each grid point is run once per draw (more than 1 needs params)."""

    seed: int = 0
    """Seed of the draws: the same seed gives the same draws on any machine and Python (needs params)."""

    params: Mapping[str, Any] = dataclasses.field(default_factory=FrozenDict)
    """Key -> distribution, e.g. {'weight_decay': {'log_uniform': [1e-4, 1e-1], 'digits': 2}}."""

    def __post_init__(self) -> None:
        problems = Problems()
        for field in ("num_samples", "seed"):
            with problems.collect():
                value = getattr(self, field)
                if not isinstance(value, int) or isinstance(value, bool):
                    raise ExperimentSchemaError(
                        f"sample.{field} must be a whole number, got {type(value).__name__} {value!r}",
                        path=("sample", field),
                        fix=f"e.g. sample.{field}: {1 if field == 'num_samples' else 0}",
                    )
        with problems.collect():
            if isinstance(self.num_samples, int) and self.num_samples < 1:
                raise ExperimentSchemaError(
                    f"sample.num_samples is {self.num_samples}, so the sweep would have no runs",
                    path=("sample", "num_samples"),
                    fix="draw at least once: sample.num_samples: 1 (or leave sample out)",
                )
        params = self.params
        if not isinstance(params, Mapping):
            problems.add(
                ExperimentSchemaError(
                    f"sample.params must be a mapping of key -> distribution, got {type(params).__name__}",
                    path=("sample", "params"),
                    fix="e.g. sample.params: {weight_decay: {log_uniform: [1.0e-4, 1.0e-1]}}",
                )
            )
            params = {}
        for key, spec in params.items():
            with problems.collect():
                distribution(key, thaw(spec))
        with problems.collect():
            self._check_draws_something(params)
        object.__setattr__(self, "params", freeze(dict(params)))
        problems.raise_if_any()

    def _check_draws_something(self, params: Mapping[str, Any]) -> None:
        """num_samples or seed without params would be silently ignored: no key, no draws."""
        if params:
            return
        if isinstance(self.num_samples, int) and self.num_samples > 1:
            field, said, times = "num_samples", f"sample.num_samples is {self.num_samples}", self.num_samples
            effect = f"each grid point would run once, not {times} times"
        elif isinstance(self.seed, int) and not isinstance(self.seed, bool) and self.seed != 0:
            field, said, times = "seed", f"sample.seed is {self.seed}", 3
            effect = "the seed would change nothing"
        else:
            return
        raise ExperimentSchemaError(
            f"{said}, but sample.params names no key to draw, so nothing is drawn: {effect}",
            path=("sample", field),
            fix="name the keys to draw, e.g. sample.params: {weight_decay: {log_uniform: [1.0e-4, 1.0e-1]}}; "
            f"to repeat each run with other seeds, use replicates: {times} instead",
        )

    def distributions(self) -> dict[str, Distribution]:
        """Each sampled key as written -> its checked distribution, in the order written."""
        return {key: distribution(key, thaw(spec)) for key, spec in self.params.items()}


def _error(key: str, message: str, fix: str, *below: str) -> ExperimentSchemaError:
    return ExperimentSchemaError(message, path=("sample", "params", key, *below), fix=fix)


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def distribution(key: str, spec: Any) -> Distribution:
    """The distribution of sampled key `key` as written (`{log_uniform: [1e-4, 0.1], digits: 2}`);
    a bad one is an `ExperimentSchemaError` at `sample.params.<key>` with a fix in its own values."""
    example = f"{key}: {{uniform: [0.0, 1.0]}}"
    if not isinstance(spec, Mapping):
        raise _error(key, f"a distribution is a mapping, got {spec!r}", f"e.g. {example}")
    kinds = [k for k in spec if k in KINDS]
    for name in spec:
        if name not in KINDS and name not in ROUNDING:
            hint = did_you_mean(str(name), (*KINDS, *ROUNDING), n=1)
            raise _error(
                key,
                f"unknown distribution setting {name!r}" + (f"; {hint}" if hint else ""),
                "distributions: " + ", ".join(KINDS) + "; rounding: round (decimals) or digits (significant)",
                str(name),
            )
    if len(kinds) != 1:
        raise _error(
            key,
            "a distribution names one kind" + (f", got {', '.join(kinds)}" if kinds else ", got none"),
            f"one of {', '.join(KINDS)}, e.g. {example}",
        )
    kind = kinds[0]
    args = spec[kind]
    if kind == "choice":
        if not isinstance(args, list) or not args:
            raise _error(
                key,
                f"choice takes a non-empty list of values, got {args!r}",
                f"e.g. {key}: {{choice: [a, b]}}",
                kind,
            )
        parsed = tuple(args)
    else:
        if not (isinstance(args, list) and len(args) == 2 and all(_number(a) for a in args)):
            raise _error(
                key,
                f"{kind} takes [low, high], two numbers, got {args!r}",
                f"e.g. {key}: {{{kind}: [1, 10]}}",
                kind,
            )
        low, high = args
        if low > high:
            raise _error(
                key,
                f"{kind} has low {low!r} above high {high!r}",
                f"swap them: {key}: {{{kind}: [{high!r}, {low!r}]}}",
                kind,
            )
        if kind == "log_uniform" and low <= 0:
            raise _error(
                key,
                f"log_uniform needs positive bounds, got low {low!r}",
                f"use a positive low bound, e.g. {key}: {{log_uniform: [{high / 1000:g}, {high!r}]}}"
                if high > 0
                else f"use uniform for bounds at or below 0: {key}: {{uniform: [{low!r}, {high!r}]}}",
                kind,
            )
        if kind == "int_uniform" and not all(float(a).is_integer() for a in args):
            raise _error(
                key,
                f"int_uniform takes whole-number bounds, got {args!r}",
                f"e.g. {key}: {{int_uniform: [{math.ceil(low)}, {math.floor(high)}]}}",
                kind,
            )
        parsed = (int(low), int(high)) if kind == "int_uniform" else (low, high)
    rounding: dict[str, int] = {}
    for name in ROUNDING:
        if name in spec:
            value = spec[name]
            if not isinstance(value, int) or isinstance(value, bool) or (name == "digits" and value < 1):
                raise _error(
                    key,
                    f"{name} takes a whole number{' >= 1' if name == 'digits' else ''}, got {value!r}",
                    f"e.g. {key}: {{{kind}: ..., {name}: 3}}",
                    name,
                )
            rounding[name] = value
    if len(rounding) == 2:
        raise _error(
            key, "round and digits both set", "keep one: round (decimals) or digits (significant digits)"
        )
    if rounding and kind in ("int_uniform", "choice"):
        raise _error(
            key, f"{kind} values are not rounded", f"remove {next(iter(rounding))}", next(iter(rounding))
        )
    return Distribution(kind, parsed, rounding.get("round"), rounding.get("digits"))
