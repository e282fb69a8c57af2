"""submit.sbatch as generated: its #SBATCH lines, and what each array task does when it runs.

Array tasks run here with plain bash (SLURM_ARRAY_TASK_ID set by hand, as the script's header
suggests for debugging), so these tests need no cluster; test_slurm_cluster.py submits for real.
"""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest
import yaml

from tests.conftest import BASE
from tests.slurm.sweeps import FAILING_RUN, make_sweep, ran, run_task, trainer_command
from ttwriter import ExperimentSchemaError, SlurmConfig, SlurmError, generate_configs
from ttwriter.folder.read import read_experiment_folder
from ttwriter.slurm.script import array_spec


def sbatch_options(folder: Path) -> dict[str, str]:
    """The #SBATCH options as sbatch reads them (it unquotes like the shell does)."""
    options = {}
    for line in (folder / "submit.sbatch").read_text().splitlines():
        if line.startswith("#SBATCH "):
            words = shlex.split(line)
            assert len(words) == 2, line
            key, _, value = words[1].partition("=")
            options[key] = value
    return options


def markers(folder: Path) -> list[str]:
    return sorted(p.name for p in (folder / "status").iterdir() if not p.name.startswith("."))


# --- the folder and the #SBATCH header --------------------------------------------------------------


def test_every_output_folder_has_a_job_array_over_all_runs(tmp_path):
    result = make_sweep(tmp_path)
    folder = result.experiment_dir

    options = sbatch_options(folder)

    assert (folder / "submit.sbatch").read_text().startswith("#!/bin/bash\n")
    assert (folder / "logs").is_dir()
    assert options == {
        "--job-name": "fake",
        "--array": "0-3",
        "--output": f"{folder}/logs/run_%3a.out",
        "--open-mode": "append",
        "--chdir": str(folder),
        "--nodes": "1",
        "--ntasks": "1",
    }


def test_slurm_settings_become_sbatch_options(tmp_path):
    result = make_sweep(
        tmp_path,
        job_name="rank sweep",
        partition="gpu",
        account="proj-42",
        qos="high",
        time="1-04:00:00",
        gpus_per_run=2,
        cpus_per_task=8,
        mem="64G",
        constraint="a100|h100",
        max_parallel=2,
        sbatch_lines=["--mail-type=END", "--exclusive"],
    )

    options = sbatch_options(result.experiment_dir)

    assert options == {
        "--job-name": "rank sweep",
        "--array": "0-3%2",
        "--output": f"{result.experiment_dir}/logs/run_%3a.out",
        "--open-mode": "append",
        "--chdir": str(result.experiment_dir),
        "--nodes": "1",
        "--ntasks": "1",
        "--partition": "gpu",
        "--account": "proj-42",
        "--qos": "high",
        "--time": "1-04:00:00",
        "--gres": "gpu:2",
        "--cpus-per-task": "8",
        "--mem": "64G",
        "--constraint": "a100|h100",
        "--mail-type": "END",
        "--exclusive": "",
    }


def test_log_file_pattern_pads_the_task_id_like_the_run_ids(tmp_path):
    result = make_sweep(tmp_path, ranks=list(range(1, 1002)), validate=False)

    assert result.runs[-1].id == "run_1000"
    assert sbatch_options(result.experiment_dir)["--output"].endswith("/logs/run_%4a.out")
    assert sbatch_options(result.experiment_dir)["--array"] == "0-1000"


def test_percent_in_the_folder_is_escaped_for_slurm(tmp_path):
    result = make_sweep(tmp_path, tmp_path / "100%_sure")

    assert sbatch_options(result.experiment_dir)["--output"] == f"{tmp_path}/100%%_sure/logs/run_%3a.out"


def test_backslash_in_the_folder_is_refused_before_anything_is_written(tmp_path):
    with pytest.raises(SlurmError, match=r"contains a backslash.*\n  fix: choose an --output-dir"):
        make_sweep(tmp_path, tmp_path / "a\\b")

    assert sorted(p.name for p in tmp_path.iterdir()) == ["fake_train.sh"]


