"""Checking `_component_` nodes at any depth against the Python objects they name.

`tune validate` binds the arguments of top-level components only. These checks go further, to
every component inside dicts and lists (a list of datasets, a nested loss): the `_component_`
path must import, every argument must be one the component takes (with "did you mean"), an
argument that a `**kwargs` would swallow but that is a near-miss of a named parameter is an error
(it fails deep inside the data loader, hours later), and values must fit the annotations.
Results are cached per distinct node, so a sweep pays once for what its runs share.
"""

from __future__ import annotations

import collections.abc as cabc
import dataclasses
import importlib
import inspect
import os
import typing
from collections.abc import Iterator
from typing import Any

from ttwriter.errors import close_matches, join_key, suggestion
from ttwriter.validation.interpolation import UNRESOLVED
from ttwriter.validation.report import ERROR, WARNING, Finding, Severity


def component_nodes(node: Any, path: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    """Every dict with a `_component_` key, at any depth, with its key path."""
    if isinstance(node, dict):
        if "_component_" in node:
            yield path, node
        for key, value in node.items():
            yield from component_nodes(value, join_key(path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from component_nodes(value, join_key(path, index))


@dataclasses.dataclass(frozen=True)
class _Located:
    obj: Any = None
    problem: str | None = None
    """None when found; else why not, phrased for the message."""
    severity: Severity = ERROR
    fix: str = ""


def _locate(dotted: str) -> _Located:
    """The object at a dotted path, or why it cannot be had on this machine.

    A misspelled module or attribute is an error (with close names); a package that is not
    installed here, or a module whose own dependency is missing, is a warning: the cluster's
    environment may have it (bitsandbytes, torchvision).
    """
    parts = dotted.split(".")
    if not all(parts):
        return _Located(problem="is not a dotted path", fix="e.g. torchtune.models.llama3_2.lora_llama3_2_1b")
    for cut in range(len(parts), 0, -1):
        name = ".".join(parts[:cut])
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            missing = exc.name or ""
            if missing and not name.startswith(missing) and missing not in name:
                return _Located(
                    problem=f"cannot be imported here: {name} needs {missing!r}, which is not installed",
                    severity=WARNING,
                    fix=f"install {missing.split('.')[0]} where the runs train",
                )
            if cut == 1:
                return _Located(
                    problem=f"cannot be imported here: package {parts[0]!r} is not installed",
                    severity=WARNING,
                    fix=f"install {parts[0]} where the runs train, or check the spelling",
                )
            continue
        except Exception as exc:  # a module that raises on import
            return _Located(
                problem=f"fails to import: {type(exc).__name__}: {exc}",
                severity=WARNING,
                fix="check the environment where the runs train",
            )
        obj: Any = module
        for i, part in enumerate(parts[cut:], start=cut):
            if not hasattr(obj, part):
                names = [n for n in dir(obj) if not n.startswith("_")]
                prefix = ".".join(parts[:i])
                close = [f"{prefix}.{c}" for c in close_matches(part, names)]
                return _Located(
                    problem="does not exist",
                    fix=suggestion(close, show=str) or f"{prefix} has no {part!r}; check the dotted path",
                )
            obj = getattr(obj, part)
        return _Located(obj=obj)
    return _Located(problem="does not import", fix="check the dotted path")


class ComponentChecker:
    """Checks component nodes; one instance per sweep so repeated nodes are checked once."""

    def __init__(self) -> None:
        self._objects: dict[str, _Located] = {}
        self._signatures: dict[str, tuple[inspect.Signature | None, dict[str, Any]]] = {}
        self._cache: dict[tuple[str, str], list[Finding]] = {}

    def check(self, config: dict[str, Any]) -> list[Finding]:
        findings: list[Finding] = []
        for path, node in component_nodes(config):
            key = (path, repr(node))
            if key not in self._cache:
                self._cache[key] = self._check_node(path, node)
            findings += self._cache[key]
        return findings

    def resolve(self, dotted: str) -> tuple[Any, inspect.Signature | None] | None:
        """The object at a dotted path and its signature (None when it cannot be had here);
        cached like the checks, for other checks of the same sweep."""
        located = self._object(dotted)
        if located.problem is not None:
            return None
        return located.obj, self._signature(dotted, located.obj)[0]

    def _object(self, dotted: str) -> _Located:
        if dotted not in self._objects:
            self._objects[dotted] = _locate(dotted)
        return self._objects[dotted]

    def _signature(self, dotted: str, obj: Any) -> tuple[inspect.Signature | None, dict[str, Any]]:
        if dotted not in self._signatures:
            try:
                signature = inspect.signature(obj)
            except (TypeError, ValueError):
                signature = None
            try:
                target = obj.__init__ if inspect.isclass(obj) else obj
                hints = typing.get_type_hints(target)
            except Exception:  # unresolvable forward references: fall back to raw annotations
                hints = {}
            self._signatures[dotted] = (signature, hints)
        return self._signatures[dotted]

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
        located = self._object(dotted)
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
        obj = located.obj
        signature, hints = self._signature(dotted, obj)
        if signature is None:
            return []
        params = signature.parameters
        named = [n for n, p in params.items() if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
        takes_kwargs = any(p.kind == p.VAR_KEYWORD for p in params.values())
        findings = []
        for key, value in node.items():
            if key == "_component_":
                continue
            here = join_key(path, key)
            if key in params and params[key].kind not in (
                inspect.Parameter.VAR_POSITIONAL,
                inspect.Parameter.VAR_KEYWORD,
            ):
                annotation = hints.get(key, params[key].annotation)
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
            close = close_matches(key, named, n=1, cutoff=0.75 if takes_kwargs else 0.6)
            if takes_kwargs and not close:
                continue  # a genuine extra argument, passed through **kwargs
            short = dotted.rsplit(".", 1)[-1]
            if takes_kwargs:
                message = (
                    f"{key!r} would be passed to {short} through **kwargs, but it looks like a "
                    f"misspelling of its parameter {close[0]!r}"
                )
            else:
                message = f"{short} has no parameter {key!r}"
            findings.append(
                Finding(
                    ERROR,
                    "component",
                    here,
                    message,
                    suggestion(close) or f"{short} takes: {', '.join(named)}",
                )
            )
        return findings


def _name(annotation: Any) -> str:
    if isinstance(annotation, type):
        return annotation.__name__
    return str(annotation).replace("typing.", "")


def _type_fix(value: Any, annotation: Any) -> str:
    if isinstance(value, str):
        try:
            float(value)
            return f"write the number without quotes: {value}"
        except ValueError:
            pass
    return f"give a value of type {_name(annotation)}"


def _fits(value: Any, annotation: Any) -> bool | None:
    """Whether a YAML value fits an annotation: True, False, or None when it cannot be told."""
    if annotation is inspect.Parameter.empty or annotation is Any or isinstance(annotation, str):
        return None
    if value is None or value is UNRESOLVED or isinstance(value, dict) and "_component_" in value:
        return None  # None is a common "use the default"; components are instantiated recursively
    if isinstance(value, str) and "${" in value:
        return None
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Union or (origin is not None and str(origin) == "<class 'types.UnionType'>"):
        # Inside a union, a plain class the value is not an instance of is a definite "no" (a
        # string is never a Tensor), so `lr: '3e-4'` against `float | Tensor` is caught.
        results = [
            r if (r := _fits(value, a)) is not None or not isinstance(a, type) else isinstance(value, a)
            for a in args
            if a is not type(None)
        ]
        if any(r is True for r in results):
            return True
        if results and all(r is False for r in results):
            return False
        return None
    if origin is typing.Literal:
        return value in args
    if origin is not None:
        annotation = origin
    if annotation is bool:
        return isinstance(value, bool)
    if annotation is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if annotation is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if annotation is str:
        return isinstance(value, str)
    if annotation in (list, tuple, cabc.Sequence, cabc.Iterable):
        return isinstance(value, (list, str)) if annotation is not list else isinstance(value, list)
    if annotation in (dict, cabc.Mapping):
        return isinstance(value, dict)
    if annotation in (os.PathLike,) or getattr(annotation, "__name__", "") in ("Path", "PurePath"):
        return isinstance(value, str)
    return None
