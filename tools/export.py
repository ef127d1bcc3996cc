"""Exports a Hugging Face checkpoint directory to a torch-encoders model directory.

    /usr/bin/python3 tools/export.py CHECKPOINT_DIR OUT_DIR \\
        --task {base,sequence-classification,token-classification,question-answering} \\
        [--max-length N] [--quantize int8] [--dtype fp16] [--onnx] [--force] [--backend {auto,transformers,modeling}]

CHECKPOINT_DIR holds what transformers' save_pretrained writes: config.json, model.safetensors or
pytorch_model.bin (or their sharded *.index.json forms), and the tokenizer files (tokenizer.json and/or vocab.txt,
or vocab.json + merges.txt; tokenizer_config.json, special_tokens_map.json).

OUT_DIR receives:
    model.pt             torch.jit.trace of the model in eval mode; batch and sequence length are dynamic
    config.json          the checkpoint's, with id2label keys as strings and label2id values as integers
    tokenizer files      copied as found
    torch-encoders.json  {format: 1, task, torchVersion, inputNames, outputNames, dtype, maxLength}
                         (lib/export-metadata.ts reads it)
    onnx/model.onnx      with --onnx: torch.onnx.export, opset 14, dynamic batch and sequence, the names
                         transformers.js expects; always of the float32 weights
Everything is written to a temporary sibling directory and moved into place only when every check passed; on any
failure the command prints one line `export.py: error: ...`, exits 1 and leaves no partial output. An existing
non-empty OUT_DIR is replaced only with --force.

The model:
- With `transformers` importable (--backend auto or transformers): AutoModel / AutoModelFor<Task> with
  torchscript=True and attn_implementation="eager" where supported (torch >= 2 otherwise records
  scaled_dot_product_attention, which libtorch 1.13 cannot load). Missing weights, and unexpected ones other
  than those of another head, are errors (transformers would only warn).
- Without it (--backend modeling, or auto when it is absent): tools/modeling.py's modules, with transformers'
  parameter names, loaded strictly. The checkpoint keys are adapted as transformers adapts them and no further:
  the base-model prefix ("bert.", "roberta.", "distilbert.") is stripped when exporting a base model from a task
  checkpoint and added when exporting a task model from a base checkpoint; the weights of other heads
  (pretraining heads such as cls.* or lm_head.*, another task's classifier, a pooler the head does not use) are
  dropped; legacy LayerNorm gamma/beta names are renamed. Anything else missing or unexpected, or a shape that
  differs from config.json's, fails with the keys named. A task model whose head weights are missing (for
  example --task question-answering from a base checkpoint) fails, as does a task that differs from the head
  config.json's architectures names (its weights would be misused). A base model exported from a checkpoint
  without a pooler (a token-classification or question-answering checkpoint) has no pooler_output.

Inputs and outputs of model.pt (forward's argument names are recorded from the trace):
    BERT        (input_ids, attention_mask, token_type_ids)
    RoBERTa     (input_ids, attention_mask): with type_vocab_size 1 (every RoBERTa checkpoint on the Hub) the only
                valid token type is 0, which the model fills in itself, and transformers.js / Optimum ONNX
                exports of RoBERTa take these two inputs too. A config with type_vocab_size > 1 keeps
                token_type_ids.
    DistilBERT  (input_ids, attention_mask)
    base                      (last_hidden_state, pooler_output); DistilBERT (or no pooler): last_hidden_state
    sequence-classification   logits
    token-classification      logits
    question-answering        (start_logits, end_logits)
One output is returned as a tensor, several as a tuple, in the order of outputNames.

Checks (each failure is an error):
- model.pt is loaded back with torch.jit.load and run under inference_mode, as the addon runs it, at shapes other
  than the trace example's (batch 2, 8 tokens, a padded row): 1 x 13 (a token-type pair), 3 x 21 (last row
  padded, so masking is exercised) and 1 x maxLength (a pair); every output must match the eager model within
  1e-5 (float32). forward's argument names must be the expected ones.
- maxLength: --max-length, else the longest sequence the position embeddings allow (RoBERTa: minus
  padding_idx + 1); at most that limit.
- --quantize int8: torch.quantization.quantize_dynamic of every nn.Linear (qint8 weights; activations quantized
  at run time with one scale per tensor, i.e. over the whole batch, so a row's outputs depend slightly on the rows
  and padding it is batched with), on the quantized engine libtorch selects by default where this runs (x86,
  fbgemm, onednn, then qnnpack: Debian's torch has no FBGEMM, so onednn here, as in the Node addon). The file
  stores unpacked int8 weights, repacked at load by the running engine. Two checks: the loaded file against the
  eager quantized model within 1e-5 (the trace is faithful), and against the float32 eager model within
  INT8_MAX_RELATIVE_RMS (see there for the measurements). Quantized models run on the CPU only.
- --dtype fp16 (for CUDA): see FP16 below.
- The traced graph must record no device, so that a file traced on the CPU also runs on CUDA (tools/modeling.py
  builds position ids and masks from the inputs for this; with transformers' modules a recorded device is only
  a warning).

FP16. CPUs have no float16 kernels in torch 1.13 (LayerNorm, addmm), so a float16 model cannot be traced or run
here. Casting a float32 trace to float16 is not enough by itself: torch.jit.trace records as constants the dtype
and device given to .to() and to factory functions (also .to(tensor), zeros_like, ones_like), and the fill value
of masked scores (float32's minimum, which overflows float16: masked_fill raises, 0 * -inf makes NaN). So the
exporter:
  1. traces the float32 model prepared with modeling.set_mask_dtype(float16) (the mask takes its dtype from the
     hidden states at run time and masked scores get float16's minimum, which masks the same in float32), and
     checks that trace in float32 against the unmodified eager model within 1e-5;
  2. casts the loaded trace's parameters to float16 and saves it; loads it back and checks that every floating
     parameter is float16 and the graph records no device, no floating dtype and no constant beyond float16's range;
  3. runs that file cast to bfloat16 (a 16-bit float type CPUs do have kernels for) against the float32 eager
     model (relative RMS error <= BF16_MAX_RELATIVE_RMS): this proves the graph computes end to end in a 16-bit
     dtype (a float32 leftover raises a dtype mismatch) but not float16's range, so the largest activation of the
     float32 check must also stay below float16's maximum (65504);
  4. with CUDA available, runs the float16 file on CUDA against the float32 eager model
     (FP16_MAX_RELATIVE_RMS). Without CUDA the output says that float16 numerics were not run.
--dtype fp16 always uses tools/modeling.py's modules, also when transformers is installed: a CPU trace of
transformers' modules records float32 in the attention mask. The file is meant for CUDA: on the CPU its forward
fails (in Node: E_FORWARD, `"LayerNormKernelImpl" not implemented for 'Half'`).

--onnx writes onnx/model.onnx of the float32 model, also with --quantize or --dtype (transformers.js looks for
quantized and float16 variants under other names, which this tool does not produce).
"""

