"""Deeply immutable copies of experiment data.

An experiment is frozen, and so is everything inside it: a child experiment built with
`dataclasses.replace` cannot change its parent's controls or variables by accident, because the
parent holds read-only mappings and tuples rather than dicts and lists.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any


class FrozenDict(Mapping[str, Any]):
    """A read-only mapping that prints like a dict and merges with `|` like one."""

    __slots__ = ("_data", "_hash")
    _data: dict[str, Any]
    _hash: int | None

    def __init__(self, data: Mapping[str, Any] | None = None) -> None:
        object.__setattr__(self, "_data", dict(data or {}))
        object.__setattr__(self, "_hash", None)

    def __getitem__(self, key: str) -> Any:
        return self._data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __repr__(self) -> str:
        return repr(self._data)

    def __or__(self, other: Mapping[str, Any]) -> dict[str, Any]:
        return {**self._data, **other}

    def __ror__(self, other: Mapping[str, Any]) -> dict[str, Any]:
        return {**other, **self._data}

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("experiment data is read-only; build a new dict instead")

    def __hash__(self) -> int:
        if self._hash is None:
            object.__setattr__(self, "_hash", hash(tuple(self._data.items())))
        assert self._hash is not None
        return self._hash

    def __reduce__(self) -> tuple[Any, ...]:
        return (FrozenDict, (self._data,))


def freeze(value: Any) -> Any:
    """Mappings become FrozenDicts and lists become tuples, all the way down."""
    if isinstance(value, Mapping):
        return FrozenDict({k: freeze(v) for k, v in value.items()})
    if isinstance(value, (list, tuple)):
        return tuple(freeze(v) for v in value)
    return value


def thaw(value: Any) -> Any:
    """The inverse of `freeze`: plain dicts and lists, ready to merge, dump or serialise."""
    if isinstance(value, Mapping):
        return {k: thaw(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [thaw(v) for v in value]
    return value


def sameness(value: Any) -> Any:
    """A hashable key that two values share exactly when they are one value of an experiment:
    8 and 8.0 are one (YAML writes both as a number), True and 1 are not, and lists and mappings
    are compared item by item. Repeats in a list of values are then found in one pass (a set),
    not by comparing every pair (hours for 100,000 values)."""
    if isinstance(value, bool):
        return ("bool", value)
    if isinstance(value, (int, float)):
        return ("number", value) if value == value else ("nan", object())  # nan is never a repeat
    if isinstance(value, Mapping):
        return ("mapping", frozenset((k, sameness(v)) for k, v in value.items()))
    if isinstance(value, (list, tuple)):
        return ("list", tuple(sameness(v) for v in value))
    try:
        hash(value)
    except TypeError:
        return ("object", id(value))
    return (type(value).__name__, value)
