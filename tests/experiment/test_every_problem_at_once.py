"""One experiment.yaml with mistakes in the schema, a derived expression, the evaluation's tasks
and checkpoints and the tracking backend: every one reported by the first attempt, at its line
(README: "every problem at once")."""

from __future__ import annotations

import shutil

import pytest

from tests.conftest import TINY_BASE, TINY_FAMILY
from ttwriter import ConfigWriterError, generate_configs
from ttwriter.errors import each_problem

FIVE_MISTAKES = """\
experiment:
  name: five_mistakes
framework_config:
  base_config_file: tiny_lora.yaml
variables:
  lora_rank: [4, 8]
controls:
  epochs: 1
derived:
  lora_alpha: "2 * lora_rnk"
evaluation:
  harness: inspect
  tasks: [eval/letters.py@leters]
  limt: 10
  checkpoints: [0, 3]
tracking:
  backend: mlfow
"""


def test_every_mistake_of_an_experiment_yaml_is_reported_at_once_at_its_line(tmp_path):
    pytest.importorskip("inspect_ai")
    shutil.copy(TINY_BASE, tmp_path / "tiny_lora.yaml")
    shutil.copytree(TINY_FAMILY / "eval", tmp_path / "eval")
    source = tmp_path / "experiment.yaml"
    source.write_text(FIVE_MISTAKES, encoding="utf-8")

    with pytest.raises(ConfigWriterError) as raised:
        generate_configs(source, tmp_path / "out", dry_run=True)

    found = sorted((str(p.line), p.key) for p in each_problem(raised.value))
    assert {p.file for p in each_problem(raised.value)} == {str(source)}
    assert found == sorted(
        [
            ("10", "derived.lora_alpha"),  # the unknown param lora_rnk
            ("13", "evaluation.tasks"),  # no @task 'leters'
            ("14", "evaluation.limt"),  # unknown field
            ("15", "evaluation.checkpoints"),  # epoch 3 of 1
            ("17", "tracking.backend"),  # mlfow
        ]
    )
    assert not (tmp_path / "out").exists()
