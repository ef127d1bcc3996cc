"""Goldens of transformers' text-classification pipeline on models/sentiment.

Writes test/reference/goldens/text-classification.json: for every item of test/reference/texts.json
(single texts and {text, text_pair} pairs, with truncation=True so the texts longer than 512 tokens are
cut as the library cuts them), the pipeline's result for each function_to_apply (softmax, sigmoid, none)
and each top_k (1, 2, None = all labels), plus the call without either (the model's default).
"""

from __future__ import annotations

from typing import Any

from common import load_texts, metadata, model_dir, to_builtin, write_golden

MODEL = "sentiment"
FUNCTIONS = ["softmax", "sigmoid", "none"]
TOP_KS: list[int | None] = [1, 2, None]


def label_scores(result: Any) -> list[dict[str, Any]]:
    """The pipeline returns a dict, a list of dicts or a list holding one list, depending on top_k and
    whether a pair was given; the goldens hold the one list of {label, score}, best first."""
    if isinstance(result, dict):
        result = [result]
    if len(result) == 1 and isinstance(result[0], list):
        result = result[0]
    return [{"label": r["label"], "score": float(r["score"])} for r in to_builtin(result)]


def main() -> None:
    import torch
    from transformers import pipeline

    torch.set_num_threads(2)
    meta = metadata(MODEL)
    classify = pipeline("text-classification", model=str(model_dir(MODEL)), device=-1)
    cases = []
    for item in load_texts():
        inputs: Any = item["text"]
        if "text_pair" in item:
            inputs = {"text": item["text"], "text_pair": item["text_pair"]}
        results = []
        # The default call, whole: top_k left out (HF's legacy top label) and the model's own function.
        results.append({"options": {}, "result": label_scores(classify(inputs, truncation=True))})
        # One forward per input, then the pipeline's own parameter handling and postprocess for each option
        # set: what pipeline.__call__ does, without repeating the same forward nine times.
        outputs = classify.forward(classify.preprocess(inputs, truncation=True))
        for function in FUNCTIONS:
            for top_k in TOP_KS:
                _, _, postprocess = classify._sanitize_parameters(top_k=top_k, function_to_apply=function)
                result = classify.postprocess(outputs, **postprocess)
                options = {"function_to_apply": function, "top_k": top_k}
                results.append({"options": options, "result": label_scores(result)})
        cases.append({"id": item["id"], "results": results})
    write_golden(
        "text-classification",
        meta,
        cases,
        task="text-classification",
        call="pipeline('text-classification', model)(text | {text, text_pair}, top_k=..., function_to_apply=..., truncation=True)",
    )


if __name__ == "__main__":
    main()
