"""Prepares the models the benchmark runs, once, into build/bench/ (gitignored; reused while this file, the exporter,
tools/modeling.py and the demo models are unchanged).

    .venv/bin/python bench/prepare.py [--cache build/bench] [--smoke] [--parts base,classifier,embeddings]
        [--sentiment models/sentiment] [--embeddings models/embeddings] [--force]

--parts: which of the three below to prepare (bench/run.js --only passes what its scenarios use); the manifest has
null for the others. <cache>/full/ and <cache>/smoke/ hold each mode's base and classifier; the embeddings part is
the same for both and sits in <cache>/embeddings/.

Runs in the project venv (torch 2.13 + transformers + onnxruntime, tools/requirements.txt). Prints one JSON object
(the manifest, also written to <cache>/manifest.json) naming every prepared directory.

BERT-base (or, with --smoke, a 2-layer 32-wide "tiny" model of the same code) is ONE set of random weights (fixed
seed, tools/modeling.py's BertModel) saved as a Hugging Face checkpoint (<name>-checkpoint/: config.json,
pytorch_model.bin, tokenizer files), from which tools/export.py --task base makes every TorchScript file:
    <name>/model.pt          fp32, --attention eager: the file that loads on libtorch 2.13 AND Debian's 1.13
                             (aten::scaled_dot_product_attention is 2.x only), so both runtimes run the same file
    <name>-sdpa/model.pt     fp32, --attention sdpa (the exporter's default on torch 2.x): libtorch 2.x only
    <name>-int8/model.pt     --quantize int8 (dynamic, every nn.Linear), eager attention: loads on both runtimes
    <name>-bf16/model.pt     --dtype bf16, sdpa attention: libtorch 2.x only
(tools/export.py's failure falls back to torch.jit.trace / quantize_dynamic here for fp32 and int8; the manifest
says which.) The ONNX files for transformers.js, in <name>/onnx/:
    model.onnx               torch.onnx.export of the same eager module, opset 14, dynamic batch and sequence, inputs
                             input_ids / attention_mask / token_type_ids, outputs last_hidden_state / pooler_output
                             (what transformers.js expects for model_type bert; `dtype: 'fp32'`)
    model_quantized.onnx     onnxruntime.quantization.quantize_dynamic of model.onnx (int8 weights, per tensor,
                             MatMul with constant B only), what transformers.js loads for `dtype: 'q8'`
and <cache>/matmul.onnx: one fp32 MatMul of two dynamic [n, n] inputs, for onnxruntime-node's GEMM peak.
tokenizer.json + tokenizer_config.json: bert-base-uncased's (test/fixtures/tokenizers/), model_max_length 512.
The demo sentiment model (models/sentiment: model.pt, config.json, tokenizer.json or vocab.txt,
tokenizer_config.json; the 6-layer 384-wide MiniLM since the demo models moved to all-MiniLM-L6-v2) is exported to
ONNX from its model.pt (torch.onnx.export of the traced module) into sentiment/, with its tokenizer.json (or one built
from its vocab.txt) for transformers.js, and to int8 into sentiment-int8/ (model.pt's weights loaded back into
tools/modeling.py's module, then tools/export.py --quantize int8). Without the demo model (not built yet, or
--smoke), a tiny random-weight sequence classifier stands in for it, and the manifest says so.
The demo embeddings model (models/embeddings: all-MiniLM-L6-v2 as sentence-transformers ships it) in every mode, into
<cache>/embeddings/: onnx/model.onnx from its model.pt (the file torch-encoders loads) and onnx/model_quantized.onnx
(quantize_dynamic as above: transformers.js's `q8`), its config and tokenizer files with tokenizer_config's
model_max_length set to the length model.pt was exported for (256); the ONNX files checked against model.pt, and
model.pt against sentence-transformers on the checkpoint; and <cache>/embeddings-int8/ by tools/export.py
--quantize int8 when the exporter accepts the result (it rejects it for this model today: the manifest says why).
Missing models/embeddings files leave the part as {"missing": why}, and bench/run.js skips the scenario.
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import json
import shutil
import subprocess
import sys
import time
import warnings
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import torch
from torch import nn

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import modeling  # noqa: E402
from modeling import EncoderConfig, build_model, load_hf_state_dict, to_hf_config  # noqa: E402
from make_fixtures import BERT_BASE  # noqa: E402  (bert-base-uncased's shape, as the fixtures' --bert-base)
from export_onnx import onnx_export  # noqa: E402

TOKENIZERS = ROOT / "test" / "fixtures" / "tokenizers"
ONNX_OPSET = 14
BERT_INPUTS = ["input_ids", "attention_mask", "token_type_ids"]
BASE_OUTPUTS = ["last_hidden_state", "pooler_output"]
MAX_LENGTH = 512

TINY = {**BERT_BASE, "hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 64}
WEIGHT_SEED = 1000
TINY_CLASSIFIER_LABELS = ["negative", "positive"]


def log(message: str) -> None:
    print(f"prepare: {message}", file=sys.stderr, flush=True)


def write_json(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")


def file_digest(paths: List[Path]) -> str:
    digest = hashlib.sha256()
    for path in paths:
        digest.update(str(path).encode())
        if path.exists():
            stat = path.stat()
            if path.stat().st_size < 5_000_000:
                digest.update(path.read_bytes())
            else:  # large weights: size and mtime identify a rewrite well enough
                digest.update(f"{stat.st_size}:{stat.st_mtime_ns}".encode())
        else:
            digest.update(b"<missing>")
    return digest.hexdigest()[:16]


def example_inputs(batch: int, seq: int, seed: int = 7, vocab_size: int = 30522) -> Dict[str, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    ids = torch.randint(min(1000, vocab_size // 2), vocab_size, (batch, seq), generator=generator)
    ids[:, 0], ids[:, -1] = 101, 102
    mask = torch.ones(batch, seq, dtype=torch.long)
    if batch > 1:
        mask[-1, seq // 2 :] = 0
        ids[-1, seq // 2 :] = 0
    return {"input_ids": ids, "attention_mask": mask, "token_type_ids": torch.zeros(batch, seq, dtype=torch.long)}


def bert_tokenizer_config(max_length: int, do_lower_case: bool = True) -> Dict[str, Any]:
    special = {
        "0": "[PAD]",
        "100": "[UNK]",
        "101": "[CLS]",
        "102": "[SEP]",
        "103": "[MASK]",
    }
    return {
        "added_tokens_decoder": {
            k: {"content": v, "lstrip": False, "normalized": False, "rstrip": False, "single_word": False,
                "special": True}
            for k, v in special.items()
        },
        "clean_up_tokenization_spaces": True,
        "cls_token": "[CLS]",
        "do_lower_case": do_lower_case,
        "mask_token": "[MASK]",
        "model_max_length": max_length,
        "pad_token": "[PAD]",
        "sep_token": "[SEP]",
        "strip_accents": None,
        "tokenize_chinese_chars": True,
        "tokenizer_class": "BertTokenizer",
        "unk_token": "[UNK]",
    }


def metadata(task: str, output_names: List[str], dtype: str, max_length: int) -> Dict[str, Any]:
    """torch-encoders.json as tools/export.py writes it (lib/export-metadata.ts)."""
    return {
        "format": 1,
        "task": task,
        "torchVersion": torch.__version__,
        "inputNames": BERT_INPUTS,
        "outputNames": output_names,
        "dtype": dtype,
        "maxLength": max_length,
    }


def randomize(model: nn.Module, seed: int, std: float) -> None:
    """Random weights at BERT's initializer scale with small random biases and LayerNorm parameters, so no
    parameter is a constant (zero biases would let a quantized or exported path skip work unnoticed)."""
    torch.manual_seed(seed)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, nn.Linear):
                module.weight.normal_(0.0, std)
                module.bias.normal_(0.0, 0.02)
            elif isinstance(module, nn.Embedding):
                module.weight.normal_(0.0, std)
                if module.padding_idx is not None:
                    module.weight[module.padding_idx].zero_()
            elif isinstance(module, nn.LayerNorm):
                module.weight.normal_(1.0, 0.02)
                module.bias.normal_(0.0, 0.02)


def trace(module: nn.Module, check_shapes=((1, 13), (3, 21))) -> torch.jit.ScriptModule:
    example = tuple(example_inputs(2, 8).values())
    checks = [tuple(example_inputs(b, s, seed=11).values()) for b, s in check_shapes]
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return torch.jit.trace(module, example, check_trace=True, check_inputs=checks, check_tolerance=1e-4)


def as_tuple(outputs) -> tuple:
    if isinstance(outputs, dict):
        return tuple(outputs.values())
    return tuple(outputs) if isinstance(outputs, (tuple, list)) else (outputs,)


def max_diff(a, b) -> float:
    a, b = as_tuple(a), as_tuple(b)
    return max((x - y).abs().max().item() for x, y in zip(a, b))


def export_onnx(
    module: nn.Module, path: Path, output_names: List[str], per_token: List[str], vocab_size: int = 30522
) -> None:
    # tools/export_onnx.py: the TorchScript-based exporter on every torch (torch >= 2.9 defaults to dynamo,
    # which cannot write opset 14).
    axes: Dict[str, Dict[int, str]] = {name: {0: "batch", 1: "sequence"} for name in BERT_INPUTS}
    for name in output_names:
        axes[name] = {0: "batch", 1: "sequence"} if name in per_token else {0: "batch"}
    example = tuple(example_inputs(2, 8, vocab_size=vocab_size).values())
    onnx_export(module, example, path, BERT_INPUTS, output_names, axes, opset=ONNX_OPSET)


def quantize_onnx(source: Path, target: Path) -> str:
    """transformers.js's `q8` file: onnxruntime's dynamic quantization of the fp32 ONNX (int8 weights, per tensor;
    activations quantized at run time), as its conversion script makes it. Returns how it was made."""
    from onnxruntime import __version__ as ort_version
    from onnxruntime.quantization import QuantType, quantize_dynamic

    started = time.perf_counter()
    quantize_dynamic(
        str(source),
        str(target),
        weight_type=QuantType.QInt8,
        per_channel=False,
        reduce_range=False,
        extra_options={"MatMulConstBOnly": True},
    )
    log(f"{target.name}: onnxruntime {ort_version} quantize_dynamic in {time.perf_counter() - started:.1f} s")
    return f"onnxruntime {ort_version} quantization.quantize_dynamic(weight_type=QInt8, per_channel=False)"


def matmul_onnx(path: Path) -> str:
    """One fp32 MatMul of two dynamic [n, n] inputs (A, B -> C): onnxruntime-node's GEMM peak."""
    import onnx
    from onnx import TensorProto, helper

    dims = ["n", "n"]
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["A", "B"], ["C"])],
        "matmul",
        [helper.make_tensor_value_info(name, TensorProto.FLOAT, dims) for name in ("A", "B")],
        [helper.make_tensor_value_info("C", TensorProto.FLOAT, dims)],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", ONNX_OPSET)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(path))
    return str(path)


