"""Writing an experiment folder: complete or not there at all, and never over anybody's results.

A generation claims its folder, writes everything into a hidden sibling, and commits at the end:

- claim: a lock beside the folder (ttwriter.folder_claim) makes a second generation into the same
  folder fail at once, and a default folder move on to `<name>_2`;
- commit: the folder is checked again and the temporary folder renamed onto it. What appeared in
  between (a folder someone made, a checkpoint in runs/) is never deleted: the commit is refused;
- `force` replaces only a ttwriter output without results, and removes only what ttwriter writes
  itself, by name (so even a file that appears during the commit survives);
- leftovers of a killed generation are removed by the next one into the same parent folder.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import signal
import threading
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType

from ttwriter.errors import Interrupted, OutputExistsError, OutputWriteError
from ttwriter.folder import claim as claim
from ttwriter.folder.layout import (
    RESULT_DIRS,
    SIGNATURE_FILES,
    SNAPSHOT_FILE,
    SUBMISSIONS_FILE,
)
from ttwriter.folder.ownership import foreign_entries, remove_own
from ttwriter.formats import listed

_TAKEN = (errno.ENOTEMPTY, errno.EEXIST, errno.ENOTDIR, errno.EISDIR)
_WRITE_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS, errno.EIO}
_DEFERRED = {signal.SIGINT, signal.SIGTERM, *([signal.SIGHUP] if hasattr(signal, "SIGHUP") else [])}


def first_free(base: Path, start: int = 1) -> tuple[Path, int]:
    """`base`, else `base_2`, `base_3`, ...: the first that does not exist and is not being written."""
    n = start
    while True:
        candidate = base if n == 1 else base.with_name(f"{base.name}_{n}")
        if not os.path.lexists(candidate) and not claim.is_claimed(candidate):
            return candidate, n
        n += 1


# --- checks made before anything is written (the dry run makes exactly these) --------------------


def check_output_dir(final: Path, force: bool, longest_entry: str = "") -> None:
    """Refuse, before any work, a folder that cannot or must not be written; `longest_entry` is
    the longest path the generation will write inside it. Writes nothing."""
    try:
        _check_path(final, longest_entry)
        seen = claim.read_lock(claim.lock_path(final))
        if seen is not None and not claim.is_stale(claim.lock_path(final), seen[1]):
            raise _busy(final, seen[1])
        problem = _existing_problem(final, force)
    except OSError as exc:  # a folder on the way that cannot be read
        raise _cannot_create(final, exc.strerror or str(exc)) from None
    if problem is not None:
        raise problem


def _cannot_create(
    final: Path, reason: str, fix: str = "choose an --output-dir in a folder you can write to"
) -> OutputExistsError:
    return OutputExistsError(f"cannot create the output folder: {reason}", file=final, fix=fix)


def _check_path(final: Path, longest_entry: str) -> None:
    """Names and lengths the file system allows, and a folder to create it in that can be written."""
    ancestor = final
    while not os.path.lexists(ancestor) and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    if ancestor != final and not ancestor.is_dir():
        raise _cannot_create(final, f"{ancestor} is a file, not a folder")
    limit = claim.name_max(ancestor)
    for part in final.relative_to(ancestor).parts:
        if len(os.fsencode(part)) > limit:
            raise _cannot_create(
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
        raise _cannot_create(
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
            raise _cannot_create(
                final,
                f"{writable} {reason}",
                f"write into a folder inside it: --output-dir {final / 'sweep'}",
            )
        raise _cannot_create(final, f"{writable} {reason}")


def _busy(final: Path, owner: claim.Owner | None) -> OutputExistsError:
    who = f" ({owner.describe()})" if owner else ""
    return OutputExistsError(
        f"another ttwriter{who} is writing this output folder",
        file=final,
        fix="wait until it has finished, or choose another --output-dir; if no ttwriter runs there, "
        f"delete {claim.lock_path(final)}",
    )


def _existing_problem(final: Path, force: bool) -> OutputExistsError | None:
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
    return _replace_problem(final, final)


def _replace_problem(folder: Path, final: Path, while_writing: bool = False) -> OutputExistsError | None:
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


# --- the atomic folder ---------------------------------------------------------------------------


@contextlib.contextmanager
def _signals_deferred() -> Iterator[None]:
    """Ctrl-C or SIGTERM waits until the claim, the commit or the clean-up is done, so none is
    left half-way; the signal is then delivered."""
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "pthread_sigmask"):
        yield
        return
    old = signal.pthread_sigmask(signal.SIG_BLOCK, _DEFERRED)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def _is_write_error(exc: BaseException, tmp: Path | None) -> bool:
    if not isinstance(exc, OSError):
        return False
    name = exc.filename if isinstance(exc.filename, str) else None
    return exc.errno in _WRITE_ERRNOS or bool(tmp and name and name.startswith(str(tmp)))


def _write_error(exc: OSError, final: Path, tmp: Path | None) -> OutputWriteError:
    name = str(exc.filename) if exc.filename is not None else None
    if name and tmp and name.startswith(str(tmp)):
        name = str(final) + name[len(str(tmp)) :]
    where = f"{name}: " if name else ""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
        fix = f"free space on the disk of {final.parent} (or raise your quota), or choose an --output-dir on another disk"
    elif exc.errno == errno.ENAMETOOLONG:
        fix = "choose a shorter --output-dir"
    elif exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        fix = "choose an --output-dir in a folder you can write to"
    else:
        fix = "check the disk, then generate again"
    return OutputWriteError(
        f"writing the output folder failed ({where}{exc.strerror or exc}); nothing was left behind",
        file=final,
        fix=fix,
    )


def _appeared(final: Path) -> OutputExistsError:
    try:
        found = sorted(os.listdir(final))
    except OSError:
        found = []
    what = f" ({listed(found)})" if found else ""
    return OutputExistsError(
        f"while ttwriter was writing, something else wrote into the output folder{what}; it was left "
        "as it is and the new configs were discarded",
        file=final,
        fix="choose another --output-dir (or find out what else writes there) and generate again",
    )


class AtomicFolder:
    """Context manager: yields a temporary folder that becomes `final` on a clean exit.

    With `numbered_from` (a default folder), the folder is the first free of `numbered_from`,
    `numbered_from_2`, ... at the time of the claim: read `final` after entering. `notes` says
    what the caller should hear (leftovers of killed generations that were kept or put back).
    """

    def __init__(
        self, final: Path, force: bool, numbered_from: Path | None = None, longest_entry: str = ""
    ) -> None:
        self.final = final
        self.force = force
        self.numbered_from = numbered_from
        self.longest_entry = longest_entry
        self.tmp: Path | None = None
        self.notes: list[str] = []
        self.committed = False
        self._lock: Path | None = None
        self._record = b""
        self._identity: tuple[int, int] | None = None
        self._created: list[Path] = []

    def __enter__(self) -> Path:
        try:
            with _signals_deferred():
                self._claim()
        except BaseException as exc:
            self._abandon()
            if isinstance(exc, OSError):
                raise _cannot_create(self.final, exc.strerror or str(exc)) from None
            raise
        assert self.tmp is not None
        return self.tmp

    def _claim(self) -> None:
        n = 1
        if self.numbered_from is not None:
            self.final, n = first_free(self.numbered_from)
        check_output_dir(self.final, self.force, self.longest_entry)
        self._make_parents(self.final.parent)
        self.notes += claim.clean_leftovers(self.final.parent)
        for _ in range(1000):
            lock = claim.lock_path(self.final)
            try:
                record = claim.acquire(lock)
            except FileNotFoundError:  # a failing generation removed the parent it had made
                self._make_parents(self.final.parent)
                continue
            if record is None:
                seen = claim.read_lock(lock)
                if seen is not None and claim.is_stale(lock, seen[1]):
                    claim.remove_stale(lock, seen[0])
                elif seen is not None:
                    if self.numbered_from is None:
                        raise _busy(self.final, seen[1])
                    self.final, n = first_free(self.numbered_from, n + 1)
                    _check_path(self.final, self.longest_entry)
                continue
            self._lock, self._record = lock, record
            if self.numbered_from is not None and os.path.lexists(self.final):
                self._release()
                self.final, n = first_free(self.numbered_from, n + 1)
                _check_path(self.final, self.longest_entry)
                continue
            break
        else:
            raise _busy(self.final, None)
        problem = _existing_problem(self.final, self.force)  # again: now no ttwriter can change it
        if problem is not None:
            raise problem
        if self.final.is_dir() and any(self.final.iterdir()):
            stat = self.final.stat()
            self._identity = (stat.st_dev, stat.st_ino)
        for _ in range(100):
            tmp = claim.sidecar(self.final, "tmp")
            with contextlib.suppress(FileExistsError):
                os.mkdir(tmp)
                self.tmp = tmp
                return

    def _make_parents(self, folder: Path) -> None:
        missing = []
        while not os.path.lexists(folder) and folder != folder.parent:
            missing.append(folder)
            folder = folder.parent
        for path in reversed(missing):
            try:
                os.mkdir(path)
                self._created.append(path)
            except FileExistsError:
                pass

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None:
            try:
                with _signals_deferred():
                    try:
                        self._commit()
                    except BaseException:
                        self._abandon()
                        raise
            except KeyboardInterrupt as interrupt:
                if self.committed:  # the signal came during the commit, which has finished
                    raise Interrupted(getattr(interrupt, "signum", signal.SIGINT), self.final) from None
                raise
            except OSError as error:
                raise _write_error(error, self.final, self.tmp) from None
            return
        with _signals_deferred():
            self._abandon()
        if exc is not None and _is_write_error(exc, self.tmp):
            assert isinstance(exc, OSError)
            raise _write_error(exc, self.final, self.tmp) from None

    def _commit(self) -> None:
        assert self._lock is not None and self.tmp is not None
        if not claim.holds(self._lock, self._record):
            raise OutputExistsError(
                "another ttwriter took this output folder over while this one was writing; nothing "
                "was replaced",
                file=self.final,
                fix="wait until the other generation has finished, then check the folder",
            )
        if self._identity is None:
            self._place()
        else:
            self._replace()
        self._release()

    def _place(self) -> None:
        assert self.tmp is not None
        try:
            os.rename(self.tmp, self.final)
        except OSError as exc:
            if exc.errno in _TAKEN:
                raise _appeared(self.final) from None
            raise
        self.committed = True

    def _replace(self) -> None:
        """Move the old folder aside, check it again, put the new one in, then remove from the old
        one only what ttwriter wrote: results that appear at any moment are never lost."""
        assert self.tmp is not None
        aside = claim.sidecar(self.final, "old")
        try:
            os.rename(self.final, aside)
        except FileNotFoundError:  # it went away meanwhile: nothing to replace
            self._place()
            return
        try:
            stat = os.stat(aside)
            identity: tuple[int, int] | None = (stat.st_dev, stat.st_ino)
        except OSError:
            identity = None
        problem: OutputExistsError | OutputWriteError | None
        if identity != self._identity:
            problem = OutputExistsError(
                "while ttwriter was writing, the output folder was replaced by another one; it was "
                "left as it is and the new configs were discarded",
                file=self.final,
                fix="find out what else writes there, then generate again",
            )
        else:
            problem = _replace_problem(aside, self.final, while_writing=True)
        if problem is None:
            try:
                os.rename(self.tmp, self.final)
                self.committed = True
            except OSError as exc:
                problem = (
                    _appeared(self.final) if exc.errno in _TAKEN else _write_error(exc, self.final, None)
                )
        if problem is not None:
            try:
                os.rename(aside, self.final)
            except OSError:
                problem.message += f" (the old folder is kept at {aside})"
                problem.args = (problem.render(),)
            raise problem
        kept = remove_own(aside)
        if kept:
            self.notes.append(
                f"kept {aside}: while the folder was replaced, {listed(kept)} appeared in the "
                "old one, and ttwriter removes only its own files"
            )

    def _release(self) -> None:
        if self._lock is not None:
            claim.release(self._lock, self._record)
            self._lock = None

    def _abandon(self) -> None:
        """Undo everything the claim made: the temporary folder, the lock, the new parents."""
        if self.tmp is not None and not self.committed:
            shutil.rmtree(self.tmp, ignore_errors=True)
        self._release()
        for folder in reversed(self._created):
            try:
                os.rmdir(folder)
            except OSError:
                break
