"""Hugging Face checkpoint files without the `transformers` and `safetensors` packages.

- read_safetensors / write_safetensors: the safetensors format (an 8-byte little-endian header length, a JSON
  header naming each tensor's dtype, shape and byte range, then the raw little-endian data), dtypes F32, F16,
  BF16, F64, I64, I32, I16, I8, U8 and BOOL.
- find_weights / load_weights: a checkpoint directory's weights as transformers looks for them (model.safetensors
  first, then pytorch_model.bin, or their sharded *.index.json forms).
- write_checkpoint: tiny random BERT / RoBERTa / DistilBERT checkpoints in transformers' layout (config.json,
  weights with transformers' key names, tokenizer files from test/fixtures/tokenizers), for the exporter's tests.

Command line (the project venv's .venv/bin/python; Debian's /usr/bin/python3 works too), used by test/tools/export.test.ts:
    .venv/bin/python tools/hf_checkpoint.py write SPEC.json
        SPEC.json: [{"dir", "modelType", "task", "seed"?, "labels"?, "weights"?: "bin" | "safetensors"}, ...]
    .venv/bin/python tools/hf_checkpoint.py eager REQUESTS.json OUT.json
        REQUESTS.json: [{"name", "checkpoint", "task", "torchscript"?: model.pt, "batches": [{"dims",
        "input_ids", "attention_mask", "token_type_ids"?}]}]; OUT.json gets, per request and batch, the outputs of
        the eager tools/modeling.py model loaded from the checkpoint (and of the TorchScript file when given) as
        {name: {"dims", "data"}}. The eager model is loaded with modeling.load_hf_state_dict directly (the keys
        are transformers' as written), not through tools/export.py, so it is an independent reference.
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import struct
import sys
from pathlib import Path
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple

import torch
from torch import Tensor, nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
from modeling import EncoderConfig, build_model, load_hf_state_dict, to_hf_config  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parent.parent
TOKENIZERS = REPO_ROOT / "test" / "fixtures" / "tokenizers"

# --------------------------------------------------------------------------------------------------------------
# safetensors
# --------------------------------------------------------------------------------------------------------------

SAFETENSORS_DTYPES: Dict[str, torch.dtype] = {
    "F64": torch.float64,
    "F32": torch.float32,
    "F16": torch.float16,
    "BF16": torch.bfloat16,
    "I64": torch.int64,
    "I32": torch.int32,
    "I16": torch.int16,
    "I8": torch.int8,
    "U8": torch.uint8,
    "BOOL": torch.bool,
}
_SAFETENSORS_CODES = {dtype: code for code, dtype in SAFETENSORS_DTYPES.items()}
# The reference implementation refuses headers above 100 MB; a larger value means a corrupt or foreign file.
MAX_HEADER_BYTES = 100_000_000


class CheckpointError(Exception):
    """A checkpoint file or directory that cannot be read; the message names the file and the problem."""


def _element_size(dtype: torch.dtype) -> int:
    return torch.empty((), dtype=dtype).element_size()


def read_safetensors(path: Path | str) -> Dict[str, Tensor]:
    """All tensors of a .safetensors file, in the dtypes stored. Raises CheckpointError on a malformed file."""
    tensors, _ = read_safetensors_with_metadata(path)
    return tensors


def read_safetensors_with_metadata(path: Path | str) -> Tuple[Dict[str, Tensor], Dict[str, str]]:
    """(tensors, the header's __metadata__ strings). The tensors share one buffer holding the file's data."""
    path = Path(path)
    if sys.byteorder != "little":
        raise CheckpointError(f"{path}: reading safetensors needs a little-endian machine")
    try:
        data = bytearray(path.read_bytes())  # writable, so torch.frombuffer shares it without a warning
    except OSError as error:
        raise CheckpointError(f"{path}: cannot read: {error.strerror or error}") from None
    if len(data) < 8:
        raise CheckpointError(
            f"{path}: not a safetensors file ({len(data)} bytes, shorter than the 8-byte header length)"
        )
    (header_length,) = struct.unpack("<Q", data[:8])
    if header_length > min(MAX_HEADER_BYTES, len(data) - 8):
        raise CheckpointError(
            f"{path}: not a safetensors file (header length {header_length} exceeds the file's {len(data) - 8} bytes)"
        )
    try:
        header = json.loads(data[8 : 8 + header_length].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise CheckpointError(f"{path}: the safetensors header is not valid JSON: {error}") from None
    if not isinstance(header, dict):
        raise CheckpointError(f"{path}: the safetensors header is not a JSON object")
    metadata = header.pop("__metadata__", None) or {}
    if not isinstance(metadata, dict):
        raise CheckpointError(f"{path}: __metadata__ is not an object")
    start = 8 + header_length
    size = len(data) - start
    tensors: Dict[str, Tensor] = {}
    ranges: List[Tuple[int, int, str]] = []
    for name, entry in header.items():
        if not isinstance(entry, dict) or not {"dtype", "shape", "data_offsets"} <= entry.keys():
            raise CheckpointError(f"{path}: tensor {name!r}: expected dtype, shape and data_offsets, got {entry!r}")
        code, shape, offsets = entry["dtype"], entry["shape"], entry["data_offsets"]
        if code not in SAFETENSORS_DTYPES:
            raise CheckpointError(
                f"{path}: tensor {name!r} has dtype {code!r}; supported: {', '.join(SAFETENSORS_DTYPES)}"
            )
        if not (isinstance(shape, list) and all(isinstance(d, int) and d >= 0 for d in shape)):
            raise CheckpointError(f"{path}: tensor {name!r} has an invalid shape {shape!r}")
        if not (isinstance(offsets, list) and len(offsets) == 2 and all(isinstance(o, int) for o in offsets)):
            raise CheckpointError(f"{path}: tensor {name!r} has invalid data_offsets {offsets!r}")
        begin, end = offsets
        dtype = SAFETENSORS_DTYPES[code]
        numel = math.prod(shape)
        if not 0 <= begin <= end <= size or end - begin != numel * _element_size(dtype):
            raise CheckpointError(
                f"{path}: tensor {name!r} ({code} {shape}) has data_offsets {offsets}, which do not hold "
                f"{numel * _element_size(dtype)} bytes within the {size}-byte data section"
            )
        ranges.append((begin, end, name))
        if numel == 0:
            tensors[name] = torch.empty(shape, dtype=dtype)
        else:
            tensors[name] = torch.frombuffer(data, dtype=dtype, count=numel, offset=start + begin).reshape(shape)
    ranges.sort()
    for (_, previous_end, previous), (begin, _, name) in zip(ranges, ranges[1:]):
        if begin < previous_end:
            raise CheckpointError(f"{path}: tensors {previous!r} and {name!r} overlap")
    return tensors, {str(k): str(v) for k, v in metadata.items()}


def write_safetensors(
    path: Path | str, tensors: Mapping[str, Tensor], metadata: Optional[Mapping[str, str]] = None
) -> None:
    """Writes `tensors` as a .safetensors file (sorted by name, header padded to 8 bytes as the reference writer
    does). metadata defaults to {"format": "pt"}, which transformers expects of PyTorch checkpoints."""
    header: Dict[str, Any] = {"__metadata__": dict(metadata if metadata is not None else {"format": "pt"})}
    chunks: List[bytes] = []
    offset = 0
    for name in sorted(tensors):
        tensor = tensors[name].detach().cpu().contiguous()
        if tensor.dtype not in _SAFETENSORS_CODES:
            raise CheckpointError(f"{path}: tensor {name!r} has dtype {tensor.dtype}, which safetensors cannot hold")
        raw = tensor.reshape(-1).view(torch.uint8).numpy().tobytes() if tensor.numel() > 0 else b""
        header[name] = {
            "dtype": _SAFETENSORS_CODES[tensor.dtype],
            "shape": list(tensor.shape),
            "data_offsets": [offset, offset + len(raw)],
        }
        chunks.append(raw)
        offset += len(raw)
    encoded = json.dumps(header, separators=(",", ":")).encode("utf-8")
    encoded += b" " * (-len(encoded) % 8)
    with open(path, "wb") as file:
        file.write(struct.pack("<Q", len(encoded)))
        file.write(encoded)
        for chunk in chunks:
            file.write(chunk)


# --------------------------------------------------------------------------------------------------------------
# Weights of a checkpoint directory
# --------------------------------------------------------------------------------------------------------------

# In the order transformers prefers them.
WEIGHT_FILES = (
    "model.safetensors",
    "model.safetensors.index.json",
    "pytorch_model.bin",
    "pytorch_model.bin.index.json",
)
_OTHER_FRAMEWORKS = ("tf_model.h5", "flax_model.msgpack", "model.ckpt.index", "rust_model.ot")


def find_weights(directory: Path | str) -> Path:
    """The weights file (or shard index) transformers would load from `directory`; CheckpointError if none."""
    directory = Path(directory)
    for name in WEIGHT_FILES:
        if (directory / name).is_file():
            return directory / name
    others = [name for name in _OTHER_FRAMEWORKS if (directory / name).exists()]
    hint = f" (found {', '.join(others)}: only PyTorch weights are supported)" if others else ""
    raise CheckpointError(f"{directory}: no weights: expected {' or '.join(WEIGHT_FILES)}{hint}")


def _load_torch_file(path: Path) -> Dict[str, Tensor]:
    try:
        try:
            state = torch.load(str(path), map_location="cpu", weights_only=True)
        except TypeError:  # torch < 1.13 has no weights_only
            state = torch.load(str(path), map_location="cpu")
    except Exception as error:  # noqa: BLE001 - torch raises many kinds; the message names the file
        raise CheckpointError(f"{path}: cannot load: {str(error).splitlines()[0] if str(error) else error!r}") from None
    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    if not isinstance(state, dict) or not all(isinstance(v, Tensor) for v in state.values()):
        raise CheckpointError(f"{path}: expected a state dict (a mapping of names to tensors)")
    return dict(state)


def load_weight_file(path: Path | str) -> Dict[str, Tensor]:
    path = Path(path)
    if path.name.endswith(".safetensors"):
        return read_safetensors(path)
    return _load_torch_file(path)


def load_weights(directory: Path | str) -> Tuple[Dict[str, Tensor], Path]:
    """(state dict as stored, the file or index it came from)."""
    found = find_weights(directory)
    if not found.name.endswith(".index.json"):
        return load_weight_file(found), found
    try:
        index = json.loads(found.read_text(encoding="utf-8"))
        weight_map = index["weight_map"]
        shards = sorted(set(weight_map.values()))
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
        raise CheckpointError(f"{found}: not a shard index with a weight_map: {error}") from None
    state: Dict[str, Tensor] = {}
    for shard in shards:
        shard_path = found.parent / shard
        if not shard_path.is_file():
            raise CheckpointError(f"{found}: shard {shard} is missing")
        state.update(load_weight_file(shard_path))
    return state, found


# --------------------------------------------------------------------------------------------------------------
# Tiny random checkpoints (tests)
# --------------------------------------------------------------------------------------------------------------

# Vocabularies are those of the real tokenizers in test/fixtures/tokenizers, so they can drive these models.
TINY_CONFIGS: Dict[str, Dict[str, Any]] = {
    "bert": {
        "model_type": "bert",
        "vocab_size": 30522,
        "hidden_size": 32,
        "num_hidden_layers": 2,
        "num_attention_heads": 2,
        "intermediate_size": 64,
        "max_position_embeddings": 128,
        "type_vocab_size": 2,
    },
    # roberta-base's special ids; 128 usable positions need 130 embeddings (numbered from pad_token_id + 1).
    "roberta": {
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
        "bos_token_id": 0,
        "eos_token_id": 2,
    },
    "distilbert": {
        "model_type": "distilbert",
        "vocab_size": 30522,
        "dim": 32,
        "n_layers": 2,
        "n_heads": 2,
        "hidden_dim": 64,
        "max_position_embeddings": 128,
    },
}
TINY_MAX_LENGTH = 128
_TOKENIZER_SOURCES = {
    "bert": ("bert-base-uncased", ("tokenizer.json", "vocab.txt")),
    "distilbert": ("bert-base-uncased", ("tokenizer.json", "vocab.txt")),
    "roberta": ("roberta-base", ("vocab.json", "merges.txt")),
}
# Weight scales: encoder Linear layers get 0.2 (not BERT's 0.02) so that attention really mixes tokens and a wrong
# mask or position shows in the outputs; heads get 1.0 so that logits spread; embeddings keep 0.02.
ENCODER_STD = 0.2
HEAD_STD = 1.0
_HEAD_NAMES = ("classifier", "qa_outputs", "out_proj", "pre_classifier")


def randomize(model: nn.Module, seed: int) -> None:
    """Deterministic random weights, with random biases and LayerNorm parameters (no parameter is a constant
    that would hide a wrong index or a skipped addition)."""
    generator = torch.Generator().manual_seed(seed)

    def normal(tensor: Tensor, mean: float, std: float) -> None:
        tensor.copy_(torch.randn(tensor.shape, generator=generator) * std + mean)

    with torch.no_grad():
        for name, module in model.named_modules():
            if isinstance(module, nn.Linear):
                normal(module.weight, 0.0, HEAD_STD if name.split(".")[-1] in _HEAD_NAMES else ENCODER_STD)
                normal(module.bias, 0.0, 0.05)
            elif isinstance(module, nn.Embedding):
                normal(module.weight, 0.0, 0.02)
                if module.padding_idx is not None:
                    module.weight[module.padding_idx].zero_()
            elif isinstance(module, nn.LayerNorm):
                normal(module.weight, 1.0, 0.05)
                normal(module.bias, 0.0, 0.05)


def tiny_hf_config(model_type: str, task: str, labels: Optional[Sequence[str]] = None) -> Dict[str, Any]:
    """A transformers config.json dict for a tiny `model_type` model of `task`."""
    if model_type not in TINY_CONFIGS:
        raise ValueError(f"model_type must be one of {sorted(TINY_CONFIGS)}, got {model_type!r}")
    base = dict(TINY_CONFIGS[model_type])
    if labels is not None:
        base["id2label"] = {str(i): label for i, label in enumerate(labels)}
    hf = to_hf_config(EncoderConfig.from_hf(base), task)
    for key in ("bos_token_id", "eos_token_id"):
        if key in base:
            hf[key] = base[key]
    return hf


def random_model(
    model_type: str, task: str, seed: int, labels: Optional[Sequence[str]] = None
) -> Tuple[nn.Module, Dict[str, Any]]:
    """(eval-mode tools/modeling.py model with random weights, its transformers config.json dict)."""
    hf = tiny_hf_config(model_type, task, labels)
    model = build_model(hf, task)
    randomize(model, seed)
    return model, hf


def _special(content: str) -> Dict[str, Any]:
    flags = {"lstrip": False, "normalized": False, "rstrip": False, "single_word": False, "special": True}
    return {"content": content, **flags}


def tokenizer_configs(model_type: str) -> Tuple[Dict[str, Any], Dict[str, Any]]:
    """(tokenizer_config.json, special_tokens_map.json) as transformers writes them for the family's tokenizer."""
    if model_type == "roberta":
        specials = {"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>", "sep_token": "</s>",
                    "pad_token": "<pad>", "cls_token": "<s>", "mask_token": "<mask>"}
        config = {"add_prefix_space": False, "errors": "replace", "tokenizer_class": "RobertaTokenizer",
                  "trim_offsets": True}
    else:
        specials = {"unk_token": "[UNK]", "sep_token": "[SEP]", "pad_token": "[PAD]", "cls_token": "[CLS]",
                    "mask_token": "[MASK]"}
        config = {"do_lower_case": True, "strip_accents": None, "tokenize_chinese_chars": True,
                  "tokenizer_class": "DistilBertTokenizer" if model_type == "distilbert" else "BertTokenizer"}
    tokenizer_config = {**config, **specials, "clean_up_tokenization_spaces": True, "model_max_length": TINY_MAX_LENGTH}
    return tokenizer_config, {key: _special(value) for key, value in specials.items()}


def write_json(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, indent=2, allow_nan=False) + "\n", encoding="utf-8")


