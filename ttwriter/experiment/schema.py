"""What every config dataclass of an experiment shares: `Experiment`, `SlurmConfig`, and any added later.

A frozen dataclass that derives from `ConfigClass` gets, with no code of its own:
- a misspelled, missing or doubly given field as an `ExperimentSchemaError` naming it, with
  "did you mean", instead of Python's TypeError; located, when the call is in the researcher's
  file, at the line of that keyword argument (for `Experiment(...)` and `dataclasses.replace`);
- every problem of one call reported together: the call's own and those its `__post_init__`
  collects (each check in a `Problems.collect()` block), each at its own line;
- its fields whose type is a config class accepted as mappings (experiment.yaml's `slurm:`);
- `build_valid`: the instance made of the fields that have no problem, so that a loader can go
  on and find the problems the next steps would find, and report them all at once.
Problems carry key paths in the experiment (`('slurm', 'time')`): a class's `SECTION` says where
its fields are (`('slurm',)`), so its messages name the key a researcher writes.
"""

from __future__ import annotations

import ast
import dataclasses
import functools
import os
import re
import sys
import sysconfig
import typing
from collections.abc import Callable, Collection, Mapping
from pathlib import Path
from types import FrameType
from typing import Any, ClassVar, TypeVar

from ttwriter.errors import (
    ConfigWriterError,
    ExperimentSchemaError,
    Location,
    Locator,
    Problems,
    ValuePath,
    active_locator,
    did_you_mean,
    each_problem,
    locating,
    split_path,
)

_PACKAGE = str(Path(__file__).resolve().parent.parent) + os.sep
_LIBRARIES = tuple(
    {
        str(Path(p).resolve()) + os.sep
        for key in ("stdlib", "platstdlib", "purelib", "platlib")
        if (p := sysconfig.get_paths().get(key))
    }
)


class _ConfigMeta(type):
    """Constructs config classes: checks the call's field names before Python would raise a
    TypeError, and locates the problems of a call made from the researcher's file."""

    def __call__(cls, *args: Any, **kwargs: Any) -> Any:
        if active_locator() is not None:  # a loader or the command line knows where values are
            return _construct(cls, super().__call__, args, kwargs)
        with locating(_call_site(sys._getframe(1), cls)):
            return _construct(cls, super().__call__, args, kwargs)


class ConfigClass(metaclass=_ConfigMeta):
    """Base of the frozen config dataclasses an experiment is made of."""

    SECTION: ClassVar[tuple[str, ...]] = ()
    """Where this class's fields are in an experiment: () for `Experiment`, ('slurm',) for `SlurmConfig`."""
    ESSENTIAL: ClassVar[frozenset[str]] = frozenset()
    """Fields without whose valid value nothing else can be checked (the base config)."""
    STAND_INS: ClassVar[Mapping[str, Any]] = {}
    """Values for required fields whose own value is wrong, so the other fields can still be checked."""

    @classmethod
    def from_mapping(cls: type[_C], data: Mapping[Any, Any]) -> _C:
        """Build from a mapping of field names (a section of experiment.yaml, of experiment.json)."""
        for key in data:
            if not isinstance(key, str):
                raise ExperimentSchemaError(
                    f"field names are text, got {type(key).__name__} {key!r}",
                    path=(*cls.SECTION, str(key)),
                    fix="fields: " + ", ".join(field_names(cls)),
                )
        return cls(**data)


_C = TypeVar("_C", bound=ConfigClass)


CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]")
"""A line break, a tab, NUL: never part of a setting's text."""

SettingError = Callable[[str, str, str], ExperimentSchemaError]
"""A sub-config's error for (message, field, fix), located under its section."""


def text_setting(value: Any, field: str, fix: str, error: SettingError) -> str:
    """A setting that must be a non-empty string without control characters; `fix` is the
    example line shown when it is not a string."""
    if not isinstance(value, str) or not value.strip():
        raise error(f"{field} must be a non-empty string, got {value!r}", field, fix)
    if CONTROL_CHARACTERS.search(value):
        cleaned = CONTROL_CHARACTERS.sub("", value).strip()
        raise error(
            f"{field} {value!r} contains a control character (a line break, a tab, NUL)",
            field,
            f"write it without them: {cleaned!r}",
        )
    return value


def choice_setting(
    value: Any, choices: Collection[str], what: str, field: str, fix: str, error: SettingError
) -> str:
    """A setting that must be one of `choices`, with the closest one suggested."""
    if not isinstance(value, str) or value not in choices:
        hint = did_you_mean(str(value), choices) if isinstance(value, str) else None
        raise error(f"unknown {what} {value!r}" + (f"; {hint}" if hint else ""), field, fix)
    return value


_FIELD_NAMES: dict[type, tuple[str, ...]] = {}
_REQUIRED: dict[type, tuple[str, ...]] = {}


def field_names(cls: type) -> tuple[str, ...]:
    """The fields a config class takes, in order."""
    if cls not in _FIELD_NAMES:
        _FIELD_NAMES[cls] = tuple(f.name for f in dataclasses.fields(cls) if f.init)
    return _FIELD_NAMES[cls]


