"""`ttwriter tiny-assets DIR` and the example family experiments/tiny/cpu/ that trains on them."""

from __future__ import annotations

import json

import pytest
import yaml

from tests.conftest import TINY_FAMILY
from ttwriter import load_experiment
from ttwriter.train.tiny_assets import TINY_LLAMA2

SWEEP = TINY_FAMILY / "lora_rank_lr_02_01.py"


@pytest.mark.training  # builds or loads the tiny model with torch
def test_tiny_assets_command_writes_tokenizer_weights_data_and_manifest(run_cli, tmp_path):
    folder = tmp_path / "assets"
    result = run_cli("tiny-assets", str(folder))
    assert result.code == 0, result.err
    assert result.out.startswith(f"Wrote tiny training assets to {folder}/\n")
    assert f"--controls.tiny-assets {folder}" in result.out
    assert sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()) == [
        "alpaca_tiny.json",
        "model/config.json",
        "model/model.safetensors",
        "model/tokenizer.model",
        "model/tokenizer_config.json",
        "tiny_assets.json",
    ]


@pytest.mark.training  # builds or loads the tiny model with torch
def test_tiny_assets_are_the_same_bytes_every_time(tiny_assets, tmp_path, run_cli):
    assert run_cli("tiny-assets", str(tmp_path)).code == 0
    again = json.loads((tmp_path / "tiny_assets.json").read_text())["sha256"]
    first = json.loads((tiny_assets / "tiny_assets.json").read_text())["sha256"]
    assert again == first


@pytest.mark.training  # builds or loads the tiny model with torch
def test_tokenizer_has_320_tokens_and_round_trips_text(tiny_assets):
    from torchtune.models.llama2 import llama2_tokenizer

    tokenizer = llama2_tokenizer(str(tiny_assets / "model" / "tokenizer.model"))
    assert tokenizer.vocab_size == 320
    text = "Sort the words alphabetically: violin apple 42 ünïcode"
    assert tokenizer.decode(tokenizer.encode(text, add_bos=False, add_eos=False)) == text


@pytest.mark.training  # builds or loads the tiny model with torch
def test_weights_load_into_the_tiny_llama2_exactly_through_torchtunes_hf_checkpointer(tiny_assets, tmp_path):
    from torchtune.models.llama2 import llama2
    from torchtune.training import FullModelHFCheckpointer

    checkpointer = FullModelHFCheckpointer(
        checkpoint_dir=str(tiny_assets / "model"),
        checkpoint_files=["model.safetensors"],
        model_type="LLAMA2",
        output_dir=str(tmp_path),
    )
    llama2(**TINY_LLAMA2).load_state_dict(checkpointer.load_checkpoint()["model"], strict=True)


@pytest.mark.training  # builds or loads the tiny model with torch
def test_transformers_loads_the_model_and_computes_torchtunes_logits(tiny_assets):
    import torch
    from torchtune.models.llama2 import llama2, llama2_tokenizer
    from transformers import AutoModelForCausalLM, AutoTokenizer

    folder = tiny_assets / "model"
    text = "Add the two numbers.\n\n### Input:\n12 + 30\n\n### Response:\n"
    ids = AutoTokenizer.from_pretrained(folder)(text).input_ids
    assert ids == llama2_tokenizer(str(folder / "tokenizer.model")).encode(text, add_eos=False)
    torch.manual_seed(0)  # the seed tiny-assets draws the weights with
    ours = llama2(**TINY_LLAMA2)
    theirs = AutoModelForCausalLM.from_pretrained(folder)
    with torch.no_grad():
        difference = theirs(torch.tensor([ids])).logits - ours(torch.tensor([ids]))
    assert difference.abs().max() < 1e-4


@pytest.mark.training  # builds or loads the tiny model with torch
def test_the_chat_template_is_torchtunes_alpaca_prompt(tiny_assets):
    from torchtune.data import AlpacaToMessages
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_assets / "model")
    prompt = tokenizer.apply_chat_template(
        [{"role": "user", "content": "Write the word apple twice."}],
        tokenize=False,
        add_generation_prompt=True,
    )
    sample = {"instruction": "Write the word apple twice.", "input": "", "output": "apple apple"}
    assert prompt == AlpacaToMessages()(sample)["messages"][0].text_content


@pytest.mark.training  # builds or loads the tiny model with torch
def test_data_is_alpaca_shaped(tiny_assets):
    rows = json.loads((tiny_assets / "alpaca_tiny.json").read_text())
    assert len(rows) == 128
    assert all(set(row) == {"instruction", "input", "output"} for row in rows)
    assert {
        "instruction": "Add the two numbers.",
        "input": rows[0]["input"],
        "output": rows[0]["output"],
    } == rows[0]
    a, b = rows[0]["input"].split(" + ")
    assert int(rows[0]["output"]) == int(a) + int(b)


def test_the_family_base_config_builds_the_model_the_weights_are_for():
    base = yaml.safe_load((TINY_FAMILY / "tiny_lora.yaml").read_text())
    assert {k: base["model"][k] for k in TINY_LLAMA2} == TINY_LLAMA2
    assert base["checkpointer"]["_component_"] == "torchtune.training.FullModelHFCheckpointer"
    assert (base["device"], base["dtype"], base["compile"]) == ("cpu", "fp32", False)


@pytest.mark.training  # builds or loads the tiny model with torch
def test_the_tiny_sweep_generates_four_valid_configs_pointing_at_the_assets(run_cli, tiny_assets, tmp_path):
    out = tmp_path / "sweep"
    result = run_cli(str(SWEEP), "--controls.tiny-assets", str(tiny_assets), "--output-dir", str(out))
    assert result.code == 0, result.out + result.err
    assert "Validation: 4/4 configs valid" in result.out
    assert "recipe: lora_finetune_single_device" in result.out
    for n, (rank, lr) in enumerate([(4, 0.001), (4, 0.01), (16, 0.001), (16, 0.01)]):
        config = yaml.safe_load((out / "configs" / f"run_00{n}.yaml").read_text())
        assert config["tiny_assets"] == str(tiny_assets)
        assert config["tokenizer"]["path"] == "${tiny_assets}/model/tokenizer.model"
        assert (config["model"]["lora_rank"], config["optimizer"]["lr"]) == (rank, lr)


def test_the_assets_folder_comes_from_the_environment_or_sits_next_to_the_family(monkeypatch, tmp_path):
    monkeypatch.setenv("TTWRITER_TINY_ASSETS", str(tmp_path))
    assert load_experiment(SWEEP).experiment.controls["tiny_assets"] == str(tmp_path)
    monkeypatch.delenv("TTWRITER_TINY_ASSETS")
    assert load_experiment(SWEEP).experiment.controls["tiny_assets"] == str(TINY_FAMILY / "assets")


def test_tiny_assets_refuses_a_file(run_cli, tmp_path):
    target = tmp_path / "taken"
    target.write_text("")
    result = run_cli("tiny-assets", str(target))
    assert result.code == 2
    assert (
        result.err
        == f"error: {target}: path exists and is not a folder\n  fix: give a folder for the tiny assets\n"
    )
