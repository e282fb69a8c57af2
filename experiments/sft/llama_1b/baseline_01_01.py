"""Base of the llama_1b SFT family: torchtune's Llama 3.2 1B LoRA recipe on a local alpaca file.

Every other experiment in this folder derives from this one with `dataclasses.replace`.
"""

from ttwriter import Experiment

experiment = Experiment(
    name="llama1b_baseline",
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
    question="Does LoRA fine-tuning Llama 3.2 1B on our alpaca sample work at all?",
    hypothesis="Loss drops within one epoch at torchtune's default LoRA settings.",
    researcher="ttwriter examples",
    tags=("sft", "llama3_2", "lora"),
)
