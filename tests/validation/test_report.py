"""The report types: severities written as 'error'/'warning', findings grouped and written once."""

from __future__ import annotations

import json

from ttwriter.validation.interpolation import UNRESOLVED, contains_unresolved
from ttwriter.validation.report import ERROR, WARNING, Finding, RunValidation, Severity, ValidationSummary


def test_a_severity_reads_and_writes_as_its_word():
    finding = Finding("error", "recipe", "epochs", "missing", "add it")

    assert finding.severity is Severity.ERROR
    assert finding == Finding(ERROR, "recipe", "epochs", "missing", "add it")
    assert f"{finding.severity:<7}|" == "error  |"
    assert json.loads(json.dumps(finding.as_dict())) == {
        "severity": "error",
        "check": "recipe",
        "key": "epochs",
        "message": "missing",
        "fix": "add it",
    }


def test_the_component_a_finding_is_about_is_neither_reported_nor_compared():
    named = Finding(WARNING, "component", "model._component_", "cannot be imported", "", component="x.y")
    plain = Finding(WARNING, "component", "model._component_", "cannot be imported", "")

    summary = ValidationSummary((RunValidation("run_000", (named,)), RunValidation("run_001", (plain,))))

    assert "component" not in named.as_dict()
    assert summary.grouped() == [(named, ["run_000", "run_001"])]


def test_a_finding_is_one_line_for_the_gate():
    assert Finding(ERROR, "sweep", "", "identical configs", "check the variables").line == (
        "identical configs (check the variables)"
    )
    assert RunValidation("run_000", (Finding(ERROR, "recipe", "epochs", "missing"),)).problems == (
        "epochs: missing",
    )


def test_an_unresolved_value_is_found_at_any_depth_and_a_look_alike_string_is_not():
    assert contains_unresolved({"a": [1, {"b": UNRESOLVED}]})
    assert not contains_unresolved({"a": "<unresolved>"})
