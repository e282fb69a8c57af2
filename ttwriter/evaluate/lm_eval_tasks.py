"""The task names lm_eval knows, found without importing lm_eval.

Importing lm_eval's TaskManager takes about 6 s here (4.6 s for the import, which pulls in torch
and transformers, 1.7 s to index 11,000 task YAMLs), too slow for generating a sweep. The names
are what those YAMLs declare: `task:` (a name, or a list for a group, which `group:` names) and
`tag:`, where a YAML may inherit keys through `include:`. Reading them directly with libyaml,
includes followed, takes about 2.5 s and finds the same names as TaskManager (11,274 in lm_eval
0.4.9); the list is then cached per lm_eval version and install folder (in
$XDG_CACHE_HOME/ttwriter, else ~/.cache/ttwriter), so later generations read one JSON file.

The scan can miss a name only lm_eval's own code makes; so before a name is called unknown it is
looked up with the real TaskManager, whose list then replaces the scan's in the cache
(`confirmed`): the 6 s are paid once per lm_eval install, not once per typo.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import hashlib
import importlib.metadata
import importlib.util
import io
import json
import logging
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

_CACHE_FORMAT = 1


class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """YAML as lm_eval writes it: `!function module.name` tags read as nothing."""


_Loader.add_multi_constructor("!", lambda loader, suffix, node: None)


def _load(path: Path) -> dict[str, Any]:
    try:
        with open(path, encoding="utf-8") as stream:
            data = yaml.load(stream, Loader=_Loader)  # noqa: S506 (a SafeLoader subclass)
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return {}
    return data if isinstance(data, dict) else {}


def _with_includes(path: Path, cache: dict[Path, dict[str, Any]], depth: int = 0) -> dict[str, Any]:
    """The YAML's keys with those of the files it includes underneath (the file's own win)."""
    if path in cache:
        return cache[path]
    data = _load(path)
    include = data.get("include")
    if isinstance(include, str) and depth < 5:
        parent = _with_includes((path.parent / include).resolve(), cache, depth + 1)
        data = {**{k: v for k, v in parent.items() if k != "include"}, **data}
    cache[path] = data
    return data


def names_in_yamls(files: Iterable[Path]) -> set[str]:
    """Task, group and tag names the YAML files declare."""
    names: set[str] = set()
    cache: dict[Path, dict[str, Any]] = {}
    for path in files:
        data = _with_includes(path.resolve(), cache)
        task = data.get("task")
        if isinstance(task, str):
            names.add(task)
        elif isinstance(task, list) and isinstance(data.get("group"), str):
            names.add(data["group"])
        tag = data.get("tag")
        names.update([tag] if isinstance(tag, str) else [t for t in tag or () if isinstance(t, str)])
    return names


def yaml_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*.yaml") if p.is_file())


def _tasks_folder() -> Path | None:
    spec = importlib.util.find_spec("lm_eval")
    if spec is None or spec.origin is None:
        return None
    return Path(spec.origin).parent / "tasks"


def _cache_file(folder: Path) -> Path:
    root = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "ttwriter"
    try:
        version = importlib.metadata.version("lm_eval")
    except importlib.metadata.PackageNotFoundError:
        version = "unknown"
    where = hashlib.sha256(str(folder).encode("utf-8")).hexdigest()[:16]
    return root / f"lm_eval_tasks-{version}-{where}.json"


@dataclasses.dataclass(frozen=True)
class KnownTasks:
    """The task names lm_eval ships, and whether lm_eval itself listed them (else the scan did)."""

    names: frozenset[str]
    confirmed: bool


def _write_cache(cache: Path, folder: Path, names: set[str] | frozenset[str], confirmed: bool) -> None:
    try:  # a cache that cannot be written only costs the next generation the scan
        cache.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache.with_name(f".{cache.name}.{os.getpid()}")
        data = {
            "format": _CACHE_FORMAT,
            "folder": str(folder),
            "confirmed": confirmed,
            "names": sorted(names),
        }
        tmp.write_text(json.dumps(data), encoding="utf-8")
        tmp.replace(cache)
    except OSError:
        pass


def shipped_tasks() -> KnownTasks:
    """The names lm_eval's own task YAMLs declare (cached); none when lm_eval is not installed."""
    folder = _tasks_folder()
    if folder is None or not folder.is_dir():
        return KnownTasks(frozenset(), False)
    cache = _cache_file(folder)
    try:
        data = json.loads(cache.read_text(encoding="utf-8"))
        if data.get("format") == _CACHE_FORMAT and data.get("folder") == str(folder):
            return KnownTasks(frozenset(data["names"]), data.get("confirmed") is True)
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        pass
    names = names_in_yamls(yaml_files(folder))
    _write_cache(cache, folder, names, confirmed=False)
    return KnownTasks(frozenset(names), False)


def confirm_shipped_tasks() -> KnownTasks:
    """lm_eval's own list of its tasks (slow: imports lm_eval), cached as confirmed, so that a
    name the scan does not know is looked up this way once per lm_eval install, not per typo."""
    folder = _tasks_folder()
    names = task_manager_names(None)
    if folder is None or not names:
        return shipped_tasks()
    _write_cache(_cache_file(folder), folder, names, confirmed=True)
    return KnownTasks(frozenset(names), True)


def task_manager_names(include_path: str | None) -> frozenset[str]:
    """Every name lm_eval's TaskManager knows (slow: imports lm_eval and indexes its YAMLs);
    empty if it cannot say. lm_eval's own list is asked once per process (it cannot change
    while the process runs); a user's include_path is asked each time, since its YAMLs can."""
    if include_path is None:
        return _shipped_task_manager_names()
    return _task_manager_names(include_path)


@functools.cache
def _shipped_task_manager_names() -> frozenset[str]:
    return _task_manager_names(None)


def _task_manager_names(include_path: str | None) -> frozenset[str]:
    for name in ("torchao", "lm_eval", "lm-eval"):  # import-time chatter is not the user's business
        logging.getLogger(name).setLevel(logging.ERROR)
    try:
        with contextlib.redirect_stderr(io.StringIO()), contextlib.redirect_stdout(io.StringIO()):
            from lm_eval.tasks import TaskManager

            return frozenset(TaskManager(include_path=include_path, verbosity="ERROR").all_tasks)
    except Exception:  # a broken lm_eval install: the scan's answer stands
        return frozenset()
