"""experiment.yaml in both shapes the spec shows, read the way torchtune reads YAML."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import BASE
from ttwriter import (
    ExperimentLoadError,
    ExperimentProblemsError,
    ExperimentSchemaError,
    TypeMismatchError,
    UnknownKeyError,
    generate_configs,
    load_experiment,
)

FLAT = f"""\
experiment_name: lora_study
framework: torchtune
base_config: {BASE}
question: Does rank matter?
hypothesis: Rank 16 is enough.
researcher: ada
date: 2025-11-12
tags: [sft, lora]
notes: first try
variables:
  lora_rank: [8, 16]
controls:
  learning_rate: 3e-4
  dataset:
    packed: false
delete: [profiler]
output:
  experiment_dir: out/lora_study
"""

NESTED = f"""\
experiment:
  name: lora_study
  framework: torchtune
  question: Does rank matter?
  hypothesis: Rank 16 is enough.
  researcher: ada
  date: 2025-11-12
  tags: [sft, lora]
  notes: first try
framework_config:
  base_config: {BASE}
variables:
  lora_rank: [8, 16]
controls:
  learning_rate: 3e-4
  dataset:
    packed: false
delete: [profiler]
output:
  experiment_dir: out/lora_study
"""


def write(tmp_path: Path, text: str, name: str = "experiment.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def load_error(tmp_path: Path, text: str, cls: type = ExperimentSchemaError) -> tuple[str, Path]:
    path = write(tmp_path, text)
    with pytest.raises(cls) as info:
        load_experiment(path)
    return str(info.value), path


# --- the two shapes ------------------------------------------------------------------------------


def test_flat_and_nested_shapes_give_the_same_experiment(tmp_path):
    flat = load_experiment(write(tmp_path, FLAT, "flat.yaml")).experiment
    nested = load_experiment(write(tmp_path, NESTED, "nested.yaml")).experiment

    assert flat == nested
    assert flat.name == "lora_study"
    assert flat.base_config == BASE
    assert (flat.question, flat.hypothesis, flat.researcher, flat.notes) == (
        "Does rank matter?",
        "Rank 16 is enough.",
        "ada",
        "first try",
    )
    assert flat.tags == ("sft", "lora")
    assert flat.delete == ("profiler",)
    assert flat.output_dir == "out/lora_study"


def test_both_shapes_generate_byte_identical_configs(tmp_path):
    configs = []
    for shape, text in (("flat", FLAT), ("nested", NESTED)):
        source = write(tmp_path, text.replace("out/lora_study", str(tmp_path / "out")), f"{shape}.yaml")
        result = generate_configs(source, validate=False)
        configs.append([p.read_bytes() for p in sorted((result.experiment_dir / "configs").iterdir())])
        (result.experiment_dir).rename(tmp_path / f"done_{shape}")

    assert len(configs[0]) == 2
    assert configs[0] == configs[1]


def test_nested_base_config_file_is_relative_to_the_experiment_file(tmp_path, monkeypatch):
    folder = tmp_path / "exp"
    folder.mkdir()
    (folder / "base.yaml").write_text("output_dir: /tmp/x\nepochs: 1\n", encoding="utf-8")
    text = (
        "experiment:\n  name: own\nframework_config:\n  base_config_file: base.yaml\ncontrols:\n  epochs: 2\n"
    )
    monkeypatch.chdir(tmp_path)

    result = generate_configs(write(folder, text), output_dir=tmp_path / "out", validate=False)

    assert result.loaded.experiment.base_config_file == "base.yaml"
    assert result.base_config == str(folder / "base.yaml")
    assert "\nepochs: 2\n" in (tmp_path / "out" / "configs" / "run_000.yaml").read_text()


def test_output_base_dir_puts_a_timestamped_folder_inside_it(tmp_path):
    text = NESTED.replace("experiment_dir: out/lora_study", "base_dir: results")

    experiment = load_experiment(write(tmp_path, text)).experiment

    assert experiment.output_dir == "results/{experiment_name}_{timestamp}"


def test_flat_recipe_and_nested_framework_config_recipe_are_the_same(tmp_path):
    flat = FLAT + "recipe: lora_finetune_single_device\n"
    nested = NESTED.replace(
        f"  base_config: {BASE}\n", f"  base_config: {BASE}\n  recipe: lora_finetune_single_device\n"
    )

    a = load_experiment(write(tmp_path, flat, "a.yaml")).experiment
    b = load_experiment(write(tmp_path, nested, "b.yaml")).experiment

    assert a.recipe == b.recipe == "lora_finetune_single_device"


# --- scalars as torchtune reads them -------------------------------------------------------------


def test_exponent_numbers_are_floats_as_in_omegaconf(tmp_path):
    text = f"experiment_name: x\nbase_config: {BASE}\ncontrols:\n  learning_rate: 3e-4\nvariables:\n  weight_decay: [1e-2, 1.0e-3]\n"

    experiment = load_experiment(write(tmp_path, text)).experiment

    assert experiment.controls["learning_rate"] == 3e-4
    assert type(experiment.controls["learning_rate"]) is float
    assert experiment.variables["weight_decay"] == (0.01, 0.001)
    assert [type(v) for v in experiment.variables["weight_decay"]] == [float, float]


@pytest.mark.parametrize("text", [FLAT, NESTED], ids=["flat", "nested"])
def test_date_survives_into_experiment_json_as_written(tmp_path, text):
    source = write(tmp_path, text.replace("out/lora_study", str(tmp_path / "out")))

    result = generate_configs(source, validate=False)
    snapshot = json.loads((result.experiment_dir / "experiment.json").read_text())

    assert snapshot["experiment"]["date"] == "2025-11-12"


def test_unsafe_yaml_tags_are_rejected_and_never_executed(tmp_path):
    marker = tmp_path / "pwned"
    text = f"experiment_name: !!python/object/apply:os.system ['touch {marker}']\nbase_config: {BASE}\n"

    message, path = load_error(tmp_path, text, ExperimentLoadError)

    assert message == (
        f"{path}:1: not valid YAML: could not determine a constructor for the tag "
        "'tag:yaml.org,2002:python/object/apply:os.system'\n"
        "  fix: only plain YAML is accepted: remove the tag (the !!... before the value)"
    )
    assert not marker.exists()


# --- errors --------------------------------------------------------------------------------------

DUPLICATES = {
    "top level": (
        f"experiment_name: a\nbase_config: {BASE}\nexperiment_name: b\n",
        "3: experiment_name: duplicate key 'experiment_name' (first on line 1, again on line 3)",
    ),
    "inside controls": (
        f"experiment_name: a\nbase_config: {BASE}\ncontrols:\n  epochs: 1\n  batch_size: 2\n  epochs: 3\n",
        "6: controls.epochs: duplicate key 'controls.epochs' (first on line 4, again on line 6)",
    ),
    "deep in nested shape": (
        f"experiment:\n  name: a\nframework_config:\n  base_config: {BASE}\ncontrols:\n"
        "  dataset:\n    split: train\n    packed: true\n    split: test\n",
        "9: controls.dataset.split: duplicate key 'controls.dataset.split' (first on line 7, again on line 9)",
    ),
    "under experiment:": (
        f"experiment:\n  name: a\n  name: b\nframework_config:\n  base_config: {BASE}\n",
        "3: experiment.name: duplicate key 'experiment.name' (first on line 2, again on line 3)",
    ),
}


@pytest.mark.parametrize("text, where", DUPLICATES.values(), ids=DUPLICATES.keys())
def test_a_duplicate_key_anywhere_is_an_error_with_both_lines(tmp_path, text, where):
    message, path = load_error(tmp_path, text, ExperimentLoadError)

    assert message == (
        f"{path}:{where}; YAML would silently keep only the last one\n"
        "  fix: remove one of the two, or merge their contents"
    )


SCHEMA_ERRORS = {
    "unknown top-level key": (
        f"experiment_name: a\nbase_config: {BASE}\ncontrolls:\n  epochs: 1\n",
        "3: controlls: unknown key 'controlls' in experiment.yaml; did you mean 'controls'?\n"
        "  fix: allowed keys here: base_config, base_config_file, controls, date, delete, derived, evaluation, "
        "exclude, experiment_name, framework, hypothesis, linked, notes, output, question, recipe, replicates, "
        "researcher, sample, slurm, tags, tracking, variables",
    ),
    "unknown top-level key, nested shape": (
        f"experiment:\n  name: a\nframework_config:\n  base_config: {BASE}\nvariabels:\n  lora_rank: [8]\n",
        "5: variabels: unknown key 'variabels' in experiment.yaml; did you mean 'variables'?\n"
        "  fix: allowed keys here: controls, delete, derived, evaluation, exclude, experiment, framework_config, linked, output, replicates, sample, slurm, tracking, variables",
    ),
    "unknown key under experiment:": (
        f"experiment:\n  name: a\n  hypothesys: h\nframework_config:\n  base_config: {BASE}\n",
        "3: experiment.hypothesys: unknown key 'hypothesys' in experiment:; did you mean 'hypothesis'?\n"
        "  fix: allowed keys here: date, framework, hypothesis, name, notes, question, researcher, tags",
    ),
    "unknown key under framework_config:": (
        f"experiment:\n  name: a\nframework_config:\n  base_cofig: {BASE}\n",
        "4: framework_config.base_cofig: unknown key 'base_cofig' in framework_config:; "
        "did you mean 'base_config' or 'base_config_file'?\n"
        "  fix: allowed keys here: base_config, base_config_file, recipe",
    ),
    "unknown key under output:": (
        f"experiment_name: a\nbase_config: {BASE}\noutput:\n  experiment_folder: x\n",
        "4: output.experiment_folder: unknown key 'experiment_folder' in output:; did you mean 'experiment_dir'?\n"
        "  fix: allowed keys here: base_dir, experiment_dir",
    ),
    "both base configs, nested": (
        f"experiment:\n  name: a\nframework_config:\n  base_config: {BASE}\n  base_config_file: my.yaml\n",
        "4: base_config: both base_config and base_config_file are set\n"
        "  fix: keep only one of them (deriving in Python: replace(parent, base_config=None, "
        "base_config_file=...) or the reverse)",
    ),
    "both base configs, flat": (
        f"experiment_name: a\nbase_config: {BASE}\nbase_config_file: my.yaml\n",
        "2: base_config: both base_config and base_config_file are set\n"
        "  fix: keep only one of them (deriving in Python: replace(parent, base_config=None, "
        "base_config_file=...) or the reverse)",
    ),
    "framework, nested": (
        f"experiment:\n  name: a\n  framework: axolotl\nframework_config:\n  base_config: {BASE}\n",
        "3: framework: framework 'axolotl' is not supported\n"
        "  fix: use framework='torchtune' (the only framework in this version)",
    ),
    "framework, flat": (
        f"experiment_name: a\nframework: axolotl\nbase_config: {BASE}\n",
        "2: framework: framework 'axolotl' is not supported\n"
        "  fix: use framework='torchtune' (the only framework in this version)",
    ),
    "variable that is not a list": (
        f"experiment_name: a\nbase_config: {BASE}\nvariables:\n  lora_rank: 8\n",
        "4: variables.lora_rank: a variable takes a list of values, got 8\n"
        "  fix: write a list, e.g. lora_rank: [8], or move it to controls if it stays fixed",
    ),
    "controls that are not a mapping": (
        f"experiment_name: a\nbase_config: {BASE}\ncontrols: [epochs]\n",
        "3: controls: controls must be a mapping, got list ['epochs']\n"
        "  fix: indent the keys of controls under it, one per line",
    ),
    "experiment_dir that is a list": (
        f"experiment_name: a\nbase_config: {BASE}\noutput:\n  experiment_dir: [a, b]\n",
        "4: output.experiment_dir: output.experiment_dir must be a folder path (a string), got list ['a', 'b']\n"
        "  fix: write one path, e.g. experiment_dir: a/b",
    ),
    "experiment_dir that is a number": (
        f"experiment_name: a\nbase_config: {BASE}\noutput:\n  experiment_dir: 2025\n",
        "4: output.experiment_dir: output.experiment_dir must be a folder path (a string), got int 2025\n"
        "  fix: quote it to make it a folder name: experiment_dir: '2025'",
    ),
    "base_dir that is a mapping": (
        f"experiment_name: a\nbase_config: {BASE}\noutput:\n  base_dir: {{a: 1}}\n",
        "4: output.base_dir: output.base_dir must be a folder path (a string), got dict {'a': 1}\n"
        "  fix: write one folder path, e.g. base_dir: outputs/my_sweep",
    ),
    "base_config_file that is a number": (
        "experiment:\n  name: a\nframework_config:\n  base_config_file: 3\n",
        "4: base_config_file: base_config_file must be a string, got int 3\n"
        "  fix: quote the value of base_config_file: base_config_file: '3'",
    ),
    "recipe that is a list": (
        f"experiment_name: a\nbase_config: {BASE}\nrecipe: [lora_finetune_single_device]\n",
        "3: recipe: recipe must be a string, got list ['lora_finetune_single_device']\n"
        "  fix: recipe takes one value, not a list: e.g. recipe: lora_finetune_single_device",
    ),
    "a name with a trailing line break": (
        f'experiment_name: "lora\\n"\nbase_config: {BASE}\n',
        "1: name: experiment name 'lora\\n' is not a safe folder name\n"
        "  fix: use letters, digits, '_', '-', '.' and '+' only, starting with a letter, digit or '_', "
        "e.g. 'lora'",
    ),
    "a carriage return in a slurm value": (
        f'experiment_name: a\nbase_config: {BASE}\nslurm:\n  partition: "gpu\\r"\n',
        "4: slurm.partition: partition 'gpu\\r' contains a carriage return (\\r), which a job script "
        "cannot hold on one line\n  fix: write it without control characters, e.g. slurm.partition: 'gpu'",
    ),
    "a tab in a slurm value": (
        f'experiment:\n  name: a\nframework_config:\n  base_config: {BASE}\nslurm:\n  qos: "high\\tprio"\n',
        "6: slurm.qos: qos 'high\\tprio' contains a tab, which a job script cannot hold on one line\n"
        "  fix: write it without control characters, e.g. slurm.qos: 'highprio'",
    ),
    "missing experiment.name": (
        f"experiment:\n  researcher: ada\nframework_config:\n  base_config: {BASE}\n",
        "1: experiment.name: experiment.name is missing\n  fix: add 'name: my_experiment' under experiment:",
    ),
}


@pytest.mark.parametrize("text, expected", SCHEMA_ERRORS.values(), ids=SCHEMA_ERRORS.keys())
def test_schema_errors_name_file_line_and_fix(tmp_path, text, expected):
    message, path = load_error(tmp_path, text)

    assert message == f"{path}:{expected}"


def test_unknown_key_in_controls_names_file_line_and_suggests_the_real_key(tmp_path):
    text = f"experiment_name: a\nbase_config: {BASE}\ncontrols:\n  epochs: 1\n  lora_rnak: 8\n"
    path = write(tmp_path, text)

    with pytest.raises(UnknownKeyError) as info:
        generate_configs(path, output_dir=tmp_path / "out", validate=False)

    assert str(info.value) == (
        f"{path}:5: controls.lora_rnak: key 'lora_rnak' is not in the base config; "
        "did you mean 'lora_rank' or 'lora_alpha'?\n"
        "  fix: fix the spelling, or write '+lora_rnak' to add a new key on purpose"
    )
    assert not (tmp_path / "out").exists()


def test_unknown_key_in_controls_through_the_cli(tmp_path, run_cli):
    text = f"experiment:\n  name: a\nframework_config:\n  base_config: {BASE}\ncontrols:\n  lora_rnak: 8\n"
    path = write(tmp_path, text)

    result = run_cli(str(path), "--output-dir", str(tmp_path / "out"), "--no-validate")

    assert result.code == 2
    assert result.err == (
        f"error: {path}:6: controls.lora_rnak: key 'lora_rnak' is not in the base config; "
        "did you mean 'lora_rank' or 'lora_alpha'?\n"
        "  fix: fix the spelling, or write '+lora_rnak' to add a new key on purpose\n"
    )
    assert not (tmp_path / "out").exists()


def test_a_type_mismatch_in_controls_names_file_and_line(tmp_path):
    path = write(tmp_path, f"experiment_name: a\nbase_config: {BASE}\ncontrols:\n  learning_rate: '3e-4'\n")

    with pytest.raises(TypeMismatchError) as info:
        generate_configs(path, output_dir=tmp_path / "out", validate=False)

    assert str(info.value).startswith(f"{path}:4: controls.learning_rate: 'optimizer.lr' is float 0.0003")


# --- every problem in one go ---------------------------------------------------------------------

MANY_PROBLEMS = f"""\
experiment_name: my exp
base_config: {BASE}
hypothsis: rank matters
controls:
  lora_rnak: 8
  epochs: "2"