@pytest.mark.parametrize(
    ("tasks", "max_parallel", "spec"),
    [
        ([0, 1, 2, 3], None, "0-3"),
        ([0, 1, 2, 3], 2, "0-3%2"),
        ([1, 3], None, "1,3"),
        ([3, 1], 1, "1,3%1"),
        ([0, 1, 2, 5, 7, 8], None, "0-2,5,7-8"),
        ([4], None, "4"),
    ],
)
def test_array_spec(tasks, max_parallel, spec):
    assert array_spec(tasks, max_parallel) == spec


def test_the_scripts_limit_is_recorded_for_resubmissions(tmp_path):
    limited = make_sweep(tmp_path, tmp_path / "a", max_parallel=3).experiment_dir
    unlimited = make_sweep(tmp_path, tmp_path / "b").experiment_dir

    assert sbatch_options(limited)["--array"] == "0-3%3"
    assert read_experiment_folder(limited).max_parallel == 3
    assert read_experiment_folder(unlimited).max_parallel is None


# --- what an array task runs ----------------------------------------------------------------------


def test_each_task_runs_its_own_run_from_any_working_folder(tmp_path):
    result = make_sweep(tmp_path)
    folder = result.experiment_dir
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    mapping = yaml.safe_load((folder / "run_mapping.yaml").read_text())

    for task, entry in enumerate(mapping["runs"]):
        if entry["id"] != FAILING_RUN:
            assert run_task(folder, task, elsewhere).returncode == 0

            assert ran(result, entry["id"])[:3] == [
                str(folder / entry["config"]),
                entry["id"],
                entry["output_dir"],
            ]


def test_training_exit_0_marks_the_run_done_and_anything_else_failed(tmp_path):
    result = make_sweep(tmp_path)
    folder = result.experiment_dir

    ok = run_task(folder, 0, tmp_path)
    failed = run_task(folder, 2, tmp_path)

    assert (ok.returncode, failed.returncode) == (0, 1)
    assert markers(folder) == ["run_000.done", "run_002.failed"]
    record = (folder / "status" / "run_002.failed").read_text().splitlines()
    assert record[:2] == ["run=run_002", "job=local_2"]
    assert record[-2:] == ["exit_code=1", "stage=training"]
    assert "fake trainer: lora_rank 32 diverged" in failed.stdout + failed.stderr
    assert "=== ttwriter: run_002 FAILED in training with exit code 1" in failed.stdout


def test_a_run_that_succeeds_later_replaces_its_failed_marker(tmp_path):
    result = make_sweep(tmp_path)
    folder = result.experiment_dir
    run_task(folder, 2, tmp_path)
    (tmp_path / "allow_rank_32").touch()

    assert run_task(folder, 2, tmp_path).returncode == 0

    assert markers(folder) == ["run_002.done"]


def test_a_task_that_is_not_a_run_fails_without_a_marker(tmp_path):
    folder = make_sweep(tmp_path).experiment_dir

    for task in ("4", "", "1; touch PWNED"):
        proc = run_task(folder, task, tmp_path)

        assert proc.returncode == 2
        assert f"array task '{task}' is not a run of this sweep (tasks 0-3)" in proc.stderr
    assert not (folder / "status").exists()
    assert not (tmp_path / "PWNED").exists()


def test_setup_lines_run_in_order_before_training_in_the_same_shell(tmp_path):
    result = make_sweep(tmp_path, setup=["export FOO=from-setup", 'FOO="$FOO+second"'])

    assert run_task(result.experiment_dir, 0, tmp_path).returncode == 0

    assert ran(result, "run_000")[4] == "from-setup+second"


@pytest.mark.parametrize(
    ("setup", "line"),
    [(["true", "false", "export FOO=unreached"], 2), (["true", 'echo "unterminated'], 2)],
)
def test_a_failing_or_broken_setup_line_fails_the_run_without_training(tmp_path, setup, line):
    result = make_sweep(tmp_path, setup=setup)
    folder = result.experiment_dir

    proc = run_task(folder, 0, tmp_path)

    assert proc.returncode != 0
    assert markers(folder) == ["run_000.failed"]
    assert f"stage=setup line {line}" in (folder / "status" / "run_000.failed").read_text()
    assert not Path(result.runs[0].output_dir).exists()


