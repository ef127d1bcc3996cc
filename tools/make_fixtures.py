"""Generates the tiny TorchScript BERT models and golden outputs that the JS and native tests compare against.

Run with the Python of the runtime under test (`npm run fixtures` picks it: the project venv's torch 2.13 by default,
Debian's /usr/bin/python3 for its libtorch 1.13), so the goldens come from the torch the addon links:
    .venv/bin/python tools/make_fixtures.py [--out test/fixtures/generated/libtorch-2.13]
    .venv/bin/python tools/make_fixtures.py --bert-base /tmp/bert-base    # BERT-base-shaped model for timing

Each fixture folder is a complete Hugging Face model directory, usable by this library and by transformers.js:
    model.pt               torch.jit.trace of a tools/modeling.py model (random weights)
    config.json            transformers style (model_type, architectures, id2label/label2id, problem_type, ...)
    tokenizer.json         bert-base-uncased's (BERT folders); RoBERTa folders instead hold vocab.json + merges.txt
    tokenizer_config.json  model_max_length, special tokens, tokenizer_class
    onnx/model.onnx        torch.onnx.export (opset 14, dynamic batch and sequence) of the same eager model, with
                           the input and output names transformers.js expects (BERT folders only)
    goldens.json           Python torch outputs of model.pt on fixed inputs
The goldens are computed by loading model.pt back with torch.jit.load, so they describe the file the tests load,
not the Python module it came from. Every traced model is also run at shapes other than its trace example and
compared with the eager module; any mismatch exits non-zero. manifest.json lists the folders, their files, input
names and the ONNX output names that correspond, in order, to goldens.json's outputNames.

Weights: encoder Linear weights use std ENCODER_STD (not BERT's 0.02) so attention really mixes tokens and a
wrong mask, position or token type shows in the outputs; classifier / qa_outputs weights use HEAD_STD, and
classifier biases are calibrated so every label wins for some inputs (see calibrate_head).

Output is deterministic (fixed seeds, no clock). The fixture folders return three different TorchScript output
kinds on purpose, so the tests cover each: base a Dict[str, Tensor], sequence- and token-classification (and
multi-label, regression, roberta-token-classification) a Tensor, question-answering a Tuple[Tensor, Tensor]. BERT
modules take (input_ids, attention_mask, token_type_ids); the RoBERTa one takes (input_ids, attention_mask).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import torch
from torch import Tensor, nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
from export_onnx import ONNX_OPSET, legacy_exporter_arguments  # noqa: E402
import modeling  # noqa: E402
from modeling import EncoderConfig, build_model, to_hf_config  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parent.parent
# One fixture set per libtorch minor release (the tag of lib/libtorch-discovery.ts), made by that torch.
DEFAULT_OUT = REPO_ROOT / "test" / "fixtures" / "generated" / ("libtorch-" + ".".join(torch.__version__.split(".")[:2]))
TOKENIZERS = REPO_ROOT / "test" / "fixtures" / "tokenizers"

# vocab_size is bert-base-uncased's, so its real tokenizer.json can drive these models.
TINY_BERT = {
    "model_type": "bert",
    "vocab_size": 30522,
    "hidden_size": 32,
    "num_hidden_layers": 2,
    "num_attention_heads": 2,
    "intermediate_size": 64,
    "max_position_embeddings": 128,
    "type_vocab_size": 2,
}
# roberta-base's vocabulary and special ids; positions are numbered from pad_token_id + 1, so 128 usable positions
# need 130 embeddings (roberta-base itself has 514 for 512 tokens).
TINY_ROBERTA = {
    "model_type": "roberta",
    "vocab_size": 50265,
    "hidden_size": 32,
    "num_hidden_layers": 2,
    "num_attention_heads": 2,
    "intermediate_size": 64,
    "max_position_embeddings": 130,
    "type_vocab_size": 1,
    "layer_norm_eps": 1e-5,
    "pad_token_id": 1,
}
BERT_BASE = {
    "model_type": "bert",
    "vocab_size": 30522,
    "hidden_size": 768,
    "num_hidden_layers": 12,
    "num_attention_heads": 12,
    "intermediate_size": 3072,
    "max_position_embeddings": 512,
    "type_vocab_size": 2,
}
# The longest token sequence each family's fixtures accept (tokenizer_config.json's model_max_length).
MODEL_MAX_LENGTH = 128

TOLERANCE = 1e-5
TRACE_SHAPE = (2, 8)
# Shapes that differ from TRACE_SHAPE in batch and sequence length, so a size baked into the trace shows up.
CHECK_SHAPES = ((1, 13), (3, 21))

# Weight scales (see the module docstring). Embeddings keep BERT's 0.02: LayerNorm follows them anyway.
ENCODER_STD = 0.2
HEAD_STD = 1.0
# Last name component of the task heads' final Linear layers (out_proj: RoBERTa's sequence classification head).
HEAD_NAMES = ("classifier", "qa_outputs", "out_proj")
CALIBRATION_SEED = 77
CALIBRATION_SHAPE = (256, 16)

Outputs = Union[Tensor, Tuple[Tensor, ...], Dict[str, Tensor]]


@dataclass(frozen=True)
class Family:
    """What differs between BERT and RoBERTa fixtures: architecture, vocabulary, special ids, tokenizer files."""

    hf: Dict[str, Any]
    pad_id: int
    # Ids that real rows start and end with ([CLS]/[SEP], <s>/</s>), and the range random ids are drawn from.
    bos_id: int
    eos_id: int
    random_ids: Tuple[int, int]
    # Forward arguments of the traced module, in order.
    inputs: Tuple[str, ...]
    tokenizer_files: Tuple[str, ...]
    tokenizer_dir: str


BERT = Family(
    hf=TINY_BERT,
    pad_id=0,
    bos_id=101,
    eos_id=102,
    # All of [0, vocab): random rows may hold [PAD] or [CLS] mid-row, which a model must take as it comes.
    random_ids=(0, TINY_BERT["vocab_size"]),
    inputs=("input_ids", "attention_mask", "token_type_ids"),
    tokenizer_files=("tokenizer.json",),
    tokenizer_dir="bert-base-uncased",
)
ROBERTA = Family(
    hf=TINY_ROBERTA,
    pad_id=1,
    bos_id=0,
    eos_id=2,
    # No special ids (<s> 0, <pad> 1, </s> 2, <unk> 3, <mask> 50264) inside rows: RoBERTa's position ids count the
    # non-pad tokens, so a stray pad id mid-row would be a different (legal but confusing) input.
    random_ids=(4, TINY_ROBERTA["vocab_size"] - 1),
    inputs=("input_ids", "attention_mask"),
    tokenizer_files=("vocab.json", "merges.txt"),
    tokenizer_dir="roberta-base",
)


@dataclass(frozen=True)
class Fixture:
    folder: str
    task: str
    labels: Optional[List[str]]
    returns: str  # "dict" | "tensor" | "tuple": the TorchScript output kind the tests expect
    seed: int
    family: Family = BERT
    problem_type: Optional[str] = None
    # Names of the ONNX outputs, in the order of goldens.json's outputNames; None: no ONNX export.
    onnx_outputs: Optional[Tuple[str, ...]] = None


NER_LABELS = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]
FIXTURES = (
    Fixture("base", "base", None, "dict", seed=1001, onnx_outputs=("last_hidden_state", "pooler_output")),
    Fixture(
        "sequence-classification", "sequence-classification", ["negative", "neutral", "positive"], "tensor", 1002,
        problem_type="single_label_classification", onnx_outputs=("logits",),
    ),
    Fixture("token-classification", "token-classification", NER_LABELS, "tensor", 1003, onnx_outputs=("logits",)),
    Fixture("question-answering", "question-answering", None, "tuple", seed=1004,
            onnx_outputs=("start_logits", "end_logits")),
    Fixture(
        "multi-label-classification", "sequence-classification", ["sports", "politics", "tech", "health"], "tensor",
        1005, problem_type="multi_label_classification", onnx_outputs=("logits",),
    ),
    Fixture("regression", "sequence-classification", ["LABEL_0"], "tensor", 1006, problem_type="regression",
            onnx_outputs=("logits",)),
    Fixture("roberta-token-classification", "token-classification", NER_LABELS, "tensor", 1007, family=ROBERTA),
)
BASE_OUTPUT_NAMES = ["last_hidden_state", "pooler_output"]


@dataclass(frozen=True)
class Case:
    """One golden input batch. lengths: real tokens per row (the rest is padding); splits: index where segment B
    (token type 1) starts in each row, or None for a single segment."""

    name: str
    lengths: Tuple[int, ...]
    splits: Tuple[Optional[int], ...]
    seq: int

    @property
    def dims(self) -> List[int]:
        return [len(self.lengths), self.seq]


CASES = (
    Case("one-row-no-padding", lengths=(8,), splits=(None,), seq=8),
    Case("pair-and-padding", lengths=(16, 11), splits=(9, 6), seq=16),
    Case("short-rows-padding", lengths=(5, 3, 1), splits=(3, None, None), seq=5),
    Case("long-mixed", lengths=(33, 20, 7, 33), splits=(None, 12, None, 17), seq=33),
    Case("single-token", lengths=(1,), splits=(None,), seq=1),
    Case("max-length-pair", lengths=(128,), splits=(64,), seq=128),
)
CASES_SEED = 2024


class DictOutputs(nn.Module):
    """Names a BERT model's tuple outputs, so the TorchScript returns Dict[str, Tensor]."""

    def __init__(self, model: nn.Module, names: Sequence[str]) -> None:
        super().__init__()
        self.model = model
        self.names = list(names)

    def forward(self, input_ids: Tensor, attention_mask: Tensor, token_type_ids: Tensor) -> Dict[str, Tensor]:
        return dict(zip(self.names, self.model(input_ids, attention_mask, token_type_ids)))


