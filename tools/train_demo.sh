#!/usr/bin/env bash
# The one command behind `npm run train:demo` (which first compiles lib/ to dist/): rebuilds every demo model in
# models/ from the data in tools/data/, deterministically (fixed seeds, 2 threads).
#
#   1. node tools/prepare_demo_data.js    splits, demo vocabulary, tokenized JSONL   -> build/demo-data/
#   2. python tools/train_demo.py         trains sentiment, ner, qa from scratch     -> build/demo-checkpoints/
#   3. python tools/export.py             TorchScript model folders                  -> models/<name>/
#   4. node tools/evaluate_demo.js        held-out metrics through the pipelines     -> models/metrics.json, cards
#
# Environment: PYTHON (default the project venv's .venv/bin/python, torch 2.13), DEMO_TASKS (default sentiment,ner,qa; the
# models of tasks left out are neither retrained nor re-exported).
set -euo pipefail

cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-.venv/bin/python}"
DEMO_TASKS="${DEMO_TASKS:-sentiment,ner,qa}"
DATA=build/demo-data
CHECKPOINTS=build/demo-checkpoints
MAX_LENGTH=256
# Spinning OpenMP threads collapse under any competition for the 2 cores (see tools/train_demo.py).
export OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-PASSIVE}"

start=$(date +%s)
stamp() { echo "[train:demo +$(($(date +%s) - start))s] $*"; }

if [ ! -f dist/lib/index.js ]; then
  echo "train_demo.sh: dist/lib is missing; run through 'npm run train:demo' (it compiles lib/ first)" >&2
  exit 1
fi
if ! "$PYTHON" -c 'import torch' 2>/dev/null; then
  echo "train_demo.sh: $PYTHON cannot import torch (run tools/setup.sh, which makes the project venv; or set PYTHON)" >&2
  exit 1
fi

stamp "1/4 prepare data"
node tools/prepare_demo_data.js --out "$DATA"

stamp "2/4 train ($DEMO_TASKS)"
"$PYTHON" tools/train_demo.py --data "$DATA" --out "$CHECKPOINTS" --tasks "$DEMO_TASKS"

if [ ! -f tools/export.py ]; then
  echo "train_demo.sh: tools/export.py is missing: cannot export the checkpoints in $CHECKPOINTS" >&2
  exit 1
fi
stamp "3/4 export"
export_model() { # name task
  # Eager attention: the demo models ship with the package and must load on libtorch 1.13 as well as 2.x.
  "$PYTHON" tools/export.py "$CHECKPOINTS/$1" "models/$1" --task "$2" --max-length "$MAX_LENGTH" --attention eager --force
  chmod 755 "models/$1" # the exporter's staging directory is private (mkdtemp); the models are for everyone
  # The repository's Prettier style for the JSON files (whitespace only), so `npm run lint` passes.
  if [ -x node_modules/.bin/prettier ]; then
    node_modules/.bin/prettier --write --log-level warn "models/$1/config.json" "models/$1/torch-encoders.json"
  fi
}
mkdir -p models
wanted() { [[ ",$DEMO_TASKS," == *",$1,"* ]]; }
if wanted sentiment; then
  export_model sentiment sequence-classification
  export_model embeddings base
fi
if wanted ner; then export_model ner token-classification; fi
if wanted qa; then export_model qa question-answering; fi

stamp "4/4 evaluate held-out data and write the model cards"
node tools/evaluate_demo.js --cards "$CHECKPOINTS/training.json" --data "$DATA"

stamp "summary"
node -e '
const m = require("./models/metrics.json");
const t = require("./'"$CHECKPOINTS"'/training.json");
const s = (n) => (t[n] && t[n].seconds !== undefined ? `${Math.round(t[n].seconds)} s` : "-");
console.log(`  sentiment   accuracy ${m.metrics.sentiment.accuracy} on ${m.metrics.sentiment.total} held-out sentences (train ${s("sentiment")})`);
console.log(`  ner         entity F1 ${m.metrics.ner.f1} (P ${m.metrics.ner.precision}, R ${m.metrics.ner.recall}) on WNUT-17 test (train ${s("ner")})`);
console.log(`  qa          EM ${m.metrics.qa.exactMatch} / F1 ${m.metrics.qa.f1} on ${m.metrics.qa.questions} held-out SQuAD questions (train ${s("qa")})`);
console.log(`  embeddings  1-NN sentiment probe ${m.metrics.embeddings.sentimentNearestNeighbourAccuracy}`);
const total = Object.values(m.folderBytes).reduce((a, b) => a + b, 0);
for (const [n, b] of Object.entries(m.folderBytes)) console.log(`  models/${n.padEnd(11)} ${(b / 1e6).toFixed(2)} MB`);
console.log(`  model folders total ${(total / 1e6).toFixed(2)} MB (budget 25 MB)`);
'
echo "  models/ on disk: $(du -sb models | cut -f1) bytes"
stamp "done"
