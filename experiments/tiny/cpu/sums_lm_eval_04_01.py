"""Evaluate every run with lm-evaluation-harness: two learning rates, each run's last epoch
scored on the multiple-choice `tiny_sums` task (eval/lm_eval/tiny_sums.yaml), and the untrained
base model once as the control.

    ttwriter experiments/tiny/cpu/sums_lm_eval_04_01.py --controls.tiny-assets DIR --output-dir /tmp/sums
    ttwriter run /tmp/sums         # trains, then evaluates each run (or: ttwriter submit /tmp/sums)
    ttwriter results /tmp/sums     # losses and tiny_sums/acc per run, eval_scores.png

Needs `pip install 'ttwriter[eval]'`. See docs/evaluation.md.
"""

from dataclasses import replace

from baseline_01_01 import experiment as parent

from ttwriter import Evaluation

experiment = replace(
    parent,
    name="tiny_sums",
    variables={"learning_rate": [1e-3, 1e-2]},
    evaluation=Evaluation(
        harness="lm_eval",
        tasks=["tiny_sums"],
        include_path="eval/lm_eval",
        limit=10,
        model_args={"dtype": "float32"},
        base_model=True,
    ),
    question="Does fine-tuning move the tiny model's choice of sums?",
    hypothesis="The higher learning rate moves accuracy away from the base model's.",
)
