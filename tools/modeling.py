"""Plain-torch BERT, RoBERTa and DistilBERT encoders that load Hugging Face state dicts as they are.

Parameter names (state_dict keys) are those of Hugging Face `transformers`, so a checkpoint saved by
`save_pretrained` loads with `load_hf_state_dict` and no renaming. The computation mirrors transformers' eager
implementation (exact erf GELU, LayerNorm eps from the config, scores scaled by 1/sqrt(head_dim)), so eval-mode
outputs match it to float32 rounding. This keeps the export path free of the `transformers` package, which is not
available on the project's machines.

Every module's forward takes int64 [batch, seq] tensors:
    BERT, RoBERTa:  forward(input_ids, attention_mask, token_type_ids=None)
    DistilBERT:     forward(input_ids, attention_mask)
and returns, like transformers with return_dict=False:
    base:                     BERT/RoBERTa (last_hidden_state, pooler_output); DistilBERT (last_hidden_state,)
    sequence-classification:  logits [batch, num_labels]
    token-classification:     logits [batch, seq, num_labels]
    question-answering:       (start_logits, end_logits), each [batch, seq]
Shapes are taken from tensors at run time, so a torch.jit.trace of these modules runs at any batch and sequence
length (up to max_position_embeddings). A trace records no device either (position ids are built from the input,
not with torch.arange(device=...)), so a trace made on the CPU also runs on CUDA; set_mask_dtype prepares a model
traced in float32 to be cast to float16.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Mapping, Optional, Tuple, Type

import torch
import torch.nn.functional as F
from torch import Tensor, nn

TASKS = ("base", "sequence-classification", "token-classification", "question-answering")

# Buffers that some transformers versions save in state dicts and others do not (transformers < 4.31 saved
# `embeddings.position_ids` as a persistent buffer; `embeddings.token_type_ids` is non-persistent but shows up
# in state dicts produced by other tools). Both are derived from the input here, so they carry no weights and
# are the only keys `load_hf_state_dict` tolerates beyond an exact match.
TOLERATED_BUFFERS = ("position_ids", "token_type_ids")

_ACTIVATIONS: Dict[str, Callable[[Tensor], Tensor]] = {
    # transformers' "gelu" is the exact erf form, not the tanh approximation.
    "gelu": F.gelu,
    "relu": F.relu,
}

# Class names and the attribute that holds the encoder in task models (transformers' base_model_prefix).
_HF_NAMES: Dict[str, Dict[str, str]] = {
    "bert": {
        "prefix": "bert",
        "base": "BertModel",
        "sequence-classification": "BertForSequenceClassification",
        "token-classification": "BertForTokenClassification",
        "question-answering": "BertForQuestionAnswering",
    },
    "roberta": {
        "prefix": "roberta",
        "base": "RobertaModel",
        "sequence-classification": "RobertaForSequenceClassification",
        "token-classification": "RobertaForTokenClassification",
        "question-answering": "RobertaForQuestionAnswering",
    },
    "distilbert": {
        "prefix": "distilbert",
        "base": "DistilBertModel",
        "sequence-classification": "DistilBertForSequenceClassification",
        "token-classification": "DistilBertForTokenClassification",
        "question-answering": "DistilBertForQuestionAnswering",
    },
}

# Defaults of transformers' BertConfig / RobertaConfig / DistilBertConfig, needed because save_pretrained may
# omit values equal to a default. Keys use the names of each model's own config.json.
_HF_DEFAULTS: Dict[str, Dict[str, Any]] = {
    "bert": {
        "vocab_size": 30522,
        "hidden_size": 768,
        "num_hidden_layers": 12,
        "num_attention_heads": 12,
        "intermediate_size": 3072,
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1,
        "max_position_embeddings": 512,
        "type_vocab_size": 2,
        "initializer_range": 0.02,
        "layer_norm_eps": 1e-12,
        "pad_token_id": 0,
        "position_embedding_type": "absolute",
        "classifier_dropout": None,
    },
    "distilbert": {
        "vocab_size": 30522,
        "max_position_embeddings": 512,
        "n_layers": 6,
        "n_heads": 12,
        "dim": 768,
        "hidden_dim": 3072,
        "dropout": 0.1,
        "attention_dropout": 0.1,
        "activation": "gelu",
        "initializer_range": 0.02,
        "qa_dropout": 0.1,
        "seq_classif_dropout": 0.2,
        "pad_token_id": 0,
    },
}
_HF_DEFAULTS["roberta"] = {**_HF_DEFAULTS["bert"], "vocab_size": 50265, "pad_token_id": 1}

# DistilBERT hard-codes its LayerNorm eps instead of reading it from the config.
_DISTILBERT_LAYER_NORM_EPS = 1e-12


@dataclass(frozen=True)
class EncoderConfig:
    """The architecture settings of one encoder, under one set of names for all three model types."""

    model_type: str
    vocab_size: int
    hidden_size: int
    num_hidden_layers: int
    num_attention_heads: int
    intermediate_size: int
    max_position_embeddings: int
    type_vocab_size: int
    layer_norm_eps: float
    pad_token_id: int
    hidden_act: str
    initializer_range: float
    hidden_dropout_prob: float
    attention_probs_dropout_prob: float
    # Dropout before each head's final layer; dropout is an identity in eval mode but matters for training.
    sequence_classifier_dropout: float
    token_classifier_dropout: float
    qa_dropout: float
    id2label: Dict[int, str] = field(default_factory=lambda: {0: "LABEL_0", 1: "LABEL_1"})

    @property
    def num_labels(self) -> int:
        return len(self.id2label)

    @property
    def head_dim(self) -> int:
        return self.hidden_size // self.num_attention_heads

    @classmethod
    def from_hf(cls, hf: Mapping[str, Any]) -> "EncoderConfig":
        """Reads a transformers config.json dict; raises ValueError on settings these modules do not implement."""
        model_type = hf.get("model_type")
        if model_type not in _HF_DEFAULTS:
            raise ValueError(f"config.json: model_type must be one of {sorted(_HF_DEFAULTS)}, got {model_type!r}")
        c = {**_HF_DEFAULTS[model_type], **hf}
        id2label = _read_id2label(hf)
        if model_type == "distilbert":
            config = cls(
                model_type=model_type,
                vocab_size=c["vocab_size"],
                hidden_size=c["dim"],
                num_hidden_layers=c["n_layers"],
                num_attention_heads=c["n_heads"],
                intermediate_size=c["hidden_dim"],
                max_position_embeddings=c["max_position_embeddings"],
                type_vocab_size=0,
                layer_norm_eps=_DISTILBERT_LAYER_NORM_EPS,
                pad_token_id=c["pad_token_id"],
                hidden_act=c["activation"],
                initializer_range=c["initializer_range"],
                hidden_dropout_prob=c["dropout"],
                attention_probs_dropout_prob=c["attention_dropout"],
                sequence_classifier_dropout=c["seq_classif_dropout"],
                token_classifier_dropout=c["dropout"],
                qa_dropout=c["qa_dropout"],
                id2label=id2label,
            )
        else:
            if c["position_embedding_type"] != "absolute":
                raise ValueError(
                    f"config.json: only position_embedding_type 'absolute' is supported, "
                    f"got {c['position_embedding_type']!r}"
                )
            if c.get("is_decoder") or c.get("add_cross_attention"):
                raise ValueError("config.json: decoder and cross-attention models are not supported")
            classifier_dropout = c["classifier_dropout"]
            if classifier_dropout is None:
                classifier_dropout = c["hidden_dropout_prob"]
            config = cls(
                model_type=model_type,
                vocab_size=c["vocab_size"],
                hidden_size=c["hidden_size"],
                num_hidden_layers=c["num_hidden_layers"],
                num_attention_heads=c["num_attention_heads"],
                intermediate_size=c["intermediate_size"],
                max_position_embeddings=c["max_position_embeddings"],
                type_vocab_size=c["type_vocab_size"],
                layer_norm_eps=c["layer_norm_eps"],
                pad_token_id=c["pad_token_id"],
                hidden_act=c["hidden_act"],
                initializer_range=c["initializer_range"],
                hidden_dropout_prob=c["hidden_dropout_prob"],
                attention_probs_dropout_prob=c["attention_probs_dropout_prob"],
                sequence_classifier_dropout=classifier_dropout,
                token_classifier_dropout=classifier_dropout,
                # BERT's and RoBERTa's QA heads have no dropout.
                qa_dropout=0.0,
                id2label=id2label,
            )
        config.validate()
        return config

    def validate(self) -> None:
        if self.hidden_act not in _ACTIVATIONS:
            raise ValueError(f"config.json: activation must be one of {sorted(_ACTIVATIONS)}, got {self.hidden_act!r}")
        if self.hidden_size % self.num_attention_heads != 0:
            raise ValueError(
                f"config.json: hidden size {self.hidden_size} is not a multiple of the number of attention heads "
                f"{self.num_attention_heads}"
            )
        if sorted(self.id2label) != list(range(self.num_labels)):
            raise ValueError(f"config.json: id2label keys must be 0..n-1, got {sorted(self.id2label)}")


def _read_id2label(hf: Mapping[str, Any]) -> Dict[int, str]:
    """Labels as transformers derives them: id2label if present, else num_labels generic names, else two."""
    if "id2label" in hf:
        return {int(k): str(v) for k, v in hf["id2label"].items()}
    num_labels = hf.get("num_labels", hf.get("_num_labels", 2))
    return {i: f"LABEL_{i}" for i in range(num_labels)}


def to_hf_config(config: EncoderConfig, task: str) -> Dict[str, Any]:
    """The transformers config.json dict for `config` as a model of `task` (inverse of EncoderConfig.from_hf)."""
    _check_task(task)
    hf: Dict[str, Any] = {
        "architectures": [_HF_NAMES[config.model_type][task]],
        "model_type": config.model_type,
    }
    if config.model_type == "distilbert":
        hf.update(
            vocab_size=config.vocab_size,
            dim=config.hidden_size,
            n_layers=config.num_hidden_layers,
            n_heads=config.num_attention_heads,
            hidden_dim=config.intermediate_size,
            max_position_embeddings=config.max_position_embeddings,
            activation=config.hidden_act,
            dropout=config.hidden_dropout_prob,
            attention_dropout=config.attention_probs_dropout_prob,
            seq_classif_dropout=config.sequence_classifier_dropout,
            qa_dropout=config.qa_dropout,
            sinusoidal_pos_embds=False,
            initializer_range=config.initializer_range,
            pad_token_id=config.pad_token_id,
        )
    else:
        hf.update(
            vocab_size=config.vocab_size,
            hidden_size=config.hidden_size,
            num_hidden_layers=config.num_hidden_layers,
            num_attention_heads=config.num_attention_heads,
            intermediate_size=config.intermediate_size,
            hidden_act=config.hidden_act,
            hidden_dropout_prob=config.hidden_dropout_prob,
            attention_probs_dropout_prob=config.attention_probs_dropout_prob,
            classifier_dropout=config.sequence_classifier_dropout,
            max_position_embeddings=config.max_position_embeddings,
            type_vocab_size=config.type_vocab_size,
            initializer_range=config.initializer_range,
            layer_norm_eps=config.layer_norm_eps,
            pad_token_id=config.pad_token_id,
            position_embedding_type="absolute",
        )
    if task in ("sequence-classification", "token-classification"):
        # JSON object keys are strings; transformers writes label ids that way too.
        hf["id2label"] = {str(i): label for i, label in sorted(config.id2label.items())}
        hf["label2id"] = {label: i for i, label in sorted(config.id2label.items())}
    if task == "sequence-classification":
        hf["problem_type"] = "single_label_classification"
    hf["torch_dtype"] = "float32"
    return hf


def _check_task(task: str) -> None:
    if task not in TASKS:
        raise ValueError(f"task must be one of {list(TASKS)}, got {task!r}")


# --------------------------------------------------------------------------------------------------------------
# BERT and RoBERTa
# --------------------------------------------------------------------------------------------------------------


def sequence_positions(input_ids: Tensor) -> Tensor:
    """[1, seq] int64 of 0 .. seq-1, on input_ids' device.

    Built from the input by arithmetic (a cumulative sum of ones) rather than with torch.arange(...,
    device=input_ids.device) or torch.ones_like: torch.jit.trace records the device (and dtype) of factory
    functions as constants, so a trace made on the CPU would build its position ids on the CPU when run on CUDA
    and fail there. The values are the same.
    """
    return torch.cumsum(input_ids[:1] * 0 + 1, dim=1) - 1


class BertEmbeddings(nn.Module):
    def __init__(self, config: EncoderConfig) -> None:
        super().__init__()
        self.word_embeddings = nn.Embedding(config.vocab_size, config.hidden_size, padding_idx=config.pad_token_id)
        self.position_embeddings = nn.Embedding(config.max_position_embeddings, config.hidden_size)
        self.token_type_embeddings = nn.Embedding(config.type_vocab_size, config.hidden_size)
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)
        self.padding_idx = config.pad_token_id

    def position_ids(self, input_ids: Tensor) -> Tensor:
        # Derived from the input, so it stays dynamic under torch.jit.trace and needs none of the position_ids
        # buffer that transformers keeps (and, in some versions, saves).
        return sequence_positions(input_ids)

    def forward(self, input_ids: Tensor, token_type_ids: Tensor) -> Tensor:
        embeddings = self.word_embeddings(input_ids) + self.token_type_embeddings(token_type_ids)
        embeddings = embeddings + self.position_embeddings(self.position_ids(input_ids))
        return self.dropout(self.LayerNorm(embeddings))


class RobertaEmbeddings(BertEmbeddings):
    def position_ids(self, input_ids: Tensor) -> Tensor:
        # transformers' create_position_ids_from_input_ids: real tokens count from padding_idx + 1, padding tokens
        # get padding_idx, so positions depend on the ids and not on the attention mask.
        mask = input_ids.ne(self.padding_idx).int()
        incremental = torch.cumsum(mask, dim=1).type_as(mask) * mask
        return incremental.long() + self.padding_idx


class BertSelfAttention(nn.Module):
    def __init__(self, config: EncoderConfig) -> None:
        super().__init__()
        self.num_attention_heads = config.num_attention_heads
        self.attention_head_size = config.head_dim
        self.query = nn.Linear(config.hidden_size, config.hidden_size)
        self.key = nn.Linear(config.hidden_size, config.hidden_size)
        self.value = nn.Linear(config.hidden_size, config.hidden_size)
        self.dropout = nn.Dropout(config.attention_probs_dropout_prob)

    def split_heads(self, x: Tensor) -> Tensor:
        # [batch, seq, hidden] -> [batch, heads, seq, head_dim]; -1 keeps seq symbolic when traced.
        return x.view(x.size(0), -1, self.num_attention_heads, self.attention_head_size).permute(0, 2, 1, 3)

    def forward(self, hidden_states: Tensor, additive_mask: Tensor) -> Tensor:
        query = self.split_heads(self.query(hidden_states))
        key = self.split_heads(self.key(hidden_states))
        value = self.split_heads(self.value(hidden_states))
        # Same operation order as transformers (matmul, then divide) so float32 rounding matches.
        scores = torch.matmul(query, key.transpose(-1, -2)) / math.sqrt(self.attention_head_size)
        probs = self.dropout(torch.softmax(scores + additive_mask, dim=-1))
        context = torch.matmul(probs, value).permute(0, 2, 1, 3).contiguous()
        return context.view(context.size(0), -1, self.num_attention_heads * self.attention_head_size)


class BertSelfOutput(nn.Module):
    def __init__(self, config: EncoderConfig) -> None:
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)

    def forward(self, hidden_states: Tensor, residual: Tensor) -> Tensor:
        return self.LayerNorm(self.dropout(self.dense(hidden_states)) + residual)


class BertAttention(nn.Module):
    def __init__(self, config: EncoderConfig) -> None:
        super().__init__()
        # `self.self` is transformers' name, and so part of every state_dict key of the layer.
        self.self = BertSelfAttention(config)
        self.output = BertSelfOutput(config)

    def forward(self, hidden_states: Tensor, additive_mask: Tensor) -> Tensor:
        return self.output(self.self(hidden_states, additive_mask), hidden_states)


class BertIntermediate(nn.Module):
    def __init__(self, config: EncoderConfig) -> None:
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.intermediate_size)
        self.activation = _ACTIVATIONS[config.hidden_act]

    def forward(self, hidden_states: Tensor) -> Tensor:
        return self.activation(self.dense(hidden_states))


class BertOutput(nn.Module):
    def __init__(self, config: EncoderConfig) -> None:
        super().__init__()
        self.dense = nn.Linear(config.intermediate_size, config.hidden_size)
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)

    def forward(self, hidden_states: Tensor, residual: Tensor) -> Tensor:
        return self.LayerNorm(self.dropout(self.dense(hidden_states)) + residual)


class BertLayer(nn.Module):
    def __init__(self, config: EncoderConfig) -> None:
        super().__init__()
        self.attention = BertAttention(config)
        self.intermediate = BertIntermediate(config)
        self.output = BertOutput(config)

    def forward(self, hidden_states: Tensor, additive_mask: Tensor) -> Tensor:
        attention_output = self.attention(hidden_states, additive_mask)
        return self.output(self.intermediate(attention_output), attention_output)


class BertEncoder(nn.Module):
    def __init__(self, config: EncoderConfig) -> None:
        super().__init__()
        self.layer = nn.ModuleList([BertLayer(config) for _ in range(config.num_hidden_layers)])

    def forward(self, hidden_states: Tensor, additive_mask: Tensor) -> Tensor:
        for layer in self.layer:
            hidden_states = layer(hidden_states, additive_mask)
        return hidden_states


class BertPooler(nn.Module):
    def __init__(self, config: EncoderConfig) -> None:
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)

    def forward(self, hidden_states: Tensor) -> Tensor:
        return torch.tanh(self.dense(hidden_states[:, 0]))


def additive_attention_mask(attention_mask: Tensor, dtype: torch.dtype, like: Optional[Tensor] = None) -> Tensor:
    """[batch, seq] of 1 (attend) / 0 (padding) -> [batch, 1, 1, seq] of 0 / dtype's minimum, as transformers.

    With `like`, the mask takes like's dtype when it runs (type_as, which torch.jit.trace records as such, where
    it records .to(like) as .to(<device>, <dtype>) constants), and `dtype` only chooses the fill value (see
    set_mask_dtype).
    """
    mask = attention_mask[:, None, None, :]
    mask = mask.to(dtype) if like is None else mask.type_as(like)
    return (1.0 - mask) * torch.finfo(dtype).min


def set_mask_dtype(model: nn.Module, dtype: Optional[torch.dtype]) -> None:
    """Sets the dtype whose minimum fills masked attention scores in every attention of `model`.

    None (the default) is transformers' rule: the dtype the model runs in. torch.jit.trace records the fill value
    as a constant, so a model traced in float32 that will run in float16 (tools/export.py --dtype fp16: CPUs have
    no float16 kernels to trace with) needs float16's minimum: float32's overflows float16 (masked_fill raises,
    and the additive mask becomes 0 * -inf = NaN). In float32, float16's minimum (-65504) masks just as well:
    exp(-65504) is 0.
    """
    for module in model.modules():
        if isinstance(module, (BertModel, DistilBertSelfAttention)):
            module.mask_dtype = dtype


class BertModel(nn.Module):
    embeddings_class: Type[BertEmbeddings] = BertEmbeddings
    # The dtype whose minimum fills masked scores; None: the dtype the model runs in (see set_mask_dtype).
    mask_dtype: Optional[torch.dtype] = None

    def __init__(self, config: EncoderConfig, add_pooling_layer: bool = True) -> None:
        super().__init__()
        self.embeddings = self.embeddings_class(config)
        self.encoder = BertEncoder(config)
        self.pooler = BertPooler(config) if add_pooling_layer else None

    def forward(
        self, input_ids: Tensor, attention_mask: Tensor, token_type_ids: Optional[Tensor] = None
    ) -> Tuple[Tensor, ...]:
        """(last_hidden_state, pooler_output), or (last_hidden_state,) when built without the pooler."""
        if token_type_ids is None:
            # Not torch.zeros_like, whose device a trace would record (see sequence_positions).
            token_type_ids = input_ids * 0
        hidden_states = self.embeddings(input_ids, token_type_ids)
        fill_dtype = hidden_states.dtype if self.mask_dtype is None else self.mask_dtype
        hidden_states = self.encoder(hidden_states, additive_attention_mask(attention_mask, fill_dtype, hidden_states))
        if self.pooler is None:
            return (hidden_states,)
        return hidden_states, self.pooler(hidden_states)


class RobertaModel(BertModel):
    embeddings_class = RobertaEmbeddings


class BertForSequenceClassification(nn.Module):
    def __init__(self, config: EncoderConfig) -> None:
        super().__init__()
        self.bert = BertModel(config)
        self.dropout = nn.Dropout(config.sequence_classifier_dropout)
        self.classifier = nn.Linear(config.hidden_size, config.num_labels)

    def forward(self, input_ids: Tensor, attention_mask: Tensor, token_type_ids: Optional[Tensor] = None) -> Tensor:
        pooled = self.bert(input_ids, attention_mask, token_type_ids)[1]
        return self.classifier(self.dropout(pooled))


class BertForTokenClassification(nn.Module):
    def __init__(self, config: EncoderConfig) -> None:
        super().__init__()
        self.bert = BertModel(config, add_pooling_layer=False)
        self.dropout = nn.Dropout(config.token_classifier_dropout)
        self.classifier = nn.Linear(config.hidden_size, config.num_labels)

    def forward(self, input_ids: Tensor, attention_mask: Tensor, token_type_ids: Optional[Tensor] = None) -> Tensor:
        hidden_states = self.bert(input_ids, attention_mask, token_type_ids)[0]
        return self.classifier(self.dropout(hidden_states))


def _split_span_logits(logits: Tensor) -> Tuple[Tensor, Tensor]:
    """[batch, seq, 2] -> ([batch, seq], [batch, seq]) contiguous, as transformers' QA heads."""
    start_logits, end_logits = logits.split(1, dim=-1)
    return start_logits.squeeze(-1).contiguous(), end_logits.squeeze(-1).contiguous()


