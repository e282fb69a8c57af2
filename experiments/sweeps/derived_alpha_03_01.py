"""Derived values: LoRA alpha follows the rank (alpha = 2 x rank), computed per run."""

from dataclasses import replace

from baseline_01_01 import experiment as parent

experiment = replace(
    parent,
    name="derived_alpha",
    variables={"lora_rank": [8, 16, 32]},
    derived={"lora_alpha": lambda p: 2 * p["lora_rank"]},
    question="With alpha scaled to the rank, does a higher rank still help?",
    hypothesis="Loss improves with rank when alpha keeps the update scale fixed.",
)
