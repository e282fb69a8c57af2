"""RunText writes the same bytes as dumping each run whole, for every kind of value a sweep can hold."""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import pytest

from tests.conftest import BASE
from ttwriter import Experiment
from ttwriter.folder.run_text import RunText, TextCache
from ttwriter.sweep.base_config import BaseConfig, load_base_config
from ttwriter.sweep.plan import expand_sweep
from ttwriter.sweep.smoke import apply_smoke
from ttwriter.yaml_io import dump_scalar, dump_yaml, writes_plain

EXPERIMENT_DIR = Path("/sweeps/exp")

# Strings YAML reads as something else, quotes, folds over lines or escapes.
AWKWARD = [
    "yes", "No", "null", "~", "1e-4", "3", "0o17", "0x1F", ".inf", "2025-11-12", "", " lead", "trail ",
    "a: b", "#x", "- y", "x\ny", "x\n\ny", "\t", "ünïcode", "it's", '"q"', "${output_dir}/x", "{{a}}",
    "=", "<<", "*a", "&b", "!t", "|", ">", "%x", "@x", "`x", "a,b", "[x]", "a\\b", "---", "...", "-",
    "/a b/c", "/a:b", "/a #b", "x" * 300,
]  # fmt: skip
DATASET = {"_component_": "torchtune.datasets.alpaca_dataset", "source": "json", "split": "train"}

SWEEPS = {
    "awkward strings": dict(variables={"+tag": AWKWARD}, controls={"+note": "x\ny"}),
    "lists and dicts": dict(
        variables={
            "lora_attn_modules": [["q_proj", "v_proj"], ["q_proj", "k_proj", "v_proj", "output_proj"], []],
            "dataset": [DATASET, {**DATASET, "packed": True}, {"_component_": "x.y", "data_files": []}],
        },
        controls={"metric_logger": {"log_dir": "{experiment_name}/{run_id}/logs"}},
    ),
    "numbers": dict(
        variables={
            "lora_dropout": [-0.0, 0.05, 1e-5, float("inf"), float("nan")],
            "max_seq_len": [None, 2048],
            "apply_lora_to_mlp": [True, False],
            "seed": [0, 1, -1, 10**20],
        }
    ),
    "templated controls": dict(
        variables={"lora_rank": [4, 8], "lr": [1e-5, 2.5e-4]},
        controls={
            "output_dir": "/scratch/{experiment_name}/r{lora_rank}_lr{lr}",
            "+note": "rank {lora_rank} {{literal}} ${output_dir}",
            "+nested": {"a": "{run_id}", "b": [1, "{lr}"]},
        },
    ),
    "output_dir variable": dict(variables={"output_dir": ["/a/b", "rel/c", "~/d", "${x}/e", "/a b/c: d"]}),
    "shared control output_dir": dict(variables={"lora_rank": [4, 8]}, controls={"output_dir": "rel/out"}),
    "deletes": dict(delete=("profiler", "compile"), variables={"seed": [1, 2, 3], "epochs": [1, 2]}),
    "no variables": dict(controls={"epochs": 3}),
}


@pytest.fixture(scope="module")
def base() -> BaseConfig:
    return load_base_config(BASE, None, None, Path("."))


def plan(base: BaseConfig, **fields):
    return expand_sweep(Experiment(name="exp", base_config=BASE, **fields), base, EXPERIMENT_DIR)


@pytest.mark.parametrize("smoke", [False, True])
@pytest.mark.parametrize("name", list(SWEEPS))
def test_every_run_is_written_exactly_as_a_whole_dump(base, name, smoke):
    sweep = plan(base, **SWEEPS[name])
    text = RunText(sweep)

    for run in sweep.runs(share_unchanged=True):
        if smoke:
            apply_smoke(run.config)  # replaces top-level values, as the writer does
        assert text.config(run.config) == dump_yaml(run.config)
        config_rel = f"configs/{run.id}.yaml"
        assert text.mapping_entry(run.id, config_rel, run.output_dir, run.params) == dump_yaml(
            [{"id": run.id, "config": config_rel, "output_dir": run.output_dir, "params": run.params}]
        )
        for key, value in run.params.items():
            assert text.scalar(key, value) == dump_scalar(value)


def test_configs_that_are_not_the_plans_objects_are_still_written_exactly(base):
    sweep = plan(base, **SWEEPS["lists and dicts"])
    text = RunText(sweep)

    for run in sweep.runs():  # deep copies: nothing found by identity, everything by content
        assert text.config(run.config) == dump_yaml(run.config)


def test_a_value_found_by_content_keeps_its_type():
    cache = TextCache(lambda key, value: dump_yaml({key: value}), per_key=8)

    texts = [cache("x", v) for v in (1, 1.0, True, 0.0, -0.0, "1", [1], (1,), {"a": 1}, {"a": 1.0})]

    assert texts == [
        "x: 1\n", "x: 1.0\n", "x: true\n", "x: 0.0\n", "x: -0.0\n", "x: '1'\n", "x:\n- 1\n",
        "x:\n- 1\n", "x:\n  a: 1\n", "x:\n  a: 1.0\n",
    ]  # fmt: skip
    assert cache("x", math.nan) == "x: .nan\n"


def test_the_cache_never_holds_more_than_its_bound_per_key():
    calls = []
    cache = TextCache(lambda key, value: calls.append(value) or str(value), per_key=4)

    for value in range(100):
        cache("k", value)
    cache("k", 99)

    assert len(cache._by_content["k"]) <= 4
    assert len(calls) == 100  # 99 was still known


def test_remembered_values_are_found_by_identity_only():
    shared = {"a": [1, 2]}
    cache = TextCache(lambda key, value: dump_yaml({key: value}))
    cache.remember("k", shared)

    assert cache("k", shared) == "k:\n  a:\n  - 1\n  - 2\n"
    assert cache("k", {"a": [3]}) == "k:\n  a:\n  - 3\n"  # equal key, other object: dumped


@pytest.mark.parametrize(
    "text", ["run_000", "configs/run_000.yaml", "/tmp/x/runs/run_0001", "/a/b.c-d_e", "a/b", "_x"]
)
def test_paths_and_ids_take_the_fast_path(text):
    assert writes_plain(text)


def test_whatever_takes_the_fast_path_is_what_the_emitter_writes():
    alphabet = "aZy_/.-0: #'\"\n"
    candidates = AWKWARD + ["".join(p) for n in (1, 2, 3) for p in itertools.product(alphabet, repeat=n)]

    plain = [s for s in candidates if writes_plain(s)]

    assert len(plain) > 100
    for s in plain:
        assert dump_yaml({"k": s}) == f"k: {s}\n", s
        assert dump_yaml([{"k": s}]) == f"- k: {s}\n", s
    assert not any(writes_plain(s) for s in ("yes", "No", "null", "~", "1e-4", "3", ".inf", "/a b/c", "/a:b"))
