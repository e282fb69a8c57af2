"""What every config dataclass shares: misspelled fields with "did you mean" at the line of the
keyword, every problem of one call at once, sub-configs from mappings, and building from the
fields that have no problem."""

from __future__ import annotations

import copy
import dataclasses
import pickle
import textwrap
from collections.abc import Mapping
from typing import Any, ClassVar

import pytest

from tests.conftest import BASE
from tests.experiment.test_load_python import write_family
from ttwriter import (
    EmptyVariableError,
    Experiment,
    ExperimentProblemsError,
    ExperimentSchemaError,
    SlurmConfig,
    load_experiment,
)
from ttwriter.errors import Location, Problems, locating
from ttwriter.experiment.schema import ConfigClass, build_valid
from ttwriter.experiment.tracking import Tracking

FIELDS = (
    "name, base_config, base_config_file, variables, controls, delete, framework, recipe, "
    "output_dir, question, hypothesis, researcher, date, tags, notes, slurm, evaluation, tracking, linked, "
    "derived, exclude, sample, replicates"
)

BASELINE = f"""\
from ttwriter import Experiment

experiment = Experiment(
    name="baseline",
    base_config={BASE!r},
    controls={{"epochs": 1}},
)
"""


def load_error(tmp_path, child: str, cls: type = ExperimentSchemaError) -> str:
    fam = write_family(tmp_path / "fam", {"baseline_01_01.py": BASELINE, "child_02_01.py": child})
    with pytest.raises(cls) as info:
        load_experiment(fam / "child_02_01.py")
    return str(info.value).replace(str(fam), "<FAM>")


# --- a misspelled field --------------------------------------------------------------------------


def test_a_misspelled_field_in_replace_names_the_field_and_its_line(tmp_path):
    child = textwrap.dedent(
        """\
        from dataclasses import replace

        from baseline_01_01 import experiment as parent

        experiment = replace(
            parent,
            name="child",
            variable={"lora_rank": [8, 16]},
        )
        """
    )

    assert load_error(tmp_path, child) == (
        "<FAM>/child_02_01.py:8: variable: unknown field 'variable'; did you mean 'variables'?\n"
        f"  fix: Experiment fields: {FIELDS}"
    )


def test_a_misspelled_field_in_a_direct_call_names_the_line_of_the_keyword(tmp_path):
    base = textwrap.dedent(
        f"""\
        from ttwriter import Experiment

        experiment = Experiment(
            name="baseline",
            base_config={BASE!r},
            contols={{"epochs": 1}},
        )
        """
    )
    fam = write_family(tmp_path / "fam", {"baseline_01_01.py": base})

    with pytest.raises(ExperimentSchemaError) as info:
        load_experiment(fam / "baseline_01_01.py")

    assert (info.value.file, info.value.line, info.value.key) == (
        str(fam / "baseline_01_01.py"),
        6,
        "contols",
    )
    assert info.value.message == "unknown field 'contols'; did you mean 'controls'?"


def test_every_field_problem_of_one_call_is_reported_at_its_own_line(tmp_path):
    child = textwrap.dedent(
        """\
        from dataclasses import replace

        from baseline_01_01 import experiment as parent

        experiment = replace(
            parent,
            name="my child",
            variable={"lora_rank": [8, 16]},
            variables={
                "lora_alpha": [],
            },
            slurm={"partitoin": "gpu", "time": "soon"},
        )
        """
    )

    message = load_error(tmp_path, child, ExperimentProblemsError)

    assert message == (
        "the experiment has 5 problems:\n"
        "  <FAM>/child_02_01.py:8: variable: unknown field 'variable'; did you mean 'variables'?\n"
        f"    fix: Experiment fields: {FIELDS}\n"
        "  <FAM>/child_02_01.py:7: name: experiment name 'my child' is not a safe folder name\n"
        "    fix: use letters, digits, '_', '-', '.' and '+' only, starting with a letter, digit or '_', "
        "e.g. 'my_child'\n"
        "  <FAM>/child_02_01.py:12: slurm.partitoin: unknown field 'partitoin'; did you mean 'partition'?\n"
        "    fix: SlurmConfig fields: job_name, partition, account, qos, time, gpus_per_run, cpus_per_task, "
        "mem, constraint, max_parallel, setup, sbatch_lines, command\n"
        "  <FAM>/child_02_01.py:12: slurm.time: time 'soon' is not a SLURM time limit\n"
        "    fix: use minutes, HH:MM:SS or D-HH:MM:SS, e.g. '04:00:00'\n"
        "  <FAM>/child_02_01.py:10: variables.lora_alpha: variable has no values, so the sweep would have "
        "no runs\n"
        "    fix: give lora_alpha at least one value, or remove it"
    )


def test_a_slurm_config_built_in_the_file_is_located_at_its_own_keywords(tmp_path):
    child = textwrap.dedent(
        """\
        from dataclasses import replace

        from ttwriter import SlurmConfig
        from baseline_01_01 import experiment as parent

        slurm = SlurmConfig(
            partition="gpu",
            max_paralel=4,
        )
        experiment = replace(parent, name="child", slurm=slurm)
        """
    )

    assert load_error(tmp_path, child).startswith(
        "<FAM>/child_02_01.py:8: slurm.max_paralel: unknown field 'max_paralel'; did you mean 'max_parallel'?\n"
    )


