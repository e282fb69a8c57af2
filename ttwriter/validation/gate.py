"""The gate that keeps invalid runs from starting: `ttwriter submit` and `ttwriter run` pass their
runs through `check_runs` first.

A run that failed validation dies on the cluster after its wait in the queue. So runs whose last
validation failed are refused, naming the report; a folder written with `--no-validate`, one from
an older ttwriter (no state), or one whose configs changed since they were checked is validated on
the spot, and its reports are written as generation would have. A key typed into a config by hand
(in neither the base config nor the keys the experiment set) is checked as if the experiment had
set it (validation.base_keys). `--ignore-validation` is the one
override.
"""

from __future__ import annotations

import dataclasses
import os
import shlex
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from ttwriter.errors import ExperimentDirError, InvalidRunsError, TorchtuneValidationError
from ttwriter.folder.layout import CONFIGS_DIR, SNAPSHOT_FILE, VALIDATION_REPORT
from ttwriter.folder.target import regenerate_hint
from ttwriter.formats import counted, listed
from ttwriter.validation.state import ValidationState, read_state, write_state

if TYPE_CHECKING:
    from ttwriter.folder.read import ExperimentFolder
    from ttwriter.validation.report import ValidationSummary
    from ttwriter.validation.validate import ValidationContext

IGNORE_FLAG = "--ignore-validation"
"""The one override of the gate, on both `ttwriter submit` and `ttwriter run`."""


def typed_command(command: str, folder: str | Path, runs: Sequence[str] | None, failed: bool) -> list[str]:
    """The command line that chose these runs (`ttwriter submit DIR --runs ...`), for the fix that
    adds the override to it."""
    return [
        "ttwriter",
        command,
        str(folder),
        *(["--runs", ",".join(runs)] if runs is not None else []),
        *(["--failed"] if failed else []),
    ]


IGNORE_HELP = (
    "start the runs even if they failed validation, and without validating a folder written "
    "with --no-validate (for when you know better)"
)


@dataclasses.dataclass(frozen=True)
class GateResult:
    """What the gate did before runs were started."""

    report: Path
    validated_now: ValidationSummary | None = None
    """The validation just run (the folder was never validated, or its configs changed)."""
    why: str | None = None
    """Why it was validated now, or, with the override, why it was not validated at all."""
    ignored: tuple[str, ...] = ()
    """Runs started although they failed validation (the override)."""
    unvalidated: bool = False
    """The override started runs of a folder that was never validated."""

    def lines(self, report: str) -> list[str]:
        """What the commands print about it; `report` is the report's path as shown to the user."""
        if self.validated_now is not None:
            return [f"Validation: {self.validated_now.summary_line()} (details: {report})"]
        if self.unvalidated:
            return [f"note: {IGNORE_FLAG}: starting runs that were never validated (the folder {self.why})"]
        if self.ignored:
            return [
                f"note: {IGNORE_FLAG}: starting {counted(len(self.ignored))} that failed validation: "
                f"{listed(self.ignored)} (see {report})"
            ]
        return []


def _validate(
    folder: ExperimentFolder, context: ValidationContext, by: str
) -> tuple[ValidationSummary, ValidationState]:
    import yaml

    from ttwriter.validation.validate import validate_configs

    configs = [(r.id, r.config_path) for r in folder.runs if r.config_path.is_file()]
    try:
        summary = validate_configs(configs, context)
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ExperimentDirError(
            f"a run's config cannot be read to validate it: {' '.join(str(exc).split())}",
            file=folder.path,
            fix=f"regenerate the folder from its {SNAPSHOT_FILE} (configs are not meant to be edited)",
        ) from None
    try:
        return summary, write_state(folder.path, summary, context, configs, by)
    except OSError as exc:
        raise ExperimentDirError(
            f"cannot write the validation reports into the folder: {exc.strerror or exc}",
            file=folder.path,
            fix=f"run this where the folder is writable, or pass {IGNORE_FLAG} to start without validation",
        ) from None


