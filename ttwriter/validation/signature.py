"""What validation knows about a component, as plain data: its parameters with their kinds,
defaults and annotations, the name torchtune calls it by, and the modules its code imports.

The checks never look at the Python object itself, only at this description of it. The
description is made the same way from an imported object (`describe`) and from the shipped
component table (validation.table, built by validation.table_build), so a check gives the same
finding whether the component was imported or read from the table. An annotation is described
by what the checks ask of it: which YAML values are instances of a class, whether it is a
`pathlib.Path`, the members of a union, the values of a `Literal`, a generic's origin.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import typing
from collections.abc import Callable
from typing import Any

from ttwriter.validation.code_imports import code_imports
from ttwriter.validation.report import ERROR, Severity

YAML_TYPES: tuple[type, ...] = (bool, int, float, str, list, dict)
"""The types of the values a parsed config holds (None apart)."""
_PLAIN = (str, int, float, bool, type(None))


class NotPlainData(ValueError):
    """A component the table cannot describe exactly (it is then imported when checked)."""


@dataclasses.dataclass(frozen=True)
class Annotation:
    """One annotation, as the type checks see it.

    kind: `empty` (none), `text` (a string annotation, unresolved), `any`, `class`, `union`,
    `literal`, `generic` (a subscripted alias: `list[int]`, `Callable[..., T]`), `other`.
    """

    kind: str
    name: str = ""
    """`class`: module.qualname; `text`: the string."""
    short: str = ""
    """`__name__`, when it has one (`Path`, `float`)."""
    is_type: bool = False
    """An instance of `type` (isinstance against it means something)."""
    instances: tuple[str, ...] = ()
    """`class`: the YAML value types (by name) whose values are instances of it."""
    path: bool = False
    """`class`: a `pathlib.Path` or subclass."""
    args: tuple[Any, ...] = ()
    """`union`, `generic`: Annotations of the arguments; `literal`: the values."""
    origin: Annotation | None = None
    """`generic`: the class it subscripts (`list` of `list[int]`)."""
    text: str = ""
    """How a message names it (`float | torch.Tensor`); kept for parameters' own annotations."""

    def as_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"k": self.kind}
        for key, value in (
            ("n", self.name),
            ("s", self.short),
            ("y", self.is_type),
            ("i", list(self.instances)),
            ("p", self.path),
            ("t", self.text),
        ):
            if value:
                data[key] = value
        if self.args:
            data["a"] = list(self.args) if self.kind == "literal" else [a.as_json() for a in self.args]
        if self.origin is not None:
            data["o"] = self.origin.as_json()
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Annotation:
        kind = data["k"]
        args = data.get("a", ())
        return cls(
            kind,
            data.get("n", ""),
            data.get("s", ""),
            data.get("y", False),
            tuple(data.get("i", ())),
            data.get("p", False),
            tuple(args) if kind == "literal" else tuple(cls.from_json(a) for a in args),
            cls.from_json(data["o"]) if "o" in data else None,
            data.get("t", ""),
        )


EMPTY = Annotation("empty")


def display(annotation: Any) -> str:
    """How a message names an annotation: `float`, `float | torch.Tensor`, `Optional[int]`."""
    if isinstance(annotation, type):
        return annotation.__name__
    return str(annotation).replace("typing.", "")


def annotation_of(annotation: Any, plain: bool = False, top: bool = True) -> Annotation:
    """The description of a live annotation; `plain` (for the table) refuses what JSON cannot hold."""
    text = display(annotation) if top else ""
    if annotation is inspect.Parameter.empty:
        return EMPTY
    if isinstance(annotation, str):
        return Annotation("text", name=annotation, text=text)
    if annotation is Any:
        return Annotation("any", short="Any", text=text)
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    short = getattr(annotation, "__name__", "")
    short = short if isinstance(short, str) else ""
    if origin is typing.Union or (origin is not None and str(origin) == "<class 'types.UnionType'>"):
        members = tuple(annotation_of(a, plain, top=False) for a in args)
        return Annotation("union", short=short, is_type=isinstance(annotation, type), args=members, text=text)
    if origin is typing.Literal:
        if plain and not all(type(a) in _PLAIN for a in args):
            raise NotPlainData(f"Literal of non-plain values: {annotation!r}")
        return Annotation("literal", short=short, args=args, text=text)
    if origin is not None:
        return Annotation(
            "generic",
            short=short,
            is_type=isinstance(annotation, type),
            args=tuple(annotation_of(a, plain, top=False) for a in args),
            origin=annotation_of(origin, plain, top=False),
            text=text,
        )
    if isinstance(annotation, type):
        from pathlib import Path

        try:
            instances = tuple(t.__name__ for t in YAML_TYPES if issubclass(t, annotation))
            path = issubclass(annotation, Path)
        except TypeError:  # a class that refuses issubclass (a Protocol): no YAML value is one
            instances, path = (), False
        return Annotation(
            "class",
            name=f"{annotation.__module__}.{annotation.__qualname__}",
            short=annotation.__name__,
            is_type=True,
            instances=instances,
            path=path,
            text=text,
        )
    return Annotation("other", short=short, text=text)