def test_default_command_is_tune_run_with_the_recipe_and_absolute_config(tmp_path):
    result = generate_configs(
        {"experiment_name": "lora", "base_config": BASE, "slurm": {"gpus_per_run": 1}},
        output_dir=tmp_path / "exp",
        validate=False,
    )
    script = (result.experiment_dir / "submit.sbatch").read_text()

    assert "\nRECIPE=lora_finetune_single_device\n" in script
    assert """\nCOMMAND='tune run "$RECIPE" --config "$CONFIG"'\n""" in script
    assert f"0) RUN_ID=run_000 CONFIG={result.experiment_dir}/configs/run_000.yaml " in script


def test_distributed_recipes_run_with_one_process_per_gpu(tmp_path):
    result = generate_configs(
        {"experiment_name": "full", "base_config": "llama3_2/1B_full", "slurm": {"gpus_per_run": 4}},
        output_dir=tmp_path / "exp",
        validate=False,
    )
    script = (result.experiment_dir / "submit.sbatch").read_text()

    assert result.recipe == "full_finetune_distributed"
    assert "\nNPROC=4\n" in script
    assert """\nCOMMAND='tune run --nproc_per_node "$NPROC" "$RECIPE" --config "$CONFIG"'\n""" in script
    assert sbatch_options(result.experiment_dir)["--gres"] == "gpu:4"


def test_gpus_a_single_device_recipe_leaves_idle_are_a_warning_at_generation(run_cli, tmp_path):
    source = tmp_path / "experiment.yaml"
    source.write_text(f"experiment_name: lora\nbase_config: {BASE}\nslurm:\n  gpus_per_run: 4\n")

    dry = run_cli(str(source), "--dry-run")
    written = generate_configs(source, output_dir=tmp_path / "exp", validate=False)

    warning = (
        "slurm.gpus_per_run is 4, but lora_finetune_single_device runs on a single device: each run "
        "would hold 4 GPUs and leave 3 idle; fix: set slurm.gpus_per_run: 1, or use the distributed "
        "recipe lora_finetune_distributed with one of its configs (ttwriter starts it with --nproc_per_node 4)"
    )
    assert f"\nwarning: {warning}\n" in dry.out
    assert written.warnings == (warning,)


@pytest.mark.parametrize(
    "base, slurm",
    [
        (BASE, {"gpus_per_run": 1}),
        (BASE, {"gpus_per_run": 0}),
        ("llama3_2/1B_full", {"gpus_per_run": 4}),  # distributed: one process per GPU
        (BASE, {"gpus_per_run": 2, "command": "torchrun --nproc_per_node {nproc} train.py {config}"}),
    ],
)
def test_no_idle_gpu_warning_when_every_gpu_is_used(tmp_path, base, slurm):
    result = generate_configs(
        {"experiment_name": "x", "base_config": base, "slurm": slurm}, output_dir=tmp_path / "e", dry_run=True
    )

    assert result.warnings == ()


def test_custom_command_template_gets_every_placeholder_quoted(tmp_path):
    recorder = tmp_path / "record.sh"
    recorder.write_text('printf "%s\\n" "$@" > "$TTWRITER_EXPERIMENT_DIR/args_$TTWRITER_RUN_ID"\n')
    command = f"sh {recorder} --recipe {{recipe}} --cfg {{config}} --id {{run_id}} --out {{output_dir}} -n {{nproc}}"
    result = make_sweep(tmp_path, tmp_path / "my exp", command=command, gpus_per_run=2)
    folder = result.experiment_dir

    assert run_task(folder, 1, tmp_path).returncode == 0

    assert (folder / "args_run_001").read_text().splitlines() == [
        "--recipe",
        "lora_finetune_single_device",
        "--cfg",
        f"{folder}/configs/run_001.yaml",
        "--id",
        "run_001",
        "--out",
        f"{folder}/runs/run_001",
        "-n",
        "2",
    ]


def test_unknown_placeholder_in_the_command_is_an_error_with_a_suggestion():
    from ttwriter.experiment.slurm_config import SlurmConfig

    with pytest.raises(ExperimentSchemaError) as info:
        SlurmConfig(command="tune run {recipe} --config {confg}")

    assert str(info.value) == (
        f"{__file__}:{info.tb.tb_lineno}: "
        "slurm.command: unknown placeholder {confg} in command 'tune run {recipe} --config {confg}'; "
        "did you mean 'config'?\n"
        "  fix: placeholders are {recipe}, {config}, {run_id}, {output_dir}, {nproc}"
    )


