"""An evaluation that cannot start is refused when the sweep is generated: exit 2, nothing
written, each problem at its key (file:line for a file, `command line` for a flag) with a fix."""

from __future__ import annotations

import textwrap

import pytest

from tests.conftest import BASE, TINY_BASE
from ttwriter import ConfigWriterError, Evaluation, Experiment, ExperimentSchemaError, generate_configs
from ttwriter.evaluate import harness
from ttwriter.evaluate.check import check_evaluation, decorated_tasks
from ttwriter.evaluate.plan import resolve_paths

TASK_FILE = textwrap.dedent(
    """\
    from inspect_ai import Task, task
    import inspect_ai

    @task
    def letters():
        return Task()

    @inspect_ai.task(name="renamed")
    def original():
        return Task()

    def helper():
        return 1
    """
)


def _experiment_file(tmp_path, evaluation: str, base: str = f"base_config: {BASE}") -> object:
    (tmp_path / "tasks").mkdir(exist_ok=True)
    (tmp_path / "tasks" / "mine.py").write_text(TASK_FILE)
    path = tmp_path / "experiment.yaml"
    path.write_text(f"experiment_name: x\n{base}\nvariables:\n  lora_rank: [4, 8]\nevaluation:\n{evaluation}")
    return path


def test_task_functions_are_found_without_importing_the_file():
    assert decorated_tasks(TASK_FILE) == ["letters", "renamed"]


def test_a_task_that_is_not_in_its_file_is_refused_with_did_you_mean(run_cli, tmp_path):
    path = _experiment_file(tmp_path, "  tasks: [tasks/mine.py@leters]\n")
    result = run_cli(str(path), "--output-dir", str(tmp_path / "out"))
    assert result.code == 2
    assert result.err == (
        f"error: {path}:6: evaluation.tasks: {tmp_path}/tasks/mine.py has no @task 'leters'; did you mean 'letters'?\n"
        "  fix: its tasks: letters, renamed; write tasks/mine.py@letters\n"
    )
    assert not (tmp_path / "out").exists()


def test_a_missing_task_file_and_a_bare_name_are_reported_together(run_cli, tmp_path):
    path = _experiment_file(tmp_path, "  tasks: [tasks/gone.py@x, letters]\n")
    result = run_cli(str(path), "--dry-run")
    assert result.code == 2
    assert result.err == (
        "error: the experiment has 2 problems:\n"
        f"  {path}:6: evaluation.tasks: inspect task file {tmp_path}/tasks/gone.py does not exist\n"
        "    fix: task files are relative to the experiment file; fix the path in 'tasks/gone.py@x'\n"
        f"  {path}:6: evaluation.tasks: inspect task 'letters' is neither a task file nor a registry name\n"
        "    fix: write file.py@task (a file relative to the experiment file) or package/task (an installed "
        "package of inspect tasks, e.g. inspect_evals/gsm8k)\n"
    )


def test_a_registry_name_needs_an_installed_package_of_tasks(tmp_path):
    error = check_evaluation(Evaluation(tasks=("inspect_evalz/gsm8k",)))[0]
    assert error.key == "evaluation.tasks"
    assert error.message.startswith("no installed package provides inspect tasks named 'inspect_evalz'")


def test_a_file_with_no_task_or_bad_python_is_refused(tmp_path):
    (tmp_path / "none.py").write_text("def f():\n    pass\n")
    (tmp_path / "broken.py").write_text("def f(:\n")
    problems = check_evaluation(resolve_paths(Evaluation(tasks=("none.py", "broken.py@f")), tmp_path))
    assert [p.message for p in problems] == [
        f"{tmp_path}/none.py defines no @task function",
        f"{tmp_path}/broken.py is not valid Python: line 1: invalid syntax",
    ]


@pytest.mark.xdist_group("lm_eval")  # with the other test that asks TaskManager: imported once
def test_an_unknown_lm_eval_task_gets_the_closest_names(run_cli, tmp_path):
    path = _experiment_file(tmp_path, "  harness: lm_eval\n  tasks: [hellaswg]\n")
    result = run_cli(str(path), "--dry-run")
    assert result.code == 2
    assert result.err == (
        f"error: {path}:7: evaluation.tasks: lm_eval has no task 'hellaswg' (looked in lm_eval's tasks); "
        "did you mean 'hellaswag' or 'hellaswag_vi' or 'hellaswag_uk'?\n"
        "  fix: use a name from `lm_eval --tasks list`, or set include_path to your task YAMLs\n"
    )