def copy_tokenizer(directory: Path, max_length: int) -> None:
    shutil.copyfile(TOKENIZERS / "bert-base-uncased" / "tokenizer.json", directory / "tokenizer.json")
    write_json(directory / "tokenizer_config.json", bert_tokenizer_config(max_length))


def with_export_tool(checkpoint: Path, out: Path, task: str, extra: List[str]) -> Optional[str]:
    """tools/export.py CHECKPOINT OUT --task TASK [extra] (the project's exporter). Returns None when it wrote
    OUT/model.pt, else why it was not used (missing, or its error)."""
    script = ROOT / "tools" / "export.py"
    if not script.exists():
        return "tools/export.py does not exist yet"
    command = [sys.executable, str(script), str(checkpoint), str(out), "--task", task, "--force", *extra]
    result = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
    if result.returncode == 0 and (out / "model.pt").exists():
        log(f"{out.name}: tools/export.py --task {task} {' '.join(extra)}")
        return None
    return f"tools/export.py --task {task} {' '.join(extra)} failed (exit {result.returncode}): " + (
        result.stderr.strip()[-400:]
    )


def quantize_here(eager: nn.Module) -> torch.jit.ScriptModule:
    quantized = torch.quantization.quantize_dynamic(copy.deepcopy(eager), {nn.Linear}, dtype=torch.qint8)
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return torch.jit.trace(quantized, tuple(example_inputs(2, 8).values()), check_trace=False)


