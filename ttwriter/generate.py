"""Generating a sweep: load -> resolve -> write every run -> validate -> commit the folder.

This is the orchestration behind both the CLI and the Python API. Runs are written as they are
produced, into a temporary folder that becomes the experiment folder only when everything has been
written; nothing per run is kept (the result's run records are remade from the plan when read).
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import os
import re
import shlex
import shutil
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from ttwriter._version import __version__
from ttwriter.errors import ConfigWriterError, ExperimentSchemaError, ValidationError
from ttwriter.experiment.experiment import Experiment
from ttwriter.experiment.load_yaml import experiment_from_yaml_data
from ttwriter.experiment.loading import LoadedExperiment, from_experiment, load_experiment
from ttwriter.experiment.source_map import SourceMap
from ttwriter.folder.atomic import AtomicFolder, check_output_dir, first_free
from ttwriter.folder.layout import (
    CONFIGS_DIR,
    FOLDER_ENTRIES,
    LOGS_DIR,
    MAPPING_FILE,
    SCRIPT_FILE,
    SNAPSHOT_FILE,
    config_rel,
    copy_names,
)
from ttwriter.folder.read import DISTRIBUTED, MAX_PARALLEL, TRAINING_COMMAND
from ttwriter.folder.run_text import RunText
from ttwriter.folder.runs import RunRecord, RunRecords
from ttwriter.folder.snapshot import build_snapshot, dump_snapshot
from ttwriter.formats import params_text
from ttwriter.slurm.script import idle_gpus, sbatch_chunks
from ttwriter.sweep.base_config import BaseConfig, load_base_config
from ttwriter.sweep.plan import Run, SweepPlan, expand_sweep
from ttwriter.sweep.smoke import apply_smoke, recipe_reads, smoke_header, smoke_notes
from ttwriter.validation.state import write_state
from ttwriter.validation.validate import ValidationContext, ValidationSummary, validate_configs
from ttwriter.yaml_io import dump_yaml

Source = str | Path | Mapping[str, Any] | Experiment | LoadedExperiment
Progress = Callable[[str, int, int], None]
"""(stage, done, total): called as runs are written ('write') and validated ('validate')."""

DEFAULT_OUTPUT_DIR = "outputs/{experiment_name}_{timestamp}"
DEFAULT_SMOKE_OUTPUT_DIR = "outputs/{experiment_name}_smoke_{timestamp}"
_OUTPUT_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")


@dataclasses.dataclass(frozen=True)
class GenerationResult:
    """What `generate_configs` produced."""

    experiment_dir: Path
    runs: Sequence[RunRecord]
    """One record per run, in sweep order (a `RunRecords`: made when read, never all in memory)."""
    validation: ValidationSummary | None
    """None when validation was skipped (validate=False or a dry run)."""
    base_config: str
    recipe: str | None
    notes: tuple[str, ...]
    dry_run: bool
    loaded: LoadedExperiment
    smoke: bool = False
    """True for smoke variants (`--smoke`): every run cut short to check the pipeline."""
    warnings: tuple[str, ...] = ()
    """Settings that work but waste something, e.g. GPUs a single-device recipe leaves idle."""

    @property
    def ok(self) -> bool:
        return self.validation is None or self.validation.ok


def _as_loaded(source: Source) -> LoadedExperiment:
    if isinstance(source, LoadedExperiment):
        return source
    if isinstance(source, Experiment):
        return from_experiment(source)
    if isinstance(source, Mapping):
        experiment, source_map = experiment_from_yaml_data(dict(source), SourceMap([]))
        return dataclasses.replace(from_experiment(experiment), source_map=source_map)
    return load_experiment(source)


def resolve_experiment_dir(
    experiment: Experiment, output_dir: str | Path | None, now: dt.datetime, smoke: bool = False
) -> Path:
    """`output_dir` argument > the experiment's output_dir > outputs/<name>[_smoke]_<timestamp>.

    Two sweeps started in the same second must not collide in the default folder: the second gets
    `_2` (decided for good when the folder is claimed, see AtomicFolder).
    """
    path, default = _template_dir(experiment, output_dir, now, smoke)
    return first_free(path)[0] if default else path


def _template_dir(
    experiment: Experiment, output_dir: str | Path | None, now: dt.datetime, smoke: bool
) -> tuple[Path, bool]:
    """The folder the templates give, and whether it is the default one (then numbered if taken)."""
    template = str(output_dir) if output_dir is not None else experiment.output_dir
    default = template is None
    template = template or (DEFAULT_SMOKE_OUTPUT_DIR if smoke else DEFAULT_OUTPUT_DIR)
    if "\0" in template:
        raise ExperimentSchemaError(
            f"output folder {template!r} contains a NUL byte (\\0), which no path can hold",
            key="output_dir",
            fix=f"remove it: {template.replace(chr(0), '')!r}",
        )
    values = {"experiment_name": experiment.name, "timestamp": now.strftime("%Y%m%d_%H%M%S")}
    for name in _OUTPUT_PLACEHOLDER.findall(template):
        if name not in values:
            raise ExperimentSchemaError(
                f"unknown placeholder {{{name}}} in output folder {template!r}",
                key="output_dir",
                fix="the output folder may use {experiment_name} and {timestamp}",
            )
    path = Path(_OUTPUT_PLACEHOLDER.sub(lambda m: values[m.group(1)], template)).expanduser()
    return path.resolve(), default


def run_command(recipe: str | None, config_path: Path | str) -> str:
    """`tune run RECIPE --config CONFIG` as it pastes into a shell: each value one quoted word
    (`<RECIPE>` stands for a recipe that is not known)."""
    return (
        f"tune run {shlex.quote(recipe) if recipe else '<RECIPE>'} --config {shlex.quote(str(config_path))}"
    )


def render_run_config(
    run: Run, plan: SweepPlan, config_path: Path | str, smoke: bool = False, text: RunText | None = None
) -> str:
    """A run's YAML: a short comment header, then the complete config in the base's key order.

    `text`, made once for the plan, gives the same bytes faster by reusing what repeats across runs.
    """
    header = [
        f"Generated by ttwriter {__version__}. Do not edit: change the experiment and regenerate.",
        f"experiment: {plan.experiment.name}",
        f"run: {run.id} ({run.index + 1} of {plan.n_runs})",
        f"params: {params_text(run.params, ', ', text.scalar if text else None) or '(no variables)'}",
        f"base config: {plan.base.name}",
        f"run with: {run_command(plan.base.recipe, config_path)}",
    ]
    if plan.base.recipe is None:
        header.append("(set `recipe` in the experiment so ttwriter knows which recipe runs this)")
    if smoke:
        header.insert(1, smoke_header(run.config))
    body = text.config(run.config) if text else dump_yaml(run.config)
    return "".join(f"# {_one_line(line)}\n" for line in header) + "\n" + body


def _one_line(text: str) -> str:
    """A header line stays one comment line even when a value holds a line break."""
    return text.replace("\r", "\\r").replace("\n", "\\n") if "\n" in text or "\r" in text else text


_WRITE_FLAGS = (
    os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_BINARY", 0) | getattr(os, "O_CLOEXEC", 0)
)


def _write_file(path: str, text: str) -> None:
    """Write UTF-8 text as it is (no newline translation): one open, write and close system call,
    where open() adds a stat, a seek and a terminal check per file."""
    data = memoryview(text.encode("utf-8"))
    fd = os.open(path, _WRITE_FLAGS, 0o666)
    try:
        while data:
            data = data[os.write(fd, data) :]
    except OSError as exc:  # a full disk: say which file
        exc.filename = exc.filename or path
        raise
    finally:
        os.close(fd)


@contextlib.contextmanager
def _naming(path: Path) -> Iterator[None]:
    """An error writing through a file object (a full disk) names the file, as open() errors do."""
    try:
        yield
    except OSError as exc:
        exc.filename = exc.filename or str(path)
        raise


def _mapping_header(plan: SweepPlan) -> str:
    return (
        dump_yaml(
            {
                "experiment": plan.experiment.name,
                "base_config": plan.base.name,
                "recipe": plan.base.recipe,
                DISTRIBUTED: plan.base.distributed,
                TRAINING_COMMAND: plan.experiment.slurm.training_command(plan.base.distributed),
                "experiment_dir": str(plan.experiment_dir),
                "variables": [a.written for a in plan.variables],
                "n_runs": plan.n_runs,
                MAX_PARALLEL: plan.experiment.slurm.max_parallel,
            }
        )
        + "runs:\n"
    )


def _mapping_entry(run: Run, config_rel: str, text: RunText | None = None) -> str:
    if text:
        return text.mapping_entry(run.id, config_rel, run.output_dir, run.params)
    return dump_yaml(
        [{"id": run.id, "config": config_rel, "output_dir": run.output_dir, "params": run.params}]
    )


def _source_names(loaded: LoadedExperiment, base: BaseConfig) -> dict[str, Path]:
    """Files copied into the folder: the experiment file(s) and a custom base config, so the
    folder shows everything the configs were made from (shipped configs are named, not copied)."""
    files = [*loaded.sources]
    if loaded.experiment.base_config_file is not None:
        files.append(base.path)
    return copy_names(files)


def _script_chunks(plan: SweepPlan, records: RunRecords) -> Iterator[str]:
    return sbatch_chunks(
        plan.experiment_dir,
        plan.experiment.name,
        records,
        plan.base.recipe,
        plan.base.distributed,
        plan.experiment.slurm,
    )


def plan_sweep(
    loaded: LoadedExperiment,
    output_dir: str | Path | None = None,
    now: dt.datetime | None = None,
    smoke: bool = False,
) -> SweepPlan:
    """Everything short of writing: base config loaded, keys resolved, types checked."""
    experiment = loaded.experiment
    try:
        base = load_base_config(
            experiment.base_config, experiment.base_config_file, experiment.recipe, loaded.relative_to
        )
    except ValidationError as exc:
        if exc.key and exc.file is None:
            section, _, rest = exc.key.partition(".")
            exc.file, exc.line = loaded.locate(section, tuple(rest.split(".")) if rest else ())
            exc.args = (exc.render(),)
        raise
    if loaded.snapshot is not None:
        loaded.snapshot.check_base(base)
    experiment_dir = resolve_experiment_dir(experiment, output_dir, now or dt.datetime.now(), smoke)
    locate = loaded.locate
    try:
        return expand_sweep(experiment, base, experiment_dir, locate)
    except ConfigWriterError as exc:
        if exc.key and exc.file is None:
            section, _, rest = exc.key.partition(".")
            exc.file, exc.line = locate(section, tuple(rest.split(".")) if rest else ())
            exc.args = (exc.render(),)
        raise


def validation_context(plan: SweepPlan, strict: bool = False) -> ValidationContext:
    """What validation needs from the plan: the recipe and the keys the experiment set."""
    return ValidationContext(
        recipe=plan.base.recipe,
        set_keys=frozenset(a.path[0] for a in (*plan.controls, *plan.variables)),
        strict=strict,
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
    of a few steps, see ttwriter.smoke) and marks the snapshot; a smoke snapshot regenerates smoke.
    """
    loaded = _as_loaded(source)
    smoke = smoke or bool(loaded.snapshot and loaded.snapshot.smoke)
    now = dt.datetime.now()
    plan = plan_sweep(loaded, output_dir, now, smoke=smoke)
    total = plan.n_runs
    sources = _source_names(loaded, plan.base)
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
        return GenerationResult(
            plan.experiment_dir,
            records,
            None,
            plan.base.name,
            plan.base.recipe,
            plan.notes,
            True,
            loaded,
            smoke,
            warnings,
        )

    smoke_missing: set[str] = set()
    smoke_reads = recipe_reads(plan.base.recipe) if smoke else frozenset()
    base_dir, default = _template_dir(loaded.experiment, output_dir, now, smoke)
    folder = AtomicFolder(plan.experiment_dir, force, base_dir if default else None, longest)
    with folder as tmp:
        if folder.final != plan.experiment_dir:  # another sweep took this default folder first
            plan = dataclasses.replace(plan, experiment_dir=folder.final)
        final = plan.experiment_dir
        records = RunRecords(plan, final)
        text = RunText(plan)
        (tmp / CONFIGS_DIR).mkdir()
        with _naming(tmp / MAPPING_FILE), open(tmp / MAPPING_FILE, "w", encoding="utf-8") as mapping:
            mapping.write(_mapping_header(plan))
            # Shared sections are safe here: the loop replaces top-level values only (smoke).
            for run in plan.runs(share_unchanged=True):
                rel = config_rel(run.id)
                if smoke:
                    smoke_missing.update(apply_smoke(run.config, smoke_reads))
                config = render_run_config(run, plan, os.path.join(final, rel), smoke, text)
                _write_file(os.path.join(tmp, rel), config)
                mapping.write(_mapping_entry(run, rel, text))
                if progress:
                    progress("write", run.index + 1, total)
        with _naming(tmp / SCRIPT_FILE), open(tmp / SCRIPT_FILE, "w", encoding="utf-8") as script:
            script.writelines(_script_chunks(plan, records))
        (tmp / LOGS_DIR).mkdir()  # SLURM opens logs/<run id>.out before the script starts
        for name, path in sources.items():
            shutil.copy2(path, tmp / name)
        snapshot = build_snapshot(loaded, plan.base, final, sources, total, smoke)
        _write_file(str(tmp / SNAPSHOT_FILE), dump_snapshot(snapshot))

        summary = None
        context = validation_context(plan, strict)

        def configs() -> Iterator[tuple[str, Path]]:
            return ((r.id, tmp / config_rel(r.id)) for r in records)

        if validate:
            summary = validate_configs(
                configs(),
                context,
                progress=(lambda done: progress("validate", done, total)) if progress else None,
            )
        # The state `ttwriter submit` and `ttwriter run` read: validated or not, and how.
        write_state(tmp, summary, context, configs(), by="generate")

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
    )
