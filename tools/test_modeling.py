"""Checks tools/modeling.py against what transformers produces, without transformers installed.

    /usr/bin/python3 tools/test_modeling.py        # exits non-zero on any failure

- state_dict keys (and BERT's shapes) equal transformers' for 1-layer base-sized models, written out below;
- load_hf_state_dict tolerates only the documented buffers;
- a BERT and a DistilBERT layer match torch's own nn.TransformerEncoderLayer (an independent implementation of the
  same post-LayerNorm block) given the same weights, and a whole BERT matches a reference written with F.* ops;
- padding does not change the outputs of real tokens; RoBERTa position ids follow transformers' rule;
- traced modules give the eager outputs at shapes other than the trace example.
"""

from __future__ import annotations

import math
import sys
import unittest
from pathlib import Path
from typing import Dict, List, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
import modeling  # noqa: E402
from modeling import EncoderConfig, build_model, input_names, load_hf_state_dict, to_hf_config  # noqa: E402

# One-layer versions of bert-base-uncased, roberta-base and distilbert-base-uncased.
BERT_BASE_1L = {"model_type": "bert", "num_hidden_layers": 1}
ROBERTA_BASE_1L = {
    "model_type": "roberta",
    "vocab_size": 50265,
    "max_position_embeddings": 514,
    "type_vocab_size": 1,
    "layer_norm_eps": 1e-5,
    "pad_token_id": 1,
    "num_hidden_layers": 1,
}
DISTILBERT_BASE_1L = {"model_type": "distilbert", "n_layers": 1}

# transformers' BertModel state_dict for BERT_BASE_1L (position_ids excluded: persistent only before 4.31).
BERT_MODEL_KEYS: List[Tuple[str, Tuple[int, ...]]] = [
    ("embeddings.word_embeddings.weight", (30522, 768)),
    ("embeddings.position_embeddings.weight", (512, 768)),
    ("embeddings.token_type_embeddings.weight", (2, 768)),
    ("embeddings.LayerNorm.weight", (768,)),
    ("embeddings.LayerNorm.bias", (768,)),
    ("encoder.layer.0.attention.self.query.weight", (768, 768)),
    ("encoder.layer.0.attention.self.query.bias", (768,)),
    ("encoder.layer.0.attention.self.key.weight", (768, 768)),
    ("encoder.layer.0.attention.self.key.bias", (768,)),
    ("encoder.layer.0.attention.self.value.weight", (768, 768)),
    ("encoder.layer.0.attention.self.value.bias", (768,)),
    ("encoder.layer.0.attention.output.dense.weight", (768, 768)),
    ("encoder.layer.0.attention.output.dense.bias", (768,)),
    ("encoder.layer.0.attention.output.LayerNorm.weight", (768,)),
    ("encoder.layer.0.attention.output.LayerNorm.bias", (768,)),
    ("encoder.layer.0.intermediate.dense.weight", (3072, 768)),
    ("encoder.layer.0.intermediate.dense.bias", (3072,)),
    ("encoder.layer.0.output.dense.weight", (768, 3072)),
    ("encoder.layer.0.output.dense.bias", (768,)),
    ("encoder.layer.0.output.LayerNorm.weight", (768,)),
    ("encoder.layer.0.output.LayerNorm.bias", (768,)),
    ("pooler.dense.weight", (768, 768)),
    ("pooler.dense.bias", (768,)),
]
POOLER_KEYS = ["pooler.dense.weight", "pooler.dense.bias"]
BERT_ENCODER_KEYS = [key for key, _ in BERT_MODEL_KEYS if key not in POOLER_KEYS]