def is_instance(value: Any, annotation: Annotation) -> bool:
    """`isinstance(value, cls)` for a `class` annotation, without the class."""
    if type(value) in YAML_TYPES:
        return type(value).__name__ in annotation.instances
    return any(f"{c.__module__}.{c.__qualname__}" == annotation.name for c in type(value).__mro__)


_NOT_PLAIN = object()
"""A default that is not a JSON scalar (a list, an object): what it is does not matter to any check."""


@dataclasses.dataclass(frozen=True)
class Param:
    """One parameter of a component."""

    name: str
    kind: inspect._ParameterKind
    has_default: bool
    default: Any
    """The default when it is a str, number, bool or None; else `_NOT_PLAIN`."""
    annotation: Annotation
    """What the type checks judge values by: the evaluated type hint, else the raw annotation."""
    raw: Annotation
    """The annotation as written in the signature (a string under `from __future__ import annotations`)."""

    @property
    def named(self) -> bool:
        """Not `*args` or `**kwargs`."""
        return self.kind not in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)

    @property
    def plain_default(self) -> Any:
        """The default if it is a plain value, else None."""
        return None if self.default is _NOT_PLAIN else self.default


@dataclasses.dataclass(frozen=True)
class ComponentInfo:
    """A component as validation sees it."""

    name: str | None
    """`__name__`: how torchtune's validate names it in its messages; None when it has none."""
    params: tuple[Param, ...] | None
    """None when it has no signature (inspect cannot tell its parameters)."""
    imports: tuple[str, ...] | None
    """Absolute modules its code imports (a class's `__init__`; optional imports left out);
    None when its source cannot be read."""

    @functools.cached_property
    def by_name(self) -> dict[str, Param]:
        return {p.name: p for p in self.params or ()}

    @functools.cached_property
    def signature(self) -> inspect.Signature:
        """An `inspect.Signature` with the same parameters (defaults stand-ins): binding arguments
        to it fails as binding them to the component would."""
        return inspect.Signature(
            [
                inspect.Parameter(
                    p.name, p.kind, default=p.default if p.has_default else inspect.Parameter.empty
                )
                for p in self.params or ()
            ],
            __validate_parameters__=False,
        )

    def as_json(self) -> dict[str, Any]:
        params = []
        for p in self.params or ():
            entry: dict[str, Any] = {"n": p.name, "k": int(p.kind)}
            if p.has_default:
                entry["d"] = True
                if p.default is not _NOT_PLAIN:
                    entry["v"] = p.default
            if p.annotation.kind != "empty":
                entry["a"] = p.annotation.as_json()
            if p.raw != p.annotation:
                entry["r"] = p.raw.as_json()
            params.append(entry)
        data: dict[str, Any] = {"name": self.name, "params": params}
        if self.imports:
            data["imports"] = list(self.imports)
        elif self.imports is None:
            data["imports"] = None
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ComponentInfo:
        params = []
        for entry in data["params"]:
            annotation = Annotation.from_json(entry["a"]) if "a" in entry else EMPTY
            params.append(
                Param(
                    entry["n"],
                    inspect._ParameterKind(entry["k"]),
                    entry.get("d", False),
                    entry.get("v", _NOT_PLAIN),
                    annotation,
                    Annotation.from_json(entry["r"]) if "r" in entry else annotation,
                )
            )
        imports = data.get("imports", ())
        return cls(data["name"], tuple(params), None if imports is None else tuple(imports))


def describe(obj: Any, plain: bool = False) -> ComponentInfo:
    """The description of an imported component; `plain` (for the table) raises `NotPlainData`
    for what JSON cannot hold exactly."""
    name = getattr(obj, "__name__", None)
    name = name if isinstance(name, str) else None
    try:
        signature: inspect.Signature | None = inspect.signature(obj)
    except (TypeError, ValueError):
        signature = None
    params: tuple[Param, ...] | None = None
    if signature is not None:
        target = obj.__init__ if inspect.isclass(obj) else obj
        try:
            hints = typing.get_type_hints(target)
        except Exception:  # unresolvable forward references: fall back to raw annotations
            hints = {}
        found = []
        for p in signature.parameters.values():
            default = p.default if type(p.default) in _PLAIN else _NOT_PLAIN
            raw = annotation_of(p.annotation, plain)
            hint = hints.get(p.name, p.annotation)
            annotation = raw if hint is p.annotation else annotation_of(hint, plain)
            found.append(Param(p.name, p.kind, p.default is not p.empty, default, annotation, raw))
        params = tuple(found)
    return ComponentInfo(name, params, _imports(obj))


def _imports(obj: Any) -> tuple[str, ...] | None:
    code: Callable[..., Any] = obj.__init__ if inspect.isclass(obj) else obj
    try:
        return tuple(code_imports(inspect.getsource(code), deep=True))
    except (OSError, TypeError, SyntaxError):
        return None


@dataclasses.dataclass(frozen=True)
class Located:
    """A `_component_` path looked up: what is there, or why it cannot be had on this machine."""

    info: ComponentInfo | None = None
    problem: str | None = None
    """None when found; else why not, phrased for the message."""
    severity: Severity = ERROR
    fix: str = ""
