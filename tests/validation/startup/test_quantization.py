"""Quantizing recipes' start-up constraints (QAT training, evaluation, generation), one test each.

Each mistake is made on a real shipped config through ttwriter's generate path; the quantizer
modes the checks rely on are torchtune's own (pinned in test_startup_checks).
"""

from __future__ import annotations

from tests.validation.startup.helpers import generated, quoted, startup

QAT_LORA = "llama3_2/1B_qat_lora"
EVAL = "llama3_2/evaluation"
PTQ = "torchtune.training.quantization.Int8DynActInt4WeightQuantizer"
QAT = "torchtune.training.quantization.Int8DynActInt4WeightQATQuantizer"


def test_compile_in_a_qat_recipe_is_an_error(tmp_path):
    result = generated(tmp_path, QAT_LORA, controls={"compile": True})

    assert startup(result) == [
        (
            "compile",
            "compile is true and recipe qat_lora_finetune_distributed is QAT, so the run would stop at start-up: "
            '"Compile is not yet supported for QAT. Please set compile=False."',
            "set compile: false",
        )
    ]


def test_a_qat_recipe_without_a_quantizer_is_an_error(tmp_path):
    lora = generated(tmp_path / "lora", QAT_LORA, delete=("quantizer",))
    full = generated(tmp_path / "full", "llama2/7B_qat_full", delete=("quantizer",))

    fix = (
        "set quantizer: {_component_: torchtune.training.quantization.Int8DynActInt4WeightQATQuantizer, "
        "groupsize: 256}"
    )
    assert startup(lora) == [
        (
            "quantizer",
            "quantizer is not set and recipe qat_lora_finetune_distributed is QAT, so the run would stop at "
            'start-up: "Quantizer must be specified for QAT + LoRA finetuning"',
            fix,
        )
    ]
    assert [(k, quoted(m), f) for k, m, f in startup(full)] == [
        ("quantizer", "Quantizer must be specified for QAT recipe.", fix)
    ]


def test_a_post_training_quantizer_in_a_qat_recipe_is_an_error(tmp_path):
    result = generated(tmp_path, QAT_LORA, controls={"quantizer._component_": PTQ})

    assert startup(result) == [
        (
            "quantizer._component_",
            "quantizer Int8DynActInt4WeightQuantizer is not a QAT quantizer ('8da4w' mode), so the run would stop "
            "at start-up: \"Quantizer mode '8da4w' is not supported for finetuning\"",
            f"use its QAT counterpart: quantizer._component_: {QAT}",
        )
    ]


def test_dora_in_the_qat_lora_recipe_is_an_error(tmp_path):
    result = generated(tmp_path, QAT_LORA, controls={"model.use_dora": True})

    assert startup(result) == [
        (
            "model.use_dora",
            "model.use_dora is true in a QAT recipe, so the run would stop at start-up: "
            '"QAT is currently not compatible with DoRA"',
            "set model.use_dora: false",
        )
    ]


def test_evaluating_quantized_weights_through_the_hf_checkpointer_is_an_error(tmp_path):
    result = generated(tmp_path, EVAL, controls={"quantizer": {"_component_": PTQ, "groupsize": 256}})

    assert startup(result) == [
        (
            "quantizer, checkpointer._component_",
            "quantizer is set (8da4w mode) but the checkpointer is FullModelHFCheckpointer, so the run would stop "
            'at start-up: "Quantization is only supported for models quantized and saved with the '
            "FullModelTorchTuneCheckpointer - please ensure you have quantized your model and are using the "
            'quantized weights!"',
            "load the weights `tune run quantize` wrote, with "
            "checkpointer._component_: torchtune.training.FullModelTorchTuneCheckpointer",
        )
    ]


def test_a_qat_quantizer_for_generation_is_an_error(tmp_path):
    controls = {
        "quantizer": {"_component_": QAT, "groupsize": 256},
        "checkpointer": {
            "_component_": "torchtune.training.FullModelTorchTuneCheckpointer",
            "checkpoint_files": ["model-8da4w.pt"],  # what `tune run quantize` writes
        },
    }
    result = generated(tmp_path, "generation", controls=controls)

    assert startup(result) == [
        (
            "quantizer._component_",
            "quantizer Int8DynActInt4WeightQATQuantizer is for quantization-aware training, so the run would stop "
            "at start-up: \"You have specified a quantizer with 'QAT' - QAT quantizers should only be used during "
            "quantization aware training and when quantizing models. Please use the corresponding post-training "
            'quantizer e.g. Int8DynActInt4WeightQuantizer for Int8DynActInt4WeightQATQuantizer."',
            f"use the post-training quantizer: {PTQ}",
        )
    ]
