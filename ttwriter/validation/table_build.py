"""Building the component table (validation.table) from the installed torch and torchtune.

Run once per torch/torchtune version, never by hand: `make component-table`, or
`python scripts/build_component_table.py` (which writes validation/components_table.json.gz). It
imports every torchtune module, torch.optim, torch.nn and torch.utils.data, and the modules of
every component the shipped configs name, and describes every callable they hold the way
validation describes an imported component (validation.signature). A test rebuilds it in a fresh
process and compares it with the shipped one, so a stale table fails CI.

What JSON cannot describe exactly (a Literal of enum members)
and what has no signature are left out: those are imported when a config names them.
"""

from __future__ import annotations

import gzip
import importlib
import json
import logging
import pkgutil
import warnings
from pathlib import Path
from types import ModuleType
from typing import Any

from ttwriter.validation.signature import NotPlainData, describe
from ttwriter.validation.table import FORMAT, TABLE_FILE, installed_versions

_WALKED = ("torchtune", "torch.optim")
"""Packages whose every module is in the table."""
_MODULES = ("torch", "torch.nn", "torch.utils.data")
"""Single modules in it as well (torch itself for "did you mean" only)."""
_NAMES_ONLY = frozenset({"torch"})
"""Modules whose members are listed but not described (torch's namespace is not components)."""


def _walk(package: str) -> list[str]:
    root = importlib.import_module(package)
    names = [package]
    for info in pkgutil.walk_packages(root.__path__, f"{package}.", onerror=lambda name: None):
        names.append(info.name)
    return names


def _config_modules() -> list[str]:
    """The module of every `_component_` the shipped torchtune configs name (longest importable prefix)."""
    from ttwriter.registry import torchtune_root
    from ttwriter.validation.components import component_nodes
    from ttwriter.yaml_io import load_config_file

    found: set[str] = set()
    for path in sorted((torchtune_root().parent / "recipes" / "configs").rglob("*.yaml")):
        try:
            config = load_config_file(path)
        except Exception:  # a shipped config that does not parse is not ours to judge
            continue
        for _, node in component_nodes(config):
            dotted = node.get("_component_")
            if not isinstance(dotted, str):
                continue
            parts = dotted.split(".")
            for cut in range(len(parts) - 1, 0, -1):
                name = ".".join(parts[:cut])
                try:
                    importlib.import_module(name)
                except Exception:
                    continue
                found.add(name)
                break
    return sorted(found)


def _submodules(module: ModuleType) -> list[str]:
    path = getattr(module, "__path__", None)
    if path is None:
        return []
    return sorted(m.name for m in pkgutil.iter_modules(list(path)))


def _failure(name: str) -> dict[str, Any] | None:
    """None when `name` imports; else how it fails, if the table can say it as the import would."""
    try:
        importlib.import_module(name)
    except ModuleNotFoundError as exc:
        return {"missing": exc.name or ""}
    except Exception:
        return {"missing": None}
    return None


def build_table() -> dict[str, Any]:
    """The table's data for the installed packages (imports torch and torchtune)."""
    logging.getLogger("torchao").setLevel(logging.ERROR)
    warnings.simplefilter("ignore")
    names: set[str] = set(_MODULES)
    for package in _WALKED:
        names.update(_walk(package))
    names.update(_config_modules())
    modules: dict[str, Any] = {}
    paths: dict[str, int] = {}
    components: list[Any] = []
    seen: dict[int, int] = {}
    for name in sorted(names):
        failure = _failure(name)
        if failure is not None:
            if failure["missing"]:
                modules[name] = failure
            continue  # an import that fails otherwise is left to the import
        module = importlib.import_module(name)
        attrs = sorted(dir(module))
        modules[name] = {"attrs": " ".join(attrs), "submodules": " ".join(_submodules(module))}
        if name in _NAMES_ONLY:
            continue
        for attr in attrs:
            obj = getattr(module, attr, None)
            if obj is None or isinstance(obj, ModuleType) or not callable(obj):
                continue
            if id(obj) not in seen:
                try:
                    info = describe(obj, plain=True)
                except NotPlainData:
                    continue
                if info.params is None:
                    continue
                seen[id(obj)] = len(components)
                components.append(info.as_json())
            paths[f"{name}.{attr}"] = seen[id(obj)]
    return {
        "format": FORMAT,
        "versions": installed_versions(),
        "modules": modules,
        "paths": dict(sorted(paths.items())),
        "components": components,
    }


def dump_table(data: dict[str, Any]) -> bytes:
    """The table file's bytes: gzip of one JSON line, with no timestamp, so equal tables are equal files."""
    text = json.dumps(data, separators=(",", ":"), sort_keys=False)
    return gzip.compress(text.encode("utf-8"), mtime=0)


def write_table(path: Path = TABLE_FILE) -> dict[str, Any]:
    data = build_table()
    path.write_bytes(dump_table(data))
    return data
