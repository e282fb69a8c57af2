"""The `Evaluation` field: its values checked with the key and a fix, in Python, experiment.yaml,
experiment.json and on the command line, and inherited by children like any field."""

from __future__ import annotations

import dataclasses
import json

import pytest

from tests.conftest import BASE, PY_EXAMPLE
from ttwriter import (
    Evaluation,
    Experiment,
    ExperimentProblemsError,
    ExperimentSchemaError,
    generate_configs,
    load_experiment,
)


def _error(**fields) -> ExperimentSchemaError:
    with pytest.raises(ExperimentSchemaError) as raised:
        Evaluation(**fields)
    return raised.value


@pytest.mark.parametrize(
    ("fields", "key", "message", "fix"),
    [
        (
            {"harness": "lm-eval"},
            "evaluation.harness",
            "unknown harness 'lm-eval'; did you mean 'lm_eval'?",
            "harness: inspect (inspect-ai) or harness: lm_eval (lm-evaluation-harness)",
        ),
        (
            {"tasks": ["a.py@x", "a.py@x"]},
            "evaluation.tasks",
            "task 'a.py@x' is listed twice",
            "list each task once",
        ),
        (
            {"tasks": ["a.py@x"], "include_path": "tasks/"},
            "evaluation.include_path",
            "include_path is a folder of lm_eval task YAMLs, but the harness is inspect",
            "for inspect, name the task file in tasks (file.py@task); or set harness: lm_eval",
        ),
        ({"limit": 0}, "evaluation.limit", "limit must be a whole number >= 1, got 0", "e.g. limit: 10"),
        (
            {"batch_size": True},
            "evaluation.batch_size",
            "batch_size must be a whole number >= 1, got True",
            "e.g. batch_size: 10",
        ),
        (
            {"checkpoints": "first"},
            "evaluation.checkpoints",
            "checkpoints 'first' is not last, all or a list of epochs",
            "checkpoints: last, checkpoints: all, or epoch numbers such as checkpoints: [0, 2]",
        ),
        (
            {"checkpoints": [1, 1]},
            "evaluation.checkpoints",
            "checkpoints lists an epoch twice: [1, 1]",
            "list each epoch once",
        ),
        (
            {"harness": "lm_eval", "model_args": {"pretrained": "gpt2"}},
            "evaluation.model_args.pretrained",
            "model argument 'pretrained' is set by ttwriter: the checkpoint of each run",
            "remove it",
        ),
        (
            {"model_args": {"device": "cuda"}},
            "evaluation.model_args.device",
            "model argument 'device' is set by ttwriter: the device field (evaluation.device)",
            "remove it; set evaluation.device instead",
        ),
        (
            {"harness": "lm_eval", "model_args": {"revision": "a,b"}},
            "evaluation.model_args.revision",
            "model argument 'revision' value 'a,b' contains a comma, which separates lm_eval's model_args",
            "write the value without it",
        ),
        (
            {"device": "cuda\n0"},
            "evaluation.device",
            "device 'cuda\\n0' contains a control character (a line break, a tab, NUL)",
            "write it without them: 'cuda0'",
        ),
    ],
)
def test_bad_values_name_the_key_and_a_fix(fields, key, message, fix):
    error = _error(**fields)
    assert (error.key, error.message, error.fix) == (key, message, fix)


def test_checkpoints_are_last_all_or_sorted_epochs():
    assert Evaluation(checkpoints="all").epochs(3) == (0, 1, 2)
    assert Evaluation().epochs(3) == (2,)
    assert Evaluation(checkpoints=[2, 0]).checkpoints == (0, 2)
    assert Evaluation(checkpoints=1).epochs(3) == (1,)


def test_unknown_settings_are_refused_with_did_you_mean():
    with pytest.raises(ExperimentSchemaError) as raised:
        Evaluation.from_mapping({"harness": "inspect", "taks": ["a.py@x"]})
    assert raised.value.key == "evaluation.taks"
    assert raised.value.message == "unknown field 'taks'; did you mean 'tasks'?"


def test_every_bad_setting_is_reported_together():
    with pytest.raises(ExperimentProblemsError) as raised:
        Evaluation(harness="lm-eval", limit=0, model_args={"device": "cpu", "x": [1]})
    assert [p.key for p in raised.value.problems] == [
        "evaluation.harness",
        "evaluation.limit",
        "evaluation.model_args.device",
        "evaluation.model_args.x",
    ]


def test_an_experiment_needs_a_task_to_evaluate():
    with pytest.raises(ExperimentSchemaError) as raised:
        Experiment(name="x", base_config=BASE, evaluation={"harness": "lm_eval"})
    assert (raised.value.key, raised.value.message, raised.value.fix) == (
        "evaluation.tasks",
        "evaluation has no tasks, so there would be nothing to evaluate",
        "name at least one, e.g. evaluation.tasks: [hellaswag], or leave evaluation out",
    )


def test_a_mapping_becomes_an_evaluation_and_children_inherit_or_replace_it():
    parent = Experiment(name="x", base_config=BASE, evaluation={"harness": "lm_eval", "tasks": ["hellaswag"]})
    assert parent.evaluation == Evaluation(harness="lm_eval", tasks=("hellaswag",))
    child = dataclasses.replace(parent, name="y")
    assert child.evaluation is parent.evaluation
    assert dataclasses.replace(parent, evaluation=None).evaluation is None
    with pytest.raises(ExperimentSchemaError) as raised:
        Experiment(name="x", base_config=BASE, evaluation="hellaswag")
    assert raised.value.key == "evaluation"