def save_weights(directory: Path, state_dict: Mapping[str, Tensor], weights: str = "bin") -> Path:
    """Saves a state dict as pytorch_model.bin ("bin") or model.safetensors ("safetensors")."""
    state = {name: tensor.detach().clone() for name, tensor in state_dict.items()}
    if weights == "bin":
        path = directory / "pytorch_model.bin"
        torch.save(state, str(path))
    elif weights == "safetensors":
        path = directory / "model.safetensors"
        write_safetensors(path, state)
    else:
        raise ValueError(f"weights must be 'bin' or 'safetensors', got {weights!r}")
    return path


def write_checkpoint(
    directory: Path | str,
    model_type: str,
    task: str,
    seed: int = 0,
    labels: Optional[Sequence[str]] = None,
    weights: str = "bin",
    transform: Optional[Callable[[Dict[str, Tensor]], Dict[str, Tensor]]] = None,
) -> nn.Module:
    """Writes a tiny random checkpoint as transformers' save_pretrained lays it out and returns the eager model.
    `transform` may rewrite the state dict before it is saved (to imitate other checkpoints' keys)."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    model, hf = random_model(model_type, task, seed, labels)
    write_json(directory / "config.json", hf)
    state = dict(model.state_dict())
    if transform is not None:
        state = transform(state)
    save_weights(directory, state, weights)
    source, files = _TOKENIZER_SOURCES[model_type]
    for name in files:
        shutil.copyfile(TOKENIZERS / source / name, directory / name)
    tokenizer_config, special_tokens_map = tokenizer_configs(model_type)
    write_json(directory / "tokenizer_config.json", tokenizer_config)
    write_json(directory / "special_tokens_map.json", special_tokens_map)
    return model


# --------------------------------------------------------------------------------------------------------------
# Eager reference outputs
# --------------------------------------------------------------------------------------------------------------

def output_names(model_type: str, task: str, has_pooler: bool = True) -> List[str]:
    """Names of the outputs tools/export.py's model.pt returns, in order."""
    if task == "base":
        with_pooler = has_pooler and model_type != "distilbert"
        return ["last_hidden_state", "pooler_output"] if with_pooler else ["last_hidden_state"]
    if task == "question-answering":
        return ["start_logits", "end_logits"]
    return ["logits"]


