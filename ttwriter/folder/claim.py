"""Who is writing a folder: a lock file beside it, hidden work folders, and which of them are stale.

A generation holds `.<name>.ttwriter-lock` (created exclusively, naming its pid and host) while it
writes `<name>`, so a second generation into the same folder learns at once that it must not. Its
work folders beside the target are `.<name>.ttwriter-<kind>-<pid>@<host>.<random>`. The pid and
host tell the leftovers of a process that is gone (killed with SIGKILL, a crashed machine) from the
work of one that still runs; only the former are ever removed. Processes on other hosts cannot be
checked, so their locks and folders are left alone. A folder set aside by a killed `--force`
regeneration is put back when nothing has taken its place, else cleared of ttwriter's own files.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import hashlib
import json
import os
import re
import secrets
import shutil
import socket
import time
from collections.abc import Iterator
from pathlib import Path

from ttwriter.folder.ownership import remove_own
from ttwriter.formats import listed

HOST = re.sub(r"[^A-Za-z0-9-]", "-", socket.gethostname().split(".")[0])[:24] or "host"
LOCK_SUFFIX = ".ttwriter-lock"
_SIDECAR = re.compile(
    r"^\.(?P<stem>.+)\.ttwriter-(?P<kind>tmp|old|gone)-(?P<pid>\d+)(?:@(?P<host>[A-Za-z0-9-]*)\.[0-9a-f]{6})?$"
)
_SIDECAR_BUDGET = len(".ttwriter-gone-") + 10 + 1 + 24 + 1 + 6
"""Bytes a work folder's name adds to the target's: suffix, pid, host and random part at most."""
_EMPTY_LOCK_GRACE = 60.0
"""Seconds an empty lock file counts as being written (its owner writes it right after creating)."""

_HELD: set[str] = set()
"""Locks this process holds: another thread's generation, never a stale leftover."""
_MINE: set[str] = set()
"""Work folder names this process made."""


def name_max(path: Path) -> int:
    """The longest file name (in bytes) the file system that holds `path` allows."""
    for folder in (path, *path.parents):
        with contextlib.suppress(OSError, ValueError):
            return os.pathconf(folder, "PC_NAME_MAX")
    return 255


def _stem(final: Path) -> str:
    """The target's name, shortened (with a hash) when a work folder's name would not fit."""
    name = final.name
    limit = name_max(final.parent) - 1 - _SIDECAR_BUDGET
    encoded = os.fsencode(name)
    if len(encoded) <= limit:
        return name
    digest = hashlib.sha1(encoded).hexdigest()[:8]
    return os.fsdecode(encoded[: max(1, limit - 9)]).rstrip("\udcff") + "~" + digest


def target_name(stem: str) -> str | None:
    """The target name a work folder's stem stands for, or None when it was shortened."""
    return None if re.search(r"~[0-9a-f]{8}$", stem) else stem


def _sidecar_name(stem: str, kind: str) -> str:
    return f".{stem}.ttwriter-{kind}-{os.getpid()}@{HOST}.{secrets.token_hex(3)}"


def sidecar(final: Path, kind: str) -> Path:
    """A new name for a work folder of this process beside `final` ('tmp', 'old' or 'gone')."""
    path = final.parent / _sidecar_name(_stem(final), kind)
    _MINE.add(path.name)
    return path


def sidecar_example(final: Path) -> Path:
    """A work folder's path as long as the real ones will be (not reserved for this process)."""
    return final.parent / _sidecar_name(_stem(final), "gone")


def lock_path(final: Path) -> Path:
    return final.parent / f".{_stem(final)}{LOCK_SUFFIX}"


def pid_alive(pid: int) -> bool:
    """Whether process `pid` of this host runs (a zombie does not)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, OverflowError):
        return False
    except OSError:  # PermissionError: it runs, as another user
        return True
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            state = stat.read().rsplit(b")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state not in (b"Z", b"X")


@dataclasses.dataclass(frozen=True)
class Owner:
    """The process a lock names."""

    pid: int
    host: str
    started: str

    def describe(self) -> str:
        return f"pid {self.pid} on {self.host}, since {self.started}"


def read_lock(lock: Path) -> tuple[bytes, Owner | None] | None:
    """The lock's bytes and owner (None when unreadable), or None when there is no lock."""
    try:
        raw = lock.read_bytes()
    except FileNotFoundError:
        return None
    except OSError:
        return b"", None
    try:
        data = json.loads(raw)
        return raw, Owner(int(data["pid"]), str(data["host"]), str(data["started"]))
    except (ValueError, KeyError, TypeError, RecursionError):
        return raw, None


