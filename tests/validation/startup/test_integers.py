"""Top-level keys the recipes use as integers: the list is torchtune's, and anything but an
integer (a float, 2.0 included, a string, a bool, null where it means nothing) is an error with a
fix in the user's own value, at generation, through the command line and at the gate."""

from __future__ import annotations

import json

import pytest

from tests.conftest import BASE, EXAMPLES
from tests.slurm.sweeps import make_sweep
from ttwriter import Experiment, generate_configs
from ttwriter.registry import recipe_source, shipped_recipes
from ttwriter.validation.interpolation import UNRESOLVED
from ttwriter.validation.startup.checks import startup_findings
from ttwriter.validation.startup.integers import INTEGER_KEYS

LORA = "lora_finetune_single_device"
BATCH_USE = (
    "it is the StatefulDataLoader's batch_size, which stops the run at start-up for anything else: "
    '"batch_size should be a positive integer value"'
)


@pytest.mark.parametrize("spec", INTEGER_KEYS, ids=lambda s: s.key)
def test_each_integer_key_applies_exactly_to_the_shipped_recipes_whose_source_reads_it(spec):
    reading = {
        name
        for name in shipped_recipes()
        if spec.marker in recipe_source(name).read_text(encoding="utf-8")  # type: ignore[union-attr]
    }
    assert spec.marker and spec.recipes == reading


@pytest.mark.parametrize(
    "spec, used_as",
    [
        ("batch_size", "batch_size=cfg.batch_size,"),
        ("epochs", "range(self.epochs_run, self.total_epochs)"),
        ("gradient_accumulation_steps", "% self._gradient_accumulation_steps == 0"),
        ("max_steps_per_epoch", "== self.max_steps_per_epoch"),
        ("seed", "training.set_seed("),
        ("log_every_n_steps", "% self._log_every_n_steps == 0"),
    ],
)
def test_where_each_key_is_used_as_an_integer_is_in_the_recipes_that_read_it(spec, used_as):
    (entry,) = [k for k in INTEGER_KEYS if k.key == spec]
    for name in entry.recipes - {"ppo_full_finetune_single_device"}:  # PPO divides its batch sizes
        assert used_as in recipe_source(name).read_text(encoding="utf-8")  # type: ignore[union-attr]


@pytest.mark.training  # imports torch's data loader and numpy to see what they raise
def test_what_torchtune_does_with_a_whole_float_is_what_the_findings_quote():
    import numpy as np
    from torchdata.stateful_dataloader import StatefulDataLoader

    with pytest.raises(ValueError, match="batch_size should be a positive integer value"):
        StatefulDataLoader(list(range(4)), batch_size=2.0)
    with pytest.raises(TypeError, match="'float' object cannot be interpreted as an integer"):
        range(0, 2.0)  # type: ignore[call-overload]
    with pytest.raises(TypeError, match="Cannot cast scalar from dtype"):
        np.random.seed(2.0)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "key, value, fix",
    [
        ("batch_size", 2.5, "set batch_size: 2 or 3"),
        ("batch_size", 2.0, "set batch_size: 2 (an integer, without .0)"),
        ("batch_size", 0.5, "set batch_size: 1"),
        ("epochs", "one", "set epochs to an integer, e.g. epochs: 1"),
        ("epochs", "2", "write the number without quotes: epochs: 2"),
        ("epochs", True, "set epochs to an integer, e.g. epochs: 1"),
        ("gradient_accumulation_steps", None, "set gradient_accumulation_steps to an integer, e.g. gradient_accumulation_steps: 1"),
        ("max_steps_per_epoch", 2.5, "set max_steps_per_epoch: 2 or 3"),
        ("seed", 0.5, "set seed: 0 or 1"),
        ("seed", "abc", "set seed to an integer, e.g. seed: 0 (or null: a random seed)"),
        ("log_every_n_steps", 1.0, "set log_every_n_steps: 1 (an integer, without .0)"),
    ],
)  # fmt: skip
def test_anything_but_an_integer_is_an_error_with_a_fix_in_the_users_value(key, value, fix):
    (finding,) = startup_findings({key: value}, LORA)

    assert (finding.severity, finding.check, finding.key, finding.fix) == ("error", "startup", key, fix)
    assert finding.message.startswith(f"{key} is ")
    assert f", but recipe {LORA} uses it as an integer: " in finding.message