def as_tensors(result: Any) -> List[Tensor]:
    if isinstance(result, Tensor):
        return [result]
    if isinstance(result, dict):
        return list(result.values())
    return list(result)


def load_eager(checkpoint: Path | str, task: str) -> Tuple[nn.Module, str]:
    """(the tools/modeling.py model of `task` with the checkpoint's weights loaded strictly, model_type)."""
    checkpoint = Path(checkpoint)
    hf = json.loads((checkpoint / "config.json").read_text(encoding="utf-8"))
    model = build_model(hf, task)
    state, _ = load_weights(checkpoint)
    load_hf_state_dict(model, {k: v.float() if v.is_floating_point() else v for k, v in state.items()})
    return model.eval(), hf["model_type"]


def _batch_tensors(batch: Mapping[str, Any]) -> Dict[str, Tensor]:
    dims = [int(d) for d in batch["dims"]]
    return {
        name: torch.tensor([int(v) for v in batch[name]], dtype=torch.long).reshape(dims)
        for name in ("input_ids", "attention_mask", "token_type_ids")
        if name in batch
    }


def _named(names: Sequence[str], tensors: Sequence[Tensor]) -> Dict[str, Any]:
    if len(names) != len(tensors):
        raise ValueError(f"expected {len(names)} outputs ({', '.join(names)}), got {len(tensors)}")
    return {name: {"dims": list(t.shape), "data": t.float().flatten().tolist()} for name, t in zip(names, tensors)}


