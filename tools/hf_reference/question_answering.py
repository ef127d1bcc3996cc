"""Goldens of transformers' question-answering pipeline on models/qa.

Writes test/reference/goldens/question-answering.json: the results of
pipeline('question-answering', model='models/qa', tokenizer='models/qa') for groups of questions asked in one
call each (question=[...], context=[...]), over short contexts, contexts with accents, CJK, emoji and odd
whitespace (test/reference/texts.json), and long contexts of several windows built from held-out SQuAD v1.1
articles (tools/data/squad-v1.1, articles 40-47, never used to train models/qa), under the options
top_k, doc_stride, max_seq_len, max_answer_len, handle_impossible_answer and align_to_words. Every case
records the options exactly as they were passed (an absent option is the pipeline's default) and the
defaults the pipeline resolved them to.

Offsets are stored as JS (UTF-16) indices into the context, as in every golden here (common.utf16_span);
the pipeline's own are code point indices. Results are stored as the pipeline returns them, whatever they
are (including its zero-score filler answers), so the test, not this script, states where the library
deliberately differs.

The one case this script changes the input of: the pipeline's fast-tokenizer path ignores max_question_len
(it is used only by the slow-tokenizer path). Cases with "question_cut" hold, besides the pipeline's results
on the whole question, its results on the question cut to max_question_len tokens as the library cuts it (at
the end of the last kept token), which is what the library's maxQuestionLen is checked against.

Run: .venv/bin/python tools/hf_reference/question_answering.py   (about 2 minutes of CPU)
"""

from __future__ import annotations

import gzip
import sys
from typing import Any

from common import ROOT, load_texts, metadata, to_builtin, utf16_span, write_golden

MODEL = "qa"
SQUAD = ROOT / "tools" / "data" / "squad-v1.1" / "dev-v1.1.json.gz"
# models/qa trains on SQuAD dev articles 0-39 (tools/prepare_demo_data.js); 40-47 are held out.
HELD_OUT_ARTICLES = range(40, 48)

SHORT = [
    {
        "question": "Who designed the Eiffel Tower?",
        "context": "The Eiffel Tower is a wrought-iron lattice tower on the Champ de Mars in Paris, France. It is named "
        "after the engineer Gustave Eiffel, whose company designed and built the tower from 1887 to 1889.",
    },
    {"question": "When was the tower built?", "context": "The tower was designed by Gustave Eiffel and built in 1887."},
    {"question": "Where?", "context": "In Paris."},
    {
        "question": "What do hyperparameters control?",
        "context": "Hyperparameterization is unbelievably uncomfortable: hyperparameters control the learning "
        "rate, the batch size and the number of epochs.",
    },
]

# Questions for the shared texts of test/reference/texts.json, by item id: contexts with accents, CJK, emoji,
# unusual whitespace and characters the vocabulary lacks.
UNICODE_QUESTIONS = {
    "accents": "Where did we have a café au lait?",
    "accents-uppercase": "Which school is named?",
    "cjk-japanese": "東京タワーはどこにありますか?",
    "cjk-korean": "무엇이 재미있습니까?",
    "cjk-mixed": "Which cities did I visit last year?",
    "emoji": "How would you rate it?",
    "emoji-only": "What is the flag?",
    "odd-whitespace": "What is inside?",
    "nbsp-zero-width": "What kind of space?",
    "unknown-chars": "Which glyphs are ancient?",
    "literal-special-tokens": "Which tokens are written in plain text?",
    "numbers": "How much did the order cost?",
    "url-email": "Which address should I contact?",
    "punctuation": "What is in brackets?",
    "ner-hyphen-apostrophe": "Where did the ship go?",
}

# A question far longer than max_question_len tokens: the pipeline keeps it whole, the library cuts it.
LONG_QUESTION = (
    "Considering everything that the paragraph says about the engineers, the companies, the materials, the "
    "places, the dates and the people involved in the whole story, and ignoring any other detail that might "
    "distract a careful reader from the main point of the text, such as the weather on the day of the opening, "
    "the colour of the paint or the number of visitors who came in the first year, who designed the tower?"
)


