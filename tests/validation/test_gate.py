"""The validation gate of `ttwriter submit` and `ttwriter run`: no run that failed validation is
started, a folder written with --no-validate is validated first, and --ignore-validation is the one
way around it.

The sweeps are real: the shipped llama3_2/1B_lora_single_device config with an optimizer sweep
whose second value is misspelled (run_001 fails validation, run_000 and run_002 pass), and a
stand-in training command (slurm.command) where training itself is not the point. Submissions
that reach SLURM are in test_slurm_cluster.py.
"""

from __future__ import annotations

import json
import os

import pytest

from tests.slurm.sweeps import MISSPELLED_OPTIMIZER, make_sweep
from ttwriter import generate_configs
from ttwriter.validation.state import read_state

PROBLEM = (
    "optimizer._component_: component 'torch.optim.AdamWW' does not exist (did you mean "
    "torch.optim.AdamW or torch.optim.Adam or torch.optim.RAdam?)"
)
COMMANDS = {"submit": "submit", "run": "train"}
"""Each gated command and the verb its messages use."""


def refusal(folder, command: str, selection: str = "", failed: str = "run_001", of: str = "3 runs") -> str:
    verb = COMMANDS[command]
    return (
        f"error: {folder}/validation_report.txt: 1 of {of} to {verb} failed validation: {failed}\n"
        f"  {failed}: {PROBLEM}\n"
        "  fix: correct the experiment and regenerate the folder (the report lists every problem with "
        f"its fix), or {verb} them anyway: ttwriter {command} {folder}{selection} --ignore-validation\n"
    )


@pytest.fixture
def typo_sweep(tmp_path):
    """Validated at generation: run_001 failed."""
    result = make_sweep(tmp_path, variables=MISSPELLED_OPTIMIZER)
    assert result.validation.summary_line() == "2/3 configs valid"
    return result.experiment_dir


@pytest.fixture
def unvalidated_sweep(tmp_path):
    """The same sweep written with --no-validate."""
    return make_sweep(tmp_path, variables=MISSPELLED_OPTIMIZER, validate=False).experiment_dir


# --- the recorded state ------------------------------------------------------------------------


def test_generation_records_whether_each_run_passed_and_how_it_was_validated(typo_sweep):
    state = read_state(typo_sweep)

    assert state.validated
    assert {run_id: run.ok for run_id, run in state.runs.items()} == {
        "run_000": True,
        "run_001": False,
        "run_002": True,
    }
    assert state.runs["run_001"].problem == PROBLEM
    assert state.context.recipe == "lora_finetune_single_device"
    assert state.context.set_keys == {"optimizer"}
    assert state.context.strict is False
    report = json.loads((typo_sweep / "validation_report.json").read_text())
    assert (report["validated"], report["validated_by"]) == (True, "generate")
    assert report["summary"] == {"runs": 3, "valid": 2, "errors": 1, "warnings": 6}


def test_no_validate_records_a_folder_that_was_never_validated_and_how_to_validate_it(tmp_path):
    result = generate_configs(
        {"experiment_name": "nv", "base_config": "llama3_2/1B_lora_single_device", "controls": {"epochs": 2}},
        output_dir=tmp_path / "nv",
        validate=False,
        strict=True,
    )

    state = read_state(result.experiment_dir)

    assert (state.validated, state.why_not, state.runs) == (False, "was written with --no-validate", {})
    assert (state.context.recipe, state.context.set_keys, state.context.strict) == (
        "lora_finetune_single_device",
        {"epochs"},
        True,
    )
    assert (
        (result.experiment_dir / "validation_report.txt")
        .read_text()
        .startswith("# validation skipped (--no-validate)\n")
    )


