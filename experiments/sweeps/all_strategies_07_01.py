"""Every strategy at once, the Python twin of experiments/yaml/sweep_strategies/experiment.yaml
(both give byte-identical configs): (2 x 2 - 1) x 2 draws x 2 replicates = 12 runs."""

from dataclasses import replace

from baseline_01_01 import experiment as parent

from ttwriter import Sample

experiment = replace(
    parent,
    name="all_strategies",
    variables={"lora_rank": [8, 16]},
    linked={
        "schedule": [
            {"learning_rate": 1e-4, "num_warmup_steps": 50},
            {"learning_rate": 3e-4, "num_warmup_steps": 100},
        ]
    },
    derived={"lora_alpha": lambda p: 2 * p["lora_rank"]},
    exclude=[{"lora_rank": 16, "learning_rate": 3e-4}],
    sample=Sample(
        num_samples=2, seed=0, params={"weight_decay": {"log_uniform": [1e-4, 1e-1], "digits": 2}}
    ),
    replicates=2,
    question="Do rank and schedule interact once weight decay and seeds are varied?",
    hypothesis="Rank 16 with the short schedule is best on average.",
)
