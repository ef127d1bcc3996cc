"""Exports a Hugging Face checkpoint directory to a torch-encoders model directory.

    .venv/bin/python tools/export.py CHECKPOINT_DIR OUT_DIR \\
        --task {base,sequence-classification,token-classification,question-answering} \\
        [--attention {sdpa,eager}] [--max-length N] [--quantize int8 | --dtype {fp32,bf16,fp16}] [--onnx] \\
        [--force] [--backend {auto,transformers,modeling}]

Runs with the project venv's Python (torch 2.x + transformers, made by tools/setup.sh), and also with Debian's
/usr/bin/python3 (torch 1.13, no transformers: tools/modeling.py's modules, eager attention).

CHECKPOINT_DIR holds what transformers' save_pretrained writes: config.json, model.safetensors or
pytorch_model.bin (or their sharded *.index.json forms), and the tokenizer files (tokenizer.json and/or vocab.txt,
or vocab.json + merges.txt; tokenizer_config.json, special_tokens_map.json).

OUT_DIR receives:
    model.pt             torch.jit.trace of the model in eval mode; batch and sequence length are dynamic
    config.json          the checkpoint's, with id2label keys as strings and label2id values as integers
    tokenizer files      copied as found
    torch-encoders.json  {format: 1, task, torchVersion, attention, inputNames, outputNames, dtype, maxLength}
                         (lib/export-metadata.ts reads it)
    onnx/model.onnx      with --onnx: opset 14, dynamic batch and sequence, the names transformers.js expects;
                         always of the float32 weights
Everything is written to a temporary sibling directory and moved into place only when every check passed; on any
failure the command prints one line `export.py: error: ...`, exits 1 and leaves no partial output. An existing
non-empty OUT_DIR is replaced only with --force.

--attention: sdpa (the default with transformers on torch >= 2) records aten::scaled_dot_product_attention, which
only libtorch >= 2.0 loads; eager (the default otherwise) loads on libtorch 1.13 too. Export with eager when the
file must also run on Debian's libtorch 1.13. torch-encoders.json records the choice and the exporting torch.

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

maxLength: --max-length, else the longest sequence the position embeddings allow (RoBERTa: minus padding_idx + 1);
at most that limit.

The jobs live in their own modules: export_checkpoint (reading the checkpoint, adapting its keys), export_models
(the transformers and tools/modeling.py backends), export_checks (tracing, comparing, the bounds of each mode),
export_writer (model.pt in each mode, the checks, the atomic directory write), export_onnx (--onnx).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, NoReturn, Optional, Sequence

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from export_checkpoint import (  # noqa: E402
    TASKS,
    check_architecture,
    export_input_names,
    hf_class_name,
    normalized_hf_config,
    position_limit,
    read_checkpoint,
)
from export_checks import CHECK_SEED, TRACE_SHAPE, Shape, make_inputs  # noqa: E402
from export_common import ExportError, first_line, log, write_json  # noqa: E402
from export_models import (  # noqa: E402
    ATTENTIONS,
    load_modeling_model,
    load_transformers_model,
    model_output_names,
    torch_has_sdpa,
    transformers_available,
    transformers_version,
    wrap,
)
from export_onnx import dynamic_axes, onnx_export  # noqa: E402
from export_writer import ModelWriter, replace_directory  # noqa: E402

METADATA_FILE = "torch-encoders.json"
METADATA_FORMAT = 1
DTYPES = {"fp32": "float32", "bf16": "bfloat16", "fp16": "float16"}
BACKENDS = ("auto", "transformers", "modeling")

__all__ = ["ExportError", "Options", "Result", "export", "main"]


@dataclass
class Options:
    task: str
    max_length: Optional[int] = None
    quantize: Optional[str] = None
    dtype: str = "fp32"
    onnx: bool = False
    force: bool = False
    backend: str = "auto"
    # None: sdpa where transformers builds the model on torch >= 2, else eager (see resolve_attention).
    attention: Optional[str] = None


@dataclass
class Result:
    out: Path
    metadata: Dict[str, Any]
    checks: List[str] = field(default_factory=list)


def check_options(options: Options) -> None:
    if options.task not in TASKS:
        raise ExportError(f"--task must be one of {', '.join(TASKS)}, got {options.task!r}")
    if options.quantize not in (None, "int8"):
        raise ExportError(f"--quantize must be int8, got {options.quantize!r}")
    if options.dtype not in DTYPES:
        raise ExportError(f"--dtype must be one of {', '.join(DTYPES)}, got {options.dtype!r}")
    if options.quantize and options.dtype != "fp32":
        raise ExportError(
            f"--quantize int8 and --dtype {options.dtype} exclude each other (int8 quantizes float32 weights)"
        )
    if options.backend not in BACKENDS:
        raise ExportError(f"--backend must be one of {', '.join(BACKENDS)}, got {options.backend!r}")
    if options.attention not in (None, *ATTENTIONS):
        raise ExportError(f"--attention must be one of {', '.join(ATTENTIONS)}, got {options.attention!r}")


def choose_backend(options: Options) -> bool:
    """Whether transformers builds the model (else tools/modeling.py)."""
    if options.backend == "transformers" and not transformers_available():
        raise ExportError(f"--backend transformers: the transformers package is not importable by {sys.executable}")
    use_transformers = options.backend == "transformers" or (options.backend == "auto" and transformers_available())
    if use_transformers and options.dtype == "fp16":
        if options.backend == "transformers":
            raise ExportError(
                "--dtype fp16 needs tools/modeling.py's modules (a CPU trace of transformers' records float32 in "
                "the attention mask); use --backend auto or modeling"
            )
        log("--dtype fp16 uses tools/modeling.py's modules (a CPU trace of transformers' records float32)")
        use_transformers = False
    return use_transformers


def resolve_attention(options: Options, use_transformers: bool) -> str:
    if options.attention is None:
        return "sdpa" if use_transformers and torch_has_sdpa() else "eager"
    if options.attention == "sdpa" and not torch_has_sdpa():
        raise ExportError(f"--attention sdpa needs torch >= 2.0 (scaled_dot_product_attention); this is {torch.__version__}")
    if options.attention == "sdpa" and not use_transformers:
        why = "--dtype fp16 builds" if options.dtype == "fp16" else "without transformers the exporter builds"
        raise ExportError(
            f"--attention sdpa: {why} tools/modeling.py's modules, which implement eager attention only; "
            f"use --attention eager"
        )
    return options.attention


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
    check_options(options)
    checkpoint = read_checkpoint(checkpoint_dir)
    prepare_output(out, checkpoint_dir, options.force)

    config = checkpoint.config
    limit = position_limit(config)
    max_length = limit if options.max_length is None else options.max_length
    if not 2 <= max_length <= limit:
        raise ExportError(
            f"--max-length must be between 2 and {limit} (the model's position embeddings), got {max_length}"
        )
    use_transformers = choose_backend(options)
    attention = resolve_attention(options, use_transformers)
    if use_transformers:
        model, has_pooler = load_transformers_model(checkpoint, options.task, attention)
        backend = f"transformers {transformers_version()}"
    else:
        check_architecture(checkpoint, options.task)
        model, has_pooler = load_modeling_model(checkpoint, options.task)
        backend = "tools/modeling.py"
    input_names = export_input_names(config)
    output_names = model_output_names(options.task, has_pooler)
    eager = wrap(model, input_names, output_names)
    dtype = "qint8" if options.quantize else DTYPES[options.dtype]
    log(
        f"{checkpoint.directory} ({checkpoint.weights.name}, {backend}, torch {torch.__version__}): "
        f"{hf_class_name(config.model_type, options.task)} -> {out}  inputs ({', '.join(input_names)})  "
        f"outputs ({', '.join(output_names)})  dtype {dtype}  attention {attention}  maxLength {max_length}"
    )

    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-", dir=out.parent))
    try:
        writer = ModelWriter(staging, eager, config, input_names, output_names, max_length)
        if options.quantize == "int8":
            writer.write_int8()
        elif options.dtype == "bf16":
            writer.write_bfloat16()
        elif options.dtype == "fp16":
            writer.write_float16()
        else:
            writer.write_float32()
        writer.check_devices(strict=not use_transformers)
        writer.check_attention(attention)
        write_json(staging / "config.json", normalized_hf_config(checkpoint.hf_config, config, options.task))
        for name in checkpoint.tokenizer_files:
            shutil.copyfile(checkpoint.directory / name, staging / name)
        if options.onnx:
            generator = torch.Generator().manual_seed(CHECK_SEED)
            example = make_inputs(Shape(*TRACE_SHAPE, padded=True, pair=True), config, input_names, generator)
            axes = dynamic_axes(input_names, output_names, per_token_logits=options.task == "token-classification")
            try:
                onnx_export(eager, example, staging / "onnx" / "model.onnx", input_names, output_names, axes)
            except Exception as error:  # noqa: BLE001 - the exporter raises many kinds
                raise ExportError(f"--onnx: torch.onnx.export failed: {first_line(error)}") from None
            writer.note("onnx/model.onnx written (float32 weights; not run here: no onnxruntime in Python)")
        metadata = {
            "format": METADATA_FORMAT,
            "task": options.task,
            "torchVersion": torch.__version__,
            "attention": attention,
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
    return Result(out, metadata, writer.checks)


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
        epilog="Details (checks, dtypes, key rules, errors): the docstrings of tools/export.py and tools/export_*.py.",
    )
    parser.add_argument("checkpoint", type=Path, metavar="CHECKPOINT_DIR")
    parser.add_argument("out", type=Path, metavar="OUT_DIR")
    parser.add_argument("--task", required=True, choices=TASKS)
    parser.add_argument(
        "--attention",
        choices=ATTENTIONS,
        help="sdpa: libtorch >= 2.0 only (default with transformers on torch >= 2); eager: also loads on 1.13",
    )
    parser.add_argument("--max-length", type=int, help="longest sequence checked and recorded (default: the model's)")
    parser.add_argument("--quantize", choices=("int8",), help="dynamic int8 quantization of Linear layers (CPU)")
    parser.add_argument(
        "--dtype",
        choices=tuple(DTYPES),
        default="fp32",
        help="bf16: bfloat16 weights and activations (CPU, fast with AVX512_BF16/AMX); fp16: float16, for CUDA",
    )
    parser.add_argument("--onnx", action="store_true", help="also write onnx/model.onnx (float32, opset 14)")
    parser.add_argument("--force", action="store_true", help="replace a non-empty OUT_DIR")
    parser.add_argument(
        "--backend",
        choices=BACKENDS,
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
        attention=args.attention,
    )
    try:
        export(args.checkpoint, args.out, options)
    except ExportError as error:
        print(f"export.py: error: {' '.join(str(error).split())}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
