"""Reading a written experiment folder back: its runs as run_mapping.yaml lists them, the facts its
header records, and its typed snapshot.

Everything after generation (`run`, `results`, `submit`, `status`) starts here: run ids, array task
indexes, absolute config paths, each run's output_dir and params, the recipe and how the runs are
started. A folder that is not a ttwriter output, or a run id it does not have, is an
`ExperimentDirError` that says what to do; every field is checked before anything runs. A folder
moved or copied since it was written is refused too, unless the command only reads it
(folder.moved).

Facts a later command needs are recorded in run_mapping.yaml's header when the folder is written
(see folder.writer), never re-read from submit.sbatch. A folder written before they were recorded
gets them from what it has: `distributed` from the recipe, the training command from the
snapshot's slurm settings, `max_parallel` likewise.
"""

from __future__ import annotations

import dataclasses
import functools
import re
import shlex
from collections.abc import Iterable
from pathlib import Path

from ttwriter.errors import ConfigWriterError, ExperimentDirError, did_you_mean
from ttwriter.evaluate.plan import EvalCheckpoint, EvalRecord
from ttwriter.experiment.evaluation import Evaluation
from ttwriter.experiment.slurm_config import SlurmConfig
from ttwriter.folder.fields import Fields
from ttwriter.folder.layout import (
    BASE_MODEL,
    CONFIGS_DIR,
    EVAL_SCRIPT_FILE,
    MAPPING_FILE,
    SCRIPT_FILE,
    SNAPSHOT_FILE,
    log_path,
)
from ttwriter.folder.moved import Moved, written_elsewhere
from ttwriter.folder.runs import FolderRun
from ttwriter.folder.snapshot import Snapshot, read_snapshot
from ttwriter.registry import is_distributed
from ttwriter.safe_read import refuse_nul
from ttwriter.tracking.node import RECORD_KEYS
from ttwriter.yaml_io import read_yaml

DISTRIBUTED, TRAINING_COMMAND, MAX_PARALLEL = "distributed", "training_command", "max_parallel"
"""The keys of run_mapping.yaml's header that record how the runs are started (besides `recipe`)."""
EVALUATION, RUN_EVAL = "evaluation", "eval"
CONDITION, REPLICATE = "condition", "replicate"
"""A run_mapping.yaml entry's condition id and replicate index (sweeps with replicates only)."""
"""An experiment with evaluation: the header's `evaluation` (harness, the base model's record) and
each run's `eval` (its checkpoints, results folders and harness commands; see evaluate.plan)."""
EXPERIMENT_DIR = "experiment_dir"
"""The header's absolute folder the files were written for: every path in them names it."""
RUN_TRACKER = "tracker"
"""A run's entry: where its experiment tracker holds it (ttwriter.tracking.node.run_record)."""

MAPPING_KEYS = (
    "experiment", "base_config", "recipe", DISTRIBUTED, TRAINING_COMMAND, EXPERIMENT_DIR,
    "variables", "n_runs", "runs_by", MAX_PARALLEL, EVALUATION, "runs",
)  # fmt: skip
"""Every key of run_mapping.yaml's header any ttwriter version wrote (folder.writer.mapping_header);
another is refused. Only `runs` is required: the others are read with a default, or are newer than
some folders (distributed, training_command, max_parallel, runs_by, evaluation)."""
RUN_KEYS = ("id", "config", "output_dir", "params", CONDITION, REPLICATE, RUN_TRACKER, RUN_EVAL)
"""Every key of a run's entry; id, config, output_dir and params (`{}` without variables) are
written for every run by every version, so they are required."""
EVAL_HEADER_KEYS = ("harness", BASE_MODEL)
EVAL_KEYS = ("checkpoints",)
CHECKPOINT_KEYS = ("epoch", "checkpoint", "results", "cwd", "command")
"""An evaluation record (evaluate.plan.EvalRecord.as_data) and each of its checkpoints."""


