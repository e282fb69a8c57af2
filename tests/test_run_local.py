"""`ttwriter run`: the tiny 2x2 sweep trains for real with `tune run`, one run after another.

The first tests train the tiny LoRA rank x learning rate sweep once (four runs of a few seconds
each, on the CPU, nothing downloaded) and check what a researcher would look at: exit codes, logs,
completion markers, adapter checkpoints in each run's own folder, and `ttwriter results`. The
others use a stand-in command (slurm.command) to cover selection and failures without torch.
"""

from __future__ import annotations

import csv
import io
import math
import re

import pytest
from conftest import TINY_FAMILY

from ttwriter.cli import main

SWEEP = TINY_FAMILY / "lora_rank_lr_02_01.py"
PARAMS = [(4, 0.001), (4, 0.01), (16, 0.001), (16, 0.01)]


def _cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def _losses(log_file) -> list[float]:
    return [float(m) for m in re.findall(r"^Step \d+ \| loss:(\S+) ", log_file.read_text(), re.M)]


@pytest.fixture(scope="module")
def trained(tiny_assets, tmp_path_factory):
    """The tiny sweep generated (and validated) into a folder, then trained with `ttwriter run`."""
    folder = tmp_path_factory.mktemp("trained") / "tiny"
    code, out, err = _cli(str(SWEEP), "--controls.tiny-assets", str(tiny_assets), "--output-dir", str(folder))
    assert code == 0, out + err
    with pytest.MonkeyPatch.context() as env:
        env.setenv("HF_HUB_OFFLINE", "1")
        env.setenv("HF_DATASETS_OFFLINE", "1")
        code, out, err = _cli("run", str(folder))
    return folder, code, out, err


def test_the_tiny_sweep_trains_every_run_and_exits_0(trained):
    folder, code, out, err = trained
    assert code == 0, out + err
    lines = out.splitlines()
    assert lines[0] == (
        f"Training 4 runs of tiny_rank_x_lr locally, one after another (logs: {folder}/logs/<run id>.out)"
    )
    assert [line.strip() for line in lines if line.strip().startswith("[")] == [
        f"[{i + 1}/4] run_00{i}  lora_rank={rank}  learning_rate={lr}" for i, (rank, lr) in enumerate(PARAMS)
    ]
    assert sum("done in" in line for line in lines) == 4
    assert lines[-2:] == ["4/4 runs done", f"Results: ttwriter results {folder}"]


def test_each_run_leaves_a_done_marker_a_log_and_its_own_adapter_checkpoint(trained):
    import torch

    folder = trained[0]
    for i, (rank, _) in enumerate(PARAMS):
        run_id = f"run_00{i}"
        marker = (folder / "status" / f"{run_id}.done").read_text()
        assert f"run={run_id}\n" in marker and "exit_code=0\n" in marker
        assert not (folder / "status" / f"{run_id}.running").exists()
        log = (folder / "logs" / f"{run_id}.out").read_text()
        assert (
            f"command:    tune run lora_finetune_single_device --config {folder}/configs/{run_id}.yaml\n"
            in log
        )
        assert f"=== ttwriter: {run_id} done at " in log
        output_dir = folder / "runs" / run_id
        (disk_log,) = (output_dir / "logs").glob("log_*.txt")
        assert len(_losses(disk_log)) == 16  # 128 examples / batch size 8, one epoch
        adapter = torch.load(output_dir / "epoch_0" / "adapter_model.pt", weights_only=True)
        lora_a = [v for k, v in adapter.items() if k.endswith("q_proj.lora_a.weight")]
        assert len(lora_a) == 2 and all(w.shape == (rank, 64) for w in lora_a)


def test_results_report_four_rows_with_finite_losses_matching_the_logs(trained, run_cli):
    folder = trained[0]
    result = run_cli("results", str(folder))
    assert result.code == 0, result.err
    assert result.out.splitlines()[0] == "Results of tiny_rank_x_lr: 4 runs, 4 done"
    with open(folder / "results.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [(r["run_id"], int(r["lora_rank"]), float(r["learning_rate"])) for r in rows] == [
        (f"run_00{i}", rank, lr) for i, (rank, lr) in enumerate(PARAMS)
    ]
    for row in rows:
        (disk_log,) = (folder / "runs" / row["run_id"] / "logs").glob("log_*.txt")
        losses = _losses(disk_log)
        assert row["status"] == "done" and row["steps"] == "16"
        assert math.isfinite(float(row["final_loss"])) and math.isfinite(float(row["best_loss"]))
        assert float(row["final_loss"]) == losses[-1]
        assert float(row["best_loss"]) == min(losses)
        assert losses[-1] < losses[0]  # every run learned something
    assert (folder / "loss_curves.png").read_bytes()[:4] == b"\x89PNG"