DISTILBERT_MODEL_KEYS = [
    "embeddings.word_embeddings.weight",
    "embeddings.position_embeddings.weight",
    "embeddings.LayerNorm.weight",
    "embeddings.LayerNorm.bias",
    "transformer.layer.0.attention.q_lin.weight",
    "transformer.layer.0.attention.q_lin.bias",
    "transformer.layer.0.attention.k_lin.weight",
    "transformer.layer.0.attention.k_lin.bias",
    "transformer.layer.0.attention.v_lin.weight",
    "transformer.layer.0.attention.v_lin.bias",
    "transformer.layer.0.attention.out_lin.weight",
    "transformer.layer.0.attention.out_lin.bias",
    "transformer.layer.0.sa_layer_norm.weight",
    "transformer.layer.0.sa_layer_norm.bias",
    "transformer.layer.0.ffn.lin1.weight",
    "transformer.layer.0.ffn.lin1.bias",
    "transformer.layer.0.ffn.lin2.weight",
    "transformer.layer.0.ffn.lin2.bias",
    "transformer.layer.0.output_layer_norm.weight",
    "transformer.layer.0.output_layer_norm.bias",
]


def prefixed(prefix: str, keys: List[str]) -> List[str]:
    return [f"{prefix}.{key}" for key in keys]


BERT_MODEL_KEY_NAMES = [key for key, _ in BERT_MODEL_KEYS]
EXPECTED_KEYS: Dict[Tuple[str, str], List[str]] = {
    ("bert", "base"): BERT_MODEL_KEY_NAMES,
    ("bert", "sequence-classification"): prefixed("bert", BERT_MODEL_KEY_NAMES)
    + ["classifier.weight", "classifier.bias"],
    # transformers builds these two heads with add_pooling_layer=False.
    ("bert", "token-classification"): prefixed("bert", BERT_ENCODER_KEYS) + ["classifier.weight", "classifier.bias"],
    ("bert", "question-answering"): prefixed("bert", BERT_ENCODER_KEYS) + ["qa_outputs.weight", "qa_outputs.bias"],
    ("roberta", "base"): BERT_MODEL_KEY_NAMES,
    # RoBERTa's heads never have the pooler; its classification head is dense + out_proj.
    ("roberta", "sequence-classification"): prefixed("roberta", BERT_ENCODER_KEYS)
    + ["classifier.dense.weight", "classifier.dense.bias", "classifier.out_proj.weight", "classifier.out_proj.bias"],
    ("roberta", "token-classification"): prefixed("roberta", BERT_ENCODER_KEYS)
    + ["classifier.weight", "classifier.bias"],
    ("roberta", "question-answering"): prefixed("roberta", BERT_ENCODER_KEYS)
    + ["qa_outputs.weight", "qa_outputs.bias"],
    ("distilbert", "base"): DISTILBERT_MODEL_KEYS,
    ("distilbert", "sequence-classification"): prefixed("distilbert", DISTILBERT_MODEL_KEYS)
    + ["pre_classifier.weight", "pre_classifier.bias", "classifier.weight", "classifier.bias"],
    ("distilbert", "token-classification"): prefixed("distilbert", DISTILBERT_MODEL_KEYS)
    + ["classifier.weight", "classifier.bias"],
    ("distilbert", "question-answering"): prefixed("distilbert", DISTILBERT_MODEL_KEYS)
    + ["qa_outputs.weight", "qa_outputs.bias"],
}
ARCHITECTURE_PREFIXES = {"bert": "Bert", "roberta": "Roberta", "distilbert": "DistilBert"}
ARCHITECTURE_SUFFIXES = {
    "base": "Model",
    "sequence-classification": "ForSequenceClassification",
    "token-classification": "ForTokenClassification",
    "question-answering": "ForQuestionAnswering",
}
BASE_1L_CONFIGS = {"bert": BERT_BASE_1L, "roberta": ROBERTA_BASE_1L, "distilbert": DISTILBERT_BASE_1L}


def tiny_config(model_type: str, num_labels: int = 3) -> Dict[str, object]:
    common = {"model_type": model_type, "vocab_size": 99, "max_position_embeddings": 40}
    labels = {"id2label": {str(i): f"L{i}" for i in range(num_labels)}}
    if model_type == "distilbert":
        return {**common, **labels, "dim": 24, "n_layers": 2, "n_heads": 3, "hidden_dim": 40}
    sizes = {"hidden_size": 24, "num_hidden_layers": 2, "num_attention_heads": 3, "intermediate_size": 40}
    if model_type == "roberta":
        # Like roberta-base's 514: positions start at pad_token_id + 1, so 40 tokens need 42 rows.
        roberta = {"max_position_embeddings": 42, "type_vocab_size": 1, "pad_token_id": 1, "layer_norm_eps": 1e-5}
        return {**common, **labels, **sizes, **roberta}
    return {**common, **labels, **sizes}