from __future__ import annotations

import argparse
import copy
import importlib
import importlib.util
import json
import shutil
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterator, List, NoReturn, Optional, Sequence, Tuple

import torch
from torch import Tensor, nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
import hf_checkpoint  # noqa: E402
import modeling  # noqa: E402
from modeling import EncoderConfig  # noqa: E402

TASKS = modeling.TASKS
MODEL_TYPES = ("bert", "distilbert", "roberta")
METADATA_FILE = "torch-encoders.json"
METADATA_FORMAT = 1
ONNX_OPSET = 14

# Traced module vs eager module, both float32: the same kernels run, so only reordering noise is allowed.
FP32_TOLERANCE = 1e-5
# Traced quantized module vs eager quantized module: the same quantized kernels, the same dynamic scales.
INT8_TRACE_TOLERANCE = 1e-5
# Quantized model vs float32 eager model: ||q - f|| / ||f|| per output, over all check shapes together.
# Measured with onednn (qnnpack errs less: it ignores reduce_range): 0.009-0.07 on the checkpoints of
# tools/test_export.py and test/tools/export.test.ts; 0.04-0.17 on the models of test/fixtures/generated (hidden
# 32, encoder weights of std 0.2, classifier std 1.0; the largest for the one-label regression head); 0.03-0.09
# on BERT-base-shaped models with transformers' initialisation (std 0.02). A broken quantization (wrong scales,
# wrong or missing weights) gives errors of order 1 (uncorrelated outputs of the same scale: about 1.4). 0.35
# leaves twice the largest measured error and still rejects those. It is a sanity bound on the export, not an
# accuracy promise: evaluate a quantized model on its task before shipping it.
INT8_MAX_RELATIVE_RMS = 0.35
# The bfloat16 stand-in run of a float16 export vs float32 eager, same measure: measured 0.012-0.11 on the
# fixtures and 0.014-0.06 on a BERT-base-shaped model; bfloat16 keeps 8 significant bits.
BF16_MAX_RELATIVE_RMS = 0.25
# float16 keeps 11 significant bits, 3 more than bfloat16: the bfloat16 errors above divided by 8 are at most
# 0.014, and 0.05 leaves a margin of 3. Not measured (no CUDA on the machines this was written on).
FP16_MAX_RELATIVE_RMS = 0.05
FLOAT16_MAX = 65504.0

TRACE_SHAPE = (2, 8)
CHECK_SHAPES = ((1, 13), (3, 21))
CHECK_SEED = 1234

OUTPUT_NAMES = {
    "sequence-classification": ["logits"],
    "token-classification": ["logits"],
    "question-answering": ["start_logits", "end_logits"],
}
# Outputs with a sequence axis (ONNX dynamic axes).
PER_TOKEN_OUTPUTS = ("last_hidden_state", "start_logits", "end_logits")

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
TRANSFORMERS_AUTO_CLASSES = {
    "base": "AutoModel",
    "sequence-classification": "AutoModelForSequenceClassification",
    "token-classification": "AutoModelForTokenClassification",
    "question-answering": "AutoModelForQuestionAnswering",
}
QUANTIZED_ENGINES = ("x86", "fbgemm", "onednn", "qnnpack")
MAX_LISTED_KEYS = 6


class ExportError(Exception):
    """A problem with the checkpoint, the options or the exported file; the message is the one line printed."""


