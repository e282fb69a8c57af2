"""The error tree's shared words: key paths and "did you mean", the same in every message."""

from __future__ import annotations

import pytest

from ttwriter.errors import ConfigWriterError, did_you_mean, join_key, key_path, suggestion


@pytest.mark.parametrize(
    ("parts", "prefix", "text"),
    [
        (("runs", 3, "params"), "", "runs[3].params"),
        ((0, "packed"), "dataset", "dataset[0].packed"),
        ((), "controls", "controls"),
        ((2,), "", "[2]"),
    ],
)
def test_key_paths_are_dotted_with_list_indexes_in_brackets(parts, prefix, text):
    assert key_path(parts, prefix) == text


def test_one_level_down_a_key_path():
    assert [join_key("", "model"), join_key("model", "lora_rank"), join_key("dataset", 1)] == [
        "model",
        "model.lora_rank",
        "dataset[1]",
    ]


def test_did_you_mean_names_the_closest_spellings():
    assert did_you_mean("lora_rnak", ["lora_rank", "lora_alpha", "epochs"]) == (
        "did you mean 'lora_rank' or 'lora_alpha'?"
    )
    assert did_you_mean("lora_rnak", ["lora_rank"], capital=True) == "Did you mean 'lora_rank'?"
    assert did_you_mean("zzz", ["lora_rank"]) is None


def test_a_suggestion_of_chosen_names_can_show_them_as_they_are():
    assert suggestion(["a.b", "a.c"], show=str) == "did you mean a.b or a.c?"
    assert suggestion([]) is None


def test_an_error_says_where_then_what_then_the_fix():
    error = ConfigWriterError("is not a number", file="exp.yaml", line=3, key="controls.lr", fix="write 1e-4")

    assert str(error) == "exp.yaml:3: controls.lr: is not a number\n  fix: write 1e-4"
