"""`ttwriter results` over replicates: per condition the mean, std and n of the final loss.

Like test_results.py, the loss logs are written by hand in torchtune's DiskLogger format, so the
statistics can be checked exactly without training.
"""

from __future__ import annotations

import csv
import dataclasses
import statistics

from tests.conftest import TINY_FAMILY
from ttwriter import generate_configs
from ttwriter.experiment.loading import load_experiment


def _write_log(folder, run_id: str, losses: list[float]) -> None:
    logs = folder / "runs" / run_id / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    text = "".join(f"Step {i} | loss:{loss} lr:0.001 \n" for i, loss in enumerate(losses, start=1))
    (logs / "log_1795245594.txt").write_text(text)
    (folder / "runs" / run_id / "epoch_0").mkdir()


def test_results_group_replicates_by_condition_with_mean_std_and_n(tmp_path, run_cli):
    loaded = load_experiment(TINY_FAMILY / "baseline_01_01.py")
    experiment = dataclasses.replace(
        loaded.experiment, name="tiny_replicates", variables={"lora_rank": [4, 16]}, replicates=3
    )
    folder = generate_configs(
        dataclasses.replace(loaded, experiment=experiment), output_dir=tmp_path / "sweep", validate=False
    ).experiment_dir
    finals = {
        "run_000": 2.0,
        "run_001": 2.5,
        "run_002": 3.0,
        "run_003": 1.0,
        "run_004": 1.5,
    }  # run_005 never ran
    for run_id, final in finals.items():
        _write_log(folder, run_id, [4.0, final + 0.5, final])

    result = run_cli("results", str(folder))
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    start = lines.index("By condition (2 conditions; mean ± std over replicates, n with a value):")
    assert lines[start + 1 : start + 4] == [
        "  condition  lora_rank  runs       final loss  n",
        "  c000       4             3  2.5000 ± 0.5000  3",
        "  c001       16            3  1.2500 ± 0.3536  2",
    ]
    assert result.out.endswith(
        f"Wrote results.csv, results_by_condition.csv and loss_curves.png to {folder}/\n"
    )
    with open(folder / "results_by_condition.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert rows == [
        {"condition": "c000", "lora_rank": "4", "runs": "3", "final_loss_mean": "2.5",
         "final_loss_std": "0.5", "final_loss_n": "3"},
        {"condition": "c001", "lora_rank": "16", "runs": "3", "final_loss_mean": "1.25",
         "final_loss_std": repr(statistics.stdev([1.0, 1.5])), "final_loss_n": "2"},
    ]  # fmt: skip
    with open(folder / "results.csv", newline="") as f:
        per_run = list(csv.DictReader(f))
    assert [(r["run_id"], r["seed"]) for r in per_run] == [(f"run_00{i}", str(i % 3)) for i in range(6)]
    assert (folder / "loss_curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_sweep_without_replicates_has_no_condition_table(tmp_path, run_cli):
    folder = generate_configs(
        TINY_FAMILY / "baseline_01_01.py", output_dir=tmp_path / "sweep", validate=False
    ).experiment_dir
    _write_log(folder, "run_000", [4.0, 3.0])
    result = run_cli("results", str(folder))
    assert result.code == 0, result.err
    assert "By condition" not in result.out
    assert not (folder / "results_by_condition.csv").exists()
