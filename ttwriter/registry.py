"""Which top-level config keys a torchtune recipe reads, found from the recipe's source.

A key the recipe never reads is a silent no-op: a sweep over it trains the same model N times.
A key read as `cfg.batch_size` (no default) must be present, or the run dies at start-up after
waiting in the queue. Reading the source (not running it) works for shipped recipes and for a
researcher's own recipe file alike.
"""

from __future__ import annotations

import ast
import dataclasses
import functools
import importlib
from pathlib import Path

from ttwriter.sweep.base_config import _torchtune_root

_METHODS = {"get", "pop", "items", "keys", "values", "copy", "setdefault", "update", "merge_with"}


@dataclasses.dataclass(frozen=True)
class RecipeKeys:
    """The top-level keys a recipe reads: `required` without a default, `reads` in any way."""

    recipe: str
    path: Path
    required: frozenset[str]
    reads: frozenset[str]


def recipe_source(recipe: str) -> Path | None:
    """The .py file of a recipe name from `tune ls` (`dev/generate_v2` too), or of a recipe path."""
    if recipe.endswith(".py"):
        path = Path(recipe)
    else:
        path = _torchtune_root().parent / "recipes" / f"{recipe}.py"
    return path if path.is_file() else None


def _constants(tree: ast.Module) -> dict[str, str]:
    """String constants a recipe names keys by (`PROFILER_KEY`), defined or imported at top level."""
    found: dict[str, str] = {}
    for node in tree.body:
        if (
            isinstance(node, ast.Assign)
            and isinstance(node.value, ast.Constant)
            and isinstance(node.value.value, str)
        ):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    found[target.id] = node.value.value
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                if alias.name.isupper():
                    try:
                        value = getattr(importlib.import_module(node.module), alias.name, None)
                    except Exception:  # a module that does not import here: skip its constants
                        value = None
                    if isinstance(value, str):
                        found[alias.asname or alias.name] = value
    return found


def _key(node: ast.AST, constants: dict[str, str]) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.Name):
        return constants.get(node.id)
    return None


def _is_cfg(node: ast.AST) -> bool:
    return isinstance(node, ast.Name) and node.id == "cfg"


@functools.lru_cache(maxsize=32)
def recipe_keys(recipe: str) -> RecipeKeys | None:
    """What `recipe` reads from its config; None when its source cannot be found or read."""
    path = recipe_source(recipe)
    if path is None:
        return None
    try:
        tree = ast.parse(path.read_bytes())  # decoded as Python decodes it (BOM, coding line)
    except (OSError, SyntaxError, ValueError, RecursionError):
        return None
    constants = _constants(tree)
    attribute: set[str] = set()
    optional: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and _is_cfg(node.value) and node.attr not in _METHODS:
            attribute.add(node.attr)
        elif isinstance(node, ast.Subscript) and _is_cfg(node.value):
            key = _key(node.slice, constants)
            if key:
                attribute.add(key)
        elif isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Attribute) and _is_cfg(func.value) and func.attr in ("get", "pop"):
                key = _key(node.args[0], constants) if node.args else None
                if key:
                    optional.add(key)
            elif isinstance(func, ast.Name) and func.id in ("getattr", "hasattr") and len(node.args) >= 2:
                if _is_cfg(node.args[0]):
                    key = _key(node.args[1], constants)
                    if key:
                        optional.add(key)
        elif isinstance(node, ast.Compare) and any(isinstance(op, (ast.In, ast.NotIn)) for op in node.ops):
            if any(_is_cfg(c) for c in node.comparators):
                key = _key(node.left, constants)
                if key:
                    optional.add(key)
    reads = attribute | optional
    if not reads:
        return None
    return RecipeKeys(recipe, path, frozenset(attribute - optional), frozenset(reads))
