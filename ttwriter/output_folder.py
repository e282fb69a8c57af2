"""Writing an experiment folder atomically: complete, or not there at all.

Everything is written into a hidden sibling folder and renamed into place at the end, so an error
half-way leaves nothing behind. An existing folder is replaced only with `force`, only when it is
a ttwriter output, and never when it holds results of earlier runs.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from types import TracebackType

from ttwriter.errors import OutputExistsError
from ttwriter.folder_entries import MARKERS, RESULT_DIRS, SUBMISSIONS


def check_output_dir(final: Path, force: bool) -> None:
    """Refuse, before any work, a folder that must not be overwritten."""
    if not final.exists():
        return
    if not final.is_dir():
        raise OutputExistsError(
            "output path exists and is not a folder", file=final, fix="choose another --output-dir"
        )
    if not any(final.iterdir()):
        return
    if not force:
        raise OutputExistsError(
            "output folder already exists and is not empty",
            file=final,
            fix="choose another --output-dir, or pass --force to replace an earlier ttwriter output",
        )
    if not any((final / m).exists() for m in MARKERS):
        raise OutputExistsError(
            "--force only replaces folders written by ttwriter, and this one has no experiment.json",
            file=final,
            fix="choose another --output-dir",
        )
    if (final / SUBMISSIONS).exists():
        raise OutputExistsError(
            f"output folder was submitted to SLURM ({SUBMISSIONS}); replacing it would pull the "
            "configs from under its jobs",
            file=final,
            fix="choose another --output-dir",
        )
    for sub in RESULT_DIRS:
        results = final / sub
        if results.is_dir() and any(results.iterdir()):
            raise OutputExistsError(
                f"output folder holds results of earlier runs in {sub}/; replacing it would lose them",
                file=final,
                fix="choose another --output-dir, or move the results away first",
            )


class AtomicFolder:
    """Context manager: yields a temporary folder that becomes `final` on a clean exit."""

    def __init__(self, final: Path, force: bool) -> None:
        self.final = final
        self.force = force
        self.tmp = final.parent / f".{final.name}.ttwriter-tmp-{os.getpid()}"

    def __enter__(self) -> Path:
        check_output_dir(self.final, self.force)
        try:
            self.final.parent.mkdir(parents=True, exist_ok=True)
            if self.tmp.exists():
                shutil.rmtree(self.tmp)
            self.tmp.mkdir()
        except OSError as exc:
            raise OutputExistsError(
                f"cannot create the output folder: {exc.strerror or exc}",
                file=self.final,
                fix="choose an --output-dir in a folder you can write to",
            ) from None
        return self.tmp

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is not None:
            shutil.rmtree(self.tmp, ignore_errors=True)
            return
        old = None
        if self.final.exists():
            old = self.final.parent / f".{self.final.name}.ttwriter-old-{os.getpid()}"
            self.final.rename(old)
        self.tmp.rename(self.final)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
