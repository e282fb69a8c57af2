"""family.compare: what one experiment changes against another, by resolved key path."""

from __future__ import annotations

import dataclasses

import pytest

from tests.conftest import BASE, LLAMA_1B
from ttwriter import Evaluation, Experiment, SlurmConfig, load_experiment
from ttwriter.experiment.loading import from_experiment
from ttwriter.family.compare import SUMMARY_VALUE, compare, config_diff, plan_for_comparison, summary


def planned(experiment: Experiment):
    return plan_for_comparison(from_experiment(experiment))


def changes(old: Experiment, new: Experiment) -> list[str]:
    return [change.text() for change in compare(planned(old), planned(new))]


def exp(**fields) -> Experiment:
    return Experiment(**{"name": "exp", "base_config": BASE, **fields})


@pytest.mark.parametrize(
    "old, new",
    [
        ({"lr": 1e-4}, {"optimizer.lr": 1e-4}),
        ({"learning_rate": 1e-4}, {"optimizer": {"lr": 1e-4}}),
        ({"dataset": {"packed": True}}, {"dataset.packed": True}),
        ({"apply_lora_to_mlp": False}, {"model.apply_lora_to_mlp": False}),
    ],
)
def test_two_spellings_of_one_key_are_no_change(old, new):
    assert changes(exp(controls=old), exp(controls=new)) == []


def test_a_changed_control_is_named_by_its_resolved_key_with_both_values():
    assert changes(
        exp(controls={"lr": 1e-4, "epochs": 1}), exp(controls={"optimizer.lr": 3e-4, "epochs": 2})
    ) == [
        "controls.optimizer.lr 0.0001 -> 0.0003",
        "controls.epochs 1 -> 2",
    ]


def test_variables_and_deletes_are_compared_by_resolved_key_too():
    old = exp(variables={"lora_rank": [8, 16]}, delete=("model.lora_dropout",))
    new = exp(variables={"model.lora_rank": [8, 32], "weight_decay": [0.0, 0.01]}, delete=("clip_grad_norm",))

    assert changes(old, new) == [
        "variables.model.lora_rank [8, 16] -> [8, 32]",
        "+variables.optimizer.weight_decay [0.0, 0.01]",
        "+delete clip_grad_norm",
        "-delete model.lora_dropout",
    ]


def test_a_control_the_new_experiment_sweeps_is_removed_with_a_note_and_left_out_of_the_summary():
    old = exp(controls={"learning_rate": 3e-4})
    new = exp(controls={"learning_rate": 3e-4}, variables={"lr": [1e-4, 1e-3]})

    found = compare(planned(old), planned(new))

    assert [(c.text(), c.note) for c in found] == [
        ("+variables.optimizer.lr [0.0001, 0.001]", ""),
        ("-controls.optimizer.lr 0.0003", "swept by variables.optimizer.lr"),
    ]
    assert summary(found) == "+variables.optimizer.lr [0.0001, 0.001]"


@pytest.mark.parametrize(
    "old, new, differ",
    [(8, 8.0, True), (True, 1, True), ([8, 16], (8, 16), False), ({"a": 1}, {"a": 1}, False)],
)
def test_values_differ_when_a_config_would_hold_them_differently(old, new, differ):
    key = "+my_value"  # a new key, so any type is accepted
    assert bool(changes(exp(controls={key: old}), exp(controls={key: new}))) is differ


def test_every_field_is_compared_and_slurm_field_by_field():
    old = exp(question="a?", tags=("x",))
    new = exp(
        name="other", question="b?", tags=("x", "y"), slurm=SlurmConfig(partition="gpu", gpus_per_run=2)
    )

    assert changes(old, new) == [
        "name 'exp' -> 'other'",
        "question 'a?' -> 'b?'",
        "tags ['x'] -> ['x', 'y']",
        "slurm.partition None -> 'gpu'",
        "slurm.gpus_per_run 1 -> 2",
    ]


@dataclasses.dataclass(frozen=True)
class Review:
    """A typed sub-config like the ones an Experiment may gain later."""

    tasks: tuple[str, ...] = ()
    every_n_steps: int | None = None


@dataclasses.dataclass(frozen=True)
class ReviewedExperiment(Experiment):
    review: Review = dataclasses.field(default_factory=Review)


def test_a_field_added_to_the_experiment_later_is_compared_without_code_for_it():
    old = ReviewedExperiment(name="exp", base_config=BASE)
    new = dataclasses.replace(old, review=Review(tasks=("mmlu",), every_n_steps=100))

    found = compare(planned(old), planned(new))

    assert [c.text() for c in found] == [
        "review.tasks [] -> ['mmlu']",
        "review.every_n_steps None -> 100",
    ]
    assert summary(found) == "review.tasks [] -> ['mmlu']; review.every_n_steps None -> 100"


def test_the_evaluation_is_compared_setting_by_setting():
    old = exp(evaluation=Evaluation(harness="lm_eval", tasks=("hellaswag",)))
    new = exp(evaluation=Evaluation(harness="lm_eval", tasks=("hellaswag", "arc_easy"), limit=50))

    assert [c.text() for c in compare(planned(old), planned(new))] == [
        "evaluation.tasks ['hellaswag'] -> ['hellaswag', 'arc_easy']",
        "evaluation.limit None -> 50",
    ]


def test_the_summary_names_only_descriptive_fields_when_the_runs_are_the_same():
    found = compare(planned(exp(question="a?")), planned(exp(name="b", question="b?")))

    assert summary(found) == "same runs (changes name, question)"
    assert summary([]) == "no changes"


def test_long_values_are_cut_in_the_summary_only():
    old, new = exp(), exp(controls={"+note": "x" * 100})

    (change,) = compare(planned(old), planned(new))

    assert change.text() == f"+controls.note {'x' * 100!r}"
    assert summary([change]) == f"+controls.note '{'x' * (SUMMARY_VALUE - 4)}..."  # 40 characters


def test_the_first_runs_configs_differ_where_torchtune_would_see_it():
    lora = plan_for_comparison(load_experiment(LLAMA_1B / "lora_rank_02_01.py"))
    rank_x_lr = plan_for_comparison(load_experiment(LLAMA_1B / "rank_x_lr_03_02.py"))

    lines = config_diff(lora, rank_x_lr, "a", "b")

    assert lines[:2] == ["--- a run_000", "+++ b run_000"]
    assert [line for line in lines[2:] if line[:1] in "+-"] == ["-  lr: 0.0003", "+  lr: 0.0001"]
    assert config_diff(lora, lora, "a", "b") == []


def test_derived_callables_are_compared_by_their_code_and_shown_by_name_and_line():
    def changes(old_alpha, new_alpha):
        old = Experiment(
            name="a", base_config=BASE, variables={"lora_rank": [8]}, derived={"lora_alpha": old_alpha}
        )
        new = dataclasses.replace(old, derived={"lora_alpha": new_alpha})
        return compare(*(plan_for_comparison(from_experiment(e)) for e in (old, new)))

    assert changes(lambda p: 2 * p["lora_rank"], lambda p: 2 * p["lora_rank"]) == []
    (change,) = changes(lambda p: 2 * p["lora_rank"], lambda p: 3 * p["lora_rank"])
    assert change.key == "derived.lora_alpha"
    assert change.text().startswith("derived.lora_alpha <callable ")
    assert "from test_compare.py:" in change.text() and "0x" not in change.text()
