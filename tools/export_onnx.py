"""ONNX export through torch's TorchScript-based exporter, on every torch the project uses.

torch >= 2.9 defaults torch.onnx.export to the dynamo exporter (torch.export), which cannot target opset 14 (it
starts at 18) and takes dynamic_shapes rather than dynamic_axes; the TorchScript exporter, which produces the
opset-14 files transformers.js loads, is still there behind dynamo=False. torch 1.13 (Debian's) has only that one
and no `dynamo` argument. onnx_export passes dynamo=False exactly when the signature has it. Used by
tools/export.py (--onnx), tools/make_fixtures.py and bench/prepare.py.
"""

from __future__ import annotations

import inspect
import warnings
from pathlib import Path
from typing import Dict, List, Sequence, Tuple

import torch
from torch import Tensor, nn

ONNX_OPSET = 14
# Outputs with a sequence axis (ONNX dynamic axes); token-classification's logits too (see dynamic_axes).
PER_TOKEN_OUTPUTS = ("last_hidden_state", "start_logits", "end_logits")


def legacy_exporter_arguments() -> Dict[str, bool]:
    """{"dynamo": False} where torch.onnx.export has that argument (torch >= 2.5), else {}."""
    return {"dynamo": False} if "dynamo" in inspect.signature(torch.onnx.export).parameters else {}


def dynamic_axes(
    input_names: Sequence[str], output_names: Sequence[str], per_token_logits: bool
) -> Dict[str, Dict[int, str]]:
    """Batch and sequence dynamic for every input and per-token output; batch only for the others (pooler_output,
    sequence-level logits). `per_token_logits`: "logits" is per token (token classification)."""
    axes: Dict[str, Dict[int, str]] = {name: {0: "batch", 1: "sequence"} for name in input_names}
    for name in output_names:
        per_token = name in PER_TOKEN_OUTPUTS or (name == "logits" and per_token_logits)
        axes[name] = {0: "batch", 1: "sequence"} if per_token else {0: "batch"}
    return axes


def onnx_export(
    module: nn.Module,
    example: Tuple[Tensor, ...],
    path: Path,
    input_names: Sequence[str],
    output_names: Sequence[str],
    axes: Dict[str, Dict[int, str]],
    opset: int = ONNX_OPSET,
) -> None:
    """torch.onnx.export of `module` with the TorchScript-based exporter, constant folding on. Raises what
    torch.onnx.export raises, and RuntimeError when it wrote no file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # constant folding, tracer and deprecation notes, all expected
        torch.onnx.export(
            module,
            example,
            str(path),
            input_names=list(input_names),
            output_names=list(output_names),
            dynamic_axes=axes,
            opset_version=opset,
            do_constant_folding=True,
            **legacy_exporter_arguments(),
        )
    if not path.is_file() or path.stat().st_size == 0:
        raise RuntimeError(f"torch.onnx.export wrote no {path}")


def onnx_opset(path: Path) -> List[int]:
    """The default-domain opset versions a file declares (read with the onnx package when importable)."""
    import onnx  # noqa: PLC0415 - optional: only the venv has it

    model = onnx.load(str(path), load_external_data=False)
    return [entry.version for entry in model.opset_import if entry.domain in ("", "ai.onnx")]
