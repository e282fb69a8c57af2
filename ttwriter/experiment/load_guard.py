"""Executing an experiment file once in a forked child first, so no file can end ttwriter itself.

A Python experiment is code, and code can end the process that runs it in ways no `except`
catches: `os._exit()`, a signal it sends itself, a C extension that aborts. Loaded in-process,
such a file makes ttwriter vanish without a word. So on POSIX the load is first tried in a forked
child (it inherits everything already imported, so this costs milliseconds), which reports over a
pipe that it got to the end, whatever the file raised; only then is the file loaded in-process,
where its errors are caught and reported as usual, and the `Experiment` that generation uses
(which may hold callables) is made. A child that dies before reporting is described instead.

The file runs twice: anything it does besides defining `experiment` happens twice (the child's
output is discarded). Where `fork` is missing, or other threads run (forking them is unsafe),
the load is in-process only.
"""

from __future__ import annotations

import json
import os
import shlex
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ttwriter.errors import ExperimentLoadError

_DONE = "done"


def _report(fd: int, message: dict[str, Any]) -> None:
    data = (json.dumps(message) + "\n").encode()
    while data:
        data = data[os.write(fd, data) :]


def _child(action: Callable[[], object], write_fd: int) -> None:
    """In the forked child: run `action`, report, and leave without running any cleanup of the
    parent's (atexit handlers, buffered output, temporary folders)."""
    real_exit = os._exit
    try:
        devnull = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(devnull, fd)
        sys.stdin = sys.stdout = sys.stderr = open(devnull, "r+", closefd=False)  # noqa: SIM115

        def reporting_exit(code: int) -> None:
            frame = sys._getframe(1)
            _report(write_fd, {"exit": code, "file": frame.f_code.co_filename, "line": frame.f_lineno})
            real_exit(code)

        os._exit = reporting_exit  # type: ignore[assignment]
        try:
            action()
        except BaseException:  # noqa: BLE001, S110 - the in-process load reports what it raised
            pass
        _report(write_fd, {_DONE: True})
    finally:
        real_exit(0)


def _describe(status: int) -> str:
    if os.WIFSIGNALED(status):
        number = os.WTERMSIG(status)
        try:
            name = signal.Signals(number).name
        except ValueError:
            name = f"signal {number}"
        return f"the process executing it was killed by {name}"
    return f"it ended the process executing it with exit code {os.waitstatus_to_exitcode(status)}"


def check_in_child(action: Callable[[], object], path: Path) -> None:
    """Run `action` (which executes the experiment file at `path`) in a forked child first;
    raise `ExperimentLoadError` when the child ends before it can say that `action` returned or
    raised. Returns at once where forking is not possible."""
    if not hasattr(os, "fork") or threading.active_count() > 1:
        return
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()  # else the child could inherit, and write, the same pending output
        except (OSError, ValueError):
            pass
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child never returns; what it reports is tested
        os.close(read_fd)
        _child(action, write_fd)
    os.close(write_fd)
    chunks = []
    try:
        while chunk := os.read(read_fd, 65536):
            chunks.append(chunk)
    except BaseException:  # Ctrl-C while the file runs: the child got it too; end it for sure
        os.kill(pid, signal.SIGKILL)
        raise
    finally:
        os.close(read_fd)
        _, status = os.waitpid(pid, 0)
    reports = [json.loads(line) for line in b"".join(chunks).decode().splitlines() if line.strip()]
    if any(r.get(_DONE) for r in reports):
        return
    for report in reports:
        if "exit" in report:
            file = str(report["file"])
            known = not file.startswith("<") and Path(file).is_file()
            raise ExperimentLoadError(
                f"executing the experiment called os._exit({report['exit']}), which ends the "
                "process at once (no error, no cleanup)",
                file=file if known else path,
                line=report["line"] if known else None,
                fix="remove the os._exit() call; to refuse to load, raise an exception with a message",
            )
    raise ExperimentLoadError(
        f"executing the experiment did not finish: {_describe(status)}",
        file=path,
        fix="an experiment file should only define 'experiment'; to see where it stops, run: "
        + shlex.join(["python", str(path)]),
    )
