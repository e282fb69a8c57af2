"""One parser for every command: options are a frozen dataclass, parsed with tyro, and every
problem with the arguments is an `ArgumentError` in ttwriter's shape (`error: ...` / `  fix: ...`,
exit 2), never tyro's box on the process's stderr.

Each command declares its options as a frozen dataclass whose field docstrings are its --help
(cli.options; generate's class is built per experiment, see cli.overrides) and calls `parse`.
What tyro would print goes to the streams the command was given: --help to `out` (raising
`HelpShown`), and a value tyro rejects is captured and reworded (through tyro's parse-error hook,
else from its captured text). Unknown options come back from tyro (`return_unknown_args`) and
are reported with "did you mean" against the class's own flags, with the corrected command line
as the fix.
"""

from __future__ import annotations

import ast
import contextlib
import dataclasses
import functools
import importlib
import inspect
import io
import re
import shlex
import shutil
import sys
import textwrap
import typing
from collections.abc import Iterable, Iterator, Sequence
from typing import Annotated, Any, TextIO, TypeVar

import tyro

from ttwriter.cli._arguments import ArgumentError, HelpShown, normal, unexpected, unknown_flags
from ttwriter.formats import listed

T = TypeVar("T")


# --- the pieces commands declare their options with ----------------------------------------------

Dir = Annotated[tyro.conf.Positional[str], tyro.conf.arg(metavar="DIR", help_behavior_hint="")]
"""The folder a command works on (an experiment folder, or where tiny-assets writes)."""
Switch = Annotated[bool, tyro.conf.arg(help_behavior_hint="")]
"""An on/off option: the flag alone turns it on (`--dry-run`), no `--no-` twin."""
RunIds = Annotated[
    tuple[str, ...], tyro.conf.UseAppendAction, tyro.conf.arg(metavar="IDS", help_behavior_hint="")
]
"""`--runs run_000,run_003`, repeatable (`--runs run_000 --runs run_003`): one value per flag,
so the folder after it is never taken for a run id."""

SWITCHES = (tyro.conf.FlagCreatePairsOff,)
"""The tyro settings of every command but generate (whose flags are `--x` / `--no-x` pairs)."""


# --- parsing ---------------------------------------------------------------------------------------


def parse(
    cls: type[T],
    argv: Sequence[str],
    *,
    prog: str,
    description: str,
    out: TextIO | None = None,
    config: Sequence[Any] = SWITCHES,
    extra_flags: Iterable[str] = (),
    typed: Sequence[str] | None = None,
) -> T:
    """`argv` parsed into `cls`. `--help` prints to `out` and raises `HelpShown`; anything wrong
    raises `ArgumentError`. `extra_flags` are flags the command takes before tyro sees the rest
    (generate's `--set`), for "did you mean"; `typed` is what the user typed after `prog`, for
    the corrected command in a fix (default: `argv`)."""
    argv = list(argv)
    shown = list(argv if typed is None else typed)
    if "-h" in argv or "--help" in argv:
        _print_help(cls, prog, description, config, out or sys.stdout)
    flags = flags_of(cls, pairs=tyro.conf.FlagCreatePairsOff not in config)
    known = {**flags, **{flag: True for flag in extra_flags}}

    def rejected(event: Any) -> None:
        problem = unknown_flags(argv, known, prog, shown, _commands_taking) or _from_event(
            event, cls, argv, prog
        )
        if problem is not None:
            raise problem

    captured = io.StringIO()
    try:
        with _on_parse_error(rejected), contextlib.redirect_stderr(captured), _quiet_stdout():
            parsed, unknown = tyro.cli(
                cls,
                args=argv,
                prog=prog,
                description=description,
                return_unknown_args=True,
                config=tuple(config),
            )
    except SystemExit:  # a rejection the hook did not reword (or no hook in this tyro)
        raise unknown_flags(argv, known, prog, shown, _commands_taking) or _from_text(
            captured.getvalue(), prog
        ) from None
    if unknown:
        raise unknown_flags(argv, known, prog, shown, _commands_taking) or unexpected(unknown, prog)
    return parsed


def _commands_taking(flag: str) -> dict[str, bool]:
    from ttwriter.cli.options import commands_taking  # options is built on this module

    return commands_taking(flag)


