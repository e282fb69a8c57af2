"""Finding and reading the torchtune config an experiment starts from, and the recipe that runs it.

Names resolve through what torchtune ships (ttwriter.registry, read without importing torch); a
name that is not there is an error listing the names that were probably meant.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any

from ttwriter.errors import BaseConfigNotFoundError, close_matches, did_you_mean, suggestion
from ttwriter.registry import ShippedConfig, is_distributed, shipped_configs, shipped_recipes
from ttwriter.safe_read import sha256_file
from ttwriter.yaml_io import KeyPath, read_yaml


@dataclasses.dataclass(frozen=True)
class BaseConfig:
    """The starting point of every run: a parsed torchtune YAML and where it came from."""

    name: str
    """Registry name (`llama3_2/1B_lora_single_device`) or the file path as given."""
    path: Path
    sha256: str
    recipe: str | None
    """Recipe name or path of a recipe .py; None when it cannot be known."""
    distributed: bool
    data: dict[str, Any]
    lines: dict[KeyPath, int]


def resolve_config_name(name: str) -> ShippedConfig:
    """The shipped config called `name`, or an error listing the names it might have meant."""
    configs = shipped_configs()
    if name in configs:
        return configs[name]
    family = name.split("/")[0]
    same_family = sorted(n for n in configs if n.startswith(family + "/"))
    lines = [f"torchtune has no config named {name!r}."]
    if same_family:
        lines.append(f"Configs starting with {family + '/'!r}:")
        lines += [f"    - {n}" for n in same_family]
    # Within a known family, compare what follows the '/': 'llama3/invalid' should not suggest
    # another family's config just because the family names look alike.
    if same_family:
        by_suffix = {n.split("/", 1)[1]: n for n in same_family}
        close = close_matches(name.split("/", 1)[-1], by_suffix)
        hint = suggestion([by_suffix[c] for c in close], capital=True)
    else:
        hint = did_you_mean(name, configs, capital=True)
    if hint:
        lines.append(hint)
    raise BaseConfigNotFoundError(
        "\n  ".join(lines),
        path=("base_config",),
        fix="run 'tune ls' for the full list, or use base_config_file for your own YAML",
    )


_RUN_COMMENT = re.compile(r"tune run (?:--\S+ \S+ )*([A-Za-z0-9_/]+) ")


def _recipe_from_comments(path: Path) -> str | None:
    """`tune cp` copies keep torchtune's header comment naming the recipe; use it when it is there.

    The header may first show a prerequisite run (the KD configs fine-tune the teacher with
    another recipe), and the command that launches this config comes last, so the last wins.
    """
    try:
        head = path.read_text(encoding="utf-8")[:4000]
    except (OSError, ValueError):  # not UTF-8: reading the config itself says where
        return None
    recipes = shipped_recipes()
    found = [m.group(1) for m in _RUN_COMMENT.finditer(head) if m.group(1) in recipes]
    return found[-1] if found else None


def resolve_recipe(recipe: str, relative_to: Path) -> tuple[str, bool]:
    """A recipe name `tune run` knows, or the absolute path of a recipe .py file."""
    recipes = shipped_recipes()
    if recipe in recipes:
        return recipe, is_distributed(recipe)
    if recipe.endswith(".py"):
        path = (relative_to / recipe).expanduser().resolve()
        if not path.is_file():
            raise BaseConfigNotFoundError(
                f"recipe file {str(path)!r} does not exist",
                path=("recipe",),
                fix="give a path relative to the experiment file, or a recipe name from 'tune ls'",
            )
        return str(path), is_distributed(str(path))
    hint = did_you_mean(recipe, recipes)
    raise BaseConfigNotFoundError(
        f"torchtune has no recipe named {recipe!r}" + (f"; {hint}" if hint else ""),
        path=("recipe",),
        fix="use a recipe name from 'tune ls' or the path of your own recipe .py file",
    )


def load_base_config(
    base_config: str | None,
    base_config_file: str | None,
    recipe: str | None,
    relative_to: Path,
) -> BaseConfig:
    """Read the experiment's base config and settle which recipe runs it."""
    if base_config is not None:
        shipped = resolve_config_name(base_config)
        name, path = shipped.name, shipped.path
        if not path.is_file():
            raise BaseConfigNotFoundError(
                f"torchtune lists {name!r}, but its file {str(path)!r} is not installed",
                path=("base_config",),
                fix="pick another config from 'tune ls', or use base_config_file with your own copy",
            )
        run_recipe: str | None = shipped.recipe
        distributed = shipped.distributed
    else:
        assert base_config_file is not None
        path = (relative_to / base_config_file).expanduser().resolve()
        if not path.is_file():
            raise BaseConfigNotFoundError(
                f"base_config_file {str(path)!r} does not exist",
                path=("base_config_file",),
                fix="paths are relative to the experiment file; check the spelling, "
                "or use base_config with a name from 'tune ls'",
            )
        name = str(path)
        run_recipe = _recipe_from_comments(path)
        distributed = is_distributed(run_recipe)
    if recipe is not None:
        run_recipe, distributed = resolve_recipe(recipe, relative_to)
    data, lines = read_yaml(path)
    if not isinstance(data, dict):
        raise BaseConfigNotFoundError(
            f"base config {str(path)!r} is not a YAML mapping of keys to values",
            path=("base_config_file" if base_config is None else "base_config",),
            fix="point to a torchtune config YAML (e.g. one copied with 'tune cp')",
        )
    return BaseConfig(name, path, sha256_file(path), run_recipe, distributed, data, lines)
