"""The YAML text of a sweep's runs, reusing what repeats from one run to the next.

Dumping every run's whole config is what made large sweeps slow: PyYAML builds a node for every
value in Python before libyaml emits it. But the runs of a sweep differ only in the few top-level
sections their variables touch, and their variables take a handful of values each. Block-style
YAML of a mapping (no anchors, no line wrapping) is its `key: value` entries one after another,
each emitted without regard to its neighbours, so the text of an entry can be reused wherever the
same value object comes back under the same key: a section that no variable touches is the plan's
own object in every run (`SweepPlan.runs(share_unchanged=True)`), and a variable's values are the
same objects in every run that uses them.

Only text for objects known in advance (the plan's shared sections, the variables' values) is
kept, so memory does not grow with the number of runs; everything else is dumped each time. The
output is byte for byte that of `dump_yaml` / `dump_scalar` (tests/test_run_text.py).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping
from typing import Any

from ttwriter.sweep.plan import SweepPlan
from ttwriter.yaml_io import dump_scalar, dump_yaml, writes_plain

_PARAMS_PREFIX = "- params:\n"
SECTIONS_PER_KEY = 1024
"""Texts kept per top-level key for sections that differ between runs: bounds memory. A sampled
sweep's draws each make their own sections; with draws inside grid points, every draw comes back
once per grid point, so up to this many draws are dumped once each."""
PARAMS_PER_KEY = 4096
"""Texts kept per param for values not known in advance (draws, derived values, seeds)."""


class TextCache:
    """Text of `(key, value)` pairs, rendered once and reused.

    Values given to `remember` are found by identity, in constant time; they must not change
    afterwards. With `per_key` > 0, other values of plain YAML types are also found by content
    (type-exact, so `1`, `1.0` and `True` stay apart), keeping at most `per_key` texts per key:
    memory stays bounded however many values go through.
    """

    def __init__(self, render: Callable[[str, Any], str], per_key: int = 0) -> None:
        self._render = render
        self._known: dict[tuple[str, int], tuple[Any, str]] = {}
        self._per_key = per_key
        self._by_content: dict[str, dict[Hashable, str]] = {}

    def remember(self, key: str, value: Any) -> None:
        self._known[(key, id(value))] = (value, self._render(key, value))

    def __call__(self, key: str, value: Any) -> str:
        hit = self._known.get((key, id(value)))
        # The entry holds `value` alive, so its id cannot have been reused by another object.
        if hit is not None and hit[0] is value:
            return hit[1]
        if not self._per_key:
            return self._render(key, value)
        try:
            content = _content_key(value)
        except _NotPlainYaml:
            return self._render(key, value)
        texts = self._by_content.setdefault(key, {})
        text = texts.get(content)
        if text is None:
            if len(texts) >= self._per_key:
                texts.clear()
            text = texts[content] = self._render(key, value)
        return text


class _NotPlainYaml(Exception):
    pass


def _content_key(value: Any) -> Hashable:
    """A hashable key equal for two values exactly when they are the same YAML (types included)."""
    kind = type(value)
    if kind is dict:
        return (dict, *[(_content_key(k), _content_key(v)) for k, v in value.items()])
    if kind is list or kind is tuple:
        return (kind, *[_content_key(v) for v in value])
    if kind is float:
        return (float, repr(value))  # -0.0 == 0.0, but they are written differently
    if kind is str or kind is int or kind is bool or value is None:
        return (kind, value)
    raise _NotPlainYaml


def _section(key: str, value: Any) -> str:
    if type(value) is str and type(key) is str and writes_plain(key) and writes_plain(value):
        return f"{key}: {value}\n"  # what dump_yaml writes, without the emitter (output_dir)
    return dump_yaml({key: value})


def _param_entry(key: str, value: Any) -> str:
    """`key: value` as it appears under `params:` in a run_mapping.yaml entry."""
    text = dump_yaml([{"params": {key: value}}])
    assert text.startswith(_PARAMS_PREFIX), text
    return text[len(_PARAMS_PREFIX) :]


class RunText:
    """`dump_yaml` and `dump_scalar` for the configs and mapping entries of one sweep plan."""

    def __init__(self, plan: SweepPlan) -> None:
        common = plan.common
        # Shared sections by identity; a section a variable changes by content, since every run
        # has its own copy of it (a few dozen texts per key cover the usual value lists).
        self._sections = TextCache(_section, per_key=SECTIONS_PER_KEY)
        for key, value in common.items():
            self._sections.remember(key, value)
        # The premise, checked once: the whole config is its sections one after another.
        self._by_section = bool(common) and self._join(common) == dump_yaml(common)
        self._scalars = TextCache(lambda key, value: dump_scalar(value), per_key=PARAMS_PER_KEY)
        self._params = TextCache(_param_entry, per_key=PARAMS_PER_KEY)
        for axis in plan.space.axes:  # variables and linked keys
            for entry in axis.entries:
                for setting, value in zip(axis.settings, entry, strict=True):
                    self._scalars.remember(setting.written, value)
                    self._params.remember(setting.written, value)

    def config(self, config: Mapping[str, Any]) -> str:
        """Same text as `dump_yaml(config)`."""
        return self._join(config) if config and self._by_section else dump_yaml(config)

    def _join(self, config: Mapping[str, Any]) -> str:
        sections = self._sections
        return "".join([sections(key, value) for key, value in config.items()])

    def scalar(self, key: str, value: Any) -> str:
        """Same text as `dump_scalar(value)`; `key` is the variable the value belongs to."""
        return self._scalars(key, value)

    def mapping_entry(self, run_id: str, config: str, output_dir: str, params: Mapping[str, Any]) -> str:
        """Same text as `dump_yaml([{"id": ..., "config": ..., "output_dir": ..., "params": params}])`."""
        if writes_plain(run_id) and writes_plain(config) and writes_plain(output_dir):
            head = f"- id: {run_id}\n  config: {config}\n  output_dir: {output_dir}\n"
        else:
            head = dump_yaml([{"id": run_id, "config": config, "output_dir": output_dir}])
        if not params:
            return head + "  params: {}\n"
        entries = self._params
        return head + "  params:\n" + "".join([entries(key, value) for key, value in params.items()])
