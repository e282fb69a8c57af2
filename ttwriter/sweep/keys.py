"""Turning the keys a researcher writes into key paths of the base config.

A key may be a dotted path (`optimizer.lr`), a nested dict (`dataset: {packed: true}`), or a short
name: an alias from `ALIASES`, a top-level key of the base, or a leaf that occurs exactly once in
the base (`apply_lora_to_mlp` -> `model.apply_lora_to_mlp`). A key that exists nowhere is an error
with a suggestion, because a silently added typo (`lora_rnak`) is the worst bug a sweep can have.
Two ways out, both deliberate: new arguments inside a component node (a dict with `_component_`)
are accepted and left for validation to judge, and a `+` before a key (`+my_key`) marks it new.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator, Mapping
from types import MappingProxyType
from typing import Any

from ttwriter.errors import (
    KeyPath,
    TypeMismatchError,
    UnknownKeyError,
    close_matches,
    did_you_mean,
    suggestion,
)
from ttwriter.formats import a_noun

ALIASES: Mapping[str, str] = MappingProxyType(
    {
        "learning_rate": "optimizer.lr",
        "lr": "optimizer.lr",
        "weight_decay": "optimizer.weight_decay",
        "lora_rank": "model.lora_rank",
        "lora_alpha": "model.lora_alpha",
        "lora_dropout": "model.lora_dropout",
        "max_seq_len": "tokenizer.max_seq_len",
        "packed": "dataset.packed",
    }
)
"""Short names researchers use, and the torchtune key path each one means."""

NEW_KEY_MARKER = "+"


@dataclasses.dataclass(frozen=True)
class Assignment:
    """One value (or, for a variable, one list of values) bound for one key path of the config."""

    written: str
    """The key as the researcher wrote it, dotted: `lora_rank`, `dataset.packed`."""
    path: KeyPath
    """Where it goes in the config: `('model', 'lora_rank')`."""
    value: Any


def flatten(tree: Mapping[str, Any], is_leaf: Callable[[Any], bool]) -> Iterator[tuple[KeyPath, Any]]:
    """Leaves of a nested mapping with their key paths; dotted keys are split into segments."""
    for key, value in tree.items():
        segments = _split(key)
        if isinstance(value, Mapping) and value and not is_leaf(value):
            for sub, leaf in flatten(value, is_leaf):
                yield (*segments, *sub), leaf
        else:
            yield segments, value


def _split(key: str) -> KeyPath:
    # A '+' marks the whole key new: '+a.b' keeps the marker on its first segment only.
    return tuple(key.split("."))


def _leaf_paths(node: Any, prefix: KeyPath = ()) -> Iterator[KeyPath]:
    if isinstance(node, dict):
        for key, value in node.items():
            path = (*prefix, key)
            yield path
            yield from _leaf_paths(value, path)


def _is_component(node: Any) -> bool:
    return isinstance(node, dict) and "_component_" in node


class KeyResolver:
    """Resolves written keys against one base config; build it once per sweep."""

    def __init__(self, base: dict[str, Any]) -> None:
        self._base = base
        self._by_name: dict[str, list[KeyPath]] = {}
        for path in _leaf_paths(base):
            if len(path) > 1:
                self._by_name.setdefault(path[-1], []).append(path)

    def _error(self, cls: type, section: str, written: KeyPath, message: str, fix: str) -> Exception:
        """An error about a key as written in `section`, located where the experiment writes it
        (by the active errors.locating)."""
        return cls(message, path=(section, *written), fix=fix)

    def _not_in_base(
        self,
        section: str,
        written: KeyPath,
        here: str,
        hint: str | None,
        must_exist: bool,
        what: str,
        new: str | None = None,
    ) -> Exception:
        """`key 'here' is not in the base config`, with the '+' way out unless it must exist
        (`new`: the key to mark, by default the key as written)."""
        marked = f"{NEW_KEY_MARKER}{new if new is not None else here}"
        return self._error(
            UnknownKeyError,
            section,
            written,
            f"key {here!r} is not in the base config" + (f"; {hint}" if hint else ""),
            "fix the spelling" + ("" if must_exist else f", or write '{marked}' to add {what} on purpose"),
        )

    def resolve(self, section: str, written: KeyPath, *, must_exist: bool = False) -> KeyPath:
        """The config key path for a key path as written in `section` (controls, variables, delete)."""
        first, rest = written[0], written[1:]
        if first.startswith(NEW_KEY_MARKER):
            if must_exist:
                raise self._error(
                    UnknownKeyError,
                    section,
                    written,
                    "a key marked new with '+' cannot be deleted",
                    f"remove the '+' from {first!r}",
                )
            return (first[len(NEW_KEY_MARKER) :], *rest)
        root = self._resolve_first(section, written, must_exist)
        path = (*root, *rest)
        self._check_exists(section, written, path, must_exist)
        return strip_markers(path)

    def _resolve_first(self, section: str, written: KeyPath, must_exist: bool = False) -> KeyPath:
        first = written[0]
        if len(written) == 1 and first in ALIASES:
            target = tuple(ALIASES[first].split("."))
            if isinstance(self._get(target[:-1]), dict):
                return target
        if first in self._base:
            return (first,)
        if len(written) == 1:
            candidates = self._by_name.get(first, [])
            if len(candidates) == 1:
                return candidates[0]
            if len(candidates) > 1:
                listed = ", ".join(".".join(c) for c in candidates)
                raise self._error(
                    UnknownKeyError,
                    section,
                    written,
                    f"{first!r} is ambiguous: the base config has it at {listed}",
                    "write the full dotted path, e.g. " + repr(".".join(candidates[0])),
                )
        hint = self._suggest(".".join(written)) or self._suggest(first)
        raise self._not_in_base(section, written, ".".join(written), hint, must_exist, "a new key")

    def _suggest(self, word: str) -> str | None:
        """Close names, one spelling per config key (not both 'lora_rank' and 'model.lora_rank')."""
        targets: dict[str, KeyPath] = {}
        for name in self._base:
            targets.setdefault(name, (name,))
        for name, alias in ALIASES.items():
            targets.setdefault(name, tuple(alias.split(".")))
        for name, paths in self._by_name.items():
            if len(paths) == 1:
                targets.setdefault(name, paths[0])
        for path in _leaf_paths(self._base):
            targets.setdefault(".".join(path), path)
        seen: set[KeyPath] = set()
        unique = []
        for match in close_matches(word, targets, n=10):
            if targets[match] not in seen:
                seen.add(targets[match])
                unique.append(match)
        return suggestion(unique[:3])

    def _get(self, path: KeyPath) -> Any:
        node: Any = self._base
        for key in path:
            if not isinstance(node, dict) or key not in node:
                return None
            node = node[key]
        return node

    def _check_exists(self, section: str, written: KeyPath, path: KeyPath, must_exist: bool) -> None:
        node: Any = self._base
        for depth, key in enumerate(path):
            if node is None and not must_exist:
                return  # None accepts anything, including a dict built key by key
            if not isinstance(node, dict):
                parent = ".".join(path[:depth])
                raise self._error(
                    TypeMismatchError,
                    section,
                    written,
                    f"{parent!r} is {a_noun(type(node).__name__)} in the base config, so it has no key {key!r}",
                    f"set {parent!r} itself, or check the key path",
                )
            if key not in node:
                if key.startswith(NEW_KEY_MARKER) and not must_exist:
                    return
                if _is_component(node) and not must_exist:
                    return  # a new argument for the component; validation judges it
                here = ".".join(path[: depth + 1])
                raise self._not_in_base(
                    section, written, here, did_you_mean(key, node), must_exist, "it", key
                )
            node = node[key]


def strip_markers(path: KeyPath) -> KeyPath:
    """Key paths with the new-key marker removed from every segment."""
    return tuple(k[len(NEW_KEY_MARKER) :] if k.startswith(NEW_KEY_MARKER) else k for k in path)
