"""Integration: every config torchtune ships survives ttwriter unchanged, and the examples validate."""

from __future__ import annotations

from pathlib import Path

import pytest
from omegaconf import OmegaConf

from ttwriter import Experiment, generate_configs
from ttwriter.registry import shipped_configs

LLAMA_1B = Path(__file__).resolve().parent.parent / "experiments" / "sft" / "llama_1b"

SHIPPED = shipped_configs()
INSTALLED = sorted(n for n, c in SHIPPED.items() if c.path.is_file())


def as_container(path: Path) -> dict:
    return OmegaConf.to_container(OmegaConf.load(path), resolve=False)


def test_the_registry_lists_every_config_tune_ls_prints():
    assert len(SHIPPED) == 156
    assert len(INSTALLED) == 155  # torchtune 0.6.1 does not ship llama2/7B_full_early_exit's YAML


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
