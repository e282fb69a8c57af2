"""Which evaluations `ttwriter evaluate` does, chosen as `submit` and `run` choose runs
(slurm.choose): a plain evaluate is refused once an evaluation is done, `--runs` names ones to do
again, `--failed` takes those that did not complete. No harness runs: the markers say what is done."""

from __future__ import annotations

import pytest

from tests.conftest import write_letters
from ttwriter.evaluate.run import JOB_VARIABLE
from ttwriter.folder import markers


@pytest.fixture
def letters(tmp_path, run_cli):
    """The tiny letters sweep (run_000, run_001, the base model), run_000 trained and evaluated
    and the base model evaluated, as after `ttwriter run` of run_000."""
    folder = tmp_path / "letters"
    write_letters(run_cli, folder, tmp_path / "assets")
    (folder / "status").mkdir()
    markers.write_marker(folder, "run_000", markers.DONE, job="local_0", exit_code=0)
    for target in ("run_000", "base_model"):
        markers.write_marker(
            folder, target, markers.DONE, job="local_0", exit_code=0, phase=markers.EVALUATION
        )
    return folder


def test_a_plain_evaluate_is_refused_once_every_evaluation_is_done(letters, run_cli):
    result = run_cli("evaluate", str(letters))
    assert result.code == 2
    assert result.err == (
        f"error: {letters}: all 2 evaluations are already done\n"
        f"  fix: to evaluate them again, name them: ttwriter evaluate {letters} --runs run_000,base_model\n"
    )
    assert markers.is_done(letters, "run_000", markers.EVALUATION)  # nothing was touched
    assert not (letters / "logs" / "run_000.eval.out").exists()


def test_a_plain_evaluate_with_some_left_says_which_and_offers_failed(letters, run_cli):
    markers.write_marker(letters, "run_001", markers.DONE, job="local_1", exit_code=0)
    result = run_cli("evaluate", str(letters))
    assert result.code == 2
    assert result.err == (
        f"error: {letters}: 2 of 3 evaluations are already done: run_000, base_model\n"
        f"  fix: ttwriter evaluate {letters} --failed for the 1 evaluation that did not complete; "
        "to evaluate done ones again, name them: --runs run_000,base_model\n"
    )


def test_failed_takes_only_the_evaluations_that_did_not_complete(letters, run_cli):
    markers.write_marker(letters, "run_001", markers.DONE, job="local_1", exit_code=0)
    result = run_cli("evaluate", str(letters), "--failed")
    assert result.code == 1  # run_001 has no saved checkpoint here: its evaluation fails at once
    lines = result.out.splitlines()
    assert lines[0] == "Leaving out 2 evaluations: run_000 (done), base_model (done)"
    assert lines[1] == "  [1/1] run_001"
    assert "evaluation FAILED in checkpoint" in lines[2]
    assert markers.is_done(letters, "run_000", markers.EVALUATION)
    assert markers.is_done(letters, "base_model", markers.EVALUATION)


def test_failed_with_every_evaluation_done_has_nothing_to_do(letters, run_cli):
    result = run_cli("evaluate", str(letters), "--failed")
    assert (result.code, result.err) == (0, "")
    assert result.out.splitlines() == [
        "Leaving out 2 evaluations: run_000 (done), base_model (done)",
        f"Nothing to evaluate: every evaluation is done or still queued (see: ttwriter status {letters})",
    ]


def test_runs_names_a_done_evaluation_to_do_again_and_says_so(letters, run_cli):
    result = run_cli("evaluate", str(letters), "--runs", "run_000")
    assert result.out.splitlines()[0] == (
        "note: run_000's evaluation had finished; it is evaluated again, and its scores are replaced "
        "once the new ones are all in"
    )
    assert result.out.splitlines()[1] == "  [1/1] run_000"


def test_runs_and_failed_together_are_refused(letters, run_cli):
    result = run_cli("evaluate", str(letters), "--runs", "run_000", "--failed")
    assert result.code == 2
    assert result.err == (
        f"error: --runs and --failed choose runs in two ways\n"
        f"  fix: use one: ttwriter evaluate {letters} --failed, or ttwriter evaluate {letters} --runs run_000\n"
    )


def test_an_eval_job_evaluates_the_run_it_names_without_choosing(letters, run_cli, monkeypatch):
    """eval.sbatch marks the evaluation running and exports TTWRITER_JOB before it runs
    `ttwriter evaluate DIR --runs <run id>`: submit chose it, so it is neither refused as queued
    nor asks squeue from the node."""
    monkeypatch.setenv(JOB_VARIABLE, "538_0")
    monkeypatch.setenv("PATH", "/nonexistent")  # no squeue here
    result = run_cli("evaluate", str(letters), "--runs", "run_000")
    assert result.out.splitlines()[0] == "  [1/1] run_000"
    assert "job=538_0\n" in (letters / "status" / "run_000.eval.failed").read_text()


def test_run_eval_only_chooses_evaluations_the_same_way(letters, run_cli):
    markers.write_marker(letters, "run_001", markers.DONE, job="local_1", exit_code=0)
    plain = run_cli("run", str(letters), "--eval-only")
    assert plain.code == 2
    assert plain.err == (
        f"error: {letters}: 2 of 3 evaluations are already done: run_000, base_model\n"
        f"  fix: ttwriter run {letters} --eval-only --failed for the 1 evaluation that did not complete; "
        "to evaluate done ones again, name them: --runs run_000,base_model\n"
    )
    failed = run_cli("run", str(letters), "--eval-only", "--failed", "--dry-run")
    assert failed.code == 0, failed.err
    assert failed.out.splitlines()[:2] == [
        "Leaving out 2 evaluations: run_000 (done), base_model (done)",
        "Dry run: would evaluate, for tiny_letters, run_001 with:",
    ]
    named = run_cli("run", str(letters), "--eval-only", "--runs", "run_000", "--dry-run")
    assert named.code == 0, named.err
    assert named.out.splitlines()[:2] == [
        "note: run_000's evaluation had finished; it is evaluated again, and its scores are replaced "
        "once the new ones are all in",
        "Dry run: would evaluate, for tiny_letters, run_000 with:",
    ]