def make_inputs(case: Case, generator: torch.Generator, family: Family = BERT) -> Dict[str, Tensor]:
    """The family's forward inputs for `case`. BERT: random ids in [0, vocab) for real tokens (as they always
    were); RoBERTa: rows are <s> random-ids </s> (with </s></s> before segment B, as RoBERTa pairs are). Padding
    gets the pad id, mask 0 and token type 0."""
    batch, seq = case.dims
    input_ids = torch.randint(*family.random_ids, (batch, seq), generator=generator, dtype=torch.long)
    attention_mask = torch.zeros(batch, seq, dtype=torch.long)
    token_type_ids = torch.zeros(batch, seq, dtype=torch.long)
    for row, (length, split) in enumerate(zip(case.lengths, case.splits)):
        attention_mask[row, :length] = 1
        input_ids[row, length:] = family.pad_id
        if split is not None:
            token_type_ids[row, split:length] = 1
        if family is ROBERTA:
            input_ids[row, 0] = family.bos_id
            if length > 1:
                input_ids[row, length - 1] = family.eos_id
            if split is not None and split >= 3:
                input_ids[row, split - 2 : split] = family.eos_id
    tensors = {"input_ids": input_ids, "attention_mask": attention_mask, "token_type_ids": token_type_ids}
    return {name: tensors[name] for name in family.inputs}


