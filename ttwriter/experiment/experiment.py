"""The `Experiment`: one sweep, stated as variables (what is tested) and controls (what is fixed).

Python experiments are instances of this frozen dataclass (or a subclass); experiment.yaml files
are read into it. Validation runs in `__post_init__`, so `dataclasses.replace(parent, ...)`
re-checks a derived experiment; every problem it finds is reported at once, and a misspelled field
is one of them (experiment.schema). The field docstrings are the `--help` text of the CLI.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import numbers
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

from ttwriter.errors import EmptyVariableError, ExperimentSchemaError, Problems, ValuePath, key_path
from ttwriter.experiment.evaluation import Evaluation
from ttwriter.experiment.frozen import FrozenDict, freeze, sameness, thaw
from ttwriter.experiment.sample import Sample
from ttwriter.experiment.schema import ConfigClass, check_sub_configs
from ttwriter.experiment.slurm_config import SlurmConfig
from ttwriter.experiment.strategies import check_derived, check_exclude, check_linked, check_replicates
from ttwriter.experiment.tracking import Tracking
from ttwriter.safe_read import data_problem

_SAFE_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.+-]*$")


@dataclasses.dataclass(frozen=True)
class Experiment(ConfigClass):
    """A sweep of torchtune configs: base config + controls + every combination of variables."""

    ESSENTIAL: ClassVar[frozenset[str]] = frozenset({"base_config", "base_config_file"})
    STAND_INS: ClassVar[Mapping[str, Any]] = {"name": "experiment"}

    name: str
    """Experiment name; names the output folder, so letters, digits, `_`, `-`, `.` and `+` only."""

    base_config: str | None = None
    """torchtune config to start from, as `tune ls` prints it (e.g. `llama3_2/1B_lora_single_device`)."""

    base_config_file: str | None = None
    """Or: path of your own torchtune YAML to start from (relative to the experiment file)."""

    variables: Mapping[str, Any] = dataclasses.field(default_factory=FrozenDict)
    """What the experiment tests: key -> list of values; every combination becomes one run."""

    controls: Mapping[str, Any] = dataclasses.field(default_factory=FrozenDict)
    """What stays fixed in every run: key -> value. Keys may be dotted (`optimizer.lr`), nested or short (`lr`)."""

    delete: tuple[str, ...] = ()
    """Dotted paths to remove from the base config before controls and variables are applied."""

    framework: str = "torchtune"
    """Training framework; only `torchtune` is supported."""

    recipe: str | None = None
    """torchtune recipe to run (name or path of a recipe .py); default: the one `tune ls` pairs with base_config."""

    output_dir: str | None = None
    """Experiment folder; may use {experiment_name} and {timestamp}. Default: outputs/{experiment_name}_{timestamp}."""

    question: str = ""
    """The research question this experiment answers."""

    hypothesis: str = ""
    """What you expect to see, written before the runs."""

    researcher: str = ""
    """Who designed the experiment."""

    date: str = ""
    """When the experiment was designed (free text, e.g. 2025-11-12)."""

    tags: tuple[str, ...] = ()
    """Labels for finding the experiment later."""

    notes: str = ""
    """Anything else a reader of the results should know."""

    slurm: SlurmConfig = dataclasses.field(default_factory=SlurmConfig)
    """How the runs are scheduled on SLURM (partition, time, GPUs, setup lines, ...)."""

    evaluation: Evaluation | None = None
    """How each run is evaluated after training (harness, tasks, checkpoints, ...); None: it is not."""

    tracking: Tracking = dataclasses.field(default_factory=Tracking)
    """Which experiment tracker every run logs to (backend wandb, mlflow, tensorboard; default disk: the loss log only)."""

    linked: Mapping[str, Any] = dataclasses.field(default_factory=FrozenDict)
    """Grid axes that set several keys together: axis name -> list of {key: value} entries, one run per entry."""

    derived: Mapping[str, Any] = dataclasses.field(default_factory=FrozenDict)
    """Keys computed per run from its params: key -> expression ('2 * lora_rank') or, in Python, a callable of the params."""

    exclude: tuple[Mapping[str, Any], ...] = ()
    """Grid points to drop: a list of {param: value}; a run matching every entry of one item is not made."""

    sample: Sample = dataclasses.field(default_factory=Sample)
    """Seeded random draws (num_samples, seed, params: key -> distribution), the same draws for every grid point."""

    replicates: int | tuple[int, ...] | None = None
    """Run every condition this many times (seeds 0..N-1, or seed+0.. with a `seed` control), or once per seed listed."""

    def __post_init__(self) -> None:
        """Check every field; all problems found are raised together (see experiment.schema)."""
        problems = Problems()
        with problems.collect():
            _check_name(self.name)
        for field in ("base_config_file", "output_dir"):
            value = getattr(self, field)
            if isinstance(value, Path):
                object.__setattr__(self, field, str(value))
        for field in ("base_config", "base_config_file", "recipe", "output_dir"):
            with problems.collect():
                if getattr(self, field) is not None:
                    _check_path_text(getattr(self, field), field)
        with problems.collect():
            _check_one_base(self.base_config, self.base_config_file)
        with problems.collect():
            if self.framework != "torchtune":
                raise ExperimentSchemaError(
                    f"framework {self.framework!r} is not supported",
                    path=("framework",),
                    fix="use framework='torchtune' (the only framework in this version)",
                )
        if isinstance(self.date, (_dt.date, _dt.datetime)):
            object.__setattr__(self, "date", self.date.isoformat())
        for field in ("question", "hypothesis", "researcher", "date", "notes"):
            with problems.collect():
                _check_str(getattr(self, field), field)
        for field in ("tags", "delete"):
            with problems.collect():
                object.__setattr__(self, field, _str_tuple(getattr(self, field), field))
        check_sub_configs(self, problems)
        with problems.collect():
            _check_evaluation(self)
        object.__setattr__(self, "linked", check_linked(self.linked, _plain, problems))
        object.__setattr__(self, "derived", check_derived(self.derived, problems))
        object.__setattr__(self, "exclude", check_exclude(self.exclude, _plain, problems))
        with problems.collect():
            object.__setattr__(self, "replicates", check_replicates(self.replicates))
        for section, values, example in (
            ("controls", "value", "controls={'learning_rate': 3e-4, 'epochs': 1}"),
            ("variables", "list of values", "variables={'lora_rank': [8, 16, 32]}"),
        ):
            mapping = getattr(self, section)
            if not isinstance(mapping, Mapping):
                problems.add(
                    ExperimentSchemaError(
                        f"{section} must be a mapping of key -> {values}, got {type(mapping).__name__}",
                        path=(section,),
                        fix=f"e.g. {example}",
                    )
                )
                continue
            plain = {}
            for key, value in mapping.items():
                with problems.collect():
                    _check_entry(section, key, value)
                    plain[key] = _plain(value, (section, key))
            object.__setattr__(self, section, freeze(plain))
        problems.raise_if_any()


def _check_evaluation(experiment: Experiment) -> None:
    """`evaluation` is an Evaluation (a mapping becomes one) with at least one task, or None."""
    value = experiment.evaluation
    if isinstance(value, Mapping):
        value = Evaluation.from_mapping(value)
        object.__setattr__(experiment, "evaluation", value)
    if value is not None and not isinstance(value, Evaluation):
        raise ExperimentSchemaError(
            f"evaluation must be an Evaluation, a mapping of its fields or None, got {type(value).__name__}",
            path=("evaluation",),
            fix="e.g. evaluation=Evaluation(harness='inspect', tasks=['tasks/my_task.py@my_task']), "
            "or in YAML an evaluation: section",
        )
    if value is not None and not value.tasks:
        example = "tasks/my_task.py@my_task" if value.harness == "inspect" else "hellaswag"
        raise ExperimentSchemaError(
            "evaluation has no tasks, so there would be nothing to evaluate",
            path=("evaluation", "tasks"),
            fix=f"name at least one, e.g. evaluation.tasks: [{example}], or leave evaluation out",
        )


def _check_name(name: Any) -> None:
    _check_str(name, "name")
    if not _SAFE_NAME.fullmatch(name) or name in (".", ".."):
        raise ExperimentSchemaError(
            f"experiment name {name!r} is not a safe folder name",
            path=("name",),
            fix="use letters, digits, '_', '-', '.' and '+' only, starting with a letter, "
            f"digit or '_', e.g. {_suggest_name(name)!r}",
        )


def _check_path_text(value: Any, field: str) -> None:
    _check_str(value, field)
    if not value.strip():
        raise ExperimentSchemaError(
            f"{field} is empty", path=(field,), fix=f"give a value or leave {field} out"
        )
    if "\0" in value:
        raise ExperimentSchemaError(
            f"{field} {value!r} contains a NUL byte (\\0), which no path can hold",
            path=(field,),
            fix=f"remove it: {value.replace(chr(0), '')!r}",
        )


def _check_one_base(base_config: str | None, base_config_file: str | None) -> None:
    if (base_config is None) == (base_config_file is None):
        both = base_config is not None
        raise ExperimentSchemaError(
            "both base_config and base_config_file are set"
            if both
            else "no base config: set base_config or base_config_file",
            path=("base_config",),
            fix="keep only one of them (deriving in Python: replace(parent, base_config=None, "
            "base_config_file=...) or the reverse)"
            if both
            else "e.g. base_config='llama3_2/1B_lora_single_device' (run 'tune ls' for names)",
        )


def _check_entry(section: str, key: Any, value: Any) -> None:
    """One key of controls or variables: a text key, data later steps can walk and write, and
    for a variable a list of distinct values (or a group of such lists)."""
    problem = data_problem(value, levels_above=1)  # the section is a level of its own
    if problem is not None:
        message, path, fix = problem
        shown = key_path(path[:4], f"{section}.{key}") + ("..." if len(path) > 4 else "")
        raise ExperimentSchemaError(message, key=shown, path=(section, key, *path), fix=fix)
    _check_keys({key: value}, (section,))
    if section == "variables":
        _check_variable_lists({key: value}, (section,))


def _plain(value: Any, path: ValuePath) -> Any:
    """Config values as YAML can hold them: paths become strings, numpy-like scalars Python ones."""
    if isinstance(value, Mapping):
        return {k: _plain(v, (*path, k)) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v, (*path, i)) for i, v in enumerate(value)]
    if value is None or type(value) in (str, int, float, bool):
        return value
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if isinstance(value, bool) or type(value).__name__ == "bool_":
        return bool(value)
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    if isinstance(value, str):
        return str(value)
    raise ExperimentSchemaError(
        f"{type(value).__name__} value {value!r} cannot be written to a torchtune YAML",
        path=path,
        fix="use strings, numbers, booleans, None, lists and dicts; for a torchtune component "
        "write its dotted path as {'_component_': 'torchtune.models....'}",
    )


def _suggest_name(name: str) -> str:
    """A safe folder name close to `name`, for the error message; it must itself be accepted."""
    safe = re.sub(r"[^A-Za-z0-9_.+-]+", "_", name)
    return re.sub(r"^[^A-Za-z0-9]+|_+$", "", safe) or "my_experiment"


def _check_str(value: Any, field: str) -> None:
    if not isinstance(value, str):
        if isinstance(value, (list, tuple)) and value and isinstance(value[0], (str, int, float)):
            fix = f"{field} takes one value, not a list: e.g. {field}: {value[0]}"
        elif isinstance(value, (Mapping, list, tuple)):
            fix = f"{field} takes one value, a string"
        else:
            fix = f"quote the value of {field}: {field}: '{value}'"
        raise ExperimentSchemaError(
            f"{field} must be a string, got {type(value).__name__} {value!r}", path=(field,), fix=fix
        )


def _str_tuple(value: Any, field: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = (value,)
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
        raise ExperimentSchemaError(
            f"{field} must be a list of strings, got {value!r}",
            path=(field,),
            fix=f"e.g. {field}=['a', 'b']",
        )
    return tuple(value)


def _check_keys(mapping: Mapping[Any, Any], path: ValuePath) -> None:
    for key, value in mapping.items():
        if not isinstance(key, str) or not key:
            raise ExperimentSchemaError(
                f"key {key!r} must be a non-empty string",
                path=path,
                fix="write config keys as text, e.g. 'lora_rank' or 'optimizer.lr'",
            )
        if isinstance(value, Mapping):
            _check_keys(value, (*path, key))


def _check_variable_lists(mapping: Mapping[str, Any], path: ValuePath) -> None:
    for key, values in mapping.items():
        where = (*path, key)
        if isinstance(values, Mapping):
            if not values:
                raise EmptyVariableError(
                    "variable group is empty", path=where, fix=f"remove {key} or give it values"
                )
            _check_variable_lists(values, where)
            continue
        if not isinstance(values, (list, tuple)):
            raise ExperimentSchemaError(
                f"a variable takes a list of values, got {values!r}",
                path=where,
                fix=f"write a list, e.g. {key}: [{values!r}], or move it to controls if it stays fixed",
            )
        if not values:
            raise EmptyVariableError(
                "variable has no values, so the sweep would have no runs",
                path=where,
                fix=f"give {key} at least one value, or remove it",
            )
        seen: set[Any] = set()
        for value in map(thaw, values):
            key = sameness(value)
            if key in seen:
                raise ExperimentSchemaError(
                    f"value {value!r} appears twice, which would make two identical runs",
                    path=where,
                    fix="list each value once",
                )
            seen.add(key)
