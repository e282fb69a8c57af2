"""What one experiment changes against another, as torchtune will see it.

Controls, variables and deletes are compared by their resolved key path, so `lr` in a parent and
`optimizer.lr` in its child are the same key, and a nested `{"dataset": {"packed": True}}` is the
same as `"dataset.packed": True`. Every other field is compared generically, walking dataclass
fields (slurm, and any typed sub-config an Experiment gains later) and mappings key by key, so a
new field is covered without a change here. `ttwriter diff` prints the whole list; `ttwriter tree`
prints it in one line. Resolving keys needs each base config, never torch.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ttwriter.errors import key_path
from ttwriter.experiment.frozen import thaw
from ttwriter.experiment.loading import LoadedExperiment
from ttwriter.generate import plan_sweep
from ttwriter.sweep.plan import SweepPlan
from ttwriter.yaml_io import dump_yaml

RESOLVED_FIELDS = ("variables", "controls", "delete")
"""Experiment fields compared by resolved key path rather than as written."""
DESCRIPTIVE_FIELDS = frozenset({"name", "question", "hypothesis", "researcher", "date", "tags", "notes"})
"""Fields that describe an experiment and change nothing in its runs' configs or scheduling: a
one-line summary leaves them out."""
COMPARED_DIR = Path("/<experiment_dir>")
"""The experiment folder both sides are planned in, so no run's `output_dir` differs only
because the two would be written to different folders."""
SUMMARY_VALUE = 40
"""Longest value a one-line summary shows before cutting it with `...`."""


class _KeyText(str):
    """A key path as a value (what `delete` lists): shown as it is, not quoted."""

    def __repr__(self) -> str:
        return str(self)


class _Missing:
    def __repr__(self) -> str:
        return "(none)"


MISSING: Any = _Missing()
"""The side of a change where the key or field does not exist."""


@dataclasses.dataclass(frozen=True)
class Change:
    """One difference: a key or field path with its old and new values (MISSING when absent)."""

    key: str
    """`name`, `slurm.partition`, `controls.optimizer.lr`, `variables.model.lora_rank`, `delete`."""
    old: Any = MISSING
    new: Any = MISSING
    note: str = ""
    """Why, when it follows from another change (`swept by variables.optimizer.lr`)."""

    @property
    def kind(self) -> str:
        if self.old is MISSING:
            return "added"
        return "removed" if self.new is MISSING else "changed"

    @property
    def affects_runs(self) -> bool:
        """Whether the change reaches a run (a config, the job script), not only the description."""
        return self.key.split(".")[0] not in DESCRIPTIVE_FIELDS

    def text(self, limit: int | None = None) -> str:
        """`+key new`, `-key old` or `key old -> new`, values cut at `limit` characters."""
        if self.kind == "added":
            return f"+{self.key} {show(self.new, limit)}"
        if self.kind == "removed":
            return f"-{self.key} {show(self.old, limit)}"
        return f"{self.key} {show(self.old, limit)} -> {show(self.new, limit)}"


def plan_for_comparison(loaded: LoadedExperiment) -> SweepPlan:
    """`loaded` resolved against its base config (keys, types, placeholders checked; nothing
    written), planned in COMPARED_DIR."""
    return plan_sweep(loaded, output_dir=COMPARED_DIR)


def compare(old: SweepPlan, new: SweepPlan) -> list[Change]:
    """Every difference from `old` to `new`, in the order of the experiment's fields."""
    changes: list[Change] = []
    names = [f.name for f in dataclasses.fields(new.experiment)]
    names += [f.name for f in dataclasses.fields(old.experiment) if f.name not in names]
    for name in names:
        if name in RESOLVED_FIELDS:
            changes += _resolved(name, old, new)
        else:
            _walk(
                name, getattr(old.experiment, name, MISSING), getattr(new.experiment, name, MISSING), changes
            )
    return changes


def _resolved(section: str, old: SweepPlan, new: SweepPlan) -> list[Change]:
    """One of RESOLVED_FIELDS compared by key path: deletes as sets of paths; controls and
    variables as path -> value, a control the new side sweeps noted as such."""
    if section == "delete":
        before = [_KeyText(".".join(a.path)) for a in old.deletes]
        after = [_KeyText(".".join(a.path)) for a in new.deletes]
        return [Change(section, new=p) for p in after if p not in before] + [
            Change(section, old=p) for p in before if p not in after
        ]
    if section == "controls":
        was = {a.path: a.value for a in old.controls}
        now = {a.path: a.value for a in new.controls}
    else:
        was = {a.path: a.value for a in old.variables}
        now = {a.path: a.value for a in new.variables}
    swept = {a.path for a in new.variables} if section == "controls" else set()
    changes = []
    for path, value in now.items():
        if path not in was:
            changes.append(Change(key_path(path, section), new=value))
        elif not same(was[path], value):
            changes.append(Change(key_path(path, section), was[path], value))
    for path, value in was.items():
        if path not in now:
            note = f"swept by {key_path(path, 'variables')}" if path in swept else ""
            changes.append(Change(key_path(path, section), old=value, note=note))
    return changes


