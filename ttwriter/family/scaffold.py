"""The next experiment of a family: `NAME_<next id>_<parent id>.py`, deriving from its parent.

The new file imports its parent the way the parent imports its own (a sibling import, or the
package path; a base imports nothing, so sibling), and is `dataclasses.replace(parent, name=...)`
with comments showing where variables and controls change. Until edited it makes the same runs
as its parent, and that is checked by loading it before the command returns. The file is created
exclusively (written beside its place, then linked in): an existing file, even a dangling link,
is never replaced, and a failed write leaves nothing behind.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import re
from pathlib import Path
from typing import Any

from ttwriter.errors import LineageError, OutputExistsError, OutputWriteError
from ttwriter.experiment.experiment import Experiment
from ttwriter.experiment.frozen import thaw
from ttwriter.experiment.lineage import NAME_PATTERN, ExperimentFile, file_name, misnamed_error, scan_family
from ttwriter.experiment.loading import load_experiment
from ttwriter.family.compare import compare, plan_for_comparison, show
from ttwriter.formats import counted, listed

EXAMPLE_VARIABLES = {"learning_rate": [1e-4, 3e-4]}
"""The variables example for a parent that has neither variables nor controls to show."""


@dataclasses.dataclass(frozen=True)
class NewExperiment:
    path: Path
    id: str
    """Its id as its file name writes it (`04`)."""
    parent: ExperimentFile
    n_runs: int
    """Its runs, the same as its parent's."""


def check_name(name: str) -> None:
    """`name` as the `<name>` of a file name: letters, digits and `_`, not starting with a digit."""
    if NAME_PATTERN.fullmatch(name):
        return
    fixed = re.sub(r"[^A-Za-z0-9_]+", "_", name).strip("_") or "my_experiment"
    if fixed[0].isdigit():
        fixed = f"exp_{fixed}"
    raise LineageError(
        f"name {name!r} cannot be the <name> of a file name <name>_<id>_<parent>.py",
        fix=f"use letters, digits and '_' only, not starting with a digit: e.g. {fixed!r}",
    )


def new_experiment(parent_path: Path, name: str) -> NewExperiment:
    """Write the next file of `parent_path`'s family, deriving from it, and check that it loads
    and makes the parent's runs. Raises for a bad name, a parent that does not load, a file in
    the way; nothing is written then."""
    check_name(name)
    parent_path = parent_path.resolve()
    if parent_path.suffix.lower() != ".py":
        raise LineageError(
            "only a Python experiment has a family to derive in",
            file=parent_path,
            fix="give a <name>_<id>_<parent>.py file; to vary an experiment.yaml, copy it",
        )
    if not parent_path.is_file():
        raise LineageError("no such file", file=parent_path, fix="give an experiment file of the family")
    family = scan_family(parent_path.parent)
    parent = family.file(parent_path)
    if parent is None:
        raise misnamed_error(parent_path)
    family.chain(parent)  # its lineage is sound, or the child's would not be
    loaded = load_experiment(parent_path)
    parent_plan = plan_for_comparison(loaded)
    new_id = family.next_id()
    target = parent_path.parent / file_name(name, new_id, parent.id, family.width)
    text = scaffold_text(name, parent, family.import_prefix(parent), loaded.experiment, parent_plan.n_runs)
    inode = write_new_file(target, text)
    try:
        plan = plan_for_comparison(load_experiment(target))
    except BaseException:
        _remove_own(target, inode)
        raise
    changed = [c.key for c in compare(parent_plan, plan) if c.key != "name"]
    if changed:  # a bug in the text above, not the user's doing
        _remove_own(target, inode)
        raise RuntimeError(f"the new file would change {', '.join(changed)}; it was removed")
    return NewExperiment(target, family.id_text(new_id), parent, plan.n_runs)


def _module(prefix: str, stem: str) -> str:
    return f"{prefix}.{stem}" if prefix else stem


def _literal(value: Any) -> str:
    return repr(value) if not isinstance(value, str) else json.dumps(value)


def _entries(mapping: Any) -> list[tuple[str, Any]]:
    return [(key, thaw(value)) for key, value in mapping.items()]


def scaffold_text(name: str, parent: ExperimentFile, prefix: str, experiment: Experiment, n_runs: int) -> str:
    """The new file's source: a docstring, the import of its parent, and `replace` with comments."""
    variables, controls = _entries(experiment.variables), _entries(experiment.controls)
    if variables:
        swept = " and ".join(f"{key} {show(value, 40)}" for key, value in variables)
        sweeps = f"The parent sweeps {swept}."
        key, value = variables[0]
        variable_example = f"{{**parent.variables, {json.dumps(key)}: {_literal(value)}}}"
    else:
        sweeps = "The parent sweeps nothing: it is one run."
        scalars = [(k, v) for k, v in controls if not isinstance(v, dict)]
        key, value = scalars[0] if scalars else next(iter(EXAMPLE_VARIABLES.items()))
        values = value if not scalars else [value]
        variable_example = f"{{{json.dumps(key)}: {_literal(values)}}}"
    if controls:
        sets = f"The parent sets {listed([key for key, _ in controls], 8)}."
        scalars = [(k, v) for k, v in controls if not isinstance(v, dict)] or controls
        key, value = scalars[0]
        control_example = f"{{**parent.controls, {json.dumps(key)}: {_literal(value)}}}"
    else:
        sets = "The parent sets no controls: every key keeps the base config's value."
        control_example = '{"epochs": 1}'
    lines = [
        f'"""{name}: derived from {parent.path.name}. Say here what it changes, and why."""',
        "",
        "from dataclasses import replace",
        "",
        f"from {_module(prefix, parent.path.stem)} import experiment as parent",
        "",
        "experiment = replace(",
        "    parent,",
        f"    name={json.dumps(name)},",
        f"    # Until you change something below, this makes the same runs as {parent.path.name} "
        f"({counted(n_runs)}).",
        "    #",
        "    # What is swept: every combination of the variables' values is one run.",
        f"    # {sweeps}",
        f"    # variables={variable_example},",
        "    #",
        "    # What stays fixed in every run (spread the parent's controls to keep them).",
        f"    # {sets}",
        f"    # controls={control_example},",
        "    #",
        '    # question="...",',
        '    # hypothesis="...",',
        ")",
    ]
    return "\n".join(lines) + "\n"


def write_new_file(path: Path, text: str) -> int:
    """Create `path` holding `text`, never replacing anything there; returns its inode. The text
    is written to a hidden file beside it first and then linked in, so `path` appears complete
    or not at all (where hard links are not allowed: an exclusive create)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        try:
            with open(tmp, "x", encoding="utf-8") as handle:
                handle.write(text)
            try:
                os.link(tmp, path)
            except FileExistsError:
                raise
            except OSError:  # no hard links on this file system
                _create_exclusive(path, text)
        except FileExistsError:
            raise OutputExistsError(
                f"{path.name} is already there; it is never replaced",
                file=path,
                fix="give another --name, or move that file away first",
            ) from None
        except OSError as exc:
            raise OutputWriteError(
                f"cannot write {path.name}: {exc.strerror or exc}",
                file=path,
                fix="make the family folder writable, or free some space",
            ) from None
        return path.lstat().st_ino
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink()


def _create_exclusive(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o644)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
    except BaseException:
        with contextlib.suppress(OSError):
            path.unlink()
        raise


def _remove_own(path: Path, inode: int) -> None:
    """Remove the file this module created, and nothing that replaced it since."""
    with contextlib.suppress(OSError):
        if path.lstat().st_ino == inode:
            path.unlink()
