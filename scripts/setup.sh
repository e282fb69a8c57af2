#!/usr/bin/env bash
# Create .venv with ttwriter and everything it needs; fast no-op when already done.
# torch is pinned to the CPU build 2.13.0 and installed first, so that nothing later pulls a
# multi-GB CUDA build; torchao is kept in the range that imports with it (0.13-0.15).
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
PY=${PYTHON:-python3}
stamp="$VENV/.ttwriter-installed"
want="$(cat pyproject.toml scripts/setup.sh | sha256sum | cut -d' ' -f1)"
if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
  exit 0
fi
echo "setup: creating $VENV (torch 2.13.0 CPU, torchtune 0.6.1, ttwriter, eval harnesses, trackers); takes a few minutes once" >&2
[[ -x "$VENV/bin/python" ]] || "$PY" -m venv "$VENV"
"$VENV/bin/python" -m pip install -q --upgrade pip >/dev/null 2>&1 || true
"$VENV/bin/python" -m pip install -q "torch==2.13.0" 2>&1 | grep -v "^WARNING: Location" || true
"$VENV/bin/python" -c "import torch" || { echo "setup: torch 2.13.0 failed to install" >&2; exit 1; }
"$VENV/bin/python" -m pip install -q -e ".[dev,eval,tracking]" 2>&1 | grep -v "^WARNING: Location" || true
"$VENV/bin/python" -c "import ttwriter, torchtune, tyro, yaml, pytest, inspect_ai, lm_eval, wandb, mlflow, tensorboard" || { echo "setup: install failed" >&2; exit 1; }
echo "$want" > "$stamp"
echo "setup: done" >&2
