"""Top-level keys torchtune's shipped recipes use as integers: `batch_size: 2.5` is no batch size.

ttwriter's merge treats int and float as one kind (right for `lr: 1`), and no signature covers the
top-level recipe keys, so `batch_size: 2.5`, a derived `lora_rank / 4` (2.0) or a hand-edited
`epochs: one` would validate and then crash, or train silently wrong. `INTEGER_KEYS` is the one
list of such keys, each with the recipes that read it (by `tune ls` name) and the verbatim source
text that reads it; a test keeps both equal to torchtune's recipe sources. Checked in torchtune
0.6.1 on the tiny CPU config: a float batch size, epoch count or seed (2.0 included) stops the run
at start-up; a fractional gradient_accumulation_steps, max_steps_per_epoch or log_every_n_steps
trains, silently wrong (2.5 steps the optimizer every 5th batch, never ends an epoch early, logs
every 5th step). A float, a string, a bool (or null, where the recipe has no meaning for it) is
an error with the user's own value in the fix. A user's own recipe file gets none of these.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Mapping
from typing import Any

from ttwriter.validation.interpolation import UNRESOLVED
from ttwriter.validation.report import ERROR, Finding
from ttwriter.validation.startup.checks import CHECK, recipes, show
from ttwriter.validation.startup.recipes import ALL_RECIPES

_GENERATION = recipes("generate eleuther_eval quantize dev/generate_v2 dev/generate_v2_distributed")
"""The shipped recipes that do not train; they read only `seed` of these keys."""


def _training_but(names: str) -> frozenset[str]:
    return ALL_RECIPES - _GENERATION - recipes(names)


@dataclasses.dataclass(frozen=True)
class IntegerKey:
    """A top-level key that recipes use as an integer, where, and what a non-integer does."""

    key: str
    recipes: frozenset[str]
    """Shipped recipes (`tune ls` names) whose source holds `marker`."""
    marker: str
    """Verbatim text of each of those recipes' source that reads the key."""
    use: str
    """How the recipe uses it, and what a non-integer does there (checked in torchtune 0.6.1)."""
    example: int
    """A value to suggest when the user's value gives no better one."""
    nullable: bool = False
    """null has a meaning for the recipe (max_steps_per_epoch: whole epochs; seed: a random one)."""
    minimum: int = 1


INTEGER_KEYS = (
    IntegerKey(
        "batch_size",
        _training_but(""),
        "batch_size=cfg.batch_size,",
        "it is the StatefulDataLoader's batch_size, which stops the run at start-up for anything else: "
        '"batch_size should be a positive integer value"',
        4,
    ),
    IntegerKey(
        "epochs",
        _training_but("ppo_full_finetune_single_device"),
        "self.total_epochs = cfg.epochs",
        "the epoch loop is range(self.epochs_run, self.total_epochs), which stops the run before its first "
        "step for anything else (a float: \"'float' object cannot be interpreted as an integer\")",
        1,
    ),
    IntegerKey(
        "gradient_accumulation_steps",
        _training_but(""),
        "self._gradient_accumulation_steps = cfg.gradient_accumulation_steps",
        "the optimizer steps when (idx + 1) % gradient_accumulation_steps == 0, so a fraction trains silently "
        "wrong (2.5 steps every 5th batch), and a string or null stops the run",
        1,
    ),
    IntegerKey(
        "max_steps_per_epoch",
        _training_but("ppo_full_finetune_single_device"),
        "self.max_steps_per_epoch = cfg.max_steps_per_epoch",
        "an epoch stops early when (idx + 1) // gradient_accumulation_steps == max_steps_per_epoch, which a "
        "fraction never equals (the epoch silently runs to its end; a whole float logs step numbers as floats)",
        10,
        nullable=True,
    ),
    IntegerKey(
        "seed",
        ALL_RECIPES,
        "seed=cfg.seed,",
        "training.set_seed hands it to numpy.random.seed, which stops the run at start-up for a float or a "
        "string (a float: \"Cannot cast scalar from dtype('float64') to dtype('int64') according to the rule "
        "'safe'\")",
        0,
        nullable=True,
        minimum=0,
    ),
    IntegerKey(
        "log_every_n_steps",
        _training_but(""),
        'cfg.get("log_every_n_steps", 1)',
        "a step is logged when global_step % log_every_n_steps == 0, so a fraction silently logs fewer steps "
        "(2.5: every 5th), and a string or null stops the run",
        1,
    ),
)
_DIVISION = re.compile(r"(?<!/)/(?!/)")


def integer_findings(
    cfg: dict[str, Any], recipe: str | None, derived: Mapping[str, str] | None = None
) -> list[Finding]:
    """An error for every integer key of `recipe` that the config sets to something else;
    `derived` (top-level key -> expression) words the fix for a computed value."""
    findings = []
    for spec in INTEGER_KEYS:
        if recipe not in spec.recipes or spec.key not in cfg:
            continue
        value = cfg[spec.key]
        if _fits(value, spec.nullable) or value is UNRESOLVED:
            continue
        findings.append(
            Finding(
                ERROR,
                CHECK,
                spec.key,
                f"{spec.key} is {show(value)}{_kind(value)}, but recipe {recipe} uses it as an integer: {spec.use}",
                _fix(spec, value, (derived or {}).get(spec.key)),
            )
        )
    return findings


def _fits(value: Any, nullable: bool) -> bool:
    return (value is None and nullable) or (isinstance(value, int) and not isinstance(value, bool))


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return " (a boolean)"
    if isinstance(value, float):
        return " (a float)"
    if isinstance(value, str):
        return " (a string)"
    return "" if value is None else f" (a {type(value).__name__})"


def _fix(spec: IntegerKey, value: Any, expression: str | None) -> str:
    key = spec.key
    if expression is not None and isinstance(value, float):
        if _DIVISION.search(expression):
            return f"use // for integer division: derived {key}: {_DIVISION.sub('//', expression)}"
        return f"make derived {key} give an integer: round({expression}), or // for division"
    if isinstance(value, float) and math.isfinite(value):
        if value.is_integer():
            return f"set {key}: {int(value)} (an integer, without .0)"
        low, high = math.floor(value), math.ceil(value)
        whole = [n for n in (low, high) if n >= spec.minimum] or [spec.minimum]
        return f"set {key}: " + " or ".join(str(n) for n in whole)
    if isinstance(value, str) and re.fullmatch(r"[+-]?\d+", value.strip()):
        return f"write the number without quotes: {key}: {int(value)}"
    null = " (or null: " + ("whole epochs" if key == "max_steps_per_epoch" else "a random seed") + ")"
    return f"set {key} to an integer, e.g. {key}: {spec.example}" + (null if spec.nullable else "")