def shape_case(batch: int, seq: int) -> Case:
    """A case of the given shape with padding on the last row and a segment split on the first."""
    lengths = tuple(seq if row < batch - 1 or batch == 1 else max(1, seq // 2) for row in range(batch))
    splits = tuple(seq // 2 if row == 0 and seq > 1 else None for row in range(batch))
    return Case(f"{batch}x{seq}", lengths=lengths, splits=splits, seq=seq)


def randomize(model: nn.Module, seed: int, std: float, head_std: Optional[float] = None) -> None:
    """Random weights with small random biases and LayerNorm parameters, so no parameter is a constant that
    would hide a wrong index or a skipped addition. Linear weights get `std`, except the task heads'
    (classifier / qa_outputs) which get `head_std` (default: std); embeddings get transformers' 0.02 at most."""
    torch.manual_seed(seed)
    with torch.no_grad():
        for name, module in model.named_modules():
            if isinstance(module, nn.Linear):
                is_head = name.split(".")[-1] in HEAD_NAMES
                module.weight.normal_(0.0, head_std if is_head and head_std is not None else std)
                module.bias.normal_(0.0, 0.05)
            elif isinstance(module, nn.Embedding):
                module.weight.normal_(0.0, min(std, 0.02))
                if module.padding_idx is not None:
                    module.weight[module.padding_idx].zero_()
            elif isinstance(module, nn.LayerNorm):
                module.weight.normal_(1.0, 0.05)
                module.bias.normal_(0.0, 0.05)


def calibration_inputs(family: Family) -> Dict[str, Tensor]:
    """Text-like rows: bos, random ids from the family's range, eos; single segment, no padding."""
    generator = torch.Generator().manual_seed(CALIBRATION_SEED)
    batch, seq = CALIBRATION_SHAPE
    ids = torch.randint(max(family.random_ids[0], 1000), family.random_ids[1], (batch, seq), generator=generator)
    ids[:, 0], ids[:, -1] = family.bos_id, family.eos_id
    ones, zeros = torch.ones_like(ids), torch.zeros_like(ids)
    tensors = {"input_ids": ids, "attention_mask": ones, "token_type_ids": zeros}
    return {name: tensors[name] for name in family.inputs}


def calibrate_head(model: nn.Module, family: Family) -> None:
    """Sets the classifier's bias so that each logit averages 0 over text-like inputs. With random weights one
    label otherwise tends to win for every input (one direction of the pooled vector dominates), and tests of
    top-k, label order, thresholds and aggregation need predictions that vary across inputs and tokens."""
    classifier = getattr(model, "classifier", None)
    if classifier is None:
        return
    if not isinstance(classifier, nn.Linear):  # RoBERTa's sequence head: calibrate its last layer
        classifier = classifier.out_proj
    captured: List[Tensor] = []
    handle = classifier.register_forward_hook(lambda _m, args, _out: captured.append(args[0].detach()))
    try:
        with torch.no_grad():
            model(**calibration_inputs(family))
    finally:
        handle.remove()
    features = captured[0].reshape(-1, classifier.in_features)
    with torch.no_grad():
        classifier.bias.copy_(-(features @ classifier.weight.T).mean(0))


def named_outputs(result: Outputs) -> List[Tuple[str, Tensor]]:
    """Outputs in the order the module returns them: dict keys, or output_0, output_1, ... otherwise."""
    if isinstance(result, dict):
        return list(result.items())
    if isinstance(result, Tensor):
        return [("output_0", result)]
    return [(f"output_{i}", tensor) for i, tensor in enumerate(result)]


def output_kind(result: Outputs) -> str:
    if isinstance(result, dict):
        return "dict"
    return "tensor" if isinstance(result, Tensor) else "tuple"


def max_abs_diff(a: Outputs, b: Outputs) -> float:
    named_a, named_b = named_outputs(a), named_outputs(b)
    if [(n, t.shape) for n, t in named_a] != [(n, t.shape) for n, t in named_b]:
        raise AssertionError(
            f"output names or shapes differ: {[(n, tuple(t.shape)) for n, t in named_a]} vs "
            f"{[(n, tuple(t.shape)) for n, t in named_b]}"
        )
    return max((ta - tb).abs().max().item() for (_, ta), (_, tb) in zip(named_a, named_b))


def check_against_eager(
    label: str, scripted: nn.Module, eager: nn.Module, cases: Sequence[Case], family: Family
) -> None:
    """Exits non-zero unless `scripted` matches `eager` within TOLERANCE on every case."""
    generator = torch.Generator().manual_seed(CASES_SEED)
    for case in cases:
        inputs = make_inputs(case, generator, family)
        with torch.inference_mode():
            try:
                scripted_outputs = scripted(**inputs)
            except RuntimeError as error:
                sys.exit(f"make_fixtures: FAILED: {label} cannot run at shape {case.dims} (a size baked into the "
                         f"trace?): {error}")
            diff = max_abs_diff(scripted_outputs, eager(**inputs))
        if not diff <= TOLERANCE:
            sys.exit(
                f"make_fixtures: FAILED: {label} differs from the eager module at shape {case.dims}: "
                f"max abs diff {diff:.3g} > {TOLERANCE} (a size baked into the trace?)"
            )


def trace(label: str, module: nn.Module, returns_dict: bool, family: Family) -> torch.jit.ScriptModule:
    """Traces at TRACE_SHAPE; check_trace re-traces at CHECK_SHAPES and compares graphs and outputs. The traced
    forward takes the family's inputs only (RoBERTa: input_ids, attention_mask)."""
    generator = torch.Generator().manual_seed(CASES_SEED)
    example = make_inputs(shape_case(*TRACE_SHAPE), generator, family)
    check_inputs = [tuple(make_inputs(shape_case(*shape), generator, family).values()) for shape in CHECK_SHAPES]
    try:
        with torch.no_grad():
            # strict=False is what lets a trace return a dict.
            return torch.jit.trace(
                module,
                tuple(example.values()),
                check_trace=True,
                check_inputs=check_inputs,
                check_tolerance=TOLERANCE,
                strict=not returns_dict,
            )
    except torch.jit.TracingCheckError as error:
        # The error embeds whole graph diffs; its head is enough to see what went wrong.
        details = str(error)[:3000]
        sys.exit(
            f"make_fixtures: FAILED: {label}: torch.jit.trace's check at shapes {list(CHECK_SHAPES)} failed "
            f"(a size baked into the trace?):\n{details}"
        )


def save_traced(label: str, module: nn.Module, returns_dict: bool, path: Path, family: Family = BERT) -> None:
    traced = trace(label, module, returns_dict, family)
    check_against_eager(
        f"{label} (traced)", traced, module, [shape_case(*shape) for shape in CHECK_SHAPES], family
    )
    torch.jit.save(traced, str(path))


def forward_argument_names(module: torch.jit.ScriptModule) -> List[str]:
    return [argument.name for argument in module.forward.schema.arguments[1:]]  # [0] is self


def export_onnx(label: str, model: nn.Module, output_names: Sequence[str], path: Path) -> None:
    """torch.onnx.export of the eager `model` (the weights model.pt was traced from) with int64 inputs
    input_ids, attention_mask, token_type_ids and the given output names, batch and sequence dynamic."""
    generator = torch.Generator().manual_seed(CASES_SEED)
    example = make_inputs(shape_case(*TRACE_SHAPE), generator, BERT)
    names = list(example)
    dynamic_axes: Dict[str, Dict[int, str]] = {name: {0: "batch", 1: "sequence"} for name in names}
    for name in output_names:
        # Per-token outputs have a sequence axis; pooler_output and sequence-level logits do not.
        per_token = name in ("last_hidden_state", "start_logits", "end_logits") or (
            name == "logits" and isinstance(model, modeling.BertForTokenClassification)
        )
        dynamic_axes[name] = {0: "batch", 1: "sequence"} if per_token else {0: "batch"}
    path.parent.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        # Export chatter about constant folding and tracer-converted sizes, all expected here.
        warnings.simplefilter("ignore")
        with torch.no_grad():
            torch.onnx.export(
                model,
                tuple(example.values()),
                str(path),
                input_names=names,
                output_names=list(output_names),
                dynamic_axes=dynamic_axes,
                opset_version=ONNX_OPSET,
                do_constant_folding=True,
                **legacy_exporter_arguments(),
            )
    if not path.exists() or path.stat().st_size == 0:
        sys.exit(f"make_fixtures: FAILED: {label}: torch.onnx.export wrote no {path}")


def write_json(path: Path, data: Any, indent: Optional[int] = 2) -> None:
    # allow_nan=False: a NaN golden would be a broken fixture, not a value to compare.
    text = json.dumps(data, indent=indent, allow_nan=False, separators=None if indent else (",", ":"))
    path.write_text(text + "\n", encoding="utf-8")


def compute_goldens(model_path: Path, eager: nn.Module, returns: str, family: Family = BERT) -> Dict[str, Any]:
    """Goldens from the saved file itself, run under inference_mode as the addon runs it. Exits non-zero if the
    file's outputs differ from the eager module's or are not of the `returns` kind."""
    loaded = torch.jit.load(str(model_path))
    arguments = forward_argument_names(loaded)
    if arguments != list(family.inputs):
        sys.exit(f"make_fixtures: FAILED: {model_path} takes {arguments}, expected {list(family.inputs)}")
    generator = torch.Generator().manual_seed(CASES_SEED)
    output_names: Optional[List[str]] = None
    cases = []
    for case in CASES:
        inputs = make_inputs(case, generator, family)
        with torch.inference_mode():
            result = loaded(**inputs)
            diff = max_abs_diff(result, eager(**inputs))
        if not diff <= TOLERANCE:
            sys.exit(f"make_fixtures: FAILED: {model_path} as loaded differs from the eager module on case "
                     f"{case.name}: max abs diff {diff:.3g} > {TOLERANCE}")
        if output_kind(result) != returns:
            sys.exit(f"make_fixtures: FAILED: {model_path} returns a {output_kind(result)}, expected a {returns}")
        named = named_outputs(result)
        if output_names is None:
            output_names = [name for name, _ in named]
        cases.append({
            "name": case.name,
            "dims": case.dims,
            **{name: tensor.flatten().tolist() for name, tensor in inputs.items()},
            # tolist() yields Python floats holding the exact float32 values; json writes their repr.
            "outputs": {name: {"dims": list(t.shape), "data": t.flatten().tolist()} for name, t in named},
        })
    return {"inputNames": arguments, "outputNames": output_names, "cases": cases}


def special_token(content: str, lstrip: bool = False) -> Dict[str, Any]:
    return {"content": content, "lstrip": lstrip, "normalized": False, "rstrip": False, "single_word": False,
            "special": True}


def tokenizer_config(family: Family) -> Dict[str, Any]:
    """tokenizer_config.json as transformers (>= 4.34) writes it for bert-base-uncased / roberta-base, with
    model_max_length set to what the fixtures' position embeddings allow."""
    if family is BERT:
        specials = {"pad_token": "[PAD]", "unk_token": "[UNK]", "cls_token": "[CLS]", "sep_token": "[SEP]",
                    "mask_token": "[MASK]"}
        return {
            "added_tokens_decoder": {
                "0": special_token("[PAD]"),
                "100": special_token("[UNK]"),
                "101": special_token("[CLS]"),
                "102": special_token("[SEP]"),
                "103": special_token("[MASK]"),
            },
            "clean_up_tokenization_spaces": True,
            **specials,
            "do_lower_case": True,
            "model_max_length": MODEL_MAX_LENGTH,
            "strip_accents": None,
            "tokenize_chinese_chars": True,
            "tokenizer_class": "BertTokenizer",
        }
    return {
        "add_prefix_space": False,
        "added_tokens_decoder": {
            "0": special_token("<s>"),
            "1": special_token("<pad>"),
            "2": special_token("</s>"),
            "3": special_token("<unk>"),
            "50264": special_token("<mask>", lstrip=True),
        },
        "bos_token": "<s>",
        "clean_up_tokenization_spaces": True,
        "cls_token": "<s>",
        "eos_token": "</s>",
        "errors": "replace",
        "mask_token": "<mask>",
        "model_max_length": MODEL_MAX_LENGTH,
        "pad_token": "<pad>",
        "sep_token": "</s>",
        "tokenizer_class": "RobertaTokenizer",
        "trim_offsets": True,
        "unk_token": "<unk>",
    }


def fixture_hf_config(fixture: Fixture, config: EncoderConfig) -> Dict[str, Any]:
    hf = to_hf_config(config, fixture.task)
    if fixture.problem_type is not None:
        hf["problem_type"] = fixture.problem_type
    elif "problem_type" in hf:
        del hf["problem_type"]
    if fixture.family is ROBERTA:
        hf["bos_token_id"] = ROBERTA.bos_id
        hf["eos_token_id"] = ROBERTA.eos_id
    return hf


def parameter_count(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def summary(path: Path, module: nn.Module, extra: str = "") -> str:
    size_mb = path.stat().st_size / 1e6
    return f"{path}  params={parameter_count(module):,}  size={size_mb:.2f} MB{extra}"


def make_fixture(fixture: Fixture, out: Path) -> Dict[str, Any]:
    family = fixture.family
    hf_config: Dict[str, Any] = dict(family.hf)
    if fixture.labels is not None:
        hf_config["id2label"] = {str(i): label for i, label in enumerate(fixture.labels)}
    config = EncoderConfig.from_hf(hf_config)
    model = build_model(config, fixture.task)
    randomize(model, fixture.seed, ENCODER_STD, HEAD_STD)
    calibrate_head(model, family)
    to_trace = DictOutputs(model, BASE_OUTPUT_NAMES).eval() if fixture.returns == "dict" else model

    folder = out / fixture.folder
    if folder.exists():
        shutil.rmtree(folder)  # no stale files from an earlier layout
    folder.mkdir(parents=True)
    model_path = folder / "model.pt"
    save_traced(fixture.folder, to_trace, fixture.returns == "dict", model_path, family)
    write_json(folder / "config.json", fixture_hf_config(fixture, config))
    for name in family.tokenizer_files:
        shutil.copyfile(TOKENIZERS / family.tokenizer_dir / name, folder / name)
    write_json(folder / "tokenizer_config.json", tokenizer_config(family))
    goldens = compute_goldens(model_path, to_trace, fixture.returns, family)
    write_json(folder / "goldens.json", goldens, indent=None)
    onnx: Optional[Dict[str, Any]] = None
    if fixture.onnx_outputs is not None:
        onnx_path = folder / "onnx" / "model.onnx"
        export_onnx(fixture.folder, model, fixture.onnx_outputs, onnx_path)
        onnx = {
            "file": "onnx/model.onnx",
            "opset": ONNX_OPSET,
            "inputNames": list(BERT.inputs),
            # outputNames[i] holds what goldens.json calls outputNames[i].
            "outputNames": list(fixture.onnx_outputs),
            "goldenOutputNames": goldens["outputNames"],
        }
    goldens_kb = (folder / "goldens.json").stat().st_size / 1e3
    onnx_note = f"  onnx={(folder / 'onnx' / 'model.onnx').stat().st_size / 1e6:.2f} MB" if onnx else ""
    print(summary(model_path, model, f"  returns={fixture.returns}  goldens.json={goldens_kb:.0f} kB{onnx_note}"))
    return {
        "name": fixture.folder,
        "task": fixture.task,
        "returns": fixture.returns,
        "modelType": config.model_type,
        "problemType": fixture.problem_type,
        "labels": fixture.labels,
        "inputNames": goldens["inputNames"],
        "onnx": onnx,
        "files": sorted(str(path.relative_to(folder)) for path in folder.rglob("*") if path.is_file()),
    }


def make_bert_base(directory: Path) -> None:
    """A BERT-base-shaped base model returning (last_hidden_state, pooler_output), for timing only."""
    started = time.perf_counter()
    config = EncoderConfig.from_hf(BERT_BASE)
    model = build_model(config, "base")
    randomize(model, seed=1000, std=config.initializer_range)
    directory.mkdir(parents=True, exist_ok=True)
    model_path = directory / "model.pt"
    save_traced("bert-base", model, returns_dict=False, path=model_path)
    write_json(directory / "config.json", to_hf_config(config, "base"))
    print(summary(model_path, model, f"  returns=tuple  {time.perf_counter() - started:.1f} s"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"fixture root (default: {DEFAULT_OUT})")
    parser.add_argument(
        "--bert-base",
        type=Path,
        metavar="DIR",
        help="write only a BERT-base-shaped model (random weights, for timing) into DIR instead of the fixtures",
    )
    args = parser.parse_args()

    if args.bert_base is not None:
        make_bert_base(args.bert_base)
        return
    started = time.perf_counter()
    args.out.mkdir(parents=True, exist_ok=True)
    folders = [make_fixture(fixture, args.out) for fixture in FIXTURES]
    write_json(args.out / "manifest.json", {
        "generator": "tools/make_fixtures.py",
        "torchVersion": torch.__version__,
        "folders": folders,
    })
    print(f"{args.out / 'manifest.json'}  torch {torch.__version__}  {len(folders)} fixtures  "
          f"{time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
