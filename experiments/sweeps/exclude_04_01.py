"""Exclusions: rank x learning rate without the combination known to diverge (5 runs, not 6)."""

from dataclasses import replace

from baseline_01_01 import experiment as parent

experiment = replace(
    parent,
    name="exclude_diverging",
    variables={"lora_rank": [8, 64], "learning_rate": [1e-4, 3e-4, 1e-3]},
    exclude=[{"lora_rank": 64, "learning_rate": 1e-3}],
    question="Does the best learning rate depend on LoRA rank, leaving out the diverging corner?",
    hypothesis="Rank 64 prefers the lower learning rates.",
)
