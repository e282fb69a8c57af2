"""Reading a generated folder back: run_mapping.yaml, experiment.json, markers and submissions of
any shape give exit 2 naming the file and the key, in every command that reads them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from tests.conftest import YAML_EXAMPLE
from ttwriter import SlurmConfig, generate_configs
from ttwriter.folder.markers import read_marker
from ttwriter.folder.read import read_experiment_folder, read_job_folder

COMMANDS = {
    "status": ("status",),
    "results": ("results", "--no-plot"),
    "run": ("run", "--dry-run"),
    "submit": ("submit", "--dry-run"),
}


@pytest.fixture
def folder(tmp_path) -> Path:
    """A folder of its own for a test to damage (a copy would be a folder written for elsewhere)."""
    return generate_configs(YAML_EXAMPLE, output_dir=tmp_path / "sweep").experiment_dir


def edit_mapping(folder: Path, change) -> None:
    path = folder / "run_mapping.yaml"
    data = yaml.safe_load(path.read_text())
    change(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def edit_snapshot(folder: Path, change) -> None:
    path = folder / "experiment.json"
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data, indent=2))


MAPPING_CASES = {
    "no runs": (lambda d: d.pop("runs"), "runs", "required key is missing"),
    "runs a mapping": (lambda d: d.update(runs={"a": 1}), "runs", "must be a list, got dict {'a': 1}"),
    "a run that is a string": (
        lambda d: d["runs"].__setitem__(1, "run_001"),
        "runs[1]",
        "must be a mapping, got str 'run_001'",
    ),
    "a run without id": (lambda d: d["runs"][2].pop("id"), "runs[2].id", "required key is missing"),
    "an id that is a number": (
        lambda d: d["runs"][2].update(id=3),
        "runs[2].id",
        "must be a string, got int 3",
    ),
    "an id that is a path": (
        lambda d: d["runs"][2].update(id="../x"),
        "runs[2].id",
        "is not a run id: '../x'",
    ),
    "an id listed twice": (
        lambda d: d["runs"][2].update(id="run_000"),
        "runs[2].id",
        "run id 'run_000' is listed twice (runs[0] and runs[2])",
    ),
    "params a list": (
        lambda d: d["runs"][0].update(params=[8]),
        "runs[0].params",
        "must be a mapping, got list [8]",
    ),
    "config a list": (
        lambda d: d["runs"][0].update(config=["a"]),
        "runs[0].config",
        "must be a path (a string), got list ['a']",
    ),
    "output_dir empty": (
        lambda d: d["runs"][3].update(output_dir=" "),
        "runs[3].output_dir",
        "is not a usable path",
    ),
    "variables a string": (
        lambda d: d.update(variables="lora_rank"),
        "variables",
        "must be a list of strings, got str 'lora_rank'",
    ),
    "recipe a list": (lambda d: d.update(recipe=["x"]), "recipe", "must be a string, got list ['x']"),
    "experiment a mapping": (
        lambda d: d.update(experiment={"a": 1}),
        "experiment",
        "must be a string, got dict",
    ),
    "distributed a string": (
        lambda d: d.update(distributed="no"),
        "distributed",
        "must be true or false, got str 'no'",
    ),
    "training_command a list": (
        lambda d: d.update(training_command=["tune"]),
        "training_command",
        "must be a string, got list ['tune']",
    ),
    "max_parallel zero": (
        lambda d: d.update(max_parallel=0),
        "max_parallel",
        "must be a whole number >= 1, or null, got 0",
    ),
    "max_parallel a string": (
        lambda d: d.update(max_parallel="2"),
        "max_parallel",
        "must be a whole number >= 1, or null, got str '2'",
    ),
}


@pytest.mark.parametrize("command", COMMANDS.values(), ids=COMMANDS.keys())
@pytest.mark.parametrize("change, key, message", MAPPING_CASES.values(), ids=MAPPING_CASES.keys())
def test_a_damaged_run_mapping_is_exit_2_naming_file_and_key(folder, run_cli, command, change, key, message):
    edit_mapping(folder, change)

    result = run_cli(command[0], str(folder), *command[1:])

    assert result.code == 2, result.err
    first, fix = result.err.splitlines()[:2]
    assert first.startswith(f"error: {folder}/run_mapping.yaml:")
    assert f": {key}: {message}" in first
    assert fix == f"  fix: regenerate the folder: ttwriter {folder}/experiment.json --output-dir <new folder>"
    assert "Traceback" not in result.err
    assert not (folder / "results.csv").exists()
    assert not (folder / "status").exists()


SNAPSHOT_CASES = {
    "not JSON": (None, "", "not valid JSON: Expecting value"),
    "a list": (lambda d: [d], "", "an experiment snapshot must be a mapping of keys to values, got list"),
    "no experiment": (lambda d: d.pop("experiment"), "experiment", "required key is missing"),
    "experiment a list": (
        lambda d: d.update(experiment=[1]),
        "experiment",
        "must be a mapping, got list [1]",
    ),
    "provenance a list": (
        lambda d: d.update(provenance=[1]),
        "provenance",
        "must be a mapping, got list [1]",
    ),
    "lineage a string": (
        lambda d: d["provenance"].update(lineage="a.py"),
        "provenance.lineage",
        "must be a list of strings, got str 'a.py'",
    ),
    "source_files a list": (
        lambda d: d["provenance"].update(source_files=["a"]),
        "provenance.source_files",
        "must be a mapping, got list ['a']",
    ),
    "source_files outside the folder": (
        lambda d: d["provenance"].update(source_files={"../../etc/passwd": "0" * 64}),
        "provenance.source_files.../../etc/passwd",
        "is not the name of a file in this folder",
    ),
    "smoke a string": (
        lambda d: d["provenance"].update(smoke="yes"),
        "provenance.smoke",
        "must be true or false, got str 'yes'",
    ),
    "slurm a list": (lambda d: d["experiment"].update(slurm=[1]), "experiment.slurm", "must be a mapping"),
    "base_config sha256 a number": (
        lambda d: d["provenance"]["base_config"].update(sha256=5),
        "provenance.base_config.sha256",
        "must be a string, got int 5",
    ),
    "a long integer": (None, "", "an integer with 5000 digits (more than 4300)"),
    "nested too deep": (None, "", "nested more than 50 levels deep"),
}


def damage_snapshot(folder: Path, name: str) -> None:
    path = folder / "experiment.json"
    if name == "not JSON":
        path.write_text(path.read_text()[:100])
    elif name == "a long integer":
        path.write_text(path.read_text().replace('"n_runs": 4', '"n_runs": ' + "4" * 5000))
    elif name == "nested too deep":
        path.write_text(path.read_text().replace('"n_runs": 4', '"n_runs": ' + "[" * 60 + "]" * 60))
    else:
        change = SNAPSHOT_CASES[name][0]
        edit_snapshot(folder, lambda d: change(d))
        if name == "a list":
            data = json.loads(path.read_text())
            path.write_text(json.dumps([data]))


@pytest.mark.parametrize("command", [*COMMANDS.values(), ("generate",)], ids=[*COMMANDS, "generate"])
@pytest.mark.parametrize("name", SNAPSHOT_CASES)
def test_a_damaged_experiment_json_is_exit_2_naming_file_and_key(folder, run_cli, tmp_path, command, name):
    damage_snapshot(folder, name)
    _, key, message = SNAPSHOT_CASES[name]

    if command == ("generate",):
        result = run_cli(
            str(folder / "experiment.json"), "--no-validate", "--output-dir", str(tmp_path / "again")
        )
    else:
        result = run_cli(command[0], str(folder), *command[1:])

    assert result.code == 2, result.err
    first = result.err.splitlines()[0]
    assert first.startswith(f"error: {folder}/experiment.json")
    assert (f": {key}: {message}" if key else message) in first
    assert result.err.splitlines()[1].startswith("  fix: ")
    assert "Traceback" not in result.err
    assert not (folder / "results.csv").exists()
    assert not (tmp_path / "again").exists()


def test_a_bad_experiment_field_in_the_snapshot_names_it_under_experiment(folder, run_cli, tmp_path):
    edit_snapshot(folder, lambda d: d["experiment"].update(nmae="x"))
    result = run_cli(
        str(folder / "experiment.json"), "--no-validate", "--output-dir", str(tmp_path / "again")
    )
    assert result.code == 2
    assert ": experiment.nmae: unknown field 'nmae'; did you mean 'name'?" in result.err

    edit_snapshot(folder, lambda d: (d["experiment"].pop("nmae"), d["experiment"].update(name=3)))
    result = run_cli(
        str(folder / "experiment.json"), "--no-validate", "--output-dir", str(tmp_path / "again")
    )
    assert result.code == 2
    assert ": experiment.name: name must be a string, got int 3" in result.err


def test_every_bad_field_of_a_snapshot_and_the_keys_they_leave_are_reported_together(
    folder, run_cli, tmp_path
):
    def change(data):
        data["experiment"].update(nmae="x", tags=3)
        data["experiment"]["controls"]["lora_rnak"] = 8
        data["experiment"]["variables"]["lora_rank"] = []

    edit_snapshot(folder, change)
    snapshot = folder / "experiment.json"
    lines = snapshot.read_text().splitlines()

    def line_of(key: str) -> int:
        return next(i for i, text in enumerate(lines, start=1) if text.strip().startswith(f'"{key}"'))

    result = run_cli(str(snapshot), "--no-validate", "--output-dir", str(tmp_path / "again"))

    assert result.code == 2
    assert result.err.splitlines()[0] == "error: the experiment has 4 problems:"
    shown = [line.strip() for line in result.err.splitlines()[1::2]]
    assert [line.split(": ")[0:2] for line in shown] == [
        [f"{snapshot}:{line_of('nmae')}", "experiment.nmae"],
        [f"{snapshot}:{line_of('tags')}", "experiment.tags"],
        [f"{snapshot}:{line_of('lora_rank')}", "experiment.variables.lora_rank"],
        [f"{snapshot}:{line_of('lora_rnak')}", "experiment.controls.lora_rnak"],
    ]
    assert shown[3].endswith(
        "key 'lora_rnak' is not in the base config; did you mean 'lora_rank' or 'lora_alpha'?"
    )
    assert not (tmp_path / "again").exists()


def test_bad_slurm_settings_in_the_snapshot_stop_run_with_their_key(folder, run_cli):
    edit_snapshot(folder, lambda d: d["experiment"]["slurm"].update(gpus_per_run="two"))
    result = run_cli("run", str(folder), "--dry-run")
    assert result.code == 2
    assert result.err.startswith(
        f"error: {folder}/experiment.json: experiment.slurm.gpus_per_run: the slurm settings in "
        "experiment.json are not valid: gpus_per_run must be a whole number >= 0, got 'two'"
    )


def test_several_bad_slurm_settings_in_the_snapshot_are_named_together(folder, run_cli):
    edit_snapshot(folder, lambda d: d["experiment"]["slurm"].update(gpus_per_run="two", time="soon"))
    result = run_cli("run", str(folder), "--dry-run")
    assert result.code == 2
    assert result.err.startswith(
        f"error: {folder}/experiment.json: experiment.slurm: the slurm settings in experiment.json are "
        "not valid: slurm.time: time 'soon' is not a SLURM time limit; "
        "slurm.gpus_per_run: gpus_per_run must be a whole number >= 0, got 'two'\n"
    )


def test_a_folder_without_experiment_json_is_still_read(folder):
    (folder / "experiment.json").unlink()
    read = read_experiment_folder(folder)
    assert (read.snapshot, read.smoke, read.slurm) == (None, False, SlurmConfig())
    assert len(read.runs) == 4


# ---------------------------------------------------------------- facts the header records

RECORDED = ("distributed", "training_command", "max_parallel")
"""What run_mapping.yaml records for the commands that start runs (besides the recipe)."""


def distributed_sweep(tmp_path: Path) -> Path:
    experiment = {
        "experiment_name": "dist",
        "base_config": "llama3_2/1B_lora",
        "variables": {"lora_rank": [8, 16, 32, 64]},
        "slurm": {"gpus_per_run": 2, "max_parallel": 3},
    }
    return generate_configs(experiment, output_dir=tmp_path / "dist", validate=False).experiment_dir


def test_the_facts_later_commands_need_are_recorded_in_the_mapping(tmp_path):
    folder = distributed_sweep(tmp_path)

    header = yaml.safe_load((folder / "run_mapping.yaml").read_text())
    read = read_experiment_folder(folder)

    assert {key: header[key] for key in ("recipe", *RECORDED)} == {
        "recipe": "lora_finetune_distributed",
        "distributed": True,
        "training_command": "tune run --nproc_per_node {nproc} {recipe} --config {config}",
        "max_parallel": 3,
    }
    assert (read.recipe, read.distributed, read.training_command, read.max_parallel) == (
        "lora_finetune_distributed",
        True,
        header["training_command"],
        3,
    )
    assert [(run.id, run.task) for run in read.runs] == [(f"run_00{i}", i) for i in range(4)]


def test_a_folder_from_before_the_facts_were_recorded_gets_them_from_its_snapshot(tmp_path, run_cli):
    folder = distributed_sweep(tmp_path)
    edit_mapping(folder, lambda d: [d.pop(key) for key in RECORDED])

    read = read_experiment_folder(folder)
    submitted = run_cli("submit", str(folder), "--dry-run", "--ignore-validation")
    trained = run_cli("run", str(folder), "--dry-run", "--ignore-validation")

    assert (read.distributed, read.max_parallel) == (True, 3)
    assert read.training_command == "tune run --nproc_per_node {nproc} {recipe} --config {config}"
    assert "--array=0-3%3 " in submitted.out, submitted.err
    assert (
        f"  run_000  tune run --nproc_per_node 2 lora_finetune_distributed --config {folder}/configs/run_000.yaml"
        in (trained.out)
    ), trained.err


def test_an_old_folder_with_an_unknown_recipe_is_still_refused_before_sbatch(tmp_path, run_cli):
    base = tmp_path / "my_base.yaml"
    base.write_text("output_dir: /tmp/x\nmodel:\n  lora_rank: 8\n")
    folder = generate_configs(
        {"experiment_name": "custom", "base_config_file": str(base)},
        output_dir=tmp_path / "exp",
        validate=False,
    ).experiment_dir
    edit_mapping(folder, lambda d: [d.pop(key) for key in RECORDED])

    result = run_cli("submit", str(folder), "--dry-run")

    assert result.code == 2
    assert result.err.startswith(f"error: {folder}: recipe: the recipe of this experiment is unknown")


# ---------------------------------------------------------------- markers and submissions


def test_a_marker_that_is_not_utf8_is_exit_2_with_its_byte(folder, run_cli):
    (folder / "status").mkdir()
    (folder / "status" / "run_001.failed").write_bytes(b"run=run_001\njob=\xb2\nexit_code=1\n")

    for command in (("status",), ("results", "--no-plot")):
        result = run_cli(command[0], str(folder), *command[1:])
        assert result.code == 2
        assert result.err == (
            f"error: {folder}/status/run_001.failed:2: not UTF-8 text: byte 0xb2 at byte offset 16 "
            "(line 2, column 5) cannot be decoded (invalid start byte)\n"
            "  fix: the job script writes this marker; delete it (run_001.failed) to forget how run_001 ended\n"
        )
        assert not (folder / "results.csv").exists()


@pytest.mark.parametrize(
    "job, code",
    [("4321_1", 3), ("\u00b2", None), ("9" * 5000, None)],
    ids=["normal", "a superscript digit", "5000 digits"],
)
def test_marker_numbers_that_are_not_plain_digits_are_unknown_not_a_crash(folder, job, code):
    (folder / "status").mkdir()
    (folder / "status" / "run_000.failed").write_text(f"run=run_000\njob={job}\nexit_code={code or job}\n")
    marker = read_marker(read_job_folder(folder).path, "run_000")
    assert marker is not None and marker.state == "failed"
    assert (marker.job_id, marker.exit_code) == ((4321, 3) if code else (None, None))


@pytest.mark.parametrize(
    "line, message",
    [
        ("not json", ":2: not valid JSON: Expecting value"),
        ('{"job_id": "7", "runs": [], "array": "0", "submitted_utc": "x"}', ":2: job_id: must be a job id"),
        (
            '{"job_id": 7, "runs": "run_000", "array": "0", "submitted_utc": "x"}',
            ":2: runs: must be a list of strings",
        ),
        ('{"job_id": 7, "runs": ["run_000"], "array": "0"}', ":2: submitted_utc: required key is missing"),
        ("[1, 2]", ": line 2 must be a mapping of keys to values, got list [1, 2]"),
    ],
)
def test_a_damaged_submission_record_is_exit_2_with_its_line(folder, run_cli, line, message):
    good = {"job_id": 5, "runs": ["run_000"], "array": "0", "submitted_utc": "2025-01-01T00:00:00Z"}
    (folder / "submissions.jsonl").write_text(json.dumps(good) + "\n" + line + "\n")

    for command in (("status",), ("submit", "--dry-run")):
        result = run_cli(command[0], str(folder), *command[1:])
        assert result.code == 2, result.err
        assert result.err.startswith(f"error: {folder}/submissions.jsonl{message}")


def test_a_loss_log_with_a_byte_that_is_not_utf8_is_read_with_a_note(folder, run_cli):
    edit_mapping(
        folder, lambda d: [run.update(output_dir=str(folder / "runs" / run["id"])) for run in d["runs"]]
    )
    logs = folder / "runs" / "run_000" / "logs"
    logs.mkdir(parents=True)
    (logs / "log_1.txt").write_bytes(
        b"Step 1 | loss:2.5\nStep 2 | loss:\xff\nStep 3 | loss:1.5\nStep " + b"9" * 5000 + b" | loss:1.0\n"
    )

    result = run_cli("results", str(folder), "--no-plot")

    assert result.code == 0, result.err
    assert f"note: {logs / 'log_1.txt'}: byte offset 32 is not UTF-8" in result.out
    assert "  run_000  8          partial      3      1.5000     1.5000" in result.out


# ---------------------------------------------------------------- keys ttwriter never writes

REGENERATE = "regenerate the folder: ttwriter {folder}/experiment.json --output-dir <new folder>"

UNKNOWN_MAPPING_KEYS = {
    "params renamed to param": (
        lambda d: d["runs"][0].update(param=d["runs"][0].pop("params")),
        "runs[0].param: unknown key 'param'; did you mean 'params'?",
        "rename it to 'params', or " + REGENERATE,
    ),
    "a header key misspelled": (
        lambda d: d.update(variabels=d.pop("variables")),
        "variabels: unknown key 'variabels'; did you mean 'variables'?",
        "rename it to 'variables', or " + REGENERATE,
    ),
    "two unknown keys in a run": (
        lambda d: d["runs"][2].update(notes="x", paramz={}),
        "runs[2].notes: unknown key 'notes' (and 1 more: 'paramz')",
        "remove it (runs[2] has id, config, output_dir, params, condition, replicate, tracker, eval), or "
        + REGENERATE,
    ),
}


@pytest.mark.parametrize("command", COMMANDS.values(), ids=COMMANDS.keys())
@pytest.mark.parametrize(
    "change, message, fix", UNKNOWN_MAPPING_KEYS.values(), ids=UNKNOWN_MAPPING_KEYS.keys()
)
def test_an_unknown_key_in_run_mapping_is_exit_2_with_did_you_mean(
    folder, run_cli, command, change, message, fix
):
    edit_mapping(folder, change)

    result = run_cli(command[0], str(folder), *command[1:])

    assert result.code == 2, result.out
    first, second = result.err.splitlines()[:2]
    assert first.startswith(f"error: {folder}/run_mapping.yaml:")
    assert first.endswith(f": {message}")
    assert second == "  fix: " + fix.format(folder=folder)
    assert not (folder / "results.csv").exists()


def test_a_run_without_params_is_refused_not_read_as_no_params(folder, run_cli):
    edit_mapping(folder, lambda d: d["runs"][1].pop("params"))
    result = run_cli("status", str(folder))
    assert result.code == 2
    assert ": runs[1].params: required key is missing" in result.err.splitlines()[0]


@pytest.mark.parametrize(
    "tracking",
    [{"backend": "tensorboard"}, {"backend": "wandb", "project": "p", "entity": "e"}, {"backend": "mlflow"}],
    ids=["tensorboard", "wandb", "mlflow"],
)
def test_an_unknown_key_in_a_tracker_record_is_refused(tmp_path, run_cli, tracking):
    folder = generate_configs(
        {
            "experiment_name": "tracked",
            "base_config": "llama3_2/1B_lora_single_device",
            "variables": {"lora_rank": [8, 16]},
            "tracking": tracking,
        },
        output_dir=tmp_path / "tracked",
        validate=False,
    ).experiment_dir
    assert run_cli("status", str(folder)).code == 0  # every key ttwriter writes is known

    edit_mapping(folder, lambda d: d["runs"][1]["tracker"].update(projet="x"))
    result = run_cli("status", str(folder))
    assert result.code == 2
    assert result.err.splitlines()[0].endswith(
        ": runs[1].tracker.projet: unknown key 'projet'; did you mean 'project'?"
    )


UNKNOWN_SNAPSHOT_KEYS = {
    "a top-level key": (
        lambda d: d.update(provenence=d.pop("provenance")),
        "provenence: unknown key 'provenence'; did you mean 'provenance'?",
    ),
    "a provenance key": (
        lambda d: d["provenance"].update(linage=d["provenance"].pop("lineage")),
        "provenance.linage: unknown key 'linage'; did you mean 'lineage'?",
    ),
    "a base_config key": (
        lambda d: d["provenance"]["base_config"].update(sha=1),
        "provenance.base_config.sha: unknown key 'sha'; did you mean 'sha256'?",
    ),
    "an experiment field": (
        lambda d: d["experiment"].update(qestion=d["experiment"].pop("question")),
        "experiment.qestion: unknown key 'qestion'; did you mean 'question'?",
    ),
    "no experiment name": (lambda d: d["experiment"].pop("name"), "experiment.name: required key is missing"),
}


@pytest.mark.parametrize("command", COMMANDS.values(), ids=COMMANDS.keys())
@pytest.mark.parametrize("change, message", UNKNOWN_SNAPSHOT_KEYS.values(), ids=UNKNOWN_SNAPSHOT_KEYS.keys())
def test_an_unknown_key_in_experiment_json_is_exit_2_with_did_you_mean(
    folder, run_cli, command, change, message
):
    edit_snapshot(folder, change)

    result = run_cli(command[0], str(folder), *command[1:])

    assert result.code == 2, result.out
    first, second = result.err.splitlines()[:2]
    assert first == f"error: {folder}/experiment.json: {message}"
    assert second.startswith("  fix: ")
    assert second.endswith(
        "restore it from a copy, or regenerate the folder from the experiment file it was made from"
    )


def test_regenerating_from_a_snapshot_with_an_unknown_provenance_key_is_refused_too(
    folder, run_cli, tmp_path
):
    edit_snapshot(folder, lambda d: d["provenance"].update(smok=True))
    result = run_cli(
        str(folder / "experiment.json"), "--no-validate", "--output-dir", str(tmp_path / "again")
    )
    assert result.code == 2
    assert result.err.startswith(
        f"error: {folder}/experiment.json: provenance.smok: unknown key 'smok'; did you mean 'smoke'?\n"
    )
    assert not (tmp_path / "again").exists()


def test_a_folder_from_before_the_optional_keys_is_still_read(folder, run_cli):
    """What older versions did not write: the header facts, provenance's smoke and regenerated_from,
    experiment_class and experiment_extra."""
    edit_mapping(folder, lambda d: [d.pop(key) for key in (*RECORDED, "n_runs")])
    edit_snapshot(
        folder,
        lambda d: (
            [d.pop("experiment_class"), d.pop("experiment_extra")]
            + [d["provenance"].pop(key) for key in ("smoke", "regenerated_from")]
        ),
    )
    assert run_cli("status", str(folder)).code == 0
    assert run_cli("results", str(folder), "--no-plot").code == 0
