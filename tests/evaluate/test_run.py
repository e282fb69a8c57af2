"""One evaluation without a harness: the checkpoint is linked without its adapter files and never
changed, a missing checkpoint fails with its own stage, and `ttwriter evaluate` says what it does."""

from __future__ import annotations

import hashlib

import pytest

from tests.conftest import PY_EXAMPLE, TINY_FAMILY
from ttwriter import ExperimentDirError
from ttwriter.evaluate.run import evaluate_target, stage_model
from ttwriter.folder.read import read_experiment_folder

LETTERS = TINY_FAMILY / "letters_inspect_03_01.py"


def _checkpoint(folder):
    folder.mkdir(parents=True)
    for name in (
        "config.json",
        "model-00001-of-00001.safetensors",
        "tokenizer.model",
        "adapter_config.json",
        "adapter_model.pt",
    ):
        (folder / name).write_bytes(name.encode() * 3)
    return folder


def _digest(folder):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def test_the_staged_model_links_every_file_but_the_adapter_and_leaves_the_checkpoint_alone(tmp_path):
    checkpoint = _checkpoint(tmp_path / "epoch_0")
    before = _digest(checkpoint)
    staged = tmp_path / "eval" / "epoch_0" / "model"
    stage_model(checkpoint, staged)
    stage_model(checkpoint, staged)  # again, as a rerun does: the old links are replaced
    assert sorted(p.name for p in staged.iterdir()) == [
        "config.json",
        "model-00001-of-00001.safetensors",
        "tokenizer.model",
    ]
    assert all(p.is_symlink() and p.resolve().parent == checkpoint for p in staged.iterdir())
    assert _digest(checkpoint) == before


def test_a_staging_folder_with_real_files_is_never_emptied(tmp_path):
    checkpoint = _checkpoint(tmp_path / "epoch_0")
    staged = tmp_path / "model"
    staged.mkdir()
    (staged / "mine.txt").write_text("keep me")
    with pytest.raises(ExperimentDirError) as raised:
        stage_model(checkpoint, staged)
    assert "holds files that are not links (mine.txt)" in raised.value.message
    assert (staged / "mine.txt").read_text() == "keep me"


@pytest.fixture
def letters(tmp_path, run_cli):
    folder = tmp_path / "letters"
    result = run_cli(
        str(LETTERS),
        "--controls.tiny-assets",
        str(tmp_path / "assets"),
        "--output-dir",
        str(folder),
        "--no-validate",
    )
    assert result.code == 0, result.err
    return folder


def test_a_checkpoint_that_was_never_saved_fails_in_stage_checkpoint(letters):
    outcome = evaluate_target(read_experiment_folder(letters), "run_000")
    assert (outcome.ok, outcome.exit_code, outcome.stage) == (False, 2, "checkpoint")
    assert outcome.message == (
        f"no checkpoint at {letters}/runs/run_000/epoch_0: training has not saved epoch_0 (is the run done? ttwriter status)"
    )
    marker = (letters / "status" / "run_000.eval.failed").read_text()
    assert "job=local_0\n" in marker and "exit_code=2\nstage=checkpoint\n" in marker
    log = (letters / "logs" / "run_000.eval.out").read_text()
    assert "=== ttwriter: evaluation of run_000 FAILED in checkpoint with exit code 2 at " in log


def test_evaluate_without_trained_runs_has_nothing_to_do_but_the_base_model(letters, run_cli):
    result = run_cli("evaluate", str(letters), "--runs", "run_000,base_model")
    assert result.code == 1
    lines = result.out.splitlines()
    assert lines[0] == "  [1/2] run_000"
    assert lines[1].startswith("          evaluation FAILED in checkpoint after ")
    assert lines[3].startswith("          evaluation FAILED in checkpoint after ")
    assert "the base model's folder does not exist" in lines[3]
    assert lines[-1] == "0/2 evaluations done; failed: run_000, base_model"


def test_evaluate_refuses_a_folder_without_evaluation(run_cli, tmp_path):
    made = run_cli(str(PY_EXAMPLE), "--output-dir", str(tmp_path / "out"), "--no-validate")
    assert made.code == 0
    result = run_cli("evaluate", str(tmp_path / "out"))
    assert result.code == 2
    assert result.err == (
        f"error: {tmp_path}/out: this experiment has no evaluation\n"
        "  fix: add an evaluation section to the experiment and regenerate the folder (docs/evaluation.md)\n"
    )
    named = run_cli("run", str(tmp_path / "out"), "--runs", "base_model")
    assert named.code == 2
    assert "base_model is evaluated only when the experiment sets evaluation.base_model" in named.err
