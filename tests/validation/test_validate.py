"""Validation beyond `tune validate`: one test per check, each from a realistic mistake.

Each test generates a real sweep from the shipped llama3_2/1B_lora_single_device config (or a
copy of it edited the way people edit configs) and reads what a researcher reads: the findings
by run id and key path, the summary line and validation_report.json.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from tests.conftest import BASE
from ttwriter import Experiment, generate_configs
from ttwriter.registry import shipped_configs
from ttwriter.sweep.base_config import resolve_config_name
from ttwriter.validation.report import Finding
from ttwriter.validation.validate import ValidationContext, validate_configs
from ttwriter.yaml_io import dump_yaml, read_yaml


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
    from ttwriter.validation.report import RunValidation

    assert RunValidation("run_000", (finding,)).problems == (line,)


# --- what a run needs from the machine: every tokenizer file, hub data_files, logger packages ---

QWEN = "qwen2_5/0.5B_lora_single_device"
QWEN_MERGES = "/tmp/Qwen2.5-0.5B-Instruct/merges.txt"
"""Where the shipped Qwen2.5 config expects the tokenizer's merges file (absent on this machine)."""


def data_findings(result, severity: str) -> dict[str, str]:
    run = result.validation.results[0]
    found = run.errors if severity == "error" else run.warnings
    return {f.key: f.message for f in found if f.check == "data"}


def test_every_file_of_the_tokenizer_builder_is_checked_not_only_its_path(tmp_path):
    vocab = tmp_path / "vocab.json"
    vocab.write_text("{}")
    assert not Path(QWEN_MERGES).exists()
    # The tokenizer was downloaded and tokenizer.path points at it, but merges_file was forgotten.
    experiment = Experiment(name="qwen", base_config=QWEN, controls={"tokenizer": {"path": str(vocab)}})

    lenient = generate_configs(experiment, output_dir=tmp_path / "a")
    strict = generate_configs(experiment, output_dir=tmp_path / "b", strict=True)

    message = f"tokenizer file {QWEN_MERGES!r} does not exist on this machine"
    assert lenient.ok
    assert data_findings(lenient, "warning")["tokenizer.merges_file"] == message
    assert not strict.ok
    assert data_findings(strict, "error")["tokenizer.merges_file"] == message
    assert "tokenizer.path" not in data_findings(strict, "error")


def test_tokenizer_files_are_found_from_the_builders_parameters(tmp_path):
    # llama3_tokenizer takes special_tokens_path; phi4_tokenizer takes vocab_path and merges_path.
    llama = Experiment(
        name="llama",
        base_config=BASE,
        controls={"tokenizer": {"special_tokens_path": str(tmp_path / "special.json")}},
    )
    phi = Experiment(name="phi", base_config="phi4/14B_lora_single_device")

    llama_errors = data_findings(generate_configs(llama, output_dir=tmp_path / "l", strict=True), "error")
    phi_errors = data_findings(generate_configs(phi, output_dir=tmp_path / "p", strict=True), "error")

    assert llama_errors["tokenizer.special_tokens_path"] == (
        f"tokenizer file '{tmp_path / 'special.json'}' does not exist on this machine"
    )
    assert {k for k in phi_errors if k.startswith("tokenizer.")} == {
        "tokenizer.vocab_path",
        "tokenizer.merges_path",
    }


def test_data_files_on_a_hub_dataset_is_a_warning_that_says_set_source_json(tmp_path):
    data = tmp_path / "my_data.jsonl"
    data.write_text('{"instruction": "a", "input": "", "output": "b"}\n')
    # alpaca_cleaned_dataset's source defaults to the hub dataset yahma/alpaca-cleaned.
    experiment = Experiment(name="hub", base_config=BASE, controls={"dataset": {"data_files": str(data)}})

    result = generate_configs(experiment, output_dir=tmp_path / "out", strict=True)

    (finding,) = [f for f in result.validation.results[0].warnings if f.key == "dataset.data_files"]
    assert finding.message == (
        f"data_files '{data}' goes to load_dataset with alpaca_cleaned_dataset's default source "
        "'yahma/alpaca-cleaned', a Hugging Face hub dataset, so it selects files inside that dataset, "
        "not local files"
    )
    assert (
        finding.fix
        == "for local files set source: json (the files' format); for files of the hub dataset, ignore this"
    )


