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


# ---------------------------------------------------------------- one folder with --where, --sort, --csv


@pytest.fixture
def sweep(tmp_path):
    """One experiment folder of its own (tiny_rank_x_lr, 4 runs with logs): results writes into it."""
    folder = generate_configs(
        TINY_FAMILY / "lora_rank_lr_02_01.py", output_dir=tmp_path / "sweep", validate=False
    ).experiment_dir
    for i, final in enumerate([5.0, 4.0, 4.5, 3.5]):
        _write_log(folder, f"run_00{i}", _log([5.8, final]))
    return folder


ASKED = [
    "  question:   Does the tiny model's loss respond to LoRA rank and learning rate?",
    "  hypothesis: The higher learning rate lowers the final loss at both ranks.",
]
HEADER = "  run      lora_rank  learning_rate  status   steps  final loss  best loss"
ROWS = {
    "run_000": "  run_000  4          0.001          partial      2      5.0000     5.0000",
    "run_001": "  run_001  4          0.01           partial      2      4.0000     4.0000",
    "run_002": "  run_002  16         0.001          partial      2      4.5000     4.5000",
    "run_003": "  run_003  16         0.01           partial      2      3.5000     3.5000",
}


def _results_csv_ids(folder) -> list[str]:
    with open(folder / "results.csv", newline="") as f:
        return [row["run_id"] for row in csv.DictReader(f)]


def test_one_folder_sorted_is_its_own_results_sorted_and_results_csv_keeps_every_run(sweep, run_cli):
    result = run_cli("results", str(sweep), "--sort", "final_loss", "--no-plot")

    assert result.code == 0, result.err
    assert result.out.splitlines() == [
        "Results of tiny_rank_x_lr: 4 runs, 4 partial",
        *ASKED,
        "Sorted by final_loss (smallest first):",
        HEADER,
        *(ROWS[i] for i in ("run_003", "run_001", "run_002", "run_000")),
        f"Wrote results.csv to {sweep}/ (every run, in sweep order)",
    ]
    assert _results_csv_ids(sweep) == ["run_000", "run_001", "run_002", "run_003"]


def test_one_folder_filtered_shows_the_rows_kept_and_csv_file_gets_them_in_the_joined_columns(
    sweep, run_cli, tmp_path
):
    table = tmp_path / "rank16.csv"
    result = run_cli(
        "results", str(sweep), "--where", "lora_rank=16", "--sort", "final_loss", "--csv", str(table)
    )

    assert result.code == 0, result.err
    assert result.out.splitlines() == [
        "Results of tiny_rank_x_lr: 4 runs, 4 partial",
        *ASKED,
        "Showing 2 of 4 runs with lora_rank=16, sorted by final_loss (smallest first):",
        HEADER,
        ROWS["run_003"],
        ROWS["run_002"],
        f"Wrote results.csv and loss_curves.png to {sweep}/ (every run, in sweep order)",
        f"Wrote {table} and {table.with_suffix('.png')}",
    ]
    assert _results_csv_ids(sweep) == ["run_000", "run_001", "run_002", "run_003"]
    with open(table, newline="") as f:
        rows = list(csv.DictReader(f))
    assert [(r["experiment"], r["run_id"], r["final_loss"]) for r in rows] == [
        ("tiny_rank_x_lr", "run_003", "3.5"),
        ("tiny_rank_x_lr", "run_002", "4.5"),
    ]
    assert rows[0]["experiment_dir"] == str(sweep)


def test_one_folder_without_where_or_sort_is_unchanged_by_them(sweep, run_cli):
    plain = run_cli("results", str(sweep), "--no-plot")
    assert plain.out.splitlines()[3:] == [HEADER, *ROWS.values(), f"Wrote results.csv to {sweep}/"]


def test_one_folder_with_an_unknown_column_is_exit_2_with_did_you_mean_and_writes_nothing(sweep, run_cli):
    result = run_cli("results", str(sweep), "--sort", "final_los")
    assert result.code == 2
    assert result.err.splitlines()[0] == (
        "error: --sort final_los: the table has no column 'final_los'; did you mean 'final_loss'?"
    )
    assert not (sweep / "results.csv").exists()


# ---------------------------------------------------------------- a --where no run matches


def test_a_where_no_run_matches_on_one_folder_names_the_values_and_exits_0(sweep, run_cli):
    result = run_cli("results", str(sweep), "--where", "lora_rank=17", "--no-plot")

    assert (result.code, result.err) == (0, "")
    assert result.out.splitlines()[3:] == [
        "Showing 0 of 4 runs with lora_rank=17:",
        "  run  lora_rank  learning_rate  status  steps  final loss  best loss",
        "note: no run has lora_rank=17; its values: 4, 16",
        f"Wrote results.csv to {sweep}/ (every run, in sweep order)",
    ]
    assert _results_csv_ids(sweep) == ["run_000", "run_001", "run_002", "run_003"]


@pytest.mark.parametrize(
    ("wheres", "note"),
    [
        (
            ["lora_rank=17"],
            "no run has lora_rank=17; its values: 4, 16 (and none in 1 run: --where lora_rank= keeps those)",
        ),
        (["learning_rate=1e-4"], "no run has learning_rate=1e-4; its values: 0.001, 0.003, 0.01"),
        (["status=partal"], "no run has status=partal; its values: partial; did you mean 'partial'?"),
        (
            ["lora_rank=16", "learning_rate=0.003"],
            "no run has learning_rate=0.003 among the 2 runs with lora_rank=16; its values: 0.001, 0.01",
        ),
        (
            ["experiment=tiny_rank_x_lr", "parent=x", "lora_rank=4"],
            "no run has parent=x among the 4 runs with experiment=tiny_rank_x_lr; its values: baseline_01_01.py",
        ),
    ],
    ids=["a value no run has", "a float", "a near spelling", "two conditions", "the first that empties"],
)
def test_a_where_no_run_matches_across_experiments_says_so_with_exit_0(two, run_cli, wheres, note):
    flags = [arg for where in wheres for arg in ("--where", where)]
    result = run_cli("results", str(two), *flags)

    assert (result.code, result.err) == (0, "")
    assert result.out.splitlines()[0] == "Results of 2 experiments: 0 runs of 5"
    assert f"note: {note}" in result.out.splitlines()


def test_a_where_that_matches_says_nothing_more(two, run_cli):
    result = run_cli("results", str(two), "--where", "lora_rank=4")
    assert result.code == 0
    assert "note:" not in result.out
