"""Seeded draws: each distribution within its bounds, rounded as asked, reproducible per draw."""

from __future__ import annotations

from ttwriter.experiment.sample import Sample
from ttwriter.sweep.sample import draw


def test_each_distribution_stays_within_its_bounds_and_rounds_as_asked():
    sample = Sample(
        num_samples=200,
        params={
            "a": {"uniform": [-1.0, 1.0], "round": 2},
            "b": {"log_uniform": [1e-5, 1e-1], "digits": 2},
            "c": {"int_uniform": [3, 5]},
            "d": {"choice": ["x", "y", None]},
        },
    )
    draws = [draw(0, k, sample.distributions()) for k in range(200)]
    assert all(-1 <= d["a"] <= 1 and round(d["a"], 2) == d["a"] for d in draws)
    assert all(1e-5 <= d["b"] <= 1e-1 and float(f"{d['b']:.1e}") == d["b"] for d in draws)
    assert {d["c"] for d in draws} == {3, 4, 5}  # both bounds included
    assert {d["d"] for d in draws} == {"x", "y", None}
    assert sum(d["b"] < 1e-3 for d in draws) > 60  # log-uniform: half the decades below 1e-3


def test_draw_k_is_the_same_alone_or_in_a_sequence_and_differs_by_seed():
    sample = Sample(num_samples=3, params={"wd": {"uniform": [0.0, 1.0]}})
    sequence = [draw(5, k, sample.distributions()) for k in range(3)]
    assert draw(5, 2, sample.distributions()) == sequence[2]
    assert len({d["wd"] for d in sequence}) == 3
    assert draw(6, 0, sample.distributions()) != sequence[0]
