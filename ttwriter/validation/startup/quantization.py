"""Start-up constraints of the recipes that quantize: QAT training, evaluation and generation.

QAT recipes need a QAT quantizer and refuse compile and DoRA; eleuther_eval and generate load
quantized weights only through the TorchTune checkpointer and refuse QAT quantizers. Which
quantizer a node is comes from its `_component_` path and torchtune's mode table (pinned by a
test). See startup.checks for the design.
"""

from __future__ import annotations

from typing import Any

from ttwriter.validation.report import Finding
from ttwriter.validation.startup.checks import (
    UNKNOWN,
    StartupCheck,
    component,
    error,
    recipes,
    show,
    torchtune_name,
    truthy,
)

QUANTIZER_MODES = {
    "Int8DynActInt4WeightQuantizer": "8da4w",
    "Int8DynActInt4WeightQATQuantizer": "8da4w-qat",
    "Int4WeightOnlyQuantizer": "4w",
    "Int4WeightOnlyQATQuantizer": "4w-qat",
    "Int4WeightOnlyQATQuantizerModuleSwap": "4w-qat-module-swap",
    "Int8DynActInt4WeightQATQuantizerModuleSwap": "8da4w-qat-module-swap",
}
"""What `torchtune.training.get_quantizer_mode` returns per class; tests pin it to torchtune's."""

_QAT_COMPILE = "Compile is not yet supported for QAT. Please set compile=False."
_QAT_DORA = "QAT is currently not compatible with DoRA"
_NOT_TORCHTUNE_CHECKPOINT = (
    "Quantization is only supported for models quantized and saved with the "
    "FullModelTorchTuneCheckpointer - please ensure you have quantized your "
    "model and are using the quantized weights!"
)
_QAT_IN_EVAL = (
    "You have specified a quantizer with 'QAT' - "
    "QAT quantizers should only be used during quantization aware training "
    "and when quantizing models. Please use the corresponding post-training "
    "quantizer e.g. Int8DynActInt4WeightQuantizer for Int8DynActInt4WeightQATQuantizer."
)
_NEEDS_QUANTIZER = {
    "qat_distributed": "Quantizer must be specified for QAT recipe.",
    "qat_lora_finetune_distributed": "Quantizer must be specified for QAT + LoRA finetuning",
}


def compile_with_qat(cfg: dict[str, Any], recipe: str | None) -> list[Finding]:
    if not truthy(cfg.get("compile")):
        return []
    return [
        error(["compile"], f"compile is true and recipe {recipe} is QAT", _QAT_COMPILE, "set compile: false")
    ]


def _quantizer_mode(cfg: dict[str, Any]) -> Any:
    """What get_quantizer_mode returns for the configured quantizer: a mode, None, or UNKNOWN."""
    quantizer = cfg.get("quantizer")
    if quantizer is None:
        return None
    name = torchtune_name(quantizer)
    if name is None:
        return UNKNOWN  # a class torchtune's table may hold under another path (torchao's)
    return QUANTIZER_MODES.get(name)


def qat_needs_quantizer(cfg: dict[str, Any], recipe: str | None) -> list[Finding]:
    if cfg.get("quantizer") is not None or recipe not in _NEEDS_QUANTIZER:
        return []
    return [
        error(
            ["quantizer"],
            f"quantizer is {'null' if 'quantizer' in cfg else 'not set'} and recipe {recipe} is QAT",
            _NEEDS_QUANTIZER[recipe],
            "set quantizer: {_component_: torchtune.training.quantization.Int8DynActInt4WeightQATQuantizer, "
            "groupsize: 256}",
        )
    ]


def qat_needs_qat_quantizer(cfg: dict[str, Any], recipe: str | None) -> list[Finding]:
    mode = _quantizer_mode(cfg)
    quantizer = component(cfg.get("quantizer"))
    if quantizer is None or mode is UNKNOWN or (mode is not None and "qat" in mode):
        return []
    name = quantizer.rsplit(".", 1)[-1]
    qat = name.replace("Quantizer", "QATQuantizer")
    raises = (
        f"Quantizer mode '{mode}' is not supported for finetuning"
        if mode
        else "TypeError: argument of type 'NoneType' is not iterable"
    )
    fix = (
        f"use its QAT counterpart: quantizer._component_: torchtune.training.quantization.{qat}"
        if qat in QUANTIZER_MODES
        else f"use one of torchtune's QAT quantizers: {', '.join(n for n, m in QUANTIZER_MODES.items() if 'qat' in m)}"
    )
    return [
        error(
            ["quantizer._component_"],
            f"quantizer {name} is not a QAT quantizer ({show(mode)} mode)",
            raises,
            fix,
        )
    ]


def qat_with_dora(cfg: dict[str, Any], recipe: str | None) -> list[Finding]:
    model = cfg.get("model")
    if not isinstance(model, dict) or not truthy(model.get("use_dora")):
        return []
    return [
        error(
            ["model.use_dora"],
            "model.use_dora is true in a QAT recipe",
            _QAT_DORA,
            "set model.use_dora: false",
        )
    ]


def quantized_needs_torchtune_checkpoint(cfg: dict[str, Any], recipe: str | None) -> list[Finding]:
    mode = _quantizer_mode(cfg)
    checkpointer = torchtune_name(cfg.get("checkpointer"))
    if mode in (None, UNKNOWN) or checkpointer in (None, "FullModelTorchTuneCheckpointer"):
        return []
    return [
        error(
            ["quantizer", "checkpointer._component_"],
            f"quantizer is set ({mode} mode) but the checkpointer is {checkpointer}",
            _NOT_TORCHTUNE_CHECKPOINT,
            "load the weights `tune run quantize` wrote, with "
            "checkpointer._component_: torchtune.training.FullModelTorchTuneCheckpointer",
        )
    ]


def qat_quantizer_in_eval(cfg: dict[str, Any], recipe: str | None) -> list[Finding]:
    mode = _quantizer_mode(cfg)
    if not isinstance(mode, str) or "qat" not in mode:
        return []
    name = str(component(cfg.get("quantizer"))).rsplit(".", 1)[-1]
    plain = name.replace("QATQuantizer", "Quantizer")
    fix = f"use the post-training quantizer: torchtune.training.quantization.{plain}"
    return [
        error(
            ["quantizer._component_"],
            f"quantizer {name} is for quantization-aware training",
            _QAT_IN_EVAL,
            fix if plain in QUANTIZER_MODES else "use a post-training quantizer",
        )
    ]


_QAT = recipes("qat_distributed qat_lora_finetune_distributed")
_EVAL = recipes("eleuther_eval generate")
QUANTIZATION_CHECKS = (
    StartupCheck(compile_with_qat, "recipe __init__", _QAT, _QAT_COMPILE),
    StartupCheck(qat_needs_quantizer, "recipe _setup_model", _QAT, "Quantizer must be specified"),
    StartupCheck(qat_needs_qat_quantizer, "recipe _setup_model", _QAT, "is not supported for finetuning"),
    StartupCheck(
        qat_with_dora, "recipe _convert_model_to_qat", recipes("qat_lora_finetune_distributed"), _QAT_DORA
    ),
    StartupCheck(
        quantized_needs_torchtune_checkpoint, "recipe setup", _EVAL, "Quantization is only supported"
    ),
    StartupCheck(qat_quantizer_in_eval, "recipe setup", _EVAL, "You have specified a quantizer with 'QAT'"),
)
