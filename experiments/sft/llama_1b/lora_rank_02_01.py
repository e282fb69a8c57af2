"""How does LoRA rank trade quality for memory on Llama 3.2 1B? Derived from the baseline (01)."""

from dataclasses import replace

from baseline_01_01 import experiment as parent

experiment = replace(
    parent,
    name="lora_rank",
    variables={"lora_rank": [8, 16, 32, 64]},
    controls={**parent.controls, "lora_alpha": 16},
    question="How does LoRA rank change final loss at a fixed alpha?",
    hypothesis="Loss improves up to rank 32 and flattens after.",
)
