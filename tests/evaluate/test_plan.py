"""What each run's evaluation does, as generation records it: checkpoint folders under the run's
output_dir, results under `<output_dir>/eval/`, the exact harness command; and eval.sbatch."""

from __future__ import annotations

import shlex
import subprocess

import pytest
import yaml

from tests.conftest import LETTERS, TINY_FAMILY, write_letters
from ttwriter import ExperimentDirError, generate_configs
from ttwriter.folder.read import read_experiment_folder

SUMS = TINY_FAMILY / "sums_lm_eval_04_01.py"
TASK = TINY_FAMILY / "eval" / "letters.py"


@pytest.fixture
def letters(tmp_path, run_cli):
    folder = tmp_path / "letters"
    write_letters(run_cli, folder, tmp_path / "assets")
    return folder


def test_each_run_records_its_checkpoint_results_and_command(letters, tmp_path):
    mapping = yaml.safe_load((letters / "run_mapping.yaml").read_text())
    run = mapping["runs"][1]
    out = f"{letters}/runs/run_001"
    assert run["eval"] == {
        "checkpoints": [
            {
                "epoch": 0,
                "checkpoint": f"{out}/epoch_0",
                "results": f"{out}/eval/epoch_0",
                "cwd": f"{out}/eval/epoch_0",
                "command": shlex.join(
                    [
                        "python", "-m", "inspect_ai", "eval", f"{TASK}@letters",
                        "--model", "hf/local", "-M", f"model_path={out}/eval/epoch_0/model", "-M", "device=cpu",
                        "-M", "do_sample=false", "--limit", "10", "--max-tokens", "8",
                        "--log-dir", f"{out}/eval/epoch_0", "--display", "plain",
                    ]
                ),
            }
        ]
    }  # fmt: skip
    base = mapping["evaluation"]["base_model"]["checkpoints"][0]
    assert (base["epoch"], base["checkpoint"], base["results"]) == (
        None,
        f"{tmp_path}/assets/model",
        f"{letters}/eval/base_model",
    )


def test_the_folder_reads_the_records_back(letters):
    folder = read_experiment_folder(letters)
    assert folder.evaluates and folder.evaluation is not None
    assert folder.evaluation.harness == "inspect"
    assert [r.evaluation.target for r in folder.runs if r.evaluation] == ["run_000", "run_001"]
    assert folder.eval_record("base_model").checkpoints[0].epoch is None
    assert folder.eval_record("run_000").checkpoints[0].command[:4] == ("python", "-m", "inspect_ai", "eval")


def test_a_damaged_record_is_an_error_naming_the_key(letters):
    path = letters / "run_mapping.yaml"
    path.write_text(path.read_text().replace("- epoch: 0\n", "- epoch: zero\n", 1))
    with pytest.raises(ExperimentDirError) as raised:
        read_experiment_folder(letters)
    assert raised.value.key == "runs[0].eval.checkpoints[0].epoch"


def test_lm_eval_runs_in_include_path_with_its_model_args(tmp_path):
    result = generate_configs(
        SUMS, output_dir=tmp_path / "sums", validate=False
    )  # tiny_assets: the family's default folder
    record = read_experiment_folder(result.experiment_dir).eval_record("run_000").checkpoints[0]
    results = f"{result.experiment_dir}/runs/run_000/eval/epoch_0"
    assert record.cwd == str(TINY_FAMILY / "eval" / "lm_eval")
    assert record.command == (
        "python", "-m", "lm_eval", "--model", "hf", "--model_args", f"pretrained={results}/model,dtype=float32",
        "--tasks", "tiny_sums", "--include_path", str(TINY_FAMILY / "eval" / "lm_eval"), "--device", "cpu",
        "--limit", "10", "--output_path", results,
    )  # fmt: skip


def test_every_saved_epoch_is_evaluated_with_checkpoints_all(tmp_path, run_cli):
    folder = tmp_path / "all"
    result = run_cli(
        str(LETTERS),
        "--controls.epochs",
        "3",
        "--evaluation.checkpoints",
        "all",
        "--output-dir",
        str(folder),
        "--no-validate",
    )
    assert result.code == 0, result.err
    record = read_experiment_folder(folder).eval_record("run_000")
    assert [(c.label, c.checkpoint.rsplit("/", 1)[1]) for c in record.checkpoints] == [
        ("epoch_0", "epoch_0"),
        ("epoch_1", "epoch_1"),
        ("epoch_2", "epoch_2"),
    ]


def test_a_smoke_variant_evaluates_three_samples_of_the_last_epoch(tmp_path, run_cli):
    folder = tmp_path / "smoke"
    result = run_cli(
        str(LETTERS), "--evaluation.checkpoints", "0", "--smoke", "--output-dir", str(folder), "--no-validate"
    )
    assert result.code == 0, result.err
    (checkpoint,) = read_experiment_folder(folder).eval_record("run_000").checkpoints
    assert checkpoint.label == "epoch_0"
    assert checkpoint.command[checkpoint.command.index("--limit") + 1] == "3"


def test_eval_sbatch_maps_tasks_to_runs_and_the_base_model(letters):
    script = (letters / "eval.sbatch").read_text()
    assert "#SBATCH --array=0-2\n" in script
    assert f"#SBATCH --output={letters}/logs/run_%3a.eval.out\n" in script
    assert "#SBATCH --job-name=tiny_letters-eval\n" in script
    assert "    0) RUN_ID=run_000 ;;\n    1) RUN_ID=run_001 ;;\n    2) RUN_ID=base_model ;;\n" in script
    assert "--gres" not in script  # the tiny family trains on CPUs: gpus_per_run 0
    check = subprocess.run(["bash", "-n", str(letters / "eval.sbatch")], capture_output=True, text=True)
    assert check.returncode == 0, check.stderr


def test_a_task_outside_the_array_is_refused_and_a_failing_command_is_marked(letters, tmp_path):
    env = {"PATH": "/usr/bin:/bin", "SLURM_ARRAY_TASK_ID": "7"}
    outside = subprocess.run(["bash", str(letters / "eval.sbatch")], capture_output=True, text=True, env=env)
    assert outside.returncode == 2
    assert "array task '7' is not an evaluation of this sweep (tasks 0-2)" in outside.stderr
    # Without ttwriter on PATH the command cannot start: the script marks the evaluation failed.
    env["SLURM_ARRAY_TASK_ID"] = "1"
    missing = subprocess.run(["bash", str(letters / "eval.sbatch")], capture_output=True, text=True, env=env)
    assert missing.returncode == 127
    marker = (letters / "status" / "run_001.eval.failed").read_text()
    assert "exit_code=127\nstage=evaluation\n" in marker
    assert not (letters / "status" / "run_001.eval.running").exists()