class BertForQuestionAnswering(nn.Module):
    def __init__(self, config: EncoderConfig) -> None:
        super().__init__()
        self.bert = BertModel(config, add_pooling_layer=False)
        self.qa_outputs = nn.Linear(config.hidden_size, 2)

    def forward(
        self, input_ids: Tensor, attention_mask: Tensor, token_type_ids: Optional[Tensor] = None
    ) -> Tuple[Tensor, Tensor]:
        return _split_span_logits(self.qa_outputs(self.bert(input_ids, attention_mask, token_type_ids)[0]))


class RobertaClassificationHead(nn.Module):
    def __init__(self, config: EncoderConfig) -> None:
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)
        self.dropout = nn.Dropout(config.sequence_classifier_dropout)
        self.out_proj = nn.Linear(config.hidden_size, config.num_labels)

    def forward(self, hidden_states: Tensor) -> Tensor:
        # RoBERTa has no pooler: the head reads the <s> token itself.
        x = torch.tanh(self.dense(self.dropout(hidden_states[:, 0])))
        return self.out_proj(self.dropout(x))


class RobertaForSequenceClassification(nn.Module):
    def __init__(self, config: EncoderConfig) -> None:
        super().__init__()
        self.roberta = RobertaModel(config, add_pooling_layer=False)
        self.classifier = RobertaClassificationHead(config)

    def forward(self, input_ids: Tensor, attention_mask: Tensor, token_type_ids: Optional[Tensor] = None) -> Tensor:
        return self.classifier(self.roberta(input_ids, attention_mask, token_type_ids)[0])


