"""A folder that is no longer where it was written: moved, or copied.

Every path a written folder holds is absolute and names the folder it was written for:
run_mapping.yaml's `experiment_dir` and each run's `output_dir`, submit.sbatch's `--chdir`,
`--output`, `EXPERIMENT_DIR` and `CONFIG=` lines, each config's `output_dir`. A moved folder would
train into the old path, a copied one into the original's runs/. So the folder reader
(folder.read) refuses a folder written for another place for every command that trains,
evaluates or submits, and lets `status` and `results` read it with a warning, its paths inside
the old folder read inside this one.

The comparison is of resolved paths (a symlink to the same folder is the same folder), and of the
folders themselves when both exist (a bind mount is too).
"""

from __future__ import annotations

import dataclasses
import os
import shlex
from pathlib import Path

from ttwriter.errors import ExperimentDirError
from ttwriter.folder.layout import MAPPING_FILE, SCRIPT_FILE


def written_elsewhere(recorded: str | None, folder: Path) -> Path | None:
    """The folder run_mapping.yaml's `experiment_dir` names when that is not `folder` (resolved),
    else None; also None when nothing absolute is recorded (a folder from before it was)."""
    if recorded is None:
        return None
    written = Path(recorded).expanduser()
    if not written.is_absolute():
        return None
    if written.resolve() == folder:
        return None
    try:
        if written.exists() and os.path.samefile(written, folder):
            return None
    except OSError:
        pass
    return written


@dataclasses.dataclass(frozen=True)
class Moved:
    """Where a folder was written for (`old`) and where it is (`new`)."""

    old: Path
    new: Path

    @property
    def copied(self) -> bool:
        """The old folder is still there: this is a copy (or the original was replaced)."""
        return self.old.is_dir()

    def rebase(self, path: str) -> str:
        """A path inside the old folder, as the same path inside this one (for reading only)."""
        old = str(self.old)
        if path == old:
            return str(self.new)
        if path.startswith(old.rstrip(os.sep) + os.sep):
            return os.path.join(self.new, path[len(old.rstrip(os.sep)) + 1 :])
        return path

    def what(self) -> str:
        how = "copied here (the original is still there)" if self.copied else "moved here"
        return (
            f"this folder was written for {self.old} and has been {how}: its configs, "
            f"{SCRIPT_FILE} and {MAPPING_FILE} still name {self.old}"
        )

    def error(self, command: str) -> ExperimentDirError:
        """Why `command` (`run`, `submit`, ...) refuses: its jobs would write into the old folder."""
        return ExperimentDirError(
            f"{self.what()}, so `ttwriter {command}` would write its results there",
            file=self.new,
            fix=self.fix(),
        )

    def warning(self) -> str:
        """What `status` and `results` print before reading the folder where it is now."""
        return (
            f"warning: {self.new}: {self.what()}; reading it here, but its jobs would write into "
            f"{self.old}\n  fix: {self.fix()}"
        )

    def fix(self) -> str:
        from ttwriter.folder.target import regenerate_hint

        back = (
            f"work in the original ({self.old})"
            if self.copied
            else f"move it back (mv {shlex.quote(str(self.new))} {shlex.quote(str(self.old))})"
        )
        return f"{back}, or {regenerate_hint(self.new)}"
