"""Helpers for the start-up check tests: make a mistake on a config, read the findings back,
and ask torchtune's own builders what they raise for it."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import TINY_BASE
from ttwriter import Experiment, generate_configs


def startup(result) -> list[tuple[str, str, str]]:
    """(key, message, fix) of the start-up findings of the first run."""
    return [(f.key, f.message, f.fix) for f in result.validation.results[0].findings if f.check == "startup"]


def generated(tmp_path: Path, base: str, name: str = "x", **fields) -> object:
    return generate_configs(Experiment(name=name, base_config=base, **fields), output_dir=tmp_path / "out")


def tiny(tmp_path: Path, tiny_assets: Path, **fields):
    """The mistake on the tiny CPU config, whose files all exist here."""
    controls = {"tiny_assets": str(tiny_assets), **fields.pop("controls", {})}
    experiment = Experiment(name="tiny", base_config_file=str(TINY_BASE), controls=controls, **fields)
    return generate_configs(experiment, output_dir=tmp_path / "tiny")


def torchtune_says(config: Path) -> str:
    """What torchtune raises building the config's tokenizer and dataset, as a recipe does."""
    from omegaconf import ListConfig, OmegaConf
    from torchtune import config as tt_config
    from torchtune.datasets import ConcatDataset

    cfg = OmegaConf.load(config)
    tokenizer = tt_config.instantiate(cfg.tokenizer)
    with pytest.raises(Exception) as raised:
        if isinstance(cfg.dataset, ListConfig):
            ConcatDataset(datasets=[tt_config.instantiate(d, tokenizer) for d in cfg.dataset])
        else:
            tt_config.instantiate(cfg.dataset, tokenizer)
    return str(raised.value)


def quoted(message: str) -> str:
    """The torchtune message a start-up finding quotes."""
    return message.split(', so the run would stop at start-up: "', 1)[1][:-1]
