"""Merge rules: dicts merge deeply, scalars and lists replace, types change only harmlessly."""

from __future__ import annotations

import pytest

from ttwriter import MergeError, TypeMismatchError
from ttwriter.sweep.merge import copy_config, delete_path, set_path


def base() -> dict:
    return {
        "epochs": 1,
        "lr": 3e-4,
        "compile": False,
        "dtype": "bf16",
        "seed": None,
        "modules": ["q_proj", "v_proj"],
        "log_dir": "${output_dir}/logs",
        "model": {"_component_": "lora", "lora_rank": 64, "inner": {"depth": 2, "name": "x"}},
    }


def merged(path: tuple[str, ...], value) -> dict:
    config = base()
    set_path(config, path, value, ("controls", *path))
    return config


def test_a_nested_dict_merges_into_the_base_dict():
    config = merged(("model",), {"lora_rank": 8, "inner": {"name": "y"}, "new": True})
    assert config["model"] == {
        "_component_": "lora",
        "lora_rank": 8,
        "inner": {"depth": 2, "name": "y"},
        "new": True,
    }


def test_merging_keeps_the_base_key_order_and_appends_new_keys():
    config = merged(("model",), {"new": 1, "_component_": "other"})
    assert list(config["model"]) == ["_component_", "lora_rank", "inner", "new"]


@pytest.mark.parametrize(
    "path, value",
    [
        (("epochs",), 3),
        (("lr",), 1e-4),
        (("compile",), True),
        (("dtype",), "fp32"),
        (("modules",), ["o_proj"]),
        (("modules",), []),
        (("model", "inner", "depth"), 5),
    ],
)
def test_scalars_and_lists_replace(path, value):
    config = merged(path, value)
    node = config
    for key in path:
        node = node[key]
    assert node == value


@pytest.mark.parametrize("value", [1, 0.5, "text", True, [1], {"a": 1}])
def test_none_in_the_base_accepts_any_type(value):
    assert merged(("seed",), value)["seed"] == value


@pytest.mark.parametrize("path", [("epochs",), ("dtype",), ("modules",), ("model",)])
def test_none_may_replace_any_value(path):
    assert merged(path, None)[path[0]] is None


def test_none_replaces_a_dict_rather_than_merging():
    assert merged(("model", "inner"), None)["model"]["inner"] is None


@pytest.mark.parametrize("path, value", [(("epochs",), 2.5), (("lr",), 1)])
def test_int_and_float_may_replace_each_other(path, value):
    result = merged(path, value)[path[0]]
    assert result == value and type(result) is type(value)


@pytest.mark.parametrize(
    "path, value, message, fix",
    [
        (
            ("compile",),
            1,
            "'compile' is bool False in the base config, but the experiment sets int 1",
            "give a bool, like the base config's False",
        ),
        (
            ("epochs",),
            True,
            "'epochs' is int 1 in the base config, but the experiment sets bool True",
            "give a number, like the base config's 1",
        ),
        (
            ("lr",),
            "3e-4",
            "'lr' is float 0.0003 in the base config, but the experiment sets str '3e-4'",
            "write 0.0003 or 3.0e-4 without quotes",
        ),
        (
            ("dtype",),
            16,
            "'dtype' is str 'bf16' in the base config, but the experiment sets int 16",
            "quote the value so it stays a string (e.g. '16')",
        ),
        (
            ("modules",),
            "q_proj",
            "'modules' is list ['q_proj', 'v_proj'] in the base config, but the experiment sets str 'q_proj'",
            "give a list, like the base config's ['q_proj', 'v_proj']",
        ),
        (
            ("model", "inner"),
            [1],
            "'model.inner' is dict {'depth': 2, 'name': 'x'} in the base config, but the experiment sets list [1]",
            "give a dict, like the base config's {'depth': 2, 'name': 'x'}",
        ),
        (
            ("model", "inner", "depth"),
            "deep",
            "'model.inner.depth' is int 2 in the base config, but the experiment sets str 'deep'",
            "give a number, like the base config's 2",
        ),
    ],
)
def test_a_type_change_is_a_mismatch_naming_the_key_path(path, value, message, fix):
    origin = "controls." + ".".join(path)
    with pytest.raises(TypeMismatchError) as info:
        merged(path, value)
    assert str(info.value) == f"{origin}: {message}\n  fix: {fix}"


