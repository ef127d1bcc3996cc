"""Shared pieces of the Hugging Face reference goldens (tools/hf_reference/*.py).

The goldens under test/reference/goldens/ come from transformers' own pipeline() and AutoTokenizer run on
the demo model directories, never from torch-encoders, so the Jest tests in test/reference/hf-*.test.ts
compare the library against an independent implementation. Every golden records the transformers version
and the sha256 of the file it was computed from (the build record demo-build.json, or tokenizer.json for the
tokenizer), so a test can tell a stale golden from a wrong library and name the command that regenerates it.

Import from a job script in this folder (run as a file, so this folder is on sys.path):

    from common import GOLDENS, load_texts, metadata, write_golden
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any, Iterable

# The demo models are local directories: nothing may reach for the hub, and the logs stay quiet.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

ROOT = Path(__file__).resolve().parents[2]
MODELS = ROOT / "models"
TEXTS = ROOT / "test" / "reference" / "texts.json"
GOLDENS = ROOT / "test" / "reference" / "goldens"

# The npm script that reruns every job; each golden names it so a stale-golden failure says what to run.
REGENERATE_COMMAND = "npm run goldens:hf"

# The transformers the goldens are defined against (the project venv's); another version may post-process
# differently, so a run under one is refused rather than silently producing different references.
EXPECTED_TRANSFORMERS = "4.57.6"


def load_texts(tags: Iterable[str] | None = None, *, pairs: bool | None = None) -> list[dict[str, Any]]:
    """The shared items of test/reference/texts.json: {id, text, text_pair?, tags}.

    tags keeps the items carrying at least one of them; pairs=True keeps only items with a text_pair,
    pairs=False only those without, None both.
    """
    with TEXTS.open(encoding="utf-8") as f:
        items: list[dict[str, Any]] = json.load(f)["items"]
    if tags is not None:
        wanted = set(tags)
        items = [item for item in items if wanted & set(item["tags"])]
    if pairs is not None:
        items = [item for item in items if ("text_pair" in item) == pairs]
    return items


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def model_dir(name: str) -> Path:
    """models/<name>, refusing one that is not built (the demo models are built by tools/build_demo_models.py)."""
    path = MODELS / name
    if not (path / "config.json").is_file():
        sys.exit(f"{path} is not built: run npm run build:demo-models first")
    return path


def metadata(model: str, source_file: str = "demo-build.json") -> dict[str, Any]:
    """What a golden was computed from: the model directory (relative to the repository), the file whose
    sha256 identifies it, that sha256, the library versions and the regenerate command. The default file is the
    build record tools/build_demo_models.py writes (the encoder's and the adapter's sha256): it names the model
    exactly, where the merged model.safetensors may differ in the last bit between processors."""
    import tokenizers
    import torch
    import transformers

    if transformers.__version__ != EXPECTED_TRANSFORMERS:
        sys.exit(
            f"the goldens are defined against transformers {EXPECTED_TRANSFORMERS}, "
            f"this Python has {transformers.__version__}: run with the project venv (.venv/bin/python)"
        )
    path = model_dir(model) / source_file
    return {
        "model": f"models/{model}",
        "file": source_file,
        "sha256": sha256_file(path),
        "transformers": transformers.__version__,
        "tokenizers": tokenizers.__version__,
        "torch": torch.__version__,
        "regenerate": REGENERATE_COMMAND,
    }


def write_golden(name: str, meta: dict[str, Any], cases: Any, **extra: Any) -> Path:
    """Writes test/reference/goldens/<name>.json as {meta, ...extra, cases} and formats it with the project's
    Prettier, so `npm run lint` (prettier --check .) accepts the committed file."""
    GOLDENS.mkdir(parents=True, exist_ok=True)
    path = GOLDENS / f"{name}.json"
    document = {"meta": meta, **extra, "cases": cases}
    with path.open("w", encoding="utf-8") as f:
        json.dump(document, f, ensure_ascii=False, indent=2, allow_nan=False)
        f.write("\n")
    prettier(path)
    print(f"wrote {path.relative_to(ROOT)}", file=sys.stderr)
    return path


def prettier(*paths: Path) -> None:
    binary = ROOT / "node_modules" / ".bin" / "prettier"
    if not binary.exists():
        binary_on_path = shutil.which("prettier")
        if binary_on_path is None:
            sys.exit("prettier is not installed: run npm ci so the goldens can be formatted")
        binary = Path(binary_on_path)
    subprocess.run([str(binary), "--log-level", "warn", "--write", *map(str, paths)], cwd=ROOT, check=True)


def to_builtin(value: Any) -> Any:
    """Pipeline results hold numpy scalars and arrays; JSON wants plain floats, ints and lists."""
    import numpy as np

    if isinstance(value, dict):
        return {k: to_builtin(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_builtin(v) for v in value]
    if isinstance(value, np.ndarray):
        return to_builtin(value.tolist())
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    return value


def utf16_index(text: str, index: int) -> int:
    """A Python (code point) index into text as a JS string (UTF-16 code unit) index: the goldens store
    offsets as JS indices, which differ after any character outside the Basic Multilingual Plane (emoji)."""
    return len(text[:index].encode("utf-16-le")) // 2


def utf16_span(text: str, span: Iterable[int]) -> list[int]:
    return [utf16_index(text, int(i)) for i in span]


def float32_base64(values: Any) -> str:
    """A float array as base64 of its little-endian float32 bytes: exact to float32 and a quarter of the size
    of the same numbers printed as JSON (feature-extraction goldens hold thousands of them)."""
    import base64

    import numpy as np

    return base64.b64encode(np.asarray(values, dtype="<f4").tobytes()).decode("ascii")
