"""The error hierarchy, and the words errors are made of: key paths, locations, "did you mean".

The library raises these; only the CLI turns them into messages and exit codes. Every error carries
its coordinates (file, line, key path, run id) and a suggested fix, so the message a researcher sees
says what is wrong, where, and what to do about it. How a key path is written (`dataset[0].packed`)
and how a close spelling is suggested are defined here once, for every message of every layer.

Errors are located when they are made, never patched afterwards: code that knows where an
experiment's keys are written (the experiment.yaml loader, the command line, generation) runs the
work inside `locating(locator)`, and an error raised there with a `path` (the key path in the
experiment) and no file asks that locator for its file and line. Checks that can find several
problems collect them in `Problems` and raise them together: one problem as itself, several as an
`ExperimentProblemsError` listing each with its own location and fix.
"""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import difflib
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import TypeVar

KeyPath = tuple[str, ...]
"""Where a value is in a document, one key per level: `('model', 'lora_rank')`."""

ValuePath = tuple[str | int, ...]
"""Where a value is in an experiment, one key or list index per level: `('controls', 'dataset', 0)`."""

COMMAND_LINE = "command line"
"""The source errors name for a value given on the command line rather than written in a file."""


@dataclasses.dataclass(frozen=True)
class Location:
    """Where a value of the experiment is written."""

    file: str | None
    """A file, or `COMMAND_LINE`."""
    line: int | None = None
    key_prefix: str | None = None
    """The key the experiment's fields are written under in that file, when they are not at its
    top (experiment.json keeps them under `experiment`): messages then show the file's key path."""


Locator = Callable[[ValuePath], "Location | None"]
"""A value's key path in the experiment -> where it is written, or None when that is not known."""

_LOCATOR: contextvars.ContextVar[Locator | None] = contextvars.ContextVar("ttwriter_locator", default=None)


@contextlib.contextmanager
def locating(locator: Locator) -> Iterator[None]:
    """While the block runs, errors raised with a `path` and no file are located by `locator`."""
    token = _LOCATOR.set(locator)
    try:
        yield
    finally:
        _LOCATOR.reset(token)


def active_locator() -> Locator | None:
    """The locator of the innermost `locating` block, if any."""
    return _LOCATOR.get()


def split_path(path: Iterable[str | int]) -> ValuePath:
    """A key path with dotted keys split into their levels: `('controls', 'optimizer.lr')` ->
    `('controls', 'optimizer', 'lr')`, so a key written dotted and one written nested are one path."""
    return tuple(seg for part in path for seg in (part.split(".") if isinstance(part, str) else (part,)))


_Error = TypeVar("_Error", bound="ConfigWriterError")


class ConfigWriterError(Exception):
    """Base class of every error ttwriter raises on purpose."""

    def __init__(
        self,
        message: str,
        *,
        file: str | Path | None = None,
        line: int | None = None,
        key: str | None = None,
        path: Iterable[str | int] | None = None,
        run_id: str | None = None,
        fix: str | None = None,
    ) -> None:
        self.message = message
        self.path = split_path((path,) if isinstance(path, str) else path) if path is not None else None
        """The key path in the experiment the problem is about (None when it is about no key);
        `key` is how messages show it."""
        if key is None and self.path is not None:
            key = key_path(self.path)
        locator = active_locator()
        if file is None and self.path is not None and locator is not None:
            where = locator(self.path)
            if where is not None:
                file, line = where.file, line if line is not None else where.line
                if where.key_prefix and key:
                    key = where.key_prefix + ("" if key.startswith("[") else ".") + key
        self.file = str(file) if file is not None else None
        self.line = line
        self.key = key
        self.run_id = run_id
        self.fix = fix
        super().__init__(self.render())

    def adding(self: _Error, note: str) -> _Error:
        """The same error with `note` after its message: a new error, as errors are not changed
        once they are made."""
        return type(self)(
            self.message + note,
            file=self.file,
            line=self.line,
            key=self.key,
            run_id=self.run_id,
            fix=self.fix,
        )

    def where(self) -> str:
        """`file:line: run_000: key.path` with whatever coordinates are known."""
        parts = []
        if self.file:
            parts.append(f"{self.file}:{self.line}" if self.line else self.file)
        if self.run_id:
            parts.append(self.run_id)
        if self.key:
            parts.append(self.key)
        return ": ".join(parts)

    def render(self) -> str:
        where = self.where()
        text = f"{where}: {self.message}" if where else self.message
        if self.fix:
            text += f"\n  fix: {self.fix}"
        return text

    def __str__(self) -> str:
        return self.render()