def log(message: str) -> None:
    print(f"export: {message}", flush=True)


def _list_keys(keys: Sequence[str]) -> str:
    keys = sorted(keys)
    shown = ", ".join(keys[:MAX_LISTED_KEYS])
    return shown + (f" and {len(keys) - MAX_LISTED_KEYS} more" if len(keys) > MAX_LISTED_KEYS else "")


# --------------------------------------------------------------------------------------------------------------
# The checkpoint directory
# --------------------------------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------------------------------
# Loading the weights (tools/modeling.py)
# --------------------------------------------------------------------------------------------------------------


def _hf_class_name(model_type: str, task: str) -> str:
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


def _is_known_buffer(key: str) -> bool:
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
    renamed = {k: v for k, v in renamed.items() if not _is_known_buffer(k)}

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
    class_name = _hf_class_name(model_type, task)
    head_missing = [key for key in missing if not key.startswith(prefix)] if task != "base" else []
    if head_missing and len(head_missing) == len(missing):
        named = ", ".join(str(a) for a in architectures) or "not given"
        raise ExportError(
            f"{where}: the checkpoint has no {task} head: {class_name} weights {_list_keys(head_missing)} are "
            f"missing (config.json architectures: {named}); export --task base for the encoder alone"
        )
    problems = []
    if missing:
        problems.append(f"missing {_list_keys(missing)}")
    if not_droppable:
        problems.append(f"unexpected {_list_keys(not_droppable)}")
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


def load_modeling_model(checkpoint: Checkpoint, task: str) -> Tuple[nn.Module, bool]:
    """(tools/modeling.py model with the checkpoint's weights, float32 and eval mode; whether it has a pooler)."""
    try:
        state, _ = hf_checkpoint.load_weights(checkpoint.directory)
    except hf_checkpoint.CheckpointError as error:
        raise ExportError(str(error)) from None
    architectures = [str(a) for a in checkpoint.hf_config.get("architectures") or []]
    model = modeling.build_model(checkpoint.config, task)
    adapted, pooler_missing = adapt_state_dict(
        state, model, checkpoint.model_type, task, str(checkpoint.weights), architectures
    )
    has_pooler = task == "base" and checkpoint.model_type != "distilbert"
    if pooler_missing:
        log("the checkpoint has no pooler weights: the base model returns last_hidden_state only")
        model_class = modeling.RobertaModel if checkpoint.model_type == "roberta" else modeling.BertModel
        model = model_class(checkpoint.config, add_pooling_layer=False).eval()
        has_pooler = False
    floats = {k: (v.float() if v.is_floating_point() else v) for k, v in adapted.items()}
    modeling.load_hf_state_dict(model, floats)
    return model.eval(), has_pooler


# --------------------------------------------------------------------------------------------------------------
# Loading with transformers
# --------------------------------------------------------------------------------------------------------------


def transformers_available() -> bool:
    return importlib.util.find_spec("transformers") is not None


def load_transformers_model(checkpoint: Checkpoint, task: str) -> Tuple[nn.Module, bool]:
    """(transformers model with torchscript=True and eager attention, eval mode; whether it has a pooler)."""
    import transformers  # noqa: PLC0415 - optional dependency

    check_architecture(checkpoint, task)
    auto_class = getattr(transformers, TRANSFORMERS_AUTO_CLASSES[task])

    def load(**extra: Any) -> Tuple[nn.Module, Dict[str, List[Any]]]:
        kwargs: Dict[str, Any] = {"torchscript": True, "output_loading_info": True, **extra}
        try:
            return auto_class.from_pretrained(str(checkpoint.directory), attn_implementation="eager", **kwargs)
        except (TypeError, ValueError) as error:
            if "attn_implementation" not in str(error):
                raise
            return auto_class.from_pretrained(str(checkpoint.directory), **kwargs)  # transformers < 4.36

    try:
        model, info = load()
        missing = [k for k in info.get("missing_keys", []) if not _is_known_buffer(k)]
        has_pooler = task == "base" and checkpoint.model_type != "distilbert"
        if has_pooler and missing and all(k.startswith("pooler.") for k in missing):
            log("the checkpoint has no pooler weights: the base model returns last_hidden_state only")
            model, info = load(add_pooling_layer=False)
            missing = [k for k in info.get("missing_keys", []) if not _is_known_buffer(k)]
            has_pooler = False
    except ExportError:
        raise
    except Exception as error:  # noqa: BLE001 - transformers raises many kinds (size mismatches among them)
        details = " ".join(str(error).split())
        details = details if len(details) <= 600 else details[:600] + " ..."
        raise ExportError(f"transformers could not load {checkpoint.directory}: {details or repr(error)}") from None
    prefix = BASE_PREFIX[checkpoint.model_type] + "."
    droppable = HEAD_ROOTS[checkpoint.model_type] + ("pooler.", prefix + "pooler.")
    unexpected = [
        k for k in info.get("unexpected_keys", []) if not _is_known_buffer(k) and not k.startswith(droppable)
    ]
    mismatched = [
        str(item[0]) if isinstance(item, (tuple, list)) else str(item) for item in info.get("mismatched_keys", [])
    ]
    problems = []
    if missing:
        problems.append(f"missing {_list_keys(missing)}")
    if unexpected:
        problems.append(f"unexpected {_list_keys(unexpected)}")
    if mismatched:
        problems.append(f"shape mismatch {_list_keys(mismatched)}")
    if problems:
        raise ExportError(
            f"{checkpoint.directory}: the weights do not fit a {type(model).__name__}: {'; '.join(problems)}"
        )
    return model.float().eval(), has_pooler


