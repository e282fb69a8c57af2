"""Reading files anyone may have written or damaged, so that no content crashes or hangs ttwriter.

Every file ttwriter reads (experiments, base configs, the files of an experiment folder) can hold
bytes that are not UTF-8, nesting deeper than Python's recursion limit lets the code walk, or an
integer too long for Python to print (`str()` refuses more than 4300 digits). Each of these is
found here, when the file is read, and reported as the caller's error class with the file, the
line and a fix, instead of surfacing later as an internal error.

Python sources are decoded the way the import system decodes them (a UTF-8 BOM or a PEP 263
coding line), so what loads here is exactly what `python` would run.
"""

from __future__ import annotations

import hashlib
import importlib.util
import io
import json
import re
import tokenize
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ttwriter.errors import ConfigWriterError, ExperimentLoadError

MAX_DEPTH = 50
"""Deepest nesting of lists and mappings accepted in any input. torchtune configs nest four or
five levels; the limit keeps every recursive step after reading (freezing, merging, dumping,
OmegaConf) far from Python's recursion limit."""

MAX_INT_DIGITS = 4300
"""Longest integer accepted: Python's default limit for converting integers to and from text,
so every accepted integer can be written back out."""
_INT_BOUND = 10**MAX_INT_DIGITS

ErrorType = type[ConfigWriterError]


def int_fits(value: int) -> bool:
    """Whether `str(value)` works under Python's integer conversion limit."""
    return -_INT_BOUND < value < _INT_BOUND


def _position(data: bytes, offset: int) -> tuple[int, int]:
    """1-based line and column (in bytes) of a byte offset."""
    line = data.count(b"\n", 0, offset) + 1
    return line, offset - (data.rfind(b"\n", 0, offset) + 1) + 1


def _decode_error(
    path: Path,
    data: bytes,
    exc: UnicodeDecodeError,
    encoding: str,
    error: ErrorType,
    also: str = "",
    fix: str = "",
) -> ConfigWriterError:
    line, column = _position(data, exc.start)
    byte = data[exc.start : exc.start + 1].hex()
    return error(
        f"not {encoding} text: byte 0x{byte} at byte offset {exc.start} (line {line}, column {column}) "
        f"cannot be decoded ({exc.reason})",
        file=path,
        line=line,
        fix=fix
        or f"save the file as UTF-8, e.g. iconv -f latin1 -t utf-8 {path.name} > fixed_{path.name}{also}",
    )


def refuse_nul(path: str | Path, error: ErrorType) -> None:
    """A folder given in code (or on the command line) whose name holds a NUL byte is `error`,
    with the name without it as the fix: no file system can hold one."""
    if "\0" in str(path):
        raise error(
            "the folder name contains a NUL byte (\\0), which no path can hold",
            file=repr(str(path)),
            fix=f"remove it: {str(path).replace(chr(0), '')!r}",
        )


def read_bytes(path: Path, error: ErrorType = ExperimentLoadError) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise error(
            f"cannot read file: {exc.strerror or exc}",
            file=path,
            fix="check that the file exists and that you may read it",
        ) from None
    except ValueError as exc:  # a NUL byte in the path
        raise error(f"cannot read file: {exc}", file=repr(str(path)), fix="remove the NUL byte") from None


def read_text(path: Path, error: ErrorType = ExperimentLoadError, fix: str = "") -> str:
    """A UTF-8 text file (a leading BOM is dropped), universal newlines as `open()` reads it.
    `fix` replaces the suggestion for bytes that are not UTF-8 (say, for a file ttwriter wrote)."""
    data = read_bytes(path, error)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        if data.startswith(b"\xef\xbb\xbf"):  # offsets counted in the file, BOM included
            exc = UnicodeDecodeError(exc.encoding, data, exc.start + 3, exc.end + 3, exc.reason)
        raise _decode_error(path, data, exc, "UTF-8", error, fix=fix) from None
    return text.replace("\r\n", "\n").replace("\r", "\n") if "\r" in text else text


def sha256_file(path: Path) -> str:
    """The sha256 of a file's bytes, hex: how ttwriter tells that a file is the one it recorded
    (a base config, a copied source, a validated config, a tiny asset)."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def read_python_source(path: Path, error: ErrorType = ExperimentLoadError) -> str:
    """A Python file's source as the import system decodes it: BOM, PEP 263 coding line, newlines."""
    data = read_bytes(path, error)
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError as exc:  # an unknown encoding, or a BOM that contradicts the coding line
        first_two = data.split(b"\n", 2)[:2]
        raise error(
            f"bad encoding declaration: {exc.msg}",
            file=path,
            line=next((n for n, text in enumerate(first_two, 1) if b"coding" in text), 1),
            fix="declare an encoding Python knows (# -*- coding: utf-8 -*-), or remove the line",
        ) from None
    try:
        data.decode(encoding)
    except UnicodeDecodeError as exc:
        declared = encoding.upper().removesuffix("-SIG")
        also = ", or declare its encoding on its first line: # -*- coding: latin-1 -*-"
        raise _decode_error(path, data, exc, declared, error, also if declared == "UTF-8" else "") from None
    return importlib.util.decode_source(data)


