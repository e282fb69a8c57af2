"""The Experiment dataclass: checked on construction, and frozen all the way down."""

from __future__ import annotations

import dataclasses
import datetime as dt
import operator
from pathlib import Path

import pytest

from tests.conftest import BASE
from ttwriter import EmptyVariableError, Experiment, ExperimentSchemaError, ValidationError
from ttwriter.errors import locating


@pytest.fixture(autouse=True)
def unlocated():
    """What each check says, without where: errors of a call in a researcher's file are located
    at its keyword arguments, which test_schema.py covers."""
    with locating(lambda path: None):
        yield


def make(**fields) -> Experiment:
    fields.setdefault("name", "exp")
    if "base_config_file" not in fields:
        fields.setdefault("base_config", BASE)
    return Experiment(**fields)


def test_a_minimal_experiment_has_empty_defaults():
    experiment = Experiment(name="exp", base_config=BASE)
    assert experiment.variables == {} and experiment.controls == {}
    assert (experiment.delete, experiment.tags, experiment.framework) == ((), (), "torchtune")


# ---------------------------------------------------------------- name


@pytest.mark.parametrize("name", ["lora_rank", "run-1", "v1.2", "a+b", "_private", "0x"])
def test_safe_names_are_accepted(name):
    assert make(name=name).name == name


@pytest.mark.parametrize(
    "name, suggestion",
    [
        ("a/b", "a_b"),
        ("../escape", "escape"),
        ("a\\b", "a_b"),
        ("my exp", "my_exp"),
        ("..", "my_experiment"),
        (".hidden", "hidden"),
        ("-flag", "flag"),
        ("", "my_experiment"),
        ("ünï", "n"),
        ("exp\n", "exp"),
        ("exp\r", "exp"),
        ("a\tb", "a_b"),
    ],
)
def test_unsafe_names_are_rejected_with_a_safe_suggestion(name, suggestion):
    with pytest.raises(ExperimentSchemaError) as info:
        make(name=name)
    assert str(info.value).startswith(f"name: experiment name {name!r} is not a safe folder name")
    assert info.value.fix.endswith(f"e.g. {suggestion!r}")
    assert make(name=suggestion).name == suggestion  # the suggestion itself works


def test_a_name_must_be_a_string():
    with pytest.raises(ExperimentSchemaError, match=r"^name: name must be a string, got int 3"):
        make(name=3)


# ---------------------------------------------------------------- base config and framework


def test_exactly_one_base_is_required():
    with pytest.raises(
        ExperimentSchemaError, match=r"^base_config: no base config: set base_config or base_config_file"
    ):
        Experiment(name="exp")
    with pytest.raises(
        ExperimentSchemaError, match=r"^base_config: both base_config and base_config_file are set"
    ):
        Experiment(name="exp", base_config=BASE, base_config_file="my.yaml")


def test_base_config_file_alone_is_enough_and_paths_become_strings():
    experiment = Experiment(name="exp", base_config_file=Path("configs/my.yaml"), output_dir=Path("out"))
    assert (experiment.base_config_file, experiment.output_dir) == ("configs/my.yaml", "out")


@pytest.mark.parametrize("field", ["base_config", "recipe", "output_dir"])
def test_blank_optional_strings_are_rejected(field):
    with pytest.raises(ExperimentSchemaError, match=rf"^{field}: {field} is empty"):
        make(**{field: "  "})


def test_only_the_torchtune_framework_is_supported():
    with pytest.raises(ExperimentSchemaError, match=r"^framework: framework 'axolotl' is not supported"):
        make(framework="axolotl")


@pytest.mark.parametrize("field", ["question", "hypothesis", "researcher", "notes", "date"])
def test_text_fields_must_be_strings(field):
    with pytest.raises(ExperimentSchemaError, match=rf"^{field}: {field} must be a string, got int 2025"):
        make(**{field: 2025})


@pytest.mark.parametrize(
    "date, text",
    [(dt.date(2025, 11, 12), "2025-11-12"), (dt.datetime(2025, 11, 12, 10, 30), "2025-11-12T10:30:00")],
)
def test_dates_become_iso_strings(date, text):
    assert make(date=date).date == text


# ---------------------------------------------------------------- tags and delete


@pytest.mark.parametrize("field", ["tags", "delete"])
@pytest.mark.parametrize("value, expected", [("one", ("one",)), (["a", "b"], ("a", "b")), (("a",), ("a",))])
def test_tags_and_delete_become_tuples(field, value, expected):
    assert getattr(make(**{field: value}), field) == expected


