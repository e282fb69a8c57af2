"""`ttwriter run` trains, then evaluates with the real harnesses: inspect-ai and lm-evaluation-harness
score the tiny model's checkpoints (HF format, from FullModelHFCheckpointer) on the family's own
tasks, offline, and `ttwriter results` joins the scores with the params.

The scores are checked against what each harness wrote, read here with the harness's own reader,
so a score can only pass by being the harness's.
"""

from __future__ import annotations

import csv
import io
import json

import pytest

from tests.conftest import TINY_FAMILY
from ttwriter.cli.main import main

LETTERS = TINY_FAMILY / "letters_inspect_03_01.py"
SUMS = TINY_FAMILY / "sums_lm_eval_04_01.py"

pytestmark = pytest.mark.training


def _cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def environment():
    with pytest.MonkeyPatch.context() as env:
        env.setenv("HF_HUB_OFFLINE", "1")
        env.setenv("HF_DATASETS_OFFLINE", "1")
        env.setenv("OMP_NUM_THREADS", "1")  # as the tiny_env fixture
        yield


@pytest.fixture(scope="module")
def letters(tiny_assets, tmp_path_factory, environment):
    """The inspect example (two learning rates and the base model) generated, trained and evaluated."""
    folder = tmp_path_factory.mktemp("letters") / "letters"
    code, out, err = _cli(
        str(LETTERS), "--controls.tiny-assets", str(tiny_assets), "--output-dir", str(folder)
    )
    assert code == 0, out + err
    code, out, err = _cli("run", str(folder))
    return folder, code, out, err


def _inspect_scores(results_dir):
    """The metrics of the inspect log in `results_dir`, read with inspect_ai itself."""
    from inspect_ai.log import read_eval_log

    (log,) = results_dir.glob("*.eval")
    header = read_eval_log(str(log), header_only=True)
    assert header.status == "success"
    (score,) = header.results.scores
    return {f"letters/{name}": metric.value for name, metric in score.metrics.items()}


def test_run_trains_then_evaluates_each_run_and_the_base_model(letters):
    folder, code, out, err = letters
    assert code == 0, out + err
    lines = out.splitlines()
    assert lines[0] == (
        "Training 2 runs of tiny_letters locally, one after another, each evaluated after its training "
        f"(logs: {folder}/logs/<run id>.out, <run id>.eval.out)"
    )
    steps = [line.strip().split(" in ")[0] for line in lines[1:-2]]
    assert steps == [
        "[1/2] run_000  learning_rate=0.001",
        "done",
        "evaluated",
        "[2/2] run_001  learning_rate=0.01",
        "done",
        "evaluated",
        "[base] base_model",
        "evaluated",
    ]
    assert lines[-2:] == ["2/2 runs done, 3/3 evaluations done", f"Results: ttwriter results {folder}"]


def test_every_score_is_the_one_inspect_logged(letters):
    folder = letters[0]
    for target, results in (
        ("run_000", folder / "runs" / "run_000" / "eval" / "epoch_0"),
        ("run_001", folder / "runs" / "run_001" / "eval" / "epoch_0"),
        ("base_model", folder / "eval" / "base_model"),
    ):
        assert "exit_code=0\n" in (folder / "status" / f"{target}.eval.done").read_text()
        scores = json.loads((results / "scores.json").read_text())
        assert scores["scores"] == _inspect_scores(results)
        assert set(scores["scores"]) == {"letters/accuracy", "letters/stderr"}
        assert 0 <= scores["scores"]["letters/accuracy"] <= 1


def test_the_checkpoint_keeps_its_adapter_files_and_the_harness_read_a_folder_without_them(letters):
    folder = letters[0]
    epoch = folder / "runs" / "run_000" / "epoch_0"
    assert {"adapter_config.json", "adapter_model.safetensors", "config.json"} <= {
        p.name for p in epoch.iterdir()
    }
    staged = folder / "runs" / "run_000" / "eval" / "epoch_0" / "model"
    assert sorted(p.name for p in staged.iterdir()) == sorted(
        p.name for p in epoch.iterdir() if not p.name.startswith("adapter_")
    )
    log = (folder / "logs" / "run_000.eval.out").read_text()
    assert "command:    python -m inspect_ai eval " in log and "letters (10 samples)" in log


