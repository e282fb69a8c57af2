"""The config every run of a sweep shares, made even when the sweep itself has a problem.

`expand_sweep` raises when anything is wrong (a derived expression naming an unknown param, say),
so checks that read the runs' configs would be skipped and their problems found only on the next
attempt. What the runs share does not depend on those parts: base config, deletes and controls,
each applied when it can be. With the top-level keys a run may change, a check on a key no run
changes can still be made, and say nothing false (generate.plan_sweep).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ttwriter.errors import ConfigWriterError, KeyPath
from ttwriter.experiment.experiment import Experiment
from ttwriter.experiment.frozen import thaw
from ttwriter.placeholders import is_template
from ttwriter.sweep.base_config import BaseConfig
from ttwriter.sweep.keys import KeyResolver, flatten
from ttwriter.sweep.merge import copy_config, delete_path, set_path
from ttwriter.sweep.strategies import SEED


def shared_config(experiment: Experiment, base: BaseConfig) -> tuple[dict[str, Any], frozenset[str]]:
    """`(config, varying)`: base config, deletes and controls applied (each that resolves and
    fits), and every top-level key a run may set differently (swept, templated, output_dir). A
    key that does not resolve counts as varying by its first segment, so nothing is assumed of it."""
    resolver = KeyResolver(base.data)

    def resolve(section: str, written: KeyPath, must_exist: bool = False) -> KeyPath | None:
        try:
            return resolver.resolve(section, written, must_exist=must_exist)
        except ConfigWriterError:
            return None

    config = copy_config(base.data)
    varying = {"output_dir"}
    for written in experiment.delete:
        path = resolve("delete", tuple(written.split(".")), must_exist=True)
        if path is not None:
            try:
                delete_path(config, path, ("delete", written))
            except ConfigWriterError:  # expand_sweep reports it
                pass
    for key, value in flatten(thaw(experiment.controls), lambda v: False):
        path = resolve("controls", key)
        if path is not None and is_template(value):
            varying.add(path[0])
        elif path is not None:
            try:
                set_path(config, path, thaw(value), ("controls", *key))
            except ConfigWriterError:  # expand_sweep reports it
                pass
    swept: list[tuple[str, KeyPath]] = [
        ("variables", w) for w, _ in flatten(thaw(experiment.variables), lambda v: not isinstance(v, dict))
    ]
    for name, entries in thaw(experiment.linked).items():
        swept += [(f"linked.{name}", tuple(k.split("."))) for entry in entries[:1] for k in entry]
    swept += [("sample.params", tuple(k.split("."))) for k in experiment.sample.params]
    swept += [("derived", tuple(k.split("."))) for k in experiment.derived]
    if experiment.replicates is not None:
        varying.add(SEED)
    varying |= _first_segments(resolve(section, written) or written for section, written in swept)
    return config, frozenset(varying)


def _first_segments(paths: Iterable[KeyPath]) -> set[str]:
    return {path[0].lstrip("+") for path in paths}