def test_shell_variables_in_the_command_are_left_to_the_shell(tmp_path):
    command = trainer_command(tmp_path) + ' "${FOO:-unset}"'
    result = make_sweep(tmp_path, command=command)

    assert run_task(result.experiment_dir, 0, tmp_path).returncode == 0


def test_unknown_recipe_gives_a_script_that_refuses_to_train(tmp_path):
    base = tmp_path / "my_base.yaml"
    base.write_text("output_dir: /tmp/x\nmodel:\n  lora_rank: 8\n")
    result = generate_configs(
        {"experiment_name": "custom", "base_config_file": str(base)},
        output_dir=tmp_path / "exp",
        validate=False,
    )
    folder = result.experiment_dir

    proc = run_task(folder, 0, tmp_path)

    assert result.recipe is None
    assert proc.returncode == 2
    assert "the recipe of this experiment is unknown" in proc.stderr
    assert "stage=recipe" in (folder / "status" / "run_000.failed").read_text()


# --- no value can inject shell ------------------------------------------------------------------------

NASTY = "x'; touch {pwned}; echo '$(touch {pwned})`touch {pwned}`\" #"


def test_malicious_values_stay_values(tmp_path):
    pwned = tmp_path / "PWNED"
    nasty = NASTY.format(pwned=pwned)
    folder = tmp_path / f"exp {nasty}"
    recorder = tmp_path / "record.sh"
    recorder.write_text(f'printf "%s\\n" "$@" > {shlex.quote(str(tmp_path / "args"))}\n')
    result = make_sweep(
        tmp_path,
        folder,
        job_name=nasty,
        partition=nasty,
        account=nasty,
        qos=nasty,
        mem=nasty,
        constraint=nasty,
        setup=[f"FOO={shlex.quote(nasty)}"],
        command=f"sh {recorder} {{config}} {{output_dir}} {{run_id}}",
        controls={"output_dir": f"/tmp/{nasty}/{{run_id}}"},
    )

    options = sbatch_options(result.experiment_dir)
    proc = run_task(result.experiment_dir, 0, tmp_path)

    assert proc.returncode == 0, proc.stderr
    for option in ("--job-name", "--partition", "--account", "--qos", "--mem", "--constraint"):
        assert options[option] == nasty
    assert options["--chdir"] == str(folder)
    assert (tmp_path / "args").read_text().splitlines() == [
        f"{folder}/configs/run_000.yaml",
        f"/tmp/{nasty}/run_000",
        "run_000",
    ]
    assert not pwned.exists()


def test_line_breaks_cannot_reach_sbatch_lines_or_comments(tmp_path):
    with pytest.raises(ExperimentSchemaError, match="partition .* contains a line break"):
        make_sweep(tmp_path, partition="gpu\ntouch PWNED")
    with pytest.raises(SlurmError, match="experiment folder .* contains a line break"):
        make_sweep(tmp_path, tmp_path / "exp\ntouch PWNED")


@pytest.mark.parametrize(
    "field, value, what, suggestion",
    [
        ("partition", "gpu\r", "a carriage return (\\r)", "gpu"),
        ("partition", "gpu\t", "a tab", "gpu"),
        ("account", "lab\0", "a NUL byte", "lab"),
        ("time", "04:00:00\r\n", "a carriage return (\\r)", "04:00:00"),
        ("mem", "64G\x1b[0m", "the control character '\\x1b'", "64G[0m"),
        ("sbatch_lines", ("--mail-type=END\r",), "a carriage return (\\r)", "--mail-type=END"),
        ("command", "tune run {recipe} --config {config}\r", "a carriage return (\\r)", None),
    ],
)
def test_control_characters_in_slurm_values_name_the_key_and_the_cleaned_value(
    field, value, what, suggestion
):
    with pytest.raises(ExperimentSchemaError) as info:
        SlurmConfig(**{field: value})
    shown = value[0] if isinstance(value, tuple) else value
    assert info.value.key == f"slurm.{field}"
    assert (
        info.value.message == f"{field} {shown!r} contains {what}, which a job script cannot hold on one line"
    )
    if suggestion is not None:
        assert info.value.fix == f"write it without control characters, e.g. slurm.{field}: {suggestion!r}"


def test_tabs_in_the_command_and_setup_lines_are_shell_code_and_allowed():
    slurm = SlurmConfig(command="tune run {recipe}\t--config {config}", setup=("if true; then\techo ok; fi",))
    assert "\t" in slurm.command
