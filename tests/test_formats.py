"""The shared text formats: params, lists that end in "N more", counts and UTC timestamps."""

from __future__ import annotations

import datetime as dt

import pytest

from ttwriter.formats import LIST_LIMIT, UTC_FORMAT, counted, listed, params_text, utc_now


def test_params_are_written_as_yaml_scalars_in_their_order():
    params = {"lora_rank": 8, "learning_rate": 3e-4, "packed": True, "name": "a b", "dims": [4, 8]}

    assert params_text(params) == "lora_rank=8  learning_rate=0.0003  packed=true  name=a b  dims=[4, 8]"
    assert (
        params_text(params, ", ") == "lora_rank=8, learning_rate=0.0003, packed=true, name=a b, dims=[4, 8]"
    )


def test_params_of_a_run_without_variables_are_empty_so_each_caller_says_what_it_means():
    assert params_text({}) == ""


def test_a_faster_scalar_writer_is_used_when_given():
    assert params_text({"a": 1, "b": 2}, ", ", lambda key, value: f"<{key}:{value}>") == "a=<a:1>, b=<b:2>"


@pytest.mark.parametrize(
    ("n", "text"),
    [
        (0, ""),
        (1, "run_000"),
        (LIST_LIMIT, "run_000, run_001, run_002, run_003, run_004"),
        (LIST_LIMIT + 1, "run_000, run_001, run_002, run_003, run_004 and 1 more"),
        (12, "run_000, run_001, run_002, run_003, run_004 and 7 more"),
    ],
)
def test_a_long_list_names_the_first_few_and_counts_the_rest(n, text):
    assert listed([f"run_{i:03d}" for i in range(n)]) == text


def test_counts_agree_with_their_number():
    assert [counted(0), counted(1), counted(2), counted(1, "warning"), counted(3, "warning")] == [
        "0 runs",
        "1 run",
        "2 runs",
        "1 warning",
        "3 warnings",
    ]


def test_timestamps_are_utc_to_the_second():
    before = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)

    stamp = utc_now()

    parsed = dt.datetime.strptime(stamp, UTC_FORMAT).replace(tzinfo=dt.timezone.utc)
    assert stamp.endswith("Z") and len(stamp) == len("2026-11-21T07:22:45Z")
    assert before <= parsed <= dt.datetime.now(dt.timezone.utc)
