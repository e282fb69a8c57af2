# The two README commands: `make example` and `make test`. Both set up .venv first (once).
PY := .venv/bin/python

.PHONY: setup example test lint bench

setup:
	@bash scripts/setup.sh

example: setup
	$(PY) -m ttwriter experiments/sft/llama_1b/lora_rank_02_01.py

test: setup
	$(PY) -m pytest -q

lint: setup
	$(PY) -m ruff check ttwriter tests