def test_a_smoke_variant_of_a_run_trains_three_steps(tiny_assets, tmp_path, offline):
    folder = tmp_path / "smoke"
    code, out, err = _cli(
        str(SWEEP),
        "--smoke",
        "--no-validate",
        "--controls.tiny-assets",
        str(tiny_assets),
        "--output-dir",
        str(folder),
    )
    assert code == 0, out + err
    code, out, err = _cli("run", str(folder), "--runs", "run_003")
    assert code == 0, out + err
    assert "1/1 runs done" in out
    (disk_log,) = (folder / "runs" / "run_003" / "logs").glob("log_*.txt")
    assert len(_losses(disk_log)) == 3
    assert not (folder / "runs" / "run_000").exists()


# --- selection and failures, with a stand-in training command -----------------------------------


@pytest.fixture
def fake_sweep(tmp_path):
    """The tiny sweep whose 'training' succeeds only for lora_rank 16 (a grep on the config)."""
    folder = tmp_path / "fake"
    code, out, err = _cli(
        str(SWEEP),
        "--no-validate",
        "--slurm.command",
        "echo run {run_id} in $PWD && grep -q 'lora_rank: 16' {config}",
        "--output-dir",
        str(folder),
    )
    assert code == 0, out + err
    return folder


def test_a_failing_run_is_marked_failed_and_the_exit_code_is_1(fake_sweep):
    code, out, _ = _cli("run", str(fake_sweep))
    assert code == 1
    assert "FAILED in training with exit code 1 after" in out
    assert "2/4 runs done; failed: run_000, run_001" in out
    assert f"Rerun the failed ones: ttwriter run {fake_sweep} --failed" in out
    marker = (fake_sweep / "status" / "run_000.failed").read_text()
    assert "exit_code=1\n" in marker and "stage=training\n" in marker
    assert (fake_sweep / "status" / "run_002.done").is_file()
    assert f"run run_002 in {fake_sweep}\n" in (fake_sweep / "logs" / "run_002.out").read_text()


def test_failed_reruns_only_runs_not_marked_done(fake_sweep):
    _cli("run", str(fake_sweep))
    code, out, _ = _cli("run", str(fake_sweep), "--failed")
    assert code == 1
    assert [line.split()[1] for line in out.splitlines() if line.strip().startswith("[")] == [
        "run_000",
        "run_001",
    ]
    assert (fake_sweep / "logs" / "run_000.out").read_text().count("=== ttwriter: run_000 FAILED") == 2


def test_runs_selects_runs_by_id(fake_sweep):
    code, out, _ = _cli("run", str(fake_sweep), "--runs", "run_003,run_002")
    assert code == 0
    assert [line.split()[1] for line in out.splitlines() if line.strip().startswith("[")] == [
        "run_002",
        "run_003",
    ]
    assert sorted(p.name for p in (fake_sweep / "status").iterdir()) == ["run_002.done", "run_003.done"]


def test_dry_run_prints_each_command_and_runs_nothing(fake_sweep):
    code, out, _ = _cli("run", str(fake_sweep), "--dry-run", "--runs", "run_001")
    assert code == 0
    assert out == (
        f"Dry run: would train 1 run of tiny_rank_x_lr (cwd {fake_sweep}):\n"
        f"  run_001  echo run run_001 in $PWD && grep -q 'lora_rank: 16' {fake_sweep}/configs/run_001.yaml\n"
    )
    assert not (fake_sweep / "status").exists()


def test_an_unknown_run_id_is_an_error_with_a_suggestion(fake_sweep):
    code, _, err = _cli("run", str(fake_sweep), "--runs", "run_01")
    assert code == 2
    assert err == (
        f"error: {fake_sweep}/run_mapping.yaml: no run 'run_01' in this experiment; did you mean "
        "'run_001' or 'run_003' or 'run_002'?\n  fix: run ids go from run_000 to run_003\n"
    )


def test_a_missing_config_fails_that_run_before_training(fake_sweep):
    (fake_sweep / "configs" / "run_002.yaml").unlink()
    code, _, _ = _cli("run", str(fake_sweep), "--runs", "run_002")
    assert code == 1
    marker = (fake_sweep / "status" / "run_002.failed").read_text()
    assert "exit_code=2\n" in marker and "stage=config\n" in marker
    assert (
        "does not exist; regenerate the experiment folder"
        in (fake_sweep / "logs" / "run_002.out").read_text()
    )
