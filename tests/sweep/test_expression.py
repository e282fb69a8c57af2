"""YAML derived expressions: arithmetic over param names, and nothing else."""

from __future__ import annotations

import pytest

from ttwriter import ExperimentSchemaError
from ttwriter.sweep.expression import Expression

PATH = ("derived", "lora_alpha")


@pytest.mark.parametrize(
    "text, value",
    [
        ("2 * lora_rank", 32),
        ("lora_rank / 4", 4.0),
        ("lora_rank // 3 + lora_rank % 3", 6),
        ("-(lora_rank - 20) ** 2", -16),
        ("max(8, min(lora_rank, 12))", 12),
        ("round(lr * 1000, 2)", 0.3),
    ],
)
def test_arithmetic_over_params(text, value):
    assert Expression(text, ["lora_rank", "lr"], PATH)({"lora_rank": 16, "lr": 3e-4}) == value


@pytest.mark.parametrize(
    "text, what",
    [
        ("__import__('os').system('true')", "'__import__('os').system('true')'"),
        ("lora_rank.real", "'lora_rank.real'"),
        ("'a' * 3", "the constant 'a'"),
        ("[lora_rank][0]", "'[lora_rank][0]'"),
        ("lora_rank if lora_rank else 1", "'lora_rank if lora_rank else 1'"),
        ("abs(lora_rank)", "'abs(lora_rank)'"),
        ("True + 1", "the constant True"),
    ],
)
def test_anything_but_arithmetic_is_refused(text, what):
    with pytest.raises(ExperimentSchemaError) as info:
        Expression(text, ["lora_rank"], PATH)
    assert info.value.message == f"derived expression {text!r} uses {what}, which is not allowed"
    assert info.value.key == "derived.lora_alpha"


def test_a_syntax_error_says_what_is_allowed():
    with pytest.raises(ExperimentSchemaError) as info:
        Expression("2 *", ["lora_rank"], PATH)
    assert info.value.message.startswith("derived expression '2 *' is not valid arithmetic")
    assert info.value.fix == (
        "write e.g. '2 * lora_rank'; allowed: numbers, param names, + - * / // % **, parentheses, "
        "min(), max(), round()"
    )


def test_a_huge_power_is_an_error_not_a_hang():
    with pytest.raises(ValueError, match="exponent 1000000000 is too large"):
        Expression("2 ** 10 ** 9", [], PATH)({})


def test_small_exponents_in_a_row_cannot_build_a_number_no_config_can_hold():
    # (8 ** 64) ** 64 has 3,700 digits and is kept; one more ** 64 would be 237,000, and a fourth
    # 15 million: refused before it is computed.
    assert len(str(Expression("(8 ** 64) ** 64", [], PATH)({}))) == 3700
    with pytest.raises(ValueError, match=r"^\(\(8 \*\* 64\) \*\* 64\) \*\* 64 has more than 4300 digits$"):
        Expression("(((8 ** 64) ** 64) ** 64) ** 64", [], PATH)({})
    with pytest.raises(ValueError, match="has more than 4300 digits"):
        Expression("(8 ** 64) ** 64 * (8 ** 64) ** 64 * (8 ** 64) ** 64", [], PATH)({})
