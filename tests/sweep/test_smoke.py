"""--smoke: a short variant of every run, in the same layout, marked as smoke."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from tests.conftest import PY_EXAMPLE, TINY_FAMILY
from ttwriter import generate_configs

SMOKE_KEYS = {"epochs": 1, "max_steps_per_epoch": 3, "log_every_n_steps": 1, "compile": False}


def _load(path: Path) -> dict:
    return OmegaConf.to_container(OmegaConf.load(path), resolve=False)


@pytest.fixture(scope="module")
def full_and_smoke(tmp_path_factory):
    """The llama_1b LoRA rank sweep generated twice: as it is and with --smoke."""
    from ttwriter.cli.main import main

    root = tmp_path_factory.mktemp("smoke")
    for name, extra in (("full", []), ("smoke", ["--smoke"])):
        assert main([str(PY_EXAMPLE), "--no-validate", "--output-dir", str(root / name), *extra]) == 0
    return root / "full", root / "smoke"


def test_smoke_configs_change_only_the_length_logging_and_compile_keys(full_and_smoke):
    full, smoke = full_and_smoke
    names = sorted(p.name for p in (full / "configs").iterdir())
    assert (
        names
        == sorted(p.name for p in (smoke / "configs").iterdir())
        == [f"run_00{i}.yaml" for i in range(4)]
    )
    for name in names:
        expected = _load(full / "configs" / name)
        actual = _load(smoke / "configs" / name)
        assert expected["epochs"] == 1 and expected["max_steps_per_epoch"] is None
        assert expected["compile"] is False and expected["log_every_n_steps"] == 1
        expected.update(SMOKE_KEYS, output_dir=str(smoke / "runs" / Path(name).stem))
        assert actual == expected


def test_smoke_keeps_the_layout_and_the_run_mapping_apart_from_the_folder(full_and_smoke):
    full, smoke = full_and_smoke
    assert sorted(p.name for p in full.iterdir()) == sorted(p.name for p in smoke.iterdir())
    mapping = (smoke / "run_mapping.yaml").read_text()
    assert mapping == (full / "run_mapping.yaml").read_text().replace(str(full), str(smoke))


def test_smoke_is_marked_in_the_run_header_and_in_the_snapshot(full_and_smoke):
    full, smoke = full_and_smoke
    header = (smoke / "configs" / "run_000.yaml").read_text().splitlines()[1]
    assert header == (
        "# SMOKE TEST: a short variant of this run (epochs=1, max_steps_per_epoch=3, log_every_n_steps=1, "
        "compile=False) to check the pipeline; not for results"
    )
    assert "SMOKE" not in (full / "configs" / "run_000.yaml").read_text()
    assert json.loads((smoke / "experiment.json").read_text())["provenance"]["smoke"] is True
    assert json.loads((full / "experiment.json").read_text())["provenance"]["smoke"] is False


def test_smoke_says_so_on_the_terminal_and_keeps_the_flag_out_of_the_overrides(run_cli, tmp_path):
    result = run_cli(str(PY_EXAMPLE), "--smoke", "--no-validate", "--output-dir", str(tmp_path / "s"))
    assert result.code == 0, result.err
    assert (
        "Smoke variant: every run cut short (epochs=1, max_steps_per_epoch=3, log_every_n_steps=1, "
        "compile=False); marked as smoke in experiment.json\n"
    ) in result.out
    snapshot = json.loads((tmp_path / "s" / "experiment.json").read_text())
    assert snapshot["provenance"]["cli_overrides"] == ["--output-dir", str(tmp_path / "s")]


def test_a_smoke_snapshot_regenerates_the_same_smoke_configs(full_and_smoke, run_cli):
    _, smoke = full_and_smoke
    before = {p.name: p.read_bytes() for p in (smoke / "configs").iterdir()}
    result = run_cli(str(smoke / "experiment.json"), "--force", "--no-validate")
    assert result.code == 0, result.err
    assert {p.name: p.read_bytes() for p in (smoke / "configs").iterdir()} == before
    assert json.loads((smoke / "experiment.json").read_text())["provenance"]["smoke"] is True


def test_smoke_folders_get_their_own_default_name(run_cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert run_cli(str(PY_EXAMPLE), "--smoke", "--no-validate").code == 0
    (folder,) = (tmp_path / "outputs").iterdir()
    assert folder.name.startswith("lora_rank_smoke_")


@pytest.fixture
def short_base(tmp_path):
    """The tiny base config without max_steps_per_epoch, log_every_n_steps and compile."""
    base = (TINY_FAMILY / "tiny_lora.yaml").read_text()
    for line in ("max_steps_per_epoch: null\n", "log_every_n_steps: 1\n", "compile: False\n"):
        assert line in base
        base = base.replace(line, "")
    (tmp_path / "short.yaml").write_text(base)
    return tmp_path / "short.yaml"


def _smoke(base, tmp_path, recipe):
    return generate_configs(
        {
            "experiment_name": "short",
            "base_config_file": str(base),
            "recipe": recipe,
            "controls": {"epochs": 5},
        },
        output_dir=tmp_path / "out",
        validate=False,
        smoke=True,
    )


def test_smoke_adds_a_missing_key_the_recipe_reads(short_base, tmp_path):
    result = _smoke(short_base, tmp_path, "lora_finetune_single_device")
    config = _load(tmp_path / "out" / "configs" / "run_000.yaml")
    assert {k: config[k] for k in SMOKE_KEYS} == SMOKE_KEYS
    assert result.notes == ()


def test_smoke_sets_no_key_that_neither_the_config_nor_the_recipe_has_and_says_so(short_base, tmp_path):
    recipe = tmp_path / "my_recipe.py"
    recipe.write_text("def recipe_main(cfg):\n    for epoch in range(cfg.epochs):\n        pass\n")
    result = _smoke(short_base, tmp_path, str(recipe))
    assert result.smoke
    config = _load(tmp_path / "out" / "configs" / "run_000.yaml")
    assert config["epochs"] == 1
    assert not {"max_steps_per_epoch", "log_every_n_steps", "compile"} & config.keys()
    assert result.notes == (
        "smoke: neither the config nor its recipe has max_steps_per_epoch, so each smoke run goes "
        "through a whole epoch",
    )
