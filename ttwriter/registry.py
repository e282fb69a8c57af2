"""What torchtune ships, read without importing torch: configs, recipes, what recipes read, `tune`.

torchtune's package import pulls in torch and costs seconds, so nothing here imports it: the
recipe registry (what `tune ls` prints) is plain data and is executed on its own, the shipped
configs are plain YAML files next to it, and what a recipe reads from its config is found in the
recipe's source, not by running it. Everything ttwriter knows about the installed torchtune is
answered here:

- where it is (`torchtune_root`) and its version;
- the shipped configs (name -> file, recipe, distributed) and recipes (`shipped_configs`,
  `shipped_recipes`), and which recipes are distributed (`is_distributed`, the one rule);
- the source file of a recipe and the top-level keys it reads (`recipe_source`, `recipe_keys`);
  a key the recipe never reads is a silent no-op (a sweep over it trains the same model N
  times), and a key read as `cfg.batch_size` (no default) must be present, or the run dies at
  start-up after waiting in the queue; this works for a researcher's own recipe file too;
- where `tune` is for the jobs and local runs ttwriter starts (`add_tune_to_path`).
"""

from __future__ import annotations

import ast
import dataclasses
import functools
import importlib.metadata
import importlib.util
import os
import shutil
import sys
from pathlib import Path

from ttwriter.errors import BaseConfigNotFoundError


def torchtune_root() -> Path:
    """The folder of the installed torchtune package (its recipes are in `../recipes`)."""
    spec = importlib.util.find_spec("torchtune")
    if spec is None or not spec.origin:
        raise BaseConfigNotFoundError(
            "torchtune is not installed, so base_config names cannot be resolved",
            fix="install it (pip install torchtune==0.6.1), or use base_config_file",
        )
    return Path(spec.origin).parent


def torchtune_version() -> str | None:
    try:
        return importlib.metadata.version("torchtune")
    except importlib.metadata.PackageNotFoundError:
        return None


@dataclasses.dataclass(frozen=True)
class ShippedConfig:
    """One config of torchtune's registry and the recipe `tune ls` pairs with it."""

    name: str
    path: Path
    recipe: str
    distributed: bool


@functools.lru_cache(maxsize=1)
def shipped_configs() -> dict[str, ShippedConfig]:
    """Every config name `tune ls` prints, mapped to its file and recipe."""
    root = torchtune_root()
    spec = importlib.util.spec_from_file_location("_ttwriter_recipe_registry", root / "_recipe_registry.py")
    assert spec is not None and spec.loader is not None
    registry = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(registry)
    configs_dir = root.parent / "recipes" / "configs"
    found: dict[str, ShippedConfig] = {}
    for recipe in registry.get_all_recipes():
        for config in recipe.configs:
            found.setdefault(
                config.name,
                ShippedConfig(
                    config.name,
                    configs_dir / config.file_path,
                    recipe.name,
                    recipe.supports_distributed,
                ),
            )
    return found


@functools.lru_cache(maxsize=1)
def shipped_recipes() -> dict[str, bool]:
    """Recipe names `tune run` knows, mapped to whether they are distributed."""
    return {c.recipe: c.distributed for c in shipped_configs().values()}


def is_distributed(recipe: str | None) -> bool:
    """Whether `recipe` runs on several devices (`tune run --nproc_per_node`): as torchtune's
    registry says for a shipped recipe; for a recipe file, whether its name says `distributed`."""
    if recipe is None:
        return False
    if recipe.endswith(".py"):
        return "distributed" in Path(recipe).stem
    return shipped_recipes().get(recipe, False)


def add_tune_to_path(env: dict[str, str]) -> str | None:
    """Make `tune` findable for a job or a local run started with `env`.

    When `tune` is not on env's PATH but sits next to the Python running ttwriter (`.venv/bin/
    ttwriter ...` without activating the venv), that folder goes first on PATH, so the default
    command finds the torchtune ttwriter was installed with. Returns the folder added, or None.
    """
    here = Path(sys.executable).parent
    if shutil.which("tune", path=env.get("PATH")) is None and (here / "tune").is_file():
        env["PATH"] = os.pathsep.join(p for p in (str(here), env.get("PATH")) if p)
        return str(here)
    return None


# --- what a recipe reads from its config -----------------------------------------------------------

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
        path = torchtune_root().parent / "recipes" / f"{recipe}.py"
    return path if path.is_file() else None


def _constants(tree: ast.Module, follow_imports: bool) -> dict[str, str]:
    """String constants a recipe names keys by (`PROFILER_KEY`), defined at top level, or imported
    (`follow_imports`: read from the source of the module they come from, nothing imported)."""
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
        elif follow_imports and isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                if alias.name.isupper():
                    value = module_constant(node.module, alias.name)
                    if value is not None:
                        found[alias.asname or alias.name] = value
    return found


@functools.lru_cache(maxsize=256)
def module_constant(module: str, name: str, depth: int = 0) -> str | None:
    """The string a module-level `NAME = "..."` of `module` holds, read from its source and
    followed through `from x import NAME` re-exports; None when it cannot be read so."""
    from ttwriter.validation.code_imports import find_spec

    try:
        spec = find_spec(module)
    except (ImportError, ValueError):
        return None
    if depth > 4 or spec is None or not (spec.origin and spec.origin.endswith(".py")):
        return None
    try:
        tree = ast.parse(Path(spec.origin).read_bytes())
    except (OSError, SyntaxError, ValueError, RecursionError):
        return None
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == name for t in node.targets
        ):
            value = node.value
            return value.value if isinstance(value, ast.Constant) and isinstance(value.value, str) else None
    package = module if spec.submodule_search_locations is not None else module.rpartition(".")[0]
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and any((a.asname or a.name) == name for a in node.names):
            original = next(a.name for a in node.names if (a.asname or a.name) == name)
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                source = ".".join([*base, *([node.module] if node.module else [])])
            else:
                source = node.module or ""
            return module_constant(source, original, depth + 1) if source else None
    return None


def _key(node: ast.AST, constants: dict[str, str]) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.Name):
        return constants.get(node.id)
    return None


def _is_cfg(node: ast.AST) -> bool:
    return isinstance(node, ast.Name) and node.id == "cfg"


@functools.lru_cache(maxsize=32)
def recipe_keys(recipe: str, *, follow_imports: bool = True) -> RecipeKeys | None:
    """What `recipe` reads from its config; None when its source cannot be found or read.

    Without `follow_imports`, keys named by imported constants are missed (what smoke uses);
    with it, they are read from the source of the modules they come from. Nothing is imported
    either way: generation and validation must not import torch."""
    path = recipe_source(recipe)
    if path is None:
        return None
    try:
        tree = ast.parse(path.read_bytes())  # decoded as Python decodes it (BOM, coding line)
    except (OSError, SyntaxError, ValueError, RecursionError):
        return None
    constants = _constants(tree, follow_imports)
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