variables:
  learnig_rate: [1e-4, 3e-4]
  lora_alpha: []
slurm:
  partitoin: gpu
output:
  experiment_dir: "out/{{run}}"
"""


def test_every_problem_of_an_experiment_yaml_is_reported_in_one_message(tmp_path):
    path = write(tmp_path, MANY_PROBLEMS)

    with pytest.raises(ExperimentProblemsError) as info:
        generate_configs(path, validate=False)

    assert str(info.value).replace(str(path), "<PATH>") == (
        "the experiment has 8 problems:\n"
        "  <PATH>:3: hypothsis: unknown key 'hypothsis' in experiment.yaml; did you mean 'hypothesis'?\n"
        "    fix: allowed keys here: base_config, base_config_file, controls, date, delete, derived, evaluation, "
        "exclude, experiment_name, framework, hypothesis, linked, notes, output, question, recipe, replicates, "
        "researcher, sample, slurm, tags, tracking, variables\n"
        "  <PATH>:1: name: experiment name 'my exp' is not a safe folder name\n"
        "    fix: use letters, digits, '_', '-', '.' and '+' only, starting with a letter, digit or '_', "
        "e.g. 'my_exp'\n"
        "  <PATH>:11: slurm.partitoin: unknown field 'partitoin'; did you mean 'partition'?\n"
        "    fix: SlurmConfig fields: job_name, partition, account, qos, time, gpus_per_run, cpus_per_task, "
        "mem, constraint, max_parallel, setup, sbatch_lines, command\n"
        "  <PATH>:9: variables.lora_alpha: variable has no values, so the sweep would have no runs\n"
        "    fix: give lora_alpha at least one value, or remove it\n"
        "  <PATH>:13: output_dir: unknown placeholder {run} in output folder 'out/{run}'\n"
        "    fix: the output folder may use {experiment_name} and {timestamp}\n"
        "  <PATH>:5: controls.lora_rnak: key 'lora_rnak' is not in the base config; "
        "did you mean 'lora_rank' or 'lora_alpha'?\n"
        "    fix: fix the spelling, or write '+lora_rnak' to add a new key on purpose\n"
        "  <PATH>:8: variables.learnig_rate: key 'learnig_rate' is not in the base config; "
        "did you mean 'learning_rate'?\n"
        "    fix: fix the spelling, or write '+learnig_rate' to add a new key on purpose\n"
        "  <PATH>:6: controls.epochs: 'epochs' is int 1 in the base config, but the experiment sets str '2'\n"
        "    fix: write 2 without quotes"
    )
    assert [type(p).__name__ for p in info.value.problems][-3:] == [
        "UnknownKeyError",
        "UnknownKeyError",
        "TypeMismatchError",
    ]


def test_loading_alone_reports_the_problems_of_the_fields_together(tmp_path):
    message, path = load_error(tmp_path, MANY_PROBLEMS, ExperimentProblemsError)

    assert message.startswith("the experiment has 4 problems:\n")
    assert "lora_rnak" not in message  # keys, and the folder, are checked when generating


def test_a_misspelled_key_is_said_once_not_again_as_the_field_it_leaves_unset(tmp_path):
    for text, key in (
        (f"experiment:\n  nmae: a\nframework_config:\n  base_config: {BASE}\n", "experiment.nmae"),
        (f"experiment_nam: a\nbase_config: {BASE}\n", "experiment_nam"),
        (f"experiment_name: a\nbase_confg: {BASE}\n", "base_confg"),
    ):
        message, _ = load_error(tmp_path, text)
        assert f": {key}: unknown key " in message and "\n  fix: allowed keys here" in message
        assert "missing" not in message and "no base config" not in message


@pytest.mark.parametrize(
    "text, key, hint",
    [
        (f"name: a\nbase_config: {BASE}\n", "name", "did you mean 'experiment_name'?"),
        (
            f"experiment_name: a\nconfig: {BASE}\n",
            "config",
            "did you mean 'base_config' or 'base_config_file'?",
        ),
        (
            f"experiment:\n  experiment_name: a\nframework_config:\n  base_config: {BASE}\n",
            "experiment.experiment_name",
            "did you mean 'name'?",
        ),
    ],
    ids=["name in the flat shape", "config", "experiment_name in the nested shape"],
)
def test_a_key_that_is_part_of_the_real_name_suggests_that_name_not_a_similar_spelling(
    tmp_path, text, key, hint
):
    # 'name' is about as close to 'sample' as letters go; the key it is part of is the one meant.
    message, _ = load_error(tmp_path, text)
    written = key.rpartition(".")[2]
    where = "experiment:" if "." in key else "experiment.yaml"
    assert message.splitlines()[0].endswith(f": {key}: unknown key {written!r} in {where}; {hint}")
    assert "missing" not in message  # the field it leaves unset is the same mistake, said once


def test_a_torchtune_config_given_as_the_experiment_says_how_to_use_it(tmp_path):
    from ttwriter.registry import shipped_configs

    config = tmp_path / "my_lora.yaml"
    config.write_text(shipped_configs()[BASE].path.read_text(encoding="utf-8"), encoding="utf-8")

    with pytest.raises(ExperimentLoadError) as info:
        load_experiment(config)

    assert str(info.value) == (
        f"{config}: this is a torchtune config (batch_size, checkpointer, compile, dataset), not an experiment\n"
        "  fix: use it as the base of an experiment: an experiment.yaml beside it with "
        "'experiment_name: my_sweep' and 'base_config_file: my_lora.yaml', then controls and variables "
        "(see docs/experiment_format.md)"
    )


def test_a_yaml_with_component_nodes_and_no_experiment_keys_is_a_torchtune_config(tmp_path):
    message, _ = load_error(
        tmp_path, "model:\n  _component_: torchtune.models.llama3_2.lora_llama3_2_1b\n", ExperimentLoadError
    )
    assert "this is a torchtune config (model), not an experiment" in message
    message, _ = load_error(
        tmp_path, "experiment_nmae: a\nmodel:\n  _component_: x\n", ExperimentProblemsError
    )
    assert "unknown key 'experiment_nmae'" in message  # an experiment with typos stays one