class RobertaForTokenClassification(nn.Module):
    def __init__(self, config: EncoderConfig) -> None:
        super().__init__()
        self.roberta = RobertaModel(config, add_pooling_layer=False)
        self.dropout = nn.Dropout(config.token_classifier_dropout)
        self.classifier = nn.Linear(config.hidden_size, config.num_labels)

    def forward(self, input_ids: Tensor, attention_mask: Tensor, token_type_ids: Optional[Tensor] = None) -> Tensor:
        return self.classifier(self.dropout(self.roberta(input_ids, attention_mask, token_type_ids)[0]))


class RobertaForQuestionAnswering(nn.Module):
    def __init__(self, config: EncoderConfig) -> None:
        super().__init__()
        self.roberta = RobertaModel(config, add_pooling_layer=False)
        self.qa_outputs = nn.Linear(config.hidden_size, 2)

    def forward(
        self, input_ids: Tensor, attention_mask: Tensor, token_type_ids: Optional[Tensor] = None
    ) -> Tuple[Tensor, Tensor]:
        return _split_span_logits(self.qa_outputs(self.roberta(input_ids, attention_mask, token_type_ids)[0]))


# --------------------------------------------------------------------------------------------------------------
# DistilBERT
# --------------------------------------------------------------------------------------------------------------