def test_experiment_yaml_errors_point_at_the_line(tmp_path):
    path = tmp_path / "experiment.yaml"
    path.write_text(
        f"experiment_name: x\nbase_config: {BASE}\nevaluation:\n  harness: lm_eval\n  tasks: [hellaswag]\n  limit: -3\n"
    )
    with pytest.raises(ExperimentSchemaError) as raised:
        load_experiment(path)
    assert str(raised.value) == (
        f"{path}:6: evaluation.limit: limit must be a whole number >= 1, got -3\n  fix: e.g. limit: 10"
    )


def test_experiment_yaml_without_evaluation_or_with_null_has_none(tmp_path):
    path = tmp_path / "experiment.yaml"
    path.write_text(f"experiment_name: x\nbase_config: {BASE}\nevaluation: null\n")
    assert load_experiment(path).experiment.evaluation is None


def test_the_snapshot_records_the_evaluation_with_absolute_paths_and_regenerates(tmp_path):
    tasks = tmp_path / "tasks"
    tasks.mkdir()
    (tasks / "t.py").write_text("from inspect_ai import task\n\n@task\ndef mine():\n    pass\n")
    experiment_file = tmp_path / "experiment.yaml"
    experiment_file.write_text(
        f"experiment_name: x\nbase_config: {BASE}\nvariables:\n  lora_rank: [4, 8]\n"
        "evaluation:\n  tasks: [tasks/t.py@mine]\n  model_args: {do_sample: false}\n"
    )
    first = generate_configs(experiment_file, output_dir=tmp_path / "a", validate=False)
    snapshot = json.loads((first.experiment_dir / "experiment.json").read_text())
    assert snapshot["experiment"]["evaluation"]["tasks"] == [f"{tasks / 't.py'}@mine"]
    assert snapshot["experiment"]["evaluation"]["model_args"] == {"do_sample": False}
    again = generate_configs(
        first.experiment_dir / "experiment.json", output_dir=tmp_path / "b", validate=False
    )
    mapping = lambda d: (d / "run_mapping.yaml").read_text().replace(str(d), "<DIR>")  # noqa: E731
    assert mapping(again.experiment_dir) == mapping(first.experiment_dir)


def test_the_command_line_adds_or_changes_the_evaluation(run_cli, tmp_path):
    result = run_cli(
        str(PY_EXAMPLE),
        "--evaluation.harness",
        "lm_eval",
        "--evaluation.tasks",
        "hellaswag",
        "arc_easy",
        "--evaluation.limit",
        "5",
        "--evaluation.model-args",
        "{dtype: bfloat16}",
        "--evaluation.checkpoints",
        "all",
        "--output-dir",
        str(tmp_path / "out"),
        "--no-validate",
    )
    assert result.code == 0, result.err
    evaluation = json.loads((tmp_path / "out" / "experiment.json").read_text())["experiment"]["evaluation"]
    assert {k: evaluation[k] for k in ("harness", "tasks", "limit", "model_args", "checkpoints")} == {
        "harness": "lm_eval",
        "tasks": ["hellaswag", "arc_easy"],
        "limit": 5,
        "model_args": {"dtype": "bfloat16"},
        "checkpoints": "all",
    }


@pytest.mark.parametrize(
    "words",
    [
        ["--evaluation.tasks", "hellaswag", "arc_easy", "--evaluation.args", "write_out", "log_samples"],
        ["--evaluation.tasks", "[hellaswag, arc_easy]", "--evaluation.args", "[write_out, log_samples]"],
    ],
    ids=["words", "yaml-lists"],
)
@pytest.mark.parametrize("checkpoints", [["0"], ["[0]"]], ids=["word", "yaml-list"])
def test_a_list_setting_takes_words_or_one_yaml_list_alike(run_cli, tmp_path, words, checkpoints):
    """Flag values are read as YAML, so `[0, 2]` is the list experiment.yaml would write, not one
    value that is a list (it was refused as 'epoch [0, 2] is not an epoch number')."""
    result = run_cli(
        str(PY_EXAMPLE),
        "--evaluation.harness",
        "lm_eval",
        *words,
        "--evaluation.checkpoints",
        *checkpoints,
        "--output-dir",
        str(tmp_path / "out"),
        "--no-validate",
    )
    assert result.code == 0, result.err
    evaluation = json.loads((tmp_path / "out" / "experiment.json").read_text())["experiment"]["evaluation"]
    assert {k: evaluation[k] for k in ("tasks", "args", "checkpoints")} == {
        "tasks": ["hellaswag", "arc_easy"],
        "args": ["write_out", "log_samples"],
        "checkpoints": [0],
    }


def test_a_bad_value_on_the_command_line_names_it(run_cli, tmp_path):
    result = run_cli(
        str(PY_EXAMPLE),
        "--evaluation.harness",
        "lm_eval",
        "--evaluation.tasks",
        "hellaswag",
        "--evaluation.checkpoints",
        "0",
        "0",
        "--dry-run",
    )
    assert result.code == 2
    assert result.err == (
        "error: command line: evaluation.checkpoints: checkpoints lists an epoch twice: [0, 0]\n"
        "  fix: list each epoch once\n"
    )


def test_without_evaluation_flags_an_experiment_keeps_none(run_cli, tmp_path):
    result = run_cli(str(PY_EXAMPLE), "--output-dir", str(tmp_path / "out"), "--no-validate")
    assert result.code == 0, result.err
    assert json.loads((tmp_path / "out" / "experiment.json").read_text())["experiment"]["evaluation"] is None
    assert not (tmp_path / "out" / "eval.sbatch").exists()
    assert "\nevaluation:" not in (tmp_path / "out" / "run_mapping.yaml").read_text()