@dataclasses.dataclass(frozen=True)
class ExperimentFolder:
    """A written experiment folder: what run_mapping.yaml and experiment.json say about it."""

    path: Path
    experiment: str
    recipe: str | None
    variables: tuple[str, ...]
    runs: tuple[FolderRun, ...]
    snapshot: Snapshot | None
    """experiment.json (checked), or None when the folder has none."""
    recorded: dict[str, object] = dataclasses.field(default_factory=dict)
    """The header facts run_mapping.yaml records (checked); missing in a folder from before them."""

    @property
    def smoke(self) -> bool:
        """Smoke runs (`--smoke`), as experiment.json records."""
        return self.snapshot.smoke if self.snapshot else False

    @functools.cached_property
    def slurm(self) -> SlurmConfig:
        """The experiment's slurm settings in experiment.json (defaults when it has none)."""
        return self.snapshot.slurm_config() if self.snapshot else SlurmConfig()

    @functools.cached_property
    def distributed(self) -> bool:
        """Whether the recipe runs on several devices."""
        recorded = self.recorded.get(DISTRIBUTED)
        return recorded if isinstance(recorded, bool) else is_distributed(self.recipe)

    @functools.cached_property
    def training_command(self) -> str:
        """The command template every run trains with (`{recipe}`, `{config}`, ... to fill in)."""
        recorded = self.recorded.get(TRAINING_COMMAND)
        return recorded if isinstance(recorded, str) else self.slurm.training_command(self.distributed)

    @functools.cached_property
    def max_parallel(self) -> int | None:
        """At most this many runs at once on SLURM; None for no limit."""
        if MAX_PARALLEL in self.recorded:
            recorded = self.recorded[MAX_PARALLEL]
            return recorded if isinstance(recorded, int) else None
        return self.slurm.max_parallel

    base_eval: EvalRecord | None = None
    """The base model's evaluation, when the experiment asks for it."""
    moved: Moved | None = None
    """Where the folder was written for, when it is not here (read with `moved_ok` only): its
    runs' output_dirs and evaluation paths inside that folder are read inside this one."""

    @functools.cached_property
    def evaluation(self) -> Evaluation | None:
        """The experiment's evaluation settings (experiment.json), None when it has none."""
        return self.snapshot.evaluation_config() if self.snapshot else None

    @property
    def evaluates(self) -> bool:
        """Whether the runs are evaluated after training (their eval records are there)."""
        return bool(self.runs) and all(r.evaluation is not None for r in self.runs)

    def eval_record(self, target: str) -> EvalRecord:
        """The evaluation of a run, or of the base model (`base_model`)."""
        if target == BASE_MODEL and self.base_eval is not None:
            return self.base_eval
        (run,) = self.select([target])
        if run.evaluation is None:
            raise ExperimentDirError(
                f"{run.id} has no evaluation: the experiment has no `evaluation` section",
                file=self.path / MAPPING_FILE,
                fix="add evaluation to the experiment and regenerate the folder",
            )
        return run.evaluation

    @property
    def script(self) -> Path:
        return self.path / SCRIPT_FILE

    @property
    def eval_script(self) -> Path:
        return self.path / EVAL_SCRIPT_FILE

    def log(self, run_id: str) -> Path:
        return log_path(self.path, run_id)

    def select(self, run_ids: Iterable[str] | None) -> tuple[FolderRun, ...]:
        """The runs named (in sweep order), or all of them; an unknown id is an error."""
        if run_ids is None:
            return self.runs
        wanted = list(dict.fromkeys(run_ids))
        known = {run.id for run in self.runs}
        for run_id in wanted:
            if run_id not in known:
                hint = did_you_mean(run_id, known)
                raise ExperimentDirError(
                    f"no run {run_id!r} in this experiment" + (f"; {hint}" if hint else ""),
                    file=self.path / MAPPING_FILE,
                    fix=f"run ids go from {self.runs[0].id} to {self.runs[-1].id}"
                    if self.runs
                    else "this experiment has no runs",
                )
        return tuple(run for run in self.runs if run.id in wanted)


