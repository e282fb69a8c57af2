"""What each run's evaluation does, worked out when the sweep is generated and recorded in
run_mapping.yaml: the checkpoint folders it evaluates, where the results go, the exact command.

torchtune's recipes save each epoch as `<checkpointer.output_dir>/epoch_N/`; for the HF
checkpointer (the only one whose checkpoints transformers loads) that folder holds the merged
weights, config.json and the tokenizer files. A run's checkpoints come from its own config
(`checkpointer.output_dir`, `epochs`, `device`), so a sweep over epochs or devices is followed
run by run. The base model's evaluation (the control) reads `checkpointer.checkpoint_dir`.

The harness never reads the checkpoint folder itself but `<results>/model/`: links to every
file of it except torchtune's `adapter_*` files (see evaluate.run), so its command names that.
"""

from __future__ import annotations

import dataclasses
import os
import re
import shlex
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ttwriter.errors import ExperimentSchemaError
from ttwriter.evaluate import harness
from ttwriter.experiment.evaluation import INSPECT, TASK_FILE_SEPARATOR, Evaluation
from ttwriter.folder.layout import (
    BASE_MODEL,
    STAGED_MODEL_DIR,
    base_model_results,
    checkpoint_results,
    epoch_folder,
)

HF_CHECKPOINTER = "FullModelHFCheckpointer"
"""The checkpointer whose saved epochs are Hugging Face models (what both harnesses load)."""
SMOKE_LIMIT = 3
"""Samples per task in a smoke variant (`--smoke`): enough to see the harness score something."""

_REF = re.compile(r"\$\{([A-Za-z_][\w]*(?:\.[A-Za-z_][\w]*)*)\}")


@dataclasses.dataclass(frozen=True)
class EvalCheckpoint:
    """One checkpoint to evaluate: the folder, where its results go, the command that does it."""

    epoch: int | None
    """The epoch it was saved after; None for the base model."""
    checkpoint: str
    results: str
    command: tuple[str, ...]
    """The harness command, argv[0] `python` (see evaluate.harness.PYTHON)."""
    cwd: str

    @property
    def model_dir(self) -> str:
        """The folder the harness loads: links to the checkpoint's files, adapter files left out."""
        return os.path.join(self.results, STAGED_MODEL_DIR)

    @property
    def label(self) -> str:
        return epoch_folder(self.epoch) if self.epoch is not None else BASE_MODEL

    def as_data(self) -> dict[str, Any]:
        return {
            "epoch": self.epoch,
            "checkpoint": self.checkpoint,
            "results": self.results,
            "cwd": self.cwd,
            "command": shlex.join(self.command),
        }


@dataclasses.dataclass(frozen=True)
class EvalRecord:
    """The evaluation of one run (or of the base model): its checkpoints, in epoch order."""

    target: str
    """The run id, or `base_model`."""
    checkpoints: tuple[EvalCheckpoint, ...]

    def as_data(self) -> dict[str, Any]:
        return {"checkpoints": [c.as_data() for c in self.checkpoints]}


def for_smoke(evaluation: Evaluation) -> Evaluation:
    """A smoke variant's evaluation: the last (only) epoch, SMOKE_LIMIT samples per task."""
    limit = min(evaluation.limit or SMOKE_LIMIT, SMOKE_LIMIT)
    return dataclasses.replace(evaluation, checkpoints="last", limit=limit)


def resolve_paths(evaluation: Evaluation, relative_to: Path) -> Evaluation:
    """Task files and include_path as absolute paths from the experiment file's folder, as they
    are recorded (experiment.json) and run (from any working folder, on any node)."""

    def absolute(path: str) -> str:
        return str((relative_to / Path(path).expanduser()).resolve())

    tasks = []
    for task in evaluation.tasks:
        file, sep, name = task.rpartition(TASK_FILE_SEPARATOR)
        if evaluation.harness == INSPECT and sep and file.endswith(".py"):
            tasks.append(f"{absolute(file)}{TASK_FILE_SEPARATOR}{name}")
        elif evaluation.harness == INSPECT and task.endswith(".py"):
            tasks.append(absolute(task))
        else:
            tasks.append(task)
    include = absolute(evaluation.include_path) if evaluation.include_path is not None else None
    return dataclasses.replace(evaluation, tasks=tuple(tasks), include_path=include)


def _lookup(config: Mapping[str, Any], dotted: str) -> Any:
    node: Any = config
    for key in dotted.split("."):
        if not isinstance(node, Mapping) or key not in node:
            raise KeyError(dotted)
        node = node[key]
    return node


