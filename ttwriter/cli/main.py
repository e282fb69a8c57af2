"""The command line's entry point: `ttwriter [generate] PATH ...` and `ttwriter COMMAND DIR ...`.

This module only dispatches, each command to its module (cli.generate, cli.slurm, cli.train,
cli.lineage), imported when used so that `--help` stays fast, and turns what a command raises
into a message and an exit code (cli.exit_codes). Every command parses its arguments with cli._parser, so
`--help` works at every level and a misspelled command or option gets "did you mean". Nothing
here prints a traceback, and everything is printed to the streams `main` is given.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import shlex
import signal
import sys
import threading
import traceback
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TextIO

from ttwriter._version import __version__
from ttwriter.cli._arguments import ArgumentError, HelpShown, unknown_flags
from ttwriter.cli.exit_codes import EXIT_BAD_INPUT, EXIT_INTERNAL, EXIT_OK, exit_codes_table, interrupted
from ttwriter.errors import ConfigWriterError, Interrupted, close_matches, suggestion
from ttwriter.folder.layout import PLOT_FILE, RESULTS_FILE, SNAPSHOT_FILE

GENERATE = "generate"
GENERATE_HELP = "write the sweep: one torchtune config per run and the job script; validate it"
SUBCOMMANDS: dict[str, tuple[str, str, str]] = {
    "submit": ("ttwriter.cli.slurm", "submit_command", "submit the runs to SLURM as one job array"),
    "status": ("ttwriter.cli.slurm", "status_command", "each run's state: pending, running, done, failed"),
    "run": (
        "ttwriter.cli.train",
        "run_command",
        "train the runs here, one after another (no SLURM)",
    ),
    "results": (
        "ttwriter.cli.train",
        "results_command",
        f"join every run's loss log with its params: table, {RESULTS_FILE}, {PLOT_FILE}",
    ),
    "evaluate": (
        "ttwriter.cli.evaluate",
        "evaluate_command",
        "evaluate runs' checkpoints with the experiment's harness (what an eval job runs)",
    ),
    "tiny-assets": (
        "ttwriter.cli.train",
        "tiny_assets_command",
        "build a tokenizer, weights and data for tiny CPU training",
    ),
    "tree": (
        "ttwriter.cli.lineage",
        "tree_command",
        "a family of Python experiments as a tree: runs and changes per file",
    ),
    "diff": ("ttwriter.cli.lineage", "diff_command", "what an experiment changes against its parent"),
    "new": ("ttwriter.cli.lineage", "new_command", "write the next experiment of a family (--name NAME)"),
}
"""name -> (module, function, one-line help). Each function takes (argv, out, err) and returns
an exit code; it raises ConfigWriterError for bad input. Modules are imported only when used."""
ARGUMENTS = {"tree": "PATH", "diff": "FILE [OTHER]", "new": "PARENT", GENERATE: "PATH"}
"""What a command takes, in the command list, where it is not an experiment folder (DIR)."""
_SUFFIXES = (".py", ".yaml", ".yml", ".json")
_VERSION_FLAGS = ("-V", "--version")
_HELP_FLAGS = ("-h", "--help")
_NEEDS_EXPERIMENT = ("--controls.", "--variables.", "--slurm.", "--evaluation.")
"""Flags whose names only an experiment knows: never "unknown" before there is one."""


def _commands() -> str:
    rows = [(f"{GENERATE} PATH", GENERATE_HELP), ("", "(the default command: 'ttwriter PATH' is the same)")]
    for name, (_, _, summary) in SUBCOMMANDS.items():
        rows.append((f"{name} {ARGUMENTS.get(name, 'DIR')}", summary))
    return "\n".join(f"  {left:<17} {right}".rstrip() for left, right in rows)


USAGE = f"""\
usage: ttwriter [generate] PATH [OVERRIDES] [--output-dir DIR] [--dry-run] [--no-validate] [--force]
       ttwriter COMMAND DIR|FILE [OPTIONS]

ttwriter {__version__}: turn one experiment into a validated sweep of torchtune configs.

PATH is a Python experiment (<name>_<id>_<parent>.py), an experiment.yaml, or an
{SNAPSHOT_FILE} snapshot written by an earlier run. DIR is the experiment folder it writes.

commands:
{_commands()}

options:
  -h, --help         show this message; 'ttwriter COMMAND --help' shows a command's options, and
                     'ttwriter PATH --help' lists that experiment's fields, controls and
                     variables as override flags with current values
  -V, --version      print the version

