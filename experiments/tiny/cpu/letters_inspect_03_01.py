"""Evaluate every run with inspect-ai: two learning rates, each run's last epoch scored on the
`letters` task (eval/letters.py), and the untrained base model once as the control.

    ttwriter experiments/tiny/cpu/letters_inspect_03_01.py --controls.tiny-assets DIR --output-dir /tmp/letters
    ttwriter run /tmp/letters        # trains, then evaluates each run (or: ttwriter submit /tmp/letters)
    ttwriter results /tmp/letters    # losses and letters/accuracy per run, eval_scores.png

Needs `pip install 'ttwriter[eval]'`. See docs/evaluation.md.
"""

from dataclasses import replace

from baseline_01_01 import experiment as parent

from ttwriter import Evaluation

experiment = replace(
    parent,
    name="tiny_letters",
    variables={"learning_rate": [1e-3, 1e-2]},
    evaluation=Evaluation(
        harness="inspect",
        tasks=["eval/letters.py@letters"],
        limit=10,
        max_tokens=8,
        model_args={"do_sample": False},
        base_model=True,
    ),
    question="Does fine-tuning bring the tiny model closer to writing the word it is asked for?",
    hypothesis="Fine-tuning moves the score away from the base model's; one epoch is too short to write whole words.",
)