def resolved(config: Mapping[str, Any], dotted: str) -> Any:
    """A config value with its `${a.b}` references filled in (OmegaConf for anything else)."""
    value = _lookup(config, dotted)
    for _ in range(20):
        if not isinstance(value, str) or "${" not in value:
            return value
        if _REF.sub("", value).count("${"):
            break  # a resolver (${oc.env:...}) or a nested interpolation
        whole = _REF.fullmatch(value)
        try:
            value = (
                _lookup(config, whole.group(1))
                if whole
                else _REF.sub(lambda m: str(_lookup(config, m.group(1))), value)
            )
        except KeyError:
            break
    from omegaconf import OmegaConf

    try:
        return OmegaConf.select(OmegaConf.create(dict(config)), dotted, throw_on_missing=True)
    except Exception as exc:
        raise ExperimentSchemaError(
            f"{dotted} does not resolve ({type(exc).__name__}), so the checkpoints to evaluate are unknown",
            path=("evaluation",),
            fix=f"give {dotted} a value evaluation can read, e.g. a path or ${{output_dir}}",
        ) from None


def _problem(message: str, fix: str, run_id: str | None = None) -> ExperimentSchemaError:
    return ExperimentSchemaError(message, path=("evaluation",), run_id=run_id, fix=fix)


def check_config(
    evaluation: Evaluation, config: Mapping[str, Any], run_id: str | None
) -> list[ExperimentSchemaError]:
    """What in a run's config keeps its checkpoints from being evaluated."""
    problems = []
    component = str((config.get("checkpointer") or {}).get("_component_", ""))
    if component.rsplit(".", 1)[-1] != HF_CHECKPOINTER:
        problems.append(
            _problem(
                f"evaluation loads each saved epoch with transformers, but the checkpointer is "
                f"{component.rsplit('.', 1)[-1] or 'not set'}, which does not save Hugging Face checkpoints",
                "train from a Hugging Face model with controls checkpointer._component_: "
                f"torchtune.training.{HF_CHECKPOINTER} (checkpoint_files: its .safetensors)",
                run_id,
            )
        )
    if config.get("save_adapter_weights_only") is True:
        problems.append(
            _problem(
                "save_adapter_weights_only is true, so the saved epochs hold only the LoRA adapter, "
                "not a model the harness can load",
                "set controls save_adapter_weights_only: false (the merged weights are saved too)",
                run_id,
            )
        )
    epochs = config.get("epochs")
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
        problems.append(
            _problem(
                f"epochs is {epochs!r}, so no epoch is saved to evaluate", "set epochs: 1 or more", run_id
            )
        )
    elif isinstance(evaluation.checkpoints, tuple):
        missing = [e for e in evaluation.checkpoints if e >= epochs]
        if missing:
            problems.append(
                ExperimentSchemaError(
                    f"checkpoints lists epoch {missing[0]}, but the runs train {epochs} epoch"
                    f"{'s' if epochs > 1 else ''} (saved: {', '.join(epoch_folder(e) for e in range(epochs))})",
                    path=("evaluation", "checkpoints"),
                    run_id=run_id,
                    fix=(f"list epochs 0 to {epochs - 1}" if epochs > 1 else "list epoch 0")
                    + ", or checkpoints: last",
                )
            )
    return problems


def _device(evaluation: Evaluation, config: Mapping[str, Any]) -> str:
    """evaluation.device, else the run's `device` (torchtune's `cuda` means the job's first GPU)."""
    if evaluation.device is not None:
        return evaluation.device
    device = config.get("device")
    if not isinstance(device, str) or device == "cuda":
        return "cuda:0"
    return device


def _checkpoint(
    evaluation: Evaluation, epoch: int | None, folder: str, results: str, device: str
) -> EvalCheckpoint:
    staged = os.path.join(results, STAGED_MODEL_DIR)
    command = tuple(harness.command(evaluation, staged, results, device))
    return EvalCheckpoint(epoch, folder, results, command, harness.working_dir(evaluation, results))


def run_record(evaluation: Evaluation, run_id: str, config: Mapping[str, Any], output_dir: str) -> EvalRecord:
    """The evaluation of one run: its saved epochs under checkpointer.output_dir, results under
    the run's output_dir. The config is assumed checked (`check_config`)."""
    saved = str(resolved(config, "checkpointer.output_dir"))
    device = _device(evaluation, config)
    return EvalRecord(
        run_id,
        tuple(
            _checkpoint(
                evaluation,
                epoch,
                os.path.join(saved, epoch_folder(epoch)),
                checkpoint_results(output_dir, epoch),
                device,
            )
            for epoch in evaluation.epochs(int(config["epochs"]))
        ),
    )


def base_record(evaluation: Evaluation, config: Mapping[str, Any], experiment_dir: Path) -> EvalRecord:
    """The base model's evaluation: the model training starts from (checkpointer.checkpoint_dir)."""
    folder = str(resolved(config, "checkpointer.checkpoint_dir"))
    checkpoint = _checkpoint(
        evaluation, None, folder, base_model_results(experiment_dir), _device(evaluation, config)
    )
    return EvalRecord(BASE_MODEL, (checkpoint,))
