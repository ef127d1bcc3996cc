"""The exporter's first job: reading a Hugging Face checkpoint directory and fitting its weights to a model.

read_checkpoint checks what save_pretrained writes (config.json with a supported model_type, weights, tokenizer
files). adapt_state_dict is used by the tools/modeling.py backend (transformers does its own adaptation): the
checkpoint keys are adapted as transformers adapts them and no further: the base-model prefix ("bert.",
"roberta.", "distilbert.") is stripped when exporting a base model from a task checkpoint and added when
exporting a task model from a base checkpoint; the weights of other heads (pretraining heads such as cls.* or
lm_head.*, another task's classifier, a pooler the head does not use) are dropped; legacy LayerNorm gamma/beta
names are renamed. Anything else missing or unexpected, or a shape that differs from config.json's, fails with
the keys named. A task model whose head weights are missing (for example --task question-answering from a base
checkpoint) fails, as does a task that differs from the head config.json's architectures names (its weights
would be misused).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Sequence, Tuple

from torch import Tensor, nn

import hf_checkpoint
import modeling
from export_common import ExportError, list_keys
from modeling import EncoderConfig

TASKS = modeling.TASKS
MODEL_TYPES = ("bert", "distilbert", "roberta")

TOKENIZER_FILES = (
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "added_tokens.json",
    "vocab.txt",
    "vocab.json",
    "merges.txt",
)

# transformers' base_model_prefix per model type.
BASE_PREFIX = {"bert": "bert", "roberta": "roberta", "distilbert": "distilbert"}
# First name components of the encoder's own weights in a base checkpoint.
ENCODER_ROOTS = {
    "bert": ("embeddings.", "encoder.", "pooler."),
    "roberta": ("embeddings.", "encoder.", "pooler."),
    "distilbert": ("embeddings.", "transformer."),
}
# First name components of the heads transformers puts beside the encoder (pretraining, masked LM, next
# sentence, classification, QA, multiple choice): weights a model of another task may carry and drop.
HEAD_ROOTS = {
    "bert": ("cls.", "classifier.", "qa_outputs."),
    "roberta": ("lm_head.", "classifier.", "qa_outputs."),
    "distilbert": (
        "vocab_transform.",
        "vocab_layer_norm.",
        "vocab_projector.",
        "pre_classifier.",
        "classifier.",
        "qa_outputs.",
    ),
}
# Architecture name suffixes of transformers' task heads whose weights have our heads' names and could be loaded
# into the wrong head without a shape error.
HEAD_ARCHITECTURES = {
    "ForSequenceClassification": "sequence-classification",
    "ForTokenClassification": "token-classification",
    "ForQuestionAnswering": "question-answering",
    "ForMultipleChoice": "multiple-choice",
}


@dataclass
class Checkpoint:
    directory: Path
    hf_config: Dict[str, Any]
    config: EncoderConfig
    weights: Path
    tokenizer_files: List[str]

    @property
    def model_type(self) -> str:
        return self.config.model_type


def read_checkpoint(directory: Path) -> Checkpoint:
    if not directory.exists():
        raise ExportError(f"checkpoint directory {directory} does not exist")
    if not directory.is_dir():
        raise ExportError(f"{directory} is not a directory (expected a Hugging Face checkpoint directory)")
    config_path = directory / "config.json"
    if not config_path.is_file():
        raise ExportError(f"{directory} has no config.json (the Hugging Face config, with model_type)")
    try:
        hf_config = json.loads(config_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ExportError(f"{config_path} is not valid JSON: {error}") from None
    if not isinstance(hf_config, dict):
        raise ExportError(f"{config_path}: expected a JSON object")
    model_type = hf_config.get("model_type")
    if model_type not in MODEL_TYPES:
        raise ExportError(
            f"{config_path}: model_type {model_type!r} is not supported; expected one of {', '.join(MODEL_TYPES)}"
        )
    try:
        config = EncoderConfig.from_hf(hf_config)
    except (ValueError, TypeError, KeyError) as error:
        message = f"{directory}/{error}" if str(error).startswith("config.json") else f"{config_path}: {error}"
        raise ExportError(message) from None
    try:
        weights = hf_checkpoint.find_weights(directory)
    except hf_checkpoint.CheckpointError as error:
        raise ExportError(str(error)) from None
    tokenizer_files = [name for name in TOKENIZER_FILES if (directory / name).is_file()]
    has = set(tokenizer_files)
    if not ("tokenizer.json" in has or "vocab.txt" in has or {"vocab.json", "merges.txt"} <= has):
        raise ExportError(
            f"{directory} has no tokenizer: expected tokenizer.json, vocab.txt, or vocab.json + merges.txt"
        )
    return Checkpoint(directory, hf_config, config, weights, tokenizer_files)


def export_input_names(config: EncoderConfig) -> List[str]:
    """forward's arguments (see the module docstring for the RoBERTa decision)."""
    if config.model_type == "distilbert" or (config.model_type == "roberta" and config.type_vocab_size <= 1):
        return ["input_ids", "attention_mask"]
    return ["input_ids", "attention_mask", "token_type_ids"]


def position_limit(config: EncoderConfig) -> int:
    """The longest sequence the position embeddings allow: RoBERTa numbers positions from padding_idx + 1."""
    if config.model_type == "roberta":
        return config.max_position_embeddings - (config.pad_token_id + 1)
    return config.max_position_embeddings