def test_the_message_names_the_value_its_kind_and_what_the_recipe_does_with_it():
    (finding,) = startup_findings({"batch_size": 2.5}, LORA)
    assert (
        finding.message
        == f"batch_size is 2.5 (a float), but recipe {LORA} uses it as an integer: {BATCH_USE}"
    )


@pytest.mark.parametrize(
    "cfg",
    [
        {"batch_size": 4, "epochs": 1, "gradient_accumulation_steps": 8, "log_every_n_steps": 1},
        {"max_steps_per_epoch": None, "seed": None},  # null: whole epochs, a random seed
        {"batch_size": UNRESOLVED},  # an interpolation that does not resolve is reported as that
        {},  # a missing key is the recipe check's
    ],
)
def test_integers_and_meaningful_nulls_pass(cfg):
    assert startup_findings(cfg, LORA) == []


def test_recipes_that_do_not_train_check_the_seed_only_and_a_users_own_recipe_nothing(tmp_path):
    cfg = {"batch_size": 2.5, "seed": 1.5}
    recipe = tmp_path / "my_recipe.py"
    recipe.write_text("def recipe_main(cfg):\n    return cfg.batch_size\n")

    assert [f.key for f in startup_findings(cfg, "generate")] == ["seed"]
    assert startup_findings(cfg, str(recipe)) == []


def test_a_derived_division_is_fixed_with_integer_division(tmp_path):
    experiment = Experiment(
        name="derived",
        base_config=BASE,
        variables={"lora_rank": [8, 16]},
        derived={"batch_size": "lora_rank / 4"},
    )
    result = generate_configs(experiment, output_dir=tmp_path / "out")

    assert result.validation.summary_line() == "0/2 configs valid"
    findings = [f for run in result.validation.results for f in run.findings if f.key == "batch_size"]
    assert [f.message.split(" (a float)")[0] for f in findings] == ["batch_size is 2.0", "batch_size is 4.0"]
    assert {f.fix for f in findings} == {"use // for integer division: derived batch_size: lora_rank // 4"}
    report = json.loads((tmp_path / "out" / "validation_report.json").read_text())
    assert report["context"]["derived"] == {"batch_size": "lora_rank / 4"}


def test_a_derived_integer_division_is_valid(tmp_path):
    experiment = Experiment(
        name="derived",
        base_config=BASE,
        variables={"lora_rank": [8, 16]},
        derived={"batch_size": "lora_rank // 4"},
    )
    result = generate_configs(experiment, output_dir=tmp_path / "out")

    assert not [f for run in result.validation.results for f in run.findings if f.key == "batch_size"]


def test_the_reviewers_command_line_is_no_longer_4_of_4_valid(run_cli, tmp_path):
    result = run_cli(
        str(EXAMPLES / "sft" / "llama_1b" / "lora_rank_02_01.py"),
        "--set",
        "batch_size=2.5",
        "--set",
        "epochs=1.5",
        "--set",
        "gradient_accumulation_steps=2.5",
        "--output-dir",
        str(tmp_path / "x"),
    )

    assert result.code == 1
    assert "Validation: 0/4 configs valid" in result.out
    for key, fix in [
        ("batch_size", "set batch_size: 2 or 3"),
        ("epochs", "set epochs: 1 or 2"),
        ("gradient_accumulation_steps", "set gradient_accumulation_steps: 2 or 3"),
    ]:
        assert f"  error   {key} (all 4 runs): {key} is " in result.out
        assert f"          fix: {fix}\n" in result.out


def test_a_hand_edited_config_is_caught_when_the_folder_is_validated_again(run_cli, tmp_path):
    folder = make_sweep(tmp_path).experiment_dir
    config = folder / "configs" / "run_001.yaml"
    config.write_text(config.read_text().replace("\nepochs: 1\n", "\nepochs: one\n"))

    result = run_cli("submit", str(folder), "--dry-run")

    assert result.code == 2
    assert "failed validation: run_001\n" in result.err
    assert (
        "  run_001: epochs: epochs is 'one' (a string), but recipe lora_finetune_single_device" in result.err
    )