class ValidationError(ConfigWriterError):
    """The experiment itself is wrong: found before anything is generated."""


class ExperimentProblemsError(ValidationError):
    """Several problems of one experiment, found in one go; `problems` holds each as its own
    error (with its class, location and fix), in the order they were found."""

    def __init__(self, problems: Sequence[ConfigWriterError]) -> None:
        self.problems = tuple(problems)
        super().__init__(f"the experiment has {len(self.problems)} problems:")

    def render(self) -> str:
        lines = [self.message]
        for problem in self.problems:
            lines += ["  " + line for line in problem.render().splitlines()]
        return "\n".join(lines)


class ExperimentSchemaError(ValidationError):
    """A field of the experiment has the wrong shape, type or value."""


class ExperimentLoadError(ValidationError):
    """An experiment file cannot be read: missing, unparsable, or raising when executed."""


class LineageError(ValidationError):
    """A Python experiment's file name, id or parent does not match the lineage conventions."""


class BaseConfigNotFoundError(ValidationError):
    """`base_config` is not a torchtune config name, or `base_config_file` does not exist."""


class EmptyVariableError(ValidationError):
    """A variable has no values, so the sweep would have no runs."""


class TooManyRunsError(ValidationError):
    """A sweep has more runs than one sweep may have (`ttwriter.sweep.run_limit.MAX_RUNS`),
    refused from its counts before any run is made."""


class UnknownKeyError(ValidationError):
    """A key in controls, variables or delete names nothing in the base config."""


class OutputExistsError(ValidationError):
    """The output folder must not be written: it holds something that must not be replaced, another
    generation is writing it, or it cannot be created there."""


class OutputWriteError(ConfigWriterError):
    """Writing the output folder failed part-way (a full disk, a quota, an I/O error); what was
    written so far has been removed."""


class MergeError(ConfigWriterError):
    """Applying controls or variables to the base config failed."""


class TypeMismatchError(MergeError):
    """A value would change the type of a key in the base config (say, a string for a float)."""


class TorchtuneValidationError(ConfigWriterError):
    """torchtune cannot be imported to validate the configs (configs it rejects are findings in
    the validation report, not exceptions)."""


class ExperimentDirError(ConfigWriterError):
    """A folder is not a readable ttwriter experiment folder, or names a run it does not have."""


class SlurmError(ConfigWriterError):
    """A sweep cannot be submitted or followed on SLURM: no sbatch or squeue, SLURM refused the
    job, or the experiment's recipe is unknown, so its job script has nothing to run."""


class InvalidRunsError(ConfigWriterError):
    """Runs about to be submitted or trained failed their last validation (validation_report.txt
    says why); `--ignore-validation` starts them anyway."""


class Interrupted(KeyboardInterrupt):
    """A command was stopped by a signal (SIGINT, SIGTERM, SIGHUP). `written` is the experiment
    folder when the signal came just after it was complete, else None."""

    def __init__(self, signum: int = 2, written: Path | None = None) -> None:
        super().__init__(signum)
        self.signum = signum
        self.written = written


def each_problem(error: ConfigWriterError) -> tuple[ConfigWriterError, ...]:
    """The problems an error stands for: those of an `ExperimentProblemsError`, else itself."""
    return error.problems if isinstance(error, ExperimentProblemsError) else (error,)