def prepare_base(cache: Path, name: str, hf: Dict[str, Any]) -> Dict[str, Any]:
    """One set of weights → checkpoint, fp32 TorchScript, ONNX, int8 TorchScript (see the module docstring)."""
    started = time.perf_counter()
    directory, int8_dir, checkpoint = cache / name, cache / f"{name}-int8", cache / f"{name}-checkpoint"
    for d in (directory, int8_dir, checkpoint):
        if d.exists():
            shutil.rmtree(d)
    config = EncoderConfig.from_hf(hf)
    eager = build_model(config, "base")
    randomize(eager, WEIGHT_SEED, config.initializer_range)
    eager.eval()
    hf_config = to_hf_config(config, "base")
    write_json(checkpoint / "config.json", hf_config)
    torch.save(eager.state_dict(), checkpoint / "pytorch_model.bin")
    copy_tokenizer(checkpoint, MAX_LENGTH)

    # fp32 and int8 TorchScript by the project's exporter when it works (so the int8/fp32 comparison is between
    # two files of the same exporter), else traced / quantized here the way tools/make_fixtures.py does.
    why_not_tool = with_export_tool(checkpoint, directory, "base", ["--attention", "eager"])
    if why_not_tool is None:
        fp32_source = "tools/export.py --task base --attention eager"
    else:
        log(f"{name}: {why_not_tool}; tracing here")
        directory.mkdir(parents=True, exist_ok=True)
        torch.jit.save(trace(eager), str(directory / "model.pt"))
        write_json(directory / "torch-encoders.json", metadata("base", BASE_OUTPUTS, "float32", MAX_LENGTH))
        fp32_source = f"torch.jit.trace in bench/prepare.py ({why_not_tool})"
    write_json(directory / "config.json", hf_config)
    copy_tokenizer(directory, MAX_LENGTH)
    export_onnx(eager, directory / "onnx" / "model.onnx", BASE_OUTPUTS, ["last_hidden_state"])
    log(f"{name}: fp32 TorchScript + ONNX in {time.perf_counter() - started:.1f} s")

    started = time.perf_counter()
    why_not_tool = with_export_tool(checkpoint, int8_dir, "base", ["--attention", "eager", "--quantize", "int8"])
    if why_not_tool is None:
        int8_source = "tools/export.py --task base --attention eager --quantize int8"
    else:
        log(f"{name}-int8: {why_not_tool}; quantizing here (torch.quantization.quantize_dynamic + trace)")
        int8_dir.mkdir(parents=True, exist_ok=True)
        torch.jit.save(quantize_here(eager), str(int8_dir / "model.pt"))
        write_json(int8_dir / "torch-encoders.json", metadata("base", BASE_OUTPUTS, "qint8", MAX_LENGTH))
        int8_source = (
            "torch.quantization.quantize_dynamic(nn.Linear, qint8) + torch.jit.trace in bench/prepare.py "
            f"({why_not_tool})"
        )
    write_json(int8_dir / "config.json", hf_config)
    copy_tokenizer(int8_dir, MAX_LENGTH)

    # The 2.x-only modes of the same checkpoint: SDPA attention (fp32) and bf16 weights (SDPA). No fallback: they
    # are what the exporter makes, or absent from the manifest (and from the run) with the reason.
    extra_dirs: Dict[str, Any] = {}
    for key, suffix, flags in (
        ("sdpaDir", "sdpa", ["--attention", "sdpa"]),
        ("bf16Dir", "bf16", ["--attention", "sdpa", "--dtype", "bf16"]),
    ):
        out = cache / f"{name}-{suffix}"
        if out.exists():
            shutil.rmtree(out)
        why_not = with_export_tool(checkpoint, out, "base", flags)
        if why_not is None:
            write_json(out / "config.json", hf_config)
            copy_tokenizer(out, MAX_LENGTH)
            extra_dirs[key] = str(out)
        else:
            log(f"{out.name}: {why_not}; no {suffix} rows")
            extra_dirs[key] = None
            extra_dirs[f"{key}Missing"] = why_not

    # The files as loaded agree with the eager weights: fp32 exactly, int8 and bf16 within their rounding.
    inputs = example_inputs(2, 37, seed=3)
    diffs: Dict[str, float] = {}
    with torch.inference_mode():
        reference = eager(**inputs)
        fp32_diff = max_diff(torch.jit.load(str(directory / "model.pt"))(**inputs), reference)
        int8_diff = max_diff(torch.jit.load(str(int8_dir / "model.pt"))(**inputs), reference)
        for key in ("sdpaDir", "bf16Dir"):
            if extra_dirs[key] is not None:
                outputs = torch.jit.load(str(Path(extra_dirs[key]) / "model.pt"))(**inputs)
                diffs[key] = max_diff(tuple(o.float() for o in as_tuple(outputs)), reference)
    if fp32_diff > 1e-4:
        sys.exit(f"prepare: FAILED: {name}/model.pt differs from the eager module by {fp32_diff:.3g}")
    if diffs.get("sdpaDir", 0.0) > 1e-4:
        sys.exit(f"prepare: FAILED: {name}-sdpa/model.pt differs from the eager module by {diffs['sdpaDir']:.3g}")
    log(f"{name}-int8/-sdpa/-bf16 in {time.perf_counter() - started:.1f} s (max |int8 - fp32| {int8_diff:.3g})")
    quantized_onnx = quantize_onnx(directory / "onnx" / "model.onnx", directory / "onnx" / "model_quantized.onnx")
    return {
        "dir": str(directory),
        "int8Dir": str(int8_dir),
        **extra_dirs,
        "q8Onnx": quantized_onnx,
        "sdpaMaxAbsDiff": diffs.get("sdpaDir"),
        "bf16MaxAbsDiff": diffs.get("bf16Dir"),
        "checkpoint": str(checkpoint),
        "config": {k: hf[k] for k in ("hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size")},
        "parameters": sum(p.numel() for p in eager.parameters()),
        "weightSeed": WEIGHT_SEED,
        "fp32Source": fp32_source,
        "int8Source": int8_source,
        "int8MaxAbsDiff": int8_diff,
        "fp32MaxAbsDiff": fp32_diff,
    }