@pytest.mark.parametrize(
    "path, value, fix",
    [
        (("epochs",), "2", "write 2 without quotes"),
        (("epochs",), " 1_000 ", "write 1_000 without quotes"),
        (("lr",), "3e-4", "write 0.0003 or 3.0e-4 without quotes"),
        (("lr",), "1e-12", "write 1.0e-12 without quotes"),
        (("lr",), "0.001", "write 0.001 without quotes"),
        (("epochs",), "sixteen", "give a number, like the base config's 1"),
        (("lr",), "nan", "give a number, like the base config's 0.0003"),
        (("compile",), "True", "write true without quotes"),
        (("compile",), "no", "give true or false, like the base config's false"),
    ],
)
def test_the_fix_for_text_where_a_number_or_bool_belongs_uses_the_researchers_value(path, value, fix):
    with pytest.raises(TypeMismatchError) as info:
        merged(path, value)
    assert info.value.fix == fix


def test_a_mismatch_inside_a_merged_dict_names_the_full_path():
    config = base()
    with pytest.raises(
        TypeMismatchError,
        match=r"^controls.model: 'model.inner.depth' is int 2 in the base config, but the experiment sets str 'two'",
    ):
        set_path(config, ("model",), {"inner": {"depth": "two"}}, ("controls", "model"))


def test_a_mismatch_is_a_merge_error():
    assert issubclass(TypeMismatchError, MergeError)


@pytest.mark.parametrize(
    "path, value",
    [
        (("epochs",), "${trainer.epochs}"),
        (("modules",), "${model.modules}"),
        (("model",), "${other_model}"),
        (("log_dir",), 5),
        (("log_dir",), ["a"]),
    ],
)
def test_interpolations_may_replace_or_be_replaced_by_anything(path, value):
    assert merged(path, value)[path[0]] == value


def test_a_path_through_a_scalar_is_a_mismatch():
    with pytest.raises(
        TypeMismatchError, match=r"^controls.epochs.x: 'epochs' is int 1 in the config, so it has no key 'x'"
    ):
        merged(("epochs", "x"), 1)


def test_missing_parents_are_created_and_none_parents_become_dicts():
    assert merged(("wandb", "project"), "p")["wandb"] == {"project": "p"}
    assert merged(("seed", "value"), 1)["seed"] == {"value": 1}


def test_set_values_are_copies():
    value = {"data_files": ["a.json"]}
    config = merged(("dataset",), value)
    value["data_files"].append("b.json")
    assert config["dataset"] == {"data_files": ["a.json"]}


def test_copy_config_is_deep():
    original = base()
    copy = copy_config(original)
    copy["model"]["inner"]["depth"] = 99
    copy["modules"].append("o_proj")
    assert original == base()


@pytest.mark.parametrize(
    "path, remaining",
    [
        (("seed",), None),
        (("model", "inner", "depth"), {"name": "x"}),
        (("model", "inner"), None),
    ],
)
def test_delete_path_removes_the_key(path, remaining):
    config = base()
    delete_path(config, path, ("delete", *path))
    parent = config
    for key in path[:-1]:
        parent = parent[key]
    assert path[-1] not in parent
    if remaining is not None:
        assert parent == remaining


@pytest.mark.parametrize(
    "path, message",
    [
        (("nothere",), "cannot delete 'nothere': 'nothere' is not in the base config"),
        (
            ("model", "lora_rnak"),
            "cannot delete 'model.lora_rnak': 'model.lora_rnak' is not in the base config; did you mean 'lora_rank'?",
        ),
        (("model", "x", "y"), "cannot delete 'model.x.y': 'model.x' is not in the base config"),
        (("epochs", "x"), "cannot delete 'epochs.x': 'epochs.x' is not in the base config"),
    ],
)
def test_delete_of_a_missing_path_is_an_error(path, message):
    origin = "delete." + ".".join(path)
    config = base()
    with pytest.raises(MergeError) as info:
        delete_path(config, path, ("delete", *path))
    assert str(info.value) == f"{origin}: {message}\n  fix: check the dotted path against the base config"
    assert config == base()
