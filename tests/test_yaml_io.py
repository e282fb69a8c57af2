"""Reading and writing YAML as torchtune (OmegaConf) reads it."""

from __future__ import annotations

import math

import pytest
from omegaconf import OmegaConf

from ttwriter.errors import ExperimentLoadError
from ttwriter.experiment.frozen import freeze
from ttwriter.safe_read import MAX_DEPTH
from ttwriter.yaml_io import dump_yaml, load_config_file, parse_scalar, parse_yaml, read_yaml


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
        ("a: [1, 2\nb: 3\n", 1, "the list opened with '\\[' on this line is never closed"),
        ("a: {x: 1\n", 1, "the mapping opened with '{' on this line is never closed"),
        ("a: 1\n  b: 2\n", 2, "mapping values are not allowed here"),
        ("a: 1\nb: 'open\n", 2, 'the quoted text opened with "\'" on this line is never closed'),
        ("a: 1\n---\nb: 2\n", 2, "expected a single document"),
    ],
)
def test_syntax_errors_name_the_line(text, line, problem):
    with pytest.raises(ExperimentLoadError, match=f"^experiment.yaml:{line}: not valid YAML: .*{problem}"):
        parse_yaml(text, "experiment.yaml")


def test_a_tab_in_the_indentation_is_told_to_use_spaces():
    with pytest.raises(ExperimentLoadError) as info:
        parse_yaml("experiment_name: a\ncontrols:\n\tepochs: 1\n", "experiment.yaml")
    assert str(info.value) == (
        "experiment.yaml:3: not valid YAML: a tab character, which YAML does not allow for indentation\n"
        "  fix: YAML does not allow tabs for indentation: use spaces"
    )


@pytest.mark.parametrize(
    "text",
    [
        "variables:\n  lora_rank: [8, 16\n",
        "variables:\n  lora_rank: [8, 16",
        "variables:\n  lora_rank: [8, 16  # ranks\ncontrols:\n  epochs: 1\n",
    ],
    ids=["at the end", "no final line break", "more keys after it"],
)
def test_an_unclosed_list_is_reported_where_it_opens_never_past_the_end(text):
    with pytest.raises(ExperimentLoadError) as info:
        parse_yaml(text, "experiment.yaml")
    assert str(info.value) == (
        "experiment.yaml:2: not valid YAML: the list opened with '[' on this line is never closed\n"
        "  fix: close it: lora_rank: [8, 16]"
    )


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


# ---------------------------------------------------------------- hostile input: bounded work