def squad_context(article: int, paragraphs: range, separator: str) -> tuple[str, list[dict[str, Any]]]:
    """Paragraphs of a held-out SQuAD article joined into one context, and their questions with the gold
    answer's start moved to the joined context."""
    import json

    assert article in HELD_OUT_ARTICLES, f"article {article} is not held out from models/qa's training"
    with gzip.open(SQUAD, "rt", encoding="utf-8") as f:
        data = json.load(f)["data"]
    parts: list[str] = []
    questions = []
    offset = 0
    for p in paragraphs:
        paragraph = data[article]["paragraphs"][p]
        for qa in paragraph["qas"]:
            answer = qa["answers"][0]
            questions.append(
                {
                    "paragraph": p,
                    "question": qa["question"].strip(),
                    "gold": answer["text"],
                    "gold_start": offset + answer["answer_start"],
                }
            )
        parts.append(paragraph["context"])
        offset += len(paragraph["context"]) + len(separator)
    return separator.join(parts), questions


def windows_holding(
    tokenizer: Any, question: str, context: str, start: int, end: int, max_seq_len: int, stride: int
) -> list[int]:
    """The windows (as the pipeline cuts them) that hold the whole character span [start, end) of the context."""
    encoded = tokenizer(
        question,
        context,
        truncation="only_second",
        max_length=max_seq_len,
        stride=stride,
        return_overflowing_tokens=True,
        return_offsets_mapping=True,
    )
    held = []
    for w in range(len(encoded["input_ids"])):
        sequence_ids = encoded.sequence_ids(w)
        spans = [o for o, s in zip(encoded["offset_mapping"][w], sequence_ids) if s == 1]
        if spans and spans[0][0] <= start and end <= spans[-1][1]:
            held.append(w)
    return held


def cut_question(tokenizer: Any, question: str, max_tokens: int) -> str:
    """The question cut after its first max_tokens tokens, at the end of the last kept token (the library's
    maxQuestionLen)."""
    encoded = tokenizer(question, add_special_tokens=False, return_offsets_mapping=True)
    offsets = encoded["offset_mapping"]
    return question if len(offsets) <= max_tokens else question[: offsets[max_tokens - 1][1]]


def answers_of(result: Any, contexts: list[str]) -> list[list[dict[str, Any]]]:
    """The pipeline returns a dict for one input with one answer, a list for several answers, and a list of
    those for several inputs; the goldens hold one list of answers per input, offsets as UTF-16 indices."""
    if len(contexts) == 1 or isinstance(result, dict):
        result = [result]
    out = []
    for answers, context in zip(result, contexts):
        if isinstance(answers, dict):
            answers = [answers]
        rows = []
        for a in to_builtin(answers):
            start, end = utf16_span(context, [a["start"], a["end"]])
            rows.append({"answer": a["answer"], "score": float(a["score"]), "start": start, "end": end})
        out.append(rows)
    return out


