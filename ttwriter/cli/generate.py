"""`ttwriter [generate] PATH`: generating a sweep, and what it prints.

The flags depend on the experiment (cli.overrides builds them); the work is ttwriter.generate.
Each distinct validation problem is printed once with the runs it affects, so a 256-run sweep
stays readable; a progress bar shows on a terminal for sweeps big enough to wait for.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, TextIO

from ttwriter.cli._output import EXIT_OK, EXIT_SOME_FAILED, TABLE_LIMIT, more_rows, relative, runs_label
from ttwriter.cli.overrides import parse_overrides
from ttwriter.errors import Problems
from ttwriter.experiment.loading import read_experiment
from ttwriter.folder.layout import MAPPING_FILE, SNAPSHOT_FILE, VALIDATION_REPORT
from ttwriter.folder.writer import run_command
from ttwriter.formats import counted, params_text
from ttwriter.generate import generate_configs
from ttwriter.sweep.smoke import settings_text

if TYPE_CHECKING:
    from ttwriter.validation.report import ValidationSummary


class _Progress:
    """A one-line progress display on a terminal for sweeps big enough to wait for."""

    def __init__(self, stream: TextIO, minimum: int = 50) -> None:
        self.stream = stream
        self.enabled = stream.isatty()
        self.minimum = minimum

    def __call__(self, stage: str, done: int, total: int) -> None:
        if not self.enabled or total < self.minimum:
            return
        if done == total or done % max(1, total // 100) == 0:
            width = 30
            filled = width * done // total
            self.stream.write(f"\r  {stage:<8} [{'#' * filled}{'.' * (width - filled)}] {done}/{total}")
            if done == total:
                self.stream.write("\n")
            self.stream.flush()


def _print_findings(summary: ValidationSummary, out: TextIO) -> None:
    """Each distinct problem once, with the runs it affects: a 256-run sweep stays readable."""
    groups = summary.grouped()
    for finding, runs in groups[:TABLE_LIMIT]:
        where = f"{finding.key} " if finding.key else ""
        print(
            f"  {finding.severity:<7} {where}({runs_label(runs, summary.n_total)}): {finding.message}",
            file=out,
        )
        if finding.fix:
            print(f"          fix: {finding.fix}", file=out)
    if len(groups) > TABLE_LIMIT:
        print(more_rows(len(groups) - TABLE_LIMIT, VALIDATION_REPORT), file=out)


def generate_command(path: str, flags: list[str], out: TextIO, err: TextIO) -> int:
    """`ttwriter [generate] PATH [overrides] [--dry-run] [--no-validate] [--force] ...`."""
    loaded = read_experiment(path)
    if loaded.problems and any(flag in ("-h", "--help") for flag in flags):
        Problems(loaded.problems).raise_if_any()  # no help for flags of an experiment that is wrong
    prog = f"ttwriter {path}"
    description = (
        f"Generate the sweep of {path}. Every field, control and variable of this experiment is a "
        "flag; defaults are its current values."
    )
    options = parse_overrides(loaded.experiment, flags, prog, description, loaded.locate)
    overrides = options.overrides
    loaded = dataclasses.replace(
        loaded,
        experiment=options.experiment,
        cli_overrides=overrides,
        cli_keys=options.set_keys,
        problems=loaded.problems + options.problems,
    )

    what = {"python": "Python experiment", "yaml": "experiment.yaml", "json": "experiment snapshot"}[
        loaded.kind
    ]
    print(f"Loaded {what} {path}", file=out)
    if loaded.lineage:
        print(f"  lineage: {' -> '.join(loaded.lineage)}", file=out)
    if overrides:
        print(f"  command-line overrides: {' '.join(overrides)}", file=out)

    result = generate_configs(
        loaded,
        validate=options.validate,
        force=options.force,
        dry_run=options.dry_run,
        strict=options.strict,
        smoke=options.smoke,
        progress=_Progress(err),
    )
    print(f"Base config: {result.base_config} (recipe: {result.recipe or 'unknown: set recipe'})", file=out)
    for note in result.notes:
        print(f"note: {note}", file=out)
    for warning in result.warnings:
        print(f"warning: {warning}", file=out)
    n = len(result.runs)
    folder = relative(result.experiment_dir)
    if result.dry_run:
        print(f"Dry run: would write {counted(n)} to {folder}/ (nothing written)", file=out)
    else:
        print(f"Wrote {counted(n)} to {folder}/", file=out)
    if result.smoke:
        print(
            f"Smoke variant: every run cut short ({settings_text()}); marked as smoke in {SNAPSHOT_FILE}",
            file=out,
        )
    shown = result.runs if result.dry_run else result.runs[:TABLE_LIMIT]
    for run in shown:
        print(f"  {run.id}  {params_text(run.params) or '(no variables)'}", file=out)
    if len(shown) < n:
        print(more_rows(n - len(shown), f"{folder}/{MAPPING_FILE}"), file=out)
    if result.dry_run:
        return EXIT_OK
    if result.validation is None:
        print("Validation: skipped (--no-validate); ttwriter submit and run validate it first", file=out)
    else:
        print(
            f"Validation: {result.validation.summary_line()} (details: {folder}/{VALIDATION_REPORT})",
            file=out,
        )
        _print_findings(result.validation, out)
    if result.ok and result.runs:
        print(f"Run one: {run_command(result.recipe, relative(result.runs[0].config_path))}", file=out)
    return EXIT_OK if result.ok else EXIT_SOME_FAILED
