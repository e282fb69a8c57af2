"""Dataset builders' start-up constraints: one test per constraint, from a realistic mistake.

Each mistake is made on a real shipped config through ttwriter's normal generate path and read
back as the finding a researcher sees. Where it is cheap, the same mistake on the tiny CPU
assets is handed to torchtune's real builders, offline, to show they raise what the finding
quotes.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import BASE
from tests.validation.startup.helpers import generated, quoted, startup, tiny, torchtune_says


def test_packed_without_a_tokenizer_max_seq_len_is_an_error(tmp_path):
    result = generated(tmp_path, BASE, controls={"dataset.packed": True})

    assert startup(result) == [
        (
            "dataset.packed, tokenizer.max_seq_len",
            "dataset.packed is true but tokenizer.max_seq_len is null, so the run would stop at start-up: "
            '"PackedDataset requires a max_seq_len to be set on the tokenizer."',
            "set tokenizer.max_seq_len to the length to pack to (e.g. 2048), or dataset.packed: false",
        )
    ]
    fixed = generated(tmp_path / "fixed", BASE, controls={"dataset.packed": True, "max_seq_len": 2048})
    assert startup(fixed) == []


@pytest.mark.training  # builds or loads the tiny model with torch
def test_packed_fails_the_same_way_in_torchtunes_own_builder(tmp_path, tiny_assets, offline):
    result = tiny(tmp_path, tiny_assets, controls={"dataset.packed": True, "tokenizer.max_seq_len": None})

    ((key, message, _),) = startup(result)
    assert key == "dataset.packed, tokenizer.max_seq_len"
    assert torchtune_says(result.runs[0].config_path) == quoted(message)


def test_packed_with_max_seq_len_left_to_the_tokenizers_default_is_an_error_too(tmp_path):
    result = generated(tmp_path, BASE, delete=("tokenizer.max_seq_len",), controls={"dataset.packed": True})

    ((key, message, _),) = startup(result)
    assert key == "dataset.packed, tokenizer.max_seq_len"
    assert message.startswith(
        "dataset.packed is true but tokenizer.max_seq_len is not set (its default is null)"
    )


def test_packed_on_a_preference_dataset_is_an_error(tmp_path):
    result = generated(tmp_path, "llama2/7B_lora_dpo_single_device", controls={"dataset.packed": True})

    assert startup(result) == [
        (
            "dataset.packed",
            "dataset.packed is true on stack_exchange_paired_dataset, so the run would stop at start-up: "
            '"Packed is currently not supported for preference datasets."',
            "remove dataset.packed",
        )
    ]


def test_packed_on_a_multimodal_dataset_is_an_error(tmp_path):
    result = generated(tmp_path, "llama3_2_vision/11B_full_single_device", controls={"dataset.packed": True})

    assert startup(result) == [
        (
            "dataset.packed",
            "dataset.packed is true on the_cauldron_dataset, so the run would stop at start-up: "
            '"Multimodal datasets don\'t support packing yet."',
            "set dataset.packed: false",
        )
    ]


def _two_datasets(tiny_assets: Path | None = None) -> list[dict]:
    data = str(tiny_assets / "alpaca_tiny.json") if tiny_assets else "/data/mine.json"
    return [
        {
            "_component_": "torchtune.datasets.alpaca_dataset",
            "source": "json",
            "data_files": data,
            "packed": True,
        },
        {"_component_": "torchtune.datasets.alpaca_dataset", "source": "json", "data_files": data},
    ]


@pytest.mark.training  # builds or loads the tiny model with torch
def test_a_list_of_packed_and_unpacked_datasets_is_an_error(tmp_path, tiny_assets, offline):
    controls = {"dataset": _two_datasets(), "max_seq_len": 2048}
    result = generated(tmp_path, BASE, delete=("dataset",), controls=controls)

    assert startup(result) == [
        (
            "dataset[0].packed, dataset[1].packed",
            "the datasets of the list mix packed and unpacked (dataset[0].packed: true, dataset[1].packed: false), "
            "so the run would stop at start-up: "
            '"ConcatDataset can\'t process a mix of packed and non-packed datasets."',
            "give every dataset of the list the same packed value",
        )
    ]
    on_tiny = tiny(
        tmp_path, tiny_assets, delete=("dataset",), controls={"dataset": _two_datasets(tiny_assets)}
    )
    ((_, message, _),) = startup(on_tiny)
    assert torchtune_says(on_tiny.runs[0].config_path) == quoted(message)


@pytest.mark.training  # builds or loads the tiny model with torch
def test_a_column_map_without_the_keys_the_transform_needs_is_an_error(tmp_path, tiny_assets, offline):
    # instruct_dataset maps its own names (input, output) to your columns, not the other way round.
    dataset = {
        "_component_": "torchtune.datasets.instruct_dataset",
        "source": "json",
        "data_files": "/data/qa.json",
        "column_map": {"question": "input", "output": "answer"},
    }
    result = generated(tmp_path, BASE, delete=("dataset",), controls={"dataset": dataset})

    assert startup(result) == [
        (
            "dataset.column_map",
            "dataset.column_map has no 'input' key, so the run would stop at start-up: "
            "\"Expected a key of 'input' in column_map but found dict_keys(['question', 'output']).\"",
            "map 'input' to the column that holds it: dataset.column_map.input: <column>",
        )
    ]
    dataset["data_files"] = str(tiny_assets / "alpaca_tiny.json")
    on_tiny = tiny(tmp_path, tiny_assets, delete=("dataset",), controls={"dataset": dataset})
    ((_, message, _),) = startup(on_tiny)
    assert torchtune_says(on_tiny.runs[0].config_path) == quoted(message)


def test_a_chat_dataset_with_an_unknown_conversation_style_is_an_error(tmp_path):
    dataset = {
        "_component_": "torchtune.datasets.chat_dataset",
        "source": "json",
        "data_files": "/data/chats.json",
        "conversation_column": "messages",
        "conversation_style": "openAI",
    }
    result = generated(tmp_path, BASE, delete=("dataset",), controls={"dataset": dataset})

    assert startup(result) == [
        (
            "dataset.conversation_style",
            "dataset.conversation_style is 'openAI', so the run would stop at start-up: "
            '"Unsupported conversation style: openAI"',
            "Did you mean 'openai'?",
        )
    ]


@pytest.mark.training  # builds or loads the tiny model with torch
def test_a_split_that_a_local_data_file_does_not_have_is_an_error(tmp_path, tiny_assets, offline):
    from datasets import load_dataset

    data = str(tiny_assets / "alpaca_tiny.json")
    controls = {"dataset": {"source": "json", "data_files": data, "split": "validation"}}
    result = generated(tmp_path, BASE, controls=controls)

    assert startup(result) == [
        (
            "dataset.split, dataset.data_files",
            "dataset.split is 'validation' but dataset.data_files only gives the split train, so the run "
            'would stop at start-up: "Unknown split "validation". Should be one of [\'train\']."',
            "set dataset.split: train (a slice such as 'train[:10%]' also works), "
            "or give data_files as a mapping, e.g. {validation: <file>}",
        )
    ]
    with pytest.raises(ValueError) as raised:
        load_dataset("json", data_files=data, split="validation", cache_dir=str(tmp_path / "cache"))
    assert str(raised.value) == quoted(startup(result)[0][1])
    sliced = generated(
        tmp_path / "sliced", BASE, controls={"dataset": {**controls["dataset"], "split": "train[:90%]"}}
    )
    assert startup(sliced) == []
