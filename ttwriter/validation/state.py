"""An experiment folder's validation state, and the gate that keeps invalid runs from starting.

A run that failed validation dies on the cluster after its wait in the queue, so `ttwriter submit`
and `ttwriter run` both pass their runs through `check_runs` first. The state is read from the
folder, never guessed: validation_report.json says whether the folder was validated
(`"validated": true/false`), how (the recipe, the keys the experiment set, `--strict`), and for
every run whether it passed and the sha256 of the config that was checked. A folder written with
`--no-validate`, one from an older ttwriter (no state), or one whose configs changed since they
were checked is validated on the spot, and its reports are written as generation would have.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shlex
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ttwriter.errors import ExperimentDirError, InvalidRunsError, TorchtuneValidationError
from ttwriter.folder.layout import SNAPSHOT_FILE, VALIDATION_REPORT, VALIDATION_REPORT_JSON
from ttwriter.formats import counted, listed
from ttwriter.safe_read import sha256_file

if TYPE_CHECKING:
    from ttwriter.folder.read import ExperimentFolder
    from ttwriter.validation.validate import ValidationContext, ValidationSummary

IGNORE_FLAG = "--ignore-validation"
"""The one override of the gate, on both `ttwriter submit` and `ttwriter run`."""
SKIPPED_TEXT = (
    "# validation skipped (--no-validate)\n"
    f"# ttwriter submit and ttwriter run validate this folder before starting any run ({VALIDATION_REPORT_JSON})\n"
)
IGNORE_HELP = (
    "start the runs even if they failed validation, and without validating a folder written "
    "with --no-validate (for when you know better)"
)


@dataclasses.dataclass(frozen=True)
class RunState:
    """One run as its last validation left it."""

    ok: bool
    sha256: str
    """Of the config file that was validated; a different file now means the result is stale."""
    problem: str | None
    """The run's first error as one line (`key: message (fix)`), None when it passed."""


@dataclasses.dataclass(frozen=True)
class ValidationState:
    """What validation_report.json says about a folder."""

    validated: bool
    why_not: str
    """When not validated, why, as the end of 'the folder ...': 'was written with --no-validate'."""
    context: ValidationContext | None
    """How the folder was (or is to be) validated; None when the folder does not say."""
    runs: Mapping[str, RunState]
    """Every validated run by id; empty when not validated."""

    def changed(self, configs: Iterable[tuple[str, Path]]) -> list[str]:
        """Run ids whose config is not the file that was validated (missing files are left to
        the runner, which fails that run with stage 'config')."""
        stale = []
        for run_id, path in configs:
            if not path.is_file():
                continue
            recorded = self.runs.get(run_id)
            if recorded is None or recorded.sha256 != sha256_file(path):
                stale.append(run_id)
        return stale


def _context_json(context: ValidationContext) -> dict[str, Any]:
    return {"recipe": context.recipe, "set_keys": sorted(context.set_keys), "strict": context.strict}


def _context(data: Any) -> ValidationContext | None:
    from ttwriter.validation.validate import ValidationContext

    if not isinstance(data, dict):
        return None
    recipe, keys, strict = data.get("recipe"), data.get("set_keys"), data.get("strict")
    if not (recipe is None or isinstance(recipe, str)) or not isinstance(strict, bool):
        return None
    if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
        return None
    return ValidationContext(recipe=recipe, set_keys=frozenset(keys), strict=strict)


def state_json(
    summary: ValidationSummary | None,
    context: ValidationContext,
    configs: Iterable[tuple[str, Path]],
    by: str,
) -> dict[str, Any]:
    """validation_report.json: the summary's findings with the state (None: skipped)."""
    if summary is None:
        return {"validated": False, "skipped": "--no-validate", "context": _context_json(context)}
    data = summary.as_json()
    hashes = {run_id: sha256_file(path) for run_id, path in configs}
    for run in data["runs"]:
        run["sha256"] = hashes[run["id"]]
    return {"validated": True, "validated_by": by, "context": _context_json(context), **data}


def write_state(
    folder: Path,
    summary: ValidationSummary | None,
    context: ValidationContext,
    configs: Iterable[tuple[str, Path]],
    by: str,
) -> ValidationState:
    """Write both reports into `folder` (each replaced in one rename) and return the state."""
    data = state_json(summary, context, configs, by)
    texts = {
        VALIDATION_REPORT: summary.report() if summary is not None else SKIPPED_TEXT,
        VALIDATION_REPORT_JSON: json.dumps(data, indent=2) + "\n",
    }
    for name, text in texts.items():  # the text first: the JSON is the state, written last
        tmp = folder / f".{name}.{os.getpid()}"
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(folder / name)
    return _parse(data)


def _never(why_not: str, context: ValidationContext | None = None) -> ValidationState:
    return ValidationState(False, why_not, context, {})


def _parse(data: Any) -> ValidationState:
    older = "records no validation state (written by an older ttwriter)"
    if not isinstance(data, dict) or not isinstance(data.get("validated"), bool):
        return _never(older)
    context = _context(data.get("context"))
    if not data["validated"]:
        skipped = data.get("skipped")
        return _never(f"was written with {skipped}" if isinstance(skipped, str) else older, context)
    runs: dict[str, RunState] = {}
    entries = data.get("runs")
    for entry in entries if isinstance(entries, list) else [None]:
        if not isinstance(entry, dict):
            return _never(f"has a {VALIDATION_REPORT_JSON} without its runs", context)
        run_id, ok, sha, findings = (entry.get(k) for k in ("id", "ok", "sha256", "findings"))
        if not (isinstance(run_id, str) and isinstance(ok, bool) and isinstance(sha, str)):
            return _never(f"has a {VALIDATION_REPORT_JSON} whose runs are not readable", context)
        runs[run_id] = RunState(ok, sha, None if ok else _first_error(findings))
    return ValidationState(True, "", context, runs)


def _first_error(findings: Any) -> str | None:
    for finding in findings if isinstance(findings, list) else []:
        if isinstance(finding, dict) and finding.get("severity") == "error":
            key, message, fix = (str(finding.get(k) or "") for k in ("key", "message", "fix"))
            text = f"{key}: {message}" if key else message
            return f"{text} ({fix})" if fix else text
    return None


def read_state(folder: Path) -> ValidationState:
    """The folder's validation state; anything unreadable counts as never validated."""
    try:
        text = (folder / VALIDATION_REPORT_JSON).read_text(encoding="utf-8")
    except FileNotFoundError:
        return _never(f"has no {VALIDATION_REPORT_JSON} (written by an older ttwriter)")
    except (OSError, UnicodeDecodeError):
        return _never(f"has a {VALIDATION_REPORT_JSON} that cannot be read")
    try:
        return _parse(json.loads(text))
    except (ValueError, RecursionError):
        return _never(f"has a {VALIDATION_REPORT_JSON} that is not JSON")


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

    `verb` says what would be refused ('submit', 'train'); `command` is the user's command line
    (`ttwriter submit DIR ...`), shown with the override in the fix; `ignore` is the override:
    nothing is checked or validated. `announce` is told before a validation starts (it takes
    seconds). Raises `InvalidRunsError` naming the failed runs among `run_ids` (failed runs not
    being started do not block) and the report.
    """
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
        from ttwriter.validation.validate import ValidationContext

        context = state.context or ValidationContext(recipe=folder.recipe)
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


def _failed(state: ValidationState, run_id: str) -> bool:
    run = state.runs.get(run_id)
    return run is not None and not run.ok
