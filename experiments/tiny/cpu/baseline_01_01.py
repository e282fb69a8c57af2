"""Base of the tiny CPU family: a 2-layer Llama 2 LoRA run that trains in seconds on a laptop.

It needs the assets from `ttwriter tiny-assets DIR` (nothing is downloaded). They are looked for
in $TTWRITER_TINY_ASSETS, else in `assets/` next to this file; `--controls.tiny-assets DIR` on
the command line overrides both. The path is resolved when the configs are generated, so every
config holds an absolute path and trains from any working directory, locally or on SLURM.
See docs/training.md.
"""

import os
from pathlib import Path

from ttwriter import Experiment

ASSETS = os.environ.get("TTWRITER_TINY_ASSETS") or str(Path(__file__).resolve().parent / "assets")

experiment = Experiment(
    name="tiny_baseline",
    base_config_file="tiny_lora.yaml",
    recipe="lora_finetune_single_device",
    controls={
        "tiny_assets": ASSETS,
        "learning_rate": 3e-3,
        "epochs": 1,
    },
    question="Does a tiny LoRA run train end to end on a CPU?",
    hypothesis="The loss falls from about ln(320) = 5.8 within one epoch.",
    researcher="ttwriter examples",
    tags=("tiny", "cpu", "lora"),
    slurm={"gpus_per_run": 0, "cpus_per_task": 1, "time": "00:10:00"},
)