@pytest.mark.parametrize(
    "content, why_not",
    [
        (None, "has no validation_report.json (written by an older ttwriter)"),
        (
            '{"summary": {"runs": 3, "valid": 3}, "runs": []}',
            "records no validation state (written by an older ttwriter)",
        ),
        ("{not json", "has a validation_report.json that is not JSON"),
        (
            '{"validated": true, "runs": [{"id": "run_000"}]}',
            "has a validation_report.json whose runs are not readable",
        ),
        ('{"validated": true}', "has a validation_report.json without its runs"),
        (b"\xff\xfe{", "has a validation_report.json that cannot be read"),
    ],
)
def test_a_folder_without_a_readable_state_counts_as_never_validated(typo_sweep, content, why_not):
    path = typo_sweep / "validation_report.json"
    if content is None:
        path.unlink()
    elif isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)

    state = read_state(typo_sweep)

    assert (state.validated, state.why_not, state.runs) == (False, why_not, {})


# --- refusing runs that failed -----------------------------------------------------------------


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("dry_run", [False, True])
def test_a_run_that_failed_validation_is_refused_naming_it_the_report_and_the_override(
    run_cli, typo_sweep, command, dry_run
):
    result = run_cli(command, str(typo_sweep), *(["--dry-run"] if dry_run else []))

    assert result.code == 2
    assert result.err == refusal(typo_sweep, command)
    assert result.out == ""
    assert not (typo_sweep / "status").exists()
    assert not (typo_sweep / "submissions.jsonl").exists()


@pytest.mark.parametrize("command", COMMANDS)
def test_only_the_runs_being_started_are_checked(run_cli, typo_sweep, command):
    others = run_cli(command, str(typo_sweep), "--runs", "run_000,run_002", "--dry-run")
    named = run_cli(command, str(typo_sweep), "--runs", "run_001,run_002", "--dry-run")

    assert others.code == 0, others.err
    assert "(run_000, run_002)" in others.out or "  run_002  " in others.out
    assert named.code == 2
    assert named.err == refusal(typo_sweep, command, " --runs run_001,run_002", of="2 runs")


def test_failed_runs_are_checked_like_any_others(run_cli, typo_sweep):
    (typo_sweep / "status").mkdir()
    (typo_sweep / "status" / "run_001.done").write_text("run=run_001\nexit_code=0\n")

    rerun = run_cli("run", str(typo_sweep), "--failed", "--dry-run")  # run_000 and run_002 only
    (typo_sweep / "status" / "run_001.done").unlink()
    refused = run_cli("run", str(typo_sweep), "--failed", "--dry-run")

    assert rerun.code == 0, rerun.err
    assert refused.err == refusal(typo_sweep, "run", " --failed")


@pytest.mark.parametrize("command", COMMANDS)
def test_ignore_validation_starts_them_anyway_and_says_so(run_cli, typo_sweep, command):
    result = run_cli(command, str(typo_sweep), "--ignore-validation", "--dry-run")

    assert result.code == 0, result.err
    assert result.out.splitlines()[0] == (
        "note: --ignore-validation: starting 1 run that failed validation: run_001 "
        f"(see {typo_sweep}/validation_report.txt)"
    )


def test_ignore_validation_trains_a_failed_run_locally(run_cli, tmp_path):
    folder = make_sweep(tmp_path, variables=MISSPELLED_OPTIMIZER).experiment_dir

    refused = run_cli("run", str(folder), "--runs", "run_001")
    forced = run_cli("run", str(folder), "--runs", "run_001", "--ignore-validation")

    assert refused.code == 2
    assert forced.code == 0, forced.out + forced.err
    assert "1/1 runs done" in forced.out
    assert "fake trainer: trained run_001" in (folder / "logs" / "run_001.out").read_text()


# --- folders that were never validated, or changed since -----------------------------------------


