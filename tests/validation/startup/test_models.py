"""Model, checkpointer and loss builders' start-up constraints: one test per constraint.

Each mistake is made on a real shipped config through ttwriter's generate path. torchtune's own
builders are then called with the same values (models on the meta device, so nothing is
allocated) to show they raise what the finding quotes.
"""

from __future__ import annotations

import importlib

import pytest

from tests.conftest import BASE
from tests.validation.startup.helpers import generated, quoted, startup
from ttwriter import Experiment, generate_configs
from ttwriter.sweep.base_config import resolve_config_name
from ttwriter.validation.startup.models import _TIED_OUTPUT


def torchtune_raises(dotted: str, **kwargs) -> str:
    """The message torchtune's builder at `dotted` raises for `kwargs`, built on the meta device."""
    import torch

    module, name = dotted.rsplit(".", 1)
    builder = getattr(importlib.import_module(module), name)
    with pytest.raises(Exception) as raised, torch.device("meta"):
        builder(**kwargs)
    return str(raised.value)


EMPTY_LORA_MODULES = (
    "model.lora_attn_modules is empty, so the run would stop at start-up: "
    "\"Must pass one or more of typing.Literal['q_proj', 'k_proj', 'v_proj', 'output_proj'] as lora_modules\""
)


def test_an_empty_lora_attn_modules_is_an_error(tmp_path):
    result = generated(tmp_path, BASE, controls={"model.lora_attn_modules": []})

    assert startup(result) == [
        (
            "model.lora_attn_modules",
            EMPTY_LORA_MODULES,
            "list at least one of q_proj, k_proj, v_proj, output_proj, e.g. ['q_proj', 'v_proj']",
        )
    ]


@pytest.mark.training  # imports torchtune's builder (and torch) to see what it raises
def test_an_empty_lora_attn_modules_raises_what_the_check_quotes():
    raised = torchtune_raises("torchtune.models.llama3_2.lora_llama3_2_1b", lora_attn_modules=[])

    assert raised == quoted(EMPTY_LORA_MODULES)


def test_a_misspelled_lora_attn_module_is_an_error_because_torchtune_ignores_it(tmp_path):
    result = generated(tmp_path, BASE, controls={"model.lora_attn_modules": ["q_proj", "v_pro"]})

    assert startup(result) == [
        (
            "model.lora_attn_modules[1]",
            "'v_pro' is not one of q_proj, k_proj, v_proj, output_proj: torchtune silently ignores it, "
            "so no LoRA adapter would be trained there",
            "Did you mean 'v_proj'?",
        )
    ]


@pytest.mark.training  # builds torchtune's model (on the meta device) to see the typo dropped
def test_torchtune_drops_a_misspelled_lora_attn_module_without_a_word():
    import torch
    from torchtune.models.llama3_2 import lora_llama3_2_1b

    with torch.device("meta"):
        model = lora_llama3_2_1b(lora_attn_modules=["q_proj", "v_pro"])  # no error: the typo is dropped
    assert not any("v_proj.lora" in name for name, _ in model.named_parameters())


@pytest.mark.parametrize(
    "base, builder",
    [(BASE, "lora_llama3_2_1b"), ("qwen2_5/0.5B_lora_single_device", "lora_qwen2_5_0_5b")],
)
def test_lora_on_an_output_tied_to_the_embeddings_is_an_error(tmp_path, base, builder):
    result = generated(tmp_path, base, controls={"model.apply_lora_to_output": True})

    ((key, message, fix),) = startup(result)
    assert (key, fix) == ("model.apply_lora_to_output", "set model.apply_lora_to_output: false")
    assert message.startswith(
        f"model.apply_lora_to_output is true on {builder}, whose output projection is the embedding matrix"
    )
    assert quoted(message) == _TIED_OUTPUT[builder]


_SMALL = {
    "vocab_size": 32,
    "num_layers": 1,
    "num_heads": 2,
    "num_kv_heads": 2,
    "embed_dim": 16,
    "max_seq_len": 64,
}
_SMALL_LORA = {**_SMALL, "intermediate_dim": 32, "lora_rank": 2, "lora_alpha": 4}


@pytest.mark.training  # imports torchtune's builders (and torch) to see what they raise
@pytest.mark.parametrize("name", sorted(_TIED_OUTPUT))
def test_every_builder_listed_as_output_tied_raises_what_the_check_quotes(name):
    family = "qwen2_5" if "qwen" in name else "llama3_2"
    args = {"lora_attn_modules": ["q_proj"], "apply_lora_to_output": True}
    if name == "lora_llama3_2":  # the component builder: every size argument is required
        args |= _SMALL_LORA
    assert torchtune_raises(f"torchtune.models.{family}.{name}", **args) == _TIED_OUTPUT[name]


