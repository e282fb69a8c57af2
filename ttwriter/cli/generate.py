"""`ttwriter [generate] PATH`: generating a sweep, and what it prints.

The flags depend on the experiment (cli.overrides builds them); the work is ttwriter.generate.
Each distinct validation problem is printed once with the runs it affects, so a 256-run sweep
stays readable; a progress bar shows on a terminal for sweeps big enough to wait for.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Annotated, Any, TextIO

import tyro

from ttwriter.cli._output import TABLE_LIMIT, more_rows, relative, runs_label
from ttwriter.cli._parser import flags_of, parse
from ttwriter.cli.exit_codes import EXIT_OK, EXIT_SOME_FAILED, exit_codes_text
from ttwriter.cli.overrides import SET_FLAG, field_docs, parse_overrides, switch_fields
from ttwriter.errors import Problems
from ttwriter.experiment.experiment import Experiment
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


PATH_HELP = (
    f"The experiment: a Python experiment (<name>_<id>_<parent>.py), an experiment.yaml, or an "
    f"{SNAPSHOT_FILE} snapshot written by an earlier run."
)


def _generic_options() -> type:
    """The options class of `ttwriter generate` without an experiment: PATH, --output-dir and the
    switches (an experiment's own fields, controls and variables come with it)."""
    fields: list[Any] = [
        (
            "path",
            Annotated[
                tyro.conf.Positional[str],
                tyro.conf.arg(metavar="PATH", help=PATH_HELP, help_behavior_hint=""),
            ],
        ),
        (
            "output_dir",
            Annotated[str | None, tyro.conf.arg(metavar="DIR", help=field_docs()["output_dir"])],
            dataclasses.field(default=None),
        ),
        *switch_fields(),
    ]
    return dataclasses.make_dataclass("GenerateOptions", fields, frozen=True)


def generic_flags() -> dict[str, bool]:
    """The flags every experiment takes (-> whether each takes a value), for "did you mean" before
    there is an experiment; `--controls.*`, `--variables.*` and `--slurm.*` depend on it."""
    flags = flags_of(_generic_options())
    nested = ("controls", "variables", "slurm")
    flags.update(
        {
            f"--{field.name.replace('_', '-')}": True
            for field in dataclasses.fields(Experiment)
            if field.name not in nested
        }
    )
    return {**flags, SET_FLAG: True}


def generate_help(out: TextIO) -> None:
    """`ttwriter generate --help` without a PATH: the flags every experiment has (the experiment's
    own fields, controls and variables are listed by `ttwriter PATH --help`)."""
    description = (
        "Generate an experiment's sweep: one torchtune config per run, the SLURM job script and "
        f"{MAPPING_FILE}, each config validated. Every field, control and variable of the experiment "
        "is a flag too (--name NAME, --controls.KEY VALUE, --variables.KEY VALUE [VALUE ...], "
        "--slurm.FIELD VALUE): 'ttwriter PATH --help' lists them with their current values. "
        f"{SET_FLAG} KEY=VALUE (repeatable) sets a key the experiment does not name yet, e.g. "
        f"{SET_FLAG} epochs=1 (values are read as YAML). 'generate' may be left out: "
        f"ttwriter PATH.\n\n{exit_codes_text('generate')}"
    )
    parse(
        _generic_options(), ["--help"], prog="ttwriter generate", description=description, out=out, config=()
    )


OVERRIDES_SHOWN = 12
"""Values of one flag echoed on the overrides line; the rest are counted (3,000 values made one
line of 15,000 characters)."""


def _shown_overrides(overrides: tuple[str, ...]) -> str:
    """The overrides as typed, each flag's values cut to OVERRIDES_SHOWN and the rest counted."""
    shown: list[str] = []
    values = 0
    for token in overrides:
        if token.startswith("--"):
            values = 0
        elif values >= OVERRIDES_SHOWN:
            values += 1
            if shown[-1].startswith("... "):
                shown[-1] = f"... ({values - OVERRIDES_SHOWN} more)"
            else:
                shown.append(f"... ({values - OVERRIDES_SHOWN} more)")
            continue
        else:
            values += 1
        shown.append(token)
    return " ".join(shown)


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
    options = parse_overrides(loaded.experiment, flags, prog, description, loaded.locate, out)
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
        print(f"  command-line overrides: {_shown_overrides(overrides)}", file=out)

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
    if result.count:
        print(f"  {result.count}", file=out)
    if result.smoke:
        print(
            f"Smoke variant: every run cut short ({settings_text()}); marked as smoke in {SNAPSHOT_FILE}",
            file=out,
        )
    shown = result.runs if result.dry_run else result.runs[:TABLE_LIMIT]
    for run in shown:
        where = f"{run.condition} r{run.replicate}  " if run.condition is not None else ""
        print(f"  {run.id}  {where}{params_text(run.params) or '(no variables)'}", file=out)
    if len(shown) < n:
        print(more_rows(n - len(shown), f"{folder}/{MAPPING_FILE}"), file=out)
    if result.validation is None:
        if not result.dry_run:
            print("Validation: skipped (--no-validate); ttwriter submit and run validate it first", file=out)
    elif result.dry_run:
        print(f"Validation: {result.validation.summary_line()} (nothing written)", file=out)
        _print_findings(result.validation, out)
    else:
        print(
            f"Validation: {result.validation.summary_line()} (details: {folder}/{VALIDATION_REPORT})",
            file=out,
        )
        _print_findings(result.validation, out)
    if result.dry_run:
        return EXIT_OK if result.ok else EXIT_SOME_FAILED
    if result.ok and result.runs:
        print(f"Run one: {run_command(result.recipe, relative(result.runs[0].config_path))}", file=out)
    return EXIT_OK if result.ok else EXIT_SOME_FAILED
