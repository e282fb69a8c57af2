"""Type and argument checks of component nodes, on small tables of values and annotations."""

from __future__ import annotations

import typing

import pytest

from ttwriter.validation.components import ComponentChecker, _fits, component_nodes
from ttwriter.validation.interpolation import UNRESOLVED
from ttwriter.validation.signature import annotation_of


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
        ("x", "float", None),  # an unresolved string annotation tells nothing
        ("x", typing.Union[float, "torch.Tensor"], None),  # noqa: UP007, F821 - a forward reference in a union
        ("/a", typing.Union[str, None], True),  # noqa: UP007
        ([1], typing.Sequence[int], True),  # noqa: UP006 - typing.Sequence on purpose
        ("/a/b", __import__("pathlib").Path, True),
        (3, __import__("pathlib").Path, False),
    ],
)
def test_values_are_judged_against_annotations_only_where_it_can_be_told(value, annotation, fits):
    assert _fits(value, annotation_of(annotation)) is fits


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


@pytest.mark.parametrize("use_table", [True, False])
def test_each_argument_of_a_component_is_judged_once_however_many_runs_set_it(use_table):
    checker = ComponentChecker(use_table)
    runs = [
        {"optimizer": {"_component_": "torch.optim.AdamW", "lr": lr, "weight_decya": 0.1}}
        for lr in (1e-4, 3e-4, "3e-4")
    ]
    findings = [checker.check(run) for run in runs]
    assert [(f.key, f.fix) for f in findings[0]] == [
        ("optimizer.weight_decya", "did you mean 'weight_decay'?")
    ]
    assert findings[1] == findings[0]
    assert [(f.key, f.message) for f in findings[2]][0] == (
        "optimizer.lr",
        "str '3e-4' does not fit AdamW's parameter lr: float | torch.Tensor",
    )
    assert sorted(checker._arguments) == [
        ("torch.optim.AdamW", "lr"),
        ("torch.optim.AdamW", "weight_decya"),
    ]
