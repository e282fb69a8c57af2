"""Lineage of Python experiments: what `<name>_<id>_<parent>.py` file names say, checked without
running anything.

Ids are scoped per folder, a base has `parent == id`, and a child imports its parent (and only
its parent) to derive from it with `dataclasses.replace`. A family folder is scanned once into a
`Family`; each file's problems are its own (a duplicate id flags the files that share it, not the
whole folder), and loading a file follows its chain back to its base, refusing it when a file of
that chain is broken. All from the files' names and their parsed source, never by executing them.
"""

from __future__ import annotations

import ast
import dataclasses
import functools
import re
from pathlib import Path

from ttwriter.errors import ConfigWriterError, ExperimentLoadError, LineageError, Problems
from ttwriter.formats import listed
from ttwriter.safe_read import read_python_source

_NAME = r"[A-Za-z_][A-Za-z0-9_]*"
NAME_PATTERN = re.compile(_NAME)
"""The `<name>` part of a file name: letters, digits and `_`, not starting with a digit."""
FILE_PATTERN = re.compile(rf"^(?P<name>{_NAME}?)_(?P<id>\d+)_(?P<parent>\d+)\.py$")
"""`<name>_<id>_<parent>.py`; the name is the shortest that leaves two numbers (`lora_2_04_01.py`
is `lora_2`, id 04, parent 01)."""
EXPERIMENT_VARIABLE = "experiment"
"""The module-level name an experiment file defines."""
DEFAULT_WIDTH = 2
"""Digits of an id when nothing else says: `01`."""


@dataclasses.dataclass(frozen=True)
class ExperimentFile:
    """One experiment file and what its name says about its lineage."""

    path: Path
    name: str
    id: int
    parent: int
    width: int = DEFAULT_WIDTH
    """How many digits its id is written with (`01`: 2)."""

    @property
    def is_base(self) -> bool:
        return self.id == self.parent


def parse_file_name(path: Path) -> ExperimentFile | None:
    match = FILE_PATTERN.match(path.name)
    if not match:
        return None
    return ExperimentFile(path, match["name"], int(match["id"]), int(match["parent"]), len(match["id"]))


def file_name(name: str, id: int, parent: int, width: int = DEFAULT_WIDTH) -> str:
    """`lora_02_01.py`: the file name for `name`, `id` and `parent`, ids `width` digits wide."""
    return f"{name}_{id:0{width}d}_{parent:0{width}d}.py"


def misnamed_error(path: Path) -> LineageError:
    """A Python experiment whose file name does not follow the pattern."""
    return LineageError(
        f"file name {path.name!r} does not follow <name>_<id>_<parent>.py",
        file=path,
        fix="name a base like baseline_01_01.py (parent == id) and a child like "
        "lora_02_01.py (id 02, derived from 01)",
    )


def _defines_experiment(path: Path) -> bool:
    """A file that assigns a module-level `experiment` (an experiment outside the naming
    pattern); other .py files of a folder are helpers, outside the lineage rules."""
    try:
        tree = ast.parse(read_python_source(path))
    except (ConfigWriterError, SyntaxError, ValueError, RecursionError):
        return False
    for node in tree.body:
        targets = (
            node.targets
            if isinstance(node, ast.Assign)
            else [node.target]
            if isinstance(node, ast.AnnAssign)
            else []
        )
        if any(isinstance(t, ast.Name) and t.id == EXPERIMENT_VARIABLE for t in targets):
            return True
    return False


def _two_or_more(files: list[ExperimentFile]) -> str:
    names = [f.path.name for f in files]
    return " and ".join(names) if len(names) == 2 else listed(names)


