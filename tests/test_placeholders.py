"""The one `{name}` grammar: config values, the output folder and the training command read alike."""

from __future__ import annotations

import datetime as dt

import pytest

from ttwriter import Experiment, ExperimentSchemaError, SlurmConfig
from ttwriter.folder.target import template_dir
from ttwriter.placeholders import NAME, TEXT, is_template, names, substitute, tokens, unknown


def test_names_escapes_and_interpolations():
    assert tokens("a{run_id}{{x}}${oc.env:HOME,{y}}") == [
        (TEXT, "a"),
        (NAME, "run_id"),
        (TEXT, "{"),
        (TEXT, "x"),
        (TEXT, "}"),
        (TEXT, "${oc.env:HOME,{y}}"),
    ]


def test_a_dotted_variable_is_one_placeholder():
    assert names({"a": ["/d/{dataset.packed}/{run_id}"], "b": 3}) == {"dataset.packed", "run_id"}


def test_substitution_fills_names_at_any_depth_and_unescapes_braces():
    value = {"dir": "/out/{run_id}", "tags": ["{{literal}}", "${output_dir}"]}

    assert substitute(value, {"run_id": "run_003"}) == {
        "dir": "/out/run_003",
        "tags": ["{literal}", "${output_dir}"],
    }
    assert is_template("{{x}}") and is_template("{a}") and not is_template("${a}")


def test_a_group_that_is_no_placeholder_is_text_unless_strict():
    assert names("{not valid} {ok}") == {"ok"}
    assert unknown("{not valid} {ok} {timestamp}", ["timestamp"]) == ["not valid", "ok"]


def test_without_interpolations_a_dollar_is_a_plain_character():
    assert substitute("$HOME/{x}", {"x": "y"}, interpolations=False) == "$HOME/y"
    assert substitute("${x}", {"x": "y"}) == "${x}"


NOW = dt.datetime(2026, 1, 2, 3, 4, 5)


@pytest.mark.parametrize(
    ("template", "folder"),
    [
        ("out/{experiment_name}/{timestamp}", "out/exp/20260102_030405"),
        ("out/{{x}}_{experiment_name}", "out/{x}_exp"),
    ],
)
def test_the_output_folder_template(tmp_path, template, folder):
    path, default = template_dir(Experiment(name="exp", base_config="x/y"), tmp_path / template, NOW, False)

    assert (path, default) == (tmp_path / folder, False)


@pytest.mark.parametrize("template", ["{experiment}", "{ timestamp}", "{}", "${timestamp}x{name}"])
def test_the_output_folder_refuses_anything_but_its_two_names(tmp_path, template):
    with pytest.raises(ExperimentSchemaError, match=r"unknown placeholder \{.*\} in output folder"):
        template_dir(Experiment(name="exp", base_config="x/y"), tmp_path / template, NOW, False)


def test_the_training_command_keeps_shell_braces_and_knows_its_names():
    SlurmConfig(command="tune run {recipe} --config {config} ${EXTRA:-} {a,b}")

    with pytest.raises(ExperimentSchemaError, match=r"unknown placeholder \{cofig\}.*did you mean 'config'"):
        SlurmConfig(command="tune run {recipe} --config {cofig}")
