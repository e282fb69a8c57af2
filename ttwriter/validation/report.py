"""What validation found: one `Finding` per problem, collected per run, reported together.

The reports are what a researcher reads (validation_report.txt: every run's findings, then
`N/N configs valid`) and what programs read (validation_report.json, which the submit/run gate
extends with the validation state, see validation.state).
"""

from __future__ import annotations

import dataclasses
import enum
import json
from typing import Any

from ttwriter.formats import counted


class Severity(str, enum.Enum):
    """How bad a finding is; its value is what the reports write."""

    ERROR = "error"
    """The run would fail, or silently do the wrong thing."""
    WARNING = "warning"
    """Worth knowing (a file this machine lacks may be on the cluster), not worth refusing the run."""

    def __str__(self) -> str:
        return self.value

    def __format__(self, spec: str) -> str:
        return format(self.value, spec)


ERROR, WARNING = Severity.ERROR, Severity.WARNING


def one_line(key: str, message: str, fix: str) -> str:
    """A finding as one line: `key: message (fix)`."""
    text = f"{key}: {message}" if key else message
    return f"{text} ({fix})" if fix else text


@dataclasses.dataclass(frozen=True)
class Finding:
    """One problem (or warning) in one run's config."""

    severity: Severity
    """ERROR or WARNING (the strings 'error' and 'warning' are accepted)."""
    check: str
    """Which check found it: torchtune, component, type, interpolation, recipe, sweep, data, ..."""
    key: str
    """Key path in the config, e.g. `dataset[0].packed`."""
    message: str
    fix: str = ""
    component: str = dataclasses.field(default="", compare=False, repr=False)
    """The `_component_` path the finding is about, when that component cannot be had here (so
    torchtune's own report of the same component is not repeated). Not written to the reports."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "severity", Severity(self.severity))

    @property
    def line(self) -> str:
        return one_line(self.key, self.message, self.fix)

    def as_dict(self) -> dict[str, str]:
        """The finding in validation_report.json."""
        return {
            "severity": self.severity.value,
            "check": self.check,
            "key": self.key,
            "message": self.message,
            "fix": self.fix,
        }


@dataclasses.dataclass(frozen=True)
class RunValidation:
    run_id: str
    findings: tuple[Finding, ...]

    @property
    def errors(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity == ERROR)

    @property
    def warnings(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity == WARNING)

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def problems(self) -> tuple[str, ...]:
        """Errors as one line each: `key: message (fix)`."""
        return tuple(f.line for f in self.errors)


@dataclasses.dataclass(frozen=True)
class ValidationSummary:
    results: tuple[RunValidation, ...]

    @property
    def n_valid(self) -> int:
        return sum(r.ok for r in self.results)

    @property
    def n_total(self) -> int:
        return len(self.results)

    @property
    def n_warnings(self) -> int:
        return sum(len(r.warnings) for r in self.results)

    @property
    def ok(self) -> bool:
        return self.n_valid == self.n_total

    def summary_line(self) -> str:
        return f"{self.n_valid}/{self.n_total} configs valid"

    def grouped(self) -> list[tuple[Finding, list[str]]]:
        """Each distinct finding once, with the runs it occurs in (errors first)."""
        groups: dict[Finding, list[str]] = {}
        for result in self.results:
            for finding in result.findings:
                groups.setdefault(finding, []).append(result.run_id)
        return sorted(groups.items(), key=lambda item: item[0].severity != ERROR)

    def report(self) -> str:
        """The text of validation_report.txt: each run's findings, then the summary line."""
        lines = [
            "# ttwriter validation: torchtune's `tune validate` checks plus deeper ones",
            "# (components at any depth, types, interpolations, recipe keys, data paths, across runs)",
            "",
        ]
        for result in self.results:
            status = "OK" if result.ok else "FAILED"
            extra = f" ({counted(len(result.warnings), 'warning')})" if result.warnings else ""
            lines.append(f"{result.run_id}: {status}{extra}")
            for finding in result.errors + result.warnings:
                lines.append(f"    {finding.severity:<7} [{finding.check}] {finding.key}: {finding.message}")
                if finding.fix:
                    lines.append(f"            fix: {finding.fix}")
        lines += ["", counted(self.n_warnings, "warning"), self.summary_line()]
        return "\n".join(lines) + "\n"

    def as_json(self) -> dict[str, Any]:
        """The content of validation_report.json, for scripts."""
        return {
            "summary": {
                "runs": self.n_total,
                "valid": self.n_valid,
                "errors": sum(len(r.errors) for r in self.results),
                "warnings": self.n_warnings,
            },
            "runs": [
                {"id": r.run_id, "ok": r.ok, "findings": [f.as_dict() for f in r.findings]}
                for r in self.results
            ],
        }

    def report_json(self) -> str:
        return json.dumps(self.as_json(), indent=2) + "\n"
