"""A run's `metric_logger` node for its experiment's tracker, and the record that finds the run there.

torchtune's `config.instantiate` is not recursive and its loggers reject (or pass on to their
client) arguments they do not know, so a tracked run's node names ttwriter's own `TeeLogger`,
which makes the DiskLogger (ttwriter results reads its log) and the tracker's torchtune logger
itself. The tracker's run is named `<experiment>/<run id>`, grouped by experiment, and carries
the run id as a tag; run_mapping.yaml records that name and where the tracker keeps it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ttwriter.experiment.experiment import Experiment
from ttwriter.experiment.tracking import MLFLOW, TENSORBOARD, WANDB, Tracking
from ttwriter.folder.layout import LOGS_DIR, MLFLOW_DB, TRACKING_DIR

METRIC_LOGGER = "metric_logger"
"""The config key torchtune's recipes instantiate their logger from."""
TEE_LOGGER = "ttwriter.tracking.logger.TeeLogger"
DISK_LOGGER = "torchtune.training.metric_logging.DiskLogger"
LOGGERS = {
    WANDB: "torchtune.training.metric_logging.WandBLogger",
    MLFLOW: "torchtune.training.metric_logging.MLFlowLogger",
    TENSORBOARD: "torchtune.training.metric_logging.TensorBoardLogger",
}
"""The torchtune logger of each backend."""
PACKAGES = {WANDB: "wandb", MLFLOW: "mlflow", TENSORBOARD: "tensorboard"}
"""The package each backend's logger imports when a run starts."""
DISK_ARGS = ("log_dir", "filename")
"""DiskLogger's own arguments: they stay with the loss log, the others go to the tracker."""
TRACKER, RUN = "tracker", "run"
"""The TeeLogger node's tracker logger node, and what it records about the run."""
RECORD_KEYS = ("backend", "name", "project", "group", "dir", "entity", "experiment", "uri")
"""Every key `run_record` writes, for some backend (the folder reader refuses others)."""


def run_name(experiment: str, run_id: str) -> str:
    """The tracker run's name: always holds the run id, so a run is found from either side."""
    return f"{experiment}/{run_id}"


def tracking_dir(experiment_dir: Path | str) -> str:
    return os.path.join(experiment_dir, TRACKING_DIR)


def default_mlflow_uri(experiment_dir: Path | str) -> str:
    """A SQLite store inside the experiment folder: nothing to run, nothing leaves the folder."""
    return "sqlite:///" + os.path.join(tracking_dir(experiment_dir), MLFLOW_DB)  # an absolute path: 4 slashes


def tracker_args(
    tracking: Tracking, experiment: Experiment, experiment_dir: Path | str, run_id: str
) -> dict[str, Any]:
    """The arguments of the backend's torchtune logger for one run."""
    project = tracking.project or experiment.name
    name = run_name(experiment.name, run_id)
    tags = list(dict.fromkeys([*experiment.tags, *tracking.tags, run_id]))
    if tracking.backend == WANDB:
        args: dict[str, Any] = {"project": project, "group": experiment.name, "name": name}
        if tracking.entity:
            args["entity"] = tracking.entity
        return {**args, "tags": tags, "log_dir": os.path.join(tracking_dir(experiment_dir), WANDB)}
    if tracking.backend == MLFLOW:
        uri = tracking.uri or default_mlflow_uri(experiment_dir)
        return {"experiment_name": project, "tracking_uri": uri, "run_name": name}
    assert tracking.backend == TENSORBOARD, tracking.backend
    return {
        "log_dir": os.path.join(tracking_dir(experiment_dir), TENSORBOARD, run_id),
        "organize_logs": False,
    }


def logger_node(
    current: Any,
    experiment: Experiment,
    experiment_dir: Path | str,
    run_id: str,
    params: dict[str, Any],
) -> dict[str, Any]:
    """The run's metric_logger for `experiment.tracking`: a TeeLogger over the config's own loss
    log (`current`, a DiskLogger node) and the tracker's logger. Arguments of `current` that are
    not DiskLogger's own go to the tracker's logger (`metric_logger.mode: offline` for W&B)."""
    tracking = experiment.tracking
    node = dict(current) if isinstance(current, dict) else {}
    disk = (
        {k: node[k] for k in DISK_ARGS if k in node} if node.get("_component_") in (None, DISK_LOGGER) else {}
    )
    disk.setdefault("log_dir", "${output_dir}/" + LOGS_DIR)
    extra = {k: v for k, v in node.items() if k != "_component_" and k not in DISK_ARGS}
    tracker = {
        "_component_": LOGGERS[tracking.backend],
        **tracker_args(tracking, experiment, experiment_dir, run_id),
    }
    tracker.update(extra)
    return {
        "_component_": TEE_LOGGER,
        **disk,
        TRACKER: tracker,
        RUN: {
            "experiment": experiment.name,
            "experiment_dir": str(experiment_dir),
            "run_id": run_id,
            "params": params,
            "tags": list(dict.fromkeys([*experiment.tags, *tracking.tags])),
        },
    }


def run_record(experiment: Experiment, experiment_dir: Path | str, run_id: str) -> dict[str, Any] | None:
    """What run_mapping.yaml says about a run's tracker run: backend, name and where it is."""
    tracking = experiment.tracking
    if not tracking.enabled:
        return None
    args = tracker_args(tracking, experiment, experiment_dir, run_id)
    record: dict[str, Any] = {"backend": tracking.backend, "name": run_name(experiment.name, run_id)}
    if tracking.backend == WANDB:
        record.update(project=args["project"], group=args["group"], dir=args["log_dir"])
        if tracking.entity:
            record["entity"] = tracking.entity
    elif tracking.backend == MLFLOW:
        record.update(experiment=args["experiment_name"], uri=args["tracking_uri"])
    else:
        record["dir"] = args["log_dir"]
    return record
