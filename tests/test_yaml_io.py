"""Reading and writing YAML as torchtune (OmegaConf) reads it."""

from __future__ import annotations

import math

import pytest
from omegaconf import OmegaConf

from ttwriter.errors import ExperimentLoadError
from ttwriter.frozen import freeze
from ttwriter.yaml_io import dump_yaml, parse_yaml, read_yaml


def typed(value):
    """A value with every scalar's type spelled out, so 1, 1.0 and True compare unequal."""
    if isinstance(value, dict):
        return {k: typed(v) for k, v in value.items()}
    if isinstance(value, list):
        return [typed(v) for v in value]
    return (type(value).__name__, value)


def omegaconf_reads(text: str):
    """What torchtune would see: OmegaConf's reading of the text, interpolations unresolved."""
    return OmegaConf.to_container(OmegaConf.create(text), resolve=False)


# ---------------------------------------------------------------- reading


@pytest.mark.parametrize(
    "text, expected",
    [
        ("3e-4", 3e-4),
        ("1e6", 1e6),
        ("-1E-5", -1e-5),
        ("1.5", 1.5),
        ("1.", 1.0),
        (".inf", math.inf),
        ("-.inf", -math.inf),
        ("1_000", 1000),
        ("0x1F", 31),
        ("42", 42),
        ("2025-11-12", "2025-11-12"),
        ("2025-11-12T10:30:00", "2025-11-12T10:30:00"),
        ("yes", True),
        ("off", False),
        ("null", None),
        ("~", None),
        ("'3e-4'", "3e-4"),
        ("${output_dir}/logs", "${output_dir}/logs"),
    ],
)
def test_scalars_are_read_as_omegaconf_reads_them(text, expected):
    data, _ = parse_yaml(f"key: {text}\n")
    assert typed(data) == typed({"key": expected})
    assert typed(data) == typed(omegaconf_reads(f"key: {text}\n"))


def test_exponent_floats_are_floats_and_dates_stay_strings():
    data, _ = parse_yaml("learning_rate: 3e-4\ndate: 2025-11-12\nsteps: 1_000\n")
    assert data == {"learning_rate": 0.0003, "date": "2025-11-12", "steps": 1000}
    assert [type(v) for v in data.values()] == [float, str, int]


def test_every_key_has_its_line():
    _, lines = parse_yaml("name: x\ncontrols:\n  dataset:\n    packed: true\nvariables:\n  - {a: 1}\n")
    assert lines == {
        ("name",): 1,
        ("controls",): 2,
        ("controls", "dataset"): 3,
        ("controls", "dataset", "packed"): 4,
        ("variables",): 5,
        ("variables", "0", "a"): 6,
    }


@pytest.mark.parametrize("text", ["", "# only a comment\n"])
def test_an_empty_document_is_none(text):
    assert parse_yaml(text) == (None, {})


@pytest.mark.parametrize(
    "text, key, first, again",
    [
        ("a: 1\nb: 2\na: 3\n", "a", 1, 3),
        ("x:\n  y: 1\n  z: 2\n  y: 3\n", "x.y", 2, 4),
        ("x:\n  inner:\n    deep: 1\n\n    deep: 2\n", "x.inner.deep", 3, 5),
        ("a: {b: 1, b: 2}\n", "a.b", 1, 1),
    ],
)
def test_duplicate_keys_are_rejected_naming_both_lines(text, key, first, again):
    with pytest.raises(ExperimentLoadError) as info:
        parse_yaml(text, "experiment.yaml")
    assert str(info.value).startswith(
        f"experiment.yaml:{again}: {key}: duplicate key {key!r} "
        f"(first on line {first}, again on line {again})"
    )
    assert (info.value.line, info.value.key) == (again, key)


def test_the_same_key_under_different_parents_is_not_a_duplicate():
    data, _ = parse_yaml("model:\n  lora_rank: 8\noptimizer:\n  lora_rank: 9\n")
    assert data == {"model": {"lora_rank": 8}, "optimizer": {"lora_rank": 9}}


def test_a_merge_key_is_not_a_duplicate():
    data, _ = parse_yaml("base: &b {x: 1}\nc:\n  <<: *b\n  y: 2\n")
    assert data == {"base": {"x": 1}, "c": {"x": 1, "y": 2}}


@pytest.mark.parametrize(
    "text, line, problem",
    [
        ("a: [1, 2\nb: 3\n", 2, "expected ',' or ']'"),
        ("a: 1\n  b: 2\n", 2, "mapping values are not allowed here"),
        ("a: 1\nb: 'open\n", 3, "found unexpected end of stream"),
        ("a: 1\n---\nb: 2\n", 2, "expected a single document"),
    ],
)
def test_syntax_errors_name_the_line(text, line, problem):
    with pytest.raises(ExperimentLoadError, match=f"^experiment.yaml:{line}: not valid YAML: .*{problem}"):
        parse_yaml(text, "experiment.yaml")