@pytest.mark.parametrize("command", COMMANDS)
def test_a_folder_written_with_no_validate_is_validated_first_and_its_reports_written(
    run_cli, unvalidated_sweep, command
):
    result = run_cli(command, str(unvalidated_sweep), "--dry-run")

    assert result.code == 2
    assert result.out == "Validating 3 runs first: the folder was written with --no-validate\n"
    assert result.err == refusal(unvalidated_sweep, command)
    state = read_state(unvalidated_sweep)
    assert state.validated and not state.runs["run_001"].ok
    report = json.loads((unvalidated_sweep / "validation_report.json").read_text())
    assert report["validated_by"] == f"ttwriter {command}"
    assert (unvalidated_sweep / "validation_report.txt").read_text().endswith("\n2/3 configs valid\n")
    again = run_cli(command, str(unvalidated_sweep), "--dry-run")
    assert (again.out, again.err) == ("", refusal(unvalidated_sweep, command))  # not validated twice


def test_a_valid_folder_written_with_no_validate_is_validated_then_started(run_cli, tmp_path):
    folder = make_sweep(tmp_path, ranks=[8, 16], validate=False).experiment_dir

    result = run_cli("run", str(folder))

    assert result.code == 0, result.err
    lines = result.out.splitlines()
    assert lines[:2] == [
        "Validating 2 runs first: the folder was written with --no-validate",
        f"Validation: 2/2 configs valid (details: {folder}/validation_report.txt)",
    ]
    assert "2/2 runs done" in lines
    assert read_state(folder).validated


@pytest.mark.parametrize("command", COMMANDS)
def test_ignore_validation_on_a_never_validated_folder_validates_nothing(run_cli, unvalidated_sweep, command):
    result = run_cli(command, str(unvalidated_sweep), "--ignore-validation", "--dry-run")

    assert result.code == 0, result.err
    assert result.out.splitlines()[0] == (
        "note: --ignore-validation: starting runs that were never validated "
        "(the folder was written with --no-validate)"
    )
    assert not read_state(unvalidated_sweep).validated


def test_a_config_changed_since_validation_is_validated_again(run_cli, typo_sweep):
    config = typo_sweep / "configs" / "run_001.yaml"
    fixed_text = (
        config.read_text().replace("AdamWW", "AdamW").replace("weight_decay: 0.01", "weight_decay: 0.02")
    )
    config.write_text(fixed_text)  # fixed by hand (and made different from run_000)

    fixed = run_cli("run", str(typo_sweep), "--dry-run")
    config.write_text(config.read_text().replace("torch.optim.AdamW", "torch.optim.SGDD"))  # broken by hand
    broken = run_cli("run", str(typo_sweep), "--runs", "run_001", "--dry-run")

    assert fixed.code == 0, fixed.err
    assert fixed.out.splitlines()[:2] == [
        "Validating 3 runs first: the folder was validated, but the configs of run_001 changed since",
        f"Validation: 3/3 configs valid (details: {typo_sweep}/validation_report.txt)",
    ]
    assert broken.code == 2
    assert "1 of 1 run to train failed validation: run_001\n" in broken.err
    assert "component 'torch.optim.SGDD' does not exist" in broken.err


def test_a_folder_from_an_older_ttwriter_is_validated_with_its_recipe(run_cli, typo_sweep):
    (typo_sweep / "validation_report.json").unlink()

    result = run_cli("submit", str(typo_sweep), "--dry-run")

    assert result.out == (
        "Validating 3 runs first: the folder has no validation_report.json (written by an older ttwriter)\n"
    )
    assert result.err == refusal(typo_sweep, "submit")
    assert read_state(typo_sweep).context.recipe == "lora_finetune_single_device"


def test_a_folder_validated_later_regenerates_the_same_configs(run_cli, unvalidated_sweep, tmp_path):
    assert run_cli("submit", str(unvalidated_sweep), "--dry-run").code == 2  # validated now

    again = generate_configs(unvalidated_sweep / "experiment.json", output_dir=tmp_path / "again")

    for run in again.runs:
        original = (unvalidated_sweep / "configs" / run.config_path.name).read_text()
        assert run.config_path.read_text() == original.replace(
            str(unvalidated_sweep), str(tmp_path / "again")
        )
    assert again.validation.summary_line() == "2/3 configs valid"
    assert read_state(again.experiment_dir).validated