def wordpiece_tokenizer_json(vocab_file: Path, tokenizer_config: Dict[str, Any]) -> Dict[str, Any]:
    """A tokenizer.json (HF fast tokenizer) for a BERT vocab.txt, as transformers' BertTokenizerFast converter
    writes it: bert-base-uncased's pipeline with this vocabulary, its special-token ids and casing."""
    spec = json.loads((TOKENIZERS / "bert-base-uncased" / "tokenizer.json").read_text(encoding="utf-8"))
    tokens = vocab_file.read_text(encoding="utf-8").split("\n")
    if tokens and tokens[-1] == "":
        tokens.pop()
    vocab = {}
    for index, token in enumerate(tokens):
        vocab.setdefault(token, index)
    spec["model"]["vocab"] = vocab
    roles = {
        "pad": tokenizer_config.get("pad_token", "[PAD]"),
        "unk": tokenizer_config.get("unk_token", "[UNK]"),
        "cls": tokenizer_config.get("cls_token", "[CLS]"),
        "sep": tokenizer_config.get("sep_token", "[SEP]"),
        "mask": tokenizer_config.get("mask_token", "[MASK]"),
    }
    roles = {k: (v["content"] if isinstance(v, dict) else v) for k, v in roles.items()}
    for role, token in roles.items():
        if token not in vocab:
            sys.exit(f"prepare: FAILED: {vocab_file} has no {role} token {token!r}")
    spec["added_tokens"] = [
        {"id": vocab[token], "special": True, "content": token, "single_word": False, "lstrip": False,
         "rstrip": False, "normalized": False}
        for token in sorted(set(roles.values()), key=lambda t: vocab[t])
    ]
    lower = bool(tokenizer_config.get("do_lower_case", True))
    spec["normalizer"]["lowercase"] = lower
    spec["normalizer"]["strip_accents"] = tokenizer_config.get("strip_accents")
    spec["model"]["unk_token"] = roles["unk"]
    post = spec["post_processor"]
    cls, sep = roles["cls"], roles["sep"]
    for key in ("single", "pair"):
        for piece in post[key]:
            if "SpecialToken" in piece:
                piece["SpecialToken"]["id"] = cls if piece["SpecialToken"]["id"] == "[CLS]" else sep
    post["special_tokens"] = {
        cls: {"id": cls, "ids": [vocab[cls]], "tokens": [cls]},
        sep: {"id": sep, "ids": [vocab[sep]], "tokens": [sep]},
    }
    return spec


