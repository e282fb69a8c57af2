"""The shipped component table: what validation needs of torchtune's and torch's components,
read without importing either.

Importing torch and torchtune costs seconds, and almost all of a validated sweep's time was that
import. torchtune 0.6.1 is frozen and torch is pinned, so what the checks ask of a component (its
parameters, their kinds, defaults and annotations, what its code imports, the names next to it
for "did you mean") is recorded once per version by validation.table_build into
components_table.json.gz, next to this module. It is used only when the installed torch,
torchtune and Python are the ones it was built from (read with importlib.metadata, nothing
imported); otherwise, and for anything it does not hold (your own modules, other packages, a
module that failed to import when it was built), the component is imported as before.

Looking a path up follows `components.locate_imported` step by step: the longest importable
module prefix, then attributes. The table answers only when it knows every step for certain, and
says "not covered" (None) otherwise.
"""

from __future__ import annotations

import dataclasses
import functools
import gzip
import importlib.metadata
import importlib.util
import json
import sys
from pathlib import Path
from typing import Any

from ttwriter.validation.report import WARNING
from ttwriter.validation.signature import ComponentInfo, Located

TABLE_FILE = Path(__file__).with_name("components_table.json.gz")
FORMAT = 1
"""Bumped when what the table records changes (a table of another format is not used)."""
PACKAGES = ("torch", "torchtune")
"""The distributions whose components the table holds; their versions key it."""


def installed_versions() -> dict[str, str | None]:
    """The key a table must match: Python's major.minor and the installed torch and torchtune."""
    versions: dict[str, str | None] = {"python": f"{sys.version_info[0]}.{sys.version_info[1]}"}
    for name in PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    return versions


@dataclasses.dataclass(frozen=True)
class _Module:
    attrs: frozenset[str]
    """Every name `dir(module)` gives (for hasattr)."""
    names: list[str]
    """What "did you mean" picks from (components.members)."""
    submodules: frozenset[str]
    missing: str | None
    """The module failed to import when the table was built because this package was missing."""


class ComponentTable:
    """One loaded table (see the module docstring)."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.versions: dict[str, Any] = data["versions"]
        self._modules: dict[str, Any] = data["modules"]
        self._paths: dict[str, int] = data["paths"]
        self._components: list[Any] = data["components"]

    @functools.cache  # noqa: B019 - one table per process
    def _module(self, name: str) -> _Module | None:
        entry = self._modules.get(name)
        if entry is None:
            return None
        attrs = frozenset(entry.get("attrs", "").split())
        submodules = frozenset(entry.get("submodules", "").split())
        names = sorted({n for n in attrs | submodules if not n.startswith("_")})
        return _Module(attrs, names, submodules, entry.get("missing"))

    @functools.cache  # noqa: B019 - one table per process
    def component(self, index: int) -> ComponentInfo:
        entry = self._components[index]
        return ComponentInfo.from_json(json.loads(entry) if isinstance(entry, str) else entry)

    def locate(self, dotted: str) -> Located | None:
        """What `components.locate_imported(dotted)` would find, or None when the table cannot tell."""
        from ttwriter.validation.components import not_found

        parts = dotted.split(".")
        if not all(parts) or parts[0] not in self._modules:
            return None
        for cut in range(len(parts), 0, -1):
            name = ".".join(parts[:cut])
            for k in range(1, cut + 1):  # importing `name` imports its parents first
                parent = self._module(".".join(parts[:k]))
                if parent is not None and parent.missing is not None:
                    return _needs(name, parent.missing)
            module = self._module(name)
            if module is None:
                parent = self._module(".".join(parts[: cut - 1])) if cut > 1 else None
                if parent is not None and parts[cut - 1] in parent.submodules:
                    return None  # a module the table does not hold
                continue  # importing it would fail on its own name: try the shorter prefix
            if cut == len(parts):
                return None  # a module itself: imported
            if parts[cut] not in module.attrs:
                return not_found(parts, cut, module.names)
            if cut + 1 < len(parts):
                return None  # an attribute of an attribute: imported
            index = self._paths.get(dotted)
            return Located(info=self.component(index)) if index is not None else None
        return None


def _needs(name: str, package: str) -> Located | None:
    """A module that failed to import for a missing package, as the import would say it, if the
    package is still missing (it may have been installed since)."""
    if name.startswith(package) or package in name:
        return None  # the import would read differently: let it say so
    try:
        if importlib.util.find_spec(package.split(".")[0]) is not None:
            return None
    except (ImportError, ValueError):
        return None
    return Located(
        problem=f"cannot be imported here: {name} needs {package!r}, which is not installed",
        severity=WARNING,
        fix=f"install {package.split('.')[0]} where the runs train",
    )


def read_table(path: Path = TABLE_FILE) -> dict[str, Any] | None:
    """The table's data, or None when there is none or it cannot be read."""
    try:
        with gzip.open(path, "rt", encoding="utf-8") as file:
            data = json.load(file)
    except (OSError, ValueError, EOFError):
        return None
    return data if isinstance(data, dict) else None


@functools.lru_cache(maxsize=1)
def component_table() -> ComponentTable | None:
    """The shipped table when it was built for what is installed here, else None."""
    data = read_table()
    if data is None or data.get("format") != FORMAT or data.get("versions") != installed_versions():
        return None
    return ComponentTable(data)