@pytest.mark.parametrize(
    "text",
    [
        "a: !!python/object:os.system {}\n",
        "a: !!python/name:os.system\n",
        "a: !!python/object/apply:os.system ['echo hi']\n",
    ],
)
def test_python_tags_are_refused(text):
    with pytest.raises(
        ExperimentLoadError, match=r"^x.yaml:1: not valid YAML: could not determine a constructor"
    ):
        parse_yaml(text, "x.yaml")


def test_read_yaml_reads_a_file_and_names_a_missing_one(tmp_path):
    path = tmp_path / "cfg.yaml"
    path.write_text("lr: 3e-4\n", encoding="utf-8")
    assert read_yaml(path) == ({"lr": 3e-4}, {("lr",): 1})
    with pytest.raises(ExperimentLoadError, match=r"missing\.yaml: cannot read file: No such file"):
        read_yaml(tmp_path / "missing.yaml")


# ---------------------------------------------------------------- writing


@pytest.mark.parametrize(
    "value",
    [
        # floats stay floats
        1e-5,
        3e-4,
        1e6,
        1e16,
        2.5e-10,
        -0.5,
        1.0,
        math.inf,
        -math.inf,
        # strings a YAML reader could take for something else stay strings
        "3e-4",
        "1e5",
        "1.0",
        "1",
        "1_000",
        "0x1F",
        ".inf",
        "yes",
        "no",
        "on",
        "Off",
        "true",
        "TRUE",
        "null",
        "~",
        "",
        "2025-11-12",
        "2025-11-12T10:00:00",
        "12:30",
        "[1, 2]",
        "{a: 1}",
        "a: b",
        "# not a comment",
        "- not a list",
        "line one\nline two",
        "ünïcode",
        # interpolations are written as they are
        "${output_dir}/logs",
        "${oc.env:HOME}",
        # everything else
        0,
        1000,
        -3,
        2**40,
        True,
        False,
        None,
        [1, 2.0, "3"],
        [],
        {},
        {"nested": {"lr": 3e-4, "when": "2025-11-12"}},
    ],
)
def test_dump_yaml_reads_back_in_omegaconf_unchanged(value):
    data = {"key": value}
    assert typed(omegaconf_reads(dump_yaml(data))) == typed(data)


def test_dump_yaml_reads_back_unchanged_from_a_file(tmp_path):
    data = {
        "output_dir": "/tmp/out",
        "optimizer": {"_component_": "torch.optim.AdamW", "lr": 3e-4, "weight_decay": 0.01},
        "metric_logger": {"log_dir": "${output_dir}/logs"},
        "tags": ["yes", "1", "2025-11-12"],
        "max_seq_len": None,
    }
    path = tmp_path / "config.yaml"
    path.write_text(dump_yaml(data), encoding="utf-8")
    assert typed(OmegaConf.to_container(OmegaConf.load(path), resolve=False)) == typed(data)


def test_dump_yaml_keeps_key_order():
    data = {"z": 1, "a": {"c": 1, "b": 2}, "m": 3}
    back = omegaconf_reads(dump_yaml(data))
    assert list(back) == ["z", "a", "m"]
    assert list(back["a"]) == ["c", "b"]


def test_dump_yaml_writes_block_style_floats_with_a_dot():
    assert dump_yaml({"lr": 3e-4, "optimizer": {"weight_decay": 1e-5}}) == (
        "lr: 0.0003\noptimizer:\n  weight_decay: 1.0e-05\n"
    )


def test_dump_yaml_writes_frozen_experiment_data_as_plain_yaml():
    frozen = freeze({"dataset": {"data_files": ["a.json", "b.json"]}, "lr": 1e-4})
    assert omegaconf_reads(dump_yaml(frozen)) == {
        "dataset": {"data_files": ["a.json", "b.json"]},
        "lr": 1e-4,
    }


def test_dump_yaml_does_not_write_anchors_for_shared_values():
    shared = {"x": 1}
    text = dump_yaml({"a": shared, "b": shared})
    assert "&" not in text and "*" not in text
    assert omegaconf_reads(text) == {"a": {"x": 1}, "b": {"x": 1}}


def test_what_dump_yaml_writes_parse_yaml_reads_back():
    data = {"lr": 3e-4, "date": "2025-11-12", "flag": "yes", "n": 1_000, "log": "${output_dir}/logs"}
    assert typed(parse_yaml(dump_yaml(data))[0]) == typed(data)