def prepare_sentiment(cache: Path, source: Path) -> Dict[str, Any]:
    """ONNX + tokenizer.json for the demo model, from its own model.pt."""
    started = time.perf_counter()
    out = cache / "sentiment"
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    config = json.loads((source / "config.json").read_text(encoding="utf-8"))
    tokenizer_config_path = source / "tokenizer_config.json"
    tokenizer_config = (
        json.loads(tokenizer_config_path.read_text(encoding="utf-8")) if tokenizer_config_path.exists() else {}
    )
    module = torch.jit.load(str(source / "model.pt"))
    arguments = [a.name for a in module.forward.schema.arguments[1:]]
    if arguments != BERT_INPUTS:
        sys.exit(f"prepare: FAILED: {source}/model.pt takes {arguments}; the ONNX export expects {BERT_INPUTS}")
    encoder = EncoderConfig.from_hf(config)
    export_onnx(module, out / "onnx" / "model.onnx", ["logits"], [], vocab_size=encoder.vocab_size)
    shutil.copyfile(source / "config.json", out / "config.json")
    if (source / "tokenizer.json").exists():
        shutil.copyfile(source / "tokenizer.json", out / "tokenizer.json")
        tokenizer_source = "copied from the model directory"
    else:
        write_json(out / "tokenizer.json", wordpiece_tokenizer_json(source / "vocab.txt", tokenizer_config))
        tokenizer_source = "built from vocab.txt by bench/prepare.py"
    max_positions = int(config.get("max_position_embeddings", 512))
    merged = {**bert_tokenizer_config(min(max_positions, MAX_LENGTH)), **tokenizer_config}
    if "model_max_length" not in tokenizer_config or tokenizer_config["model_max_length"] > 1e6:
        merged["model_max_length"] = min(max_positions, MAX_LENGTH)
    write_json(out / "tokenizer_config.json", merged)
    # Agreement of onnx/model.onnx with model.pt is checked in Node (bench/run.js compares the predictions of
    # torch-encoders and transformers.js on every benchmark sentence).
    log(f"sentiment: ONNX from {source}/model.pt in {time.perf_counter() - started:.1f} s")
    int8_dir, int8_note = quantize_traced_classifier(module, config, source, cache / "sentiment-int8")
    return {
        "dir": str(source),
        "onnxDir": str(out),
        "source": "demo",
        "tokenizerJson": tokenizer_source,
        "config": {
            "hidden_size": encoder.hidden_size,
            "num_hidden_layers": encoder.num_hidden_layers,
            "num_attention_heads": encoder.num_attention_heads,
            "intermediate_size": encoder.intermediate_size,
        },
        "labels": [encoder.id2label[i] for i in range(encoder.num_labels)],
        "int8Dir": int8_dir,
        "int8Source": int8_note,
    }


def hf_state_dict(module: torch.jit.ScriptModule) -> Dict[str, torch.Tensor]:
    """The traced module's parameters under Hugging Face names: tracing keeps the eager names, below whatever
    wrapper the exporter put around the model (tools/export.py's adds "model.")."""
    state = module.state_dict()
    anchors = ("bert.", "roberta.", "distilbert.")
    prefix = ""
    for key in state:
        for anchor in anchors:
            at = key.find(anchor)
            if at >= 0 and (at == 0 or key[at - 1] == "."):
                prefix = key[:at]
                break
        else:
            continue
        break
    return {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}


