"""One evaluation without a harness: the checkpoint is linked without its adapter files and never
changed, a missing checkpoint fails with its own stage, and `ttwriter evaluate` says what it does."""

from __future__ import annotations

import hashlib

import pytest

from tests.conftest import PY_EXAMPLE, write_letters
from ttwriter import ExperimentDirError
from ttwriter.evaluate.run import evaluate_target, stage_model
from ttwriter.folder.read import read_experiment_folder


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
    write_letters(run_cli, folder, tmp_path / "assets")
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


class _Harness:
    """A stand-in for the harness process: `codes` are the exit codes of successive checkpoints;
    KeyboardInterrupt as a code is Ctrl-C while it runs (the child then exits 130)."""

    def __init__(self, codes):
        self.codes = list(codes)

    def __call__(self, *args, **kwargs):
        harness = self

        class Process:
            code = harness.codes.pop(0)
            waited = False

            def wait(self):
                if self.code is KeyboardInterrupt and not self.waited:
                    self.waited = True
                    raise KeyboardInterrupt
                return 130 if self.code is KeyboardInterrupt else self.code

        return Process()


def _fake_harness(monkeypatch, codes, scores=None):
    import ttwriter.evaluate.run as run

    monkeypatch.setattr(run.child, "start", _Harness(codes))
    monkeypatch.setattr(run.child, "_signal_group", lambda process, signum: None)  # no real process
    monkeypatch.setattr(
        run, "read_scores", lambda evaluation, results: dict(scores or {"letters/accuracy": 0.5})
    )


def _evaluated_before(folder, run_id="run_000", epochs=(0,), value=0.8433):
    """run_000 trained (its checkpoints saved) and evaluated: done marker and scores.json."""
    import json

    from ttwriter.folder import markers

    (folder / "status").mkdir(exist_ok=True)
    markers.write_marker(folder, run_id, markers.DONE, job="local_0", exit_code=0)
    for epoch in epochs:
        _checkpoint(folder / "runs" / run_id / f"epoch_{epoch}")
        results = folder / "runs" / run_id / "eval" / f"epoch_{epoch}"
        results.mkdir(parents=True)
        (results / "scores.json").write_text(json.dumps({"scores": {"letters/accuracy": value}}))
    markers.write_marker(folder, run_id, markers.DONE, job="local_0", exit_code=0, phase=markers.EVALUATION)
    marker = folder / "status" / f"{run_id}.eval.done"
    scores = {
        e: (folder / "runs" / run_id / "eval" / f"epoch_{e}" / "scores.json").read_text() for e in epochs
    }
    return marker.read_text(), scores


def test_ctrl_c_in_a_new_evaluation_of_a_done_one_keeps_the_previous_result(letters, run_cli, monkeypatch):
    from ttwriter.train.scores import collect_evaluations

    marker, scores = _evaluated_before(letters)
    _fake_harness(monkeypatch, [KeyboardInterrupt])
    result = run_cli("evaluate", str(letters), "--runs", "run_000")
    assert result.code == 130
    assert result.err == (
        "interrupted: the evaluation of run_000 was stopped; its previous result is kept "
        "(status/run_000.eval.done and its scores)\n"
    )
    assert sorted(p.name for p in (letters / "status").iterdir() if "eval" in p.name) == ["run_000.eval.done"]
    assert (letters / "status" / "run_000.eval.done").read_text() == marker
    assert (letters / "runs" / "run_000" / "eval" / "epoch_0" / "scores.json").read_text() == scores[0]
    found = collect_evaluations(read_experiment_folder(letters))["run_000"]
    assert (found.status, found.scores) == ("done", {"letters/accuracy": 0.8433})
    log = (letters / "logs" / "run_000.eval.out").read_text()
    assert "evaluation of run_000 interrupted at " in log and "the previous result stands" in log


def test_ctrl_c_in_a_first_evaluation_says_it_is_marked_failed(letters, run_cli, monkeypatch):
    from ttwriter.folder import markers

    (letters / "status").mkdir()
    markers.write_marker(letters, "run_000", markers.DONE, job="local_0", exit_code=0)
    _checkpoint(letters / "runs" / "run_000" / "epoch_0")
    _fake_harness(monkeypatch, [KeyboardInterrupt])
    result = run_cli("evaluate", str(letters), "--runs", "run_000,base_model")
    assert result.code == 130
    assert result.err == (
        "interrupted: the evaluation of run_000 was stopped; it is marked failed; the rest did not run\n"
    )
    assert "exit_code=130\nstage=harness\n" in (letters / "status" / "run_000.eval.failed").read_text()
    assert not (letters / "status" / "base_model.eval.running").exists()


def test_a_new_evaluation_replaces_the_scores_only_once_every_checkpoint_has_them(
    tmp_path, run_cli, monkeypatch
):
    folder = tmp_path / "letters2"
    write_letters(
        run_cli, folder, tmp_path / "assets", "--controls.epochs", "2", "--evaluation.checkpoints", "all"
    )
    _, scores = _evaluated_before(folder, epochs=(0, 1))
    _fake_harness(monkeypatch, [0, 1])  # epoch_0 scores, then the harness fails on epoch_1
    failed = run_cli("evaluate", str(folder), "--runs", "run_000")
    assert failed.code == 1
    assert (folder / "status" / "run_000.eval.failed").is_file()
    for epoch in (0, 1):  # epoch_0's new score was not written over the previous one
        assert (
            folder / "runs" / "run_000" / "eval" / f"epoch_{epoch}" / "scores.json"
        ).read_text() == scores[epoch]
    _fake_harness(monkeypatch, [0, 0], {"letters/accuracy": 0.25})
    done = run_cli("evaluate", str(folder), "--runs", "run_000")
    assert done.code == 0, done.out
    assert (
        '"letters/accuracy": 0.25'
        in (folder / "runs" / "run_000" / "eval" / "epoch_0" / "scores.json").read_text()
    )
    assert (folder / "status" / "run_000.eval.done").is_file()


def test_an_unexpected_error_in_an_evaluation_marks_it_failed_not_done(letters, run_cli, monkeypatch):
    import ttwriter.evaluate.run as run

    marker, _ = _evaluated_before(letters)

    def broken(checkpoint, staged):
        raise OSError("disk full")

    monkeypatch.setattr(run, "stage_model", broken)
    result = run_cli("evaluate", str(letters), "--runs", "run_000")
    assert result.code == 3 and "internal error: OSError: disk full" in result.err
    assert "exit_code=1\nstage=harness\n" in (letters / "status" / "run_000.eval.failed").read_text()
    assert (letters / "runs" / "run_000" / "eval" / "epoch_0" / "scores.json").is_file()
