"""Checks against the recipe that runs the config: keys it needs but the config lacks, and keys
the experiment set that it never reads (a sweep over one trains the same model N times).

What a recipe reads is found in its source (registry.recipe_keys), for shipped recipes and a
researcher's own recipe file alike.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ttwriter.errors import did_you_mean
from ttwriter.registry import recipe_keys
from ttwriter.validation.interpolation import interpolation_roots
from ttwriter.validation.report import ERROR, WARNING, Finding


def recipe_findings(
    plain: dict[str, Any], raw: dict[str, Any], recipe: str | None, set_keys: frozenset[str]
) -> list[Finding]:
    """`plain` is the resolved config, `raw` the config as written (its interpolations count as
    reads), `set_keys` the top-level keys the experiment set."""
    if recipe is None:
        return [
            Finding(
                WARNING,
                "recipe",
                "",
                "no recipe is known for this config, so recipe checks were skipped",
                "set `recipe` in the experiment",
            )
        ]
    keys = recipe_keys(recipe)
    if keys is None:
        return [
            Finding(
                WARNING,
                "recipe",
                "",
                f"cannot read the source of recipe {recipe!r}; recipe checks were skipped",
                "check the recipe name or path",
            )
        ]
    findings = []
    name = Path(recipe).name if recipe.endswith(".py") else recipe
    for key in sorted(keys.required - set(plain)):
        findings.append(
            Finding(
                ERROR,
                "recipe",
                key,
                f"recipe {name} reads cfg.{key} without a default, but the config has no {key!r}",
                f"add {key!r} (torchtune's own configs for {name} have it)",
            )
        )
    referenced = interpolation_roots(raw)
    for key in sorted(set_keys - keys.reads - referenced - {"output_dir"}):
        hint = did_you_mean(key, keys.reads, capital=True)
        findings.append(
            Finding(
                ERROR,
                "recipe",
                key,
                f"the experiment sets {key!r}, but recipe {name} never reads it, so it would have no effect",
                hint or f"remove {key!r}, or use a recipe that reads it",
            )
        )
    return findings