class DistilBertEmbeddings(nn.Module):
    def __init__(self, config: EncoderConfig) -> None:
        super().__init__()
        self.word_embeddings = nn.Embedding(config.vocab_size, config.hidden_size, padding_idx=config.pad_token_id)
        self.position_embeddings = nn.Embedding(config.max_position_embeddings, config.hidden_size)
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)

    def forward(self, input_ids: Tensor) -> Tensor:
        position_ids = sequence_positions(input_ids)
        embeddings = self.word_embeddings(input_ids) + self.position_embeddings(position_ids)
        return self.dropout(self.LayerNorm(embeddings))


class DistilBertSelfAttention(nn.Module):
    # The dtype whose minimum fills masked scores; None: the dtype the model runs in (see set_mask_dtype).
    mask_dtype: Optional[torch.dtype] = None

    def __init__(self, config: EncoderConfig) -> None:
        super().__init__()
        self.n_heads = config.num_attention_heads
        self.dim_per_head = config.head_dim
        self.q_lin = nn.Linear(config.hidden_size, config.hidden_size)
        self.k_lin = nn.Linear(config.hidden_size, config.hidden_size)
        self.v_lin = nn.Linear(config.hidden_size, config.hidden_size)
        self.out_lin = nn.Linear(config.hidden_size, config.hidden_size)
        self.dropout = nn.Dropout(config.attention_probs_dropout_prob)

    def split_heads(self, x: Tensor) -> Tensor:
        return x.view(x.size(0), -1, self.n_heads, self.dim_per_head).transpose(1, 2)

    def forward(self, hidden_states: Tensor, padding_mask: Tensor) -> Tensor:
        # DistilBERT scales q before the matmul and fills masked scores, unlike BERT; kept for identical rounding.
        query = self.split_heads(self.q_lin(hidden_states)) / math.sqrt(self.dim_per_head)
        key = self.split_heads(self.k_lin(hidden_states))
        value = self.split_heads(self.v_lin(hidden_states))
        scores = torch.matmul(query, key.transpose(2, 3))
        fill_dtype = scores.dtype if self.mask_dtype is None else self.mask_dtype
        scores = scores.masked_fill(padding_mask, torch.finfo(fill_dtype).min)
        weights = self.dropout(torch.softmax(scores, dim=-1))
        context = torch.matmul(weights, value).transpose(1, 2).contiguous()
        return self.out_lin(context.view(context.size(0), -1, self.n_heads * self.dim_per_head))


