"""Checking `_component_` nodes at any depth against the Python objects they name.

`tune validate` binds the arguments of top-level components only. These checks go further, to
every component inside dicts and lists (a list of datasets, a nested loss): the `_component_`
path must import, every argument must be one the component takes (with "did you mean"), an
argument that a `**kwargs` would swallow but that is a near-miss of a named parameter is an error
(it fails deep inside the data loader, hours later), and values must fit the annotations.
Components are looked up in the shipped component table first (validation.table: torchtune's
and torch's, read without importing either) and imported only when the table does not cover them
(your own modules, other packages, another torch or torchtune version). What is checked is the
component's description (validation.signature), the same from either source. The work is cached
per component and per argument name, so a sweep of thousands of runs checks each distinct
(component, argument) once and keeps no per-run state.
"""

from __future__ import annotations

import contextlib
import importlib
from collections.abc import Iterator
from typing import Any

from ttwriter.errors import close_matches, join_key, suggestion
from ttwriter.validation.interpolation import UNRESOLVED
from ttwriter.validation.report import ERROR, WARNING, Finding
from ttwriter.validation.signature import Annotation, ComponentInfo, Located, Param, describe, is_instance

_walked: tuple[Any, list[tuple[str, dict[str, Any]]]] | None = None
"""The config of the run being validated and its component nodes (see `walking_once`)."""


@contextlib.contextmanager
def walking_once(config: Any) -> Iterator[None]:
    """Within: `component_nodes(config)` is the list found once, not a new walk (a dozen checks
    of one run walk it; the config must not change meanwhile)."""
    global _walked
    _walked = (config, list(_component_nodes(config, "")))
    try:
        yield
    finally:
        _walked = None


