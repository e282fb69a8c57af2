"""`ttwriter run`: the tiny 2x2 sweep trains for real with `tune run`, one run after another.

The first tests train the tiny LoRA rank x learning rate sweep once (four runs of a few seconds
each, on the CPU, nothing downloaded) and check what a researcher would look at: exit codes, logs,
completion markers, adapter checkpoints in each run's own folder, and `ttwriter results`. The
others use a stand-in command (slurm.command) to cover selection and failures without torch.
"""

from __future__ import annotations

import io

import pytest

from tests.train.tiny_training import PARAMS, RUN_IDS, SWEEP, check_every_run_trained, check_results, losses
from ttwriter.cli.main import main
from ttwriter.folder import markers


def _cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def trained(tiny_assets, tmp_path_factory):
    """The tiny sweep generated (and validated) into a folder, then trained with `ttwriter run`."""
    folder = tmp_path_factory.mktemp("trained") / "tiny"
    code, out, err = _cli(str(SWEEP), "--controls.tiny-assets", str(tiny_assets), "--output-dir", str(folder))
    assert code == 0, out + err
    with pytest.MonkeyPatch.context() as env:
        env.setenv("HF_HUB_OFFLINE", "1")
        env.setenv("HF_DATASETS_OFFLINE", "1")
        env.setenv("OMP_NUM_THREADS", "1")  # as the tiny_env fixture
        code, out, err = _cli("run", str(folder))
    return folder, code, out, err


@pytest.mark.training
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


@pytest.mark.training
def test_each_run_leaves_a_done_marker_a_log_and_its_own_adapter_checkpoint(trained):
    folder = trained[0]
    check_every_run_trained(folder)
    for run_id in RUN_IDS:
        log = (folder / "logs" / f"{run_id}.out").read_text()
        assert (
            f"command:    tune run lora_finetune_single_device --config {folder}/configs/{run_id}.yaml\n"
            in log
        )
        assert not (folder / "status" / f"{run_id}.running").exists()


@pytest.mark.training
def test_results_report_four_rows_with_finite_losses_matching_the_logs(trained, run_cli):
    check_results(trained[0], run_cli)


@pytest.mark.training
def test_a_smoke_variant_of_a_run_trains_three_steps(tiny_assets, tmp_path, tiny_env):
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
    assert len(losses(disk_log)) == 3
    assert not (folder / "runs" / "run_000").exists()


# --- selection and failures, with a stand-in training command -----------------------------------


@pytest.fixture
def fake_sweep(tmp_path):
    """The tiny sweep whose 'training' succeeds only for lora_rank 16 (a grep on the config)."""
    folder = tmp_path / "fake"
    code, out, err = _cli(
        str(SWEEP),
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


def test_a_plain_run_is_refused_once_a_run_is_done_as_submit_is(fake_sweep):
    _cli("run", str(fake_sweep), "--runs", "run_002")

    code, out, err = _cli("run", str(fake_sweep))

    assert code == 2
    assert err == (
        f"error: {fake_sweep}: 1 of 4 runs are already done: run_002\n"
        f"  fix: ttwriter run {fake_sweep} --failed for the 3 runs that did not complete; to train done "
        "ones again, name them: --runs run_002\n"
    )
    assert out == ""
    assert (fake_sweep / "logs" / "run_002.out").read_text().count("=== ttwriter: run_002 (ttwriter run") == 1


def test_a_folder_whose_runs_are_all_done_is_refused_and_failed_has_nothing_to_train(fake_sweep):
    _cli("run", str(fake_sweep), "--runs", "run_002,run_003")
    for run_id in ("run_000", "run_001"):  # trained elsewhere (the stand-in trains rank 16 only)
        markers.write_marker(fake_sweep, run_id, markers.DONE, job="local_0", exit_code=0)

    everything = _cli("run", str(fake_sweep))
    failed = _cli("run", str(fake_sweep), "--failed")

    assert everything[0] == 2
    assert everything[2] == (
        f"error: {fake_sweep}: all 4 runs are already done\n"
        f"  fix: to train them again, name them: ttwriter run {fake_sweep} --runs run_000\n"
    )
    assert failed[0] == 0
    assert failed[1] == (
        "Leaving out 4 runs: run_000 (done), run_001 (done), run_002 (done), run_003 (done)\n"
        f"Nothing to train: every run is done or still queued (see: ttwriter status {fake_sweep})\n"
    )


def test_naming_a_done_run_trains_it_again_with_a_note(fake_sweep):
    _cli("run", str(fake_sweep), "--runs", "run_002")

    code, out, _ = _cli("run", str(fake_sweep), "--runs", "run_002")

    assert code == 0
    assert out.splitlines()[0] == "note: run_002 had finished; it trains again and its result is replaced"
    assert "1/1 runs done" in out
    assert (fake_sweep / "logs" / "run_002.out").read_text().count("=== ttwriter: run_002 (ttwriter run") == 2


def test_failed_leaves_out_the_done_runs_and_says_so(fake_sweep):
    _cli("run", str(fake_sweep), "--runs", "run_002")

    code, out, _ = _cli("run", str(fake_sweep), "--failed", "--dry-run")

    assert code == 0
    assert out.splitlines()[:2] == [
        "Leaving out 1 run: run_002 (done)",
        f"Dry run: would train 3 runs of tiny_rank_x_lr (cwd {fake_sweep}):",
    ]


def test_runs_may_be_repeated_and_comma_separated(fake_sweep):
    code, out, _ = _cli("run", str(fake_sweep), "--runs", "run_003", "--runs", "run_000,run_003", "--dry-run")

    assert code == 0
    assert [line.split()[0] for line in out.splitlines()[1:]] == ["run_000", "run_003"]


def test_runs_and_failed_together_are_refused_as_by_submit(fake_sweep):
    code, _, err = _cli("run", str(fake_sweep), "--runs", "run_001", "--failed")

    assert code == 2
    assert err == (
        "error: --runs and --failed choose runs in two ways\n"
        f"  fix: use one: ttwriter run {fake_sweep} --failed, or ttwriter run {fake_sweep} --runs run_001\n"
    )


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


def test_a_missing_config_is_refused_before_anything_runs(fake_sweep):
    (fake_sweep / "configs" / "run_002.yaml").unlink()
    for argv in (["--runs", "run_002"], [], ["--ignore-validation"]):
        code, out, err = _cli("run", str(fake_sweep), *argv)
        assert code == 2, argv
        assert err == (
            f"error: {fake_sweep}/configs/run_002.yaml: the config of run_002 does not exist: "
            "configs/run_002.yaml\n"
            f"  fix: restore it from a copy of the folder, or regenerate it in place: ttwriter "
            f"{fake_sweep}/experiment.json --output-dir {fake_sweep} --force\n"
        )
    assert not (fake_sweep / "status").exists()
    assert not any((fake_sweep / "logs").iterdir())