def _required(cls: type) -> tuple[str, ...]:
    if cls not in _REQUIRED:
        _REQUIRED[cls] = tuple(
            f.name
            for f in dataclasses.fields(cls)
            if f.init and f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
        )
    return _REQUIRED[cls]


def _construct(cls: Any, make: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """`make(*args, **kwargs)`, with Python's TypeErrors about field names found first, and
    reported together with the problems of the fields that are there."""
    names = field_names(cls)
    problems = Problems()

    def problem(message: str, field: str | None, fix: str) -> None:
        path = cls.SECTION if field is None else (*cls.SECTION, field)
        problems.add(ExperimentSchemaError(message, path=path, fix=fix))

    if len(args) > len(names):
        problem(
            f"{cls.__name__} takes at most {len(names)} values without a name, got {len(args)}",
            None,
            f"name each value: {cls.__name__}({names[0]}=..., ...)",
        )
    given = dict(zip(names, args, strict=False))
    for name, value in kwargs.items():
        if name in given:
            problem(
                f"field {name!r} is given twice, as a value without a name and as {name}=",
                name,
                f"give {name} once",
            )
        elif name in names:
            given[name] = value
        else:
            hint = did_you_mean(name, names)
            message = f"unknown field {name!r}" + (f"; {hint}" if hint else "")
            problem(message, name, f"{cls.__name__} fields: " + ", ".join(names))
    missing = [name for name in _required(cls) if name not in given]
    for name in missing:
        problem(f"{cls.__name__} needs {name!r}", name, f"give it, e.g. {cls.__name__}({name}=...)")
    if not problems:
        return make(*args, **kwargs)
    if not missing:  # the fields that are there may have problems of their own: report them too
        with problems.collect():
            make(**given)
    problems.raise_if_any()


_SUB_CONFIGS: dict[type, dict[str, type[ConfigClass]]] = {}


def sub_configs(cls: type) -> dict[str, type[ConfigClass]]:
    """The fields of a config class whose values are config classes themselves: name -> class."""
    if cls not in _SUB_CONFIGS:
        hints = typing.get_type_hints(cls)
        _SUB_CONFIGS[cls] = {
            f.name: hint
            for f in dataclasses.fields(cls)
            if isinstance(hint := hints.get(f.name), type) and issubclass(hint, ConfigClass)
        }
    return _SUB_CONFIGS[cls]


def check_sub_configs(instance: Any, problems: Problems) -> None:
    """In `__post_init__`: each config-class field as an instance of its class, made from a
    mapping if it was given one; anything else is a problem."""
    for name, config_cls in sub_configs(type(instance)).items():
        with problems.collect():
            value = getattr(instance, name)
            if isinstance(value, Mapping):
                object.__setattr__(instance, name, config_cls.from_mapping(value))
            elif not isinstance(value, config_cls):
                raise ExperimentSchemaError(
                    f"{name} must be a {config_cls.__name__} or a mapping of its fields, "
                    f"got {type(value).__name__}",
                    path=(*type(instance).SECTION, name),
                    fix=f"e.g. {name}={config_cls.__name__}(...), or in YAML a {name}: section",
                )


# --- building from the fields that have no problem -----------------------------------------------


def build_valid(cls: type[_C], fields: Mapping[str, Any]) -> tuple[_C | None, tuple[ConfigWriterError, ...]]:
    """`cls(**fields)` and no problems; or, when it has problems, them and the instance made
    without the values they are about (a dropped field takes its default, a dropped entry of a
    mapping is left out), or None when that is not possible (an essential field is wrong)."""
    try:
        return cls(**fields), ()
    except ConfigWriterError as exc:
        problems = each_problem(exc)
    kept = _without(cls, dict(fields), [p.path for p in problems])
    if kept is None:
        return None, problems
    try:
        return cls(**kept), problems
    except ConfigWriterError:  # leaving out one value made another one wrong: stop here
        return None, problems


def _without(cls: Any, fields: dict[str, Any], paths: list[ValuePath | None]) -> dict[str, Any] | None:
    names = field_names(cls)
    for path in paths:
        if path is None or tuple(path[: len(cls.SECTION)]) != cls.SECTION or len(path) == len(cls.SECTION):
            return None
        rest = path[len(cls.SECTION) :]
        name = rest[0]
        if not isinstance(name, str) or name in cls.ESSENTIAL:
            return None
        if name not in names:
            fields.pop(name, None)  # the unknown field itself
            continue
        value = fields.get(name)
        entry = _entry(value, rest[1:]) if isinstance(value, Mapping) else None
        if entry is not None:
            fields[name] = {k: v for k, v in value.items() if k != entry}  # type: ignore[union-attr]
        elif name in cls.STAND_INS:
            fields[name] = cls.STAND_INS[name]
        elif name in _required(cls):
            return None
        else:
            fields.pop(name, None)
    return fields


def _entry(mapping: Mapping[Any, Any], rest: ValuePath) -> Any:
    """The key of `mapping` that the rest of a problem's path is under (`optimizer.lr` or
    `optimizer` for `('optimizer', 'lr')`), or None."""
    for key in mapping:
        segments = split_path((key,)) if isinstance(key, str) else (key,)
        if rest and tuple(rest[: len(segments)]) == segments:
            return key
    return None


# --- where a call in the researcher's file gives each field --------------------------------------


def _call_site(frame: FrameType | None, cls: Any) -> Locator:
    """A locator for the problems of constructing `cls` from `frame`: when that frame is the
    researcher's code (not ttwriter, a library or dataclasses.replace), a problem's field is found
    as a keyword argument of the call, and a key below it in a dict written in the call. Nothing
    is looked at until a problem asks, so constructing stays cheap."""
    while frame is not None and frame.f_code.co_filename == dataclasses.__file__:
        frame = frame.f_back  # dataclasses.replace: the call is its caller's
    section = cls.SECTION

    def locate(path: ValuePath) -> Location | None:
        if frame is None or not _is_researchers(frame.f_code.co_filename):
            return None
        file, line = frame.f_code.co_filename, frame.f_lineno
        rest = path[len(section) :] if tuple(path[: len(section)]) == section else ()
        found = _line_in_call(file, line, _position(frame), field_names(cls), rest)
        return Location(file, found or line)

    return locate


@functools.lru_cache(maxsize=64)
def _is_researchers(file: str) -> bool:
    """Whether code in `file` is the researcher's: a real file outside ttwriter and libraries."""
    if file.startswith("<") or not os.path.isfile(file):
        return False
    resolved = str(Path(file).resolve())
    return not resolved.startswith(_PACKAGE) and not resolved.startswith(_LIBRARIES)


def _position(frame: FrameType) -> tuple[int | None, ...] | None:
    """(line, end line, column, end column) of the call the frame is executing (Python 3.11+)."""
    try:
        positions = list(frame.f_code.co_positions())
        return tuple(positions[frame.f_lasti // 2])
    except (AttributeError, IndexError):
        return None


@functools.lru_cache(maxsize=16)
def _calls(file: str, mtime_ns: int) -> tuple[ast.Call, ...]:
    from ttwriter.safe_read import read_python_source

    try:
        tree = ast.parse(read_python_source(Path(file)))
    except (ConfigWriterError, SyntaxError, ValueError):
        return ()
    return tuple(node for node in ast.walk(tree) if isinstance(node, ast.Call))


def _line_in_call(
    file: str, line: int, position: tuple[int | None, ...] | None, names: tuple[str, ...], rest: ValuePath
) -> int | None:
    try:
        calls = _calls(file, os.stat(file).st_mtime_ns)
    except OSError:
        return None
    call = next(
        (
            c
            for c in calls
            if position is not None and (c.lineno, c.end_lineno, c.col_offset, c.end_col_offset) == position
        ),
        None,
    )
    if call is None:  # no exact position: the smallest call on that line naming the field
        around = [c for c in calls if c.lineno <= line <= (c.end_lineno or c.lineno)]
        naming = [c for c in around if rest and any(k.arg == rest[0] for k in c.keywords)]
        candidates = naming or around
        if not candidates:
            return None
        call = min(candidates, key=lambda c: ((c.end_lineno or c.lineno) - c.lineno, c.col_offset))
    if not rest:
        return call.lineno
    found, value = _argument(call, names, rest[0])
    if value is None:
        return call.lineno
    for key in rest[1:]:
        match = next(((k, v) for k, v in _literal_entries(value) if _names_key(k, key)), None)
        if match is None:
            break
        found, value = match[0].lineno, match[1]
    return found


def _argument(call: ast.Call, names: tuple[str, ...], field: str | int) -> tuple[int, ast.expr | None]:
    """The line and value node of the argument that gives `field` in the call."""
    for keyword in call.keywords:
        if keyword.arg == field:
            return keyword.lineno, keyword.value
    if _name(call.func) != "replace" and field in names:  # Experiment('name', ...): by position
        index = names.index(str(field))
        positional = call.args[
            : next((i for i, a in enumerate(call.args) if isinstance(a, ast.Starred)), None)
        ]
        if index < len(positional):
            return positional[index].lineno, positional[index]
    return call.lineno, None


def _name(func: ast.expr) -> str:
    return func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""


def _literal_entries(node: ast.expr) -> list[tuple[ast.expr, ast.expr]]:
    """The (key, value) nodes of a dict written in the call: `{...}` or `dict(a=...)`."""
    if isinstance(node, ast.Dict):
        return [(k, v) for k, v in zip(node.keys, node.values, strict=True) if k is not None]
    if isinstance(node, ast.Call) and _name(node.func) == "dict":
        return [(ast.Constant(k.arg, lineno=k.lineno), k.value) for k in node.keywords if k.arg]
    return []


def _names_key(node: ast.expr, key: str | int) -> bool:
    """Whether a dict key node is `key`, or a dotted key starting with it (`'optimizer.lr'`)."""
    return (
        isinstance(node, ast.Constant) and isinstance(node.value, str) and split_path((node.value,))[0] == key
    )