# --------------------------------------------------------------------------------------------------------------
# The traced module
# --------------------------------------------------------------------------------------------------------------


def _select(result: Any, count: int) -> Any:
    """The first `count` outputs: one tensor, or a tuple of them."""
    if isinstance(result, Tensor):
        return result
    items = tuple(result)[:count]
    return items[0] if count == 1 else items


class TwoInputs(nn.Module):
    """forward(input_ids, attention_mask) of a model returning the outputs named in the metadata."""

    def __init__(self, model: nn.Module, outputs: int) -> None:
        super().__init__()
        self.model = model
        self.outputs = outputs

    def forward(self, input_ids: Tensor, attention_mask: Tensor) -> Any:
        return _select(self.model(input_ids=input_ids, attention_mask=attention_mask), self.outputs)


class ThreeInputs(nn.Module):
    """forward(input_ids, attention_mask, token_type_ids) of a model returning the outputs named in the metadata."""

    def __init__(self, model: nn.Module, outputs: int) -> None:
        super().__init__()
        self.model = model
        self.outputs = outputs

    def forward(self, input_ids: Tensor, attention_mask: Tensor, token_type_ids: Tensor) -> Any:
        result = self.model(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids)
        return _select(result, self.outputs)


def wrap(model: nn.Module, input_names: Sequence[str], output_names: Sequence[str]) -> nn.Module:
    wrapper = TwoInputs if len(input_names) == 2 else ThreeInputs
    return wrapper(model, len(output_names)).eval()


def as_list(result: Any) -> List[Tensor]:
    if isinstance(result, Tensor):
        return [result]
    if isinstance(result, dict):
        return list(result.values())
    return list(result)


def forward_argument_names(module: torch.jit.ScriptModule) -> List[str]:
    return [argument.name for argument in module.forward.schema.arguments[1:]]  # [0] is self


@dataclass
class Shape:
    batch: int
    seq: int
    padded: bool  # the last row is half padding (batch > 1)
    pair: bool  # the first row has a second segment (token type 1), when the model has token types

    def __str__(self) -> str:
        return f"{self.batch}x{self.seq}"


