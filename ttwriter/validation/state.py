"""An experiment folder's validation state: written with the reports, read by the gate.

The state is read from the folder, never guessed: validation_report.json says whether the folder
was validated (`"validated": true/false`), how (the recipe, the keys the experiment set,
`--strict`), and for every run whether it passed and the sha256 of the config that was checked.
Anything unreadable counts as never validated (validation.gate then validates the folder).
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ttwriter.folder.layout import VALIDATION_REPORT, VALIDATION_REPORT_JSON
from ttwriter.safe_read import sha256_file
from ttwriter.validation.report import ERROR, one_line

if TYPE_CHECKING:
    from ttwriter.validation.report import ValidationSummary
    from ttwriter.validation.validate import ValidationContext

SKIPPED_TEXT = (
    "# validation skipped (--no-validate)\n"
    f"# ttwriter submit and ttwriter run validate this folder before starting any run ({VALIDATION_REPORT_JSON})\n"
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
    data = {"recipe": context.recipe, "set_keys": sorted(context.set_keys), "strict": context.strict}
    return data | ({"derived": dict(context.derived)} if context.derived else {})


def _context(data: Any) -> ValidationContext | None:
    from ttwriter.validation.validate import ValidationContext

    if not isinstance(data, dict):
        return None
    recipe, keys, strict = data.get("recipe"), data.get("set_keys"), data.get("strict")
    if not (recipe is None or isinstance(recipe, str)) or not isinstance(strict, bool):
        return None
    if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
        return None
    derived = data.get("derived", {})
    if not isinstance(derived, dict) or not all(isinstance(v, str) for v in derived.values()):
        derived = {}  # only the wording of a fix depends on it
    return ValidationContext(recipe=recipe, set_keys=frozenset(keys), strict=strict, derived=derived)


def state_json(
    summary: ValidationSummary | None,
    context: ValidationContext,
    configs: Iterable[tuple[str, Path]],
    by: str,
    hashes: dict[str, str] | None = None,
) -> dict[str, Any]:
    """validation_report.json: the summary's findings with the state (None: skipped). `hashes`:
    the configs' sha256 as they were written (else each file is read)."""
    if summary is None:
        return {"validated": False, "skipped": "--no-validate", "context": _context_json(context)}
    data = summary.as_json()
    known = hashes or {}
    hashes = {run_id: known.get(run_id) or sha256_file(path) for run_id, path in configs}
    for run in data["runs"]:
        run["sha256"] = hashes[run["id"]]
    return {"validated": True, "validated_by": by, "context": _context_json(context), **data}


def write_state(
    folder: Path,
    summary: ValidationSummary | None,
    context: ValidationContext,
    configs: Iterable[tuple[str, Path]],
    by: str,
    hashes: dict[str, str] | None = None,
) -> ValidationState:
    """Write both reports into `folder` (each replaced in one rename) and return the state."""
    data = state_json(summary, context, configs, by, hashes)
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
        if isinstance(finding, dict) and finding.get("severity") == ERROR:
            return one_line(*(str(finding.get(k) or "") for k in ("key", "message", "fix")))
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