class DistilBertFFN(nn.Module):
    def __init__(self, config: EncoderConfig) -> None:
        super().__init__()
        self.lin1 = nn.Linear(config.hidden_size, config.intermediate_size)
        self.lin2 = nn.Linear(config.intermediate_size, config.hidden_size)
        self.activation = _ACTIVATIONS[config.hidden_act]
        self.dropout = nn.Dropout(config.hidden_dropout_prob)

    def forward(self, x: Tensor) -> Tensor:
        return self.dropout(self.lin2(self.activation(self.lin1(x))))


class DistilBertBlock(nn.Module):
    def __init__(self, config: EncoderConfig) -> None:
        super().__init__()
        self.attention = DistilBertSelfAttention(config)
        self.sa_layer_norm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.ffn = DistilBertFFN(config)
        self.output_layer_norm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)

    def forward(self, x: Tensor, padding_mask: Tensor) -> Tensor:
        sa_output = self.sa_layer_norm(self.attention(x, padding_mask) + x)
        return self.output_layer_norm(self.ffn(sa_output) + sa_output)


class DistilBertTransformer(nn.Module):
    def __init__(self, config: EncoderConfig) -> None:
        super().__init__()
        self.layer = nn.ModuleList([DistilBertBlock(config) for _ in range(config.num_hidden_layers)])

    def forward(self, x: Tensor, padding_mask: Tensor) -> Tensor:
        for layer in self.layer:
            x = layer(x, padding_mask)
        return x