def make_inputs(
    shape: Shape, config: EncoderConfig, input_names: Sequence[str], generator: torch.Generator
) -> Tuple[Tensor, ...]:
    """Random inputs like a tokenizer's: real tokens never the pad id; padding with the pad id, mask 0, type 0."""
    low = min(5, config.vocab_size - 1)
    ids = torch.randint(low, config.vocab_size, (shape.batch, shape.seq), generator=generator)
    ids[ids == config.pad_token_id] = low if config.pad_token_id != low else low + 1
    mask = torch.ones_like(ids)
    types = torch.zeros_like(ids)
    if shape.padded and shape.batch > 1:
        length = max(1, shape.seq // 2)
        ids[-1, length:] = config.pad_token_id
        mask[-1, length:] = 0
    if shape.pair and config.type_vocab_size > 1 and shape.seq > 1:
        types[0, shape.seq // 2 :] = 1
    tensors = {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
    return tuple(tensors[name] for name in input_names)


def check_shapes(max_length: int) -> List[Shape]:
    shapes = [Shape(batch, min(seq, max_length), padded=batch > 1, pair=True) for batch, seq in CHECK_SHAPES]
    return shapes + [Shape(1, max_length, padded=False, pair=True)]


def trace(module: nn.Module, example: Tuple[Tensor, ...]) -> torch.jit.ScriptModule:
    try:
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore", torch.jit.TracerWarning)
            return torch.jit.trace(module, example, check_trace=False)
    except Exception as error:  # noqa: BLE001 - tracing raises many kinds
        raise ExportError(f"torch.jit.trace failed: {first_line(error)}") from None


def run(module: nn.Module, inputs: Tuple[Tensor, ...], what: str, shape: Shape) -> List[Tensor]:
    try:
        with torch.inference_mode():
            return as_list(module(*inputs))
    except Exception as error:  # noqa: BLE001
        message = str(error).strip().splitlines()
        raise ExportError(f"{what} cannot run at shape {shape}: {message[-1] if message else error!r}") from None


def compare(
    got: Sequence[Tensor], want: Sequence[Tensor], names: Sequence[str], what: str, shape: Shape, tolerance: float
) -> float:
    """Max abs difference over all outputs; ExportError if the outputs differ in count or shape or exceed it."""
    if len(got) != len(want):
        raise ExportError(
            f"{what} returns {len(got)} outputs at shape {shape}, expected {len(want)} ({', '.join(names)})"
        )
    worst = 0.0
    for name, a, b in zip(names, got, want):
        if a.shape != b.shape:
            raise ExportError(f"{what}: {name} has shape {list(a.shape)} at {shape}, the eager model's {list(b.shape)}")
        diff = (a.float() - b.float()).abs().max().item() if a.numel() else 0.0
        if not diff <= tolerance:  # also catches NaN
            raise ExportError(
                f"{what} differs from the eager model at shape {shape}: {name} max abs diff {diff:.3g} > {tolerance:g}"
            )
        worst = max(worst, diff)
    return worst


class RelativeError:
    """||a - b|| / ||b|| per output name, accumulated over several shapes."""

    def __init__(self, names: Sequence[str]) -> None:
        self.names = list(names)
        self.diff = [0.0] * len(names)
        self.ref = [0.0] * len(names)
        self.max_abs = [0.0] * len(names)

    def add(self, got: Sequence[Tensor], want: Sequence[Tensor]) -> None:
        for i, (a, b) in enumerate(zip(got, want)):
            d = a.float() - b.float()
            self.diff[i] += d.pow(2).sum().item()
            self.ref[i] += b.float().pow(2).sum().item()
            self.max_abs[i] = max(self.max_abs[i], d.abs().max().item() if d.numel() else 0.0)

    def relative(self, i: int) -> float:
        return (self.diff[i] ** 0.5) / max(self.ref[i] ** 0.5, 1e-30)

    def check(self, what: str, bound: float) -> str:
        for i, name in enumerate(self.names):
            if not self.relative(i) <= bound:
                raise ExportError(
                    f"{what}: {name} relative error ||got - float32|| / ||float32|| = {self.relative(i):.3g} > {bound}"
                )
        return ", ".join(
            f"{name} relative RMS error {self.relative(i):.3g} (max abs {self.max_abs[i]:.3g})"
            for i, name in enumerate(self.names)
        )


def graph_findings(module: torch.jit.ScriptModule) -> List[str]:
    """What in the traced graph ties it to one device or one floating dtype, or overflows float16: device
    constants, `dtype` arguments fixed to a floating type, and constants beyond float16's range. torch.jit.trace
    records the device and dtype of factory functions and of .to(tensor) as constants."""
    findings: List[str] = []

    def nodes(block: Any) -> Iterator[Any]:
        for node in block.nodes():
            yield node
            for inner in node.blocks():
                yield from nodes(inner)

    graph = module.inlined_graph
    floating_codes = {5: "float16", 6: "float32", 7: "float64", 15: "bfloat16"}  # c10::ScalarType values
    int_constants: Dict[str, int] = {}
    for node in nodes(graph):
        if node.kind() != "prim::Constant" or node.outputsSize() != 1:
            continue
        output = node.output()
        kind = output.type().kind()
        value = output.toIValue() if kind in ("DeviceObjType", "IntType", "FloatType", "TensorType") else None
        if isinstance(value, Tensor):  # toIValue gives 0-dim tensor constants as Python numbers, others as tensors
            value = value.abs().max().item() if value.is_floating_point() and value.numel() > 0 else None
        if kind == "DeviceObjType":
            findings.append(f"a device constant ({value})")
        elif kind == "IntType":
            int_constants[output.debugName()] = value
        elif isinstance(value, float) and abs(value) > FLOAT16_MAX:
            findings.append(f"a constant beyond float16's range ({value:g})")
    for node in nodes(graph):
        if not node.kind().startswith("aten::"):
            continue
        try:
            arguments = [argument.name for argument in torch._C.parse_schema(node.schema()).arguments]
        except RuntimeError:  # nodes without a schema
            continue
        for name, value in zip(arguments, node.inputs()):
            code = int_constants.get(value.debugName())
            if name == "dtype" and code in floating_codes:
                findings.append(f"{node.kind()} with dtype fixed to {floating_codes[code]}")
    return sorted(set(findings))


# --------------------------------------------------------------------------------------------------------------
# The export
# --------------------------------------------------------------------------------------------------------------


@dataclass
class Options:
    task: str
    max_length: Optional[int] = None
    quantize: Optional[str] = None
    dtype: str = "fp32"
    onnx: bool = False
    force: bool = False
    backend: str = "auto"


@dataclass
class Result:
    out: Path
    metadata: Dict[str, Any]
    checks: List[str] = field(default_factory=list)


def pick_quantized_engine() -> str:
    """The engine libtorch uses by default where this runs (x86/fbgemm on x86 builds with FBGEMM, else onednn,
    else qnnpack), so the check measures what the Node addon will compute."""
    supported = torch.backends.quantized.supported_engines
    for engine in QUANTIZED_ENGINES:
        if engine in supported:
            return engine
    raise ExportError(f"--quantize int8: this torch has no quantized engine (supported: {supported})")


def prepare_output(out: Path, checkpoint: Path, force: bool) -> None:
    if out.exists() and not out.is_dir():
        raise ExportError(f"{out} exists and is not a directory")
    resolved, source = out.resolve(), checkpoint.resolve()
    if resolved == source or resolved in source.parents:
        raise ExportError(f"{out} contains the checkpoint directory {checkpoint}; choose another output directory")
    if out.exists() and any(out.iterdir()) and not force:
        raise ExportError(f"{out} exists and is not empty; pass --force to replace it")


def export(checkpoint_dir: Path | str, out_dir: Path | str, options: Options) -> Result:
    """Exports `checkpoint_dir` into `out_dir` (see the module docstring). Raises ExportError."""
    started = time.perf_counter()
    checkpoint_dir, out = Path(checkpoint_dir), Path(out_dir)
    if options.task not in TASKS:
        raise ExportError(f"--task must be one of {', '.join(TASKS)}, got {options.task!r}")
    if options.quantize not in (None, "int8"):
        raise ExportError(f"--quantize must be int8, got {options.quantize!r}")
    if options.dtype not in ("fp32", "fp16"):
        raise ExportError(f"--dtype must be fp32 or fp16, got {options.dtype!r}")
    if options.quantize and options.dtype == "fp16":
        raise ExportError("--quantize int8 and --dtype fp16 exclude each other (int8 runs on CPU, float16 on CUDA)")
    if options.backend not in ("auto", "transformers", "modeling"):
        raise ExportError(f"--backend must be auto, transformers or modeling, got {options.backend!r}")
    checkpoint = read_checkpoint(checkpoint_dir)
    prepare_output(out, checkpoint_dir, options.force)

    config = checkpoint.config
    limit = position_limit(config)
    max_length = limit if options.max_length is None else options.max_length
    if not 2 <= max_length <= limit:
        raise ExportError(
            f"--max-length must be between 2 and {limit} (the model's position embeddings), got {max_length}"
        )

    use_transformers = options.backend == "transformers" or (options.backend == "auto" and transformers_available())
    if options.backend == "transformers" and not transformers_available():
        raise ExportError(f"--backend transformers: the transformers package is not importable by {sys.executable}")
    if use_transformers and options.dtype == "fp16":
        log("--dtype fp16 uses tools/modeling.py's modules (a CPU trace of transformers' records float32)")
        use_transformers = False
    if use_transformers:
        model, has_pooler = load_transformers_model(checkpoint, options.task)
        backend = f"transformers {importlib.import_module('transformers').__version__}"
    else:
        check_architecture(checkpoint, options.task)
        model, has_pooler = load_modeling_model(checkpoint, options.task)
        backend = "tools/modeling.py"
    input_names = export_input_names(config)
    if options.task == "base":
        output_names = ["last_hidden_state", "pooler_output"] if has_pooler else ["last_hidden_state"]
    else:
        output_names = list(OUTPUT_NAMES[options.task])
    eager = wrap(model, input_names, output_names)
    dtype = {"fp32": "float32", "fp16": "float16"}[options.dtype] if not options.quantize else "qint8"
    log(
        f"{checkpoint.directory} ({checkpoint.weights.name}, {backend}): "
        f"{_hf_class_name(config.model_type, options.task)} -> {out}  inputs ({', '.join(input_names)})  "
        f"outputs ({', '.join(output_names)})  dtype {dtype}  maxLength {max_length}"
    )

    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-", dir=out.parent))
    try:
        writer = ModelWriter(staging, eager, config, input_names, output_names, max_length)
        if options.quantize == "int8":
            writer.write_int8()
        elif options.dtype == "fp16":
            writer.write_float16()
        else:
            writer.write_float32()
        writer.check_devices(strict=not use_transformers)
        checks = writer.checks
        write_json(staging / "config.json", normalized_hf_config(checkpoint.hf_config, config, options.task))
        for name in checkpoint.tokenizer_files:
            shutil.copyfile(checkpoint.directory / name, staging / name)
        if options.onnx:
            export_onnx(eager, config, input_names, output_names, options.task, staging / "onnx" / "model.onnx")
            writer.note("onnx/model.onnx written (float32 weights; not run here: no onnxruntime in Python)")
        metadata = {
            "format": METADATA_FORMAT,
            "task": options.task,
            "torchVersion": torch.__version__,
            "inputNames": input_names,
            "outputNames": output_names,
            "dtype": dtype,
            "maxLength": max_length,
        }
        write_json(staging / METADATA_FILE, metadata)
        replace_directory(staging, out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    log(f"wrote {out} in {time.perf_counter() - started:.1f} s")
    return Result(out, metadata, checks)


def replace_directory(staging: Path, out: Path) -> None:
    """Moves `staging` to `out`, replacing an existing `out` only once the new one is complete."""
    if not out.exists():
        staging.rename(out)
        return
    old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
    old.rmdir()
    out.rename(old)
    staging.rename(out)
    shutil.rmtree(old, ignore_errors=True)


def write_json(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False, allow_nan=False) + "\n", encoding="utf-8")


class ModelWriter:
    """Traces, saves and checks model.pt in a directory; `checks` collects what was verified, one line each."""

    def __init__(
        self,
        directory: Path,
        eager: nn.Module,
        config: EncoderConfig,
        input_names: List[str],
        output_names: List[str],
        max_length: int,
    ) -> None:
        self.path = directory / "model.pt"
        self.eager = eager
        self.input_names = input_names
        self.output_names = output_names
        generator = torch.Generator().manual_seed(CHECK_SEED)
        trace_shape = Shape(TRACE_SHAPE[0], min(TRACE_SHAPE[1], max_length), padded=True, pair=True)
        self.example = make_inputs(trace_shape, config, input_names, generator)
        self.cases = [(shape, make_inputs(shape, config, input_names, generator)) for shape in check_shapes(max_length)]
        self.expected = [run(eager, inputs, "the eager model", shape) for shape, inputs in self.cases]
        self.checks: List[str] = []

    def note(self, line: str) -> None:
        self.checks.append(line)
        log(line)

    def load(self, what: str) -> torch.jit.ScriptModule:
        """model.pt as saved, on the CPU, with the expected forward arguments."""
        try:
            loaded = torch.jit.load(str(self.path), map_location="cpu")
        except Exception as error:  # noqa: BLE001
            raise ExportError(f"{what}: torch.jit.load cannot read the saved file: {first_line(error)}") from None
        arguments = forward_argument_names(loaded)
        if arguments != self.input_names:
            raise ExportError(f"{what} takes ({', '.join(arguments)}), expected ({', '.join(self.input_names)})")
        return loaded

    def check_float32(self, module: nn.Module, what: str) -> None:
        worst = 0.0
        for (shape, inputs), expected in zip(self.cases, self.expected):
            got = run(module, inputs, what, shape)
            worst = max(worst, compare(got, expected, self.output_names, what, shape, FP32_TOLERANCE))
        shapes = ", ".join(str(shape) for shape, _ in self.cases)
        self.note(f"{what} matches the float32 eager model at {shapes}: max abs diff {worst:.3g} <= {FP32_TOLERANCE:g}")

    def relative_error(self, module: nn.Module, what: str, bound: float, device: str = "cpu") -> str:
        error = RelativeError(self.output_names)
        for (shape, inputs), expected in zip(self.cases, self.expected):
            got = run(module, tuple(t.to(device) for t in inputs), what, shape)
            error.add([t.cpu() for t in got], expected)
        return f"{what}: {error.check(f'{what} vs the float32 eager model', bound)} (bound {bound})"

    def write_float32(self) -> None:
        torch.jit.save(trace(self.eager, self.example), str(self.path))
        self.check_float32(self.load("model.pt"), "model.pt")

    def write_int8(self) -> None:
        engine = pick_quantized_engine()
        torch.backends.quantized.engine = engine
        quantized = torch.quantization.quantize_dynamic(copy.deepcopy(self.eager), {nn.Linear}, dtype=torch.qint8)
        torch.jit.save(trace(quantized.eval(), self.example), str(self.path))
        loaded = self.load("model.pt (int8)")
        worst = 0.0
        for shape, inputs in self.cases:
            got = run(loaded, inputs, "model.pt (int8)", shape)
            want = run(quantized, inputs, "the eager quantized model", shape)
            what = "model.pt (int8) vs the eager quantized model"
            worst = max(worst, compare(got, want, self.output_names, what, shape, INT8_TRACE_TOLERANCE))
        self.note(
            f"model.pt (int8, engine {engine}) matches the eager quantized model: max abs diff {worst:.3g} <= "
            f"{INT8_TRACE_TOLERANCE:g}"
        )
        self.note(self.relative_error(loaded, "model.pt (int8)", INT8_MAX_RELATIVE_RMS))

    def write_float16(self) -> None:
        """The module docstring's FP16 steps 1-4."""
        # 1. A float32 trace prepared for float16, checked in float32 against the unmodified eager model.
        prepared = copy.deepcopy(self.eager)
        modeling.set_mask_dtype(prepared, torch.float16)
        torch.jit.save(trace(prepared, self.example), str(self.path))
        self.check_float32(self.load("model.pt (prepared for float16)"), "model.pt (prepared for float16)")
        largest = largest_activation(self.eager, [inputs for _, inputs in self.cases])
        if not largest < FLOAT16_MAX:
            raise ExportError(
                f"--dtype fp16: an activation reaches {largest:.3g} in float32, beyond float16's maximum "
                f"{FLOAT16_MAX:g}"
            )
        # 2. Cast and save; reloaded, every floating tensor is float16 and the graph is tied to no dtype or device.
        traced = self.load("model.pt (prepared for float16)")
        traced.half()
        torch.jit.save(traced, str(self.path))
        loaded = self.load("model.pt (float16)")
        tensors = list(loaded.named_parameters()) + list(loaded.named_buffers())
        not_half = [name for name, t in tensors if t.is_floating_point() and t.dtype != torch.float16]
        if not_half:
            raise ExportError(f"model.pt (float16) still has tensors of other dtypes: {_list_keys(not_half)}")
        findings = graph_findings(loaded)
        if findings:
            raise ExportError(f"model.pt (float16) would not run in float16: its graph records {'; '.join(findings)}")
        self.note(
            f"model.pt (float16): all {len(tensors)} parameters are float16; the graph records no device, no floating "
            f"dtype and no constant beyond float16's range; largest float32 activation {largest:.3g}"
        )
        # 3. The same graph computing in bfloat16 on the CPU.
        stand_in = self.load("model.pt (float16)").to(torch.bfloat16)
        what = "model.pt cast to bfloat16 (CPU stand-in for float16)"
        self.note(self.relative_error(stand_in, what, BF16_MAX_RELATIVE_RMS))
        # 4. float16 itself, where it can run.
        if torch.cuda.is_available():
            on_cuda = torch.jit.load(str(self.path), map_location="cuda")
            self.note(self.relative_error(on_cuda, "model.pt (float16) on CUDA", FP16_MAX_RELATIVE_RMS, device="cuda"))
        else:
            self.note("float16 numerics NOT run: CUDA is unavailable; numerics verified in float32 and bfloat16 only")

    def check_devices(self, strict: bool) -> None:
        """tools/modeling.py's traces record no device (an error otherwise); transformers' may (a warning)."""
        findings = [f for f in graph_findings(self.load("model.pt")) if "device" in f]
        if findings and strict:
            raise ExportError(f"model.pt records {'; '.join(findings)}: it would not run on another device")
        if findings:
            log(f"warning: model.pt records {'; '.join(findings)}: it may run only on the device it was traced on")


def first_line(error: BaseException) -> str:
    lines = str(error).strip().splitlines()
    return lines[0] if lines else repr(error)


def largest_activation(model: nn.Module, batches: Sequence[Tuple[Tensor, ...]]) -> float:
    """Largest |value| any Linear, LayerNorm or Embedding outputs in float32 over `batches`."""
    largest = 0.0

    def hook(_module: nn.Module, _args: Any, output: Tensor) -> None:
        nonlocal largest
        largest = max(largest, output.detach().abs().max().item())

    watched = (nn.Linear, nn.LayerNorm, nn.Embedding)
    handles = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, watched)]
    try:
        with torch.inference_mode():
            for inputs in batches:
                model(*inputs)
    finally:
        for handle in handles:
            handle.remove()
    return largest


def export_onnx(
    eager: nn.Module, config: EncoderConfig, input_names: List[str], output_names: List[str], task: str, path: Path
) -> None:
    generator = torch.Generator().manual_seed(CHECK_SEED)
    example = make_inputs(Shape(TRACE_SHAPE[0], TRACE_SHAPE[1], padded=True, pair=True), config, input_names, generator)
    dynamic_axes: Dict[str, Dict[int, str]] = {name: {0: "batch", 1: "sequence"} for name in input_names}
    for name in output_names:
        per_token = name in PER_TOKEN_OUTPUTS or (name == "logits" and task == "token-classification")
        dynamic_axes[name] = {0: "batch", 1: "sequence"} if per_token else {0: "batch"}
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")  # constant folding and tracer notes, all expected
            torch.onnx.export(
                eager,
                example,
                str(path),
                input_names=list(input_names),
                output_names=list(output_names),
                dynamic_axes=dynamic_axes,
                opset_version=ONNX_OPSET,
                do_constant_folding=True,
            )
    except Exception as error:  # noqa: BLE001
        raise ExportError(f"--onnx: torch.onnx.export failed: {first_line(error)}") from None
    if not path.is_file() or path.stat().st_size == 0:
        raise ExportError(f"--onnx: torch.onnx.export wrote no {path}")


class OneLineErrors(argparse.ArgumentParser):
    """argparse, with its usage errors on one line and exit status 1 like the exporter's own errors."""

    def error(self, message: str) -> NoReturn:
        print(f"{self.prog}: error: {' '.join(message.split())} (see --help)", file=sys.stderr)
        sys.exit(1)


def parse_args(argv: Optional[Sequence[str]]) -> argparse.Namespace:
    parser = OneLineErrors(
        prog="export.py",
        description="Exports a Hugging Face checkpoint directory to a torch-encoders model directory "
        "(TorchScript model.pt, config.json, tokenizer files, torch-encoders.json).",
        epilog="Details (checks, dtypes, key rules, errors): the docstring at the top of tools/export.py.",
    )
    parser.add_argument("checkpoint", type=Path, metavar="CHECKPOINT_DIR")
    parser.add_argument("out", type=Path, metavar="OUT_DIR")
    parser.add_argument("--task", required=True, choices=TASKS)
    parser.add_argument("--max-length", type=int, help="longest sequence checked and recorded (default: the model's)")
    parser.add_argument("--quantize", choices=("int8",), help="dynamic int8 quantization of Linear layers (CPU)")
    parser.add_argument("--dtype", choices=("fp32", "fp16"), default="fp32", help="fp16: float16 weights, for CUDA")
    parser.add_argument("--onnx", action="store_true", help="also write onnx/model.onnx (float32, opset 14)")
    parser.add_argument("--force", action="store_true", help="replace a non-empty OUT_DIR")
    parser.add_argument(
        "--backend",
        choices=("auto", "transformers", "modeling"),
        default="auto",
        help="model implementation: transformers when importable (auto), or tools/modeling.py",
    )
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_args(argv)
    options = Options(
        task=args.task,
        max_length=args.max_length,
        quantize=args.quantize,
        dtype=args.dtype,
        onnx=args.onnx,
        force=args.force,
        backend=args.backend,
    )
    try:
        export(args.checkpoint, args.out, options)
    except ExportError as error:
        print(f"export.py: error: {' '.join(str(error).split())}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
