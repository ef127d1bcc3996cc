"""Generates the tiny TorchScript BERT models and golden outputs that the JS and native tests compare against.

Run from anywhere (Debian's /usr/bin/python3 has torch):
    /usr/bin/python3 tools/make_fixtures.py [--out test/fixtures/generated]
    /usr/bin/python3 tools/make_fixtures.py --bert-base /tmp/bert-base    # BERT-base-shaped model for timing

Each fixture folder holds model.pt (torch.jit.trace of a tools/modeling.py model, random weights), config.json
(transformers style) and goldens.json. The goldens are computed by loading model.pt back with torch.jit.load, so
they describe the file the tests load, not the Python module it came from. Every traced model is also run at
shapes other than its trace example and compared with the eager module; any mismatch exits non-zero.

Output is deterministic (fixed seeds, no clock). The fixture folders return three different TorchScript output
kinds on purpose, so the tests cover each: base a Dict[str, Tensor], sequence- and token-classification a Tensor,
question-answering a Tuple[Tensor, Tensor].
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import torch
from torch import Tensor, nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
from modeling import EncoderConfig, build_model, input_names, to_hf_config  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = REPO_ROOT / "test" / "fixtures" / "generated"

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

TOLERANCE = 1e-5
TRACE_SHAPE = (2, 8)
# Shapes that differ from TRACE_SHAPE in batch and sequence length, so a size baked into the trace shows up.
CHECK_SHAPES = ((1, 13), (3, 21))
PAD_ID = 0

Outputs = Union[Tensor, Tuple[Tensor, ...], Dict[str, Tensor]]


@dataclass(frozen=True)
class Fixture:
    folder: str
    task: str
    labels: Optional[List[str]]
    returns: str  # "dict" | "tensor" | "tuple": the TorchScript output kind the tests expect
    seed: int


FIXTURES = (
    Fixture("base", "base", None, "dict", seed=1001),
    Fixture("sequence-classification", "sequence-classification", ["negative", "neutral", "positive"], "tensor", 1002),
    Fixture("token-classification", "token-classification", ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"], "tensor", 1003),
    Fixture("question-answering", "question-answering", None, "tuple", seed=1004),
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


def make_inputs(case: Case, generator: torch.Generator) -> Dict[str, Tensor]:
    """Random ids in [0, vocab) for real tokens; padding gets id 0 ([PAD]), mask 0 and token type 0."""
    batch, seq = case.dims
    input_ids = torch.randint(0, TINY_BERT["vocab_size"], (batch, seq), generator=generator, dtype=torch.long)
    attention_mask = torch.zeros(batch, seq, dtype=torch.long)
    token_type_ids = torch.zeros(batch, seq, dtype=torch.long)
    for row, (length, split) in enumerate(zip(case.lengths, case.splits)):
        attention_mask[row, :length] = 1
        input_ids[row, length:] = PAD_ID
        if split is not None:
            token_type_ids[row, split:length] = 1
    return {"input_ids": input_ids, "attention_mask": attention_mask, "token_type_ids": token_type_ids}


def shape_case(batch: int, seq: int) -> Case:
    """A case of the given shape with padding on the last row and a segment split on the first."""
    lengths = tuple(seq if row < batch - 1 or batch == 1 else max(1, seq // 2) for row in range(batch))
    splits = tuple(seq // 2 if row == 0 and seq > 1 else None for row in range(batch))
    return Case(f"{batch}x{seq}", lengths=lengths, splits=splits, seq=seq)


def randomize(model: nn.Module, seed: int, std: float) -> None:
    """transformers' initialisation plus small random biases and LayerNorm parameters, so no parameter is a
    constant that would hide a wrong index or a skipped addition."""
    torch.manual_seed(seed)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, nn.Linear):
                module.weight.normal_(0.0, std)
                module.bias.normal_(0.0, 0.05)
            elif isinstance(module, nn.Embedding):
                module.weight.normal_(0.0, std)
                if module.padding_idx is not None:
                    module.weight[module.padding_idx].zero_()
            elif isinstance(module, nn.LayerNorm):
                module.weight.normal_(1.0, 0.05)
                module.bias.normal_(0.0, 0.05)


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


def check_against_eager(label: str, scripted: nn.Module, eager: nn.Module, cases: Sequence[Case]) -> None:
    """Exits non-zero unless `scripted` matches `eager` within TOLERANCE on every case."""
    generator = torch.Generator().manual_seed(CASES_SEED)
    for case in cases:
        inputs = make_inputs(case, generator)
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


def trace(label: str, module: nn.Module, returns_dict: bool) -> torch.jit.ScriptModule:
    """Traces at TRACE_SHAPE; check_trace re-traces at CHECK_SHAPES and compares graphs and outputs."""
    generator = torch.Generator().manual_seed(CASES_SEED)
    example = make_inputs(shape_case(*TRACE_SHAPE), generator)
    check_inputs = [tuple(make_inputs(shape_case(*shape), generator).values()) for shape in CHECK_SHAPES]
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


def save_traced(label: str, module: nn.Module, returns_dict: bool, path: Path) -> None:
    traced = trace(label, module, returns_dict)
    check_against_eager(f"{label} (traced)", traced, module, [shape_case(*shape) for shape in CHECK_SHAPES])
    torch.jit.save(traced, str(path))


def write_json(path: Path, data: Any, indent: Optional[int] = 2) -> None:
    # allow_nan=False: a NaN golden would be a broken fixture, not a value to compare.
    text = json.dumps(data, indent=indent, allow_nan=False, separators=None if indent else (",", ":"))
    path.write_text(text + "\n", encoding="utf-8")


def compute_goldens(model_path: Path, eager: nn.Module, returns: str) -> Dict[str, Any]:
    """Goldens from the saved file itself, run under inference_mode as the addon runs it. Exits non-zero if the
    file's outputs differ from the eager module's or are not of the `returns` kind."""
    loaded = torch.jit.load(str(model_path))
    generator = torch.Generator().manual_seed(CASES_SEED)
    output_names: Optional[List[str]] = None
    cases = []
    for case in CASES:
        inputs = make_inputs(case, generator)
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
    return {"inputNames": input_names("bert"), "outputNames": output_names, "cases": cases}


def parameter_count(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def summary(path: Path, module: nn.Module, extra: str = "") -> str:
    size_mb = path.stat().st_size / 1e6
    return f"{path}  params={parameter_count(module):,}  size={size_mb:.2f} MB{extra}"


def make_fixture(fixture: Fixture, out: Path) -> Dict[str, str]:
    hf_config: Dict[str, Any] = dict(TINY_BERT)
    if fixture.labels is not None:
        hf_config["id2label"] = {str(i): label for i, label in enumerate(fixture.labels)}
    config = EncoderConfig.from_hf(hf_config)
    model = build_model(config, fixture.task)
    randomize(model, fixture.seed, config.initializer_range)
    to_trace = DictOutputs(model, BASE_OUTPUT_NAMES).eval() if fixture.returns == "dict" else model

    folder = out / fixture.folder
    folder.mkdir(parents=True, exist_ok=True)
    model_path = folder / "model.pt"
    save_traced(fixture.folder, to_trace, fixture.returns == "dict", model_path)
    write_json(folder / "config.json", to_hf_config(config, fixture.task))
    write_json(folder / "goldens.json", compute_goldens(model_path, to_trace, fixture.returns), indent=None)
    goldens_kb = (folder / "goldens.json").stat().st_size / 1e3
    print(summary(model_path, model, f"  returns={fixture.returns}  goldens.json={goldens_kb:.0f} kB"))
    return {"name": fixture.folder, "task": fixture.task, "returns": fixture.returns}


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
    args.out.mkdir(parents=True, exist_ok=True)
    folders = [make_fixture(fixture, args.out) for fixture in FIXTURES]
    write_json(args.out / "manifest.json", {
        "generator": "tools/make_fixtures.py",
        "torchVersion": torch.__version__,
        "folders": folders,
    })
    print(f"{args.out / 'manifest.json'}  torch {torch.__version__}  {len(folders)} fixtures")


if __name__ == "__main__":
    main()
