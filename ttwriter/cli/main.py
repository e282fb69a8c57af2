"""The command line's entry point: `ttwriter [generate] PATH ...` and `ttwriter COMMAND ...`.

This module only dispatches, each command to its module (cli.generate, cli.slurm, cli.train),
imported when used so that `--help` stays fast, and turns what a command raises into a message
and an exit code (cli._output: 0 done, 1 some configs failed validation or some runs failed,
2 invalid input, 3 an internal error, 128 + N a stop signal). Nothing here prints a traceback.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import signal
import sys
import threading
import traceback
from collections.abc import Callable, Iterator, Sequence
from typing import TextIO

from ttwriter._version import __version__
from ttwriter.cli._output import EXIT_BAD_INPUT, EXIT_INTERNAL, EXIT_OK
from ttwriter.errors import ConfigWriterError, Interrupted
from ttwriter.folder.layout import PLOT_FILE, RESULTS_FILE, SNAPSHOT_FILE

SUBCOMMANDS: dict[str, tuple[str, str, str]] = {
    "submit": ("ttwriter.cli.slurm", "submit_command", "submit the runs to SLURM as one job array"),
    "status": ("ttwriter.cli.slurm", "status_command", "each run's state: pending, running, done, failed"),
    "tiny-assets": (
        "ttwriter.cli.train",
        "tiny_assets_command",
        "build a tokenizer, weights and data for tiny CPU training",
    ),
    "run": (
        "ttwriter.cli.train",
        "run_command",
        "train the runs of an experiment folder here, one after another (no SLURM)",
    ),
    "results": (
        "ttwriter.cli.train",
        "results_command",
        f"join every run's loss log with its params: table, {RESULTS_FILE}, {PLOT_FILE}",
    ),
    "evaluate": (
        "ttwriter.cli.evaluate",
        "evaluate_command",
        "evaluate runs' checkpoints with the experiment's harness (what each eval job runs)",
    ),
}
"""name -> (module, function, one-line help). Each function takes (argv, out, err) and returns
an exit code; it raises ConfigWriterError for bad input. Modules are imported only when used."""
_SUFFIXES = (".py", ".yaml", ".yml", ".json")

USAGE = f"""\
usage: ttwriter [generate] PATH [OVERRIDES] [--output-dir DIR] [--dry-run] [--no-validate] [--force]

ttwriter {__version__}: turn one experiment into a validated sweep of torchtune configs.

PATH is a Python experiment (<name>_<id>_<parent>.py), an experiment.yaml, or an
experiment.json snapshot written by an earlier run.

options:
  -h, --help         show this message; 'ttwriter PATH --help' lists that experiment's
                     fields, controls and variables as override flags with current values
  --version          print the version
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

evaluation (docs/evaluation.md): an experiment's `evaluation` makes submit and run evaluate
every run after training; `ttwriter evaluate DIR [--runs IDS]` is what each eval job runs

exit codes: 0 ok, 1 some configs failed validation, 2 invalid input (nothing written),
            3 internal error
docs: docs/README.md
"""


def _split_argv(argv: list[str]) -> tuple[str | None, list[str]]:
    """The experiment PATH and the remaining flags, wherever PATH stands."""
    if argv and argv[0] == "generate":
        argv = argv[1:]
    if argv and not argv[0].startswith("-"):
        return argv[0], argv[1:]
    for i, token in enumerate(argv):
        if not token.startswith("-") and token.lower().endswith(_SUFFIXES):
            return token, argv[:i] + argv[i + 1 :]
    return None, argv


def main(argv: Sequence[str] | None = None, *, out: TextIO | None = None, err: TextIO | None = None) -> int:
    """Run the CLI; returns the exit code instead of exiting, so tests can call it directly."""
    out = out or sys.stdout
    err = err or sys.stderr
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help", "help"):
        print(USAGE, file=out if args else err, end="")
        return EXIT_OK if args else EXIT_BAD_INPUT
    if args[0] == "--version":
        print(f"ttwriter {__version__}", file=out)
        return EXIT_OK
    if args[0] in SUBCOMMANDS:
        module_name, function_name, _ = SUBCOMMANDS[args[0]]
        command = getattr(importlib.import_module(module_name), function_name)
        return _guarded(lambda: command(args[1:], out, err), err)
    path, flags = _split_argv(args)
    if path is None:
        print(
            "error: no experiment file given\n  fix: ttwriter PATH, where PATH is a .py experiment, "
            f"an experiment.yaml or an {SNAPSHOT_FILE} (ttwriter --help)",
            file=err,
        )
        return EXIT_BAD_INPUT
    with _signals_interrupt():
        return _guarded(lambda: _generate(path, flags, out, err), err)


def _generate(path: str, flags: list[str], out: TextIO, err: TextIO) -> int:
    return importlib.import_module("ttwriter.cli.generate").generate_command(path, flags, out, err)


_STOP_SIGNALS = tuple(getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name))


def _raise_interrupted(signum: int, frame: object) -> None:
    raise Interrupted(signum)


@contextlib.contextmanager
def _signals_interrupt() -> Iterator[None]:
    """During a generation, SIGTERM and SIGHUP stop it like Ctrl-C does: the half-written folder
    is removed and the exit code is 128 + the signal. Signals a caller set to be ignored (nohup)
    or handles itself are left alone."""
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


def _guarded(command: Callable[[], int], err: TextIO) -> int:
    """Run a command, turning ttwriter's errors into messages and exit codes, never tracebacks."""
    try:
        return command()
    except ConfigWriterError as exc:
        print(f"error: {exc}", file=err)
        return EXIT_BAD_INPUT
    except SystemExit as exc:  # tyro: --help (0) or a flag it could not parse (2)
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
        return 128 + signum
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