def billion_laughs(levels: int = 9) -> str:
    """The classic alias bomb: each anchor is a list of nine aliases of the one before."""
    lines = ["a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for previous, name in zip("abcdefghi", "bcdefghij"[: levels - 1], strict=False):
        lines.append(f"{name}: &{name} [" + ", ".join([f"*{previous}"] * 9) + "]")
    return "\n".join(lines) + "\n"


def test_an_alias_bomb_is_refused_naming_the_alias_that_expands_most():
    text = billion_laughs()
    assert len(text) < 700

    with pytest.raises(ExperimentLoadError) as info:
        parse_yaml(text, "experiment.yaml")

    assert info.value.file == "experiment.yaml"
    assert info.value.line == 9  # the line using *h, the largest anchor
    # values counted with their lists: *a is 10 (a list of 9), *b is 1 + 9 * 10 = 91, ...
    assert "aliases expand this document to 490,329,064 values from 28 written" in info.value.message
    assert "alias *h alone stands for 48,427,561 values" in info.value.message
    assert info.value.fix == "write the value of &h out where it is needed, without aliases inside it"


def test_generated_configs_read_back_have_the_same_bounds(tmp_path):
    path = tmp_path / "run_000.yaml"
    path.write_text(billion_laughs(), encoding="utf-8")

    with pytest.raises(ExperimentLoadError, match="aliases expand this document") as info:
        load_config_file(path)
    assert info.value.file == str(path)


def test_ordinary_aliases_and_merge_keys_still_work_and_keep_key_lines():
    text = (
        "defaults: &d\n  lr: 0.1\n  decay: 0.01\n"
        "runs:\n  - <<: *d\n    name: a\n  - <<: *d\n    name: b\n"
        "copy: *d\n"
    )
    data, lines = parse_yaml(text, "experiment.yaml")

    assert data["runs"] == [{"lr": 0.1, "decay": 0.01, "name": "a"}, {"lr": 0.1, "decay": 0.01, "name": "b"}]
    assert data["copy"] == {"lr": 0.1, "decay": 0.01}
    assert lines[("defaults", "lr")] == 2
    assert lines[("runs", "1", "name")] == 8
    assert lines[("copy",)] == 9


def test_a_moderate_expansion_is_accepted():
    # 9 x 9 x 9 = 729 values from about 30 written: far below the limit
    data, _ = parse_yaml(billion_laughs(levels=3), "experiment.yaml")
    assert len(data["c"]) == 9 and len(data["c"][0][0]) == 9


def test_an_alias_inside_its_own_anchor_is_refused():
    with pytest.raises(ExperimentLoadError) as info:
        parse_yaml("ok: 1\nloop: &x [1, *x]\n", "experiment.yaml")
    assert info.value.line == 2
    assert "the value contains itself" in info.value.message


@pytest.mark.parametrize(
    "text, line",
    [
        ("a: " + "[" * 51 + "]" * 51 + "\n", 1),
        ("x: 1\nb:\n" + "".join("  " * i + f"k{i}:\n" for i in range(1, 52)) + "  " * 52 + "v: 1\n", None),
        # through aliases: 30 levels written, used 30 levels deep
        ("a: &a " + "[" * 30 + "]" * 30 + "\nb: " + "[" * 30 + "*a" + "]" * 30 + "\n", 2),
    ],
    ids=["flow", "block", "alias"],
)
def test_nesting_deeper_than_the_limit_is_refused_naming_the_line(text, line):
    with pytest.raises(ExperimentLoadError) as info:
        parse_yaml(text, "experiment.yaml")
    assert info.value.message == f"lists and mappings nested more than {MAX_DEPTH} levels deep"
    assert info.value.line is not None
    if line is not None:
        assert info.value.line == line


def test_nesting_up_to_the_limit_is_accepted():
    data, _ = parse_yaml("a: " + "[" * (MAX_DEPTH - 1) + "1" + "]" * (MAX_DEPTH - 1) + "\n")
    assert data["a"] == freeze_list(MAX_DEPTH - 1)


def freeze_list(levels: int):
    value = 1
    for _ in range(levels):
        value = [value]
    return value


@pytest.mark.parametrize("number", ["1" * 4301, "-" + "9" * 5000, "0x" + "f" * 4000])
def test_an_integer_python_cannot_print_is_refused_with_its_line(number):
    with pytest.raises(ExperimentLoadError) as info:
        parse_yaml(f"a: 1\nsteps: {number}\n", "experiment.yaml")
    assert info.value.line == 2
    assert "integer" in info.value.message and "4300" in info.value.message
    assert info.value.fix.startswith("quote it to keep it as text")


def test_an_integer_at_the_limit_is_read():
    data, _ = parse_yaml("n: " + "9" * 4300 + "\n")
    assert data["n"] == 10**4300 - 1


def test_a_nul_byte_in_a_value_is_refused():
    with pytest.raises(ExperimentLoadError) as info:
        parse_yaml('a: 1\npath: "data\\0.json"\n', "experiment.yaml")
    assert info.value.line == 2
    assert info.value.message == "a NUL byte (\\0) in 'data\\x00.json': no path or setting can hold one"
    assert info.value.fix == "remove it: 'data.json'"


# ---------------------------------------------------------------- hostile input: encodings


def test_a_file_that_is_not_utf8_names_the_byte_and_its_line(tmp_path):
    path = tmp_path / "experiment.yaml"
    path.write_bytes("experiment_name: x\nnotes: caf\u00e9\n".encode("latin-1"))

    with pytest.raises(ExperimentLoadError) as info:
        read_yaml(path)

    assert info.value.file == str(path)
    assert info.value.line == 2
    assert info.value.message == (
        "not UTF-8 text: byte 0xe9 at byte offset 29 (line 2, column 11) cannot be decoded "
        "(invalid continuation byte)"
    )
    assert "iconv" in info.value.fix


def test_a_utf8_bom_and_windows_line_breaks_are_read(tmp_path):
    path = tmp_path / "experiment.yaml"
    path.write_bytes(b"\xef\xbb\xbfexperiment_name: x\r\nnotes: caf\xc3\xa9\r\n")
    data, lines = read_yaml(path)
    assert data == {"experiment_name": "x", "notes": "caf\u00e9"}
    assert lines[("notes",)] == 2


# ---------------------------------------------------------------- command-line values


def test_a_command_line_value_that_is_not_yaml_names_the_flag_and_how_to_quote_it():
    with pytest.raises(ExperimentLoadError) as info:
        parse_scalar("[1", "--set epochs")
    assert str(info.value) == (
        "command line: --set epochs: not valid YAML: the list opened with '[' is never closed\n"
        """  fix: the value is read as YAML; to pass it as text, quote it: --set epochs='"[1"'"""
    )
    with pytest.raises(ExperimentLoadError) as info:
        parse_scalar("{a", "--controls.lr")
    assert info.value.fix.endswith("""quote it: --controls.lr '"{a"'""")
