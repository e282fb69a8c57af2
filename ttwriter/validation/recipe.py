"""Checks against the recipe that runs the config: keys it needs but the config lacks, and keys
the experiment set that it never reads (a sweep over one trains the same model N times). When a
written folder is validated again, a key typed into a config by hand (in neither the base config
nor the keys the experiment set) is checked the same way.

What a recipe reads is found in its source (registry.recipe_keys), for shipped recipes and a
researcher's own recipe file alike.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from ttwriter.errors import did_you_mean
from ttwriter.registry import recipe_keys
from ttwriter.validation.interpolation import interpolation_roots
from ttwriter.validation.report import ERROR, WARNING, Finding

if TYPE_CHECKING:
    from ttwriter.validation.base_keys import BaseKeys


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
    name = _name(recipe)
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
    for key in _unread(set_keys, keys.reads, raw):
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


def hand_key_findings(
    raw: dict[str, Any], recipe: str | None, set_keys: frozenset[str], written: BaseKeys, path: Path
) -> list[Finding]:
    """Top-level keys of the config at `path` of a written folder that neither its base config
    (`written`) nor the experiment (`set_keys`) set, so typed by hand, checked as if the experiment
    had set them: one the recipe never reads is the same error as at generation, naming the file.
    When the base config cannot be found as it was, such a key is a warning: it may be the base's."""
    keys = recipe_keys(recipe) if recipe is not None else None
    if recipe is None or keys is None:
        return []  # recipe_findings warned that the recipe checks were skipped
    name, shown = _name(recipe), written.shown(path)
    base = f"the base config {written.name}" if written.name else "the base config"
    findings = []
    for key in _unread({str(k) for k in raw} - set_keys - (written.keys or frozenset()), keys.reads, raw):
        hint = did_you_mean(key, keys.reads, capital=True)
        if written.keys is not None:
            finding = Finding(
                ERROR,
                "recipe",
                key,
                f"{shown} has {key!r}, which is in neither {base} nor the keys the experiment set "
                f"(typed by hand?), but recipe {name} never reads it, so it would have no effect",
                hint or f"remove {key!r} from {shown}, or use a recipe that reads it",
            )
        else:
            finding = Finding(
                WARNING,
                "recipe",
                key,
                f"{shown} has {key!r}, which the experiment did not set and recipe {name} never "
                f"reads; whether it comes from {base} cannot be told: it {written.why_unknown}",
                (f"{hint} " if hint else "")
                + f"Remove {key!r} if it was typed by hand; restore {base} to have it checked",
            )
        findings.append(finding)
    return findings


def _name(recipe: str) -> str:
    return Path(recipe).name if recipe.endswith(".py") else recipe


def _unread(candidates: set[str] | frozenset[str], reads: frozenset[str], raw: dict[str, Any]) -> list[str]:
    """The candidate keys the recipe never reads, neither itself nor through an interpolation of
    the config (`output_dir` is ttwriter's own, read or not)."""
    return sorted(candidates - reads - interpolation_roots(raw) - {"output_dir"})
