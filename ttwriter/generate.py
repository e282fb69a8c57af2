"""Generating a sweep: load -> plan -> write every run -> validate -> commit the folder.

This is the pipeline behind both the CLI and the Python API, and only the pipeline: loading is
experiment/, planning sweep/, writing folder/ (writer, atomic, target), validating validation/.
Runs are written as they are produced, into a temporary folder that becomes the experiment folder
only when everything has been written; nothing per run is kept (the result's run records are
remade from the plan when read).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from ttwriter.errors import ConfigWriterError, Problems, locating
from ttwriter.evaluate.check import check_evaluation, check_runs, check_shared
from ttwriter.evaluate.plan import for_smoke, resolve_paths
from ttwriter.experiment.evaluation import Evaluation
from ttwriter.experiment.experiment import Experiment
from ttwriter.experiment.load_yaml import experiment_from_yaml_data
from ttwriter.experiment.loading import LoadedExperiment, from_experiment, read_experiment
from ttwriter.experiment.source_map import SourceMap
from ttwriter.folder import writer
from ttwriter.folder.atomic import AtomicFolder
from ttwriter.folder.layout import FOLDER_ENTRIES, config_rel
from ttwriter.folder.runs import RunRecord, RunRecords
from ttwriter.folder.snapshot import build_snapshot
from ttwriter.folder.target import check_output_dir, resolve_experiment_dir, template_dir
from ttwriter.slurm.eval_script import eval_sbatch_chunks
from ttwriter.slurm.script import idle_gpus, sbatch_chunks
from ttwriter.sweep.base_config import load_base_config
from ttwriter.sweep.plan import SweepPlan, expand_sweep
from ttwriter.sweep.shared import shared_config
from ttwriter.sweep.smoke import smoke_notes
from ttwriter.tracking.check import check_tracking
from ttwriter.validation.report import ValidationSummary
from ttwriter.validation.state import write_state
from ttwriter.validation.validate import ValidationContext, validate_configs

Source = str | Path | Mapping[str, Any] | Experiment | LoadedExperiment
Progress = Callable[[str, int, int], None]
"""(stage, done, total): called as runs are written ('write') and validated ('validate')."""


@dataclasses.dataclass(frozen=True)
class GenerationResult:
    """What `generate_configs` produced."""

    experiment_dir: Path
    runs: Sequence[RunRecord]
    """One record per run, in sweep order (a `RunRecords`: made when read, never all in memory)."""
    validation: ValidationSummary | None
    """None when validation was skipped (validate=False); for a dry run, the configs as they would be written."""
    base_config: str
    recipe: str | None
    notes: tuple[str, ...]
    dry_run: bool
    loaded: LoadedExperiment
    smoke: bool = False
    """True for smoke variants (`--smoke`): every run cut short to check the pipeline."""
    warnings: tuple[str, ...] = ()
    """Settings that work but waste something, e.g. GPUs a single-device recipe leaves idle."""
    count: str = ""
    """How the run count comes about, for sweeps beyond the full grid (`12 runs = (4 grid - 1
    excluded) x 2 draws x 2 replicates`); empty for a plain grid."""

    @property
    def ok(self) -> bool:
        return self.validation is None or self.validation.ok


def _as_loaded(source: Source) -> LoadedExperiment:
    if isinstance(source, LoadedExperiment):
        return source
    if isinstance(source, Experiment):
        return from_experiment(source)
    if isinstance(source, Mapping):
        experiment, source_map, problems = experiment_from_yaml_data(dict(source), SourceMap([]))
        return dataclasses.replace(from_experiment(experiment), source_map=source_map, problems=problems)
    return read_experiment(source)


def _script_chunks(plan: SweepPlan, records: RunRecords) -> Iterator[str]:
    return sbatch_chunks(
        plan.experiment_dir,
        plan.experiment.name,
        records,
        plan.base.recipe,
        plan.base.distributed,
        plan.experiment.slurm,
    )


def _eval_script_chunks(plan: SweepPlan, records: RunRecords) -> Iterator[str]:
    evaluation = plan.experiment.evaluation
    assert evaluation is not None
    return eval_sbatch_chunks(
        plan.experiment_dir, plan.experiment.name, records, plan.experiment.slurm, evaluation.base_model
    )


def plan_sweep(
    loaded: LoadedExperiment,
    output_dir: str | Path | None = None,
    now: dt.datetime | None = None,
    smoke: bool = False,
) -> SweepPlan:
    """Everything short of writing: base config loaded, keys resolved, types checked.

    Every problem is raised at once: those the loader found in the experiment's fields and those
    of its keys, each located where the experiment writes it (or on the command line).
    """
    problems = Problems(loaded.problems)
    experiment = loaded.experiment
    with locating(loaded.locate):
        try:
            base = load_base_config(
                experiment.base_config, experiment.base_config_file, experiment.recipe, loaded.relative_to
            )
        except ConfigWriterError as exc:  # without the base config, no key can be checked
            problems.add(exc)
            problems.raise_if_any()
        with problems.collect():
            if loaded.snapshot is not None:
                loaded.snapshot.check_base(base)
        experiment_dir = Path()
        with problems.collect():
            experiment_dir = resolve_experiment_dir(experiment, output_dir, now or dt.datetime.now(), smoke)
        plan: SweepPlan | None = None
        with problems.collect():
            plan = expand_sweep(experiment, base, experiment_dir, loaded.from_command_line)
        evaluation = _plan_evaluation(loaded, plan or shared_config(experiment, base), smoke, problems)
        for problem in check_tracking(experiment.tracking):
            problems.add(problem)
    problems.raise_if_any()
    assert plan is not None
    if evaluation is not None:
        plan = dataclasses.replace(
            plan, experiment=dataclasses.replace(plan.experiment, evaluation=evaluation)
        )
    return plan


def _plan_evaluation(
    loaded: LoadedExperiment,
    plan: SweepPlan | tuple[dict[str, Any], frozenset[str]],
    smoke: bool,
    problems: Problems,
) -> Evaluation | None:
    """The experiment's evaluation with its paths made absolute (smoke: cut short), and every
    problem that would keep it from starting: the harness, the tasks, and the checkpoints the runs
    save (without a plan, the sweep having problems: those of the config the runs share, when no
    run changes what is checked). None when the experiment has no evaluation."""
    written = loaded.experiment.evaluation
    if written is None:
        return None
    evaluation = resolve_paths(written, loaded.relative_to)
    if smoke:
        evaluation = for_smoke(evaluation)
    for problem in check_evaluation(evaluation, written):
        problems.add(problem)
    found = check_runs(evaluation, plan) if isinstance(plan, SweepPlan) else check_shared(evaluation, *plan)
    for problem in found:
        problems.add(problem)
    return evaluation


def validation_context(plan: SweepPlan, strict: bool = False) -> ValidationContext:
    """What validation needs from the plan: the recipe, the keys the experiment set and how the
    derived top-level keys are computed."""
    return ValidationContext(
        recipe=plan.base.recipe,
        set_keys=frozenset(path[0] for path in (*(a.path for a in plan.controls), *plan.swept_paths)),
        strict=strict,
        derived=plan.derived_expressions(),
    )


def generate_configs(
    source: Source,
    output_dir: str | Path | None = None,
    validate: bool = True,
    *,
    force: bool = False,
    dry_run: bool = False,
    strict: bool = False,
    progress: Progress | None = None,
    smoke: bool = False,
) -> GenerationResult:
    """Generate one torchtune config per run of an experiment, with mapping, snapshot and report.

    `source` is a path (.py, experiment.yaml, experiment.json), an experiment.yaml-shaped dict, or
    an `Experiment`. Raises a `ConfigWriterError` for anything wrong with the experiment, before
    any file is written. Configs that validation rejects do not raise: they are in
    `result.validation` (and `result.ok` is False). `strict` turns warnings about local data
    paths that do not exist into errors. `smoke` writes a short variant of every run (one epoch
    of a few steps, see sweep.smoke) and marks the snapshot; a smoke snapshot regenerates smoke.
    """
    loaded = _as_loaded(source)
    smoke = smoke or bool(loaded.snapshot and loaded.snapshot.smoke)
    now = dt.datetime.now()
    plan = plan_sweep(loaded, output_dir, now, smoke=smoke)
    total = plan.n_runs
    sources = writer.source_names(loaded, plan.base)
    longest = max(
        (config_rel(plan.run_id(total - 1)), *sources, *FOLDER_ENTRIES),
        key=lambda name: len(os.fsencode(name)),
    )

    warnings = idle_gpus(plan.experiment.slurm, plan.base.recipe, plan.base.distributed)
    if dry_run:
        check_output_dir(plan.experiment_dir, force, longest)
        records = RunRecords(plan, plan.experiment_dir)
        for _ in _script_chunks(plan, records):  # what the job script refuses, the dry run does too
            pass
        if plan.experiment.evaluation is not None:
            for _ in _eval_script_chunks(plan, records):
                pass
        # The configs are checked as they would be written, so a dry run finds what a real one would.
        checked = (
            validate_configs(
                ((i, None, c) for i, c in writer.written_configs(plan, smoke)),
                validation_context(plan, strict),
                progress=(lambda done: progress("validate", done, total)) if progress else None,
            )
            if validate
            else None
        )
        return GenerationResult(
            plan.experiment_dir,
            records,
            checked,
            plan.base.name,
            plan.base.recipe,
            plan.notes,
            True,
            loaded,
            smoke,
            warnings,
            _count(plan),
        )

    base_dir, default = template_dir(loaded.experiment, output_dir, now, smoke)
    folder = AtomicFolder(plan.experiment_dir, force, base_dir if default else None, longest)
    with folder as tmp:
        if folder.final != plan.experiment_dir:  # another sweep took this default folder first
            plan = dataclasses.replace(plan, experiment_dir=folder.final)
        final = plan.experiment_dir
        records = RunRecords(plan, final)
        hashes: dict[str, str] = {}
        smoke_missing = writer.write_runs(
            tmp, plan, smoke, (lambda done, n: progress("write", done, n)) if progress else None, hashes
        )
        writer.write_job_script(tmp, _script_chunks(plan, records))
        if plan.experiment.evaluation is not None:
            writer.write_eval_script(tmp, _eval_script_chunks(plan, records))
        writer.copy_sources(tmp, sources)
        # The snapshot records the plan's experiment: its evaluation with the paths made absolute.
        planned = dataclasses.replace(loaded, experiment=plan.recorded_experiment())
        writer.write_snapshot(tmp, build_snapshot(planned, plan.base, final, sources, total, smoke))

        summary = None
        context = validation_context(plan, strict)

        def configs() -> Iterator[tuple[str, Path]]:
            return ((r.id, tmp / config_rel(r.id)) for r in records)

        if validate:
            written = ((i, tmp / config_rel(i), c) for i, c in writer.written_configs(plan, smoke))
            summary = validate_configs(
                written,
                context,
                progress=(lambda done: progress("validate", done, total)) if progress else None,
            )
        # The state `ttwriter submit` and `ttwriter run` read: validated or not, and how.
        write_state(tmp, summary, context, configs(), by="generate", hashes=hashes)

    return GenerationResult(
        final,
        records,
        summary,
        plan.base.name,
        plan.base.recipe,
        plan.notes + smoke_notes(smoke_missing) + tuple(folder.notes),
        False,
        loaded,
        smoke,
        warnings,
        _count(plan),
    )


def _count(plan: SweepPlan) -> str:
    return plan.space.count_text() if plan.space.has_strategies else ""