@pytest.mark.parametrize("field", ["tags", "delete"])
def test_tags_and_delete_hold_strings_only(field):
    with pytest.raises(
        ExperimentSchemaError, match=rf"^{field}: {field} must be a list of strings, got \['a', 1\]"
    ):
        make(**{field: ["a", 1]})


# ---------------------------------------------------------------- controls and variables


@pytest.mark.parametrize("field", ["controls", "variables"])
def test_controls_and_variables_must_be_mappings(field):
    with pytest.raises(ExperimentSchemaError, match=rf"^{field}: {field} must be a mapping of key -> "):
        make(**{field: [("lora_rank", 8)]})


@pytest.mark.parametrize(
    "controls, where",
    [({1: 2}, "controls"), ({"": 2}, "controls"), ({"dataset": {"": 1}}, "controls.dataset")],
)
def test_keys_must_be_non_empty_strings(controls, where):
    with pytest.raises(ExperimentSchemaError, match=rf"^{where}: key .* must be a non-empty string"):
        make(controls=controls)


@pytest.mark.parametrize(
    "variables, where, message",
    [
        ({"lora_rank": []}, "variables.lora_rank", "variable has no values, so the sweep would have no runs"),
        ({"lora_rank": ()}, "variables.lora_rank", "variable has no values"),
        ({"model": {}}, "variables.model", "variable group is empty"),
        ({"model": {"lora_rank": []}}, "variables.model.lora_rank", "variable has no values"),
    ],
)
def test_empty_variables_are_rejected(variables, where, message):
    with pytest.raises(EmptyVariableError, match=rf"^{where}: {message}"):
        make(variables=variables)


def test_empty_variable_error_is_a_validation_error():
    assert issubclass(EmptyVariableError, ValidationError)


@pytest.mark.parametrize("value", [8, "8", 3e-4, None, True])
def test_a_scalar_variable_is_rejected_with_a_list_suggestion(value):
    with pytest.raises(ExperimentSchemaError) as info:
        make(variables={"lora_rank": value})
    assert str(info.value).startswith(
        f"variables.lora_rank: a variable takes a list of values, got {value!r}"
    )
    assert info.value.fix.startswith(f"write a list, e.g. lora_rank: [{value!r}], or move it to controls")


@pytest.mark.parametrize(
    "values, duplicate",
    [
        ([8, 16, 8], "8"),
        (["a", "a"], "'a'"),
        ([[1, 2], [1, 2]], r"\[1, 2\]"),
        ([{"x": 1}, {"x": 1}], r"\{'x': 1\}"),
    ],
)
def test_duplicate_variable_values_are_rejected(values, duplicate):
    with pytest.raises(
        ExperimentSchemaError,
        match=rf"^variables.v: value {duplicate} appears twice, which would make two identical runs",
    ):
        make(variables={"v": values})


def test_values_of_different_types_are_not_duplicates():
    # 1 and True are different values (1, true); 1 and 1.0 are one number (see below).
    assert make(variables={"v": [1, True, "1"]}).variables == {"v": (1, True, "1")}


def test_nested_variables_are_checked_too():
    with pytest.raises(ExperimentSchemaError, match=r"^variables.model.lora_rank: value 8 appears twice"):
        make(variables={"model": {"lora_rank": [8, 8]}})


def test_values_that_cannot_be_yaml_are_rejected_with_their_key_path():
    with pytest.raises(
        ExperimentSchemaError, match=r"^controls.dataset.source: object value .* cannot be written"
    ):
        make(controls={"dataset": {"source": object()}})


def self_containing() -> dict:
    loop: dict = {"lr": 1}
    loop["again"] = loop
    return loop


def nested(levels: int) -> list:
    value: list = []
    for _ in range(levels - 1):
        value = [value]
    return value


def shared_bomb(levels: int) -> list:
    value: list = ["lol"]
    for _ in range(levels):
        value = [value, value]  # the same list twice: 3 * 2 ** levels - 1 values once copied out
    return value