def parse_run_ids(text: str | None) -> list[str] | None:
    """`run_001,run_004` -> ['run_001', 'run_004']; None stays None (all runs)."""
    if text is None:
        return None
    return [part.strip() for part in text.split(",") if part.strip()]


def _not_a_folder(path: Path, why: str) -> ExperimentDirError:
    return ExperimentDirError(
        why,
        file=path,
        fix=f"give the folder ttwriter wrote (the one with {MAPPING_FILE} and {CONFIGS_DIR}/), "
        "e.g. outputs/<name>_<timestamp>",
    )


_RUN_ID = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")
"""A run id names files (configs/<id>.yaml, status/<id>.done, logs/<id>.out): one plain name."""


def _runs(mapping: Fields, folder: Path, moved: Moved | None) -> tuple[FolderRun, ...]:
    runs: list[FolderRun] = []
    seen: dict[str, int] = {}
    for index, entry in enumerate(mapping.mappings("runs")):
        entry.only(RUN_KEYS)
        run_id = entry.text("id")
        if not _RUN_ID.fullmatch(run_id):
            raise entry.error(f"is not a run id: {run_id!r}", "id")
        if run_id in seen:
            raise entry.error(
                f"run id {run_id!r} is listed twice (runs[{seen[run_id]}] and runs[{index}])", "id"
            )
        seen[run_id] = index
        config = Path(entry.path_str("config"))
        record = (
            _eval_record(entry.mapping(RUN_EVAL), run_id, moved)
            if entry.data.get(RUN_EVAL) is not None
            else None
        )
        if entry.data.get(RUN_TRACKER) is not None:
            entry.mapping(RUN_TRACKER).only(RECORD_KEYS)
        runs.append(
            FolderRun(
                id=run_id,
                config_path=config if config.is_absolute() else folder / config,
                output_dir=_here(entry.path_str("output_dir"), moved),
                params=dict(entry.mapping("params").data),
                task=index,
                evaluation=record,
                condition=entry.text(CONDITION, default=None),
                replicate=entry.get(REPLICATE, int, default=None),
            )
        )
    return tuple(runs)


def _here(path: str, moved: Moved | None) -> str:
    return moved.rebase(path) if moved else path


def _eval_record(fields: Fields, target: str, moved: Moved | None = None) -> EvalRecord:
    """A run's (or the base model's) evaluation as run_mapping.yaml records it, every field checked."""
    checkpoints = []
    for item in fields.only(EVAL_KEYS).mappings("checkpoints"):
        item.only(CHECKPOINT_KEYS)
        epoch = item.get("epoch", int, None, what="an epoch number, or null for the base model")
        command = item.text("command")
        try:
            argv = tuple(shlex.split(command))
        except ValueError as exc:
            raise item.error(f"is not a command line: {exc}", "command") from None
        if not argv:
            raise item.error("is empty", "command")
        checkpoints.append(
            EvalCheckpoint(
                epoch,
                _here(item.path_str("checkpoint"), moved),
                _here(item.path_str("results"), moved),
                argv,
                _here(item.path_str("cwd"), moved),
            )
        )
    if not checkpoints:
        raise fields.error("lists no checkpoints", "checkpoints")
    return EvalRecord(target, tuple(checkpoints))


def _recorded(mapping: Fields) -> dict[str, object]:
    """The header facts that are there, each checked."""
    found: dict[str, object] = {}
    if DISTRIBUTED in mapping.data:
        found[DISTRIBUTED] = mapping.flag(DISTRIBUTED)
    if TRAINING_COMMAND in mapping.data:
        found[TRAINING_COMMAND] = mapping.text(TRAINING_COMMAND)
    if MAX_PARALLEL in mapping.data:
        limit = mapping.get(MAX_PARALLEL, int, None, what="a whole number >= 1, or null")
        if limit is not None and limit < 1:
            raise mapping.error(f"must be a whole number >= 1, or null, got {limit}", MAX_PARALLEL)
        found[MAX_PARALLEL] = limit
    return found


