"""Smoke variants: every run of a sweep, cut short, to check the pipeline before the real thing.

A smoke run is the run's own config with one epoch of a few steps, a log line every step and
`torch.compile` off, so it starts fast and fails fast. Everything else stays as it is (model,
data, batch size, checkpointing, logger), because that is what a smoke test is there to check.
Only keys the config already has are set: a recipe reads the others with these defaults anyway
(`log_every_n_steps` 1, `compile` False), and a new key could be one the recipe rejects.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

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


def apply_smoke(config: dict[str, Any]) -> tuple[str, ...]:
    """Shorten one run config in place; returns the smoke keys it does not have."""
    missing = []
    for key, value in SMOKE_SETTINGS.items():
        if key in config:
            config[key] = value
        else:
            missing.append(key)
    return tuple(missing)


def smoke_header(config: dict[str, Any]) -> str:
    """The header line naming what this smoke config changed."""
    settings = ", ".join(f"{k}={v}" for k, v in SMOKE_SETTINGS.items() if k in config)
    return SMOKE_HEADER.format(settings=settings or "no smoke keys in this config")


def smoke_notes(missing: Iterable[str]) -> tuple[str, ...]:
    """What the researcher should know when a config lacks a key that keeps smoke runs short."""
    missing = set(missing)
    notes = []
    if "max_steps_per_epoch" in missing:
        notes.append(
            "smoke: the config has no max_steps_per_epoch, so each smoke run goes through a whole "
            "epoch; add max_steps_per_epoch: null to the base config to let --smoke cut it short"
        )
    if "epochs" in missing:
        notes.append("smoke: the config has no epochs key; the recipe's own default decides")
    return tuple(notes)
