#!/usr/bin/env bash
# The one command behind `npm run train:demo` (which first compiles lib/ to dist/): fine-tunes the demo models again
# from the pretrained encoder and replaces their committed deltas (models/<task>/adapter/). Deterministic for a
# given torch build (fixed seeds, 2 threads); about 80 minutes on 2 cores. Users never need it: setup builds
# the demo models from the committed deltas in about a minute (npm run build:demo-models).
#
#   1. node tools/prepare_demo_data.js      data splits as JSONL                -> build/demo-data/
#   2. python tools/finetune_demo.py        LoRA fine-tuning                    -> build/adapters/<task>/
#   3. copy the adapters                                                        -> models/<task>/adapter/
#   4. python tools/build_demo_models.py    merge and export                    -> models/<name>/
#   5. node tools/evaluate_demo.js          held-out figures                    -> models/metrics.json, cards
#
# Environment: PYTHON (default .venv/bin/python), DEMO_TASKS (default sentiment,ner,qa,rerank).
set -euo pipefail

cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-.venv/bin/python}"
DEMO_TASKS="${DEMO_TASKS:-sentiment,ner,qa,rerank}"
# Spinning OpenMP threads collapse under any competition for the 2 cores.
export OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-PASSIVE}"

start=$(date +%s)
stamp() { echo "[train:demo +$(($(date +%s) - start))s] $*"; }

if [ ! -f dist/lib/index.js ]; then
  echo "train_demo.sh: dist/lib is missing; run through 'npm run train:demo' (it compiles lib/ first)" >&2
  exit 1
fi

stamp "1/5 data splits"
node tools/prepare_demo_data.js --out build/demo-data
stamp "2/5 fine-tune ($DEMO_TASKS)"
"$PYTHON" tools/finetune_demo.py --data build/demo-data --out build/adapters --tasks "$DEMO_TASKS"
stamp "3/5 adapters into models/"
IFS=, read -ra tasks <<<"$DEMO_TASKS"
for task in "${tasks[@]}"; do
  rm -rf "models/$task/adapter"
  mkdir -p "models/$task"
  cp -r "build/adapters/$task" "models/$task/adapter"
done
# The repository's Prettier style for the JSON files (whitespace only), so `npm run lint` passes.
if [ -x node_modules/.bin/prettier ]; then node_modules/.bin/prettier --write --log-level warn "models/*/adapter/*.json"; fi
stamp "4/5 build the model directories"
"$PYTHON" tools/build_demo_models.py --only "$DEMO_TASKS,embeddings"
stamp "5/5 evaluate"
node tools/evaluate_demo.js
stamp "done"
