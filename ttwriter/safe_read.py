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

import importlib.util
import io
import json
import re
import tokenize
from collections.abc import Iterator
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
    path: Path, data: bytes, exc: UnicodeDecodeError, encoding: str, error: ErrorType
) -> ConfigWriterError:
    line, column = _position(data, exc.start)
    byte = data[exc.start : exc.start + 1].hex()
    return error(
        f"not {encoding} text: byte 0x{byte} at byte offset {exc.start} (line {line}, column {column}) "
        f"cannot be decoded ({exc.reason})",
        file=path,
        line=line,
        fix=f"save the file as {encoding}, e.g. iconv -f latin1 -t utf-8 {path.name} > fixed_{path.name}",
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


def read_text(path: Path, error: ErrorType = ExperimentLoadError) -> str:
    """A UTF-8 text file (a leading BOM is dropped), universal newlines as `open()` reads it."""
    data = read_bytes(path, error)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        if data.startswith(b"\xef\xbb\xbf"):  # offsets counted in the file, BOM included
            exc = UnicodeDecodeError(exc.encoding, data, exc.start + 3, exc.end + 3, exc.reason)
        raise _decode_error(path, data, exc, "UTF-8", error) from None
    return text.replace("\r\n", "\n").replace("\r", "\n") if "\r" in text else text


def read_python_source(path: Path, error: ErrorType = ExperimentLoadError) -> str:
    """A Python file's source as the import system decodes it: BOM, PEP 263 coding line, newlines."""
    data = read_bytes(path, error)
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError as exc:  # an unknown encoding, or a BOM that contradicts the coding line
        raise error(
            f"bad encoding declaration: {exc.msg if hasattr(exc, 'msg') else exc}",
            file=path,
            line=data[:200].count(b"\n", 0, max(0, data.find(b"coding"))) + 1 if b"coding" in data else 1,
            fix="declare an encoding Python knows (# -*- coding: utf-8 -*-), or remove the line",
        ) from None
    try:
        data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise _decode_error(path, data, exc, encoding.upper().removesuffix("-SIG"), error) from None
    return importlib.util.decode_source(data)


def _nesting_walk(value: Any) -> Iterator[tuple[int, tuple[Any, ...]]]:
    """(depth, key path) of every list and mapping in `value`, without recursion, depth first."""
    stack: list[tuple[Any, int, tuple[Any, ...]]] = [(value, 1, ())]
    while stack:
        node, depth, path = stack.pop()
        if isinstance(node, dict):
            yield depth, path
            stack.extend((v, depth + 1, (*path, k)) for k, v in node.items())
        elif isinstance(node, (list, tuple)):
            yield depth, path
            stack.extend((v, depth + 1, (*path, i)) for i, v in enumerate(node))


def too_deep(value: Any, limit: int = MAX_DEPTH) -> tuple[Any, ...] | None:
    """The key path of the first list or mapping nested deeper than `limit` (a structure that
    contains itself nests without end), or None."""
    for depth, path in _nesting_walk(value):
        if depth > limit:
            return path
    return None


def key_path(path: tuple[Any, ...], prefix: str = "") -> str:
    """`('runs', 3, 'params')` -> `runs[3].params`."""
    text = prefix
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


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
