# The two README commands: `make example` and `make test`. Both set up .venv first (once).
PY := .venv/bin/python

.PHONY: setup example test test-fast lint bench

setup:
	@bash scripts/setup.sh

example: setup
	$(PY) -m ttwriter experiments/sft/llama_1b/lora_rank_02_01.py

# As root, start the one-node SLURM of scripts/slurm_local.sh first (installing it if needed), so
# the cluster tests submit real job arrays; if it cannot start they are skipped with the reason.
test: setup lint
	@if [ "$$(id -u)" = 0 ]; then bash scripts/slurm_local.sh up \
		|| echo "make test: SLURM could not be started; the cluster tests will be skipped" >&2; fi
	$(PY) -m pytest -q

# The tests that need neither real training nor the SLURM cluster (the fast loop).
test-fast: setup
	$(PY) -m pytest -q -m "not training and not cluster"

lint: setup
	$(PY) -m ruff check ttwriter tests bench
	$(PY) -m ruff format --check ttwriter tests bench
	$(PY) -m mypy

# Speed goals of issue 3, measured side by side; then issue 10's submit-to-last-score loop (needs the local SLURM) (a few minutes: `tune validate` imports torch per
# file). Prints the results; `$(PY) bench/run_benchmarks.py --update-doc docs/benchmarks.md`
# also writes them into docs/benchmarks.md.
bench: setup
	$(PY) bench/run_benchmarks.py
	$(PY) bench/eval_loop.py