def test_a_missing_name_and_too_many_values_are_problems_not_type_errors(tmp_path):
    base = f"from ttwriter import Experiment\n\nexperiment = Experiment(base_config={BASE!r})\n"
    fam = write_family(tmp_path / "fam", {"baseline_01_01.py": base})
    with pytest.raises(ExperimentSchemaError) as info:
        load_experiment(fam / "baseline_01_01.py")
    assert str(info.value) == (
        f"{fam}/baseline_01_01.py:3: name: Experiment needs 'name'\n  fix: give it, e.g. Experiment(name=...)"
    )

    with locating(lambda path: None), pytest.raises(ExperimentProblemsError) as info:
        Experiment(
            "a",
            BASE,
            None,
            {},
            {},
            (),
            "torchtune",
            None,
            None,
            "",
            "",
            "",
            "",
            (),
            "",
            SlurmConfig(),
            None,
            Tracking(),
            {},
            {},
            (),
            {},
            None,
            1,
            name="b",
        )
    assert [p.message for p in info.value.problems] == [
        "Experiment takes at most 23 values without a name, got 24",
        "field 'name' is given twice, as a value without a name and as name=",
    ]


def test_a_call_that_is_not_in_a_file_has_no_location():
    namespace: dict[str, Any] = {}
    with pytest.raises(ExperimentSchemaError) as info:
        exec("from ttwriter import Experiment\nExperiment(name='x', base_config='b', contols={})", namespace)
    assert (info.value.file, info.value.line) == (None, None)


def test_an_experiment_still_copies_and_pickles():
    experiment = Experiment(name="x", base_config=BASE, controls={"epochs": 1})
    assert copy.copy(experiment) == experiment == pickle.loads(pickle.dumps(experiment))
    assert copy.deepcopy(experiment) == experiment


# --- any config class gets it -------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class EvalConfig(ConfigClass):
    """A sub-config an experiment might gain: what the tests below need of one."""

    SECTION: ClassVar[tuple[str, ...]] = ("review",)

    tasks: tuple[str, ...] = ()
    batch_size: int = 8

    def __post_init__(self) -> None:
        problems = Problems()
        with problems.collect():
            if not isinstance(self.batch_size, int) or self.batch_size < 1:
                raise ExperimentSchemaError(
                    f"batch_size must be a whole number >= 1, got {self.batch_size!r}",
                    path=(*self.SECTION, "batch_size"),
                )
        problems.raise_if_any()


@dataclasses.dataclass(frozen=True)
class EvaluatedExperiment(Experiment):
    """An experiment with a new section, and no code for it."""

    review: EvalConfig = dataclasses.field(default_factory=EvalConfig)


def test_a_new_config_class_gets_misspelled_fields_and_its_section_for_free():
    written = {
        ("review", "taks"): Location("exp.yaml", 9),
        ("review", "batch_size"): Location("exp.yaml", 10),
    }

    with locating(written.get), pytest.raises(ExperimentProblemsError) as info:
        EvaluatedExperiment(name="x", base_config=BASE, review={"taks": ["mmlu"], "batch_size": 0})

    assert [str(p) for p in info.value.problems] == [
        "exp.yaml:9: review.taks: unknown field 'taks'; did you mean 'tasks'?\n"
        "  fix: EvalConfig fields: tasks, batch_size",
        "exp.yaml:10: review.batch_size: batch_size must be a whole number >= 1, got 0",
    ]
    made = EvaluatedExperiment(name="x", base_config=BASE, review={"tasks": ("mmlu",)})
    assert made.review == EvalConfig(tasks=("mmlu",))


def test_a_sub_config_that_is_neither_its_class_nor_a_mapping_is_a_problem():
    with locating(lambda path: None), pytest.raises(ExperimentSchemaError) as info:
        Experiment(name="x", base_config=BASE, slurm="gpu")  # type: ignore[arg-type]
    assert str(info.value) == (
        "slurm: slurm must be a SlurmConfig or a mapping of its fields, got str\n"
        "  fix: e.g. slurm=SlurmConfig(...), or in YAML a slurm: section"
    )


def test_field_names_of_a_mapping_must_be_text():
    with (
        locating(lambda path: None),
        pytest.raises(ExperimentSchemaError, match=r"^slurm.1: field names are text"),
    ):
        SlurmConfig.from_mapping({1: "gpu"})


# --- building from the fields that have no problem ---------------------------------------------


def test_build_valid_leaves_out_the_values_with_problems():
    fields: Mapping[str, Any] = {
        "name": "my exp",
        "base_config": BASE,
        "hypothsis": "rank matters",
        "controls": {"epochs": 1, "x": object()},
        "variables": {"lora_rank": [8, 16], "lora_alpha": []},
        "slurm": {"partition": "gpu", "time": "soon"},
    }

    with locating(lambda path: None):
        experiment, problems = build_valid(Experiment, fields)

    assert [p.key for p in problems] == [
        "hypothsis",
        "name",
        "slurm.time",
        "controls.x",
        "variables.lora_alpha",
    ]
    assert isinstance(problems[-1], EmptyVariableError)
    assert experiment is not None
    assert (experiment.name, dict(experiment.controls), dict(experiment.variables)) == (
        "experiment",
        {"epochs": 1},
        {"lora_rank": (8, 16)},
    )
    assert experiment.slurm == SlurmConfig(partition="gpu")


def test_build_valid_gives_up_when_the_base_config_is_wrong():
    with locating(lambda path: None):
        experiment, problems = build_valid(Experiment, {"name": "x", "variables": {"a": []}})
    assert experiment is None
    assert [p.key for p in problems] == ["base_config", "variables.a"]


def test_build_valid_returns_a_valid_experiment_unchanged():
    experiment, problems = build_valid(Experiment, {"name": "x", "base_config": BASE})
    assert (experiment, problems) == (Experiment(name="x", base_config=BASE), ())
