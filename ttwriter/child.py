"""The training or harness process `ttwriter run` and `ttwriter evaluate` start, and how it is
stopped with them.

The child runs in a process group of its own, so a signal meant for ttwriter reaches it only
through ttwriter: Ctrl-C (SIGINT), SIGTERM (scancel, `timeout`, `kill`) or SIGHUP stop ttwriter
with `KeyboardInterrupt` (cli.main's `_signals_interrupt` turns the last two into `Interrupted`),
and `stop` passes the same signal on to the child's whole group (`tune run`, torchrun and its
workers), waits for it to end and says how it ended, so the run's marker and log can record it.
A second interrupt while waiting kills the group (SIGKILL).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any


def start(
    argv: Sequence[str],
    *,
    cwd: Path | str,
    stdout: IO[Any],
    env: dict[str, str] | None = None,
) -> subprocess.Popen[bytes]:
    """Start `argv` in a new process group, stdin closed, stdout and stderr to `stdout`."""
    return subprocess.Popen(
        list(argv),
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=stdout,
        stderr=subprocess.STDOUT,
        process_group=0,
    )


def exit_code(returncode: int) -> int:
    """A child's exit code as a shell gives it: 128 + N for one killed by signal N."""
    return 128 - returncode if returncode < 0 else returncode


def signal_of(interrupt: BaseException) -> int:
    """The signal a `KeyboardInterrupt` stands for: `Interrupted.signum`, else SIGINT (Ctrl-C)."""
    signum = getattr(interrupt, "signum", signal.SIGINT)
    return int(signum)


def _signal_group(process: subprocess.Popen[bytes], signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signum)


def stop(process: subprocess.Popen[bytes], signum: int) -> int:
    """Pass signal `signum` on to the child's process group and wait for it; its exit code, or
    128 + `signum` when it exited 0 anyway (the attempt was still interrupted)."""
    _signal_group(process, signum)
    try:
        code = process.wait()
    except KeyboardInterrupt:  # asked twice: do not wait for a clean stop any more
        _signal_group(process, signal.SIGKILL)
        code = process.wait()
    return exit_code(code) or 128 + signum