def quantize_traced_classifier(
    module: torch.jit.ScriptModule, config: Dict[str, Any], source: Path, out: Path
) -> Tuple[Optional[str], str]:
    """An int8 copy of a traced sequence classifier. Its weights are loaded back into tools/modeling.py's module
    (checked equal to model.pt) and saved as a checkpoint; tools/export.py --quantize int8 exports that (else
    quantize_dynamic + trace here). Returns (directory or None, how it was made or why not)."""
    checkpoint = out.parent / f"{out.name}-checkpoint"
    for d in (out, checkpoint):
        if d.exists():
            shutil.rmtree(d)
    try:
        encoder = EncoderConfig.from_hf(config)
        eager = build_model(config, "sequence-classification")
        load_hf_state_dict(eager, hf_state_dict(module))
        eager.eval()
        inputs = example_inputs(3, 29, seed=5, vocab_size=encoder.vocab_size)
        with torch.inference_mode():
            diff = max_diff(eager(**inputs), module(**inputs))
        if diff > 1e-4:
            return None, f"rebuilt module differs from model.pt by {diff:.3g}; no int8 copy"
    except (RuntimeError, ValueError, KeyError) as error:
        return None, f"could not rebuild the eager module from model.pt's weights: {str(error)[:300]}"
    tokenizer_files = ("vocab.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json")
    checkpoint.mkdir(parents=True)
    write_json(checkpoint / "config.json", config)
    torch.save(eager.state_dict(), checkpoint / "pytorch_model.bin")
    for name in tokenizer_files:
        if (source / name).exists():
            shutil.copyfile(source / name, checkpoint / name)
    why_not_tool = with_export_tool(checkpoint, out, "sequence-classification", ["--quantize", "int8"])
    if why_not_tool is None:
        return str(out), "model.pt's weights as a checkpoint, tools/export.py --quantize int8"
    log(f"{out.name}: {why_not_tool}; quantizing here")
    quantized = torch.quantization.quantize_dynamic(copy.deepcopy(eager), {nn.Linear}, dtype=torch.qint8)
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        traced = torch.jit.trace(
            quantized, tuple(example_inputs(2, 8, vocab_size=encoder.vocab_size).values()), check_trace=False
        )
    out.mkdir(parents=True, exist_ok=True)
    torch.jit.save(traced, str(out / "model.pt"))
    for name in ("config.json", *tokenizer_files):
        if (source / name).exists():
            shutil.copyfile(source / name, out / name)
    write_json(out / "torch-encoders.json", metadata("sequence-classification", ["logits"], "qint8", MAX_LENGTH))
    return str(out), f"model.pt's weights, quantize_dynamic(nn.Linear, qint8) + trace here ({why_not_tool})"


def prepare_embeddings(root: Path, source: Path) -> Dict[str, Any]:
    """transformers.js's copy of the sentence-embedding demo model (models/embeddings, all-MiniLM-L6-v2), from the
    model.pt torch-encoders loads: onnx/model.onnx (fp32) and onnx/model_quantized.onnx (q8), config and tokenizer
    files, in <root>/embeddings/; and torch-encoders' own int8 file of the same checkpoint in <root>/embeddings-int8/
    (tools/export.py --quantize int8). Checks the ONNX files against model.pt, and model.pt against
    sentence-transformers on the checkpoint's model.safetensors, before anything is timed."""
    started = time.perf_counter()
    out, int8_dir = root / "embeddings", root / "embeddings-int8"
    for d in (out, int8_dir):
        if d.exists():
            shutil.rmtree(d)
    out.mkdir(parents=True)
    config = json.loads((source / "config.json").read_text(encoding="utf-8"))
    meta = json.loads((source / "torch-encoders.json").read_text(encoding="utf-8"))
    module = torch.jit.load(str(source / "model.pt"))
    arguments = [a.name for a in module.forward.schema.arguments[1:]]
    if arguments != BERT_INPUTS:
        sys.exit(f"prepare: FAILED: {source}/model.pt takes {arguments}; the ONNX export expects {BERT_INPUTS}")
    output_names = list(meta["outputNames"])
    if "last_hidden_state" not in output_names:
        sys.exit(f"prepare: FAILED: {source}/model.pt has outputs {output_names}, no last_hidden_state")
    vocab_size = int(config.get("vocab_size", 30522))
    export_onnx(module, out / "onnx" / "model.onnx", output_names, ["last_hidden_state"], vocab_size=vocab_size)
    for name in ("config.json", "tokenizer.json", "special_tokens_map.json"):
        if (source / name).exists():
            shutil.copyfile(source / name, out / name)
    if not (out / "tokenizer.json").exists():
        sys.exit(f"prepare: FAILED: {source} has no tokenizer.json (transformers.js needs one)")
    # transformers.js truncates at tokenizer_config's model_max_length: the length torch-encoders was exported for
    # (sentence-transformers' max_seq_length, 256 for all-MiniLM-L6-v2), not the position table's 512.
    max_length = int(meta.get("maxLength", MAX_LENGTH))
    tokenizer_config = json.loads((source / "tokenizer_config.json").read_text(encoding="utf-8"))
    write_json(out / "tokenizer_config.json", {**bert_tokenizer_config(max_length), **tokenizer_config,
                                               "model_max_length": max_length})
    quantized = quantize_onnx(out / "onnx" / "model.onnx", out / "onnx" / "model_quantized.onnx")
    checks = check_embedding_files(source, module, out / "onnx", vocab_size)
    log(f"embeddings: ONNX fp32 + q8 from {source}/model.pt in {time.perf_counter() - started:.1f} s ({checks})")

    why_not = with_export_tool(source, int8_dir, "base", ["--attention", "eager", "--quantize", "int8",
                                                          "--max-length", str(max_length)])
    if why_not is not None:
        log(f"embeddings-int8: {why_not}; no torch-encoders int8 row")
    return {
        "dir": str(source),
        "onnxDir": str(out),
        "int8Dir": None if why_not is not None else str(int8_dir),
        "int8Source": why_not or "tools/export.py models/embeddings --task base --attention eager --quantize int8",
        "onnxSource": f"torch.onnx.export (opset {ONNX_OPSET}) of {source.name}/model.pt",
        "q8Onnx": quantized,
        "maxLength": max_length,
        "config": {k: config[k] for k in ("hidden_size", "num_hidden_layers", "num_attention_heads",
                                          "intermediate_size")},
        "parameters": sum(p.numel() for p in module.parameters()),
        "modelSha256": sha256_of(source / "model.safetensors") if (source / "model.safetensors").exists() else None,
        "checks": checks,
    }


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def check_embedding_files(source: Path, module: torch.jit.ScriptModule, onnx_dir: Path, vocab_size: int
                          ) -> Dict[str, Any]:
    """The exported files against model.pt on padded random ids (max |difference| of last_hidden_state), and model.pt
    against sentence-transformers (the checkpoint's own Python library) on real sentences: cosine of the pooled,
    normalized vectors. fp32 must match; q8 is recorded."""
    import numpy as np
    import onnxruntime

    inputs = example_inputs(3, 41, seed=5, vocab_size=vocab_size)
    with torch.inference_mode():
        reference = as_tuple(module(**inputs))[0].numpy()
    feed = {name: tensor.numpy() for name, tensor in inputs.items()}
    diffs: Dict[str, Any] = {}
    for name in ("model.onnx", "model_quantized.onnx"):
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = 2
        session = onnxruntime.InferenceSession(str(onnx_dir / name), options, providers=["CPUExecutionProvider"])
        hidden = session.run(["last_hidden_state"], feed)[0]
        mask = feed["attention_mask"].astype(bool)  # padded positions carry no meaning
        diffs[name] = float(np.abs(hidden - reference)[mask].max())
    if diffs["model.onnx"] > 1e-4:
        sys.exit(f"prepare: FAILED: embeddings/onnx/model.onnx differs from model.pt by {diffs['model.onnx']:.3g}")
    result: Dict[str, Any] = {
        "onnxFp32MaxAbsDiff": diffs["model.onnx"],
        "onnxQ8MaxAbsDiff": diffs["model_quantized.onnx"],
    }
    if (source / "modules.json").exists() and (source / "model.safetensors").exists():
        result.update(check_against_sentence_transformers(source, module))
    return result


