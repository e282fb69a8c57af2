"""The entries of an experiment folder: their names, and which of them are ttwriter's own.

This module is the one owner of the list of names ttwriter and the later commands (submit, run,
results, training) write into an experiment folder, made from the constants of the modules that
write them. Two things depend on it: a copied source file never takes one of these names, and
`--force` replaces a folder only when everything in it is ttwriter's own, and then removes exactly
those entries, by name, never anything else.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterable
from pathlib import Path

from ttwriter.folder.read import MAPPING_FILE, SNAPSHOT_FILE
from ttwriter.folder.submissions import SUBMISSIONS
from ttwriter.slurm.script import LOGS_DIR, SCRIPT_NAME, STATUS_DIR
from ttwriter.train.plot import PLOT_FILE
from ttwriter.train.results import RESULTS_FILE

CONFIGS_DIR = "configs"
RUNS_DIR = "runs"
"""Where each run's output_dir is by default: torchtune writes checkpoints there."""
VALIDATION_REPORT = "validation_report.txt"
VALIDATION_REPORT_JSON = "validation_report.json"
MARKERS = (SNAPSHOT_FILE, MAPPING_FILE)
"""A folder with one of these was written by ttwriter."""
RESULT_DIRS = (RUNS_DIR, LOGS_DIR, STATUS_DIR)
"""Subfolders where training writes results and run states; a folder with anything in them is
never replaced."""
GENERATED_FILES = (*MARKERS, VALIDATION_REPORT, VALIDATION_REPORT_JSON, SCRIPT_NAME)
DERIVED_FILES = (RESULTS_FILE, PLOT_FILE)
"""Written by `ttwriter results` from the logs, so they can be made again."""
FOLDER_ENTRIES = frozenset({*GENERATED_FILES, CONFIGS_DIR, *RESULT_DIRS, SUBMISSIONS, *DERIVED_FILES})
"""Every name ttwriter or a later command (submit, run, results, training) writes in the folder."""
_OWN_FILES = frozenset({*GENERATED_FILES, *DERIVED_FILES})


def copy_names(files: Iterable[Path]) -> dict[str, Path]:
    """The name each source file is copied under: its own, unless an entry of the folder or an
    earlier copy has it (also on a file system that ignores case); then `source_<name>`,
    `source2_<name>`, ... A file given twice is copied once."""
    names: dict[str, Path] = {}
    taken = {name.casefold() for name in FOLDER_ENTRIES}
    copied: set[Path] = set()
    for path in files:
        if path.resolve() in copied:
            continue
        copied.add(path.resolve())
        name, n = path.name, 1
        while name.casefold() in taken:
            n += 1
            name = f"source_{path.name}" if n == 2 else f"source{n - 1}_{path.name}"
        taken.add(name.casefold())
        names[name] = path
    return names


def _recorded_sources(folder: Path) -> frozenset[str]:
    """The source files an earlier generation copied in, as its experiment.json lists them."""
    try:
        files = json.loads((folder / SNAPSHOT_FILE).read_text(encoding="utf-8"))["provenance"]["source_files"]
        return frozenset(name for name in files if isinstance(name, str) and name not in FOLDER_ENTRIES)
    except (OSError, ValueError, KeyError, TypeError, RecursionError):
        return frozenset()


def _own_kind(entry: os.DirEntry, sources: frozenset[str]) -> str | None:
    """How ttwriter may remove an entry of its folder: 'file', 'configs', 'dir' (only when empty),
    or None: not ttwriter's, never removed."""
    if entry.is_symlink():
        return None
    if entry.name == CONFIGS_DIR or entry.name in RESULT_DIRS:
        return ("configs" if entry.name == CONFIGS_DIR else "dir") if entry.is_dir() else None
    if entry.name in _OWN_FILES or entry.name in sources:
        return "file" if entry.is_file() else None
    return None


def _is_run_config(entry: os.DirEntry) -> bool:
    return entry.name.endswith(".yaml") and entry.is_file(follow_symlinks=False)


def foreign_entries(folder: Path) -> list[str]:
    sources = _recorded_sources(folder)
    foreign = []
    for entry in sorted(os.scandir(folder), key=lambda e: e.name):
        kind = _own_kind(entry, sources)
        if kind is None and entry.name != SUBMISSIONS:
            foreign.append(entry.name)
        elif kind == "configs":
            foreign += [f"{CONFIGS_DIR}/{e.name}" for e in os.scandir(entry.path) if not _is_run_config(e)]
    return foreign


def remove_own(folder: Path) -> list[str]:
    """Remove ttwriter's own entries of `folder`, then the folder if that emptied it; returns the
    names of what is left (never removed: it is not ttwriter's)."""
    sources = _recorded_sources(folder)
    for entry in list(os.scandir(folder)):
        kind = _own_kind(entry, sources)
        with contextlib.suppress(OSError):
            if kind == "file":
                os.unlink(entry.path)
            elif kind == "configs":
                for config in list(os.scandir(entry.path)):
                    if _is_run_config(config):
                        os.unlink(config.path)
                os.rmdir(entry.path)
            elif kind == "dir":
                os.rmdir(entry.path)
    try:
        os.rmdir(folder)
        return []
    except OSError:
        return sorted(os.listdir(folder)) if folder.is_dir() else []
