"""Writing an experiment folder: complete or not there at all, and never over anybody's results.

A generation claims its folder, writes everything into a hidden sibling, and commits at the end:

- claim: a lock beside the folder (folder.claim) makes a second generation into the same
  folder fail at once, and a default folder move on to `<name>_2`;
- commit: the folder is checked again and the temporary folder renamed onto it. What appeared in
  between (a folder someone made, a checkpoint in runs/) is never deleted: the commit is refused;
- `force` replaces only a ttwriter output without results, and removes only what ttwriter writes
  itself, by name (so even a file that appears during the commit survives);
- leftovers of a killed generation are removed by the next one into the same parent folder.

What is checked before any of this (and by a dry run) is folder.target.
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
from ttwriter.folder.ownership import remove_own
from ttwriter.folder.target import (
    busy_error,
    cannot_create,
    check_output_dir,
    check_path,
    existing_problem,
    first_free,
    replace_problem,
)
from ttwriter.formats import listed

_TAKEN = (errno.ENOTEMPTY, errno.EEXIST, errno.ENOTDIR, errno.EISDIR)
_WRITE_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS, errno.EIO}
_DEFERRED = {signal.SIGINT, signal.SIGTERM, *([signal.SIGHUP] if hasattr(signal, "SIGHUP") else [])}


# --- the atomic folder ---------------------------------------------------------------------------


@contextlib.contextmanager
def _signals_deferred() -> Iterator[None]:
    """Ctrl-C or SIGTERM waits until the claim, the commit or the clean-up is done, so none is
    left half-way; the signal is then delivered.

    The signals are caught and raised again afterwards rather than blocked: a mask holds only
    for this thread, and in a process with other threads (torch's, a test runner's) the kernel
    hands a blocked signal to one of them, whose Python handler then runs here mid-commit."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[int] = []
    previous = {}
    for signum in _DEFERRED:
        handler = signal.getsignal(signum)
        if handler is not None and handler != signal.SIG_IGN:
            previous[signum] = signal.signal(signum, lambda got, _frame: caught.append(got))
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        if caught:
            signal.raise_signal(caught[0])


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
                raise cannot_create(self.final, exc.strerror or str(exc)) from None
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
                        raise busy_error(self.final, seen[1])
                    self.final, n = first_free(self.numbered_from, n + 1)
                    check_path(self.final, self.longest_entry)
                continue
            self._lock, self._record = lock, record
            if self.numbered_from is not None and os.path.lexists(self.final):
                self._release()
                self.final, n = first_free(self.numbered_from, n + 1)
                check_path(self.final, self.longest_entry)
                continue
            break
        else:
            raise busy_error(self.final, None)
        problem = existing_problem(self.final, self.force)  # again: now no ttwriter can change it
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
            problem = replace_problem(aside, self.final, while_writing=True)
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
                problem = problem.adding(f" (the old folder is kept at {aside})")
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
