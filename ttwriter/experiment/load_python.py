"""Loading Python experiments: `<name>_<id>_<parent>.py` files holding a frozen `Experiment`.

Lineage lives in the file names (experiment.lineage checks it, without running anything). Loading
then executes the file with its folder importable (so sibling imports work, like running a script, and
so do package-absolute imports), and then removes those modules again: two families that both
have a `baseline_01_01.py` can be loaded in one process, and each child gets its own parent.
Sources are decoded as Python decodes them (BOM, coding line); a file that ends the process while
executing is caught by a trial run in a forked child first (see experiment.load_guard).
"""

from __future__ import annotations

import ast
import dataclasses
import importlib
import sys
import traceback
from pathlib import Path
from types import ModuleType

from ttwriter.errors import ConfigWriterError, ExperimentLoadError
from ttwriter.experiment.experiment import Experiment
from ttwriter.experiment.lineage import ExperimentFile, misnamed_error, parse_file_name, scan_family
from ttwriter.experiment.load_guard import check_in_child
from ttwriter.safe_read import read_python_source


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
    except (ConfigWriterError, KeyboardInterrupt):
        raise  # ttwriter's errors are located where they are made (experiment.schema)
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
        raise misnamed_error(path)
    family = scan_family(path.parent)
    chain = family.chain(target)
    stems = [f.path.stem for f in family.files]
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
