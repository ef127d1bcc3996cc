"""Goldens of transformers' AutoTokenizer (the fast tokenizer of models/embeddings' tokenizer.json).

Writes test/reference/goldens/tokenizer.json with, for the items of test/reference/texts.json:
- full: every single text and pair untruncated: ids, token_type_ids, attention_mask, special_tokens_mask,
  tokens, offsets, word_ids, sequence_ids;
- truncation: truncation=True (longest_first at model_max_length), and max_length=16 with longest_first,
  only_first and only_second (pairs), recording transformers' error when a strategy cannot fit the input;
- overflow: return_overflowing_tokens=True with a stride (singles; pairs with only_second and longest_first):
  every window;
- padding: padding=True (to the longest) over a small mixed batch.
Offsets are flat [start0, end0, start1, end1, ...] JS string (UTF-16) indices into the text their sequence_id
names (transformers gives code points).
"""

from __future__ import annotations

from typing import Any

from common import load_texts, metadata, model_dir, utf16_span, write_golden

MODEL = "embeddings"
SHORT_MAX_LENGTH = 16
OVERFLOW = {"max_length": 64, "stride": 16}
PADDING_IDS = ["plain-short", "pair-paraphrase", "emoji", "plain-single-char", "pair-unicode", "url-email"]


def texts_of(item: dict[str, Any]) -> list[str]:
    return [item["text"]] + ([item["text_pair"]] if "text_pair" in item else [])


def describe(encoding: Any, texts: list[str], index: int = 0, *, detail: bool = True) -> dict[str, Any]:
    """One encoding of a BatchEncoding (index: which row), offsets converted to UTF-16."""
    sequence_ids = encoding.sequence_ids(index)
    out: dict[str, Any] = {
        "input_ids": encoding["input_ids"][index],
        "token_type_ids": encoding["token_type_ids"][index],
        "attention_mask": encoding["attention_mask"][index],
    }
    # Flat [start0, end0, start1, end1, ...]: Prettier prints a number array many to a line, pairs one per line.
    out["offsets"] = [
        offset
        for span, sequence in zip(encoding["offset_mapping"][index], sequence_ids)
        for offset in ([0, 0] if sequence is None else utf16_span(texts[sequence], span))
    ]
    if detail:
        out["special_tokens_mask"] = encoding["special_tokens_mask"][index]
        out["tokens"] = encoding.tokens(index)
        out["word_ids"] = encoding.word_ids(index)
        out["sequence_ids"] = sequence_ids
    return out


def encode(tokenizer: Any, item: dict[str, Any], detail: bool = False, **options: Any) -> dict[str, Any]:
    """tokenizer([text], [text_pair]?, **options) as a list of windows, or transformers' error."""
    texts = texts_of(item)
    batch_args = [[t] for t in texts]
    try:
        encoding = tokenizer(
            *batch_args,
            return_offsets_mapping=True,
            return_special_tokens_mask=True,
            verbose=False,
            **options,
        )
    except Exception as error:  # noqa: BLE001 - the golden records that transformers refuses, and why
        return {"error": f"{type(error).__name__}: {error}"}
    return {"windows": [describe(encoding, texts, i, detail=detail) for i in range(len(encoding["input_ids"]))]}


def main() -> None:
    from transformers import AutoTokenizer

    meta = metadata(MODEL, "tokenizer.json")
    tokenizer = AutoTokenizer.from_pretrained(str(model_dir(MODEL)))
    assert tokenizer.is_fast
    items = load_texts()
    by_id = {item["id"]: item for item in items}

    full = [{"id": item["id"], **encode(tokenizer, item, detail=True)} for item in items]

    truncation = []
    for item in items:
        length = len(tokenizer(*texts_of(item), verbose=False)["input_ids"])
        if length > tokenizer.model_max_length:
            options = {"truncation": True}
            truncation.append({"id": item["id"], "options": options, **encode(tokenizer, item, **options)})
        strategies = ["longest_first", "only_first", "only_second"] if "text_pair" in item else ["longest_first"]
        if length > SHORT_MAX_LENGTH:
            for strategy in strategies:
                options = {"truncation": strategy, "max_length": SHORT_MAX_LENGTH}
                truncation.append({"id": item["id"], "options": options, **encode(tokenizer, item, **options)})

    overflow = []
    for item in items:
        length = len(tokenizer(*texts_of(item), verbose=False)["input_ids"])
        if length <= OVERFLOW["max_length"]:
            continue
        strategies = ["longest_first"]
        if "text_pair" in item:
            # With longest_first both texts may be windowed, and the windows are every combination of theirs:
            # kept to pairs where one text fits in half a window, so the golden stays small.
            lengths = [len(tokenizer(t, add_special_tokens=False, verbose=False)["input_ids"]) for t in texts_of(item)]
            strategies = ["only_second"] + (["longest_first"] if min(lengths) <= OVERFLOW["max_length"] // 2 else [])
        for strategy in strategies:
            options = {"truncation": strategy, "return_overflowing_tokens": True, **OVERFLOW}
            overflow.append({"id": item["id"], "options": options, **encode(tokenizer, item, **options)})

    padded_items = [by_id[i] for i in PADDING_IDS]
    singles = [item["text"] for item in padded_items]
    pairs = [item.get("text_pair") for item in padded_items]
    # A batch mixing singles and pairs goes through the tokenizer one row at a time (transformers takes a
    # list of pairs or a list of texts), padded together with tokenizer.pad, as a DataCollator would.
    rows = [tokenizer(text, pair, verbose=False) for text, pair in zip(singles, pairs)]
    padded = tokenizer.pad(rows, padding=True)
    padding = {
        "ids": PADDING_IDS,
        "options": {"padding": True},
        "input_ids": padded["input_ids"],
        "token_type_ids": padded["token_type_ids"],
        "attention_mask": padded["attention_mask"],
    }

    write_golden(
        "tokenizer",
        meta,
        {"full": full, "truncation": truncation, "overflow": overflow, "padding": padding},
        task="tokenizer",
        call="AutoTokenizer.from_pretrained(model)([text], [text_pair]?, return_offsets_mapping=True, return_special_tokens_mask=True, **options)",
        model_max_length=tokenizer.model_max_length,
        offsets="flat [start0, end0, start1, end1, ...], UTF-16 code unit (JS string) indices into the text named by sequence_ids",
    )


if __name__ == "__main__":
    main()