def randomized(model: nn.Module, seed: int) -> nn.Module:
    """Random values everywhere, including biases and LayerNorm, so a wrong wiring cannot hide behind 0 or 1."""
    torch.manual_seed(seed)
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.normal_(0.0, 0.3)
    return model.eval()


def tiny_inputs(model_type: str, batch: int, seq: int, seed: int) -> Dict[str, Tensor]:
    """Random ids; the last row is padded (with the pad id) to half length, the first has a second segment."""
    generator = torch.Generator().manual_seed(seed)
    pad_id = 1 if model_type == "roberta" else 0
    input_ids = torch.randint(3, 99, (batch, seq), generator=generator)
    attention_mask = torch.ones(batch, seq, dtype=torch.long)
    token_type_ids = torch.zeros(batch, seq, dtype=torch.long)
    if batch > 1:
        attention_mask[-1, max(1, seq // 2):] = 0
        input_ids[-1, max(1, seq // 2):] = pad_id
    if model_type == "bert":
        token_type_ids[0, seq // 2:] = 1
    inputs = {"input_ids": input_ids, "attention_mask": attention_mask, "token_type_ids": token_type_ids}
    return {name: inputs[name] for name in input_names(model_type)}


def as_tuple(result: object) -> Tuple[Tensor, ...]:
    return (result,) if isinstance(result, Tensor) else tuple(result)  # type: ignore[arg-type]


def max_diff(a: object, b: object) -> float:
    return max((x - y).abs().max().item() for x, y in zip(as_tuple(a), as_tuple(b)))


class StateDictKeys(unittest.TestCase):
    def test_keys_match_transformers(self) -> None:
        for (model_type, task), expected in EXPECTED_KEYS.items():
            with self.subTest(model_type=model_type, task=task):
                model = build_model(BASE_1L_CONFIGS[model_type], task)
                self.assertEqual(list(model.state_dict().keys()), expected)

    def test_bert_shapes_match_transformers(self) -> None:
        model = build_model(BERT_BASE_1L, "base")
        self.assertEqual([(k, tuple(v.shape)) for k, v in model.state_dict().items()], BERT_MODEL_KEYS)

    def test_head_shapes(self) -> None:
        config = {**BERT_BASE_1L, "id2label": {"0": "a", "1": "b", "2": "c"}}
        self.assertEqual(build_model(config, "sequence-classification").classifier.weight.shape, (3, 768))
        self.assertEqual(build_model(config, "question-answering").qa_outputs.weight.shape, (2, 768))
        roberta = build_model(ROBERTA_BASE_1L, "base").state_dict()
        self.assertEqual(roberta["embeddings.position_embeddings.weight"].shape, (514, 768))
        self.assertEqual(roberta["embeddings.token_type_embeddings.weight"].shape, (1, 768))


class LoadStateDict(unittest.TestCase):
    def setUp(self) -> None:
        self.model = build_model(tiny_config("bert"), "sequence-classification")
        self.source = randomized(build_model(tiny_config("bert"), "sequence-classification"), seed=1).state_dict()

    def test_exact_state_dict_loads(self) -> None:
        load_hf_state_dict(self.model, self.source)
        for key, value in self.model.state_dict().items():
            self.assertTrue(torch.equal(value, self.source[key]), key)

    def test_tolerates_position_and_token_type_buffers(self) -> None:
        buffers = {
            "bert.embeddings.position_ids": torch.arange(40).unsqueeze(0),
            "bert.embeddings.token_type_ids": torch.zeros(1, 40, dtype=torch.long),
        }
        load_hf_state_dict(self.model, {**self.source, **buffers})

    def test_rejects_other_unexpected_keys(self) -> None:
        for key in ("cls.predictions.bias", "embeddings.position_ids", "bert.encoder.position_ids"):
            with self.subTest(key=key), self.assertRaisesRegex(RuntimeError, "Unexpected key"):
                load_hf_state_dict(self.model, {**self.source, key: torch.zeros(1)})

    def test_rejects_missing_keys(self) -> None:
        partial = {k: v for k, v in self.source.items() if k != "classifier.bias"}
        with self.assertRaisesRegex(RuntimeError, "Missing key"):
            load_hf_state_dict(self.model, partial)

    def test_rejects_wrong_shapes(self) -> None:
        wrong = {**self.source, "classifier.weight": torch.zeros(2, 24)}
        with self.assertRaisesRegex(RuntimeError, "size mismatch"):
            load_hf_state_dict(self.model, wrong)


class Configs(unittest.TestCase):
    def test_round_trip(self) -> None:
        for model_type in ("bert", "roberta", "distilbert"):
            for task in modeling.TASKS:
                with self.subTest(model_type=model_type, task=task):
                    config = EncoderConfig.from_hf(tiny_config(model_type))
                    hf = to_hf_config(config, task)
                    architecture = ARCHITECTURE_PREFIXES[model_type] + ARCHITECTURE_SUFFIXES[task]
                    self.assertEqual(hf["architectures"], [architecture])
                    reread = EncoderConfig.from_hf(hf)
                    if task in ("sequence-classification", "token-classification"):
                        self.assertEqual(reread, config)
                        self.assertEqual(hf["id2label"], {"0": "L0", "1": "L1", "2": "L2"})
                    else:
                        self.assertEqual(reread.hidden_size, config.hidden_size)

    def test_distilbert_names_and_defaults(self) -> None:
        config = EncoderConfig.from_hf({"model_type": "distilbert"})
        self.assertEqual(
            (config.hidden_size, config.num_hidden_layers, config.num_attention_heads, config.intermediate_size),
            (768, 6, 12, 3072),
        )
        self.assertEqual((config.layer_norm_eps, config.num_labels), (1e-12, 2))

    def test_num_labels_without_id2label(self) -> None:
        self.assertEqual(EncoderConfig.from_hf({"model_type": "bert", "num_labels": 4}).id2label[3], "LABEL_3")

    def test_rejects_unsupported(self) -> None:
        for bad in (
            {"model_type": "gpt2"},
            {"model_type": "bert", "hidden_act": "swish"},
            {"model_type": "bert", "position_embedding_type": "relative_key"},
            {"model_type": "bert", "hidden_size": 100},
        ):
            with self.subTest(config=bad), self.assertRaises(ValueError):
                EncoderConfig.from_hf(bad)


def encoder_layer_reference(
    d_model: int, nhead: int, ffn: int, eps: float, attention: Tuple[nn.Linear, ...], out: nn.Linear,
    norm1: nn.LayerNorm, lin1: nn.Linear, lin2: nn.Linear, norm2: nn.LayerNorm,
) -> nn.TransformerEncoderLayer:
    """torch's post-LayerNorm encoder layer carrying the given weights (attention = query, key, value)."""
    layer = nn.TransformerEncoderLayer(d_model, nhead, ffn, dropout=0.0, activation="gelu", layer_norm_eps=eps,
                                       batch_first=True, norm_first=False)
    with torch.no_grad():
        layer.self_attn.in_proj_weight.copy_(torch.cat([linear.weight for linear in attention]))
        layer.self_attn.in_proj_bias.copy_(torch.cat([linear.bias for linear in attention]))
        for target, source in ((layer.self_attn.out_proj, out), (layer.linear1, lin1), (layer.linear2, lin2),
                               (layer.norm1, norm1), (layer.norm2, norm2)):
            target.weight.copy_(source.weight)
            target.bias.copy_(source.bias)
    return layer.eval()


class Numerics(unittest.TestCase):
    # Gradients stay enabled in these checks: without them nn.TransformerEncoderLayer takes its fused fast path,
    # which is a different kernel and zeroes padded positions.

    def test_bert_layer_matches_torch_encoder_layer(self) -> None:
        config = EncoderConfig.from_hf(tiny_config("bert"))
        layer = randomized(modeling.BertLayer(config), seed=2)
        attention = layer.attention
        reference = encoder_layer_reference(
            24, 3, 40, config.layer_norm_eps,
            (attention.self.query, attention.self.key, attention.self.value), attention.output.dense,
            attention.output.LayerNorm, layer.intermediate.dense, layer.output.dense, layer.output.LayerNorm,
        )
        x = torch.randn(3, 7, 24)
        mask = torch.ones(3, 7, dtype=torch.long)
        mask[1, 4:] = 0
        ours = layer(x, modeling.additive_attention_mask(mask, x.dtype))
        theirs = reference(x, src_key_padding_mask=mask == 0)
        self.assertLess(max_diff(ours, theirs), 1e-5)

    def test_distilbert_block_matches_torch_encoder_layer(self) -> None:
        config = EncoderConfig.from_hf(tiny_config("distilbert"))
        block = randomized(modeling.DistilBertBlock(config), seed=3)
        a = block.attention
        reference = encoder_layer_reference(
            24, 3, 40, config.layer_norm_eps, (a.q_lin, a.k_lin, a.v_lin), a.out_lin, block.sa_layer_norm,
            block.ffn.lin1, block.ffn.lin2, block.output_layer_norm,
        )
        x = torch.randn(3, 7, 24)
        mask = torch.ones(3, 7, dtype=torch.long)
        mask[2, 2:] = 0
        ours = block(x, (mask == 0)[:, None, None, :])
        theirs = reference(x, src_key_padding_mask=mask == 0)
        self.assertLess(max_diff(ours, theirs), 1e-5)

    def test_bert_matches_functional_reference(self) -> None:
        model = randomized(build_model(tiny_config("bert"), "base"), seed=4)
        inputs = tiny_inputs("bert", 3, 9, seed=5)
        p = {k: v for k, v in model.state_dict().items()}
        ids, mask, types = inputs["input_ids"], inputs["attention_mask"], inputs["token_type_ids"]
        eps, heads, head_dim = 1e-12, 3, 8

        def linear(x: Tensor, name: str) -> Tensor:
            return x @ p[f"{name}.weight"].T + p[f"{name}.bias"]

        def layer_norm(x: Tensor, name: str) -> Tensor:
            return F.layer_norm(x, (24,), p[f"{name}.weight"], p[f"{name}.bias"], eps)

        h = p["embeddings.word_embeddings.weight"][ids] + p["embeddings.token_type_embeddings.weight"][types]
        h = layer_norm(h + p["embeddings.position_embeddings.weight"][: ids.shape[1]], "embeddings.LayerNorm")
        for i in range(2):
            prefix = f"encoder.layer.{i}"
            q, k, v = (linear(h, f"{prefix}.attention.self.{n}").view(3, 9, heads, head_dim).transpose(1, 2)
                       for n in ("query", "key", "value"))
            scores = q @ k.transpose(-1, -2) / math.sqrt(head_dim)
            scores = scores.masked_fill((mask == 0)[:, None, None, :], float("-inf"))
            context = (scores.softmax(-1) @ v).transpose(1, 2).reshape(3, 9, 24)
            attention = linear(context, f"{prefix}.attention.output.dense")
            h = layer_norm(attention + h, f"{prefix}.attention.output.LayerNorm")
            ffn = linear(F.gelu(linear(h, f"{prefix}.intermediate.dense")), f"{prefix}.output.dense")
            h = layer_norm(ffn + h, f"{prefix}.output.LayerNorm")
        pooled = torch.tanh(linear(h[:, 0], "pooler.dense"))
        with torch.no_grad():
            self.assertLess(max_diff(model(**inputs), (h, pooled)), 1e-5)

    def test_heads_match_reference(self) -> None:
        """Each head recomputed from its encoder's output with F.linear on the state dict."""
        for model_type in ("bert", "roberta", "distilbert"):
            for task in ("sequence-classification", "token-classification", "question-answering"):
                with self.subTest(model_type=model_type, task=task), torch.no_grad():
                    model = randomized(build_model(tiny_config(model_type), task), seed=10)
                    inputs = tiny_inputs(model_type, 3, 6, seed=11)
                    p = model.state_dict()
                    encoder_outputs = getattr(model, model_type)(**inputs)
                    h = encoder_outputs[0]
                    if task == "token-classification":
                        expected: Tuple[Tensor, ...] = (F.linear(h, p["classifier.weight"], p["classifier.bias"]),)
                    elif task == "question-answering":
                        logits = F.linear(h, p["qa_outputs.weight"], p["qa_outputs.bias"])
                        expected = (logits[..., 0], logits[..., 1])
                    elif model_type == "bert":
                        pooled = encoder_outputs[1]
                        expected = (F.linear(pooled, p["classifier.weight"], p["classifier.bias"]),)
                    elif model_type == "roberta":
                        x = torch.tanh(F.linear(h[:, 0], p["classifier.dense.weight"], p["classifier.dense.bias"]))
                        expected = (F.linear(x, p["classifier.out_proj.weight"], p["classifier.out_proj.bias"]),)
                    else:
                        x = torch.relu(F.linear(h[:, 0], p["pre_classifier.weight"], p["pre_classifier.bias"]))
                        expected = (F.linear(x, p["classifier.weight"], p["classifier.bias"]),)
                    result = as_tuple(model(**inputs))
                    self.assertEqual([t.shape for t in result], [t.shape for t in expected])
                    self.assertLess(max_diff(result, expected), 1e-6)

    def test_roberta_position_ids(self) -> None:
        embeddings = modeling.RobertaEmbeddings(EncoderConfig.from_hf(tiny_config("roberta")))
        ids = torch.tensor([[0, 31, 41, 2, 1, 1], [0, 5, 2, 1, 1, 1]])
        self.assertEqual(embeddings.position_ids(ids).tolist(), [[2, 3, 4, 5, 1, 1], [2, 3, 4, 1, 1, 1]])

    def test_padding_does_not_change_real_tokens(self) -> None:
        for model_type in ("bert", "roberta", "distilbert"):
            pad_id = 1 if model_type == "roberta" else 0
            for task in modeling.TASKS:
                with self.subTest(model_type=model_type, task=task), torch.no_grad():
                    model = randomized(build_model(tiny_config(model_type), task), seed=6)
                    short = tiny_inputs(model_type, 1, 5, seed=7)
                    padded = {name: F.pad(t, (0, 4), value=pad_id if name == "input_ids" else 0)
                              for name, t in short.items()}
                    for ours, theirs in zip(as_tuple(model(**short)), as_tuple(model(**padded))):
                        # Per-token outputs keep their length on the sequence axis; pooled ones have none.
                        if ours.dim() >= 2 and ours.shape[1] == 5:
                            theirs = theirs[:, :5]
                        self.assertLess((ours - theirs).abs().max().item(), 1e-5)


class Tracing(unittest.TestCase):
    def test_traced_modules_follow_batch_and_sequence_length(self) -> None:
        for model_type in ("bert", "roberta", "distilbert"):
            for task in modeling.TASKS:
                with self.subTest(model_type=model_type, task=task), torch.no_grad():
                    model = randomized(build_model(tiny_config(model_type), task), seed=8)
                    example = tuple(tiny_inputs(model_type, 2, 8, seed=9).values())
                    traced = torch.jit.trace(model, example)
                    for batch, seq in ((1, 3), (4, 17), (3, 40)):
                        inputs = tiny_inputs(model_type, batch, seq, seed=batch * seq)
                        self.assertEqual(max_diff(traced(**inputs), model(**inputs)), 0.0)
                    argument_names = [a.name for a in traced.forward.schema.arguments][1:]
                    self.assertEqual(argument_names, input_names(model_type))


if __name__ == "__main__":
    unittest.main()