generate options (ttwriter generate --help):
  --output-dir DIR   experiment folder (default: outputs/<name>_<YYYYmmdd_HHMMSS>)
  --dry-run          print the run table, write nothing
  --no-validate      skip torchtune validation (torch is then never imported; submit and
                     run validate the folder before they start anything)
  --force            replace an earlier ttwriter output folder (never one with run results)
  --strict           local data paths that do not exist are errors, not warnings
  --smoke            a short variant of every run (1 epoch, 3 steps) to test the pipeline

overrides, e.g.:
  ttwriter experiments/sft/llama_1b/lora_rank_02_01.py --controls.learning-rate 1e-4 \\
      --variables.lora-rank 4 8 --name quick
  ttwriter experiments/sft/llama_1b/lora_rank_02_01.py --set epochs=1 --set optimizer.weight_decay=0.1
  (--set KEY=VALUE reaches keys the experiment does not name yet; values are read as YAML)

on SLURM (docs/slurm.md):
  ttwriter submit DIR [--runs run_000,run_003 | --failed] [--dry-run] [--ignore-validation] [--no-eval]
  ttwriter status DIR

here, without SLURM, and the results (docs/training.md):
  ttwriter run DIR [--runs run_000,run_003 | --failed] [--dry-run] [--ignore-validation]
                   [--no-eval | --eval-only]
  ttwriter results DIR [--no-plot]
  ttwriter tiny-assets DIR      (assets for the tiny CPU family experiments/tiny/cpu/)

evaluation (docs/evaluation.md): with an experiment's `evaluation`, submit and run evaluate every
run after its training; `ttwriter evaluate DIR [--runs IDS]` is what each eval job runs

the lineage of a family of Python experiments (docs/lineage.md):
  ttwriter tree PATH [--json]              each file under its parent: runs, what it changes
  ttwriter diff FILE [OTHER] [--configs]   FILE against its parent (or OTHER), by resolved key
  ttwriter new PARENT --name NAME          NAME_<next id>_<parent id>.py, deriving from PARENT

choosing runs, the same for submit and run:
  --runs run_000,run_003   only these runs (or --runs repeated); a run that is done trains again
  --failed                 only the runs that did not complete: neither done nor still queued
  (with neither, every run: refused once a run is done or queued)