def main() -> None:
    import torch
    from transformers import pipeline

    torch.set_num_threads(2)
    meta = metadata(MODEL)
    qa = pipeline("question-answering", model=meta["model"], tokenizer=meta["model"], device=-1)
    tokenizer = qa.tokenizer
    default_max_seq_len = min(tokenizer.model_max_length, 384)

    def resolved(options: dict[str, Any]) -> dict[str, Any]:
        """The options after the pipeline's defaults (QuestionAnsweringPipeline.preprocess and postprocess)."""
        max_seq_len = options.get("max_seq_len", default_max_seq_len)
        return {
            "top_k": options.get("top_k", 1),
            "max_seq_len": max_seq_len,
            "doc_stride": options.get("doc_stride", min(max_seq_len // 2, 128)),
            "max_answer_len": options.get("max_answer_len", 15),
            "max_question_len": options.get("max_question_len", 64),
            "handle_impossible_answer": options.get("handle_impossible_answer", False),
            "align_to_words": options.get("align_to_words", True),
        }

    cases: list[dict[str, Any]] = []

    def run(inputs: list[dict[str, str]], options: dict[str, Any]) -> list[list[dict[str, Any]]]:
        # question= and context= lists: several questions in one call (one of each answers as one dict would).
        result = qa(question=[i["question"] for i in inputs], context=[i["context"] for i in inputs], **options)
        return answers_of(result, [i["context"] for i in inputs])

    def add(
        case_id: str, description: str, inputs: list[dict[str, Any]], options: dict[str, Any], **extra: Any
    ) -> None:
        print(f"{case_id} ({len(inputs)} inputs)", file=sys.stderr, flush=True)
        cases.append(
            {
                "id": case_id,
                "description": description,
                "options": options,
                "resolved_options": resolved(options),
                "inputs": [{"question": i["question"], "context": i["context"]} for i in inputs],
                **extra,
                "results": run(inputs, options),
            }
        )

    # Short contexts (one window each), several questions per call.
    add("short-defaults", "short contexts, the pipeline's defaults", SHORT, {})
    add("short-top_k-1", "top_k 1 given explicitly", SHORT, {"top_k": 1})
    add("short-top_k-5", "five answers per question", SHORT, {"top_k": 5})
    add("short-top_k-20", "more answers than some contexts have valid spans", SHORT, {"top_k": 20})
    add("short-impossible", "handle_impossible_answer with one answer", SHORT, {"handle_impossible_answer": True})
    add(
        "short-impossible-top_k-4",
        "handle_impossible_answer among four answers",
        SHORT,
        {"handle_impossible_answer": True, "top_k": 4},
    )
    add(
        "short-possible-explicit",
        "handle_impossible_answer false given explicitly",
        SHORT,
        {"handle_impossible_answer": False, "top_k": 3},
    )
    add("short-max_answer_len-1", "one-token answers", SHORT, {"max_answer_len": 1, "top_k": 5})
    add("short-max_answer_len-3", "answers of at most three tokens", SHORT, {"max_answer_len": 3, "top_k": 5})
    add("short-max_answer_len-40", "answers of up to forty tokens", SHORT, {"max_answer_len": 40, "top_k": 3})
    add(
        "short-align_to_words-false", "raw token spans, not widened to words", SHORT, {"align_to_words": False, "top_k": 5}
    )
    add("short-single", "one question in a call of its own", SHORT[:1], {"top_k": 2})

    # Accents, CJK, emoji, odd whitespace: offsets must land on the same characters.
    texts = {item["id"]: item["text"] for item in load_texts()}
    unicode_inputs = [{"question": q, "context": texts[i], "text_id": i} for i, q in UNICODE_QUESTIONS.items()]
    add("unicode-defaults", "contexts with accents, CJK, emoji and odd whitespace", unicode_inputs, {})
    add("unicode-top_k-5", "five answers per question", unicode_inputs, {"top_k": 5})
    add("unicode-align_to_words-false", "raw token spans", unicode_inputs, {"align_to_words": False, "top_k": 3})
    add(
        "unicode-impossible", "handle_impossible_answer", unicode_inputs, {"handle_impossible_answer": True, "top_k": 2}
    )
    # One context longer than the model's 512 tokens, with CJK and emoji.
    long_words = [{"question": "Where was the delivery?", "context": texts["long-words"]}]
    add(
        "unicode-long-windows",
        "a context of 876 tokens with CJK and emoji, 128-token windows",
        long_words,
        {"max_seq_len": 128, "doc_stride": 48, "top_k": 3},
    )
    add("unicode-long-defaults", "a context of 876 tokens with CJK and emoji, default windows", long_words, {})

    # Long contexts from held-out SQuAD articles: several windows, answers in later windows. Kept to about
    # 850 and 460 tokens (3 and 2 windows of 384) so that the test stays fast.
    rhine, rhine_questions = squad_context(41, range(0, 5), "\n\n")
    war, war_questions = squad_context(46, range(0, 3), " ")
    wanted = {
        "Where does the Rhine begin?",
        "Near Chur, which direction does the Rhine turn?",
        "The Rhine forms an inland delta into which lake?",
    }
    # SQuAD asks some questions twice: the first of each.
    firsts = {q["question"]: q for q in reversed(rhine_questions)}
    picked = [(rhine, q) for q in rhine_questions if q["question"] in wanted and firsts[q["question"]] is q]
    picked.append((war, [q for q in war_questions if q["paragraph"] == 2][0]))
    assert len(picked) == 4, [q["question"] for _, q in picked]
    long_inputs = []
    for context, q in picked:
        start = q["gold_start"]
        end = start + len(q["gold"])
        assert context[start:end] == q["gold"], q
        long_inputs.append(
            {
                "question": q["question"],
                "context": context,
                "squad_gold": {"answer": q["gold"], "start": utf16_span(context, [start])[0]},
                "gold_windows_384_128": windows_holding(tokenizer, q["question"], context, start, end, 384, 128),
                "gold_windows_128_32": windows_holding(tokenizer, q["question"], context, start, end, 128, 32),
            }
        )
    later = [i for i in long_inputs if i["gold_windows_384_128"] and min(i["gold_windows_384_128"]) >= 1]
    assert len(later) >= 2, "at least two long-context questions must have their answer beyond the first window"
    # The window shapes are checked on two of them (a Rhine question answered in a later window, and the war).
    two_long = long_inputs[-2:]

    add(
        "squad-long-defaults",
        "held-out SQuAD articles (Rhine, French and Indian War) joined into contexts of several 384-token windows",
        long_inputs,
        {},
        squad=[
            {
                "gold": i["squad_gold"],
                "gold_windows": {"384/128": i["gold_windows_384_128"], "128/32": i["gold_windows_128_32"]},
            }
            for i in long_inputs
        ],
    )
    add(
        "squad-long-top_k-5-impossible",
        "five answers with the null answer, default windows",
        two_long,
        {"top_k": 5, "handle_impossible_answer": True},
    )
    add(
        "squad-long-max_seq_len-128-doc_stride-32",
        "small windows, small stride",
        two_long,
        {"max_seq_len": 128, "doc_stride": 32, "top_k": 3},
    )
    add(
        "squad-long-max_seq_len-192-doc_stride-64-impossible",
        "192-token windows, null answer, answers up to 30 tokens",
        two_long,
        {"max_seq_len": 192, "doc_stride": 64, "handle_impossible_answer": True, "max_answer_len": 30, "top_k": 2},
    )
    add(
        "squad-long-max_seq_len-256",
        "max_seq_len alone: the default doc_stride follows it (min(256 // 2, 128))",
        two_long,
        {"max_seq_len": 256},
    )
    add(
        "squad-long-max_seq_len-100", "max_seq_len alone: default doc_stride 50", two_long, {"max_seq_len": 100, "top_k": 2}
    )
    add(
        "squad-long-doc_stride-0", "windows that share no tokens", two_long, {"max_seq_len": 128, "doc_stride": 0, "top_k": 2}
    )
    add(
        "squad-long-doc_stride-200-max_answer_len-5-align-false",
        "a stride larger than the default; short raw spans over several windows",
        two_long,
        {"doc_stride": 200, "max_answer_len": 5, "align_to_words": False, "top_k": 3},
    )

    # max_question_len: the pipeline ignores it (fast tokenizer); the library cuts the question. The golden
    # keeps both the pipeline's answers to the whole question and to the question as the library cuts it.
    short_context = SHORT[0]["context"]
    for max_question_len, options in ((16, {"max_question_len": 16, "top_k": 3}), (64, {"top_k": 3})):
        whole = [{"question": LONG_QUESTION, "context": short_context}, {"question": LONG_QUESTION, "context": war}]
        cut = [{"question": cut_question(tokenizer, i["question"], max_question_len), "context": i["context"]} for i in whole]
        assert all(c["question"] != w["question"] for c, w in zip(cut, whole))
        add(
            f"question-cut-{max_question_len}",
            f"a question longer than max_question_len ({max_question_len} tokens)",
            whole,
            options,
            question_cut={"questions": [c["question"] for c in cut], "results": run(cut, options)},
        )

    write_golden(
        "question-answering",
        meta,
        cases,
        task="question-answering",
        call="pipeline('question-answering', model='models/qa', tokenizer='models/qa')"
        "(question=[...], context=[...], **options)",
        notes=[
            "start/end are UTF-16 (JS string) indices into the context; the pipeline returns code point indices",
            "options is exactly what was passed; resolved_options adds the pipeline's defaults",
            "results hold the pipeline's answers as returned, including zero-score filler answers",
            "question_cut: the pipeline's answers for the questions cut to max_question_len tokens",
        ],
    )


if __name__ == "__main__":
    main()