def eager_outputs(requests: Sequence[Mapping[str, Any]]) -> List[Dict[str, Any]]:
    results = []
    for request in requests:
        model, model_type = load_eager(request["checkpoint"], request["task"])
        names = output_names(model_type, request["task"])
        scripted = torch.jit.load(request["torchscript"]) if request.get("torchscript") else None
        batches = []
        for batch in request["batches"]:
            inputs = _batch_tensors(batch)
            if model_type == "distilbert":
                inputs.pop("token_type_ids", None)
            result: Dict[str, Any] = {}
            with torch.inference_mode():
                result["eager"] = _named(names, as_tensors(model(**inputs)))
                if scripted is not None:
                    arguments = [a.name for a in scripted.forward.schema.arguments[1:]]
                    scripted_inputs = {k: v for k, v in inputs.items() if k in arguments}
                    result["torchscript"] = _named(names, as_tensors(scripted(**scripted_inputs)))
            batches.append(result)
        results.append({"name": request.get("name"), "batches": batches})
    return results


def main(argv: Optional[Sequence[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    write = commands.add_parser("write", help="write the tiny random checkpoints a JSON spec lists")
    write.add_argument("spec", type=Path)
    eager = commands.add_parser("eager", help="eager reference outputs for token ids given as JSON")
    eager.add_argument("requests", type=Path)
    eager.add_argument("out", type=Path)
    args = parser.parse_args(argv)
    if args.command == "write":
        for item in json.loads(args.spec.read_text(encoding="utf-8")):
            write_checkpoint(
                item["dir"], item["modelType"], item["task"], seed=int(item.get("seed", 0)),
                labels=item.get("labels"), weights=item.get("weights", "bin"),
            )
    else:
        results = eager_outputs(json.loads(args.requests.read_text(encoding="utf-8")))
        args.out.write_text(json.dumps(results, allow_nan=False), encoding="utf-8")


if __name__ == "__main__":
    main()