@dataclasses.dataclass(frozen=True)
class Family:
    """The experiment files of one folder, scanned once, and what is wrong with each of them."""

    folder: Path
    files: tuple[ExperimentFile, ...]
    """Every file that follows the pattern, by file name."""
    _problems: dict[Path, ConfigWriterError | None] = dataclasses.field(
        default_factory=dict, repr=False, compare=False
    )

    @functools.cached_property
    def misnamed(self) -> tuple[Path, ...]:
        """Files outside the pattern that define `experiment` (read only when asked: parsing
        every helper of the folder is not needed to load one file)."""
        return tuple(
            path
            for path in sorted(self.folder.glob("*.py"))
            if path.is_file() and parse_file_name(path) is None and _defines_experiment(path)
        )

    @functools.cached_property
    def _by_id(self) -> dict[int, list[ExperimentFile]]:
        by_id: dict[int, list[ExperimentFile]] = {}
        for file in self.files:
            by_id.setdefault(file.id, []).append(file)
        return by_id

    def with_id(self, id: int) -> list[ExperimentFile]:
        return list(self._by_id.get(id, []))

    def file(self, path: Path) -> ExperimentFile | None:
        """The family's file at `path` (any spelling of it), None for a file outside the pattern."""
        resolved = path.resolve()
        return next((f for f in self.files if f.path.resolve() == resolved), None)

    def parent_of(self, file: ExperimentFile) -> ExperimentFile | None:
        """The one file with the parent id `file` declares; None for a base, or when no file or
        more than one has that id."""
        if file.is_base:
            return None
        parents = self.with_id(file.parent)
        return parents[0] if len(parents) == 1 else None

    @property
    def width(self) -> int:
        """Digits of the family's ids, as its file names write them (the widest)."""
        return max((f.width for f in self.files), default=DEFAULT_WIDTH)

    def id_text(self, id: int) -> str:
        return f"{id:0{self.width}d}"

    def next_id(self) -> int:
        """One more than every id and parent id in the folder: a new file never takes an id a
        file already declares as its (missing) parent."""
        return max((n for f in self.files for n in (f.id, f.parent)), default=0) + 1

    def problem(self, file: ExperimentFile) -> ConfigWriterError | None:
        """What is wrong with `file` itself (its id, its declared parent, its imports), or None.
        A file whose ancestor is broken has no problem of its own: `chain` refuses it."""
        if file.path not in self._problems:
            try:
                self._check(file)
            except ConfigWriterError as exc:
                self._problems[file.path] = exc
            else:
                self._problems[file.path] = None
        return self._problems[file.path]

    def _check(self, file: ExperimentFile) -> None:
        same = self.with_id(file.id)
        free = f"ids are scoped per folder; next free: {self.id_text(self.next_id())}"
        if len(same) > 1:
            used = "twice" if len(same) == 2 else f"by {len(same)} files"
            raise LineageError(
                f"id {self.id_text(file.id)} is used {used} in this folder: {_two_or_more(same)}",
                file=file.path,
                fix=f"give one of them a free id ({free})",
            )
        if not file.is_base:
            parents = self.with_id(file.parent)
            if not parents:
                existing = ", ".join(f.path.name for f in self.files)
                raise LineageError(
                    f"{file.path.name} declares parent id {self.id_text(file.parent)}, but no file in "
                    f"{file.path.parent} has id {self.id_text(file.parent)} (files: {existing})",
                    file=file.path,
                    fix="rename the file so its last number is the id of the file it derives from",
                )
            if len(parents) > 1:
                raise LineageError(
                    f"{file.path.name} declares parent id {self.id_text(file.parent)}, which "
                    f"{len(parents)} files have: {_two_or_more(parents)}",
                    file=file.path,
                    fix=f"give all but one of them a free id ({free})",
                )
            loop = self._loop_from(file)
            if loop:
                raise LineageError(
                    "lineage loops: " + " -> ".join(f.path.name for f in loop),
                    file=file.path,
                    fix="the chain must end at a base file whose parent equals its id, like baseline_01_01.py",
                )
        check_imports(file, self)

    def _loop_from(self, file: ExperimentFile) -> list[ExperimentFile]:
        """`file -> ... -> file` when following parents comes back to it, else []."""
        path, seen = [file], {file.path}
        node = self.parent_of(file)
        while node is not None:
            path.append(node)
            if node == file:
                return path
            if node.path in seen:  # a loop further up, which `file` is not part of
                return []
            seen.add(node.path)
            node = self.parent_of(node)
        return []

    def broken_ancestor(self, file: ExperimentFile) -> ExperimentFile | None:
        """The nearest ancestor of `file` with a problem of its own, if any (the file itself
        loads only when none has)."""
        seen = {file.path}
        node = self.parent_of(file)
        while node is not None and node.path not in seen:
            if self.problem(node) is not None:
                return node
            seen.add(node.path)
            node = self.parent_of(node)
        return None

    def import_prefix(self, file: ExperimentFile) -> str:
        """How `file` imports its parent: '' for a sibling import (`from baseline_01_01 import
        ...`), else the package path before the module (`experiments.sft.llama_1b`). A base
        imports no parent: ''."""
        parent = self.parent_of(file)
        if parent is None:
            return ""
        module = _imported_siblings(file, self).get(parent, (parent.path.stem, 0))[0]
        return module.rpartition(".")[0]

    def chain(self, target: ExperimentFile) -> list[ExperimentFile]:
        """root -> ... -> target, following parent ids; raises the problems of every file of the
        chain that has one, together (a loop once, from the first file of it reached)."""
        problems = Problems()
        chain: list[ExperimentFile] = []
        node: ExperimentFile | None = target
        while node is not None and node not in chain:
            problem = self.problem(node)
            if problem is not None:
                problems.add(problem)
                if self._loop_from(node):
                    break
            chain.append(node)
            node = self.parent_of(node)
        problems.raise_if_any()
        return list(reversed(chain))


