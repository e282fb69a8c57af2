"""The modules a piece of code imports, read from its source, and finding a module's spec
without importing anything.

The metric-logger check (validation.environment) asks which packages a logger imports when it is
built; the component table (validation.table_build) records the same for every component, so the
check can answer without importing the logger, and so without importing torch.
"""

from __future__ import annotations

import ast
import importlib.util
import sys
import textwrap
from typing import Any


def _imports(nodes: list[ast.stmt], deep: bool) -> list[str]:
    """Absolute imports the code cannot do without: at any depth (`deep`) or only at the top
    level, leaving out imports in a `try` whose handlers carry on without them (optional ones)."""
    names: list[str] = []
    for node in nodes:
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.append(node.module)
        elif isinstance(node, ast.Try):
            if all(any(isinstance(n, ast.Raise) for n in ast.walk(h)) for h in node.handlers):
                names += _imports(node.body, deep)
            if deep:
                names += _imports(node.orelse + node.finalbody, deep)
        elif deep:
            for field in ("body", "orelse", "finalbody"):
                names += _imports([n for n in getattr(node, field, []) if isinstance(n, ast.stmt)], deep)
    return names


def code_imports(source: str, deep: bool) -> list[str]:
    """The absolute imports of `source` (see `_imports`)."""
    return _imports(ast.parse(textwrap.dedent(source)).body, deep)


def find_spec(name: str) -> Any:
    """`importlib.util.find_spec(name)`, except that a dotted name's parent packages are not
    imported (find_spec imports them: `torch.utils.tensorboard` would import torch); a module
    already imported answers as it is. Raises ImportError or ValueError as find_spec does."""
    if name in sys.modules or "." not in name:
        return importlib.util.find_spec(name)
    parent, _, _ = name.rpartition(".")
    parent_spec = find_spec(parent)
    if parent_spec is None:
        raise ModuleNotFoundError(f"No module named {parent!r}", name=parent)
    locations = parent_spec.submodule_search_locations
    if locations is None:
        raise ModuleNotFoundError(f"__path__ attribute not found on {parent!r}", name=name)
    for finder in sys.meta_path:
        finder_spec = getattr(finder, "find_spec", None)
        if finder_spec is None:
            continue
        spec = finder_spec(name, list(locations), None)
        if spec is not None:
            return spec
    return None
