"""Base of the sweeps family: one example per sweep strategy (docs/sweeps.md), all on torchtune's
Llama 3.2 1B LoRA recipe and a local alpaca file.

Every other experiment in this folder derives from this one with `dataclasses.replace`.
"""

from ttwriter import Experiment

experiment = Experiment(
    name="sweeps_baseline",
    base_config="llama3_2/1B_lora_single_device",
    controls={
        "learning_rate": 3e-4,
        "epochs": 1,
        "batch_size": 4,
        "dataset": {
            "_component_": "torchtune.datasets.alpaca_dataset",
            "source": "json",
            "data_files": "/data/alpaca_sample.json",
            "split": "train",
        },
    },
    question="Where do the sweep strategies start from?",
    hypothesis="One run at torchtune's defaults trains.",
    researcher="ttwriter examples",
    tags=("sft", "llama3_2", "lora", "sweeps"),
)
