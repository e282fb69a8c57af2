"""Rank x learning rate: does the best learning rate move with LoRA rank? Derived from 02."""

from dataclasses import replace

from lora_rank_02_01 import experiment as parent

experiment = replace(
    parent,
    name="rank_x_lr",
    variables={"lora_rank": [8, 32], "learning_rate": [1e-4, 3e-4, 1e-3]},
    question="Does the best learning rate depend on LoRA rank?",
    hypothesis="Higher ranks prefer lower learning rates.",
    tags=(*parent.tags, "interaction"),
)
