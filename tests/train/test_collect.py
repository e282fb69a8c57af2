"""`ttwriter results DIR DIR ...`: two experiments of the tiny family joined in one table.

The folders are generated (not trained) and given DiskLogger files in torchtune's format, as in
test_results.py; test_trackers.py joins really trained ones.
"""

from __future__ import annotations

import csv

import pytest

from tests.conftest import TINY_FAMILY
from tests.train.test_results import _log, _write_log
from ttwriter import generate_configs


@pytest.fixture(scope="module")
def two(tmp_path_factory):
    """outputs/base (tiny_baseline, 1 run) and outputs/sweep (tiny_rank_x_lr, 4 runs), with logs."""
    parent = tmp_path_factory.mktemp("two") / "outputs"
    base = generate_configs(TINY_FAMILY / "baseline_01_01.py", output_dir=parent / "base", validate=False)
    sweep = generate_configs(
        TINY_FAMILY / "lora_rank_lr_02_01.py", output_dir=parent / "sweep", validate=False
    )
    _write_log(base.experiment_dir, "run_000", _log([5.8, 5.1]))
    for i, final in enumerate([5.0, 4.0, 4.5, 3.5]):
        _write_log(sweep.experiment_dir, f"run_00{i}", _log([5.8, final]))
    return parent


def test_a_parent_folder_joins_every_run_of_both_experiments(two, run_cli, tmp_path):
    table = tmp_path / "joined.csv"
    result = run_cli("results", str(two), "--csv", str(table), "--no-plot")
    assert result.code == 0, result.err
    assert result.out.splitlines() == [
        "Results of 2 experiments: 5 runs",
        f"tiny_baseline  (1 run, baseline_01_01.py; {two}/base)",
        "  question:   Does a tiny LoRA run train end to end on a CPU?",
        "  hypothesis: The loss falls from about ln(320) = 5.8 within one epoch.",
        f"tiny_rank_x_lr  (4 runs, lora_rank_lr_02_01.py <- baseline_01_01.py; {two}/sweep)",
        "  question:   Does the tiny model's loss respond to LoRA rank and learning rate?",
        "  hypothesis: The higher learning rate lowers the final loss at both ranks.",
        "",
        "  experiment      file                   parent             run_id   lora_rank  learning_rate  status   steps  final loss  best loss",
        "  tiny_baseline   baseline_01_01.py      -                  run_000  -          0.003          partial      2      5.1000     5.1000",
        "  tiny_rank_x_lr  lora_rank_lr_02_01.py  baseline_01_01.py  run_000  4          0.001          partial      2      5.0000     5.0000",
        "  tiny_rank_x_lr  lora_rank_lr_02_01.py  baseline_01_01.py  run_001  4          0.01           partial      2      4.0000     4.0000",
        "  tiny_rank_x_lr  lora_rank_lr_02_01.py  baseline_01_01.py  run_002  16         0.001          partial      2      4.5000     4.5000",
        "  tiny_rank_x_lr  lora_rank_lr_02_01.py  baseline_01_01.py  run_003  16         0.01           partial      2      3.5000     3.5000",
        f"Wrote {table}",
    ]
    with open(table, newline="") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == [
        "experiment", "file", "parent", "run_id", "lora_rank", "learning_rate", "status", "steps",
        "final_loss", "best_loss", "question", "hypothesis", "experiment_dir",
    ]  # fmt: skip
    assert [
        (r["experiment"], r["run_id"], r["lora_rank"], r["learning_rate"], r["final_loss"]) for r in rows
    ] == [
        ("tiny_baseline", "run_000", "", "0.003", "5.1"),
        ("tiny_rank_x_lr", "run_000", "4", "0.001", "5.0"),
        ("tiny_rank_x_lr", "run_001", "4", "0.01", "4.0"),
        ("tiny_rank_x_lr", "run_002", "16", "0.001", "4.5"),
        ("tiny_rank_x_lr", "run_003", "16", "0.01", "3.5"),
    ]


def test_where_and_sort_choose_the_rows_and_the_plot_goes_beside_the_csv(two, run_cli, tmp_path):
    table = tmp_path / "fast.csv"
    result = run_cli(
        "results", str(two / "sweep"), str(two / "base"), "--where", "learning_rate=1e-2",
        "--sort", "final_loss", "--csv", str(table),
    )  # fmt: skip
    assert result.code == 0, result.err
    assert result.out.splitlines()[0] == "Results of 2 experiments: 2 runs of 5"
    with open(table, newline="") as f:
        assert [(r["run_id"], r["final_loss"]) for r in csv.DictReader(f)] == [
            ("run_003", "3.5"),
            ("run_001", "4.0"),
        ]
    assert table.with_suffix(".png").read_bytes()[:4] == b"\x89PNG"
    assert result.out.endswith(f"Wrote {table} and {table.with_suffix('.png')}\n")


@pytest.mark.parametrize(
    ("flags", "error", "fix"),
    [
        (
            ["--sort", "final_los"],
            "error: --sort final_los: the table has no column 'final_los'; did you mean 'final_loss'?",
            "  fix: columns: experiment, file, parent, run_id, lora_rank, learning_rate, status, steps, "
            "final_loss, best_loss",
        ),
        (
            ["--where", "lora_rnk=4"],
            "error: --where lora_rnk=4: the table has no column 'lora_rnk'; did you mean 'lora_rank'?",
            "  fix: columns: experiment, file, parent, run_id, lora_rank, learning_rate, status, steps, "
            "final_loss, best_loss",
        ),
        (
            ["--where", "lora_rank"],
            "error: --where needs KEY=VALUE, got 'lora_rank'",
            "  fix: e.g. --where lora_rank=done",
        ),
    ],
)
def test_an_unknown_column_gets_did_you_mean_and_exit_2(two, run_cli, flags, error, fix):
    result = run_cli("results", str(two), *flags)
    assert (result.code, result.err.splitlines()) == (2, [error, fix])


def test_a_folder_without_experiments_is_named(tmp_path, run_cli):
    (tmp_path / "empty").mkdir()
    result = run_cli("results", str(tmp_path / "empty"), "--csv", str(tmp_path / "x.csv"))
    assert result.code == 2
    assert result.err.splitlines()[0] == (
        f"error: {tmp_path}/empty: {tmp_path}/empty holds no ttwriter experiment folder (none has a run_mapping.yaml)"
    )
