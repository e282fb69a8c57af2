"""How every run of a sweep is evaluated after training: the harness, its tasks, which checkpoints.

A frozen dataclass like `SlurmConfig`, set in Python (`evaluation=Evaluation(...)`), in
experiment.yaml (an `evaluation:` section) or on the command line (`--evaluation.tasks ...`).
Values are checked here for their shape (every problem at once, a misspelled setting among them:
experiment.schema); whether the harness is installed and each task exists is checked when the sweep
is generated (ttwriter.evaluate.check), because that depends on the machine and on the experiment
file's folder, which relative task paths start from.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

from ttwriter.errors import ExperimentSchemaError, Problems, did_you_mean
from ttwriter.experiment.frozen import FrozenDict
from ttwriter.experiment.schema import CONTROL_CHARACTERS, ConfigClass, choice_setting, text_setting

INSPECT, LM_EVAL = "inspect", "lm_eval"
HARNESSES = (INSPECT, LM_EVAL)
"""`inspect` is inspect-ai (cruijff_kit's harness); `lm_eval` is EleutherAI's lm-evaluation-harness."""
LAST, ALL = "last", "all"
"""`checkpoints`: the last saved epoch, or every one."""
TASK_FILE_SEPARATOR = "@"
"""inspect: `file.py@task` names the @task function `task` of file.py."""
RESERVED_MODEL_ARGS = {INSPECT: ("model_path", "device"), LM_EVAL: ("pretrained", "device")}
"""Model arguments ttwriter sets itself (the checkpoint, the device field)."""

_ARG_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")


def _error(message: str, field: str, fix: str) -> ExperimentSchemaError:
    return ExperimentSchemaError(message, path=(*Evaluation.SECTION, *field.split(".")), fix=fix)


def _text(value: Any, field: str, example: str) -> str:
    return text_setting(value, field, f"e.g. {field}: {example}", _error)


def _texts(value: Any, field: str, example: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = (value,)
    if not isinstance(value, (list, tuple)):
        raise _error(f"{field} must be a list of strings, got {value!r}", field, f"e.g. {field}: [{example}]")
    return tuple(_text(v, field, example) for v in value)


def _count(value: Any, field: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise _error(f"{field} must be a whole number >= 1, got {value!r}", field, f"e.g. {field}: 10")
    return value


@dataclasses.dataclass(frozen=True)
class Evaluation(ConfigClass):
    """How every run's checkpoints are evaluated after training (docs/evaluation.md)."""

    SECTION: ClassVar[tuple[str, ...]] = ("evaluation",)

    harness: str = INSPECT
    """`inspect` (inspect-ai) or `lm_eval` (lm-evaluation-harness); both come with `pip install ttwriter[eval]`."""

    tasks: tuple[str, ...] = ()
    """What to evaluate. inspect: `file.py@task` (relative to the experiment file) or an installed `package/task`; lm_eval: task names."""

    include_path: str | None = None
    """lm_eval: a folder of your own task YAMLs (relative to the experiment file); their relative data files are read from it."""

    limit: int | None = None
    """Evaluate only the first N samples of each task; default: all of them."""

    checkpoints: str | tuple[int, ...] = LAST
    """Which saved epochs to evaluate: `last` (default), `all`, or epoch numbers, e.g. [0, 2]."""

    batch_size: int | None = None
    """Samples per batch; default: the harness's own."""

    max_tokens: int | None = None
    """Most tokens generated per answer (inspect --max-tokens, lm_eval max_gen_toks); default: the harness's own."""

    device: str | None = None
    """Where the model runs, e.g. cuda:0 or cpu; default: the `device` of the run's config."""

    model_args: Mapping[str, Any] = dataclasses.field(default_factory=FrozenDict)
    """More arguments for loading the model (inspect -M KEY=VALUE, lm_eval --model_args), e.g. {dtype: bfloat16}."""

    args: tuple[str, ...] = ()
    """More command-line arguments for the harness, passed as written, e.g. ['--num_fewshot', '5']."""

    base_model: bool = False
    """Also evaluate the base model once, untrained, as a control (the `base_model` row of the results)."""

    metric: str | None = None
    """The metric plotted against the variables, as results name it (e.g. `letters/accuracy`); default: the first."""

    def __post_init__(self) -> None:
        """Check every setting; all problems found are raised together (see experiment.schema)."""
        problems = Problems()
        with problems.collect():
            choice_setting(
                self.harness,
                HARNESSES,
                "harness",
                "harness",
                "harness: inspect (inspect-ai) or harness: lm_eval (lm-evaluation-harness)",
                _error,
            )
        example = "tasks/my_task.py@my_task" if self.harness != LM_EVAL else "hellaswag"
        with problems.collect():
            object.__setattr__(self, "tasks", _texts(self.tasks, "tasks", example))
            if len(set(self.tasks)) != len(self.tasks):
                twice = next(t for t in self.tasks if self.tasks.count(t) > 1)
                raise _error(f"task {twice!r} is listed twice", "tasks", "list each task once")
        if isinstance(self.include_path, Path):
            object.__setattr__(self, "include_path", str(self.include_path))
        with problems.collect():
            if self.include_path is not None:
                _text(self.include_path, "include_path", "tasks/")
                if self.harness == INSPECT:
                    raise _error(
                        "include_path is a folder of lm_eval task YAMLs, but the harness is inspect",
                        "include_path",
                        "for inspect, name the task file in tasks (file.py@task); or set harness: lm_eval",
                    )
        for field in ("limit", "batch_size", "max_tokens"):
            with problems.collect():
                object.__setattr__(self, field, _count(getattr(self, field), field))
        with problems.collect():
            object.__setattr__(self, "checkpoints", _checkpoints(self.checkpoints))
        with problems.collect():
            if self.device is not None:
                _text(self.device, "device", "cuda:0")
        with problems.collect():
            object.__setattr__(self, "model_args", _model_args(self.model_args, self.harness, problems))
        with problems.collect():
            object.__setattr__(self, "args", tuple(_texts(self.args, "args", "--num_fewshot")))
        with problems.collect():
            if not isinstance(self.base_model, bool):
                raise _error(
                    f"base_model must be true or false, got {self.base_model!r}",
                    "base_model",
                    "base_model: true",
                )
        with problems.collect():
            if self.metric is not None:
                _text(self.metric, "metric", "letters/accuracy")
        problems.raise_if_any()

    def epochs(self, n_epochs: int) -> tuple[int, ...]:
        """The epochs whose checkpoints are evaluated, for runs that train `n_epochs`."""
        if self.checkpoints == LAST:
            return (n_epochs - 1,)
        if self.checkpoints == ALL:
            return tuple(range(n_epochs))
        assert isinstance(self.checkpoints, tuple)
        return self.checkpoints


def _checkpoints(value: Any) -> str | tuple[int, ...]:
    fix = "checkpoints: last, checkpoints: all, or epoch numbers such as checkpoints: [0, 2]"
    if isinstance(value, str):
        if value in (LAST, ALL):
            return value
        hint = did_you_mean(value, (LAST, ALL))
        raise _error(
            f"checkpoints {value!r} is not last, all or a list of epochs" + (f"; {hint}" if hint else ""),
            "checkpoints",
            fix,
        )
    if isinstance(value, int) and not isinstance(value, bool):
        value = (value,)
    if not isinstance(value, (list, tuple)) or not value:
        raise _error(
            f"checkpoints must be last, all or a list of epoch numbers, got {value!r}", "checkpoints", fix
        )
    for epoch in value:
        if isinstance(epoch, bool) or not isinstance(epoch, int) or epoch < 0:
            raise _error(f"epoch {epoch!r} is not an epoch number (0, 1, ...)", "checkpoints", fix)
    if len(set(value)) != len(value):
        raise _error(
            f"checkpoints lists an epoch twice: {list(value)}", "checkpoints", "list each epoch once"
        )
    return tuple(sorted(value))


def _model_args(value: Any, harness: str, problems: Problems) -> FrozenDict:
    """The model arguments, each checked (every bad one a problem of its own); the good ones kept."""
    if not isinstance(value, Mapping):
        raise _error(
            f"model_args must be a mapping of name -> value, got {value!r}",
            "model_args",
            "e.g. model_args: {dtype: bfloat16}",
        )
    reserved = RESERVED_MODEL_ARGS.get(harness, ("device",))
    kept = {}
    for key, item in value.items():
        with problems.collect():
            _model_arg(key, item, harness, reserved)
            kept[key] = item
    return FrozenDict(kept)


def _model_arg(key: Any, item: Any, harness: str, reserved: tuple[str, ...]) -> None:
    if not isinstance(key, str) or not _ARG_NAME.fullmatch(key):
        raise _error(
            f"model argument name {key!r} is not a plain name",
            "model_args",
            "e.g. model_args: {dtype: bfloat16}",
        )
    if key in reserved:
        other = "the device field (evaluation.device)" if key == "device" else "the checkpoint of each run"
        raise _error(
            f"model argument {key!r} is set by ttwriter: {other}",
            f"model_args.{key}",
            f"remove it{'; set evaluation.device instead' if key == 'device' else ''}",
        )
    if item is None or isinstance(item, (Mapping, list, tuple)) or not isinstance(item, (str, int, float)):
        raise _error(
            f"model argument {key!r} must be one string, number or boolean, got {item!r}",
            f"model_args.{key}",
            f"e.g. model_args: {{{key}: value}}",
        )
    if isinstance(item, str) and (CONTROL_CHARACTERS.search(item) or (harness == LM_EVAL and "," in item)):
        raise _error(
            f"model argument {key!r} value {item!r} contains "
            + ("a comma, which separates lm_eval's model_args" if "," in item else "a control character"),
            f"model_args.{key}",
            "write the value without it",
        )
