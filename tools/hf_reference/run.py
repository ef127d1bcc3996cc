"""Regenerates the Hugging Face reference goldens (test/reference/goldens/*.json): every job script of this
folder, or the ones named.

    .venv/bin/python tools/hf_reference/run.py                    # all (npm run goldens:hf)
    .venv/bin/python tools/hf_reference/run.py tokenizer classification

A job is a module here with a main() (classification, token_classification, feature_extraction, tokenizer,
question_answering, ...). Each writes its golden with the sha256 of the model file it ran, so the tests
notice when the demo models are rebuilt (tools/build_demo_models.py) and ask for this command.
"""

from __future__ import annotations

import importlib
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
NOT_JOBS = {"common", "run"}


def jobs() -> list[str]:
    return sorted(p.stem for p in HERE.glob("*.py") if p.stem not in NOT_JOBS and not p.stem.startswith("_"))


def main(argv: list[str]) -> None:
    sys.path.insert(0, str(HERE))
    available = jobs()
    chosen = argv or available
    unknown = [name for name in chosen if name not in available]
    if unknown:
        sys.exit(f"unknown job(s) {', '.join(unknown)}; the jobs are {', '.join(available)}")
    for name in chosen:
        module = importlib.import_module(name)
        if not callable(getattr(module, "main", None)):
            continue
        started = time.monotonic()
        print(f"{name} ...", file=sys.stderr, flush=True)
        module.main()
        print(f"{name}: {time.monotonic() - started:.0f} s", file=sys.stderr, flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
