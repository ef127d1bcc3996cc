"""Goldens of transformers' feature-extraction pipeline on models/embeddings: the token vectors
(last_hidden_state, special tokens included), before any pooling.

Writes test/reference/goldens/feature-extraction.json. For a handful of varied texts (FULL_IDS) every
token's vector is kept, as base64 of little-endian float32 ([tokens, hidden], row-major); for every other
single text of test/reference/texts.json, each token vector's L2 norm and the mean of the token vectors, which
catch a wrong row without committing megabytes. A text longer than max_length is truncated; it is run at both
the tokenizer's model_max_length (512, the pipeline's truncation=True) and sentence-transformers' max_seq_length
(sentence_bert_config.json, 256), since the library truncates an embeddings directory at the latter, and for it
the golden holds the norms, the mean and a few whole rows (first, middle, last).
"""

from __future__ import annotations

import json
from typing import Any

from common import float32_base64, load_texts, metadata, model_dir, write_golden

MODEL = "embeddings"
# Whole matrices for these: plain English, a one-letter text, accents, CJK, emoji, a URL and e-mail,
# odd whitespace, characters the vocabulary lacks.
FULL_IDS = [
    "plain-positive",
    "plain-single-char",
    "accents",
    "cjk-japanese",
    "emoji",
    "url-email",
    "odd-whitespace",
    "unknown-chars",
]
ROWS_OF_LONG = 8


def main() -> None:
    import torch
    from transformers import pipeline

    torch.set_num_threads(2)
    meta = metadata(MODEL)
    directory = model_dir(MODEL)
    extract = pipeline("feature-extraction", model=str(directory), device=-1)
    model_max_length = extract.tokenizer.model_max_length
    with (directory / "sentence_bert_config.json").open() as f:
        max_seq_length = json.load(f)["max_seq_length"]
    items = load_texts(pairs=False)
    missing = set(FULL_IDS) - {item["id"] for item in items}
    if missing:
        raise SystemExit(f"FULL_IDS names texts that test/reference/texts.json lacks: {sorted(missing)}")
    cases = []
    for item in items:
        text = item["text"]
        length = len(extract.tokenizer(text, verbose=False)["input_ids"])
        limits = [model_max_length] if length <= max_seq_length else [model_max_length, max_seq_length]
        for max_length in limits:
            tokenize_kwargs = {"truncation": True, "max_length": max_length}
            # [1, tokens, hidden]: the pipeline's own tensor, before its float-to-list conversion.
            vectors = extract(text, tokenize_kwargs=tokenize_kwargs, return_tensors=True)[0].double()
            case: dict[str, Any] = {
                "id": item["id"],
                "max_length": max_length,
                "dims": list(vectors.shape),
                "norms": float32_base64(vectors.norm(dim=-1)),
                "mean": float32_base64(vectors.mean(dim=0)),
            }
            if item["id"] in FULL_IDS:
                case["rows"] = list(range(vectors.shape[0]))
            elif length > max_seq_length:
                count = vectors.shape[0]
                middle = count // 2 - ROWS_OF_LONG // 2
                case["rows"] = sorted(
                    set(range(ROWS_OF_LONG))
                    | set(range(middle, middle + ROWS_OF_LONG))
                    | set(range(count - ROWS_OF_LONG, count))
                )
            if "rows" in case:
                case["vectors"] = float32_base64(vectors[case["rows"]])
            cases.append(case)
    write_golden(
        "feature-extraction",
        meta,
        cases,
        task="feature-extraction",
        call="pipeline('feature-extraction', model)(text, tokenize_kwargs={'truncation': True, 'max_length': max_length}, return_tensors=True)",
        encoding="norms, mean and vectors are base64 of little-endian float32; vectors holds the listed rows, row-major",
        max_seq_length=max_seq_length,
        model_max_length=model_max_length,
    )


if __name__ == "__main__":
    main()