@pytest.mark.parametrize(
    "controls, key, message",
    [
        (
            {"optimizer": self_containing()},
            "controls.optimizer.again.again.again.again...",
            "lists and mappings nested more than 50 levels deep, or one that contains itself",
        ),
        (
            {"deep": nested(50)},
            "controls.deep[0][0][0][0]...",
            "lists and mappings nested more than 50 levels deep, or one that contains itself",
        ),
        (
            {"seed": 10**5000},
            "controls.seed",
            "an integer longer than 4300 digits, which cannot be written",
        ),
        (
            {"dataset": {"data_files": ["a.json", "b\0.json"]}},
            "controls.dataset.data_files[1]",
            "a NUL byte (\\0) in 'b\\x00.json': no path or setting can hold one",
        ),
        (
            {"+blob": shared_bomb(40)},
            "controls.+blob",
            "shared lists or mappings expand to 3,298,534,883,327 values (more than 10,000,000), "
            "and every run would copy them all",
        ),
    ],
    ids=["contains itself", "too deep", "long integer", "NUL byte", "shared bomb"],
)
def test_data_later_steps_could_not_walk_or_write_is_refused_with_its_key(controls, key, message):
    with pytest.raises(ExperimentSchemaError) as info:
        make(controls=controls)
    assert (info.value.key, info.value.message) == (key, message)
    with pytest.raises(ExperimentSchemaError):
        make(variables={"x": [controls]})


def test_nesting_up_to_the_limit_and_shared_values_are_accepted():
    shared = {"lr": 1e-4}
    experiment = make(controls={"deep": nested(49), "a": shared, "b": shared, "n": 10**4000})
    assert experiment.controls["a"] == experiment.controls["b"] == {"lr": 1e-4}


@pytest.mark.parametrize("field", ["base_config_file", "recipe", "output_dir"])
def test_a_nul_byte_in_a_path_field_is_refused_with_the_fixed_path(field):
    fields = {field: "outputs/a\0b", "base_config": None if field == "base_config_file" else BASE}
    with pytest.raises(ExperimentSchemaError) as info:
        make(**fields)
    assert str(info.value) == (
        f"{field}: {field} 'outputs/a\\x00b' contains a NUL byte (\\0), which no path can hold\n"
        "  fix: remove it: 'outputs/ab'"
    )


def test_path_values_become_strings():
    experiment = make(controls={"dataset": {"data_files": Path("/data/a.json")}})
    assert experiment.controls["dataset"]["data_files"] == "/data/a.json"


# ---------------------------------------------------------------- dataclasses.replace


@pytest.mark.parametrize(
    "change, error",
    [
        ({"name": "bad/name"}, "name: experiment name 'bad/name' is not a safe folder name"),
        ({"base_config_file": "mine.yaml"}, "base_config: both base_config and base_config_file are set"),
        ({"variables": {"lora_rank": []}}, "variables.lora_rank: variable has no values"),
        ({"variables": {"lora_rank": 8}}, "variables.lora_rank: a variable takes a list of values"),
        ({"framework": "hf"}, "framework: framework 'hf' is not supported"),
    ],
)
def test_replace_checks_the_derived_experiment_again(change, error):
    parent = make(variables={"lora_rank": [8, 16]})
    with pytest.raises(ValidationError) as info:
        dataclasses.replace(parent, **change)
    assert str(info.value).startswith(error)


def test_replace_normalises_the_derived_experiment():
    parent = make()
    child = dataclasses.replace(
        parent, name="child", tags="new", date=dt.date(2025, 1, 2), controls={"a": [1]}
    )
    assert (child.tags, child.date, child.controls["a"]) == (("new",), "2025-01-02", (1,))


def test_replace_to_a_file_base_needs_base_config_cleared():
    parent = make()
    child = dataclasses.replace(parent, base_config=None, base_config_file="mine.yaml")
    assert (child.base_config, child.base_config_file) == (None, "mine.yaml")


# ---------------------------------------------------------------- frozen data


@pytest.fixture
def parent() -> Experiment:
    return make(
        controls={"learning_rate": 3e-4, "dataset": {"source": "json", "data_files": ["a.json"]}},
        variables={"lora_rank": [8, 16], "model": {"lora_alpha": [16, 32]}},
    )


def test_fields_cannot_be_reassigned(parent):
    with pytest.raises(dataclasses.FrozenInstanceError):
        parent.name = "other"


@pytest.mark.parametrize(
    "mutate",
    [
        lambda p: operator.setitem(p.controls, "learning_rate", 1.0),
        lambda p: operator.setitem(p.controls, "new", 1),
        lambda p: operator.delitem(p.controls, "learning_rate"),
        lambda p: operator.setitem(p.controls["dataset"], "source", "csv"),
        lambda p: operator.setitem(p.controls["dataset"]["data_files"], 0, "b.json"),
        lambda p: operator.setitem(p.variables, "lora_rank", [4]),
        lambda p: operator.setitem(p.variables["lora_rank"], 0, 4),
        lambda p: operator.setitem(p.variables["model"], "lora_alpha", [1]),
    ],
    ids=[
        "controls-set",
        "controls-add",
        "controls-del",
        "nested-dict",
        "nested-list",
        "variables-set",
        "variable-values",
        "nested-variables",
    ],
)
def test_a_child_cannot_mutate_its_parents_data(parent, mutate):
    before = (dict(parent.controls), dict(parent.variables))
    with pytest.raises(TypeError):
        mutate(parent)
    assert (dict(parent.controls), dict(parent.variables)) == before


