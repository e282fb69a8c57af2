"""Where an experiment folder goes, and whether it may be written there: what is checked before
anything is written (a dry run makes exactly these checks).

The folder is the `output_dir` argument, else the experiment's `output_dir`, else
`outputs/<name>_<timestamp>`, a default that moves on to `_2`, `_3`, ... when taken. It must be a
name the file system allows, in a folder that can be written, and either not exist, be empty, or,
with `force`, be an earlier ttwriter output that holds no results and nothing ttwriter did not
write.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import shlex
from pathlib import Path

from ttwriter.errors import ExperimentSchemaError, OutputExistsError
from ttwriter.experiment.experiment import Experiment
from ttwriter.folder import claim
from ttwriter.folder.layout import RESULT_DIRS, SIGNATURE_FILES, SNAPSHOT_FILE, SUBMISSIONS_FILE
from ttwriter.folder.ownership import foreign_entries
from ttwriter.formats import listed
from ttwriter.placeholders import substitute, unknown

DEFAULT_OUTPUT_DIR = "outputs/{experiment_name}_{timestamp}"
DEFAULT_SMOKE_OUTPUT_DIR = "outputs/{experiment_name}_smoke_{timestamp}"
OUTPUT_DIR_PLACEHOLDERS = ("experiment_name", "timestamp")


def resolve_experiment_dir(
    experiment: Experiment, output_dir: str | Path | None, now: dt.datetime, smoke: bool = False
) -> Path:
    """`output_dir` argument > the experiment's output_dir > outputs/<name>[_smoke]_<timestamp>.

    Two sweeps started in the same second must not collide in the default folder: the second gets
    `_2` (decided for good when the folder is claimed, see AtomicFolder).
    """
    path, default = template_dir(experiment, output_dir, now, smoke)
    return first_free(path)[0] if default else path


def template_dir(
    experiment: Experiment, output_dir: str | Path | None, now: dt.datetime, smoke: bool
) -> tuple[Path, bool]:
    """The folder the templates give, and whether it is the default one (then numbered if taken)."""
    template = str(output_dir) if output_dir is not None else experiment.output_dir
    default = template is None
    # The experiment's own output_dir is located where it is written; the argument is not in it.
    path = ("output_dir",) if output_dir is None and not default else None
    template = template or (DEFAULT_SMOKE_OUTPUT_DIR if smoke else DEFAULT_OUTPUT_DIR)
    if "\0" in template:
        raise ExperimentSchemaError(
            f"output folder {template!r} contains a NUL byte (\\0), which no path can hold",
            key="output_dir",
            path=path,
            fix=f"remove it: {template.replace(chr(0), '')!r}",
        )
    for name in unknown(template, OUTPUT_DIR_PLACEHOLDERS, interpolations=False):
        raise ExperimentSchemaError(
            f"unknown placeholder {{{name}}} in output folder {template!r}",
            key="output_dir",
            path=path,
            fix="the output folder may use {experiment_name} and {timestamp}",
        )
    values = {"experiment_name": experiment.name, "timestamp": now.strftime("%Y%m%d_%H%M%S")}
    return Path(substitute(template, values, interpolations=False)).expanduser().resolve(), default


def first_free(base: Path, start: int = 1) -> tuple[Path, int]:
    """`base`, else `base_2`, `base_3`, ...: the first that does not exist and is not being written."""
    n = start
    while True:
        candidate = base if n == 1 else base.with_name(f"{base.name}_{n}")
        if not os.path.lexists(candidate) and not claim.is_claimed(candidate):
            return candidate, n
        n += 1


def check_output_dir(final: Path, force: bool, longest_entry: str = "") -> None:
    """Refuse, before any work, a folder that cannot or must not be written; `longest_entry` is
    the longest path the generation will write inside it. Writes nothing."""
    try:
        check_path(final, longest_entry)
        seen = claim.read_lock(claim.lock_path(final))
        if seen is not None and not claim.is_stale(claim.lock_path(final), seen[1]):
            raise busy_error(final, seen[1])
        problem = existing_problem(final, force)
    except OSError as exc:  # a folder on the way that cannot be read
        raise cannot_create(final, exc.strerror or str(exc)) from None
    if problem is not None:
        raise problem


def cannot_create(
    final: Path, reason: str, fix: str = "choose an --output-dir in a folder you can write to"
) -> OutputExistsError:
    return OutputExistsError(f"cannot create the output folder: {reason}", file=final, fix=fix)


def check_path(final: Path, longest_entry: str) -> None:
    """Names and lengths the file system allows, and a folder to create it in that can be written."""
    ancestor = final
    while not os.path.lexists(ancestor) and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    if ancestor != final and not ancestor.is_dir():
        raise cannot_create(final, f"{ancestor} is a file, not a folder")
    limit = claim.name_max(ancestor)
    for part in final.relative_to(ancestor).parts:
        if len(os.fsencode(part)) > limit:
            raise cannot_create(
                final,
                f"the name {part[:40]}... is {len(os.fsencode(part))} bytes long; this file system "
                f"allows {limit}",
                "choose a shorter --output-dir",
            )
    path_max = 4096
    with contextlib.suppress(OSError, ValueError):
        path_max = os.pathconf(ancestor if ancestor.is_dir() else ancestor.parent, "PC_PATH_MAX")
    longest = max(
        len(os.fsencode(p)) + 1 + len(os.fsencode(longest_entry))
        for p in (final, claim.sidecar_example(final))
    )
    if longest >= path_max:
        raise cannot_create(
            final,
            f"its files would have paths of {longest} bytes; this file system allows {path_max - 1}",
            "choose a shorter --output-dir",
        )
    writable = final.parent if os.path.lexists(final) else ancestor
    if not os.access(writable, os.W_OK | os.X_OK):
        read_only = False
        with contextlib.suppress(OSError):
            read_only = bool(os.statvfs(writable).f_flag & os.ST_RDONLY)
        reason = "is on a read-only file system" if read_only else "is not writable"
        if final.is_dir() and os.access(final, os.W_OK | os.X_OK):
            # ttwriter writes beside the folder, then renames: a folder inside it works
            raise cannot_create(
                final,
                f"{writable} {reason}",
                f"write into a folder inside it: --output-dir {final / 'sweep'}",
            )
        raise cannot_create(final, f"{writable} {reason}")


def busy_error(final: Path, owner: claim.Owner | None) -> OutputExistsError:
    who = f" ({owner.describe()})" if owner else ""
    return OutputExistsError(
        f"another ttwriter{who} is writing this output folder",
        file=final,
        fix="wait until it has finished, or choose another --output-dir; if no ttwriter runs there, "
        f"delete {claim.lock_path(final)}",
    )


def existing_problem(final: Path, force: bool) -> OutputExistsError | None:
    if not os.path.lexists(final):
        return None
    if not final.is_dir():
        return OutputExistsError(
            "output path exists and is not a folder", file=final, fix="choose another --output-dir"
        )
    if os.path.ismount(final):
        return OutputExistsError(
            "the output folder is a mount point, and ttwriter puts a finished folder in place by "
            "renaming it, which a mount point does not allow",
            file=final,
            fix=f"choose a folder inside it, e.g. --output-dir {final / 'sweep'}",
        )
    if not any(final.iterdir()):
        return None
    if not force:
        return OutputExistsError(
            "output folder already exists and is not empty",
            file=final,
            fix="choose another --output-dir, or pass --force to replace an earlier ttwriter output",
        )
    return replace_problem(final, final)


def replace_problem(folder: Path, final: Path, while_writing: bool = False) -> OutputExistsError | None:
    """Why `folder` (the output folder, or its set-aside copy at commit) must not be replaced."""
    fix = "choose another --output-dir"
    if not any((folder / m).exists() for m in SIGNATURE_FILES):
        message = f"--force only replaces folders written by ttwriter, and this one has no {SNAPSHOT_FILE}"
    elif os.path.lexists(folder / SUBMISSIONS_FILE):
        message = (
            f"output folder was submitted to SLURM ({SUBMISSIONS_FILE}); replacing it would pull the "
            "configs from under its jobs"
        )
    else:
        full = [sub for sub in RESULT_DIRS if (folder / sub).is_dir() and any((folder / sub).iterdir())]
        foreign = foreign_entries(folder)
        if full:
            message = (
                f"output folder holds results of earlier runs in {full[0]}/; replacing it would lose them"
            )
            fix = "choose another --output-dir, or move the results away first"
        elif foreign:
            names = listed(foreign)
            message = (
                f"output folder holds {names}, which ttwriter did not write; --force replaces only "
                "ttwriter's own files"
            )
            fix = "move them out of the folder first, or choose another --output-dir"
        else:
            return None
    if while_writing:
        message = (
            f"while ttwriter was writing, the folder changed: {message}; it was left as it is and the "
            "new configs were discarded"
        )
    return OutputExistsError(message, file=final, fix=fix)


def regenerate_hint(folder: Path) -> str:
    """How to write an existing folder again from its experiment.json: in place with --force while
    that is allowed (no results, never submitted), else into a new folder, leaving this one as it is."""
    snapshot = shlex.quote(str(folder / SNAPSHOT_FILE))
    problem = replace_problem(folder, folder)
    if problem is None:
        return f"regenerate it in place: ttwriter {snapshot} --output-dir {shlex.quote(str(folder))} --force"
    return (
        f"regenerate it into a new folder: ttwriter {snapshot} --output-dir <new folder> "
        f"(--force would not replace this one: {problem.message})"
    )