def component_nodes(node: Any, path: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    """Every dict with a `_component_` key, at any depth, with its key path."""
    if _walked is not None and node is _walked[0] and not path:
        return iter(_walked[1])
    return _component_nodes(node, path)


def _component_nodes(node: Any, path: str) -> Iterator[tuple[str, dict[str, Any]]]:
    if isinstance(node, dict):
        if "_component_" in node:
            yield path, node
        for key, value in node.items():
            if isinstance(value, (dict, list)):
                yield from _component_nodes(value, join_key(path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            if isinstance(value, (dict, list)):
                yield from _component_nodes(value, join_key(path, index))


def members(obj: Any) -> list[str]:
    """The names "did you mean" picks from: the object's public attributes, and a package's
    submodules whether imported yet or not (so the suggestions do not depend on import order)."""
    names = set(dir(obj))
    path = getattr(obj, "__path__", None)
    if path is not None and isinstance(getattr(obj, "__name__", None), str):
        import pkgutil

        try:
            names.update(m.name for m in pkgutil.iter_modules(list(path)))
        except Exception:  # an unusual __path__
            pass
    return sorted(n for n in names if not n.startswith("_"))


def not_found(parts: list[str], i: int, names: list[str]) -> Located:
    """`parts[i]` is not an attribute of the object at `parts[:i]`, whose public names are `names`."""
    prefix = ".".join(parts[:i])
    close = [f"{prefix}.{c}" for c in close_matches(parts[i], names)]
    return Located(
        problem="does not exist",
        fix=suggestion(close, show=str) or f"{prefix} has no {parts[i]!r}; check the dotted path",
    )


def locate_imported(dotted: str) -> Located:
    """The component at a dotted path, imported, or why it cannot be had on this machine.

    A misspelled module or attribute is an error (with close names); a package that is not
    installed here, or a module whose own dependency is missing, is a warning: the cluster's
    environment may have it (bitsandbytes, torchvision).
    """
    parts = dotted.split(".")
    if not all(parts):
        return Located(problem="is not a dotted path", fix="e.g. torchtune.models.llama3_2.lora_llama3_2_1b")
    for cut in range(len(parts), 0, -1):
        name = ".".join(parts[:cut])
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            missing = exc.name or ""
            if missing and not name.startswith(missing) and missing not in name:
                return Located(
                    problem=f"cannot be imported here: {name} needs {missing!r}, which is not installed",
                    severity=WARNING,
                    fix=f"install {missing.split('.')[0]} where the runs train",
                )
            if cut == 1:
                return Located(
                    problem=f"cannot be imported here: package {parts[0]!r} is not installed",
                    severity=WARNING,
                    fix=f"install {parts[0]} where the runs train, or check the spelling",
                )
            continue
        except Exception as exc:  # a module that raises on import
            return Located(
                problem=f"fails to import: {type(exc).__name__}: {exc}",
                severity=WARNING,
                fix="check the environment where the runs train",
            )
        obj: Any = module
        for i, part in enumerate(parts[cut:], start=cut):
            if not hasattr(obj, part):
                return not_found(parts, i, members(obj))
            obj = getattr(obj, part)
        return Located(info=describe(obj))
    return Located(problem="does not import", fix="check the dotted path")


class ComponentChecker:
    """Checks component nodes; one instance per sweep, so each component is looked up once and
    each of its arguments judged once (apart from the value's type, which is cheap)."""

    def __init__(self, use_table: bool = True) -> None:
        self._use_table = use_table
        self._objects: dict[str, Located] = {}
        self._arguments: dict[tuple[str, str], Param | tuple[str, str] | None] = {}

    def check(self, config: dict[str, Any]) -> list[Finding]:
        findings: list[Finding] = []
        for path, node in component_nodes(config):
            findings += self._check_node(path, node)
        return findings

    def locate(self, dotted: str) -> Located:
        """The component at a dotted path: from the table when it covers it, else imported."""
        if dotted not in self._objects:
            found = None
            if self._use_table:
                from ttwriter.validation.table import component_table

                table = component_table()
                found = table.locate(dotted) if table is not None else None
            self._objects[dotted] = found if found is not None else locate_imported(dotted)
        return self._objects[dotted]

    def resolve(self, dotted: str) -> ComponentInfo | None:
        """The description of the component at a dotted path (None when it cannot be had here);
        cached like the checks, for other checks of the same sweep."""
        return self.locate(dotted).info

    def _argument(self, dotted: str, info: ComponentInfo, key: str) -> Param | tuple[str, str] | None:
        """The parameter an argument sets, None for a genuine `**kwargs` extra, or the (message,
        fix) of an argument the component does not take."""
        cache_key = (dotted, key)
        if cache_key not in self._arguments:
            param = info.by_name.get(key)
            if param is not None and param.named:
                self._arguments[cache_key] = param
            else:
                self._arguments[cache_key] = _unknown_argument(dotted, info, key)
        return self._arguments[cache_key]

    def _check_node(self, path: str, node: dict[str, Any]) -> list[Finding]:
        dotted = node["_component_"]
        where = join_key(path, "_component_")
        if not isinstance(dotted, str):
            return [
                Finding(
                    ERROR,
                    "component",
                    where,
                    f"_component_ must be a dotted path, got {dotted!r}",
                    "e.g. _component_: torchtune.models.llama3_2.lora_llama3_2_1b",
                )
            ]
        located = self.locate(dotted)
        if located.problem is not None:
            return [
                Finding(
                    located.severity,
                    "component",
                    where,
                    f"component {dotted!r} {located.problem}",
                    located.fix,
                    component=dotted,
                )
            ]
        info = located.info
        if info is None or info.params is None:
            return []
        findings = []
        for key, value in node.items():
            if key == "_component_":
                continue
            argument = self._argument(dotted, info, key)
            if argument is None:
                continue  # a genuine extra argument, passed through **kwargs
            here = join_key(path, key)
            if isinstance(argument, Param):
                annotation = argument.annotation
                if _fits(value, annotation) is False:
                    findings.append(
                        Finding(
                            ERROR,
                            "type",
                            here,
                            f"{type(value).__name__} {value!r} does not fit {dotted.rsplit('.', 1)[-1]}'s "
                            f"parameter {key}: {_name(annotation)}",
                            _type_fix(value, annotation),
                        )
                    )
                continue
            findings.append(Finding(ERROR, "component", here, *argument))
        return findings


def _unknown_argument(dotted: str, info: ComponentInfo, key: str) -> tuple[str, str] | None:
    named = [p.name for p in info.params or () if p.named]
    takes_kwargs = any(p.kind == p.kind.VAR_KEYWORD for p in info.params or ())
    close = close_matches(key, named, n=1, cutoff=0.75 if takes_kwargs else 0.6)
    if takes_kwargs and not close:
        return None
    short = dotted.rsplit(".", 1)[-1]
    if takes_kwargs:
        message = (
            f"{key!r} would be passed to {short} through **kwargs, but it looks like a "
            f"misspelling of its parameter {close[0]!r}"
        )
    else:
        message = f"{short} has no parameter {key!r}"
    return message, suggestion(close) or f"{short} takes: {', '.join(named)}"


def _name(annotation: Annotation) -> str:
    return annotation.text


def _type_fix(value: Any, annotation: Annotation) -> str:
    if isinstance(value, str):
        try:
            float(value)
            return f"write the number without quotes: {value}"
        except ValueError:
            pass
    return f"give a value of type {_name(annotation)}"


_SEQUENCES = ("builtins.list", "builtins.tuple", "collections.abc.Sequence", "collections.abc.Iterable")
_MAPPINGS = ("builtins.dict", "collections.abc.Mapping")


def _fits(value: Any, annotation: Annotation) -> bool | None:
    """Whether a YAML value fits an annotation: True, False, or None when it cannot be told."""
    kind = annotation.kind
    if kind in ("empty", "any", "text"):
        return None
    if value is None or value is UNRESOLVED or isinstance(value, dict) and "_component_" in value:
        return None  # None is a common "use the default"; components are instantiated recursively
    if isinstance(value, str) and "${" in value:
        return None
    if kind == "union":
        # Inside a union, a plain class the value is not an instance of is a definite "no" (a
        # string is never a Tensor), so `lr: '3e-4'` against `float | Tensor` is caught.
        results = [
            r if (r := _fits(value, a)) is not None or not a.is_type else is_instance(value, a)
            for a in annotation.args
            if a.name != "builtins.NoneType"
        ]
        if any(r is True for r in results):
            return True
        if results and all(r is False for r in results):
            return False
        return None
    if kind == "literal":
        return value in annotation.args
    if kind == "generic" and annotation.origin is not None:
        annotation = annotation.origin
    name = annotation.name if annotation.kind == "class" else ""
    if name == "builtins.bool":
        return isinstance(value, bool)
    if name == "builtins.float":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if name == "builtins.int":
        return isinstance(value, int) and not isinstance(value, bool)
    if name == "builtins.str":
        return isinstance(value, str)
    if name in _SEQUENCES:
        return isinstance(value, (list, str)) if name != "builtins.list" else isinstance(value, list)
    if name in _MAPPINGS:
        return isinstance(value, dict)
    if name == "os.PathLike" or annotation.short in ("Path", "PurePath"):
        return isinstance(value, str)
    return None
