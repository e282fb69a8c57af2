"""LoRA rank x learning rate on the tiny model: four runs, a few seconds each on a CPU."""

from dataclasses import replace

from baseline_01_01 import experiment as parent

experiment = replace(
    parent,
    name="tiny_rank_x_lr",
    variables={"lora_rank": [4, 16], "learning_rate": [1e-3, 1e-2]},
    controls={**parent.controls, "lora_alpha": 16},
    question="Does the tiny model's loss respond to LoRA rank and learning rate?",
    hypothesis="The higher learning rate lowers the final loss at both ranks.",
)
