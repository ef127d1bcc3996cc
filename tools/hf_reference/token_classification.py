"""Goldens of transformers' token-classification pipeline on models/ner.

Writes test/reference/goldens/token-classification.json: for every single text of
test/reference/texts.json, the pipeline's entities under each aggregation_strategy (none, simple, first,
average, max) with the default ignore_labels (["O"]), and for the entity-rich and the long texts also with
ignore_labels=[] (the "O" tokens and groups kept).

Texts longer than the model's 512 tokens run in overlapping windows with stride=128 (a quarter of 512, the
library's default stride), as pipeline(..., stride=128) does for simple / first / average / max. transformers
refuses a stride with "none"; for one of those texts (NONE_WINDOW_IDS) the golden holds each window's "none"
result instead (`none_windows`), from the pipeline's own preprocess and postprocess, so a test can check
the library's documented merge of overlapping tokens against them.

Each text is run through the model once (preprocess, forward) and postprocessed once per option set with the
pipeline's own postprocess: what pipeline.__call__ does, without repeating identical forwards.
start/end are JS string (UTF-16) indices: transformers gives Python code-point indices.
"""

from __future__ import annotations

from typing import Any

from common import load_texts, metadata, model_dir, to_builtin, utf16_index, write_golden

MODEL = "ner"
STRATEGIES = ["none", "simple", "first", "average", "max"]
STRIDE = 128
# The per-window "none" results are every token of every window: kept for one long text (two windows), which
# is enough to check the library's merge of overlapping tokens, so the golden stays small.
NONE_WINDOW_IDS = {"long-sentiment-at-end"}


def plain(text: str, entity: dict[str, Any]) -> dict[str, Any]:
    out = to_builtin(dict(entity))
    out["score"] = float(out["score"])
    out["start"] = utf16_index(text, out["start"])
    out["end"] = utf16_index(text, out["end"])
    return out


def main() -> None:
    import torch
    from transformers import pipeline

    torch.set_num_threads(2)
    meta = metadata(MODEL)
    ner = pipeline("token-classification", model=str(model_dir(MODEL)), device=-1)
    max_length = ner.tokenizer.model_max_length
    cases = []
    for item in load_texts(pairs=False):
        text = item["text"]
        # The whole text, untruncated: does it fit in one window?
        length = len(ner.tokenizer(text, verbose=False)["input_ids"])
        windowed = length > max_length
        stride_options = {"stride": STRIDE} if windowed else {}
        ignore_sets: list[list[str] | None] = [None] + ([[]] if {"ner", "long"} & set(item["tags"]) else [])
        case: dict[str, Any] = {"id": item["id"], "tokens": length, "windowed": windowed, "results": []}
        for strategy in STRATEGIES:
            if strategy == "none" and windowed:
                continue
            preprocess, _, _ = ner._sanitize_parameters(aggregation_strategy=strategy, **stride_options)
            outputs = [ner.forward(chunk) for chunk in ner.preprocess(text, **preprocess)]
            assert (len(outputs) > 1) == windowed, (item["id"], len(outputs))
            for ignore in ignore_sets:
                _, _, postprocess = ner._sanitize_parameters(aggregation_strategy=strategy, ignore_labels=ignore)
                entities = ner.postprocess(outputs, **postprocess)
                options = {"aggregation_strategy": strategy, "ignore_labels": ignore}
                if windowed:
                    options["stride"] = STRIDE
                case["results"].append({"options": options, "entities": [plain(text, e) for e in entities]})
        if windowed and item["id"] in NONE_WINDOW_IDS:
            # Each window's "none" result on its own, every label kept (the merge decides before filtering).
            preprocess, _, _ = ner._sanitize_parameters(aggregation_strategy="simple", stride=STRIDE)
            _, _, postprocess = ner._sanitize_parameters(aggregation_strategy="none", ignore_labels=[])
            windows = []
            for chunk in ner.preprocess(text, **preprocess):
                output = ner.forward(chunk)
                # postprocess reads the text from its first output only; later chunks carry None.
                output["sentence"] = text
                windows.append([plain(text, e) for e in ner.postprocess([output], **postprocess)])
            case["none_windows"] = {"stride": STRIDE, "windows": windows}
        cases.append(case)
    write_golden(
        "token-classification",
        meta,
        cases,
        task="token-classification",
        call="pipeline('token-classification', model)(text, aggregation_strategy=..., ignore_labels=..., stride=128 when longer than 512 tokens)",
        offsets="start/end are UTF-16 code unit (JS string) indices",
    )


if __name__ == "__main__":
    main()
