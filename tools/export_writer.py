"""The exporter's fourth job: tracing the eager model in the chosen mode into model.pt, checking the file, and
writing the model directory atomically.

Modes (torch-encoders.json's dtype):
- float32 (default): the trace loaded back matches the float32 eager model within FP32_TOLERANCE.
- bfloat16 (--dtype bf16, CPU): the eager model cast to bfloat16, weights and activations; the trace matches the
  eager bfloat16 model within SAME_KERNELS_TOLERANCE and the float32 eager model within BF16_MAX_RELATIVE_RMS.
  Fast on CPUs with AVX512_BF16 or AMX; on a CPU without them torch emulates bfloat16 and it runs slower than
  float32 (measured in bench/results/export-modes-2026-12-01.md).
- qint8 (--quantize int8, CPU): torch.ao.quantization.quantize_dynamic of every nn.Linear (qint8 weights;
  activations quantized at run time with one scale per tensor, i.e. over the whole batch, so a row's outputs
  depend slightly on the rows and padding it is batched with), checked on the quantized engine chosen by
  pick_quantized_engine. The file stores unpacked int8 weights, repacked at load by the engine the running
  libtorch selects. Two checks: the loaded file against the eager quantized model within SAME_KERNELS_TOLERANCE
  (the trace is faithful), and against the float32 eager model within INT8_MAX_RELATIVE_RMS.
- float16 (--dtype fp16, CUDA): see FP16 below.
The traced graph must record no device, so that a file traced on the CPU also runs on CUDA (tools/modeling.py
builds position ids and masks from the inputs for this; with transformers' modules a recorded device is only a
warning).

FP16. CPUs have no float16 kernels in torch 1.13 (LayerNorm, addmm), so a float16 model cannot be traced or run
there. Casting a float32 trace to float16 is not enough by itself: torch.jit.trace records as constants the dtype
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
"""

from __future__ import annotations

import copy
import shutil
import tempfile
import warnings
from pathlib import Path
from typing import List

import torch
from torch import nn

import modeling
import export_checks
from export_checks import (
    BF16_MAX_RELATIVE_RMS,
    CHECK_SEED,
    FLOAT16_MAX,
    FP16_MAX_RELATIVE_RMS,
    INT8_MAX_RELATIVE_RMS,
    SAME_KERNELS_TOLERANCE,
    TRACE_SHAPE,
    RelativeError,
    Shape,
    check_shapes,
    compare,
    forward_argument_names,
    graph_findings,
    largest_activation,
    make_inputs,
    run,
    trace,
)
from export_common import ExportError, first_line, list_keys, log
from modeling import EncoderConfig

SDPA_OP = "aten::scaled_dot_product_attention"
QUANTIZED_ENGINES = ("x86", "fbgemm", "onednn", "qnnpack")


def pick_quantized_engine() -> str:
    """The engine the check quantizes and runs with: the first of QUANTIZED_ENGINES this torch supports."""
    supported = torch.backends.quantized.supported_engines
    for engine in QUANTIZED_ENGINES:
        if engine in supported:
            return engine
    raise ExportError(f"--quantize int8: this torch has no quantized engine (supported: {supported})")