MAX_VALUES = 10_000_000
"""Most values (counting lists and mappings) that data built in Python may expand to, when the
same list or mapping is used in many places: every later step copies each use."""


def _children(node: Any) -> list[tuple[Any, Any]]:
    if isinstance(node, Mapping):
        return [(key, value) for key, value in node.items()]
    if isinstance(node, (list, tuple)):
        return list(enumerate(node))
    return []


def data_problem(value: Any, levels_above: int = 0) -> tuple[str, tuple[Any, ...], str] | None:
    """What later steps could not handle in data built in code: (problem, key path, fix), or None.

    Nesting deeper than MAX_DEPTH (`levels_above`: levels the value already sits in; a structure
    that contains itself nests without end), an integer `str()` refuses, a NUL byte, or shared
    parts expanding past MAX_VALUES. The work is bounded by the objects there are, not by how
    often they are shared."""
    limit = MAX_DEPTH - levels_above
    deepest: dict[int, int] = {}
    stack: list[tuple[Any, int, tuple[Any, ...]]] = [(value, 1, ())]
    while stack:
        node, depth, path = stack.pop()
        if isinstance(node, (Mapping, list, tuple)):
            if depth > limit:
                return (
                    f"lists and mappings nested more than {MAX_DEPTH} levels deep, or one that contains itself",
                    path,
                    "build plain values: a few levels of lists and dicts, none inside itself",
                )
            if deepest.get(id(node), 0) >= depth:
                continue
            deepest[id(node)] = depth
            for key, child in reversed(_children(node)):
                if isinstance(key, str) and "\0" in key:
                    return (
                        f"a NUL byte (\\0) in the key {key!r}",
                        path,
                        f"remove it: {key.replace(chr(0), '')!r}",
                    )
                stack.append((child, depth + 1, (*path, key)))
        elif isinstance(node, int) and not isinstance(node, bool) and not int_fits(node):
            return (
                f"an integer longer than {MAX_INT_DIGITS} digits, which cannot be written",
                path,
                "write it as a float or a string",
            )
        elif isinstance(node, str) and "\0" in node:
            return (
                f"a NUL byte (\\0) in {node!r}: no path or setting can hold one",
                path,
                f"remove it: {node.replace(chr(0), '')!r}",
            )
    sizes: dict[int, int] = {}

    def size(node: Any) -> int:  # recursion as deep as the nesting, which is now bounded
        if not isinstance(node, (Mapping, list, tuple)):
            return 1
        if id(node) not in sizes:
            sizes[id(node)] = 1 + sum(size(child) for _, child in _children(node))
        return sizes[id(node)]

    total = size(value)
    if total > MAX_VALUES:
        return (
            f"shared lists or mappings expand to {total:,} values (more than {MAX_VALUES:,}), "
            "and every run would copy them all",
            (),
            "use each list or dict in a few places only, not nested in copies of itself",
        )
    return None


_JSON_TOKEN = re.compile(
    r'"(?:[^"\\]|\\.)*"|[\[\]{}]|(?<![\d.eE+-])-?\d{' + str(MAX_INT_DIGITS + 1) + r",}(?![\d.eE])"
)


def _json_limits(text: str, path: Path, error: ErrorType, line_offset: int) -> None:
    """Refuse, before parsing, nesting past MAX_DEPTH and integers past MAX_INT_DIGITS: the
    parser would fail on either without saying where."""
    depth = 0
    for match in _JSON_TOKEN.finditer(text):
        token = match.group()
        if token in ("[", "{"):
            depth += 1
            if depth > MAX_DEPTH:
                raise error(
                    f"nested more than {MAX_DEPTH} levels deep",
                    file=path,
                    line=line_offset + text.count("\n", 0, match.start()) + 1,
                    fix="ttwriter writes flat files: regenerate this one, or remove the extra nesting",
                )
        elif token in ("]", "}"):
            depth -= 1
        elif token[0] != '"':
            raise error(
                f"an integer with {len(token.lstrip('-'))} digits (more than {MAX_INT_DIGITS})",
                file=path,
                line=line_offset + text.count("\n", 0, match.start()) + 1,
                fix="write such a number as a string, or as a float",
            )


def parse_json(
    text: str, path: Path, error: ErrorType = ExperimentLoadError, *, fix: str, line_offset: int = 0
) -> Any:
    """JSON text, with errors naming the file and line (`line_offset`: lines before `text`)."""
    _json_limits(text, path, error, line_offset)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise error(f"not valid JSON: {exc.msg}", file=path, line=line_offset + exc.lineno, fix=fix) from None


def read_json(path: Path, error: ErrorType = ExperimentLoadError, *, fix: str) -> Any:
    """A JSON file, checked like `parse_json`."""
    return parse_json(read_text(path, error), path, error, fix=fix)