def _wrapped(text: str) -> str:
    """Each paragraph filled to the terminal's width (at most 100), as tyro prints it unwrapped."""
    width = min(shutil.get_terminal_size().columns, 100) - 1
    return "\n\n".join(textwrap.fill(" ".join(p.split()), width) for p in text.split("\n\n"))


class _HelpStream(io.StringIO):
    """Collects tyro's help, looking to tyro like `out` (a terminal gets colour and box lines)."""

    def __init__(self, out: TextIO) -> None:
        super().__init__()
        self._out = out

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return getattr(self._out, "encoding", None) or "ascii"

    def isatty(self) -> bool:
        return self._out.isatty()


def _print_help(cls: type, prog: str, description: str, config: Sequence[Any], out: TextIO) -> None:
    """The class's --help on `out`, the description filled to the terminal's width (tyro would
    join its lines into one), without trailing blanks; then `HelpShown`. Values typed with --help
    are ignored: help is the same whatever else is on the line."""
    stream = _HelpStream(out)
    with contextlib.redirect_stdout(stream), contextlib.suppress(SystemExit):
        tyro.cli(cls, args=["--help"], prog=prog, description="", config=tuple(config))
    lines = [line.rstrip() for line in stream.getvalue().rstrip().splitlines()]
    usage_end = lines.index("") if "" in lines else len(lines)
    text = [*lines[:usage_end], "", _wrapped(description), *lines[usage_end:]]
    out.write("\n".join(text) + "\n")
    raise HelpShown


@contextlib.contextmanager
def _quiet_stdout() -> Iterator[None]:
    """Nothing tyro prints while parsing reaches the process's stdout (it prints only on --help,
    which `parse` answers itself)."""
    with contextlib.redirect_stdout(io.StringIO()):
        yield


@contextlib.contextmanager
def _on_parse_error(hook: Any) -> Iterator[None]:
    """tyro's hook for rejected input, where this tyro has it (1.0.17 has, as a private API);
    without it, the rejection is read back from what tyro printed."""
    try:
        register = getattr(importlib.import_module("tyro._errors"), "on_parse_error", None)
    except ImportError:
        register = None
    if register is None:
        yield
        return
    with register(hook):
        yield


# --- the flags of an options class -----------------------------------------------------------------


@functools.cache
def field_docs(cls: type) -> dict[str, str]:
    """Each field's docstring (the string right after it in the class body, base classes
    included), on one line: the --help text of the options classes and of `Experiment`."""
    docs: dict[str, str] = {}
    for klass in reversed(cls.__mro__):
        if not dataclasses.is_dataclass(klass):
            continue
        try:
            body = ast.parse(textwrap.dedent(inspect.getsource(klass))).body[0].body  # type: ignore[attr-defined]
        except (OSError, TypeError, SyntaxError, IndexError, AttributeError):  # made at run time
            continue
        for node, following in zip(body, body[1:], strict=False):
            if (
                isinstance(node, ast.AnnAssign)
                and isinstance(node.target, ast.Name)
                and isinstance(following, ast.Expr)
                and isinstance(following.value, ast.Constant)
                and isinstance(following.value.value, str)
            ):
                docs[node.target.id] = " ".join(following.value.value.split())
    return docs


def _swap(part: str) -> str:
    """A field name as tyro spells it in a flag: `_` -> `-` except at the edges (`_component_`)."""
    core = part.strip("_")
    if not core:
        return part
    start = part.index(core)
    return part[:start] + core.replace("_", "-") + part[start + len(core) :]


def _unwrap(annotation: Any) -> tuple[Any, tuple[Any, ...]]:
    metadata: tuple[Any, ...] = ()
    while typing.get_origin(annotation) is Annotated:
        metadata += annotation.__metadata__
        annotation = typing.get_args(annotation)[0]
    return annotation, metadata


_POSITIONAL = typing.get_args(tyro.conf.Positional[int])[1:]