def cpu_has_float16_kernels() -> bool:
    """Whether LayerNorm and Linear run in float16 on the CPU here (torch >= 2.1; not 1.13)."""
    try:
        with torch.inference_mode():
            x = torch.ones(1, 4, dtype=torch.float16)
            torch.nn.functional.layer_norm(torch.nn.functional.linear(x, torch.ones(4, 4, dtype=x.dtype)), (4,))
        return True
    except RuntimeError:
        return False


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
        # Read at call time, so that a test can make the check impossible (export_checks.FP32_TOLERANCE = -1).
        tolerance = export_checks.FP32_TOLERANCE
        worst = 0.0
        for (shape, inputs), expected in zip(self.cases, self.expected):
            got = run(module, inputs, what, shape)
            worst = max(worst, compare(got, expected, self.output_names, what, shape, tolerance))
        shapes = ", ".join(str(shape) for shape, _ in self.cases)
        self.note(f"{what} matches the float32 eager model at {shapes}: max abs diff {worst:.3g} <= {tolerance:g}")

    def worst_against_eager(self, loaded: nn.Module, eager: nn.Module, what: str, eager_what: str) -> float:
        """The largest difference between the saved file and the eager module it was traced from, on every check
        shape; a difference over SAME_KERNELS_TOLERANCE is an error."""
        worst = 0.0
        for shape, inputs in self.cases:
            got = run(loaded, inputs, what, shape)
            want = run(eager, inputs, eager_what, shape)
            worst = max(
                worst,
                compare(got, want, self.output_names, f"{what} vs {eager_what}", shape, SAME_KERNELS_TOLERANCE),
            )
        return worst

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
        with warnings.catch_warnings():
            # torch >= 2.10 warns that quantized tensor types are deprecated; they still load and run in 2.13, and
            # the checks below say whether they compute the model.
            warnings.filterwarnings("ignore", message=".*quantized tensor creation functions.*")
            # torch.ao.quantization: torch.quantization is its deprecated alias (torch >= 1.10 has both).
            quantized = torch.ao.quantization.quantize_dynamic(
                copy.deepcopy(self.eager), {nn.Linear}, dtype=torch.qint8
            )
        torch.jit.save(trace(quantized.eval(), self.example), str(self.path))
        loaded = self.load("model.pt (int8)")
        worst = self.worst_against_eager(loaded, quantized, "model.pt (int8)", "the eager quantized model")
        self.note(
            f"model.pt (int8, engine {engine}) matches the eager quantized model: max abs diff {worst:.3g} <= "
            f"{SAME_KERNELS_TOLERANCE:g}"
        )
        self.note(self.relative_error(loaded, "model.pt (int8)", INT8_MAX_RELATIVE_RMS))

    def write_bfloat16(self) -> None:
        """The eager model cast to bfloat16 (weights and activations), traced in bfloat16; outputs are bfloat16
        (the addon converts every output to float32)."""
        model = copy.deepcopy(self.eager).to(torch.bfloat16)
        torch.jit.save(trace(model, self.example), str(self.path))
        loaded = self.load("model.pt (bfloat16)")
        tensors = list(loaded.named_parameters()) + list(loaded.named_buffers())
        other = [name for name, t in tensors if t.is_floating_point() and t.dtype != torch.bfloat16]
        if other:
            raise ExportError(f"model.pt (bfloat16) still has tensors of other dtypes: {list_keys(other)}")
        worst = self.worst_against_eager(loaded, model, "model.pt (bfloat16)", "the eager bfloat16 model")
        self.note(
            f"model.pt (bfloat16): all {len(tensors)} parameters are bfloat16; matches the eager bfloat16 model: "
            f"max abs diff {worst:.3g} <= {SAME_KERNELS_TOLERANCE:g}"
        )
        self.note(self.relative_error(loaded, "model.pt (bfloat16)", BF16_MAX_RELATIVE_RMS))

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
            raise ExportError(f"model.pt (float16) still has tensors of other dtypes: {list_keys(not_half)}")
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
        # 4. float16 itself, where it can run: on CUDA, else on the CPU where this torch has float16 CPU kernels
        # (torch 2.x has them; 1.13 lacks LayerNorm's and addmm's).
        if torch.cuda.is_available():
            on_cuda = torch.jit.load(str(self.path), map_location="cuda")
            self.note(self.relative_error(on_cuda, "model.pt (float16) on CUDA", FP16_MAX_RELATIVE_RMS, device="cuda"))
        elif cpu_has_float16_kernels():
            on_cpu = self.load("model.pt (float16)")
            self.note(self.relative_error(on_cpu, "model.pt (float16) on the CPU", FP16_MAX_RELATIVE_RMS))
        else:
            self.note(
                f"float16 numerics NOT run: no CUDA, and torch {torch.__version__} has no float16 CPU kernels; "
                f"numerics verified in float32 and bfloat16 only"
            )

    def check_devices(self, strict: bool) -> None:
        """tools/modeling.py's traces record no device (an error otherwise); transformers' may (a warning)."""
        findings = [f for f in graph_findings(self.load("model.pt")) if "device" in f]
        if findings and strict:
            raise ExportError(f"model.pt records {'; '.join(findings)}: it would not run on another device")
        if findings:
            log(f"warning: model.pt records {'; '.join(findings)}: it may run only on the device it was traced on")

    def check_attention(self, attention: str) -> None:
        """An eager export must not record SDPA: libtorch 1.13 refuses the whole file ("Unknown builtin op")."""
        recorded = SDPA_OP in str(self.load("model.pt").inlined_graph)
        if attention == "eager" and recorded:
            raise ExportError(
                f"--attention eager: model.pt records {SDPA_OP}, which libtorch < 2.0 cannot load; the model's "
                f"attention ignored attn_implementation"
            )
        self.note(
            f"model.pt ({attention} attention) records {SDPA_OP}: it needs libtorch >= 2.0"
            if recorded
            else f"model.pt ({attention} attention) records no {SDPA_OP}: it also loads on libtorch 1.13"
        )