class DistilBertModel(nn.Module):
    def __init__(self, config: EncoderConfig) -> None:
        super().__init__()
        self.embeddings = DistilBertEmbeddings(config)
        self.transformer = DistilBertTransformer(config)

    def forward(self, input_ids: Tensor, attention_mask: Tensor) -> Tuple[Tensor]:
        """(last_hidden_state,): a 1-tuple like transformers with return_dict=False, and like BERT's [0]."""
        # True where a key is padding; broadcast over heads and queries.
        padding_mask = (attention_mask == 0)[:, None, None, :]
        return (self.transformer(self.embeddings(input_ids), padding_mask),)


class DistilBertForSequenceClassification(nn.Module):
    def __init__(self, config: EncoderConfig) -> None:
        super().__init__()
        self.distilbert = DistilBertModel(config)
        self.pre_classifier = nn.Linear(config.hidden_size, config.hidden_size)
        self.classifier = nn.Linear(config.hidden_size, config.num_labels)
        self.dropout = nn.Dropout(config.sequence_classifier_dropout)

    def forward(self, input_ids: Tensor, attention_mask: Tensor) -> Tensor:
        first_token = self.distilbert(input_ids, attention_mask)[0][:, 0]
        return self.classifier(self.dropout(torch.relu(self.pre_classifier(first_token))))


