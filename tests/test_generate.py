"""Generating a sweep end to end: the output folder, its provenance, reproducibility, atomicity."""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import platform
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from omegaconf import OmegaConf

import ttwriter
from tests.conftest import BASE, LLAMA_1B, PY_EXAMPLE, PY_PARENT, YAML_EXAMPLE
from ttwriter import (
    Experiment,
    OutputExistsError,
    TypeMismatchError,
    UnknownKeyError,
    ValidationError,
    generate_configs,
)
from ttwriter.registry import shipped_configs
from ttwriter.sweep.base_config import resolve_config_name

RUN_IDS = ["run_000", "run_001", "run_002", "run_003"]


def folder_bytes(folder: Path) -> dict[str, bytes]:
    """The files users diff: every run config and run_mapping.yaml."""
    files = {f"configs/{p.name}": p.read_bytes() for p in sorted((folder / "configs").iterdir())}
    files["run_mapping.yaml"] = (folder / "run_mapping.yaml").read_bytes()
    return files


def entries(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def write_yaml_experiment(folder: Path, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "experiment.yaml"
    path.write_text(text, encoding="utf-8")
    return path


SMALL = f"experiment_name: small\nbase_config: {BASE}\nvariables:\n  lora_rank: [8, 16]\n"


# --- one experiment, two notations, one result ---------------------------------------------------


def test_python_and_yaml_examples_write_byte_identical_configs_and_mapping(tmp_path):
    out = tmp_path / "out"
    generate_configs(PY_EXAMPLE, output_dir=out, validate=False)
    out.rename(tmp_path / "from_python")

    generate_configs(YAML_EXAMPLE, output_dir=out, validate=False)

    python, yaml_ = folder_bytes(tmp_path / "from_python"), folder_bytes(out)
    assert list(python) == [*(f"configs/{r}.yaml" for r in RUN_IDS), "run_mapping.yaml"]
    assert python == yaml_


def test_the_same_input_twice_gives_identical_bytes(tmp_path):
    out = tmp_path / "out"
    generate_configs(PY_EXAMPLE, output_dir=out, validate=False)
    first = folder_bytes(out)
    shutil.rmtree(out)

    generate_configs(PY_EXAMPLE, output_dir=out, validate=False)

    assert folder_bytes(out) == first


# --- the output folder ---------------------------------------------------------------------------


def test_output_folder_layout_of_the_python_example_with_validation(tmp_path):
    out = tmp_path / "out"

    result = generate_configs(PY_EXAMPLE, output_dir=out)

    assert result.ok
    assert result.experiment_dir == out
    assert entries(out) == [
        "baseline_01_01.py",
        "configs",
        "experiment.json",
        "logs",
        "lora_rank_02_01.py",
        "run_mapping.yaml",
        "submit.sbatch",
        "validation_report.json",
        "validation_report.txt",
    ]
    assert entries(out / "configs") == [f"{r}.yaml" for r in RUN_IDS]
    assert (out / "baseline_01_01.py").read_bytes() == PY_PARENT.read_bytes()
    assert (out / "lora_rank_02_01.py").read_bytes() == PY_EXAMPLE.read_bytes()
    assert (out / "validation_report.txt").read_text().endswith("\n4/4 configs valid\n")
    assert result.validation.summary_line() == "4/4 configs valid"
    assert [(r.id, r.config_path, r.params) for r in result.runs] == [
        (rid, out / "configs" / f"{rid}.yaml", {"lora_rank": rank})
        for rid, rank in zip(RUN_IDS, [8, 16, 32, 64], strict=True)
    ]


def test_run_mapping_lists_every_run_with_config_output_dir_and_typed_params(tmp_path):
    out = tmp_path / "out"
    generate_configs(PY_EXAMPLE, output_dir=out, validate=False)

    mapping = yaml.safe_load((out / "run_mapping.yaml").read_text())

    assert mapping["experiment"] == "lora_rank"
    assert mapping["base_config"] == BASE
    assert mapping["recipe"] == "lora_finetune_single_device"
    assert mapping["runs"] == [
        {
            "id": rid,
            "config": f"configs/{rid}.yaml",
            "output_dir": str(out / "runs" / rid),
            "params": {"lora_rank": rank},
        }
        for rid, rank in zip(RUN_IDS, [8, 16, 32, 64], strict=True)
    ]


def test_a_run_config_is_the_base_plus_the_experiments_changes(tmp_path):
    out = tmp_path / "out"
    generate_configs(PY_EXAMPLE, output_dir=out, validate=False)
    base_path = json.loads((out / "experiment.json").read_text())["provenance"]["base_config"]["path"]

    base = OmegaConf.to_container(OmegaConf.load(base_path))
    run = OmegaConf.to_container(OmegaConf.load(out / "configs" / "run_002.yaml"))

    base["output_dir"] = str(out / "runs" / "run_002")
    base["model"].update(lora_rank=32, lora_alpha=16)
    base["optimizer"]["lr"] = 3e-4
    base["epochs"], base["batch_size"] = 1, 4
    base["dataset"].update(
        _component_="torchtune.datasets.alpaca_dataset",
        source="json",
        data_files="/data/alpaca_sample.json",
        split="train",
    )
    assert run == base
    header = (out / "configs" / "run_002.yaml").read_text().split("\n\n")[0]
    assert f"# run with: tune run lora_finetune_single_device --config {out}/configs/run_002.yaml" in header


# --- experiment.json -----------------------------------------------------------------------------


def test_experiment_json_records_fields_and_provenance(tmp_path):
    out = tmp_path / "out"
    generate_configs(PY_EXAMPLE, output_dir=out, validate=False)

    snapshot = json.loads((out / "experiment.json").read_text())
    experiment, provenance = snapshot["experiment"], snapshot["provenance"]

    assert experiment["name"] == "lora_rank"
    assert experiment["variables"] == {"lora_rank": [8, 16, 32, 64]}
    assert experiment["controls"]["lora_alpha"] == 16
    assert experiment["question"] == "How does LoRA rank change final loss at a fixed alpha?"
    assert provenance["ttwriter_version"] == ttwriter.__version__
    assert provenance["torchtune_version"] == importlib.metadata.version("torchtune")
    assert provenance["python_version"] == platform.python_version()
    assert provenance["base_config"]["name"] == BASE
    assert provenance["base_config"]["sha256"] == sha256(Path(provenance["base_config"]["path"]))
    assert provenance["base_config"]["path"].endswith("/recipes/configs/llama3_2/1B_lora_single_device.yaml")
    assert provenance["source_files"] == {
        "baseline_01_01.py": sha256(PY_PARENT),
        "lora_rank_02_01.py": sha256(PY_EXAMPLE),
    }
    assert provenance["lineage"] == ["baseline_01_01.py", "lora_rank_02_01.py"]
    assert provenance["cli_overrides"] == []
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", provenance["created_utc"])


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()


def test_experiment_json_records_the_git_commit_and_dirty_flag_of_the_experiments_repo(tmp_path):
    repo = tmp_path / "repo"
    source = write_yaml_experiment(repo / "exp", SMALL)
    git(repo, "init", "-q")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "experiment")
    commit = git(repo, "rev-parse", "HEAD")

    generate_configs(source, output_dir=tmp_path / "clean", validate=False)
    source.write_text(SMALL + "controls:\n  epochs: 2\n", encoding="utf-8")
    generate_configs(source, output_dir=tmp_path / "dirty", validate=False)

    clean = json.loads((tmp_path / "clean" / "experiment.json").read_text())["provenance"]["git"]
    dirty = json.loads((tmp_path / "dirty" / "experiment.json").read_text())["provenance"]["git"]
    assert clean == {"repo": str(repo.resolve()), "commit": commit, "dirty": False}
    assert dirty == {"repo": str(repo.resolve()), "commit": commit, "dirty": True}


def test_experiment_json_has_no_git_entry_outside_a_repo(tmp_path):
    source = write_yaml_experiment(tmp_path / "exp", SMALL)

    generate_configs(source, output_dir=tmp_path / "out", validate=False)

    assert json.loads((tmp_path / "out" / "experiment.json").read_text())["provenance"]["git"] is None


def test_feeding_experiment_json_back_into_the_same_folder_regenerates_identical_bytes(tmp_path):
    out = tmp_path / "out"
    generate_configs(PY_EXAMPLE, output_dir=out, validate=False)
    first = folder_bytes(out)

    result = generate_configs(out / "experiment.json", validate=False, force=True)

    assert result.experiment_dir == out
    assert folder_bytes(out) == first
    assert result.loaded.lineage == ("baseline_01_01.py", "lora_rank_02_01.py")
    assert entries(out) == [
        "baseline_01_01.py",
        "configs",
        "experiment.json",
        "logs",
        "lora_rank_02_01.py",
        "run_mapping.yaml",
        "submit.sbatch",
        "validation_report.json",
        "validation_report.txt",
    ]


def test_feeding_experiment_json_back_into_another_folder_differs_only_by_the_folder(tmp_path):
    first_dir, second_dir = tmp_path / "first", tmp_path / "second"
    generate_configs(YAML_EXAMPLE, output_dir=first_dir, validate=False)

    generate_configs(first_dir / "experiment.json", output_dir=second_dir, validate=False)

    first, second = folder_bytes(first_dir), folder_bytes(second_dir)
    assert second == {
        name: data.replace(str(first_dir).encode(), str(second_dir).encode()) for name, data in first.items()
    }
    assert first != second


def test_experiment_json_refuses_a_base_config_file_changed_since_the_snapshot(tmp_path):
    base = tmp_path / "my_base.yaml"
    base.write_text("output_dir: /tmp/x\nepochs: 1\nseed: 0\n", encoding="utf-8")
    source = write_yaml_experiment(
        tmp_path, "experiment_name: own\nbase_config_file: my_base.yaml\nvariables:\n  seed: [1, 2]\n"
    )
    generate_configs(source, output_dir=tmp_path / "out", validate=False)
    before = sha256(base)
    base.write_text("output_dir: /tmp/x\nepochs: 3\nseed: 0\n", encoding="utf-8")

    with pytest.raises(ValidationError) as info:
        generate_configs(tmp_path / "out" / "experiment.json", output_dir=tmp_path / "again", validate=False)

    assert str(info.value) == (
        f"{tmp_path}/out/experiment.json: provenance.base_config.sha256: the base config {base} has changed "
        f"since this snapshot was written (sha256 {before[:12]}... then, {sha256(base)[:12]}... now), "
        "so the configs cannot be regenerated as they were\n"
        "  fix: restore the base config file (or the torchtune version) the snapshot was made with"
    )
    assert not (tmp_path / "again").exists()


# --- atomicity and existing folders --------------------------------------------------------------


@pytest.mark.parametrize(
    "variables, error",
    [
        ("  lora_rank: [8, 16, sixty-four]\n", TypeMismatchError),
        ("  lora_rank: [8, 16]\n  lora_rnak: [4]\n", UnknownKeyError),
    ],
    ids=["bad type in a later run", "bad key"],
)
def test_an_error_leaves_no_output_folder_and_no_temporary_folder(tmp_path, variables, error):
    source = write_yaml_experiment(
        tmp_path / "exp", f"experiment_name: broken\nbase_config: {BASE}\nvariables:\n{variables}"
    )
    out = tmp_path / "results" / "broken"

    with pytest.raises(error):
        generate_configs(source, output_dir=out, validate=False)

    assert entries(tmp_path) == ["exp"]


def test_an_interruption_half_way_through_writing_leaves_nothing_behind(tmp_path):
    source = write_yaml_experiment(tmp_path / "exp", SMALL.replace("[8, 16]", "[4, 8, 16, 32]"))
    results = tmp_path / "results"
    results.mkdir()
    written = []

    def interrupt_after_two(stage, done, total):
        written.append(entries(next(results.glob(".small.ttwriter-tmp-*")) / "configs"))
        if done == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        generate_configs(source, output_dir=results / "small", validate=False, progress=interrupt_after_two)

    assert written == [["run_000.yaml"], ["run_000.yaml", "run_001.yaml"]]
    assert entries(results) == []


def test_an_existing_folder_is_not_overwritten_without_force(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine", encoding="utf-8")

    with pytest.raises(OutputExistsError) as info:
        generate_configs(PY_EXAMPLE, output_dir=out, validate=False)

    assert str(info.value) == (
        f"{out}: output folder already exists and is not empty\n"
        "  fix: choose another --output-dir, or pass --force to replace an earlier ttwriter output"
    )
    assert entries(out) == ["notes.txt"]


def test_an_empty_existing_folder_is_used(tmp_path):
    out = tmp_path / "out"
    out.mkdir()

    generate_configs(PY_EXAMPLE, output_dir=out, validate=False)

    assert (out / "run_mapping.yaml").is_file()


def test_force_replaces_an_earlier_ttwriter_output_completely(tmp_path):
    out = tmp_path / "out"
    generate_configs(PY_EXAMPLE, output_dir=out, validate=False)
    source = write_yaml_experiment(tmp_path / "exp", SMALL)

    generate_configs(source, output_dir=out, validate=False, force=True)

    assert entries(out / "configs") == ["run_000.yaml", "run_001.yaml"]
    assert entries(out) == [
        "configs",
        "experiment.json",
        "experiment.yaml",
        "logs",
        "run_mapping.yaml",
        "submit.sbatch",
        "validation_report.json",
        "validation_report.txt",
    ]
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_force_refuses_a_folder_that_is_not_a_ttwriter_output(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "thesis.tex").write_text("years of work", encoding="utf-8")

    with pytest.raises(OutputExistsError) as info:
        generate_configs(PY_EXAMPLE, output_dir=out, validate=False, force=True)

    assert str(info.value) == (
        f"{out}: --force only replaces folders written by ttwriter, and this one has no experiment.json\n"
        "  fix: choose another --output-dir"
    )
    assert entries(out) == ["thesis.tex"]


def test_force_refuses_a_folder_with_results_of_earlier_runs(tmp_path):
    out = tmp_path / "out"
    generate_configs(PY_EXAMPLE, output_dir=out, validate=False)
    (out / "runs" / "run_000").mkdir(parents=True)
    (out / "runs" / "run_000" / "adapter_model.pt").write_bytes(b"weights")

    with pytest.raises(OutputExistsError) as info:
        generate_configs(PY_EXAMPLE, output_dir=out, validate=False, force=True)

    assert str(info.value) == (
        f"{out}: output folder holds results of earlier runs in runs/; replacing it would lose them\n"
        "  fix: choose another --output-dir, or move the results away first"
    )
    assert (out / "runs" / "run_000" / "adapter_model.pt").read_bytes() == b"weights"


@pytest.mark.parametrize("left_by", ["status/run_000.done", "submissions.jsonl"])
def test_force_refuses_a_folder_whose_runs_were_submitted_or_ran(tmp_path, left_by):
    out = tmp_path / "out"
    generate_configs(PY_EXAMPLE, output_dir=out, validate=False)
    (out / left_by).parent.mkdir(exist_ok=True)
    (out / left_by).write_text("run=run_000\n", encoding="utf-8")

    with pytest.raises(OutputExistsError):
        generate_configs(PY_EXAMPLE, output_dir=out, validate=False, force=True)

    assert (out / left_by).read_text() == "run=run_000\n"


def test_default_folder_is_outputs_name_timestamp_under_the_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)

    first = generate_configs(PY_EXAMPLE, validate=False)
    second = generate_configs(PY_EXAMPLE, validate=False)

    assert first.experiment_dir.parent == tmp_path / "outputs"
    assert re.fullmatch(r"lora_rank_\d{8}_\d{6}", first.experiment_dir.name)
    assert re.fullmatch(r"lora_rank_\d{8}_\d{6}(_2)?", second.experiment_dir.name)
    assert first.experiment_dir != second.experiment_dir
    assert (first.experiment_dir / "run_mapping.yaml").is_file()
    assert (second.experiment_dir / "run_mapping.yaml").is_file()


def test_output_dir_of_the_experiment_is_used_when_no_argument_is_given(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    source = write_yaml_experiment(
        tmp_path / "exp", SMALL + "output:\n  experiment_dir: results/{experiment_name}\n"
    )

    result = generate_configs(source, validate=False)
    overridden = generate_configs(source, output_dir=tmp_path / "elsewhere", validate=False)

    assert result.experiment_dir == tmp_path / "results" / "small"
    assert overridden.experiment_dir == tmp_path / "elsewhere"


# --- the Python API ------------------------------------------------------------------------------

FLAT_DICT = {
    "experiment_name": "small",
    "base_config": BASE,
    "variables": {"lora_rank": [8, 16]},
    "controls": {"learning_rate": 1e-4},
}
NESTED_DICT = {
    "experiment": {"name": "small", "framework": "torchtune"},
    "framework_config": {"base_config": BASE},
    "variables": {"lora_rank": [8, 16]},
    "controls": {"learning_rate": 1e-4},
}


@pytest.mark.parametrize(
    "make_source",
    [
        lambda tmp: str(write_yaml_experiment(tmp / "exp", SMALL + "controls:\n  learning_rate: 1e-4\n")),
        lambda tmp: write_yaml_experiment(tmp / "exp", SMALL + "controls:\n  learning_rate: 1e-4\n"),
        lambda tmp: FLAT_DICT,
        lambda tmp: NESTED_DICT,
        lambda tmp: Experiment(
            name="small", base_config=BASE, variables={"lora_rank": [8, 16]}, controls={"learning_rate": 1e-4}
        ),
    ],
    ids=["str path", "Path", "flat dict", "nested dict", "Experiment"],
)
def test_generate_configs_accepts_a_path_a_dict_or_an_experiment(tmp_path, make_source):
    out = tmp_path / "out"

    result = generate_configs(make_source(tmp_path), output_dir=out, validate=False)

    assert result.experiment_dir == out
    assert [(r.id, r.params) for r in result.runs] == [
        ("run_000", {"lora_rank": 8}),
        ("run_001", {"lora_rank": 16}),
    ]
    run = OmegaConf.load(out / "configs" / "run_001.yaml")
    assert (run.model.lora_rank, run.optimizer.lr) == (16, 1e-4)
    assert result.validation is None and result.ok


def test_a_config_that_torchtune_rejects_is_reported_and_still_written(tmp_path):
    experiment = Experiment(
        name="typo",
        base_config=BASE,
        controls={"model": {"lora_rnk": 8}},
        variables={"lora_rank": [8, 16]},
    )

    result = generate_configs(experiment, output_dir=tmp_path / "out")

    assert not result.ok
    assert result.validation.summary_line() == "0/2 configs valid"
    report = (tmp_path / "out" / "validation_report.txt").read_text()
    for run_id in ("run_000", "run_001"):
        # the run's block: status line, then its error with key path and suggestion first
        block = report.split(f"{run_id}: FAILED")[1].splitlines()
        assert block[1:3] == [
            "    error   [component] model.lora_rnk: lora_llama3_2_1b has no parameter 'lora_rnk'",
            "            fix: did you mean 'lora_rank'?",
        ]
    assert report.endswith("\n0/2 configs valid\n")
    as_json = json.loads((tmp_path / "out" / "validation_report.json").read_text())
    assert as_json["summary"]["valid"] == 0 and as_json["summary"]["runs"] == 2
    assert {
        "severity": "error",
        "check": "component",
        "key": "model.lora_rnk",
        "message": "lora_llama3_2_1b has no parameter 'lora_rnk'",
        "fix": "did you mean 'lora_rank'?",
    } in as_json["runs"][1]["findings"]
    assert entries(tmp_path / "out" / "configs") == ["run_000.yaml", "run_001.yaml"]
    assert OmegaConf.load(tmp_path / "out" / "configs" / "run_000.yaml").model.lora_rnk == 8


def test_the_result_reads_its_run_records_from_the_plan_instead_of_keeping_them(tmp_path):
    out = tmp_path / "out"
    experiment = Experiment(
        name="records",
        base_config=BASE,
        variables={"lora_rank": [8, 16], "seed": [0, 1, 2]},
        controls={"output_dir": "/scratch/{experiment_name}/r{lora_rank}_s{seed}"},
    )

    result = generate_configs(experiment, output_dir=out, validate=False)

    mapping = yaml.safe_load((out / "run_mapping.yaml").read_text())["runs"]
    records = [(str(r.config_path.relative_to(out)), r.id, r.output_dir, r.params) for r in result.runs]
    assert records == [(m["config"], m["id"], m["output_dir"], m["params"]) for m in mapping]
    assert isinstance(result.runs, ttwriter.folder.runs.RunRecords)
    assert len(result.runs) == 6
    assert result.runs[-1] == result.runs[5] == list(result.runs)[5]
    assert result.runs[1:3] == tuple(result.runs)[1:3] == result.runs[1:3]
    with pytest.raises(IndexError):
        result.runs[6]


def test_a_regeneration_keeps_the_provenance_it_was_made_from(tmp_path):
    first = generate_configs(PY_EXAMPLE, output_dir=tmp_path / "a", validate=False)
    original = json.loads((first.experiment_dir / "experiment.json").read_text())["provenance"]

    generate_configs(first.experiment_dir / "experiment.json", output_dir=tmp_path / "b", validate=False)
    again = json.loads((tmp_path / "b" / "experiment.json").read_text())["provenance"]

    assert again["source_kind"] == "json"
    assert again["regenerated_from"] == original
    assert original["regenerated_from"] is None


def test_a_custom_base_config_is_copied_into_the_folder(tmp_path):
    base = tmp_path / "my_v100.yaml"
    shutil.copy(resolve_config_name(BASE).path, base)

    generate_configs(
        Experiment(name="own", base_config_file=str(base)), output_dir=tmp_path / "out", validate=False
    )

    assert (tmp_path / "out" / "my_v100.yaml").read_bytes() == base.read_bytes()
    provenance = json.loads((tmp_path / "out" / "experiment.json").read_text())["provenance"]
    assert provenance["source_files"] == {"my_v100.yaml": hashlib.sha256(base.read_bytes()).hexdigest()}


def test_a_variable_value_with_a_line_break_keeps_the_run_config_valid_yaml(tmp_path):
    experiment = Experiment(name="nl", base_config=BASE, variables={"+note": ["two\nlines", "one"]})
    generate_configs(experiment, output_dir=tmp_path / "out", validate=False)

    text = (tmp_path / "out" / "configs" / "run_000.yaml").read_text()
    assert "# params: +note='two\\n\\n  lines'" in text
    assert OmegaConf.load(tmp_path / "out" / "configs" / "run_000.yaml").note == "two\nlines"


def test_a_snapshot_uses_the_base_copied_beside_it_when_the_original_is_gone(tmp_path):
    base = tmp_path / "my_v100.yaml"
    shutil.copy(resolve_config_name(BASE).path, base)
    first = generate_configs(
        Experiment(name="moved", base_config_file=str(base)), output_dir=tmp_path / "a", validate=False
    )
    base.unlink()  # the folder was copied to the cluster; the original is not there

    again = generate_configs(
        first.experiment_dir / "experiment.json", output_dir=tmp_path / "b", validate=False
    )

    run_a = (tmp_path / "a" / "configs" / "run_000.yaml").read_text().replace(str(tmp_path / "a"), "X")
    run_b = (tmp_path / "b" / "configs" / "run_000.yaml").read_text().replace(str(tmp_path / "b"), "X")
    assert (
        run_a.split("# base config:")[1].split("\n", 1)[1]
        == run_b.split("# base config:")[1].split("\n", 1)[1]
    )
    assert again.base_config == str(tmp_path / "a" / "my_v100.yaml")


# --- every config torchtune ships survives ttwriter unchanged, and the examples validate ---------

SHIPPED = shipped_configs()
INSTALLED = sorted(n for n, c in SHIPPED.items() if c.path.is_file())


def as_container(path: Path) -> dict:
    return OmegaConf.to_container(OmegaConf.load(path), resolve=False)


@pytest.mark.parametrize("name", INSTALLED)
def test_an_empty_experiment_reproduces_the_shipped_config(tmp_path, name):
    experiment_dir = tmp_path / "exp"
    result = generate_configs(
        Experiment(name="t", base_config=name), output_dir=experiment_dir, validate=False
    )
    (run,) = result.runs
    generated = as_container(run.config_path)
    original = as_container(SHIPPED[name].path)
    assert generated.pop("output_dir") == str(experiment_dir / "runs" / "run_000")
    original.pop("output_dir", None)
    assert generated == original
    assert result.recipe == SHIPPED[name].recipe


def test_the_example_family_generates_configs_torchtune_accepts(tmp_path):
    examples = sorted(LLAMA_1B.glob("*_*_*.py"))
    assert [p.name for p in examples] == ["baseline_01_01.py", "lora_rank_02_01.py", "rank_x_lr_03_02.py"]
    summaries = {}
    for path in examples:
        result = generate_configs(path, output_dir=tmp_path / path.stem, validate=True)
        problems = [p for r in result.validation.results for p in r.problems]
        summaries[path.name] = (result.validation.summary_line(), problems)
    assert summaries == {
        "baseline_01_01.py": ("1/1 configs valid", []),
        "lora_rank_02_01.py": ("4/4 configs valid", []),
        "rank_x_lr_03_02.py": ("6/6 configs valid", []),
    }
