"""Resolving the keys a researcher writes against a real torchtune base config."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import BASE
from ttwriter import ALIASES, TypeMismatchError, UnknownKeyError
from ttwriter.errors import Location, locating
from ttwriter.sweep.base_config import load_base_config
from ttwriter.sweep.keys import KeyResolver, flatten


@pytest.fixture(scope="module")
def base() -> dict:
    return load_base_config(BASE, None, None, Path(".")).data


@pytest.fixture(scope="module")
def resolver(base) -> KeyResolver:
    return KeyResolver(base)


def resolve(resolver: KeyResolver, written: str, section: str = "controls", **kw) -> tuple[str, ...]:
    return resolver.resolve(section, tuple(written.split(".")), **kw)


def _alias_applies(base: dict, target: str) -> bool:
    node = base
    for key in target.split(".")[:-1]:
        node = node.get(key) if isinstance(node, dict) else None
    return isinstance(node, dict)


def _applicable_aliases() -> list[tuple[str, str]]:
    data = load_base_config(BASE, None, None, Path(".")).data
    return [(alias, target) for alias, target in ALIASES.items() if _alias_applies(data, target)]


def test_every_alias_applies_to_the_example_base():
    assert [alias for alias, _ in _applicable_aliases()] == list(ALIASES)


@pytest.mark.parametrize("alias, target", _applicable_aliases())
def test_aliases_resolve_to_their_torchtune_key(resolver, alias, target):
    assert resolve(resolver, alias) == tuple(target.split("."))


@pytest.mark.parametrize(
    "written, path",
    [
        ("optimizer.lr", ("optimizer", "lr")),
        ("model.lora_rank", ("model", "lora_rank")),
        ("profiler.enabled", ("profiler", "enabled")),
        ("checkpointer.output_dir", ("checkpointer", "output_dir")),
        ("epochs", ("epochs",)),
        ("output_dir", ("output_dir",)),
        ("optimizer", ("optimizer",)),
    ],
)
def test_dotted_paths_and_top_level_keys_resolve_as_written(resolver, written, path):
    assert resolve(resolver, written) == path


@pytest.mark.parametrize(
    "written, path",
    [
        ("apply_lora_to_mlp", ("model", "apply_lora_to_mlp")),
        ("lora_attn_modules", ("model", "lora_attn_modules")),
        ("fused", ("optimizer", "fused")),
        ("num_warmup_steps", ("lr_scheduler", "num_warmup_steps")),
        ("log_dir", ("metric_logger", "log_dir")),
        ("enabled", ("profiler", "enabled")),
    ],
)
def test_a_leaf_that_occurs_once_resolves_by_its_short_name(resolver, written, path):
    assert resolve(resolver, written) == path


def test_a_top_level_key_wins_over_nested_keys_of_the_same_name(resolver):
    # output_dir is also under checkpointer and profiler; the short name means the top-level one.
    assert resolve(resolver, "output_dir") == ("output_dir",)


def test_nested_dicts_resolve_leaf_by_leaf(resolver):
    tree = {"dataset": {"packed": True, "source": "json"}, "optimizer.lr": 1e-4}
    paths = [resolver.resolve("controls", written) for written, _ in flatten(tree, lambda v: False)]
    assert paths == [("dataset", "packed"), ("dataset", "source"), ("optimizer", "lr")]


def test_an_ambiguous_short_name_lists_every_candidate():
    dpo = load_base_config("llama3_1/8B_full_dpo", None, None, Path(".")).data
    with pytest.raises(UnknownKeyError) as info:
        KeyResolver(dpo).resolve("controls", ("checkpoint_dir",))
    assert str(info.value) == (
        "controls.checkpoint_dir: 'checkpoint_dir' is ambiguous: the base config has it at "
        "checkpointer.checkpoint_dir, ref_checkpointer.checkpoint_dir\n"
        "  fix: write the full dotted path, e.g. 'checkpointer.checkpoint_dir'"
    )


def test_an_ambiguous_short_name_in_a_small_base():
    resolver = KeyResolver({"teacher": {"path": "/t"}, "student": {"path": "/s"}})
    with pytest.raises(
        UnknownKeyError, match=r"'path' is ambiguous: the base config has it at teacher.path, student.path"
    ):
        resolver.resolve("variables", ("path",))
    assert resolver.resolve("variables", ("student", "path")) == ("student", "path")


@pytest.mark.parametrize(
    "written, suggestion",
    [
        ("lora_rnak", "did you mean 'lora_rank'"),
        ("learning_rat", "did you mean 'learning_rate'"),
        ("modle.lora_rank", "did you mean 'model.lora_rank'"),
        ("epoch", "did you mean 'epochs'"),
    ],
)
def test_a_typo_is_an_unknown_key_with_a_suggestion(resolver, written, suggestion):
    with pytest.raises(UnknownKeyError) as info:
        resolve(resolver, written)
    message = str(info.value)
    assert message.startswith(f"controls.{written}: key {written!r} is not in the base config; {suggestion}")
    assert message.endswith(f"fix: fix the spelling, or write '+{written}' to add a new key on purpose")


def test_a_key_like_nothing_gets_no_suggestion(resolver):
    with pytest.raises(UnknownKeyError, match=r"^controls.zzzz: key 'zzzz' is not in the base config\n"):
        resolve(resolver, "zzzz")


def test_a_typo_below_a_plain_dict_is_unknown():
    resolver = KeyResolver({"data": {"train_file": "a.json"}})
    with pytest.raises(
        UnknownKeyError,
        match=r"^controls.data.trian_file: key 'data.trian_file' is not in the base config; did you mean 'train_file'\?",
    ):
        resolver.resolve("controls", ("data", "trian_file"))


@pytest.mark.parametrize(
    "written", ["model.new_kwarg", "dataset.split", "optimizer.betas", "tokenizer.prompt_template"]
)
def test_a_new_argument_inside_a_component_is_accepted(resolver, written):
    assert resolve(resolver, written) == tuple(written.split("."))


@pytest.mark.parametrize(
    "written, path",
    [
        ("+my_key", ("my_key",)),
        ("+wandb.project", ("wandb", "project")),
        ("+model.extra", ("model", "extra")),
        ("model.+extra", ("model", "extra")),
    ],
)
def test_the_new_key_marker_is_accepted_and_stripped(resolver, written, path):
    assert resolve(resolver, written) == path


def test_a_key_below_a_none_value_is_accepted(resolver):
    # seed is null in the base: a dict may be built under it key by key.
    assert resolve(resolver, "seed.value") == ("seed", "value")


@pytest.mark.parametrize(
    "written, parent, kind",
    [("epochs.x", "epochs", "an int"), ("model.lora_rank.x", "model.lora_rank", "an int")],
)
def test_a_key_below_a_scalar_is_a_type_mismatch(resolver, written, parent, kind):
    with pytest.raises(
        TypeMismatchError,
        match=rf"^controls.{written}: {parent!r} is {kind} in the base config, so it has no key 'x'",
    ):
        resolve(resolver, written)


@pytest.mark.parametrize(
    "written, path",
    [
        ("profiler", ("profiler",)),
        ("model.lora_dropout", ("model", "lora_dropout")),
        ("lora_rank", ("model", "lora_rank")),
    ],
)
def test_delete_resolves_keys_that_exist(resolver, written, path):
    assert resolve(resolver, written, "delete", must_exist=True) == path


@pytest.mark.parametrize(
    "written, message, fix",
    [
        ("nothere", "key 'nothere' is not in the base config", "fix the spelling"),
        ("model.nothere", "key 'model.nothere' is not in the base config", "fix the spelling"),
        (
            "dataset.packd",
            "key 'dataset.packd' is not in the base config; did you mean 'packed'?",
            "fix the spelling",
        ),
        ("+new", "a key marked new with '+' cannot be deleted", "remove the '+' from '+new'"),
    ],
)
def test_delete_of_a_missing_key_is_an_error(resolver, written, message, fix):
    with pytest.raises(UnknownKeyError) as info:
        resolve(resolver, written, "delete", must_exist=True)
    assert str(info.value) == f"delete.{written}: {message}\n  fix: {fix}"


def test_errors_carry_the_file_and_line_where_the_key_is_written(base):
    lines = {("controls", "lora_rnak"): Location("exp.py", 12)}
    resolver = KeyResolver(base)
    with pytest.raises(UnknownKeyError) as info, locating(lines.get):
        resolver.resolve("controls", ("lora_rnak",))
    assert (info.value.file, info.value.line, info.value.key) == ("exp.py", 12, "controls.lora_rnak")
    assert str(info.value).startswith(
        "exp.py:12: controls.lora_rnak: key 'lora_rnak' is not in the base config"
    )


def test_an_alias_whose_parent_is_missing_is_an_ordinary_key():
    # A base without an optimizer node: 'lr' is not an alias there, and not a key either.
    resolver = KeyResolver({"lr": 0.1, "model": {"_component_": "m"}})
    assert resolver.resolve("controls", ("lr",)) == ("lr",)
    with pytest.raises(UnknownKeyError, match=r"key 'weight_decay' is not in the base config"):
        resolver.resolve("controls", ("weight_decay",))


@pytest.mark.parametrize(
    "tree, leaves",
    [
        ({"a": 1, "b": {"c": 2}}, [(("a",), 1), (("b", "c"), 2)]),
        ({"a.b": {"c": 1}}, [(("a", "b", "c"), 1)]),
        ({"empty": {}}, [(("empty",), {})]),
    ],
)
def test_flatten_yields_leaves_with_their_paths(tree, leaves):
    assert list(flatten(tree, lambda v: False)) == leaves
