"""Constraints between keys that torchtune checks only when a run starts, checked at validation.

`tune validate` binds arguments; it never runs the checks inside torchtune's builders and
recipes. So `dataset.packed: true` with `tokenizer.max_seq_len: null` validates, waits in the
queue, and dies with "PackedDataset requires a max_seq_len to be set on the tokenizer". Every
constraint here is one that torchtune 0.6.1 enforces at start-up and that the config alone
decides (not the hardware, the files or the data): one function each, registered in a table.

Builder checks (startup.datasets, startup.models) follow the `_component_` paths and apply to
every recipe, a user's own recipe file included. Recipe checks (startup.recipes,
startup.quantization) apply to the shipped recipes, by `tune ls` name, whose source holds the check; `marker` is that verbatim source
text, and a test pins each table entry to the recipes that contain it. The checks read the
plain resolved config and import neither torch nor torchtune: builder defaults they need are
read from torchtune's source.
"""

from __future__ import annotations

import ast
import dataclasses
import functools
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from ttwriter.registry import torchtune_root
from ttwriter.validation.interpolation import UNRESOLVED
from ttwriter.validation.report import ERROR, Finding

CHECK = "startup"
UNKNOWN = object()
"""A default that cannot be read from torchtune's source: checks that need it stay silent."""


@dataclasses.dataclass(frozen=True)
class StartupCheck:
    """One constraint torchtune enforces at start-up, and where."""

    run: Callable[[dict[str, Any], str | None], list[Finding]]
    """Findings for one resolved config and recipe name (None for a user's own recipe)."""
    where: str
    """The torchtune function that raises, as documented in docs/validation.md."""
    recipes: frozenset[str] | None = None
    """Recipe names (`tune ls`) it applies to; None: a builder check, for every recipe."""
    marker: str = ""
    """Verbatim text of each of those recipes' source that holds the check."""


def recipes(names: str) -> frozenset[str]:
    """Recipe names (`tune ls`), separated by white space."""
    return frozenset(names.split())


def startup_findings(
    plain: dict[str, Any], recipe: str | None, derived: Mapping[str, str] | None = None
) -> list[Finding]:
    """Every start-up constraint the config breaks, for the recipe it will run with; `derived`
    (top-level key -> the experiment's expression) words the fix of an integer key's value."""
    from ttwriter.validation.startup.integers import integer_findings

    name = None if recipe is None or recipe.endswith(".py") else recipe
    findings: list[Finding] = []
    for check in all_checks():
        if check.recipes is None or name in check.recipes:
            findings += check.run(plain, name)
    return findings + integer_findings(plain, name, derived)


def all_checks() -> tuple[StartupCheck, ...]:
    """The registry: builder checks first, then recipe checks (imported here: they import this module)."""
    from ttwriter.validation.startup.datasets import DATASET_CHECKS
    from ttwriter.validation.startup.models import MODEL_CHECKS
    from ttwriter.validation.startup.quantization import QUANTIZATION_CHECKS
    from ttwriter.validation.startup.recipes import RECIPE_CHECKS

    return (*DATASET_CHECKS, *MODEL_CHECKS, *RECIPE_CHECKS, *QUANTIZATION_CHECKS)


def error(keys: Iterable[str], what: str, raises: str, fix: str) -> Finding:
    """A start-up failure: what the config has, what torchtune would raise, and the fix."""
    return Finding(
        ERROR, CHECK, ", ".join(keys), f'{what}, so the run would stop at start-up: "{raises}"', fix
    )


def show(value: Any) -> str:
    """A value as the user wrote it in YAML."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value)


def truthy(value: Any) -> bool:
    """What torchtune's `if value:` sees, for the plain values a config holds."""
    if value is UNRESOLVED or value is UNKNOWN or isinstance(value, str):
        return False  # unknown, or a string where a bool belongs (the type check reports it)
    return bool(value)


def number(value: Any) -> int | float | None:
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def component(node: Any) -> str | None:
    """The `_component_` path of a node, or None when it is not a component."""
    if isinstance(node, dict) and isinstance(node.get("_component_"), str):
        return str(node["_component_"])
    return None


def torchtune_name(node: Any) -> str | None:
    """The builder's own name when a node is a torchtune component (`alpaca_dataset`)."""
    dotted = component(node)
    if dotted is None or not dotted.startswith("torchtune."):
        return None
    return dotted.rsplit(".", 1)[-1]


def device_type(device: Any) -> str | None:
    """`cuda` for `cuda:1`: what `torch.device(device).type` gives; None when not a string."""
    return device.split(":", 1)[0] if isinstance(device, str) else None


def argument(node: dict[str, Any], name: str) -> Any:
    """A component's argument as torchtune would see it: the config's value or the default."""
    if name in node:
        return node[name]
    dotted = component(node)
    return builder_default(dotted, name) if dotted else UNKNOWN


@functools.lru_cache(maxsize=256)
def builder_default(dotted: str, param: str) -> Any:
    """The default of `param` in the torchtune function at `dotted`, read from its source."""
    parts = dotted.split(".")
    if parts[0] != "torchtune" or len(parts) < 2:
        return UNKNOWN
    defaults = _defaults(torchtune_root().parent, tuple(parts[:-1]), parts[-1], depth=0)
    node = (defaults or {}).get(param)
    if node is None:
        return UNKNOWN  # not found, no such parameter, or a required one
    try:
        return ast.literal_eval(node)
    except ValueError:
        return UNKNOWN


def _defaults(
    site: Path, module: tuple[str, ...], name: str, depth: int
) -> dict[str, ast.expr | None] | None:
    """Parameter defaults of `name` as seen from `module`: its `def`, a `partial(...)` of one,
    or what `from x import name` brings in."""
    base = site.joinpath(*module)
    path = base / "__init__.py" if base.is_dir() else base.with_suffix(".py")
    if depth > 4 or not path.is_file():
        return None
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"))
    except (OSError, SyntaxError, UnicodeDecodeError):
        return None
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name == name:
            args = node.args
            positional = [a.arg for a in (*args.posonlyargs, *args.args)]
            found: dict[str, ast.expr | None] = {n: None for n in positional}
            found.update(zip(positional[len(positional) - len(args.defaults) :], args.defaults, strict=True))
            found.update(zip([a.arg for a in args.kwonlyargs], args.kw_defaults, strict=True))
            return found
        if (
            isinstance(node, ast.Assign)
            and any(isinstance(t, ast.Name) and t.id == name for t in node.targets)
            and isinstance(node.value, ast.Call)
            and isinstance(node.value.func, ast.Name)
            and node.value.func.id == "partial"
            and node.value.args
            and isinstance(node.value.args[0], ast.Name)
        ):
            inner = _defaults(site, module, node.value.args[0].id, depth + 1)
            if inner is None:
                return None
            return {**inner, **{k.arg: k.value for k in node.value.keywords if k.arg}}
    package = module if path.name == "__init__.py" else module[:-1]
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and any((a.asname or a.name) == name for a in node.names):
            original = next(a.name for a in node.names if (a.asname or a.name) == name)
            source = package[: len(package) - node.level + 1] if node.level else ()
            target = (*source, *(node.module.split(".") if node.module else ()))
            return _defaults(site, target, original, depth + 1)
    return None