def test_files_of_a_hub_dataset_are_not_looked_for_on_this_machine(tmp_path):
    experiment = Experiment(
        name="hub",
        base_config=BASE,
        controls={"dataset": {"source": "tatsu-lab/alpaca", "data_files": ["data/train-00000.parquet"]}},
    )

    result = generate_configs(experiment, output_dir=tmp_path / "out", strict=True)

    assert "dataset.data_files" not in data_findings(result, "error")
    (finding,) = [f for f in result.validation.results[0].warnings if f.key == "dataset.data_files"]
    assert "with source 'tatsu-lab/alpaca', a Hugging Face hub dataset" in finding.message
    assert finding.fix.startswith("for local files set source: parquet ")


@pytest.mark.parametrize("source", ["json", "csv", "LOCAL_FOLDER"])
def test_data_files_with_a_file_format_or_a_local_folder_as_source_is_not_a_hub_warning(tmp_path, source):
    data = tmp_path / "train.json"
    data.write_text("[]")
    source = str(tmp_path) if source == "LOCAL_FOLDER" else source
    experiment = Experiment(
        name="local", base_config=BASE, controls={"dataset": {"source": source, "data_files": str(data)}}
    )

    result = generate_configs(experiment, output_dir=tmp_path / "out", strict=True)

    assert [f for r in result.validation.results for f in r.findings if f.key == "dataset.data_files"] == []


LOGGERS = [
    ("WandBLogger", "wandb", "WandBLogger imports wandb when the run starts"),
    ("MLFlowLogger", "mlflow", "MLFlowLogger imports mlflow when the run starts"),
    ("CometLogger", "comet_ml", "CometLogger imports comet_ml when the run starts"),
    (
        "TensorBoardLogger",
        "tensorboard",
        "TensorBoardLogger imports torch.utils.tensorboard when the run starts, which needs tensorboard",
    ),
]


def logger_experiment(logger: str) -> Experiment:
    return Experiment(
        name="log",
        base_config=BASE,
        delete=("metric_logger",),
        controls={"metric_logger": {"_component_": f"torchtune.training.metric_logging.{logger}"}},
    )


@pytest.mark.parametrize("logger, package, start", LOGGERS)
def test_a_metric_logger_whose_package_is_not_installed_is_an_error(
    tmp_path, monkeypatch, logger, package, start
):
    # ttwriter[tracking] installs wandb, mlflow and tensorboard: None in sys.modules is Python's
    # own "this package cannot be imported here", as on a machine without it.
    monkeypatch.setitem(sys.modules, package, None)

    result = generate_configs(logger_experiment(logger), output_dir=tmp_path / "out")

    assert not result.ok
    (finding,) = result.validation.results[0].errors
    assert (finding.check, finding.key) == ("package", "metric_logger._component_")
    assert finding.message == (f"{start}, and {package} is not installed here: the run would die at start-up")
    assert finding.fix == (
        f"pip install {package} where the runs train (and here, so validation sees it), "
        "or log with torchtune.training.metric_logging.DiskLogger"
    )


def test_a_metric_logger_whose_package_is_installed_is_fine(tmp_path, monkeypatch):
    site = tmp_path / "site"
    (site / "wandb").mkdir(parents=True)
    (site / "wandb" / "__init__.py").write_text("def init(**kwargs):\n    pass\n")
    monkeypatch.syspath_prepend(str(site))

    installed = generate_configs(logger_experiment("WandBLogger"), output_dir=tmp_path / "w")
    disk = generate_configs(logger_experiment("DiskLogger"), output_dir=tmp_path / "d")

    assert installed.ok and disk.ok
    assert [f for r in installed.validation.results for f in r.findings if f.check == "package"] == []