def test_a_missing_include_path_is_refused(run_cli, tmp_path):
    path = _experiment_file(tmp_path, "  harness: lm_eval\n  tasks: [mine]\n  include_path: my_tasks\n")
    result = run_cli(str(path), "--dry-run")
    assert result.code == 2
    assert result.err == (
        f"error: {path}:8: evaluation.include_path: include_path {tmp_path}/my_tasks does not exist\n"
        "  fix: give the folder of your task YAMLs, relative to the experiment file\n"
    )


def test_a_harness_that_is_not_installed_is_refused_with_how_to_install_it(run_cli, tmp_path, monkeypatch):
    # The harness's package name is looked up with importlib.util.find_spec: one that no Python
    # here has is what a machine without ttwriter[eval] sees.
    missing = harness.Harness("lm_eval", "lm_eval_not_installed_here", "lm-eval", "lm_eval")
    monkeypatch.setitem(harness.HARNESSES, "lm_eval", missing)
    path = _experiment_file(tmp_path, "  harness: lm_eval\n  tasks: [hellaswag]\n")
    result = run_cli(str(path), "--output-dir", str(tmp_path / "out"))
    assert result.code == 2
    assert result.err == (
        f"error: {path}:6: evaluation.harness: harness lm_eval needs the Python package lm-eval "
        "(import name lm_eval_not_installed_here), which is not installed here\n"
        "  fix: pip install 'ttwriter[eval]' (inspect-ai and lm-eval with versions that work together)\n"
    )
    assert not (tmp_path / "out").exists()


def test_checkpoints_the_harness_cannot_load_are_refused(tmp_path):
    (tmp_path / "t.py").write_text(TASK_FILE)
    experiment = Experiment(
        name="x",
        base_config_file=str(TINY_BASE),
        controls={
            "tiny_assets": str(tmp_path),
            "checkpointer._component_": "torchtune.training.FullModelTorchTuneCheckpointer",
            "save_adapter_weights_only": True,
        },
        evaluation=Evaluation(tasks=(str(tmp_path / "t.py@letters"),), checkpoints=(0, 1)),
    )
    with pytest.raises(ConfigWriterError) as raised:
        generate_configs(experiment, output_dir=tmp_path / "out", validate=False)
    assert str(raised.value) == (
        "the experiment has 3 problems:\n"
        "  evaluation: evaluation loads each saved epoch with transformers, but the checkpointer is "
        "FullModelTorchTuneCheckpointer, which does not save Hugging Face checkpoints\n"
        "    fix: train from a Hugging Face model with controls checkpointer._component_: "
        "torchtune.training.FullModelHFCheckpointer (checkpoint_files: its .safetensors)\n"
        "  evaluation: save_adapter_weights_only is true, so the saved epochs hold only the LoRA adapter, "
        "not a model the harness can load\n"
        "    fix: set controls save_adapter_weights_only: false (the merged weights are saved too)\n"
        "  evaluation.checkpoints: checkpoints lists epoch 1, but the runs train 1 epoch (saved: epoch_0)\n"
        "    fix: list epoch 0, or checkpoints: last"
    )
    assert not (tmp_path / "out").exists()


def test_a_swept_epoch_count_is_checked_run_by_run(tmp_path):
    (tmp_path / "t.py").write_text(TASK_FILE)
    experiment = Experiment(
        name="x",
        base_config_file=str(TINY_BASE),
        controls={"tiny_assets": str(tmp_path)},
        variables={"epochs": [1, 3]},
        evaluation=Evaluation(tasks=(str(tmp_path / "t.py@letters"),), checkpoints=(2,)),
    )
    with pytest.raises(ExperimentSchemaError) as raised:
        generate_configs(experiment, dry_run=True)
    assert (raised.value.run_id, raised.value.key) == ("run_000", "evaluation.checkpoints")
    assert "the runs train 1 epoch" in raised.value.message
