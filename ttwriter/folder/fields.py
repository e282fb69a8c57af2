"""Reading the fields of a parsed JSON or YAML document, each checked once, with its key path.

ttwriter's own files (experiment.json, run_mapping.yaml, submissions.jsonl) can be edited by hand,
cut short, or written by another version. Reading them through `Fields` makes every missing or
wrong-typed field an error that names the file, the line where known, the key path
(`runs[3].params`) and what was expected, instead of an AttributeError wherever the value is used.
A key ttwriter never writes there (`param` for `params`, copied and edited) is an error too, with
"did you mean" (`Fields.only`): read as missing, it would silently be nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from ttwriter.errors import ConfigWriterError, close_matches, key_path, suggestion

ErrorType = type[ConfigWriterError]
_MISSING: Any = object()
_TYPE_NAMES = {
    dict: "a mapping",
    list: "a list",
    str: "a string",
    bool: "true or false",
    int: "a whole number",
}


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


class Fields:
    """One mapping of a document, and where it is: `Fields.document(data, file, ...)` for the
    top level, then `.mapping(key)` / `.mappings(key)` for what is inside."""

    def __init__(
        self,
        data: Mapping[str, Any],
        file: Path,
        *,
        error: ErrorType,
        fix: str,
        path: tuple[Any, ...] = (),
        lines: Mapping[tuple[str, ...], int] | None = None,
    ) -> None:
        self.data = data
        self.file = file
        self.path = path
        self._error = error
        self._fix = fix
        self._lines = lines or {}

    @classmethod
    def document(
        cls,
        data: Any,
        file: Path,
        *,
        error: ErrorType,
        fix: str,
        lines: Mapping[tuple[str, ...], int] | None = None,
        what: str = "",
    ) -> Fields:
        """The top level, which must be a mapping."""
        if not isinstance(data, Mapping):
            found = "nothing" if data is None else f"{type(data).__name__} {_shown(data)}"
            raise error(
                f"{what or file.name} must be a mapping of keys to values, got {found}", file=file, fix=fix
            )
        return cls(data, file, error=error, fix=fix, lines=lines)

    def error(self, message: str, *keys: Any, fix: str | None = None) -> ConfigWriterError:
        """An error about `keys` under this mapping (or the mapping itself), at its line if known."""
        path = (*self.path, *keys)
        line = None
        for end in range(len(path), -1, -1):  # the key's own line, else its closest parent's
            line = self._lines.get(tuple(str(p) for p in path[:end]))
            if line is not None:
                break
        return self._error(
            message, file=self.file, line=line, key=key_path(path) or None, fix=fix or self._fix
        )

    def only(self, known: Iterable[str]) -> Fields:
        """This mapping, when every key of it is one of `known`; else an error at the first other
        key, with "did you mean" and the rename as the fix (the others are counted)."""
        names = tuple(known)
        unknown = [key for key in self.data if key not in names]
        if not unknown:
            return self
        key = str(unknown[0])
        matches = close_matches(key, names)
        more = f" (and {len(unknown) - 1} more: {', '.join(map(repr, unknown[1:]))})" if unknown[1:] else ""
        hint = suggestion(matches)
        where = key_path(self.path) or "the top level"
        fix = (
            f"rename it to {matches[0]!r}, or {self._fix}"
            if matches
            else f"remove it ({where} has {', '.join(names)}), or {self._fix}"
        )
        raise self.error(f"unknown key {key!r}" + (f"; {hint}" if hint else "") + more, key, fix=fix)

    def get(self, key: str, kind: type | tuple[type, ...], default: Any = _MISSING, what: str = "") -> Any:
        """The value of `key`, of type `kind`; `default` when it is missing or null (if given)."""
        value = self.data.get(key)
        if value is None:
            if default is _MISSING:
                raise self.error(
                    "required key is missing" if key not in self.data else "must have a value, not null", key
                )
            return default
        kinds = kind if isinstance(kind, tuple) else (kind,)
        wrong_bool = isinstance(value, bool) and bool not in kinds
        if not isinstance(value, kinds) or wrong_bool:
            expected = what or " or ".join(_TYPE_NAMES.get(k, k.__name__) for k in kinds)
            raise self.error(f"must be {expected}, got {type(value).__name__} {_shown(value)}", key)
        return value

    def text(self, key: str, default: Any = _MISSING) -> Any:
        return self.get(key, str, default)

    def flag(self, key: str, default: Any = _MISSING) -> Any:
        return self.get(key, bool, default)

    def path_str(self, key: str) -> str:
        """A file or folder path: a non-empty string without NUL bytes."""
        value = self.get(key, str, what="a path (a string)")
        if not value.strip() or "\0" in value:
            raise self.error(f"is not a usable path: {_shown(value)}", key)
        return value

    def str_list(self, key: str, default: Any = _MISSING) -> list[str] | Any:
        values = self.get(key, list, default, what="a list of strings")
        if values is default:
            return default
        for index, value in enumerate(values):
            if not isinstance(value, str):
                raise self.error(
                    f"must be a string, got {type(value).__name__} {_shown(value)}",
                    key,
                    index,
                )
        return list(values)

    def mapping(self, key: str, default: Any = _MISSING) -> Fields:
        """The mapping under `key` (string keys only); a missing one is `default` (a dict) if given."""
        value = self.get(key, dict, default)
        for name in value:
            if not isinstance(name, str):
                raise self.error(f"has a key that is not a string: {_shown(name)}", key)
        return Fields(
            value, self.file, error=self._error, fix=self._fix, path=(*self.path, key), lines=self._lines
        )

    def mappings(self, key: str) -> list[Fields]:
        """The list of mappings under `key`."""
        values = self.get(key, list)
        items = []
        for index, value in enumerate(values):
            where = (*self.path, key, index)
            if not isinstance(value, dict):
                raise self.error(
                    f"must be a mapping, got {type(value).__name__} {_shown(value)}",
                    key,
                    index,
                )
            items.append(
                Fields(value, self.file, error=self._error, fix=self._fix, path=where, lines=self._lines)
            )
        return items