# --- a run's config missing ---------------------------------------------------------------------


@pytest.mark.parametrize("override", [[], ["--ignore-validation"]])
@pytest.mark.parametrize("command", COMMANDS)
def test_a_deleted_config_is_refused_before_anything_starts(run_cli, unvalidated_sweep, command, override):
    (unvalidated_sweep / "configs" / "run_002.yaml").unlink()
    result = run_cli(command, str(unvalidated_sweep), "--dry-run", *override)
    assert (result.code, result.out) == (2, "")
    assert result.err == (
        f"error: {unvalidated_sweep}/configs/run_002.yaml: the config of run_002 does not exist: "
        "configs/run_002.yaml\n"
        f"  fix: restore it from a copy of the folder, or regenerate it in place: ttwriter "
        f"{unvalidated_sweep}/experiment.json --output-dir {unvalidated_sweep} --force\n"
    )
    assert not read_state(unvalidated_sweep).validated  # refused before validating on the spot


@pytest.mark.parametrize("command", COMMANDS)
def test_every_run_without_a_readable_config_is_named_once(run_cli, typo_sweep, command):
    (typo_sweep / "configs" / "run_000.yaml").unlink()
    (typo_sweep / "configs" / "run_002.yaml").unlink()
    (typo_sweep / "configs" / "run_002.yaml").mkdir()
    (typo_sweep / "runs" / "run_001").mkdir(parents=True)
    (typo_sweep / "runs" / "run_001" / "ran.txt").write_text("a result\n")
    result = run_cli(command, str(typo_sweep), "--dry-run")
    assert result.code == 2
    assert result.err == (
        f"error: {typo_sweep}/configs: 2 of 3 runs to {COMMANDS[command]} have no readable config: "
        "run_000 (configs/run_000.yaml does not exist), run_002 (configs/run_002.yaml is not a file)\n"
        "  fix: restore them from a copy of the folder, or regenerate it into a new folder: ttwriter "
        f"{typo_sweep}/experiment.json --output-dir <new folder> (--force would not replace this one: "
        "output folder holds results of earlier runs in runs/; replacing it would lose them)\n"
    )


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file")
def test_a_config_that_cannot_be_read_is_refused(run_cli, typo_sweep):
    config = typo_sweep / "configs" / "run_000.yaml"
    config.chmod(0)
    result = run_cli("submit", str(typo_sweep), "--dry-run", "--runs", "run_000")
    assert result.code == 2
    assert result.err.startswith(
        f"error: {config}: the config of run_000 cannot be read: configs/run_000.yaml\n"
    )


@pytest.mark.parametrize("command", COMMANDS)
def test_runs_whose_configs_are_there_still_start(run_cli, typo_sweep, command):
    (typo_sweep / "configs" / "run_002.yaml").unlink()
    result = run_cli(command, str(typo_sweep), "--dry-run", "--runs", "run_000")
    assert result.code == 0, result.err


# --- configs edited by hand ----------------------------------------------------------------------


def never_read(folder, run_id: str, key: str, fix: str = "") -> str:
    """The first problem the refusal quotes for a key typed into a config by hand."""
    config = f"configs/{run_id}.yaml"
    return (
        f"{key}: {config} has {key!r}, which is in neither the base config llama3_2/1B_lora_single_device "
        "nor the keys the experiment set (typed by hand?), but recipe lora_finetune_single_device never "
        f"reads it, so it would have no effect ({fix or f'remove {key!r} from {config}, or use a recipe that reads it'})"
    )


@pytest.fixture
def valid_sweep(tmp_path):
    """Validated at generation: both runs passed."""
    result = make_sweep(tmp_path, ranks=[8, 16])
    assert result.validation.summary_line() == "2/2 configs valid"
    return result.experiment_dir