def scan_family(folder: Path) -> Family:
    """The experiment files of `folder` (reading names only; sources are parsed when checked)."""
    files = [
        parsed
        for path in sorted(folder.glob("*.py"))
        if (parsed := parse_file_name(path)) is not None and path.is_file()
    ]
    return Family(folder, tuple(files))


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


def _imported_siblings(file: ExperimentFile, family: Family) -> dict[ExperimentFile, tuple[str, int]]:
    """The experiments of the family that `file` imports -> (module as written, line)."""
    folder_parts = family.folder.parts
    by_stem = {f.path.stem: f for f in family.files}
    imported: dict[ExperimentFile, tuple[str, int]] = {}
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
            imported.setdefault(by_stem[last], (module, line))
    imported.pop(file, None)
    return imported


def check_imports(file: ExperimentFile, family: Family) -> None:
    """A base imports no sibling experiment; a child imports exactly its declared parent."""
    imported = _imported_siblings(file, family)
    if file.is_base:
        if imported:
            sibling, (_, line) = next(iter(imported.items()))
            raise LineageError(
                f"{file.path.name} is a base (parent == id) but imports {sibling.path.name}",
                file=file.path,
                line=line,
                fix=f"rename it to {file_name(file.name, file.id, sibling.id, family.width)} to record "
                "that it derives from that file",
            )
        return
    parent = family.parent_of(file)
    assert parent is not None, "checked before the imports"
    others = [f for f in imported if f != parent]
    if others:
        other = others[0]
        raise LineageError(
            f"{file.path.name} declares parent {parent.path.name} but imports {other.path.name}",
            file=file.path,
            line=imported[other][1],
            fix=f"import from {parent.path.stem}, or rename the file to "
            f"{file_name(file.name, file.id, other.id, family.width)}",
        )
    if parent not in imported:
        raise LineageError(
            f"{file.path.name} declares parent {parent.path.name} but does not import it",
            file=file.path,
            fix=f"derive from it: 'from {parent.path.stem} import experiment as parent' and "
            "'experiment = replace(parent, ...)'",
        )