def test_results_have_a_column_per_metric_and_a_base_model_row(letters):
    folder = letters[0]
    code, out, err = _cli("results", str(folder))
    assert code == 0, err
    assert out.splitlines()[0] == "Results of tiny_letters: 2 runs, 2 done; evaluations: 3 done"
    assert out.splitlines()[-1] == f"Wrote results.csv, loss_curves.png and eval_scores.png to {folder}/"
    with open(folder / "results.csv", newline="") as f:
        rows = {row["run_id"]: row for row in csv.DictReader(f)}
    assert list(rows) == ["run_000", "run_001", "base_model"]
    for target, results in (
        ("run_001", folder / "runs" / "run_001" / "eval" / "epoch_0"),
        ("base_model", folder / "eval" / "base_model"),
    ):
        assert rows[target]["eval_status"] == "done"
        assert float(rows[target]["letters/accuracy"]) == _inspect_scores(results)["letters/accuracy"]
    assert (rows["base_model"]["status"], rows["base_model"]["learning_rate"]) == ("base model", "")
    assert (folder / "eval_scores.png").read_bytes()[:4] == b"\x89PNG"


def test_results_across_experiments_keep_the_eval_status_and_the_base_model_row(letters, tmp_path):
    folder = letters[0]
    joined = tmp_path / "all.csv"
    code, out, err = _cli("results", str(folder.parent), "--csv", str(joined))
    assert code == 0, err
    with open(joined, newline="") as f:
        rows = {(row["experiment"], row["run_id"]): row for row in csv.DictReader(f)}
    mine = {run_id: row for (name, run_id), row in rows.items() if name == "tiny_letters"}
    assert list(mine) == ["run_000", "run_001", "base_model"]
    assert {r["eval_status"] for r in mine.values()} == {"done"}
    base = _inspect_scores(folder / "eval" / "base_model")["letters/accuracy"]
    assert (mine["base_model"]["status"], float(mine["base_model"]["letters/accuracy"])) == (
        "base model",
        base,
    )
    assert any(line.strip().startswith("experiment") and "eval_status" in line for line in out.splitlines())


def test_status_shows_both_stages_of_every_run(letters):
    folder = letters[0]
    code, out, _ = _cli("status", str(folder))
    assert code == 0
    lines = out.splitlines()
    assert lines[1].split() == ["run", "training", "job", "evaluation", "job", "params"]
    assert lines[2].split()[:4] == ["run_000", "done", "-", "done"]
    assert lines[4].split()[:4] == ["base_model", "-", "-", "done"]
    assert lines[5] == "training: 2 done; evaluation: 3 done"


def test_lm_eval_scores_trained_runs_alone_with_eval_only(tiny_assets, tmp_path, environment):
    folder = tmp_path / "sums"
    code, out, err = _cli(
        str(SUMS),
        "--controls.tiny-assets",
        str(tiny_assets),
        "--variables.learning-rate",
        "0.01",
        "--output-dir",
        str(folder),
        "--no-validate",
    )
    assert code == 0, out + err
    code, out, err = _cli("run", str(folder), "--no-eval")
    assert code == 0, out + err
    assert out.splitlines()[-2] == "1/1 runs done"
    assert not list((folder / "status").glob("*.eval.*"))

    code, out, err = _cli("run", str(folder), "--eval-only")
    assert code == 0, out + err
    assert (
        out.splitlines()[0]
        == f"Evaluating run_000, base_model of tiny_sums locally (logs: {folder}/logs/<run id>.eval.out)"
    )
    assert out.splitlines()[-2] == "2/2 evaluations done"
    for results in (folder / "runs" / "run_000" / "eval" / "epoch_0", folder / "eval" / "base_model"):
        (written,) = results.rglob("results_*.json")  # lm_eval's own results file
        acc = json.loads(written.read_text())["results"]["tiny_sums"]["acc,none"]
        assert json.loads((results / "scores.json").read_text())["scores"]["tiny_sums/acc"] == acc