exit codes:
{chr(10).join(exit_codes_table())}
docs: docs/README.md
"""


def main(argv: Sequence[str] | None = None, *, out: TextIO | None = None, err: TextIO | None = None) -> int:
    """Run the CLI; returns the exit code instead of exiting, so tests can call it directly."""
    out = out or sys.stdout
    err = err or sys.stderr
    args = list(sys.argv[1:] if argv is None else argv)
    return _guarded(lambda: _dispatch(args, out, err), out, err)


def _dispatch(args: list[str], out: TextIO, err: TextIO) -> int:
    if not args:  # the usage, then what is missing, in the shape of every other error
        print(USAGE, file=err)
        raise _no_path()
    first, rest = args[0], args[1:]
    if first in _HELP_FLAGS or (first == "help" and not rest):
        print(USAGE, file=out, end="")
        return EXIT_OK
    if first == "help":  # `ttwriter help submit` is `ttwriter submit --help`
        return _dispatch([rest[0], "--help"], out, err)
    if first in _VERSION_FLAGS:
        if rest:
            raise ArgumentError(
                f"{first} takes nothing after it, got {shlex.join(rest)}", fix=f"ttwriter {first}"
            )
        print(f"ttwriter {__version__}", file=out)
        return EXIT_OK
    if first in SUBCOMMANDS:
        module_name, function_name, _ = SUBCOMMANDS[first]
        command = getattr(importlib.import_module(module_name), function_name)
        if first not in _STOPPED_LIKE_CTRL_C:
            return command(rest, out, err)
        with _signals_interrupt():
            return command(rest, out, err)
    if first == GENERATE:
        return _generate(rest, out, err)
    _check_command(first, rest)
    return _generate(args, out, err)


def _no_path() -> ArgumentError:
    return ArgumentError(
        "no experiment file given",
        fix="ttwriter PATH, where PATH is a .py experiment, "
        f"an experiment.yaml or an {SNAPSHOT_FILE} (ttwriter --help)",
    )


def _check_command(word: str, rest: list[str]) -> None:
    """A first word that is neither a command nor a file: a misspelled command, most likely."""
    if word.startswith("-") or "/" in word or "." in word or Path(word).exists():
        return
    commands = [GENERATE, *SUBCOMMANDS]
    close = close_matches(word, commands, n=1)
    if close:
        raise ArgumentError(
            f"ttwriter has no command {word!r}; {suggestion(close)}",
            fix=shlex.join(["ttwriter", close[0], *rest]),
        )
    raise ArgumentError(
        f"{word!r} is neither a command nor an experiment file",
        fix=f"the commands are {', '.join(commands)}; an experiment is a .py file, an experiment.yaml or "
        f"an {SNAPSHOT_FILE} (ttwriter --help)",
    )


def _split_argv(argv: list[str]) -> tuple[str | None, list[str]]:
    """The experiment PATH and the remaining flags, wherever PATH stands."""
    if argv and not argv[0].startswith("-"):
        return argv[0], argv[1:]
    for i, token in enumerate(argv):
        if not token.startswith("-") and token.lower().endswith(_SUFFIXES):
            return token, argv[:i] + argv[i + 1 :]
    return None, argv


def _generate(args: list[str], out: TextIO, err: TextIO) -> int:
    generate = importlib.import_module("ttwriter.cli.generate")
    path, flags = _split_argv(args)
    if path is None:
        if any(flag in _HELP_FLAGS for flag in flags):
            generate.generate_help(out)
        known = {flag: False for flag in (*_HELP_FLAGS, *_VERSION_FLAGS)} | generate.generic_flags()
        checked = [flag for flag in flags if not flag.startswith(_NEEDS_EXPERIMENT)]
        misspelled = unknown_flags(checked, known, "ttwriter", checked)
        if misspelled is not None and "did you mean" in misspelled.message:
            raise misspelled
        raise _no_path()
    with _signals_interrupt():
        return generate.generate_command(path, flags, out, err)


_STOPPED_LIKE_CTRL_C = ("run", "evaluate")
"""Commands that record how a run ended, so SIGTERM (scancel, a timeout) and SIGHUP must reach them
as Ctrl-C does: the run is marked failed and an `interrupted by SIGTERM:` line says so."""
_STOP_SIGNALS = tuple(getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name))


def _raise_interrupted(signum: int, frame: object) -> None:
    raise Interrupted(signum)


@contextlib.contextmanager
def _signals_interrupt() -> Iterator[None]:
    """During a generation, `run` or `evaluate`, SIGTERM and SIGHUP stop it like Ctrl-C does (a
    generation's half-written folder is removed; the run being trained or evaluated is marked
    failed) and the exit code is 128 + the signal. Signals a caller set to be ignored (nohup) or
    handles itself are left alone."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {}
    for signum in _STOP_SIGNALS:
        if signal.getsignal(signum) == signal.SIG_DFL:
            previous[signum] = signal.signal(signum, _raise_interrupted)
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _guarded(command: Callable[[], int], out: TextIO, err: TextIO) -> int:
    """Run a command, turning ttwriter's errors into messages and exit codes, never tracebacks."""
    try:
        return command()
    except HelpShown:
        return EXIT_OK
    except ConfigWriterError as exc:
        print(f"error: {exc}", file=err)
        return EXIT_BAD_INPUT
    except SystemExit as exc:  # tyro's own flags (shell completion) exit after printing
        return exc.code if isinstance(exc.code, int) else EXIT_BAD_INPUT
    except BrokenPipeError:  # output piped into `head`: not an error of the experiment
        return EXIT_OK
    except KeyboardInterrupt as exc:
        signum = getattr(exc, "signum", signal.SIGINT)
        by = "" if signum == signal.SIGINT else f" by {signal.Signals(signum).name}"
        written = getattr(exc, "written", None)
        if written is not None:
            print(f"interrupted{by} just after the folder was complete: {written}/ is written", file=err)
        else:
            print(f"interrupted{by}; nothing was written", file=err)
        return interrupted(signum)
    except Exception as exc:  # a bug in ttwriter: say so briefly; the traceback on request
        if os.environ.get("TTWRITER_DEBUG"):
            traceback.print_exc(file=err)
        print(
            f"internal error: {type(exc).__name__}: {exc}\n  this is a bug in ttwriter; rerun with "
            "TTWRITER_DEBUG=1 for the traceback and report it",
            file=err,
        )
        return EXIT_INTERNAL


def console_main() -> None:
    """Entry point of the `ttwriter` console script."""
    sys.exit(main())