def read_experiment_folder(
    path: str | Path, command: str = "run", moved_ok: bool = False
) -> ExperimentFolder:
    """Read run_mapping.yaml (and experiment.json, if there) of a written folder, every field
    checked: a damaged file is an `ExperimentDirError` naming it and the key, before anything runs.

    A folder written for another place (moved or copied, see folder.moved) is an
    `ExperimentDirError` saying what `ttwriter COMMAND` would do; with `moved_ok` (commands that
    only read it) it is read where it is, and `moved` says so."""
    refuse_nul(path, ExperimentDirError)
    folder = Path(path).expanduser().resolve()
    if not folder.is_dir():
        raise _not_a_folder(folder, "no such folder")
    mapping_path = folder / MAPPING_FILE
    if not mapping_path.is_file():
        raise _not_a_folder(folder, f"not a ttwriter experiment folder: it has no {MAPPING_FILE}")
    regenerate = f"regenerate the folder: ttwriter {shlex.quote(str(folder / SNAPSHOT_FILE))} --output-dir <new folder>"
    try:
        data, lines = read_yaml(mapping_path)
    except ConfigWriterError as exc:
        raise ExperimentDirError(exc.message, file=mapping_path, line=exc.line, fix=regenerate) from None
    mapping = Fields.document(data, mapping_path, error=ExperimentDirError, fix=regenerate, lines=lines)
    mapping.only(MAPPING_KEYS)
    recorded = mapping.path_str(EXPERIMENT_DIR) if EXPERIMENT_DIR in mapping.data else None
    old = written_elsewhere(recorded, folder)
    moved = Moved(old, folder) if old is not None else None
    if moved is not None and not moved_ok:
        raise moved.error(command)
    runs = _runs(mapping, folder, moved)
    snapshot = None
    if (folder / SNAPSHOT_FILE).exists():
        snapshot = read_snapshot(
            folder / SNAPSHOT_FILE,
            ExperimentDirError,
            fix="restore it from a copy, or regenerate the folder from the experiment file it was made from",
            experiment_keys=True,
        )
    base_eval = None
    if mapping.data.get(EVALUATION) is not None:
        header = mapping.mapping(EVALUATION).only(EVAL_HEADER_KEYS)
        if header.data.get(BASE_MODEL) is not None:
            base_eval = _eval_record(header.mapping(BASE_MODEL), BASE_MODEL, moved)
    return ExperimentFolder(
        path=folder,
        experiment=mapping.text("experiment", default=folder.name),
        recipe=mapping.text("recipe", default=None),
        variables=tuple(mapping.str_list("variables", default=[])),
        runs=runs,
        snapshot=snapshot,
        recorded=_recorded(mapping),
        base_eval=base_eval,
        moved=moved,
    )


def read_job_folder(path: str | Path, command: str = "submit", moved_ok: bool = False) -> ExperimentFolder:
    """A folder whose runs can go to SLURM: written by ttwriter, with runs and its job script
    (`command` and `moved_ok` as for `read_experiment_folder`)."""
    given = Path(path).expanduser()
    if given.is_file():
        fix = f"give the folder ttwriter wrote (the one with {MAPPING_FILE} and {SCRIPT_FILE})"
        if given.suffix.lower() in (".py", ".yaml", ".yml", ".json"):
            fix = f"generate the sweep first (ttwriter {shlex.quote(str(given))}), then give the folder it writes"
        raise ExperimentDirError("this is a file, not an experiment folder", file=given, fix=fix)
    folder = read_experiment_folder(given, command, moved_ok)
    if not folder.runs:
        raise ExperimentDirError(
            f"{MAPPING_FILE} lists no runs",
            file=folder.path / MAPPING_FILE,
            fix=f"regenerate the folder with ttwriter (ttwriter <folder>/{SNAPSHOT_FILE} --force)",
        )
    if not folder.script.is_file():
        raise ExperimentDirError(
            f"this experiment folder has no {SCRIPT_FILE} (written by an older ttwriter?)",
            file=folder.path,
            fix=f"regenerate it: ttwriter {shlex.quote(str(folder.path / SNAPSHOT_FILE))} --output-dir <new folder>",
        )
    return folder