@pytest.mark.parametrize("method", ["append", "update", "pop", "clear"])
def test_frozen_data_has_no_mutating_methods(parent, method):
    assert not hasattr(parent.controls, method)
    assert not hasattr(parent.controls["dataset"]["data_files"], method)


def test_changing_the_dict_passed_in_does_not_change_the_experiment():
    controls = {"dataset": {"data_files": ["a.json"]}, "epochs": 1}
    experiment = make(controls=controls)
    controls["epochs"] = 2
    controls["dataset"]["data_files"].append("b.json")
    assert experiment.controls == {"dataset": {"data_files": ("a.json",)}, "epochs": 1}


def test_a_child_derives_with_unpacking_and_the_parent_is_unchanged(parent):
    child = dataclasses.replace(parent, name="child", controls={**parent.controls, "epochs": 2})
    assert child.controls == {**parent.controls, "epochs": 2}
    assert "epochs" not in parent.controls


def test_a_child_derives_with_the_union_operator(parent):
    child = dataclasses.replace(parent, name="child", controls=parent.controls | {"learning_rate": 1e-4})
    assert child.controls["learning_rate"] == 1e-4
    assert parent.controls["learning_rate"] == 3e-4
    assert ({"epochs": 2} | parent.controls)["epochs"] == 2


def test_a_child_replaces_a_nested_dict_by_unpacking_it(parent):
    dataset = {**parent.controls["dataset"], "split": "train"}
    child = dataclasses.replace(parent, name="child", controls={**parent.controls, "dataset": dataset})
    assert child.controls["dataset"] == {"source": "json", "data_files": ("a.json",), "split": "train"}
    assert "split" not in parent.controls["dataset"]


def test_frozen_data_prints_like_plain_data(parent):
    assert repr(parent.controls) == (
        "{'learning_rate': 0.0003, 'dataset': {'source': 'json', 'data_files': ('a.json',)}}"
    )


def test_experiments_with_equal_data_are_equal_and_hashable(parent):
    twin = make(
        controls={"learning_rate": 3e-4, "dataset": {"source": "json", "data_files": ("a.json",)}},
        variables={"lora_rank": (8, 16), "model": {"lora_alpha": (16, 32)}},
    )
    assert twin == parent
    assert hash(twin) == hash(parent)


def test_eight_and_eight_point_zero_are_one_value_but_true_and_one_are_not():
    with pytest.raises(ExperimentSchemaError, match=r"value 8\.0 appears twice"):
        Experiment(name="x", base_config="b", variables={"lora_rank": [8, 8.0]})
    Experiment(name="x", base_config="b", variables={"+flag": [True, 1]})


def test_repeats_are_found_in_one_pass_among_30000_values_entries_and_seeds():
    # Comparing every pair took minutes for these linked entries; a set of keys takes a moment.
    n = 30_000
    big = Experiment(
        name="x",
        base_config="b",
        variables={"lora_rank": list(range(n))},
        linked={"s": [{"lr": i, "flag": i % 2 == 0} for i in range(n)]},
        replicates=list(range(n)),
    )
    assert (len(big.variables["lora_rank"]), len(big.linked["s"]), len(big.replicates)) == (n, n, n)
    with pytest.raises(ExperimentSchemaError, match=r"^replicates: seed 7 appears twice"):
        Experiment(name="x", base_config="b", replicates=[*range(n), 7])
    with pytest.raises(ExperimentSchemaError, match=r"^linked.s\[2\]: entry 2 of linked axis 's' repeats"):
        Experiment(
            name="x",
            base_config="b",
            linked={"s": [{"a": 1, "b": [1]}, {"a": 2, "b": [1]}, {"b": [1.0], "a": 1}]},
        )
    Experiment(
        name="x",
        base_config="b",
        linked={"s": [{"a": 1}, {"a": True}, {"a": float("nan")}, {"a": float("nan")}]},
    )
    Experiment(name="x", base_config="b", variables={"v": [{"x": 1, "y": 2}, {"x": 1, "y": True}]})
    with pytest.raises(ExperimentSchemaError, match=r"appears twice"):
        Experiment(name="x", base_config="b", variables={"v": [{"x": 1, "y": 2}, {"y": 2.0, "x": 1}]})
