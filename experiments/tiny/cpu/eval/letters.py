"""An inspect-ai task for the tiny CPU family: how many letters of the asked-for word are in the answer?

The tiny model is fine-tuned on alpaca-style examples that include "Write the word X twice.", so
this task asks that of each of the 20 words of the training data and scores each answer by the
share of the word's letters it contains (1.0: all of them). A barely trained model rarely writes
the word, but partial credit still moves with training, so the runs of a sweep can be told apart.
The data ships beside this file (letters.jsonl); nothing is downloaded. Run by hand:

    inspect eval letters.py@letters --model hf/local -M model_path=<an epoch_N folder> -M device=cpu
"""

from pathlib import Path

from inspect_ai import Task, task
from inspect_ai.dataset import json_dataset
from inspect_ai.scorer import Score, Target, accuracy, scorer, stderr
from inspect_ai.solver import TaskState, generate


@scorer(metrics=[accuracy(), stderr()])
def letters_found():
    """The share of the target word's distinct letters that appear in the answer."""

    async def score(state: TaskState, target: Target) -> Score:
        word = set(target.text.lower())
        answer = state.output.completion.lower()
        return Score(value=sum(c in answer for c in word) / len(word), answer=state.output.completion)

    return score


@task
def letters() -> Task:
    return Task(
        dataset=json_dataset(str(Path(__file__).with_name("letters.jsonl"))),
        solver=generate(),
        scorer=letters_found(),
    )