def normalized_hf_config(hf_config: Dict[str, Any], config: EncoderConfig, task: str) -> Dict[str, Any]:
    """config.json as written: id2label keys as strings and label2id values as integers (as transformers writes
    them; JSON allows nothing else for keys). Classification configs without labels get transformers' defaults
    (LABEL_i), which the model's head has."""
    out = dict(hf_config)
    if "id2label" in out or task in ("sequence-classification", "token-classification"):
        out["id2label"] = {str(i): label for i, label in sorted(config.id2label.items())}
        if "label2id" in hf_config and isinstance(hf_config["label2id"], dict):
            try:
                out["label2id"] = {str(label): int(i) for label, i in hf_config["label2id"].items()}
            except (TypeError, ValueError):
                message = f"config.json: label2id values must be integers, got {hf_config['label2id']}"
                raise ExportError(message) from None
        else:
            out["label2id"] = {label: i for i, label in sorted(config.id2label.items())}
    return out


def hf_class_name(model_type: str, task: str) -> str:
    return modeling._HF_NAMES[model_type][task]  # noqa: SLF001 - the names table is the module's own


def check_architecture(checkpoint: Checkpoint, task: str) -> None:
    """A task model must not take its head from a checkpoint that config.json says is another task's."""
    if task == "base":
        return
    for architecture in checkpoint.hf_config.get("architectures") or []:
        for suffix, head_task in HEAD_ARCHITECTURES.items():
            if isinstance(architecture, str) and architecture.endswith(suffix) and head_task != task:
                hint = f"--task {head_task}" if head_task in TASKS else "another tool"
                raise ExportError(
                    f"{checkpoint.directory}/config.json says this is a {architecture} ({head_task} head), not a "
                    f"{task} model: its head weights would be misused; export it with {hint}, or with --task base "
                    f"for the encoder alone"
                )


def is_known_buffer(key: str) -> bool:
    return any(key.endswith(f"embeddings.{buffer}") for buffer in modeling.TOLERATED_BUFFERS)


def adapt_state_dict(
    state: Dict[str, Tensor],
    model: nn.Module,
    model_type: str,
    task: str,
    where: str,
    architectures: Sequence[str] = (),
) -> Tuple[Dict[str, Tensor], bool]:
    """(the checkpoint's weights under the model's names, whether only a base model's pooler is missing).
    Raises ExportError naming the missing, unexpected or mis-shaped keys."""
    prefix = BASE_PREFIX[model_type] + "."
    # Legacy names (TF-converted checkpoints), renamed as transformers renames them.
    renamed: Dict[str, Tensor] = {}
    for key, value in state.items():
        if key.endswith(".gamma"):
            key = key[: -len("gamma")] + "weight"
        elif key.endswith(".beta"):
            key = key[: -len("beta")] + "bias"
        renamed[key] = value
    expected = {key: tuple(value.shape) for key, value in model.state_dict().items()}
    model_prefixed = any(key.startswith(prefix) for key in expected)
    checkpoint_prefixed = any(key.startswith(prefix) for key in renamed)
    if model_prefixed and not checkpoint_prefixed:
        # A task model from a base checkpoint: the encoder's keys get the prefix.
        renamed = {(prefix + k if k.startswith(ENCODER_ROOTS[model_type]) else k): v for k, v in renamed.items()}
    elif not model_prefixed and checkpoint_prefixed:
        # A base model from a task (or pretraining) checkpoint: the encoder's keys lose it.
        renamed = {(k[len(prefix) :] if k.startswith(prefix) else k): v for k, v in renamed.items()}
    renamed = {k: v for k, v in renamed.items() if not is_known_buffer(k)}

    has_pooler = any(".pooler." in f".{key}" for key in expected)
    unexpected = [key for key in renamed if key not in expected]
    droppable = HEAD_ROOTS[model_type] + (() if has_pooler else ("pooler.", prefix + "pooler."))
    not_droppable = [key for key in unexpected if not key.startswith(droppable)]
    missing = [key for key in expected if key not in renamed]
    pooler_missing = (
        task == "base" and bool(missing) and all(key.startswith("pooler.") for key in missing) and has_pooler
    )
    if pooler_missing:
        missing = []
    class_name = hf_class_name(model_type, task)
    head_missing = [key for key in missing if not key.startswith(prefix)] if task != "base" else []
    if head_missing and len(head_missing) == len(missing):
        named = ", ".join(str(a) for a in architectures) or "not given"
        raise ExportError(
            f"{where}: the checkpoint has no {task} head: {class_name} weights {list_keys(head_missing)} are "
            f"missing (config.json architectures: {named}); export --task base for the encoder alone"
        )
    problems = []
    if missing:
        problems.append(f"missing {list_keys(missing)}")
    if not_droppable:
        problems.append(f"unexpected {list_keys(not_droppable)}")
    if problems:
        raise ExportError(f"{where}: the weights do not fit a {class_name}: {'; '.join(problems)}")
    mismatched = [
        f"{key} is {list(renamed[key].shape)} in the checkpoint but {list(shape)} for config.json"
        for key, shape in expected.items()
        if key in renamed and tuple(renamed[key].shape) != shape
    ]
    if mismatched:
        more = f" and {len(mismatched) - 3} more" if len(mismatched) > 3 else ""
        raise ExportError(f"{where}: shape mismatch: {'; '.join(mismatched[:3])}{more}")
    return {key: value for key, value in renamed.items() if key in expected}, pooler_missing