@pytest.mark.parametrize("command", COMMANDS)
def test_a_key_typed_into_a_config_that_the_recipe_never_reads_is_refused_as_at_generation(
    run_cli, valid_sweep, command
):
    with open(valid_sweep / "configs" / "run_001.yaml", "a") as config:
        config.write("x: 1\n")

    result = run_cli(command, str(valid_sweep), "--dry-run")

    assert result.code == 2
    assert result.err == (
        f"error: {valid_sweep}/validation_report.txt: 1 of 2 runs to {COMMANDS[command]} failed "
        f"validation: run_001\n  run_001: {never_read(valid_sweep, 'run_001', 'x')}\n"
        "  fix: correct the experiment and regenerate the folder (the report lists every problem with "
        f"its fix), or {COMMANDS[command]} them anyway: ttwriter {command} {valid_sweep} --ignore-validation\n"
    )
    assert read_state(valid_sweep).runs["run_000"].ok  # only the config that has it


def test_the_hand_typed_key_is_the_error_generation_gives_for_the_same_key(run_cli, valid_sweep, tmp_path):
    with open(valid_sweep / "configs" / "run_001.yaml", "a") as config:
        config.write("x: 1\n")
    assert run_cli("submit", str(valid_sweep), "--dry-run").code == 2
    generated = make_sweep(tmp_path, tmp_path / "set", ranks=[8, 16], controls={"+x": 1}).experiment_dir

    def x_findings(folder, run_id):
        runs = json.loads((folder / "validation_report.json").read_text())["runs"]
        run = next(r for r in runs if r["id"] == run_id)
        return [(f["severity"], f["check"], f["key"]) for f in run["findings"] if f["key"] == "x"]

    assert (
        x_findings(valid_sweep, "run_001") == x_findings(generated, "run_001") == [("error", "recipe", "x")]
    )


def test_a_misspelled_key_typed_by_hand_gets_the_closest_key_the_recipe_reads(run_cli, valid_sweep):
    with open(valid_sweep / "configs" / "run_000.yaml", "a") as config:
        config.write("batch_sise: 2\n")

    result = run_cli("submit", str(valid_sweep), "--dry-run")

    hint = "Did you mean 'batch_size'?"
    assert result.code == 2
    assert f"  run_000: {never_read(valid_sweep, 'run_000', 'batch_sise', hint)}\n" in result.err


def test_a_key_typed_by_hand_that_the_recipe_reads_is_accepted(run_cli, valid_sweep):
    with open(valid_sweep / "configs" / "run_001.yaml", "a") as config:
        config.write("low_cpu_ram: true\n")  # not in the base config; lora_finetune_single_device reads it

    result = run_cli("submit", str(valid_sweep), "--dry-run")

    assert result.code == 0, result.err
    assert f"Validation: 2/2 configs valid (details: {valid_sweep}/validation_report.txt)" in result.out


def test_a_value_of_a_component_argument_edited_by_hand_is_checked_as_at_generation(run_cli, valid_sweep):
    config = valid_sweep / "configs" / "run_000.yaml"
    config.write_text(config.read_text().replace("  lr: 0.0003\n", "  lr: 'abc'\n"))

    result = run_cli("run", str(valid_sweep), "--dry-run")

    assert result.code == 2
    assert "1 of 2 runs to train failed validation: run_000\n" in result.err
    assert "  run_000: optimizer.lr: str 'abc' does not fit AdamW's parameter lr: float" in result.err


def test_unedited_runs_keep_the_findings_of_generation_when_the_folder_is_validated_again(
    run_cli, typo_sweep
):
    report = typo_sweep / "validation_report.json"
    generated = {r["id"]: r["findings"] for r in json.loads(report.read_text())["runs"]}
    with open(typo_sweep / "configs" / "run_002.yaml", "a") as config:
        config.write("# a note\n")  # a change that changes nothing

    assert run_cli("submit", str(typo_sweep), "--dry-run").code == 2  # run_001 still fails

    again = {r["id"]: r["findings"] for r in json.loads(report.read_text())["runs"]}
    assert again == generated
