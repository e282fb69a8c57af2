"""Type and argument checks of component nodes, on small tables of values and annotations."""

from __future__ import annotations

import typing

import pytest

from ttwriter.validation.components import ComponentChecker, _fits, component_nodes
from ttwriter.validation.interpolation import UNRESOLVED


@pytest.mark.parametrize(
    "value, annotation, fits",
    [
        (3e-4, float, True),
        (3, float, True),
        ("3e-4", float, False),
        (True, float, False),
        (8, int, True),
        (8.0, int, False),
        (True, bool, True),
        (1, bool, False),
        ("x", str, True),
        (1, str, False),
        ([1], list, True),
        ("x", list, False),
        ({"a": 1}, dict, True),
        ("3e-4", typing.Union[float, int], False),  # noqa: UP007 - typing.Union on purpose
        ("3e-4", float | int, False),
        ("3e-4", typing.Optional[float], False),  # noqa: UP045 - typing.Optional on purpose
        (None, float, None),
        ("${output_dir}", float, None),
        (UNRESOLVED, float, None),
        ({"_component_": "x"}, float, None),
        ("left", typing.Literal["left", "right"], True),
        ("up", typing.Literal["left", "right"], False),
        ("/a/b", typing.Any, None),
    ],
)
def test_values_are_judged_against_annotations_only_where_it_can_be_told(value, annotation, fits):
    assert _fits(value, annotation) is fits


def test_component_nodes_are_found_at_any_depth_with_key_paths():
    config = {
        "model": {"_component_": "a", "inner": {"_component_": "b"}},
        "dataset": [{"_component_": "c"}, {"x": {"_component_": "d"}}],
        "seed": 1,
    }
    assert [path for path, _ in component_nodes(config)] == [
        "model",
        "model.inner",
        "dataset[0]",
        "dataset[1].x",
    ]


def test_the_same_node_in_many_runs_is_checked_once():
    checker = ComponentChecker()
    node = {"optimizer": {"_component_": "torch.optim.AdamW", "lr": 3e-4, "weight_decya": 0.1}}
    first = checker.check(node)
    assert checker.check(node) == first
    assert len(checker._cache) == 1
    assert [(f.key, f.fix) for f in first] == [("optimizer.weight_decya", "did you mean 'weight_decay'?")]