class Problems:
    """The problems found so far in one input, to be raised together once checking is done."""

    def __init__(self, found: Iterable[ConfigWriterError] = ()) -> None:
        self._found: list[ConfigWriterError] = []
        self._seen: set[str] = set()
        for error in found:
            self.add(error)

    def add(self, error: ConfigWriterError) -> None:
        """Record `error` (each problem of an `ExperimentProblemsError`); one said twice counts once."""
        for problem in each_problem(error):
            text = problem.render()
            if text not in self._seen:
                self._seen.add(text)
                self._found.append(problem)

    def collect(self) -> Problems:
        """Run one check: `with problems.collect(): ...` records a `ConfigWriterError` the block
        raises, and checking goes on after the block."""
        return self

    def __enter__(self) -> Problems:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: object) -> bool:
        if isinstance(error, ConfigWriterError):
            self.add(error)
            return True
        return False

    @property
    def found(self) -> tuple[ConfigWriterError, ...]:
        return tuple(self._found)

    def __bool__(self) -> bool:
        return bool(self._found)

    def __len__(self) -> int:
        return len(self._found)

    def error(self) -> ConfigWriterError | None:
        """One error for everything found: the problem itself when there is one, else all of them."""
        if not self._found:
            return None
        return self._found[0] if len(self._found) == 1 else ExperimentProblemsError(self._found)

    def raise_if_any(self) -> None:
        error = self.error()
        if error is not None:
            raise error


def join_key(path: str, key: str | int) -> str:
    """One level down a key path as messages write it: `dataset` + 0 -> `dataset[0]`, + 'packed'
    -> `dataset[0].packed`."""
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else str(key)


def key_path(parts: Iterable[str | int], prefix: str = "") -> str:
    """`('runs', 3, 'params')` -> `runs[3].params`, below `prefix` if given."""
    text = prefix
    for part in parts:
        text = join_key(text, part)
    return text


_PART_SCORE = 0.7
"""How close a candidate that is `word`'s name parts, or has them, counts on difflib's 0..1 scale."""


def _name_parts(text: str) -> list[str]:
    return [part for part in re.split(r"[._-]+", text.lower()) if part]


def _within(inner: str, outer: str) -> bool:
    """Whether `outer` has the name parts of `inner` in order (`inner` of 3 letters or more:
    'lr' would be in too much)."""
    parts, rest = _name_parts(inner), iter(_name_parts(outer))
    return len("".join(parts)) >= 3 and all(part in rest for part in parts)


def _has_parts(word: str, candidate: str) -> bool:
    """Whether one is the other's name parts: 'name' of 'experiment_name' (either way round),
    'base.file' of 'base_config_file'. A dotted word is a key path, whose first key ('model' of
    'model.lora_rnak') says nothing of the key meant."""
    return _within(word, candidate) or ("." not in word and _within(candidate, word))


def close_matches(word: str, candidates: Iterable[str], n: int = 3, cutoff: float = 0.6) -> list[str]:
    """The candidates closest to `word`, best first: similar spellings (difflib's ratio), and
    candidates that have `word` as whole name parts or are its name parts, which count as
    `_PART_SCORE`. Those beat a spelling that is merely similar ('name' means 'experiment_name',
    not 'sample'), not one that is nearly the same ('epoch' means 'epochs', then
    'max_steps_per_epoch'); a `cutoff` above `_PART_SCORE` leaves only near spellings."""
    pool = sorted(set(candidates))
    similar = difflib.get_close_matches(word, pool, n=n, cutoff=cutoff)
    whole = [c for c in pool if c != word and _has_parts(word, c)]
    if not whole:
        return similar
    scores = {c: difflib.SequenceMatcher(None, word, c).ratio() for c in (*similar, *whole)}
    for c in whole:
        scores[c] = max(scores[c], _PART_SCORE)
    kept = [c for c in scores if scores[c] >= max(cutoff, _PART_SCORE)]  # a higher cutoff holds
    return sorted(kept, key=lambda c: (-scores[c], c))[:n]


def suggestion(
    names: Sequence[str], *, show: Callable[[str], str] = repr, capital: bool = False
) -> str | None:
    """`did you mean 'a' or 'b'?` for names already chosen (`Did you ...` with `capital`), or None."""
    if not names:
        return None
    return ("Did" if capital else "did") + " you mean " + " or ".join(show(n) for n in names) + "?"


def did_you_mean(word: str, candidates: Iterable[str], n: int = 3, *, capital: bool = False) -> str | None:
    """A "did you mean ...?" phrase for the closest candidates, or None when nothing is close."""
    return suggestion(close_matches(word, candidates, n), capital=capital)