def _is_instance(value: Any) -> bool:
    return dataclasses.is_dataclass(value) and not isinstance(value, type)


def _walk(key: str, old: Any, new: Any, changes: list[Change]) -> None:
    """Differences below `key`: dataclasses of one type field by field, mappings key by key."""
    if old is MISSING and new is MISSING:
        return
    if _is_instance(old) and type(old) is type(new):
        for field in dataclasses.fields(old):
            _walk(f"{key}.{field.name}", getattr(old, field.name), getattr(new, field.name), changes)
    elif isinstance(old, Mapping) and isinstance(new, Mapping):
        for name in [*old, *(k for k in new if k not in old)]:
            _walk(key_path([name], key), old.get(name, MISSING), new.get(name, MISSING), changes)
    elif not same(old, new):
        changes.append(Change(key, old, new))


def same(a: Any, b: Any) -> bool:
    """Equal as a config would hold them: `8` and `8.0` differ (YAML writes them differently),
    so do `True` and `1`; a list and a tuple of the same values do not."""
    a, b = thaw(a), thaw(b)
    if callable(a) and callable(b):  # a derived callable: each file loads its parent anew
        return _callable_key(a) == _callable_key(b)
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return type(a) is type(b) and bool(a == b)


def _callable_key(f: Any) -> Any:
    """What makes two callables the same function: its code and constants (not its address)."""
    code = getattr(f, "__code__", None)
    if code is None:
        return id(f)
    return (code.co_code, code.co_consts, code.co_names, code.co_filename.rsplit(os.sep, 1)[-1])


def show(value: Any, limit: int | None = None) -> str:
    """A value as Python writes it (`[8, 16]`, `'gpu'`, `0.0003`); a dataclass by the fields it
    sets. Cut to `limit` characters with `...`."""
    if _is_instance(value):
        fields = [f for f in dataclasses.fields(value) if _differs_from_default(value, f)]
        text = (
            f"{type(value).__name__}({', '.join(f'{f.name}={show(getattr(value, f.name))}' for f in fields)})"
        )
    elif callable(value):
        code = getattr(value, "__code__", None)
        where = f" from {os.path.basename(code.co_filename)}:{code.co_firstlineno}" if code else ""
        text = f"<callable {getattr(value, '__qualname__', type(value).__name__)}{where}>"
    else:
        text = repr(thaw(value))
    if limit is not None and len(text) > limit:
        return text[: limit - 3] + "..."
    return text


def _differs_from_default(value: Any, field: dataclasses.Field[Any]) -> bool:
    if field.default is not dataclasses.MISSING:
        return not same(getattr(value, field.name), field.default)
    if field.default_factory is not dataclasses.MISSING:
        return not same(getattr(value, field.name), field.default_factory())
    return True


def summary(changes: list[Change]) -> str:
    """The changes that reach the runs on one line (`+variables.optimizer.weight_decay [0.0,
    0.01]; controls.epochs 1 -> 2`); a control now swept by a variable is implied by the variable.
    The descriptive fields only are named when nothing else changed."""
    parts = [c.text(SUMMARY_VALUE) for c in changes if c.affects_runs and not c.note]
    if parts:
        return "; ".join(parts)
    described = list(dict.fromkeys(c.key.split(".")[0] for c in changes))
    return f"same runs (changes {', '.join(described)})" if described else "no changes"


def first_run_config(plan: SweepPlan) -> tuple[str, str]:
    """The id and the YAML of the plan's first run, as its config file holds it (without the
    header comments, which name the experiment)."""
    run = next(plan.runs())
    return run.id, dump_yaml(run.config)


def config_diff(old: SweepPlan, new: SweepPlan, old_label: str, new_label: str) -> list[str]:
    """The unified diff of the first run's config of `old` and of `new`; [] when they are equal."""
    old_id, old_text = first_run_config(old)
    new_id, new_text = first_run_config(new)
    return list(
        difflib.unified_diff(
            old_text.splitlines(),
            new_text.splitlines(),
            f"{old_label} {old_id}",
            f"{new_label} {new_id}",
            lineterm="",
        )
    )
