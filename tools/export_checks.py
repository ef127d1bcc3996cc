"""The exporter's third job: tracing, running and comparing; the numerical bounds each export mode is held to.

Every export is loaded back with torch.jit.load and run under inference_mode, as the addon runs it, at shapes
other than the trace example's (batch 2, 8 tokens, a padded row): 1 x 13 (a token-type pair), 3 x 21 (last row
padded, so masking is exercised) and 1 x maxLength (a pair), and compared with the float32 eager model by the
measure and bound of its mode (below). forward's argument names must be the expected ones.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any, Dict, Iterator, List, Sequence, Tuple

import torch
from torch import Tensor, nn

from export_common import ExportError, first_line
from modeling import EncoderConfig

# Traced module vs eager module, both float32: the same kernels run, so only reordering noise is allowed.
FP32_TOLERANCE = 1e-5
# Traced module vs the eager module it was traced from, in the same reduced precision (int8 or bfloat16): the
# same kernels and, for int8, the same dynamic scales.
SAME_KERNELS_TOLERANCE = 1e-5
# The reduced-precision modes vs the float32 eager model: ||q - f|| / ||f|| per output, over all check shapes
# together ("relative RMS error").
#
# int8 (--quantize int8). Measured with onednn (qnnpack errs less: it ignores reduce_range): 0.009-0.07 on the
# checkpoints of tools/test_export.py and test/tools/export.test.ts; 0.04-0.17 on the models of
# test/fixtures/generated (hidden 32, encoder weights of std 0.2, classifier std 1.0; the largest for the
# one-label regression head); 0.03-0.09 on BERT-base-shaped models with transformers' initialisation (std 0.02).
# A broken quantization (wrong scales, wrong or missing weights) gives errors of order 1 (uncorrelated outputs of
# the same scale: about 1.4). 0.35 leaves twice the largest measured error and still rejects those. It is a
# sanity bound on the export, not an accuracy promise: evaluate a quantized model on its task before shipping it.
INT8_MAX_RELATIVE_RMS = 0.35
# bfloat16 (--dtype bf16, and the CPU stand-in run of --dtype fp16). bfloat16 keeps 8 significant bits (a
# rounding error of up to 2^-9 = 0.2% per value), compounded over the layers. Measured (torch 2.13, the check
# shapes above, transformers' and tools/modeling.py's modules): 0.010-0.013 on the checkpoints of
# tools/test_export.py (hidden 32), 0.006 on a tiny BERT classifier, 0.012 on a BERT-base-shaped model with
# transformers' initialisation (std 0.02); earlier, as the float16 stand-in, 0.012-0.11 on the models of
# test/fixtures/generated (weights of std 0.2 and 1.0) and 0.014-0.06 on BERT-base. A float32 leftover in the graph
# raises a dtype mismatch rather than erring numerically; a broken cast (wrong or missing weights) errs by order
# 1, like int8's. 0.25 leaves twice the largest measured error and still rejects those; like int8's, a
# sanity bound on the export, not an accuracy promise.
BF16_MAX_RELATIVE_RMS = 0.25
# float16 keeps 11 significant bits, 3 more than bfloat16: the bfloat16 errors above divided by 8 are at most
# 0.014, and 0.05 leaves a margin of 3. Not measured (no CUDA on the machines this was written on).
FP16_MAX_RELATIVE_RMS = 0.05
FLOAT16_MAX = 65504.0

TRACE_SHAPE = (2, 8)
CHECK_SHAPES = ((1, 13), (3, 21))
CHECK_SEED = 1234


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
    """torch.jit.trace with strict=False: transformers' modules return containers (tuples with return_dict=False,
    lists inside), which a strict trace refuses; the wrappers of export_models return tensors in a fixed order.
    The checks, not check_trace, compare the trace with the eager model (at more shapes than check_trace)."""
    try:
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore", torch.jit.TracerWarning)
            return torch.jit.trace(module, example, strict=False, check_trace=False)
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


