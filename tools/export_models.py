"""The exporter's second job: building the eager float32 model from a checkpoint, with one of two backends.

- transformers (the default where it is importable): AutoModel / AutoModelFor<Task>.from_pretrained with
  return_dict=False (outputs as tuples, the order torch.jit.trace records) and attn_implementation "sdpa" or
  "eager" (--attention). Not torchscript=True: transformers 5.x dropped it, and return_dict=False plus
  torch.jit.trace(strict=False) traces 4.57 and 5.x alike. Missing weights, and unexpected ones other than those
  of another head, are errors (transformers would only warn).
- tools/modeling.py: the project's own modules with transformers' parameter names, loaded strictly after
  export_checkpoint.adapt_state_dict. Kept because transformers cannot do these jobs: exporting where it is not
  installed (Debian's python3-torch 1.13 has no transformers package, and the project's second runtime is
  exercised with that Python), and float16 (--dtype fp16; a CPU trace of transformers' modules records float32
  in the attention mask, see export_writer). It implements eager attention only (libtorch 1.13 has no SDPA op).

A base model exported from a checkpoint without a pooler (a token-classification or question-answering
checkpoint) has no pooler_output.
"""

from __future__ import annotations

import importlib.util
from typing import Any, Dict, List, Sequence, Tuple

import torch
from torch import Tensor, nn

import hf_checkpoint
import modeling
from export_checkpoint import (
    BASE_PREFIX,
    HEAD_ROOTS,
    Checkpoint,
    adapt_state_dict,
    check_architecture,
    is_known_buffer,
)
from export_common import ExportError, list_keys, log

ATTENTIONS = ("sdpa", "eager")
TRANSFORMERS_AUTO_CLASSES = {
    "base": "AutoModel",
    "sequence-classification": "AutoModelForSequenceClassification",
    "token-classification": "AutoModelForTokenClassification",
    "question-answering": "AutoModelForQuestionAnswering",
}
OUTPUT_NAMES = {
    "sequence-classification": ["logits"],
    "token-classification": ["logits"],
    "question-answering": ["start_logits", "end_logits"],
}


def torch_has_sdpa() -> bool:
    """torch >= 2.0: the op the sdpa attention records (aten::scaled_dot_product_attention)."""
    return hasattr(torch.nn.functional, "scaled_dot_product_attention")


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




def transformers_available() -> bool:
    return importlib.util.find_spec("transformers") is not None


def transformers_version() -> str:
    import transformers  # noqa: PLC0415 - optional dependency

    return str(transformers.__version__)


def load_transformers_model(checkpoint: Checkpoint, task: str, attention: str) -> Tuple[nn.Module, bool]:
    """(transformers model with return_dict=False and `attention`, float32 and eval mode; whether it has a
    pooler). Raises ExportError naming missing, unexpected or mis-shaped weights."""
    import transformers  # noqa: PLC0415 - optional dependency

    # Its loading warnings repeat what the loading info below turns into errors.
    transformers.logging.set_verbosity_error()
    check_architecture(checkpoint, task)
    auto_class = getattr(transformers, TRANSFORMERS_AUTO_CLASSES[task])

    def load(**extra: Any) -> Tuple[nn.Module, Dict[str, List[Any]]]:
        return auto_class.from_pretrained(
            str(checkpoint.directory),
            attn_implementation=attention,
            return_dict=False,
            output_loading_info=True,
            **extra,
        )

    try:
        model, info = load()
        missing = [k for k in info.get("missing_keys", []) if not is_known_buffer(k)]
        has_pooler = task == "base" and checkpoint.model_type != "distilbert"
        if has_pooler and missing and all(k.startswith("pooler.") for k in missing):
            log("the checkpoint has no pooler weights: the base model returns last_hidden_state only")
            model, info = load(add_pooling_layer=False)
            missing = [k for k in info.get("missing_keys", []) if not is_known_buffer(k)]
            has_pooler = False
    except ExportError:
        raise
    except Exception as error:  # noqa: BLE001 - transformers raises many kinds (size mismatches among them)
        details = " ".join(str(error).split())
        details = details if len(details) <= 600 else details[:600] + " ..."
        raise ExportError(f"transformers could not load {checkpoint.directory}: {details or repr(error)}") from None
    # transformers (4.36+) raises for an attention a model does not implement; an older one would ignore the
    # argument, and the file would not be what torch-encoders.json says.
    used = getattr(model.config, "_attn_implementation", None)
    if used != attention:
        raise ExportError(
            f"--attention {attention}: transformers {transformers.__version__} built {type(model).__name__} with "
            f"{used!r} attention; use transformers >= 4.36 or --backend modeling (eager attention)"
        )
    prefix = BASE_PREFIX[checkpoint.model_type] + "."
    droppable = HEAD_ROOTS[checkpoint.model_type] + ("pooler.", prefix + "pooler.")
    unexpected = [
        k for k in info.get("unexpected_keys", []) if not is_known_buffer(k) and not k.startswith(droppable)
    ]
    mismatched = [
        str(item[0]) if isinstance(item, (tuple, list)) else str(item) for item in info.get("mismatched_keys", [])
    ]
    problems = []
    if missing:
        problems.append(f"missing {list_keys(missing)}")
    if unexpected:
        problems.append(f"unexpected {list_keys(unexpected)}")
    if mismatched:
        problems.append(f"shape mismatch {list_keys(mismatched)}")
    if problems:
        raise ExportError(
            f"{checkpoint.directory}: the weights do not fit a {type(model).__name__}: {'; '.join(problems)}"
        )
    return model.float().eval(), has_pooler


def model_output_names(task: str, has_pooler: bool) -> List[str]:
    if task == "base":
        return ["last_hidden_state", "pooler_output"] if has_pooler else ["last_hidden_state"]
    return list(OUTPUT_NAMES[task])


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