class DistilBertForTokenClassification(nn.Module):
    def __init__(self, config: EncoderConfig) -> None:
        super().__init__()
        self.distilbert = DistilBertModel(config)
        self.dropout = nn.Dropout(config.token_classifier_dropout)
        self.classifier = nn.Linear(config.hidden_size, config.num_labels)

    def forward(self, input_ids: Tensor, attention_mask: Tensor) -> Tensor:
        return self.classifier(self.dropout(self.distilbert(input_ids, attention_mask)[0]))


class DistilBertForQuestionAnswering(nn.Module):
    def __init__(self, config: EncoderConfig) -> None:
        super().__init__()
        self.distilbert = DistilBertModel(config)
        self.qa_outputs = nn.Linear(config.hidden_size, 2)
        self.dropout = nn.Dropout(config.qa_dropout)

    def forward(self, input_ids: Tensor, attention_mask: Tensor) -> Tuple[Tensor, Tensor]:
        hidden_states = self.dropout(self.distilbert(input_ids, attention_mask)[0])
        return _split_span_logits(self.qa_outputs(hidden_states))


# --------------------------------------------------------------------------------------------------------------
# Building and loading
# --------------------------------------------------------------------------------------------------------------

_MODEL_CLASSES: Dict[str, Dict[str, Type[nn.Module]]] = {
    "bert": {
        "base": BertModel,
        "sequence-classification": BertForSequenceClassification,
        "token-classification": BertForTokenClassification,
        "question-answering": BertForQuestionAnswering,
    },
    "roberta": {
        "base": RobertaModel,
        "sequence-classification": RobertaForSequenceClassification,
        "token-classification": RobertaForTokenClassification,
        "question-answering": RobertaForQuestionAnswering,
    },
    "distilbert": {
        "base": DistilBertModel,
        "sequence-classification": DistilBertForSequenceClassification,
        "token-classification": DistilBertForTokenClassification,
        "question-answering": DistilBertForQuestionAnswering,
    },
}


