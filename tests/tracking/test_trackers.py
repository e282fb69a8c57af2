"""Real tiny training runs logging to each tracker, read back with the tracker's own tools.

One experiment per backend (the tiny baseline, one run of a few steps), trained once with
`ttwriter run`, the three at the same time; MLflow with its SQLite store inside the experiment
folder, W&B offline (`offline-run-*` folders), TensorBoard event files. Each tracker must hold one
run per config with its params and loss, named with the run id and carrying lineage and git
commit; the DiskLogger log is still written, so `ttwriter results` over the three is one table.
"""

from __future__ import annotations

import csv
import os
import subprocess
import sys

import pytest

from tests.conftest import TINY_FAMILY
from tests.tracking.trackers import tensorboard_run, wandb_run
from tests.train.tiny_training import disk_log, losses
from ttwriter.cli.main import main

BASELINE = TINY_FAMILY / "baseline_01_01.py"
BACKENDS = ("mlflow", "wandb", "tensorboard")
STEPS = 3


@pytest.fixture(scope="module")
def tracked(tiny_assets, tmp_path_factory):
    """experiments/<backend>: the tiny baseline generated (validated) with each backend and trained."""
    parent = tmp_path_factory.mktemp("tracked")
    folders = {b: parent / "experiments" / b for b in BACKENDS}
    for backend, folder in folders.items():
        argv = [str(BASELINE), "--name", f"tiny_{backend}", "--tracking.backend", backend]
        argv += ["--controls.tiny-assets", str(tiny_assets), "--set", f"max_steps_per_epoch={STEPS}"]
        assert main([*argv, "--output-dir", str(folder)]) == 0
    home = parent / "home"
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "HF_DATASETS_OFFLINE": "1",
        "OMP_NUM_THREADS": "1",
        "WANDB_MODE": "offline",
        "WANDB_CONFIG_DIR": str(home / "wandb_config"),
        "WANDB_CACHE_DIR": str(home / "wandb_cache"),
        "WANDB_DATA_DIR": str(home / "wandb_data"),
    }
    started = [
        subprocess.Popen(
            [sys.executable, "-m", "ttwriter", "run", str(f)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        for f in folders.values()
    ]
    outputs = [p.communicate(timeout=900)[0].decode() for p in started]
    for process, output in zip(started, outputs, strict=True):
        assert process.returncode == 0, output
    return parent, folders


def _disk_losses(folder):
    return losses(disk_log(folder, "run_000"))


@pytest.mark.training
def test_mlflow_holds_the_run_with_its_params_loss_lineage_and_commit(tracked):
    from mlflow.tracking import MlflowClient

    folder = tracked[1]["mlflow"]
    client = MlflowClient(tracking_uri=f"sqlite:///{folder}/tracking/mlflow.db")
    experiment = client.get_experiment_by_name("tiny_mlflow")
    (run,) = client.search_runs([experiment.experiment_id])
    assert run.info.run_name == "tiny_mlflow/run_000"
    assert run.data.params["model.lora_rank"] == "8" and run.data.params["optimizer.lr"] == "0.003"
    history = [m.value for m in client.get_metric_history(run.info.run_id, "loss")]
    assert history == _disk_losses(folder) and len(history) == STEPS
    tags = run.data.tags
    assert (tags["ttwriter.run_id"], tags["ttwriter.experiment_dir"]) == ("run_000", str(folder))
    assert tags["ttwriter.lineage"] == "baseline_01_01.py" and tags["ttwriter.tags"] == "tiny,cpu,lora"
    assert len(tags["ttwriter.git_commit"].split()[0]) == 40


@pytest.mark.training
def test_wandb_writes_an_offline_run_named_with_the_run_id(tracked):
    folder = tracked[1]["wandb"]
    (offline,) = (folder / "tracking" / "wandb" / "wandb").glob("offline-run-*/run-*.wandb")
    run = wandb_run(offline)
    assert (run["name"], run["group"], run["project"]) == ("tiny_wandb/run_000", "tiny_wandb", "tiny_wandb")
    assert run["tags"] == ["tiny", "cpu", "lora", "run_000"]
    assert run["config"]["model"]["lora_rank"] == 8
    assert run["config"]["ttwriter"]["ttwriter.run_id"] == "run_000"
    assert run["config"]["ttwriter"]["ttwriter.lineage"] == "baseline_01_01.py"
    assert run["loss"] == _disk_losses(folder) and len(run["loss"]) == STEPS


@pytest.mark.training
def test_tensorboard_writes_event_files_per_run_id(tracked):
    folder = tracked[1]["tensorboard"]
    run = tensorboard_run(folder / "tracking" / "tensorboard" / "run_000")
    assert [step for step, _ in run["loss"]] == list(range(1, STEPS + 1))
    assert [value for _, value in run["loss"]] == pytest.approx(_disk_losses(folder), rel=1e-6)
    assert (
        "ttwriter.run_id: run_000" in run["text"] and "ttwriter.experiment: tiny_tensorboard" in run["text"]
    )


@pytest.mark.training
def test_results_across_the_three_experiments_is_one_table(tracked, run_cli, tmp_path):
    parent, folders = tracked
    table = tmp_path / "all.csv"
    result = run_cli("results", str(parent / "experiments"), "--csv", str(table), "--sort", "experiment")
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    assert lines[0] == "Results of 3 experiments: 3 runs"
    assert lines[1] == f"tiny_mlflow  (1 run, baseline_01_01.py; {folders['mlflow']})"
    assert lines[2] == "  question:   Does a tiny LoRA run train end to end on a CPU?"
    with open(table, newline="") as f:
        rows = list(csv.DictReader(f))
    assert [(r["experiment"], r["file"], r["parent"], r["run_id"], r["status"]) for r in rows] == [
        (f"tiny_{b}", "baseline_01_01.py", "", "run_000", "done") for b in sorted(BACKENDS)
    ]
    for row in rows:
        assert float(row["final_loss"]) == _disk_losses(folders[row["experiment"][5:]])[-1]
        assert row["steps"] == str(STEPS)
    assert table.with_suffix(".png").read_bytes()[:4] == b"\x89PNG"