@pytest.mark.training  # imports torchtune's builder (and torch) to see what it raises
def test_lora_qwen2_raises_only_when_its_embeddings_are_tied(tmp_path):
    from ttwriter.validation.startup.checks import startup_findings

    model = {"_component_": "torchtune.models.qwen2.lora_qwen2", "apply_lora_to_output": True, **_SMALL_LORA}
    untied = startup_findings({"model": {**model, "lora_attn_modules": ["q_proj"]}}, None)
    tied = startup_findings(
        {"model": {**model, "lora_attn_modules": ["q_proj"], "tie_word_embeddings": True}}, None
    )

    assert untied == []
    assert [f.key for f in tied] == ["model.apply_lora_to_output"]
    arguments = {k: v for k, v in model.items() if k != "_component_"}
    raised = torchtune_raises(
        "torchtune.models.qwen2.lora_qwen2",
        lora_attn_modules=["q_proj"],
        tie_word_embeddings=True,
        **arguments,
    )
    assert raised == quoted(tied[0].message)


def test_two_files_for_a_checkpointer_that_reads_one_is_an_error(tmp_path):
    files = ["consolidated.00.pth", "consolidated.01.pth"]
    result = generated(tmp_path, "llama3/8B_qat_lora", controls={"checkpointer.checkpoint_files": files})

    assert startup(result) == [
        (
            "checkpointer.checkpoint_files",
            "checkpointer.checkpoint_files has 2 entries and FullModelMetaCheckpointer reads one file, so the run "
            'would stop at start-up: "Currently we only support reading from a single checkpoint file. '
            'Got 2 files instead."',
            "list the one checkpoint file, or use torchtune.training.FullModelHFCheckpointer "
            "for sharded Hugging Face checkpoints",
        )
    ]


def test_a_model_type_torchtune_does_not_know_is_an_error(tmp_path):
    result = generated(tmp_path, BASE, controls={"checkpointer.model_type": "llama3_2"})

    assert startup(result) == [
        (
            "checkpointer.model_type",
            "checkpointer.model_type 'llama3_2' is not a torchtune ModelType, so the run would stop at start-up: "
            "\"KeyError: 'llama3_2'\"",
            "write it in capitals: LLAMA3_2",
        )
    ]
    from torchtune.training.checkpointing import ModelType

    with pytest.raises(KeyError) as raised:
        ModelType["llama3_2"]
    assert quoted(startup(result)[0][1]) == f"KeyError: {raised.value}"


def test_a_shard_count_written_as_a_number_or_a_format_without_two_placeholders_is_an_error(tmp_path):
    from torchtune.training.checkpointing import FormattedCheckpointFiles

    # A copy of the shipped config with the quotes dropped: YAML reads 00030 as the octal 24.
    text = resolve_config_name("llama3_3/70B_lora").path.read_text()
    assert 'max_filename: "00030"' in text
    base = tmp_path / "70B_lora.yaml"
    base.write_text(text.replace('max_filename: "00030"', "max_filename: 00030"))
    experiment = Experiment(
        name="shards",
        base_config_file=str(base),
        recipe="lora_finetune_distributed",
        controls={"checkpointer.checkpoint_files.filename_format": "model-{}.safetensors"},
    )
    result = generate_configs(experiment, output_dir=tmp_path / "out")

    assert startup(result) == [
        (
            "checkpointer.checkpoint_files.max_filename",
            "checkpointer.checkpoint_files.max_filename is the int 24, so the run would stop at start-up: "
            "\"`max_filename` must be a string, but found <class 'int'> instead.\"",
            'quote it as the last file name spells it, e.g. max_filename: "00030" (unquoted, YAML reads it '
            "as a number, and one with a leading 0 in octal)",
        ),
        (
            "checkpointer.checkpoint_files.filename_format",
            "checkpointer.checkpoint_files.filename_format 'model-{}.safetensors' has 1 placeholders, so the run "
            'would stop at start-up: "Filename format string must have exactly two placeholders, '
            "e.g. 'file_{i}_of_{n_files}.pth'\"",
            "use one {} for the shard number and one for the count, e.g. model-{}-of-{}.safetensors",
        ),
    ]
    files = {"filename_format": "model-{}.safetensors", "max_filename": 24}
    for (_, message, _), given in zip(
        startup(result), [files, {**files, "max_filename": "00030"}], strict=True
    ):
        with pytest.raises(ValueError) as raised:
            FormattedCheckpointFiles.from_dict(given)
        assert str(raised.value) == quoted(message)


def test_a_symmetric_kl_ratio_outside_0_1_is_an_error(tmp_path):
    from torchtune.modules.loss import SymmetricKLWithChunkedOutputLoss

    loss = {"_component_": "torchtune.modules.loss.SymmetricKLWithChunkedOutputLoss", "sym_kd_ratio": 1.5}
    result = generated(
        tmp_path, "llama3_2/8B_to_1B_KD_lora_single_device", delete=("kd_loss",), controls={"kd_loss": loss}
    )

    assert startup(result) == [
        (
            "kd_loss.sym_kd_ratio",
            'kd_loss.sym_kd_ratio is 1.5, so the run would stop at start-up: "sym_kd_ratio must be in the range [0, 1]"',
            "give a ratio between 0 (reverse KL) and 1 (forward KL)",
        )
    ]
    with pytest.raises(ValueError) as raised:
        SymmetricKLWithChunkedOutputLoss(sym_kd_ratio=1.5)
    assert str(raised.value) == quoted(startup(result)[0][1])
