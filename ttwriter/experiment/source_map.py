"""Where a key is written, so errors can say `file:line`.

experiment.yaml and experiment.json keep exact key lines from the parser; Python experiments are
searched as text, from the loaded file back through its ancestors, for the key as a string or
keyword.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from ttwriter.errors import ConfigWriterError, KeyPath, Location, ValuePath
from ttwriter.safe_read import read_python_source, read_text


class SourceMap:
    """Answers `(section, key path) -> (file, line)` for an experiment's source files."""

    @property
    def files(self) -> list[Path]:
        return list(self._files)

    def __init__(
        self,
        files: Sequence[Path],
        yaml_lines: dict[KeyPath, int] | None = None,
        section_prefix: dict[str, KeyPath] | None = None,
        key_prefix: str | None = None,
    ) -> None:
        """`section_prefix`: where each field is written in experiment.yaml's nested shape;
        `key_prefix`: the key the fields are under in the file (experiment.json's `experiment`)."""
        self._files = list(files)
        self._key_prefix = key_prefix
        self.yaml_lines = dict(yaml_lines or {})
        self._yaml = {".".join(k): v for k, v in self.yaml_lines.items()}
        self._prefix = section_prefix or {}
        self._texts: dict[Path, list[str]] = {}

    def _lines(self, path: Path) -> list[str]:
        if path not in self._texts:
            read = read_python_source if path.suffix == ".py" else read_text
            try:
                self._texts[path] = read(path).splitlines()
            except ConfigWriterError:  # unreadable now: errors then name the file without a line
                self._texts[path] = []
        return self._texts[path]

    def locate(self, path: ValuePath) -> Location | None:
        """Where the value at `path` in the experiment (`('variables', 'lora_rank')`) is written,
        as a locator (errors.locating) wants it."""
        if not path:
            file, line = self("", ())
        else:
            file, line = self(str(path[0]), tuple(str(p) for p in path[1:]))
        return Location(file, line, self._key_prefix) if file is not None else None

    def __call__(self, section: str, written: KeyPath) -> tuple[str | None, int | None]:
        if not self._files:
            return None, None
        if self._yaml:
            root = (self._key_prefix,) if self._key_prefix else ()
            prefix = ".".join(self._prefix.get(section, (*root, section) if section else root))
            dotted = ".".join(p for p in (prefix, *written) if p)
            while dotted:
                if dotted in self._yaml:
                    return str(self._files[0]), self._yaml[dotted]
                dotted = dotted.rpartition(".")[0]
            return str(self._files[0]), None
        needles = [".".join(written)] + ([written[-1]] if written else []) + [section]
        for needle in needles:
            if not needle:
                continue
            pattern = re.compile(rf"""(['"]){re.escape(needle)}\1|\b{re.escape(needle)}\s*=(?!=)""")
            for path in reversed(self._files):
                for number, line in enumerate(self._lines(path), start=1):
                    if pattern.search(line.split("#")[0]):
                        return str(path), number
        return str(self._files[-1]), None