SENTENCE_TRANSFORMERS_PROBES = [
    "The food was great.",
    "Super Bowl 50 was an American football game to determine the champion of the National Football League.",
    "@paulwalk It's the view from where I'm living for two weeks. Empire State Building = ESB.",
    "Not worth the money.",
]


def check_against_sentence_transformers(source: Path, module: torch.jit.ScriptModule) -> Dict[str, Any]:
    """model.pt (mean pooling over real tokens, L2 normalisation: what torch-encoders' pipeline does) against
    SentenceTransformer(source).encode(normalize_embeddings=True) on a few sentences: the lowest cosine."""
    import os

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    try:
        from sentence_transformers import SentenceTransformer
    except ImportError as error:
        return {"sentenceTransformers": f"not checked: {error}"}
    model = SentenceTransformer(str(source), device="cpu")
    expected = model.encode(SENTENCE_TRANSFORMERS_PROBES, normalize_embeddings=True, convert_to_tensor=True)
    features = model.tokenize(SENTENCE_TRANSFORMERS_PROBES)
    with torch.inference_mode():
        hidden = as_tuple(module(features["input_ids"], features["attention_mask"],
                                 features.get("token_type_ids", torch.zeros_like(features["input_ids"]))))[0]
        mask = features["attention_mask"].unsqueeze(-1).to(hidden.dtype)
        pooled = torch.nn.functional.normalize((hidden * mask).sum(1) / mask.sum(1), dim=-1)
    cosine = float(torch.nn.functional.cosine_similarity(pooled, expected.cpu(), dim=-1).min())
    if cosine < 0.9999:
        sys.exit(f"prepare: FAILED: {source}/model.pt disagrees with sentence-transformers (cosine {cosine:.6f})")
    import sentence_transformers

    return {
        "sentenceTransformers": sentence_transformers.__version__,
        "sentenceTransformersMinCosine": cosine,
        "sentenceTransformersSentences": len(SENTENCE_TRANSFORMERS_PROBES),
    }


def prepare_tiny_classifier(cache: Path) -> Dict[str, Any]:
    """Stand-in for the demo model: tiny random-weight sequence classifier, model.pt + ONNX + tokenizer."""
    out = cache / "tiny-classifier"
    if out.exists():
        shutil.rmtree(out)
    hf = {**TINY, "id2label": {str(i): label for i, label in enumerate(TINY_CLASSIFIER_LABELS)}}
    config = EncoderConfig.from_hf(hf)
    eager = build_model(config, "sequence-classification")
    randomize(eager, WEIGHT_SEED + 1, 0.2)
    eager.eval()
    out.mkdir(parents=True)
    torch.jit.save(trace(eager), str(out / "model.pt"))
    hf_config = to_hf_config(config, "sequence-classification")
    write_json(out / "config.json", hf_config)
    write_json(out / "torch-encoders.json", metadata("sequence-classification", ["logits"], "float32", MAX_LENGTH))
    copy_tokenizer(out, MAX_LENGTH)
    export_onnx(eager, out / "onnx" / "model.onnx", ["logits"], [])
    int8_dir, int8_note = quantize_traced_classifier(
        torch.jit.load(str(out / "model.pt")), hf_config, out, cache / "tiny-classifier-int8"
    )
    return {
        "dir": str(out),
        "int8Dir": int8_dir,
        "int8Source": int8_note,
        "onnxDir": str(out),
        "source": "tiny random-weight stand-in (the demo model was not available)",
        "tokenizerJson": "bert-base-uncased",
        "config": {k: TINY[k] for k in ("hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size")},
        "labels": TINY_CLASSIFIER_LABELS,
    }


