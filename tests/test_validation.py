"""Validation beyond `tune validate`: one test per check, each from a realistic mistake.

Each test generates a real sweep from the shipped llama3_2/1B_lora_single_device config (or a
copy of it edited the way people edit configs) and reads what a researcher reads: the findings
by run id and key path, the summary line and validation_report.json.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ttwriter import Experiment, generate_configs
from ttwriter.base_config import resolve_config_name, shipped_configs
from ttwriter.component_checks import Finding
from ttwriter.validation import ValidationContext, validate_configs
from ttwriter.yaml_io import dump_yaml, read_yaml

BASE = "llama3_2/1B_lora_single_device"


def errors(result) -> list[tuple[str, str, str, str]]:
    """(run id, check, key, message) of every error, in run order."""
    return [(run.run_id, f.check, f.key, f.message) for run in result.validation.results for f in run.errors]


def edited_base(tmp_path: Path, old: str, new: str) -> str:
    """A copy of the shipped base config with one line edited, as a researcher would."""
    text = resolve_config_name(BASE).path.read_text()
    assert old in text
    path = tmp_path / "my_base.yaml"
    path.write_text(text.replace(old, new))
    return str(path)


def test_a_misspelled_argument_of_a_component_inside_a_list_is_found_with_a_suggestion(tmp_path):
    # Replacing the dataset node with a list: delete it, then set it (see docs/keys_and_merging.md).
    experiment = Experiment(
        name="multi",
        base_config=BASE,
        delete=("dataset",),
        controls={
            "dataset": [
                {"_component_": "torchtune.datasets.alpaca_cleaned_dataset"},
                {"_component_": "torchtune.datasets.alpaca_dataset", "source": "json", "packd": True},
            ]
        },
    )
    result = generate_configs(experiment, output_dir=tmp_path / "out")

    assert not result.ok
    run = result.validation.results[0]
    assert [(f.key, f.message, f.fix) for f in run.errors] == [
        (
            "dataset[1].packd",
            "'packd' would be passed to alpaca_dataset through **kwargs, but it looks like a "
            "misspelling of its parameter 'packed'",
            "did you mean 'packed'?",
        )
    ]


def test_a_misspelled_argument_of_a_nested_component_is_found(tmp_path):
    experiment = Experiment(
        name="prof",
        base_config=BASE,
        controls={"profiler": {"enabeld": True}},
    )
    result = generate_configs(experiment, output_dir=tmp_path / "out")

    assert [(k, c) for _, c, k, _ in errors(result)] == [("profiler.enabeld", "component")]
    finding = result.validation.results[0].errors[0]
    assert finding.fix == "did you mean 'enabled'?"


def test_a_string_learning_rate_in_a_hand_edited_base_is_a_type_error(tmp_path):
    base = edited_base(tmp_path, "  lr: 3e-4", "  lr: '3e-4'")
    result = generate_configs(
        Experiment(name="strlr", base_config_file=base, recipe="lora_finetune_single_device"),
        output_dir=tmp_path / "out",
    )

    assert errors(result) == [
        (
            "run_000",
            "type",
            "optimizer.lr",
            "str '3e-4' does not fit AdamW's parameter lr: float | torch.Tensor",
        )
    ]
    assert result.validation.results[0].errors[0].fix == "write the number without quotes: 3e-4"


def test_a_component_path_that_does_not_import_is_an_error_with_close_names(tmp_path):
    base = edited_base(
        tmp_path,
        "torchtune.modules.loss.CEWithChunkedOutputLoss",
        "torchtune.modules.loss.CEWithChunkedOutputLos",
    )
    result = generate_configs(Experiment(name="loss", base_config_file=base), output_dir=tmp_path / "out")

    (finding,) = result.validation.results[0].errors
    assert (finding.check, finding.key) == ("component", "loss._component_")
    assert finding.message == "component 'torchtune.modules.loss.CEWithChunkedOutputLos' does not exist"
    assert "torchtune.modules.loss.CEWithChunkedOutputLoss" in finding.fix


def test_a_package_that_is_not_installed_here_is_only_a_warning(tmp_path):
    # The cluster may have bitsandbytes; this machine does not.
    experiment = Experiment(
        name="bnb", base_config=BASE, controls={"optimizer": {"_component_": "bitsandbytes.optim.PagedAdamW"}}
    )
    result = generate_configs(experiment, output_dir=tmp_path / "out")

    assert result.ok
    warnings = [(f.key, f.message) for f in result.validation.results[0].warnings if f.check == "component"]
    assert warnings == [
        (
            "optimizer._component_",
            "component 'bitsandbytes.optim.PagedAdamW' cannot be imported here: "
            "package 'bitsandbytes' is not installed",
        )
    ]


def test_an_interpolation_that_does_not_resolve_is_an_error_at_its_key(tmp_path):
    experiment = Experiment(
        name="interp", base_config=BASE, controls={"metric_logger": {"log_dir": "${outputdir}/logs"}}
    )
    result = generate_configs(experiment, output_dir=tmp_path / "out")

    ((run_id, check, key, message),) = errors(result)
    assert (run_id, check, key) == ("run_000", "interpolation", "metric_logger.log_dir")
    assert message.startswith("'${outputdir}/logs' does not resolve:")


def test_a_key_the_recipe_never_reads_is_an_error(tmp_path):
    # torchtune's recipe reads clip_grad_norm; max_grad_norm would silently do nothing.
    experiment = Experiment(name="ignored", base_config=BASE, variables={"+max_grad_norm": [0.5, 1.0]})
    result = generate_configs(experiment, output_dir=tmp_path / "out")

    assert errors(result) == [
        (
            run,
            "recipe",
            "max_grad_norm",
            "the experiment sets 'max_grad_norm', but recipe lora_finetune_single_device never reads it, "
            "so it would have no effect",
        )
        for run in ("run_000", "run_001")
    ]


def test_a_key_the_recipe_requires_that_was_deleted_is_an_error(tmp_path):
    result = generate_configs(
        Experiment(name="nobatch", base_config=BASE, delete=("batch_size",)), output_dir=tmp_path / "out"
    )

    assert errors(result) == [
        (
            "run_000",
            "recipe",
            "batch_size",
            "recipe lora_finetune_single_device reads cfg.batch_size without a default, "
            "but the config has no 'batch_size'",
        )
    ]


def test_recipe_checks_read_a_users_own_recipe_file(tmp_path):
    recipe = tmp_path / "my_recipe.py"
    recipe.write_text(
        "def recipe_main(cfg):\n"
        "    steps = cfg.max_steps\n"
        "    warmup = cfg.get('warmup', 0)\n"
        "    return cfg.model, cfg.optimizer, steps, warmup\n"
    )
    experiment = Experiment(
        name="own", base_config=BASE, recipe=str(recipe), controls={"epochs": 3, "+warmup": 10}
    )
    result = generate_configs(experiment, output_dir=tmp_path / "out")

    assert [(k, m.split(",")[0]) for _, c, k, m in errors(result) if c == "recipe"] == [
        ("max_steps", "recipe my_recipe.py reads cfg.max_steps without a default"),
        ("epochs", "the experiment sets 'epochs'"),
    ]


def test_output_dirs_that_are_the_same_folder_are_an_error_on_both_runs(tmp_path):
    experiment = Experiment(
        name="collide",
        base_config=BASE,
        variables={"output_dir": [str(tmp_path / "ckpt" / "a"), str(tmp_path / "ckpt" / "b" / ".." / "a")]},
    )
    result = generate_configs(experiment, output_dir=tmp_path / "out")

    collisions = [(run, msg) for run, check, key, msg in errors(result) if key == "output_dir"]
    folder = tmp_path / "ckpt" / "a"
    assert collisions == [
        (run, f"runs run_000, run_001 all write to {folder}: checkpoints would overwrite each other")
        for run in ("run_000", "run_001")
    ]


def test_an_output_dir_inside_the_checkpoint_dir_is_an_error(tmp_path):
    checkpoints = tmp_path / "Llama-3.2-1B"
    experiment = Experiment(
        name="inside",
        base_config=BASE,
        controls={
            "checkpointer": {"checkpoint_dir": str(checkpoints)},
            "output_dir": str(checkpoints / "{run_id}"),
        },
    )
    result = generate_configs(experiment, output_dir=tmp_path / "out")

    ((run_id, check, key, message),) = errors(result)
    assert (run_id, check, key) == ("run_000", "sweep", "output_dir")
    assert "is inside checkpointer.checkpoint_dir" in message


def test_two_identical_configs_are_an_error(tmp_path):
    config = tmp_path / "a.yaml"
    data, _ = read_yaml(resolve_config_name(BASE).path)
    config.write_text(dump_yaml(data))
    other = tmp_path / "b.yaml"
    data["output_dir"] = "/somewhere/else"
    other.write_text(dump_yaml(data))

    summary = validate_configs(
        [("run_000", config), ("run_001", other)], ValidationContext("lora_finetune_single_device")
    )

    assert summary.summary_line() == "0/2 configs valid"
    assert {f.message for r in summary.results for f in r.errors} == {
        "runs run_000, run_001 have identical configs: the sweep would train the same thing twice"
    }


def test_missing_local_data_paths_are_warnings_and_errors_with_strict(tmp_path):
    experiment = Experiment(
        name="data",
        base_config=BASE,
        controls={"dataset": {"source": "json", "data_files": str(tmp_path / "nope.json")}},
    )
    lenient = generate_configs(experiment, output_dir=tmp_path / "a")
    strict = generate_configs(experiment, output_dir=tmp_path / "b", strict=True)

    assert lenient.ok
    data_warnings = {(f.key, f.message) for f in lenient.validation.results[0].warnings if f.check == "data"}
    assert (
        "dataset.data_files",
        f"data file '{tmp_path / 'nope.json'}' does not exist on this machine",
    ) in data_warnings
    assert (
        "tokenizer.path",
        "tokenizer file '/tmp/Llama-3.2-1B-Instruct/original/tokenizer.model' does not exist on this machine",
    ) in data_warnings
    assert not strict.ok
    assert {k for _, c, k, _ in errors(strict) if c == "data"} == {
        "dataset.data_files",
        "tokenizer.path",
        "checkpointer.checkpoint_dir",
    }


def test_the_json_report_carries_every_finding_for_scripts(tmp_path):
    experiment = Experiment(
        name="json", base_config=BASE, controls={"model": {"lora_rnk": 8}}, variables={"lora_rank": [8, 16]}
    )
    result = generate_configs(experiment, output_dir=tmp_path / "out")

    report = json.loads((tmp_path / "out" / "validation_report.json").read_text())
    assert report["summary"] == {
        "runs": 2,
        "valid": 0,
        "errors": 2,
        "warnings": result.validation.n_warnings,
    }
    assert [r["id"] for r in report["runs"]] == ["run_000", "run_001"]
    assert all(not r["ok"] for r in report["runs"])


def test_every_shipped_config_passes_every_check_unchanged(tmp_path):
    """No false alarms: torchtune's own 155 configs have no errors (warnings only, for paths and
    optional packages such as bitsandbytes or torchvision that this machine lacks)."""
    failures = {}
    n = 0
    for name, shipped in shipped_configs().items():
        if not shipped.path.exists():
            continue  # listed by torchtune 0.6.1 but not in its wheel (llama2/7B_full_early_exit)
        data, _ = read_yaml(shipped.path)
        path = tmp_path / (name.replace("/", "__") + ".yaml")
        path.write_text(dump_yaml(data))
        summary = validate_configs([(name, path)], ValidationContext(recipe=shipped.recipe))
        n += 1
        if not summary.ok:
            failures[name] = [f"{f.key}: {f.message}" for r in summary.results for f in r.errors]
    assert n == 155
    assert failures == {}


@pytest.mark.parametrize(
    "finding, line",
    [
        (
            Finding("error", "component", "model.lora_rnk", "no such parameter", "did you mean 'lora_rank'?"),
            "model.lora_rnk: no such parameter (did you mean 'lora_rank'?)",
        ),
        (Finding("error", "sweep", "", "identical configs"), "identical configs"),
    ],
)
def test_problems_are_one_line_each_with_key_and_fix(tmp_path, finding, line):
    from ttwriter.validation import RunValidation

    assert RunValidation("run_000", (finding,)).problems == (line,)
