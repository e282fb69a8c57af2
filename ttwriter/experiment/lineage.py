"""Lineage of Python experiments: what `<name>_<id>_<parent>.py` file names say, checked without
running anything.

Ids are scoped per folder, a base has `parent == id`, and a child imports its parent (and only
its parent) to derive from it with `dataclasses.replace`. Here a family folder is scanned, the
chain from a file back to its base is followed, and each file's imports are checked against what
its name declares: all from the files' names and their parsed source, never by executing them.
"""

from __future__ import annotations

import ast
import dataclasses
import re
from pathlib import Path

from ttwriter.errors import ExperimentLoadError, LineageError
from ttwriter.safe_read import read_python_source

FILE_PATTERN = re.compile(r"^(?P<name>[A-Za-z_][A-Za-z0-9_]*?)_(?P<id>\d+)_(?P<parent>\d+)\.py$")


@dataclasses.dataclass(frozen=True)
class ExperimentFile:
    """One experiment file and what its name says about its lineage."""

    path: Path
    name: str
    id: int
    parent: int

    @property
    def is_base(self) -> bool:
        return self.id == self.parent


def parse_file_name(path: Path) -> ExperimentFile | None:
    match = FILE_PATTERN.match(path.name)
    if not match:
        return None
    return ExperimentFile(path, match["name"], int(match["id"]), int(match["parent"]))


def scan_folder(folder: Path) -> dict[int, ExperimentFile]:
    by_id: dict[int, ExperimentFile] = {}
    for path in sorted(folder.glob("*.py")):
        parsed = parse_file_name(path)
        if parsed is None:
            continue
        if parsed.id in by_id:
            other = by_id[parsed.id]
            raise LineageError(
                f"id {parsed.id:02d} is used twice in this folder: {other.path.name} and {path.name}",
                file=path,
                fix=f"give one of them a free id (ids are scoped per folder; next free: "
                f"{max(by_id) + 1:02d})",
            )
        by_id[parsed.id] = parsed
    return by_id


def chain_to_base(target: ExperimentFile, by_id: dict[int, ExperimentFile]) -> list[ExperimentFile]:
    """root -> ... -> target, following parent ids within the folder."""
    chain = [target]
    seen = {target.id}
    node = target
    while not node.is_base:
        parent = by_id.get(node.parent)
        if parent is None:
            existing = ", ".join(f.path.name for f in by_id.values())
            raise LineageError(
                f"{node.path.name} declares parent id {node.parent:02d}, but no file in "
                f"{node.path.parent} has id {node.parent:02d} (files: {existing})",
                file=node.path,
                fix="rename the file so its last number is the id of the file it derives from",
            )
        if parent.id in seen:
            raise LineageError(
                "lineage loops: " + " -> ".join(f.path.name for f in [*chain, parent]),
                file=node.path,
                fix="the chain must end at a base file whose parent equals its id, like baseline_01_01.py",
            )
        seen.add(parent.id)
        chain.append(parent)
        node = parent
    return list(reversed(chain))


def imported_modules(path: Path) -> list[tuple[str, int]]:
    """Module names a file imports, with their lines (relative imports as bare names)."""
    source = read_python_source(path)
    if "\0" in source:  # Python 3.11 raises ValueError for it, later versions a SyntaxError
        raise ExperimentLoadError(
            "Python source cannot contain a NUL byte",
            file=path,
            line=source.count("\n", 0, source.index("\0")) + 1,
            fix="remove the NUL byte from that line (the file may be damaged, or not Python)",
        )
    try:
        tree = ast.parse(source, filename=str(path))
    except SyntaxError as exc:
        raise ExperimentLoadError(
            f"Python syntax error: {exc.msg}",
            file=path,
            line=exc.lineno,
            fix="fix the syntax on that line",
        ) from None
    except RecursionError:  # deeply nested expressions
        raise ExperimentLoadError(
            "Python source nested too deeply for the parser",
            file=path,
            fix="split the deeply nested expression into named parts",
        ) from None
    names: list[tuple[str, int]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level and node.module is None:
                names += [(alias.name, node.lineno) for alias in node.names]
            elif node.module:
                names.append((node.module, node.lineno))
    return names


def check_imports(file: ExperimentFile, by_id: dict[int, ExperimentFile]) -> None:
    """A base imports no sibling experiment; a child imports exactly its declared parent."""
    folder_parts = file.path.parent.parts
    by_stem = {f.path.stem: f for f in by_id.values()}
    imported: dict[int, int] = {}
    for module, line in imported_modules(file.path):
        *prefix, last = module.split(".")
        if last not in by_stem and FILE_PATTERN.match(last + ".py") is None:
            continue
        if prefix and tuple(prefix) != folder_parts[-len(prefix) :]:
            raise LineageError(
                f"imports experiment {module!r} from another folder; ids and parents are scoped per folder",
                file=file.path,
                line=line,
                fix="derive from a file in the same folder, or start a new family folder with "
                "its own base (name_01_01.py)",
            )
        if last in by_stem:
            imported.setdefault(by_stem[last].id, line)
    imported.pop(file.id, None)
    if file.is_base:
        if imported:
            sibling_id, line = next(iter(imported.items()))
            raise LineageError(
                f"{file.path.name} is a base (parent == id) but imports {by_id[sibling_id].path.name}",
                file=file.path,
                line=line,
                fix=f"rename it to {file.name}_{file.id:02d}_{sibling_id:02d}.py to record that it "
                "derives from that file",
            )
        return
    parent = by_id[file.parent]
    others = [i for i in imported if i != file.parent]
    if others:
        other = by_id[others[0]]
        raise LineageError(
            f"{file.path.name} declares parent {parent.path.name} but imports {other.path.name}",
            file=file.path,
            line=imported[others[0]],
            fix=f"import from {parent.path.stem}, or rename the file to "
            f"{file.name}_{file.id:02d}_{other.id:02d}.py",
        )
    if file.parent not in imported:
        raise LineageError(
            f"{file.path.name} declares parent {parent.path.name} but does not import it",
            file=file.path,
            fix=f"derive from it: 'from {parent.path.stem} import experiment as parent' and "
            "'experiment = replace(parent, ...)'",
        )