PARTS = ("base", "classifier", "embeddings")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cache", type=Path, default=ROOT / "build" / "bench")
    parser.add_argument("--smoke", action="store_true", help="tiny models only (for the smoke test)")
    parser.add_argument("--sentiment", type=Path, default=ROOT / "models" / "sentiment")
    parser.add_argument("--embeddings", type=Path, default=ROOT / "models" / "embeddings")
    parser.add_argument("--parts", default=",".join(PARTS), help=f"which to prepare, of {','.join(PARTS)}")
    parser.add_argument("--force", action="store_true", help="rebuild even when the cache is current")
    args = parser.parse_args()
    parts = set(filter(None, args.parts.split(",")))
    if not parts <= set(PARTS):
        parser.error(f"--parts: unknown {sorted(parts - set(PARTS))}; choose from {','.join(PARTS)}")
    torch.set_num_threads(2)

    root = args.cache.resolve()
    cache = root / ("smoke" if args.smoke else "full")
    cache.mkdir(parents=True, exist_ok=True)
    sentiment = args.sentiment.resolve()
    has_demo = not args.smoke and all((sentiment / f).exists() for f in ("model.pt", "config.json"))
    tools = [Path(__file__).resolve(), ROOT / "tools" / "modeling.py", ROOT / "tools" / "make_fixtures.py"]
    suffix = f"-{'smoke' if args.smoke else 'full'}-{torch.__version__}"

    def cached(where: Path, part: str, key: str, make):
        """The part's manifest from <where>/<part>.json when its key matches, else made anew and stored."""
        path = where / f"{part}.json"
        if not args.force and path.exists():
            stored = json.loads(path.read_text(encoding="utf-8"))
            if stored.get("key") == key:
                log(f"{part}: cache current ({path})")
                return stored
        made = {**make(), "key": key}
        write_json(path, made)
        return made

    started = time.perf_counter()
    base_name = "tiny" if args.smoke else "bert-base"
    base = None
    if "base" in parts:
        base = cached(
            cache,
            "base",
            file_digest(tools + sorted((ROOT / "tools").glob("export*.py"))) + suffix,
            lambda: {**prepare_base(cache, base_name, TINY if args.smoke else BERT_BASE), "name": base_name},
        )
    classifier = None
    if "classifier" in parts and has_demo:
        demo_files = [sentiment / f for f in ("model.pt", "config.json", "vocab.txt", "tokenizer.json",
                                              "tokenizer_config.json")]
        classifier = cached(cache, "classifier", file_digest(tools + demo_files) + suffix + "-demo",
                            lambda: prepare_sentiment(cache, sentiment))
    elif "classifier" in parts:
        classifier = cached(cache, "classifier", file_digest(tools) + suffix + "-tiny",
                            lambda: prepare_tiny_classifier(cache))
    # The real all-MiniLM-L6-v2 weights in every mode (smoke runs too: 22 M parameters export in under a minute),
    # prepared once for both modes; absent when the demo models are not built yet.
    embeddings: Optional[Dict[str, Any]] = None
    source = args.embeddings.resolve()
    if "embeddings" in parts:
        needed = [source / f for f in ("model.pt", "config.json", "torch-encoders.json", "tokenizer.json",
                                       "tokenizer_config.json", "model.safetensors")]
        missing = [p.name for p in needed if not p.exists()]
        if missing:
            embeddings = {"missing": f"{source} lacks {', '.join(missing)}: build it with "
                                     "`.venv/bin/python tools/build_demo_models.py`"}
            log(f"embeddings: {embeddings['missing']}")
        else:
            key = file_digest([*tools, ROOT / "tools" / "export.py", *needed]) + f"-{torch.__version__}"
            embeddings = cached(root, "embeddings", key, lambda: prepare_embeddings(root, source))
    matmul = cache / "matmul.onnx"
    manifest = {
        "smoke": args.smoke,
        "parts": sorted(parts),
        "matmulOnnx": matmul_onnx(matmul),
        "torchVersion": torch.__version__,
        "onnxOpset": ONNX_OPSET,
        "base": base,
        "classifier": classifier,
        "embeddings": embeddings,
        "preparedInSeconds": round(time.perf_counter() - started, 1),
    }
    write_json(cache / "manifest.json", manifest)
    print(json.dumps(manifest))


if __name__ == "__main__":
    main()
