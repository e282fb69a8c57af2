"""Seeded random draws: weight decay and a learning rate drawn 4 times, the same draws per rank."""

from dataclasses import replace

from baseline_01_01 import experiment as parent

from ttwriter import Sample

experiment = replace(
    parent,
    name="sampled_wd",
    variables={"lora_rank": [8, 16]},
    sample=Sample(
        num_samples=4,
        seed=7,
        params={
            "weight_decay": {"log_uniform": [1e-4, 1e-1], "digits": 2},
            "learning_rate": {"log_uniform": [1e-5, 1e-3], "digits": 2},
        },
    ),
    question="Is the best weight decay the same for both ranks?",
    hypothesis="Weight decay matters little next to the learning rate.",
)