def input_names(model_type: str) -> List[str]:
    """The forward argument names of a model type, in order."""
    if model_type == "distilbert":
        return ["input_ids", "attention_mask"]
    return ["input_ids", "attention_mask", "token_type_ids"]


def build_model(config: Mapping[str, Any] | EncoderConfig, task: str) -> nn.Module:
    """An untrained model for a transformers config.json dict (or EncoderConfig) and task, in eval mode.

    Weights are initialised like transformers' _init_weights, so the model can be trained as is or filled with
    `load_hf_state_dict`.
    """
    _check_task(task)
    encoder_config = config if isinstance(config, EncoderConfig) else EncoderConfig.from_hf(config)
    model = _MODEL_CLASSES[encoder_config.model_type][task](encoder_config)
    init_weights(model, encoder_config.initializer_range)
    return model.eval()


def init_weights(model: nn.Module, std: float) -> None:
    """transformers' _init_weights: normal(0, std) weights, zero biases and padding rows, LayerNorm 1 and 0."""
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, nn.Linear):
                module.weight.normal_(mean=0.0, std=std)
                module.bias.zero_()
            elif isinstance(module, nn.Embedding):
                module.weight.normal_(mean=0.0, std=std)
                if module.padding_idx is not None:
                    module.weight[module.padding_idx].zero_()
            elif isinstance(module, nn.LayerNorm):
                module.weight.fill_(1.0)
                module.bias.zero_()


def load_hf_state_dict(model: nn.Module, state_dict: Mapping[str, Tensor]) -> None:
    """Loads a transformers state dict strictly, tolerating only the buffers named in TOLERATED_BUFFERS.

    The tolerated keys are `<embeddings path>.position_ids` and `<embeddings path>.token_type_ids`, where the
    embeddings path is that of this model (e.g. `bert.embeddings`). Any other missing or unexpected key, or a
    shape mismatch, raises RuntimeError from torch's load_state_dict.
    """
    tolerated = {
        f"{name}.{buffer}"
        for name, module in model.named_modules()
        if isinstance(module, (BertEmbeddings, DistilBertEmbeddings))
        for buffer in TOLERATED_BUFFERS
    }
    model.load_state_dict({k: v for k, v in state_dict.items() if k not in tolerated}, strict=True)