def is_stale(lock: Path, owner: Owner | None) -> bool:
    """True when nobody holds `lock` any more: its process, on this host, is gone."""
    if str(lock) in _HELD:
        return False
    if owner is None:
        try:
            return time.time() - os.stat(lock).st_mtime > _EMPTY_LOCK_GRACE
        except OSError:
            return False
    if owner.host != HOST:
        return False
    if owner.pid == os.getpid():  # not held by this process: an earlier one with the same pid
        return True
    return not pid_alive(owner.pid)


def acquire(lock: Path) -> bytes | None:
    """Create `lock` for this process; its content, or None when someone else has it."""
    started = dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M:%S")
    record = (
        json.dumps({"pid": os.getpid(), "host": HOST, "started": started, "token": secrets.token_hex(8)})
        + "\n"
    ).encode()
    try:
        fd = os.open(lock, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o644)
    except FileExistsError:
        return None
    try:
        os.write(fd, record)
    except OSError:
        os.close(fd)
        os.unlink(lock)
        raise
    os.close(fd)
    _HELD.add(str(lock))
    return record


def holds(lock: Path, record: bytes) -> bool:
    try:
        return lock.read_bytes() == record
    except OSError:
        return False


def release(lock: Path, record: bytes) -> None:
    if holds(lock, record):
        with contextlib.suppress(OSError):
            os.unlink(lock)
    _HELD.discard(str(lock))


def remove_stale(lock: Path, raw: bytes) -> None:
    """Remove a stale lock, but only the one that was judged: when a live process has replaced it
    meanwhile, that lock is put back (its owner re-checks it before committing anyway)."""
    grave = lock.parent / _sidecar_name(lock.name[1 : -len(LOCK_SUFFIX)], "gone")
    try:
        os.rename(lock, grave)
    except OSError:
        return
    try:
        same = grave.read_bytes() == raw
    except OSError:
        same = True
    if not same:
        with contextlib.suppress(OSError):
            os.link(grave, lock)
    with contextlib.suppress(OSError):
        os.unlink(grave)


def is_claimed(final: Path) -> bool:
    """Whether a live generation is writing `final`."""
    lock = lock_path(final)
    seen = read_lock(lock)
    return seen is not None and not is_stale(lock, seen[1])


def stale_leftovers(parent: Path) -> Iterator[tuple[Path, str, str, bytes]]:
    """(path, kind, stem, lock bytes) of every leftover of a gone process in `parent`: its lock
    ('lock'), temporary folder ('tmp'), set-aside old folder ('old') or removed lock ('gone')."""
    try:
        names = [e.name for e in os.scandir(parent) if e.name.startswith(".") and ".ttwriter-" in e.name]
    except OSError:
        return
    for name in names:
        path = parent / name
        if name.endswith(LOCK_SUFFIX):
            seen = read_lock(path)
            if seen is not None and is_stale(path, seen[1]):
                yield path, "lock", name[1 : -len(LOCK_SUFFIX)], seen[0]
            continue
        match = _SIDECAR.match(name)
        if match is None or match["host"] not in (None, HOST) or name in _MINE:
            continue
        pid = int(match["pid"])
        if pid == os.getpid() or not pid_alive(pid):
            yield path, match["kind"], match["stem"], b""


def clean_leftovers(parent: Path) -> list[str]:
    """Remove what killed generations left in `parent`; notes for what had to be kept."""
    notes = []
    for path, kind, stem, raw in stale_leftovers(parent):
        if kind == "lock":
            remove_stale(path, raw)
        elif kind == "gone":
            with contextlib.suppress(OSError):
                os.unlink(path)
        elif kind == "tmp":
            shutil.rmtree(path, ignore_errors=True)
        elif kind == "old" and path.is_dir():
            name = target_name(stem)
            if name is None:  # a shortened name: which folder it was is not known, so keep it
                continue
            target = parent / name
            if not os.path.lexists(target):  # killed before the new folder was in place
                with contextlib.suppress(OSError):
                    os.rename(path, target)
                    notes.append(f"put back {target}, left aside by an interrupted ttwriter")
                continue
            kept = remove_own(path)  # killed after: this is the replaced folder
            if kept:
                notes.append(
                    f"kept {path}, a folder an interrupted ttwriter set aside: it holds "
                    f"{listed(kept)}, which ttwriter did not write"
                )
    return notes