def check_runs(
    folder: ExperimentFolder,
    run_ids: Sequence[str],
    *,
    verb: str,
    command: Sequence[str],
    ignore: bool = False,
    announce: Callable[[str], None] | None = None,
) -> GateResult:
    """Refuse runs whose last validation failed, validating the folder first when it never was.

    A run to start whose config file is missing or cannot be read is refused first, override or
    not (`check_configs`).

    `verb` says what would be refused ('submit', 'train'); `command` is the user's command line
    (`ttwriter submit DIR ...`), shown with the override in the fix; `ignore` is the override:
    nothing is checked or validated. `announce` is told before a validation starts (it takes
    seconds). Raises `InvalidRunsError` naming the failed runs among `run_ids` (failed runs not
    being started do not block) and the report.
    """
    check_configs(folder, run_ids, verb)
    report = folder.path / VALIDATION_REPORT
    override = f"{shlex.join(command)} {IGNORE_FLAG}"
    state = read_state(folder.path)
    why: str | None = state.why_not
    if state.validated:
        wanted = set(run_ids)
        stale = state.changed((r.id, r.config_path) for r in folder.runs if r.id in wanted)
        why = f"was validated, but the configs of {listed(stale)} changed since" if stale else None
    if ignore:
        if not state.validated:
            return GateResult(report, why=why, unvalidated=True)
        return GateResult(report, ignored=tuple(r for r in run_ids if _failed(state, r)))
    summary = None
    if why is not None:
        if announce:
            announce(f"Validating {counted(len(folder.runs))} first: the folder {why}")
        from ttwriter.validation.base_keys import base_keys
        from ttwriter.validation.validate import ValidationContext

        context = dataclasses.replace(
            state.context or ValidationContext(recipe=folder.recipe),
            written=base_keys(folder.path, folder.snapshot),
        )
        try:
            summary, state = _validate(folder, context, " ".join(command[:2]))
        except TorchtuneValidationError as exc:
            raise TorchtuneValidationError(
                exc.message,
                fix=f"install torchtune here ('make setup'), or start without validation: {override}",
            ) from None
    failed = [r for r in run_ids if _failed(state, r)]
    if failed:
        first = state.runs[failed[0]].problem
        raise InvalidRunsError(
            f"{len(failed)} of {counted(len(run_ids))} to {verb} failed validation: {listed(failed)}"
            + (f"\n  {failed[0]}: {first}" if first else ""),
            file=report,
            fix="correct the experiment and regenerate the folder (the report lists every problem "
            f"with its fix), or {verb} them anyway: {override}",
        )
    return GateResult(report, validated_now=summary, why=why)


def check_configs(folder: ExperimentFolder, run_ids: Sequence[str], verb: str) -> None:
    """Refuse runs to start whose config file is missing or cannot be read (deleted by hand, a
    partial copy): an `ExperimentDirError` naming each run and its file, before anything starts,
    where the job would only have failed when it ran."""
    wanted = set(run_ids)
    problems = []
    for run in folder.runs:
        if run.id in wanted:
            path = run.config_path
            if not path.is_file():
                problems.append(
                    (run.id, path, "does not exist" if not os.path.lexists(path) else "is not a file")
                )
            elif not os.access(path, os.R_OK):
                problems.append((run.id, path, "cannot be read"))
    if not problems:
        return
    first_id, first_path, first_why = problems[0]
    if len(problems) == 1:
        message = f"the config of {first_id} {first_why}: {_shown(folder, first_path)}"
    else:
        shown = [f"{run_id} ({_shown(folder, path)} {why})" for run_id, path, why in problems]
        more = f", and {len(shown) - 5} more" if len(shown) > 5 else ""
        message = (
            f"{len(problems)} of {counted(len(run_ids))} to {verb} have no readable config: "
            + ", ".join(shown[:5])
            + more
        )
    raise ExperimentDirError(
        message,
        file=first_path if len(problems) == 1 else folder.path / CONFIGS_DIR,
        fix=f"restore {'it' if len(problems) == 1 else 'them'} from a copy of the folder, "
        f"or {regenerate_hint(folder.path)}",
    )


def _shown(folder: ExperimentFolder, path: Path) -> str:
    try:
        return str(path.relative_to(folder.path))
    except ValueError:
        return str(path)


def _failed(state: ValidationState, run_id: str) -> bool:
    run = state.runs.get(run_id)
    return run is not None and not run.ok
