"""Linked values: each learning rate with its own warmup, as one grid axis (2 runs, not 4)."""

from dataclasses import replace

from baseline_01_01 import experiment as parent

experiment = replace(
    parent,
    name="linked_schedule",
    linked={
        "schedule": [
            {"learning_rate": 1e-4, "num_warmup_steps": 50},
            {"learning_rate": 3e-4, "num_warmup_steps": 100},
        ]
    },
    question="Does a higher learning rate with a longer warmup beat a lower one with a short warmup?",
    hypothesis="The longer warmup makes the higher learning rate stable and better.",
)
