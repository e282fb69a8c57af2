"""Smoke variants: every run of a sweep, cut short, to check the pipeline before the real thing.

A smoke run is the run's own config with one epoch of a few steps, a log line every step and
`torch.compile` off, so it starts fast and fails fast. Everything else stays as it is (model,
data, batch size, checkpointing, logger), because that is what a smoke test is there to check.
Only keys the config has, or the recipe reads, are set: a key no one reads would do nothing, and
a new key in a strict custom recipe could be rejected.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ttwriter.registry import recipe_keys

SMOKE_STEPS = 3
"""Optimizer steps per smoke run (`max_steps_per_epoch`)."""

SMOKE_SETTINGS: dict[str, Any] = {
    "epochs": 1,
    "max_steps_per_epoch": SMOKE_STEPS,
    "log_every_n_steps": 1,
    "compile": False,
}
"""Top-level keys a smoke run sets, when the config has them."""

SMOKE_HEADER = "SMOKE TEST: a short variant of this run ({settings}) to check the pipeline; not for results"


def recipe_reads(recipe: str | None) -> frozenset[str]:
    """The smoke keys a recipe's source reads from its config (`cfg.epochs`, `cfg.get("compile")`,
    `cfg["epochs"]`), as registry.recipe_keys finds them without importing anything (so torch is
    not imported either)."""
    keys = recipe_keys(recipe, follow_imports=False) if recipe else None
    return frozenset(key for key in SMOKE_SETTINGS if keys and key in keys.reads)


def apply_smoke(config: dict[str, Any], reads: frozenset[str] = frozenset()) -> tuple[str, ...]:
    """Shorten one run config in place, setting each smoke key it has or the recipe `reads`;
    returns the smoke keys left unset."""
    missing = []
    for key, value in SMOKE_SETTINGS.items():
        if key in config or key in reads:
            config[key] = value
        else:
            missing.append(key)
    return tuple(missing)


def settings_text(keys: Iterable[str] | None = None) -> str:
    """`epochs=1, max_steps_per_epoch=3, ...`: the smoke settings (those of `keys`, if given)."""
    chosen = SMOKE_SETTINGS if keys is None else {k: v for k, v in SMOKE_SETTINGS.items() if k in keys}
    return ", ".join(f"{k}={v}" for k, v in chosen.items())


def smoke_header(config: dict[str, Any]) -> str:
    """The header line naming what this smoke config changed."""
    return SMOKE_HEADER.format(settings=settings_text(config) or "no smoke keys in this config")


def smoke_notes(missing: Iterable[str]) -> tuple[str, ...]:
    """What the researcher should know when a config lacks a key that keeps smoke runs short."""
    missing = set(missing)
    notes = []
    if "max_steps_per_epoch" in missing:
        notes.append(
            "smoke: neither the config nor its recipe has max_steps_per_epoch, so each smoke run "
            "goes through a whole epoch"
        )
    if "epochs" in missing:
        notes.append(
            "smoke: neither the config nor its recipe has epochs; the recipe decides how long a run is"
        )
    return tuple(notes)