def flags_of(cls: type, *, pairs: bool = True, prefix: str = "") -> dict[str, bool]:
    """Every flag tyro makes for `cls` -> whether it takes a value (switches do not). `pairs`:
    booleans get `--x` and `--no-x` (tyro's default); without, only the one that changes it."""
    flags: dict[str, bool] = {"-h": False, "--help": False} if not prefix else {}
    hints = typing.get_type_hints(cls, include_extras=True)
    for field in dataclasses.fields(cls):
        annotation, metadata = _unwrap(hints[field.name])
        if any(marker in metadata for marker in _POSITIONAL):
            continue
        name = f"{prefix}{_swap(field.name)}"
        if dataclasses.is_dataclass(annotation):
            flags.update(flags_of(annotation, pairs=pairs, prefix=f"{name}."))  # type: ignore[arg-type]
        elif annotation is bool:
            default = field.default
            if pairs or default is not True:
                flags[f"--{name}"] = False
            if pairs or default is True:
                flags[f"--no-{name}"] = False
        else:
            flags[f"--{name}"] = True
    return flags


# --- what is wrong, in ttwriter's words ------------------------------------------------------------


def _flag_name(argument: Any) -> tuple[str, bool]:
    """The flag (or metavar, for a positional) of a tyro argument, and whether it is positional."""
    lowered = argument.lowered
    if argument.is_positional():
        return str(lowered.metavar), True
    return str(lowered.name_or_flags[-1]), False


def _typed_value(flag: str, argv: list[str]) -> str | None:
    """The value the user gave `flag` (last occurrence wins, as in parsing)."""
    value = None
    for i, token in enumerate(argv):
        if normal(token) == normal(flag) and i + 1 < len(argv):
            value = argv[i + 1]
        elif normal(token).startswith(normal(flag) + "="):
            value = token.split("=", 1)[1]
    return value


_KINDS = {"INT": "a whole number", "FLOAT": "a number"}


def _missing(arguments: list[Any], cls: type, argv: list[str], prog: str) -> ArgumentError:
    """A positional or a required option not given: what it is (its field's docstring), and the
    command with it (a positional before what was typed, an option with its metavar after)."""
    docs = field_docs(cls)
    positionals, options, what = [], [], []
    for argument in arguments:
        name, positional = _flag_name(argument)
        if positional:
            positionals.append(name)
        else:
            options.append(f"{name} {argument.lowered.metavar or 'VALUE'}")
        doc = docs.get(argument.field.intern_name, "").rstrip(".")
        what.append(f"{name}, {doc[:1].lower()}{doc[1:]}" if doc else name)
    return ArgumentError(
        f"{prog} needs {listed(what)}",
        fix=" ".join([prog, *positionals, *map(shlex.quote, argv), *options]),
    )


def _from_event(event: Any, cls: type, argv: list[str], prog: str) -> ArgumentError | None:
    """tyro's rejection as an ArgumentError; None for one this does not know (tyro's own text
    is used then)."""
    kind = type(event).__name__
    try:
        if kind == "MissingArgs":
            missing = [missing.arg for missing in event.missing_arguments]
            return _missing(missing, cls, argv, prog)
        if kind == "BadValue" and event.reason == "too_few_values":
            name, positional = _flag_name(event.argument)
            if positional:
                return _missing([event.argument], cls, argv, prog)
            return ArgumentError(
                f"{name} needs a value", fix=f"give {name} a value ('{prog} --help' says what it takes)"
            )
        if kind == "InstantiationFailure" and event.argument is not None:
            name, _ = _flag_name(event.argument)
            metavar = str(event.argument.lowered.metavar)
            what = _KINDS.get(metavar.replace("{None}|", ""), metavar)
            default = event.argument.field.default
            example = (
                f", e.g. {name} {default} (its value now)"
                if isinstance(default, (int, float)) and not isinstance(default, bool)
                else ""
            )
            return ArgumentError(
                f"{name} takes {what}, not {_typed_value(name, argv)!r}", fix=f"give {name} {what}{example}"
            )
    except (AttributeError, IndexError, TypeError):  # a tyro whose events look different
        return None
    return None


_BOX = re.compile(r"[│╭╮╰╯─┤├]")


def _from_text(text: str, prog: str) -> ArgumentError:
    """tyro's error box, captured, as one `error:` line: its title and message, without the box,
    the argument's help and the pointer to --help (which the fix gives)."""
    lines = []
    for raw in text.splitlines():
        line = _BOX.sub(" ", raw).strip()
        if line.startswith(("For full helptext", "Argument helptext")):
            break
        if line and set(line) != {"-"}:
            lines.append(line)
    title, body = (lines[0], lines[1:]) if lines else ("the arguments were not understood", [])
    message = " ".join(body) or title
    return ArgumentError(f"{prog}: {message}", fix=f"'{prog} --help' lists what it takes")
