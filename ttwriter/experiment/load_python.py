"""Loading Python experiments: `<name>_<id>_<parent>.py` files holding a frozen `Experiment`.

Lineage lives in the file names: ids are scoped per folder, a base has `parent == id`, and a child
imports its parent and derives from it with `dataclasses.replace`. Loading checks all of that,
executes the file with its folder importable (so sibling imports work, like running a script, and
so do package-absolute imports), and then removes those modules again: two families that both
have a `baseline_01_01.py` can be loaded in one process, and each child gets its own parent.
Sources are decoded as Python decodes them (BOM, coding line); a file that ends the process while
executing is caught by a trial run in a forked child first (see ttwriter.load_guard).
"""

from __future__ import annotations

import ast
import dataclasses
import importlib
import re
import sys
import traceback
from pathlib import Path
from types import ModuleType

from ttwriter.errors import ConfigWriterError, ExperimentLoadError, LineageError
from ttwriter.experiment.experiment import Experiment
from ttwriter.experiment.load_guard import check_in_child
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


def _scan_folder(folder: Path) -> dict[int, ExperimentFile]:
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


def _chain(target: ExperimentFile, by_id: dict[int, ExperimentFile]) -> list[ExperimentFile]:
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


def _imported_modules(path: Path) -> list[tuple[str, int]]:
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


def _check_imports(file: ExperimentFile, by_id: dict[int, ExperimentFile]) -> None:
    """A base imports no sibling experiment; a child imports exactly its declared parent."""
    folder_parts = file.path.parent.parts
    by_stem = {f.path.stem: f for f in by_id.values()}
    imported: dict[int, int] = {}
    for module, line in _imported_modules(file.path):
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


def _import_roots(folder: Path) -> list[Path]:
    """Folders that make package-absolute imports (`experiments.sft.x.y`) of `folder` work."""
    roots: list[Path] = []
    node = folder
    while node.parent.parent != node.parent and node.name.isidentifier() and len(roots) < 8:
        roots.append(node.parent)
        node = node.parent
    return roots


def _user_frame(exc: BaseException, folder: Path) -> tuple[str | None, int | None]:
    if isinstance(exc, SyntaxError) and exc.filename:
        return exc.filename, exc.lineno
    found: tuple[str | None, int | None] = (None, None)
    for frame in traceback.extract_tb(exc.__traceback__):
        if not frame.filename.startswith("<") and Path(frame.filename).resolve().parent == folder:
            found = (frame.filename, frame.lineno)
    return found


def _is_local(module: ModuleType, folder: Path) -> bool:
    """A module loaded from the experiment folder, or a package that contains the folder."""
    paths = [getattr(module, "__file__", None), *list(getattr(module, "__path__", None) or [])]
    for raw in paths:
        if not raw:
            continue
        path = Path(raw).resolve()
        if "site-packages" in path.parts or "dist-packages" in path.parts:
            return False
        if path.is_relative_to(folder) or folder.is_relative_to(path):
            return True
    return False


def _exec_isolated(path: Path, stems: list[str]) -> ModuleType:
    folder = path.parent
    roots = _import_roots(folder)
    saved_path = list(sys.path)
    before = dict(sys.modules)
    for name in list(sys.modules):
        if name.split(".")[-1] in stems:
            del sys.modules[name]
    sys.path[:0] = [str(folder)]
    sys.path.extend(str(r) for r in roots)
    importlib.invalidate_caches()
    # No __pycache__ in the experiments folder: a .pyc is trusted by its source's mtime (in whole
    # seconds) and size, so a parent edited within a second of the last load would load stale.
    saved_dont_write_bytecode = sys.dont_write_bytecode
    sys.dont_write_bytecode = True
    try:
        return importlib.import_module(path.stem)
    except ConfigWriterError as exc:
        if exc.file is None:
            exc.file, exc.line = _user_frame(exc, folder)
            exc.args = (exc.render(),)
        raise exc.with_traceback(None) from None
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # SystemExit, GeneratorExit, ...: the file's problem, not ours
        file, line = _user_frame(exc, folder)
        hint = "fix the error at that line"
        if isinstance(exc, ModuleNotFoundError):
            hint = (
                "sibling experiments are imported by file name without .py, e.g. "
                f"'from {stems[0] if stems else 'baseline_01_01'} import experiment as parent'"
            )
        what = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        raise ExperimentLoadError(
            f"executing the experiment failed: {what}",
            file=file or path,
            line=line,
            fix=hint,
        ) from None
    finally:
        sys.dont_write_bytecode = saved_dont_write_bytecode
        # Decide what to drop while the import paths are still in place and before dropping any:
        # a namespace package recomputes its __path__ from sys.path and from its parent package.
        doomed = [
            name
            for name, module in list(sys.modules.items())
            if before.get(name) is not module
            and (name.split(".")[-1] in stems or (name not in before and _is_local(module, folder)))
        ]
        sys.path[:] = saved_path
        for name in doomed:
            del sys.modules[name]
        for name, module in before.items():
            if name.split(".")[-1] in stems:
                sys.modules[name] = module


def _assigned_names(path: Path) -> set[str]:
    """Names assigned at the top level of a file (`exp = replace(...)`), not imported."""
    tree = ast.parse(read_python_source(path))
    return {
        target.id
        for node in tree.body
        if isinstance(node, (ast.Assign, ast.AnnAssign))
        for target in (node.targets if isinstance(node, ast.Assign) else [node.target])
        if isinstance(target, ast.Name)
    }


@dataclasses.dataclass(frozen=True)
class PythonExperiment:
    experiment: Experiment
    chain: tuple[ExperimentFile, ...]


def load_python_experiment(path: Path) -> PythonExperiment:
    """Check the lineage of `path`, execute it in isolation and return its `experiment`."""
    path = path.resolve()
    target = parse_file_name(path)
    if target is None:
        raise LineageError(
            f"file name {path.name!r} does not follow <name>_<id>_<parent>.py",
            file=path,
            fix="name a base like baseline_01_01.py (parent == id) and a child like "
            "lora_02_01.py (id 02, derived from 01)",
        )
    by_id = _scan_folder(path.parent)
    chain = _chain(target, by_id)
    for file in chain:
        _check_imports(file, by_id)
    stems = [f.path.stem for f in by_id.values()]
    check_in_child(lambda: _exec_isolated(path, stems), path)
    module = _exec_isolated(path, stems)
    experiment = getattr(module, "experiment", None)
    if not isinstance(experiment, Experiment):
        found = "nothing" if experiment is None else type(experiment).__name__
        # Prefer names this file assigns over ones it imports (the parent).
        assigned = _assigned_names(path)
        candidates = sorted(
            (n for n, v in vars(module).items() if isinstance(v, Experiment)),
            key=lambda n: n not in assigned,
        )
        raise ExperimentLoadError(
            f"the file must define a module-level 'experiment' (a ttwriter.Experiment); found {found}",
            file=path,
            fix=f"rename {candidates[0]!r} to 'experiment'"
            if candidates
            else "add 'experiment = Experiment(name=..., base_config=...)' "
            "or 'experiment = replace(parent, ...)'",
        )
    return PythonExperiment(experiment, tuple(chain))
