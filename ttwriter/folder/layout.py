"""The experiment folder's layout: every name in it, defined once, and which entries are ttwriter's.

The experiment folder is the contract between generation, the job script, `ttwriter run`,
`status`, `submit` and `results`; this module is the only place that spells the names of its
entries. Two things depend on the list: a copied source file never takes one of these names, and
`--force` replaces a folder only when everything in it is ttwriter's own (folder.ownership).
Completion markers inside status/ are named by folder.markers.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

CONFIGS_DIR = "configs"
"""One complete torchtune config per run: configs/<run id>.yaml."""
RUNS_DIR = "runs"
"""Where each run's output_dir is by default: torchtune writes checkpoints there."""
LOGS_DIR = "logs"
"""One log per run, logs/<run id>.out: SLURM (or `ttwriter run`) appends the run's output."""
STATUS_DIR = "status"
"""Completion markers, one per run (see ttwriter.folder.markers)."""
MAPPING_FILE = "run_mapping.yaml"
"""Run id -> config, output_dir, params; its header records the facts later commands need."""
SNAPSHOT_FILE = "experiment.json"
"""Every field of the experiment and its provenance; it regenerates the folder."""
SCRIPT_FILE = "submit.sbatch"
"""The SLURM job array: task i trains run i."""
EVAL_SCRIPT_FILE = "eval.sbatch"
"""The SLURM job array that evaluates: task i evaluates run i (the task after the last run, the
base model); written only for an experiment with `evaluation`."""
SUBMISSIONS_FILE = "submissions.jsonl"
"""One JSON line per `ttwriter submit`: the job id and the runs it queued."""
VALIDATION_REPORT = "validation_report.txt"
VALIDATION_REPORT_JSON = "validation_report.json"
RESULTS_FILE = "results.csv"
CONDITIONS_FILE = "results_by_condition.csv"
"""Per condition of a sweep with replicates: mean, std and n of final loss and each metric."""
PLOT_FILE = "loss_curves.png"
SCORES_PLOT_FILE = "eval_scores.png"
"""The main evaluation metric against the swept variables, beside loss_curves.png."""
EVAL_DIR = "eval"
"""Evaluation results: `<run output_dir>/eval/epoch_N/` per evaluated checkpoint, and
`<experiment folder>/eval/base_model/` for the base model."""
TRACKING_DIR = "tracking"
"""The trackers' local files (tracking.backend): tracking/mlflow.db (MLflow's default store),
tracking/wandb/ (W&B's run folders, offline-run-* when offline), tracking/tensorboard/<run id>/."""
MLFLOW_DB = "mlflow.db"
BASE_MODEL = "base_model"
"""The id of the base model's evaluation (the untrained control), beside the run ids."""
STAGED_MODEL_DIR = "model"
"""In a checkpoint's results folder: links to the checkpoint's files without torchtune's adapter
files, which the harnesses would otherwise try to load as a PEFT adapter."""
SCORES_FILE = "scores.json"
"""In a checkpoint's results folder: the scores the harness reported, as `ttwriter results` reads them."""
CONFIG_SUFFIX = ".yaml"
LOG_SUFFIX = ".out"
EVAL_LOG_SUFFIX = ".eval.out"

SIGNATURE_FILES = (SNAPSHOT_FILE, MAPPING_FILE)
"""A folder with one of these was written by ttwriter."""
RESULT_DIRS = (RUNS_DIR, LOGS_DIR, STATUS_DIR, EVAL_DIR, TRACKING_DIR)
"""Subfolders where training writes results and run states; a folder with anything in them is
never replaced."""
GENERATED_FILES = (*SIGNATURE_FILES, VALIDATION_REPORT, VALIDATION_REPORT_JSON, SCRIPT_FILE, EVAL_SCRIPT_FILE)
DERIVED_FILES = (RESULTS_FILE, CONDITIONS_FILE, PLOT_FILE, SCORES_PLOT_FILE)
"""Written by `ttwriter results` from the logs, so they can be made again."""
FOLDER_ENTRIES = frozenset({*GENERATED_FILES, CONFIGS_DIR, *RESULT_DIRS, SUBMISSIONS_FILE, *DERIVED_FILES})
"""Every name ttwriter or a later command (submit, run, results, training) writes in the folder."""
OWN_FILES = frozenset({*GENERATED_FILES, *DERIVED_FILES})
"""The files ttwriter may remove from its own folder (it writes them all again)."""


def config_rel(run_id: str) -> str:
    """A run's config as run_mapping.yaml names it, relative to the folder: configs/<run id>.yaml."""
    return f"{CONFIGS_DIR}/{run_id}{CONFIG_SUFFIX}"


def log_name(run_id: str) -> str:
    return f"{run_id}{LOG_SUFFIX}"


def log_path(folder: Path, run_id: str) -> Path:
    """Where a run's job (or `ttwriter run`) logs: logs/<run id>.out."""
    return folder / LOGS_DIR / log_name(run_id)


LOG_PATTERN = f"{LOGS_DIR}/<run id>{LOG_SUFFIX}"
"""How messages and help texts name a run's log."""


def eval_log_path(folder: Path, target: str) -> Path:
    """Where a run's (or the base model's) evaluation logs: logs/<run id>.eval.out."""
    return folder / LOGS_DIR / f"{target}{EVAL_LOG_SUFFIX}"


EVAL_LOG_PATTERN = f"{LOGS_DIR}/<run id>{EVAL_LOG_SUFFIX}"


def epoch_folder(epoch: int) -> str:
    """What torchtune's checkpointers name a saved epoch inside checkpointer.output_dir."""
    return f"epoch_{epoch}"


def checkpoint_results(output_dir: str, epoch: int) -> str:
    """Where a run's checkpoint of `epoch` is evaluated into: <output_dir>/eval/epoch_N."""
    return os.path.join(output_dir, EVAL_DIR, epoch_folder(epoch))


def base_model_results(experiment_dir: Path | str) -> str:
    return os.path.join(experiment_dir, EVAL_DIR, BASE_MODEL)


def copy_names(files: Iterable[Path]) -> dict[str, Path]:
    """The name each source file is copied under: its own, unless an entry of the folder or an
    earlier copy has it (also on a file system that ignores case); then `source_<name>`,
    `source2_<name>`, ... A file given twice is copied once."""
    names: dict[str, Path] = {}
    taken = {name.casefold() for name in FOLDER_ENTRIES}
    copied: set[Path] = set()
    for path in files:
        if path.resolve() in copied:
            continue
        copied.add(path.resolve())
        name, n = path.name, 1
        while name.casefold() in taken:
            n += 1
            name = f"source_{path.name}" if n == 2 else f"source{n - 1}_{path.name}"
        taken.add(name.casefold())
        names[name] = path
    return names


def experiment_folder_of(path: Path) -> Path | None:
    """The experiment folder `path` is, or that holds `path` (its run_mapping.yaml, a config in
    configs/), judged by its signature files; None for anything else. An experiment's loader asks,
    so that a folder or a file of one given as an experiment is named as what it is."""
    for folder in (path, path.parent, path.parent.parent):
        if folder.is_dir() and all((folder / name).is_file() for name in SIGNATURE_FILES):
            return folder
    return None
