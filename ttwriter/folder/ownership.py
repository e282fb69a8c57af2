"""Which entries of an experiment folder are ttwriter's own, and removing exactly those.

`--force` replaces a folder only when everything in it is ttwriter's own: the names of
folder.layout, the source files its experiment.json says were copied in, and run configs in
configs/. Removing a replaced folder removes exactly those entries, by name, never anything else,
so a result that appears at any moment survives.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from ttwriter.errors import ConfigWriterError
from ttwriter.folder.layout import (
    CONFIG_SUFFIX,
    CONFIGS_DIR,
    FOLDER_ENTRIES,
    OWN_FILES,
    RESULT_DIRS,
    SNAPSHOT_FILE,
    SUBMISSIONS_FILE,
)
from ttwriter.folder.snapshot import read_snapshot


def _recorded_sources(folder: Path) -> frozenset[str]:
    """The source files an earlier generation copied in, as its experiment.json lists them (none
    when it cannot be read: then they are not known to be ttwriter's, and are kept)."""
    try:
        files = read_snapshot(folder / SNAPSHOT_FILE).provenance.source_files
    except ConfigWriterError:
        return frozenset()
    return frozenset(name for name in files if name not in FOLDER_ENTRIES)


def _own_kind(entry: os.DirEntry, sources: frozenset[str]) -> str | None:
    """How ttwriter may remove an entry of its folder: 'file', 'configs', 'dir' (only when empty),
    or None: not ttwriter's, never removed."""
    if entry.is_symlink():
        return None
    if entry.name == CONFIGS_DIR or entry.name in RESULT_DIRS:
        return ("configs" if entry.name == CONFIGS_DIR else "dir") if entry.is_dir() else None
    if entry.name in OWN_FILES or entry.name in sources:
        return "file" if entry.is_file() else None
    return None


def _is_run_config(entry: os.DirEntry) -> bool:
    return entry.name.endswith(CONFIG_SUFFIX) and entry.is_file(follow_symlinks=False)


def foreign_entries(folder: Path) -> list[str]:
    sources = _recorded_sources(folder)
    foreign = []
    for entry in sorted(os.scandir(folder), key=lambda e: e.name):
        kind = _own_kind(entry, sources)
        if kind is None and entry.name != SUBMISSIONS_FILE:
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
