"""Checks tools/export.py (and its tools/export_*.py modules) and tools/hf_checkpoint.py on tiny random
checkpoints in transformers' layout.

    .venv/bin/python tools/test_export.py        # exits non-zero on any failure

Run with the project venv's Python (torch 2.x + transformers); a few tests also run the exporter and the exported
files with Debian's /usr/bin/python3 (torch 1.13, no transformers), the project's second runtime.

- the safetensors reader against bytes laid out by hand from the format's description, and the writer by round
  trip (F32, F16, BF16, I64 and the other dtypes), including malformed files;
- BERT, RoBERTa and DistilBERT checkpoints (pytorch_model.bin and model.safetensors, written by tools/modeling.py's
  modules with transformers' key names) export with several heads each, with transformers (SDPA attention) and
  with tools/modeling.py; model.pt, loaded back, matches the eager tools/modeling.py model the checkpoint was
  written from (independent of transformers and of the export) at a shape the exporter never used; torch-encoders.json is exactly
  lib/export-metadata.ts's format; config.json and the tokenizer files are as documented;
- the checkpoint key rules: base from task and pretraining checkpoints, task from a base checkpoint (fails: no
  head), other heads and poolers dropped, legacy names, buffers, shards, float16 weights, wrong architectures;
- --quantize int8 and --dtype bf16 (error against float32 within export_checks.INT8_MAX_RELATIVE_RMS and
  BF16_MAX_RELATIVE_RMS, whose measurements are documented there), --dtype fp16 (float16 parameters, a graph free
  of devices and float32, the bfloat16 stand-in run), --onnx (opset 14 through the TorchScript exporter),
  --max-length;
- --attention: an eager export loads and runs under torch 1.13 (/usr/bin/python3), an SDPA export fails there
  with "Unknown builtin op"; the exporter itself runs under torch 1.13 without transformers;
- the transformers backend's loading info (missing head, pooler fallback);
- every documented error: one line on stderr, exit status 1 (argparse's own errors too), no partial output.
"""

from __future__ import annotations

import importlib.util
import json
import os
import struct
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

import torch
from torch import Tensor, nn

TOOLS = Path(__file__).resolve().parent
sys.path.insert(0, str(TOOLS))
import export  # noqa: E402
import export_checks  # noqa: E402
import export_common  # noqa: E402
import export_models  # noqa: E402
import export_writer  # noqa: E402
import hf_checkpoint  # noqa: E402
import modeling  # noqa: E402
from export import ExportError, Options  # noqa: E402
from hf_checkpoint import (  # noqa: E402
    read_safetensors,
    read_safetensors_with_metadata,
    write_checkpoint,
    write_safetensors,
)

EXPORT = TOOLS / "export.py"
# Debian's python3-torch (libtorch 1.13), the project's second runtime: no transformers, no SDPA op.
DEBIAN_PYTHON = Path("/usr/bin/python3")
HAS_TRANSFORMERS = importlib.util.find_spec("transformers") is not None
METADATA_KEYS = ["format", "task", "torchVersion", "attention", "inputNames", "outputNames", "dtype", "maxLength"]
BERT_INPUTS = ["input_ids", "attention_mask", "token_type_ids"]
TWO_INPUTS = ["input_ids", "attention_mask"]
LABELS = ["negative", "neutral", "positive"]
NER_LABELS = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]


def make_batch(model_type: str, batch: int, seq: int, seed: int) -> Dict[str, Tensor]:
    """Token ids like a tokenizer's, with the last row half padding and a second segment in the first row."""
    config = hf_checkpoint.TINY_CONFIGS[model_type]
    pad = config.get("pad_token_id", 0)
    generator = torch.Generator().manual_seed(seed)
    ids = torch.randint(5, config["vocab_size"], (batch, seq), generator=generator)
    mask = torch.ones_like(ids)
    types = torch.zeros_like(ids)
    ids[-1, seq // 2 :] = pad
    mask[-1, seq // 2 :] = 0
    if model_type == "bert":
        types[0, seq // 2 :] = 1
    return {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}


def outputs(result: Any) -> List[Tensor]:
    return hf_checkpoint.as_tensors(result)


def run_loaded(directory: Path, inputs: Dict[str, Tensor]) -> Tuple[List[Tensor], List[str]]:
    loaded = torch.jit.load(str(directory / "model.pt"))
    names = [argument.name for argument in loaded.forward.schema.arguments[1:]]
    with torch.inference_mode():
        return outputs(loaded(*[inputs[name] for name in names])), names


def run_eager(model: nn.Module, inputs: Dict[str, Tensor], model_type: str) -> List[Tensor]:
    kwargs = dict(inputs)
    if model_type == "distilbert":
        kwargs.pop("token_type_ids")
    with torch.inference_mode():
        return outputs(model(**kwargs))


def max_abs_diff(a: Sequence[Tensor], b: Sequence[Tensor]) -> float:
    assert len(a) == len(b), (len(a), len(b))
    for x, y in zip(a, b):
        assert x.shape == y.shape, (x.shape, y.shape)
    return max((x.float() - y.float()).abs().max().item() for x, y in zip(a, b))


def relative_rms(a: Sequence[Tensor], b: Sequence[Tensor]) -> float:
    return max(((x.float() - y.float()).norm() / y.float().norm()).item() for x, y in zip(a, b))


def run_export(checkpoint: Path, out: Path, task: str, **options: Any) -> export.Result:
    """An in-process export, its progress lines silenced. backend defaults to tools/modeling.py's, whose key
    rules are the project's own; tests of the transformers backend ask for it."""
    export_common.set_quiet(True)
    try:
        return export.export(checkpoint, out, Options(task=task, **{"backend": "modeling", **options}))
    finally:
        export_common.set_quiet(False)


def debian_torch(script: str, *args: str) -> subprocess.CompletedProcess:
    """Runs `script` with Debian's torch 1.13, without the venv's site-packages."""
    environment = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    return subprocess.run(
        [str(DEBIAN_PYTHON), "-c", script, *args], capture_output=True, text=True, timeout=300, env=environment
    )


class SafetensorsTest(unittest.TestCase):
    def setUp(self) -> None:
        self.tmp = tempfile.TemporaryDirectory()
        self.dir = Path(self.tmp.name)

    def tearDown(self) -> None:
        self.tmp.cleanup()

    def write_raw(self, header: Dict[str, Any], data: bytes, name: str = "raw.safetensors") -> Path:
        encoded = json.dumps(header).encode()
        path = self.dir / name
        path.write_bytes(struct.pack("<Q", len(encoded)) + encoded + data)
        return path

    def test_reads_a_file_laid_out_by_hand(self) -> None:
        # Built from the format's description, not by our writer: little-endian data, offsets relative to the end
        # of the header, any order of entries in the header.
        data = (
            struct.pack("<2f", 1.5, -2.0)  # F32 [2]
            + bytes.fromhex("803f0040")  # BF16 [2]: 1.0, 2.0
            + bytes.fromhex("003c00c0")  # F16 [2]: 1.0, -2.0
            + struct.pack("<2q", -1, 2**40)  # I64 [2, 1]
        )
        header = {
            "i64": {"dtype": "I64", "shape": [2, 1], "data_offsets": [16, 32]},
            "f32": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
            "__metadata__": {"format": "pt"},
            "bf16": {"dtype": "BF16", "shape": [2], "data_offsets": [8, 12]},
            "f16": {"dtype": "F16", "shape": [1, 2], "data_offsets": [12, 16]},
        }
        tensors, metadata = read_safetensors_with_metadata(self.write_raw(header, data))
        self.assertEqual(metadata, {"format": "pt"})
        self.assertEqual(tensors["f32"].dtype, torch.float32)
        self.assertEqual(tensors["f32"].tolist(), [1.5, -2.0])
        self.assertEqual(tensors["bf16"].dtype, torch.bfloat16)
        self.assertEqual(tensors["bf16"].tolist(), [1.0, 2.0])
        self.assertEqual(tensors["f16"].dtype, torch.float16)
        self.assertEqual(tensors["f16"].tolist(), [[1.0, -2.0]])
        self.assertEqual(tensors["i64"].dtype, torch.int64)
        self.assertEqual(tensors["i64"].tolist(), [[-1], [2**40]])

    def test_round_trip_every_dtype(self) -> None:
        generator = torch.Generator().manual_seed(0)
        tensors = {
            "f32": torch.randn(3, 4, generator=generator),
            "f16": torch.randn(5, generator=generator).half(),
            "bf16": torch.randn(2, 3, generator=generator).bfloat16(),
            "f64": torch.randn(2, generator=generator).double(),
            "i64": torch.tensor([[-(2**62), 7]], dtype=torch.int64),
            "i32": torch.tensor([-3, 4], dtype=torch.int32),
            "i16": torch.tensor([-3], dtype=torch.int16),
            "i8": torch.tensor([-128, 127], dtype=torch.int8),
            "u8": torch.tensor([0, 255], dtype=torch.uint8),
            "bool": torch.tensor([True, False, True]),
            "scalar": torch.tensor(2.5),
            "empty": torch.zeros(0, 3),
            "strided": torch.arange(12.0).reshape(3, 4).t(),  # not contiguous
        }
        path = self.dir / "round.safetensors"
        write_safetensors(path, tensors, {"note": "x"})
        raw = path.read_bytes()
        (header_length,) = struct.unpack("<Q", raw[:8])
        self.assertEqual(header_length % 8, 0, "header padded to 8 bytes")
        header = json.loads(raw[8 : 8 + header_length])
        self.assertEqual(header["bf16"]["dtype"], "BF16")
        self.assertEqual(header["i64"]["shape"], [1, 2])
        back, metadata = read_safetensors_with_metadata(path)
        self.assertEqual(metadata, {"note": "x"})
        self.assertEqual(sorted(back), sorted(tensors))
        for name, tensor in tensors.items():
            self.assertEqual(back[name].dtype, tensor.dtype, name)
            self.assertEqual(back[name].shape, tensor.shape, name)
            self.assertTrue(torch.equal(back[name], tensor), name)
        write_safetensors(self.dir / "default.safetensors", {"x": torch.ones(1)})
        self.assertEqual(read_safetensors_with_metadata(self.dir / "default.safetensors")[1], {"format": "pt"})

    def test_rejects_malformed_files(self) -> None:
        def rejects(path: Path, fragment: str) -> None:
            with self.assertRaises(hf_checkpoint.CheckpointError) as caught:
                read_safetensors(path)
            self.assertIn(fragment, str(caught.exception))

        short = self.dir / "short.safetensors"
        short.write_bytes(b"\x01\x02")
        rejects(short, "shorter than the 8-byte header length")
        huge = self.dir / "huge.safetensors"
        huge.write_bytes(struct.pack("<Q", 10**9) + b"{}")
        rejects(huge, "header length")
        rejects(self.write_raw({"x": {"dtype": "F8", "shape": [1], "data_offsets": [0, 1]}}, b"\0"), "dtype 'F8'")
        short_range = {"x": {"dtype": "F32", "shape": [2], "data_offsets": [0, 4]}}
        rejects(self.write_raw(short_range, b"\0" * 8), "do not hold 8")
        outside = {"x": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}}
        rejects(self.write_raw(outside, b"\0" * 4), "data_offsets")
        rejects(
            self.write_raw(
                {
                    "a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
                    "b": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]},
                },
                b"\0" * 8,
            ),
            "overlap",
        )
        rejects(self.write_raw({"x": {"dtype": "F32"}}, b""), "expected dtype, shape and data_offsets")
        bad_json = self.dir / "bad.safetensors"
        bad_json.write_bytes(struct.pack("<Q", 3) + b"{x}")
        rejects(bad_json, "not valid JSON")


class ExportTestCase(unittest.TestCase):
    """Checkpoints are written once for all tests of the class."""

    tmp: tempfile.TemporaryDirectory
    root: Path
    models: Dict[str, nn.Module]

    @classmethod
    def setUpClass(cls) -> None:
        cls.tmp = tempfile.TemporaryDirectory()
        cls.root = Path(cls.tmp.name)
        cls.models = {}

    @classmethod
    def tearDownClass(cls) -> None:
        cls.tmp.cleanup()

    @classmethod
    def checkpoint(
        cls,
        name: str,
        model_type: str,
        task: str,
        seed: int,
        labels: Optional[Sequence[str]] = None,
        weights: str = "bin",
        transform: Any = None,
    ) -> Path:
        directory = cls.root / "checkpoints" / name
        if not directory.exists():
            cls.models[name] = write_checkpoint(directory, model_type, task, seed, labels, weights, transform)
        return directory

    def out(self, name: str) -> Path:
        return self.root / "out" / name

    def assert_export_matches(
        self, name: str, model_type: str, task: str, eager: nn.Module, out: Path, tolerance: float = 1e-5
    ) -> List[Tensor]:
        """model.pt at a shape the exporter never checked (2 x 17, padded) against `eager`."""
        inputs = make_batch(model_type, 2, 17, seed=99)
        got, _ = run_loaded(out, inputs)
        want = run_eager(eager, inputs, model_type)
        self.assertLessEqual(max_abs_diff(got, want), tolerance, name)
        return got


class ExportModelsTest(ExportTestCase):
    CASES = [
        # (checkpoint name, model_type, task, labels, weights)
        ("bert-sequence-classification", "bert", "sequence-classification", LABELS, "bin"),
        ("bert-token-classification", "bert", "token-classification", NER_LABELS, "safetensors"),
        ("bert-question-answering", "bert", "question-answering", None, "bin"),
        ("bert-base", "bert", "base", None, "bin"),
        ("roberta-base", "roberta", "base", None, "safetensors"),
        ("roberta-sequence-classification", "roberta", "sequence-classification", LABELS, "bin"),
        ("roberta-question-answering", "roberta", "question-answering", None, "bin"),
        ("distilbert-base", "distilbert", "base", None, "bin"),
        ("distilbert-token-classification", "distilbert", "token-classification", NER_LABELS, "bin"),
        ("distilbert-question-answering", "distilbert", "question-answering", None, "safetensors"),
    ]
    EXPECTED_IO = {
        ("bert", "base"): (BERT_INPUTS, ["last_hidden_state", "pooler_output"]),
        ("roberta", "base"): (TWO_INPUTS, ["last_hidden_state", "pooler_output"]),
        ("distilbert", "base"): (TWO_INPUTS, ["last_hidden_state"]),
    }

    def test_every_model_type_and_head_with_tools_modeling(self) -> None:
        self.every_model_type_and_head("modeling", "eager")

    @unittest.skipUnless(HAS_TRANSFORMERS, "transformers is not importable: run with the venv's Python")
    def test_every_model_type_and_head_with_transformers(self) -> None:
        self.every_model_type_and_head("transformers", "sdpa")

    def every_model_type_and_head(self, backend: str, attention: str) -> None:
        for seed, (name, model_type, task, labels, weights) in enumerate(self.CASES):
            with self.subTest(f"{name} ({backend})"):
                checkpoint = self.checkpoint(name, model_type, task, 100 + seed, labels, weights)
                out = self.out(f"{name}-{backend}")
                result = run_export(checkpoint, out, task, backend=backend)
                inputs, output_names = self.EXPECTED_IO.get(
                    (model_type, task),
                    (BERT_INPUTS if model_type == "bert" else TWO_INPUTS, hf_checkpoint.output_names(model_type, task)),
                )
                metadata = json.loads((out / "torch-encoders.json").read_text())
                self.assertEqual(list(metadata), METADATA_KEYS)
                self.assertEqual(metadata, result.metadata)
                self.assertEqual(
                    metadata,
                    {
                        "format": 1,
                        "task": task,
                        "torchVersion": torch.__version__,
                        "attention": attention,
                        "inputNames": inputs,
                        "outputNames": output_names,
                        "dtype": "float32",
                        "maxLength": 128,
                    },
                )
                # The independent reference: the model the checkpoint was written from.
                got = self.assert_export_matches(name, model_type, task, self.models[name], out)
                self.assertEqual(len(got), len(output_names))
                _, argument_names = run_loaded(out, make_batch(model_type, 1, 3, seed=1))
                self.assertEqual(argument_names, inputs)
                # Tokenizer files copied byte for byte; no weights or stray files.
                tokenizer = {"bert": ["tokenizer.json", "vocab.txt"], "distilbert": ["tokenizer.json", "vocab.txt"]}
                files = tokenizer.get(model_type, ["merges.txt", "vocab.json"])
                written = ["config.json", "model.pt", "special_tokens_map.json", "tokenizer_config.json"]
                expected_files = sorted(written + ["torch-encoders.json"] + files)
                self.assertEqual(sorted(p.name for p in out.iterdir()), expected_files)
                for file in files + ["tokenizer_config.json", "special_tokens_map.json"]:
                    self.assertEqual((out / file).read_bytes(), (checkpoint / file).read_bytes(), file)
                config = json.loads((out / "config.json").read_text())
                if labels is not None:
                    self.assertEqual(config["id2label"], {str(i): label for i, label in enumerate(labels)})
                    self.assertEqual(config["label2id"], {label: i for i, label in enumerate(labels)})
                # tools/modeling.py's graph records no device, so the file also runs on CUDA (transformers' mask
                # code records the trace's device: the exporter warns, see export_writer.check_devices).
                findings = export_checks.graph_findings(torch.jit.load(str(out / "model.pt")))
                if backend == "modeling":
                    self.assertFalse([f for f in findings if "device" in f or "dtype" in f], findings)
                graph = str(torch.jit.load(str(out / "model.pt")).inlined_graph)
                self.assertEqual("aten::scaled_dot_product_attention" in graph, attention == "sdpa")
        self.assertFalse(list((self.root / "out").glob(".*")), "no staging directories left behind")

    def test_trace_is_dynamic_in_batch_and_length(self) -> None:
        checkpoint = self.checkpoint("roberta-token-classification", "roberta", "token-classification", 7, NER_LABELS)
        out = self.out("roberta-token-classification")
        run_export(checkpoint, out, "token-classification")
        model = self.models["roberta-token-classification"]
        for batch, seq in ((1, 1), (1, 2), (4, 5), (5, 64), (2, 128)):
            inputs = make_batch("roberta", batch, seq, seed=batch * 1000 + seq)
            got, _ = run_loaded(out, inputs)
            self.assertLessEqual(max_abs_diff(got, run_eager(model, inputs, "roberta")), 1e-5, (batch, seq))


class CheckpointKeysTest(ExportTestCase):
    def test_base_from_task_checkpoint_strips_prefix_and_drops_head(self) -> None:
        checkpoint = self.checkpoint("bert-seq", "bert", "sequence-classification", 11, LABELS)
        out = self.out("base-from-seq")
        result = run_export(checkpoint, out, "base")
        self.assertEqual(result.metadata["outputNames"], ["last_hidden_state", "pooler_output"])
        self.assert_export_matches("base-from-seq", "bert", "base", self.models["bert-seq"].bert, out)

    def test_base_from_pretraining_checkpoint(self) -> None:
        def pretraining(state: Dict[str, Tensor]) -> Dict[str, Tensor]:
            # BertForPreTraining's layout: the encoder under bert., its heads under cls., old position_ids buffer.
            keys = {f"bert.{k}": v for k, v in state.items()}
            keys["bert.embeddings.position_ids"] = torch.arange(128).unsqueeze(0)
            keys["cls.predictions.bias"] = torch.zeros(30522)
            keys["cls.predictions.transform.dense.weight"] = torch.zeros(32, 32)
            keys["cls.predictions.transform.LayerNorm.weight"] = torch.ones(32)
            keys["cls.seq_relationship.weight"] = torch.zeros(2, 32)
            return keys

        checkpoint = self.checkpoint("bert-pretraining", "bert", "base", 12, transform=pretraining)
        out = self.out("base-from-pretraining")
        run_export(checkpoint, out, "base")
        self.assert_export_matches("base-from-pretraining", "bert", "base", self.models["bert-pretraining"], out)

    def test_base_from_a_checkpoint_without_pooler(self) -> None:
        checkpoint = self.checkpoint("roberta-qa", "roberta", "question-answering", 13)
        out = self.out("base-from-qa")
        result = run_export(checkpoint, out, "base")
        self.assertEqual(result.metadata["outputNames"], ["last_hidden_state"])
        got, _ = run_loaded(out, make_batch("roberta", 2, 9, seed=3))
        want = run_eager(self.models["roberta-qa"].roberta, make_batch("roberta", 2, 9, seed=3), "roberta")
        self.assertEqual(len(got), 1)
        self.assertLessEqual(max_abs_diff(got, want), 1e-5)

    def test_task_from_base_checkpoint_adds_prefix_but_fails_without_head(self) -> None:
        checkpoint = self.checkpoint("distilbert-base", "distilbert", "base", 14)
        for task in ("question-answering", "sequence-classification", "token-classification"):
            with self.subTest(task), self.assertRaises(ExportError) as caught:
                run_export(checkpoint, self.out(f"{task}-from-base"), task)
            message = str(caught.exception)
            self.assertIn(f"the checkpoint has no {task} head", message)
            self.assertIn("qa_outputs.weight" if task == "question-answering" else "classifier.weight", message)
            self.assertNotIn("distilbert.", message, "the encoder's keys were found under the added prefix")
            self.assertFalse(self.out(f"{task}-from-base").exists())

    def test_head_of_another_task_is_refused(self) -> None:
        # A BertForSequenceClassification's classifier has the shape of a token classifier with as many labels.
        checkpoint = self.checkpoint("bert-seq-2", "bert", "sequence-classification", 15, LABELS)
        with self.assertRaises(ExportError) as caught:
            run_export(checkpoint, self.out("token-from-seq"), "token-classification")
        self.assertIn("BertForSequenceClassification (sequence-classification head)", str(caught.exception))

    def test_pooler_of_a_checkpoint_is_dropped_by_heads_without_one(self) -> None:
        def with_pooler(state: Dict[str, Tensor]) -> Dict[str, Tensor]:
            return {**state, "bert.pooler.dense.weight": torch.zeros(32, 32), "bert.pooler.dense.bias": torch.zeros(32)}

        checkpoint = self.checkpoint("bert-qa-pooler", "bert", "question-answering", 16, transform=with_pooler)
        out = self.out("qa-pooler")
        run_export(checkpoint, out, "question-answering")
        self.assert_export_matches("qa-pooler", "bert", "question-answering", self.models["bert-qa-pooler"], out)

    def test_legacy_names_buffers_and_shards(self) -> None:
        def legacy(state: Dict[str, Tensor]) -> Dict[str, Tensor]:
            renamed = {}
            for key, value in state.items():
                if "LayerNorm.weight" in key:
                    key = key.replace("LayerNorm.weight", "LayerNorm.gamma")
                elif "LayerNorm.bias" in key:
                    key = key.replace("LayerNorm.bias", "LayerNorm.beta")
                renamed[key] = value
            renamed["bert.embeddings.token_type_ids"] = torch.zeros(1, 128, dtype=torch.long)
            return renamed

        checkpoint = self.checkpoint("bert-legacy", "bert", "token-classification", 17, NER_LABELS, transform=legacy)
        out = self.out("legacy")
        run_export(checkpoint, out, "token-classification")
        self.assert_export_matches("legacy", "bert", "token-classification", self.models["bert-legacy"], out)

        # The same weights as two safetensors shards with an index.
        sharded = self.root / "checkpoints" / "bert-sharded"
        sharded.mkdir(parents=True)
        for file in ("config.json", "tokenizer.json"):
            (sharded / file).write_bytes((checkpoint / file).read_bytes())
        state = dict(self.models["bert-legacy"].state_dict())
        names = sorted(state)
        shards = {"model-00001-of-00002.safetensors": names[::2], "model-00002-of-00002.safetensors": names[1::2]}
        weight_map = {}
        for file, keys in shards.items():
            write_safetensors(sharded / file, {k: state[k] for k in keys})
            weight_map.update({k: file for k in keys})
        (sharded / "model.safetensors.index.json").write_text(json.dumps({"metadata": {}, "weight_map": weight_map}))
        run_export(sharded, self.out("sharded"), "token-classification")
        model = self.models["bert-legacy"]
        self.assert_export_matches("sharded", "bert", "token-classification", model, self.out("sharded"))

    def test_float16_weights(self) -> None:
        def half(state: Dict[str, Tensor]) -> Dict[str, Tensor]:
            return {k: v.half() for k, v in state.items()}

        task = "sequence-classification"
        checkpoint = self.checkpoint("roberta-f16", "roberta", task, 18, LABELS, "safetensors", half)
        header = json.loads((checkpoint / "model.safetensors").read_bytes()[8:].split(b"}}", 1)[0] + b"}}")
        self.assertIn('"F16"', json.dumps(header))
        out = self.out("f16-weights")
        run_export(checkpoint, out, "sequence-classification")
        rounded = self.models["roberta-f16"]
        with torch.no_grad():
            for parameter in rounded.parameters():
                parameter.copy_(parameter.half().float())
        self.assert_export_matches("f16-weights", "roberta", "sequence-classification", rounded, out)

    def test_unexpected_missing_and_mismatched_keys_are_named(self) -> None:
        base = self.checkpoint("bert-for-errors", "bert", "sequence-classification", 19, LABELS)
        variants = {
            "unexpected": (lambda s: {**s, "bert.encoder.layer.9.output.dense.weight": torch.zeros(1)},
                           "unexpected bert.encoder.layer.9.output.dense.weight"),
            "missing": (lambda s: {k: v for k, v in s.items() if "layer.1.intermediate" not in k},
                        "missing bert.encoder.layer.1.intermediate.dense.bias, "
                        "bert.encoder.layer.1.intermediate.dense.weight"),
        }
        for name, (transform, fragment) in variants.items():
            with self.subTest(name):
                task = "sequence-classification"
                checkpoint = self.checkpoint(f"bert-{name}", "bert", task, 19, LABELS, transform=transform)
                with self.assertRaises(ExportError) as caught:
                    run_export(checkpoint, self.out(name), "sequence-classification")
                self.assertIn("the weights do not fit a BertForSequenceClassification", str(caught.exception))
                self.assertIn(fragment, str(caught.exception))
        # Labels in config.json that the classifier does not have.
        config = json.loads((base / "config.json").read_text())
        config["id2label"] = {str(i): f"L{i}" for i in range(5)}
        config.pop("label2id")
        (base / "config.json").write_text(json.dumps(config))
        with self.assertRaises(ExportError) as caught:
            run_export(base, self.out("mismatch"), "sequence-classification")
        self.assertIn(
            "shape mismatch: classifier.weight is [3, 32] in the checkpoint but [5, 32] for config.json",
            str(caught.exception),
        )


class ExportOptionsTest(ExportTestCase):
    def test_int8(self) -> None:
        transformers_or_modeling = "transformers" if HAS_TRANSFORMERS else "modeling"
        for name, model_type, task, labels, backend in (
            ("bert-seq-int8", "bert", "sequence-classification", LABELS, transformers_or_modeling),
            ("distilbert-base-int8", "distilbert", "base", None, "modeling"),
            ("roberta-qa-int8", "roberta", "question-answering", None, transformers_or_modeling),
        ):
            with self.subTest(name):
                checkpoint = self.checkpoint(name, model_type, task, 21, labels)
                out = self.out(name)
                result = run_export(checkpoint, out, task, quantize="int8", backend=backend)
                self.assertEqual(result.metadata["dtype"], "qint8")
                loaded = torch.jit.load(str(out / "model.pt"))
                self.assertIn("quantized::linear_dynamic", str(loaded.inlined_graph))
                inputs = make_batch(model_type, 2, 17, seed=5)
                got, _ = run_loaded(out, inputs)
                want = run_eager(self.models[name], inputs, model_type)
                error = relative_rms(got, want)
                # Quantized, so not equal; within the documented bound (see export_checks.INT8_MAX_RELATIVE_RMS).
                self.assertGreater(error, 1e-4)
                self.assertLess(error, export_checks.INT8_MAX_RELATIVE_RMS)
                print(f"    int8 {name}: relative RMS error vs float32 {error:.4f}", file=sys.stderr)

    def test_fp16(self) -> None:
        for name, model_type, task in (
            ("bert-base-fp16", "bert", "base"),
            ("distilbert-qa-fp16", "distilbert", "question-answering"),
        ):
            with self.subTest(name):
                checkpoint = self.checkpoint(name, model_type, task, 22)
                out = self.out(name)
                result = run_export(checkpoint, out, task, dtype="fp16")
                self.assertEqual(result.metadata["dtype"], "float16")
                loaded = torch.jit.load(str(out / "model.pt"))
                dtypes = {p.dtype for p in loaded.parameters()}
                self.assertEqual(dtypes, {torch.float16})
                self.assertEqual(export_checks.graph_findings(loaded), [])
                if torch.cuda.is_available():
                    self.assertTrue(any("float16) on CUDA" in line for line in result.checks), result.checks)
                elif export_writer.cpu_has_float16_kernels():
                    # torch 2.x: float16 runs on the CPU too, and computes the model.
                    self.assertTrue(any("float16) on the CPU" in line for line in result.checks), result.checks)
                    inputs = make_batch(model_type, 2, 17, seed=6)
                    got, _ = run_loaded(out, inputs)
                    self.assertEqual({t.dtype for t in got}, {torch.float16})
                    want = run_eager(self.models[name], inputs, model_type)
                    self.assertLess(relative_rms(got, want), export_checks.FP16_MAX_RELATIVE_RMS)
                else:
                    self.assertTrue(any("float16 numerics NOT run" in line for line in result.checks))
                    # On torch 1.13's CPU the file fails as documented (no float16 kernels) ...
                    with self.assertRaises(RuntimeError):
                        run_loaded(out, make_batch(model_type, 1, 4, seed=1))
                # ... and cast to bfloat16 it computes the model.
                inputs = make_batch(model_type, 2, 17, seed=6)
                names = [a.name for a in loaded.forward.schema.arguments[1:]]
                with torch.inference_mode():
                    got = outputs(loaded.to(torch.bfloat16)(*[inputs[n] for n in names]))
                want = run_eager(self.models[name], inputs, model_type)
                self.assertLess(relative_rms(got, want), export_checks.BF16_MAX_RELATIVE_RMS)

    def test_bf16(self) -> None:
        backends = ["modeling"] + (["transformers"] if HAS_TRANSFORMERS else [])
        for backend in backends:
            for name, model_type, task, labels in (
                ("bert-seq-bf16", "bert", "sequence-classification", LABELS),
                ("roberta-base-bf16", "roberta", "base", None),
            ):
                with self.subTest(f"{name} ({backend})"):
                    checkpoint = self.checkpoint(name, model_type, task, 26, labels)
                    out = self.out(f"{name}-{backend}")
                    result = run_export(checkpoint, out, task, dtype="bf16", backend=backend)
                    self.assertEqual(result.metadata["dtype"], "bfloat16")
                    loaded = torch.jit.load(str(out / "model.pt"))
                    self.assertEqual({p.dtype for p in loaded.parameters()}, {torch.bfloat16})
                    inputs = make_batch(model_type, 2, 17, seed=7)
                    got, _ = run_loaded(out, inputs)
                    self.assertEqual({t.dtype for t in got}, {torch.bfloat16})
                    want = run_eager(self.models[name], inputs, model_type)
                    error = relative_rms(got, want)
                    # Rounded to 8 significant bits, so not equal; within the documented bound.
                    self.assertGreater(error, 1e-4)
                    self.assertLess(error, export_checks.BF16_MAX_RELATIVE_RMS)
                    print(f"    bf16 {name} ({backend}): relative RMS error vs float32 {error:.4f}", file=sys.stderr)

    def test_attention_options(self) -> None:
        checkpoint = self.checkpoint("bert-attention", "bert", "base", 27)
        with self.assertRaises(ExportError) as caught:
            run_export(checkpoint, self.out("sdpa-modeling"), "base", attention="sdpa")
        self.assertIn("--attention sdpa: without transformers the exporter builds tools/modeling.py's", str(caught.exception))
        with self.assertRaises(ExportError) as caught:
            run_export(checkpoint, self.out("sdpa-fp16"), "base", attention="sdpa", dtype="fp16", backend="auto")
        self.assertIn("--attention sdpa: --dtype fp16 builds tools/modeling.py's", str(caught.exception))
        with self.assertRaises(ExportError) as caught:
            run_export(checkpoint, self.out("bad-attention"), "base", attention="flash")
        self.assertIn("--attention must be one of sdpa, eager, got 'flash'", str(caught.exception))
        result = run_export(checkpoint, self.out("eager-modeling"), "base")
        self.assertEqual(result.metadata["attention"], "eager")

    def test_fp16_mask_fill_is_float16_safe(self) -> None:
        # The float32 minimum that transformers fills masked scores with overflows float16; the export's graph
        # must carry float16's (checked by graph_findings), and a plain float32 trace does not pass that check.
        model, _ = hf_checkpoint.random_model("distilbert", "base", seed=1)
        wrapped = export_models.wrap(model, TWO_INPUTS, ["last_hidden_state"])
        example = tuple(make_batch("distilbert", 2, 5, seed=1)[n] for n in TWO_INPUTS)
        plain = torch.jit.trace(wrapped, example)
        self.assertIn("a constant beyond float16's range (-3.40282e+38)", export_checks.graph_findings(plain))
        modeling.set_mask_dtype(wrapped, torch.float16)
        self.assertEqual(export_checks.graph_findings(torch.jit.trace(wrapped, example)), [])

    def test_onnx_and_max_length(self) -> None:
        checkpoint = self.checkpoint("bert-qa-onnx", "bert", "question-answering", 23)
        out = self.out("onnx")
        result = run_export(checkpoint, out, "question-answering", onnx=True, max_length=64)
        self.assertEqual(result.metadata["maxLength"], 64)
        self.assertTrue(any("1x64" in line for line in result.checks), result.checks)
        if importlib.util.find_spec("onnx") is not None:
            import export_onnx  # noqa: PLC0415

            # The TorchScript-based exporter (torch >= 2.9 defaults to dynamo, which starts at opset 18).
            self.assertEqual(export_onnx.onnx_opset(out / "onnx" / "model.onnx"), [14])
        onnx = (out / "onnx" / "model.onnx").read_bytes()
        for name in (b"input_ids", b"attention_mask", b"token_type_ids", b"start_logits", b"end_logits"):
            self.assertIn(name, onnx)
        roberta = self.checkpoint("roberta-base-len", "roberta", "base", 24)
        with self.assertRaises(ExportError) as caught:
            run_export(roberta, self.out("too-long"), "base", max_length=129)
        self.assertIn("--max-length must be between 2 and 128", str(caught.exception))

    def test_force_and_failed_checks_leave_no_partial_output(self) -> None:
        checkpoint = self.checkpoint("bert-tc-force", "bert", "token-classification", 25, NER_LABELS)
        out = self.out("force")
        out.mkdir(parents=True)
        (out / "old-file").write_text("x")
        with self.assertRaises(ExportError) as caught:
            run_export(checkpoint, out, "token-classification")
        self.assertIn("exists and is not empty; pass --force", str(caught.exception))
        run_export(checkpoint, out, "token-classification", force=True)
        self.assertFalse((out / "old-file").exists())
        self.assertTrue((out / "model.pt").exists())
        # A check that fails (the tolerance made impossible) leaves the previous export and nothing else.
        before = sorted(p.name for p in out.parent.iterdir())
        saved = export_checks.FP32_TOLERANCE
        export_checks.FP32_TOLERANCE = -1.0
        try:
            with self.assertRaises(ExportError) as caught:
                run_export(checkpoint, out, "token-classification", force=True)
        finally:
            export_checks.FP32_TOLERANCE = saved
        self.assertIn("differs from the eager model", str(caught.exception))
        self.assertEqual(sorted(p.name for p in out.parent.iterdir()), before)
        self.assertTrue((out / "model.pt").exists())
        with self.assertRaises(ExportError) as caught:
            run_export(checkpoint, checkpoint.parent, "token-classification", force=True)
        self.assertIn("contains the checkpoint directory", str(caught.exception))


@unittest.skipUnless(HAS_TRANSFORMERS, "transformers is not importable: run with the venv's Python")
class TransformersBackendTest(ExportTestCase):
    def test_pooler_fallback_and_missing_head(self) -> None:
        checkpoint = self.checkpoint("hf-bert-tc", "bert", "token-classification", 42, NER_LABELS)
        out = self.out("hf-base-from-tc")
        result = run_export(checkpoint, out, "base", backend="transformers")
        self.assertEqual(result.metadata["outputNames"], ["last_hidden_state"])
        self.assert_export_matches("hf-base-from-tc", "bert", "base", self.models["hf-bert-tc"].bert, out)
        base = self.checkpoint("hf-bert-base", "bert", "base", 43)
        with self.assertRaises(ExportError) as caught:
            run_export(base, self.out("hf-qa-from-base"), "question-answering", backend="transformers")
        message = str(caught.exception)
        self.assertIn("the weights do not fit a BertForQuestionAnswering: missing qa_outputs.bias", message)
        # float16 always uses tools/modeling.py (a CPU trace of transformers' records float32): with auto, and
        # refused with an explicit --backend transformers.
        result = run_export(base, self.out("hf-fp16"), "base", dtype="fp16", backend="auto")
        self.assertEqual((result.metadata["dtype"], result.metadata["attention"]), ("float16", "eager"))
        with self.assertRaises(ExportError) as caught:
            run_export(base, self.out("hf-fp16-2"), "base", dtype="fp16", backend="transformers")
        self.assertIn("--dtype fp16 needs tools/modeling.py's modules", str(caught.exception))

    def test_eager_attention_loads_on_torch_1_13_and_sdpa_does_not(self) -> None:
        checkpoint = self.checkpoint("hf-roberta-seq", "roberta", "sequence-classification", 44, LABELS)
        inputs = make_batch("roberta", 2, 11, seed=8)
        want = run_eager(self.models["hf-roberta-seq"], inputs, "roberta")[0]
        torch.save({k: inputs[k] for k in TWO_INPUTS}, self.root / "hf-roberta-inputs.pt")
        for attention in ("eager", "sdpa"):
            out = self.out(f"hf-roberta-{attention}")
            result = run_export(checkpoint, out, "sequence-classification", backend="transformers", attention=attention)
            self.assertEqual(result.metadata["attention"], attention)
            script = (
                "import sys, torch\n"
                "model = torch.jit.load(sys.argv[1])\n"
                "inputs = torch.load(sys.argv[2])\n"
                "torch.save(model(inputs['input_ids'], inputs['attention_mask']), sys.argv[3])\n"
                "print(torch.__version__)\n"
            )
            got_path = self.root / f"hf-roberta-{attention}-got.pt"
            ran = debian_torch(script, str(out / "model.pt"), str(self.root / "hf-roberta-inputs.pt"), str(got_path))
            if attention == "eager":
                self.assertEqual(ran.returncode, 0, ran.stderr)
                self.assertTrue(ran.stdout.startswith("1.13"), ran.stdout)
                self.assertLessEqual(max_abs_diff([torch.load(got_path)], [want]), 1e-5)
            else:
                self.assertNotEqual(ran.returncode, 0)
                self.assertIn("Unknown builtin op: aten::scaled_dot_product_attention", ran.stderr)


class Torch113Test(ExportTestCase):
    def test_the_exporter_runs_on_debian_torch_without_transformers(self) -> None:
        checkpoint = self.checkpoint("debian-distilbert-qa", "distilbert", "question-answering", 45)
        out = self.out("debian-distilbert-qa")
        environment = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
        ran = subprocess.run(
            [str(DEBIAN_PYTHON), str(EXPORT), str(checkpoint), str(out), "--task", "question-answering"],
            capture_output=True,
            text=True,
            timeout=300,
            env=environment,
        )
        self.assertEqual(ran.returncode, 0, ran.stderr)
        self.assertIn("tools/modeling.py, torch 1.13", ran.stdout)
        metadata = json.loads((out / "torch-encoders.json").read_text())
        self.assertEqual(metadata["attention"], "eager")
        self.assertTrue(metadata["torchVersion"].startswith("1.13"), metadata)
        # The file traced by torch 1.13 also loads on the venv's torch, and computes the eager model.
        self.assert_export_matches("debian", "distilbert", "question-answering", self.models["debian-distilbert-qa"], out)
        ran = subprocess.run(
            [str(DEBIAN_PYTHON), str(EXPORT), str(checkpoint), str(out), "--task", "question-answering", "--force",
             "--attention", "sdpa"],
            capture_output=True,
            text=True,
            timeout=300,
            env=environment,
        )
        self.assertEqual(ran.returncode, 1)
        self.assertIn("--attention sdpa needs torch >= 2.0", ran.stderr)

class CommandLineTest(ExportTestCase):
    def cli(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, str(EXPORT), *args], capture_output=True, text=True, timeout=120)

    def assert_one_line_error(self, result: subprocess.CompletedProcess, fragment: str) -> None:
        self.assertEqual(result.returncode, 1, result.stderr)
        lines = result.stderr.strip().splitlines()
        self.assertEqual(len(lines), 1, result.stderr)
        self.assertTrue(lines[0].startswith("export.py: error: "), lines[0])
        self.assertIn(fragment, lines[0])

    def test_success_and_errors(self) -> None:
        checkpoint = self.checkpoint("cli-bert", "bert", "sequence-classification", 31, LABELS)
        out = self.out("cli")
        result = self.cli(str(checkpoint), str(out), "--task", "sequence-classification", "--quantize", "int8")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("relative RMS error", result.stdout)
        self.assertEqual(json.loads((out / "torch-encoders.json").read_text())["dtype"], "qint8")

        missing = self.root / "no-such-dir"
        self.assert_one_line_error(self.cli(str(missing), str(out), "--task", "base"), "does not exist")
        self.assert_one_line_error(
            self.cli(str(checkpoint), str(out), "--task", "summarization"), "argument --task: invalid choice"
        )
        self.assert_one_line_error(
            self.cli(str(checkpoint), str(out), "--task", "base", "--quantize", "int8", "--dtype", "fp16"),
            "exclude each other",
        )

    def test_error_messages(self) -> None:
        checkpoint = self.checkpoint("err-bert", "bert", "base", 32)
        broken = self.root / "checkpoints" / "broken"

        def variant(files: Dict[str, Optional[str]]) -> Path:
            if broken.exists():
                for path in broken.iterdir():
                    path.unlink()
            broken.mkdir(parents=True, exist_ok=True)
            for name in ("config.json", "pytorch_model.bin", "tokenizer.json"):
                (broken / name).write_bytes((checkpoint / name).read_bytes())
            for name, text in files.items():
                if text is None:
                    (broken / name).unlink()
                else:
                    (broken / name).write_text(text)
            return broken

        config = json.loads((checkpoint / "config.json").read_text())
        cases = [
            ({"config.json": None}, "has no config.json"),
            ({"config.json": "{not json"}, "config.json is not valid JSON"),
            ({"config.json": json.dumps({**config, "model_type": "gpt2"})}, "model_type 'gpt2' is not supported"),
            (
                {"config.json": json.dumps({**config, "position_embedding_type": "relative_key"})},
                "only position_embedding_type 'absolute'",
            ),
            ({"pytorch_model.bin": None}, "no weights: expected model.safetensors"),
            ({"pytorch_model.bin": "not a zip"}, "pytorch_model.bin: cannot load"),
            ({"tokenizer.json": None}, "has no tokenizer"),
        ]
        for files, fragment in cases:
            with self.subTest(fragment), self.assertRaises(ExportError) as caught:
                run_export(variant(files), self.out("errors"), "base")
            self.assertIn(fragment, str(caught.exception))
            self.assertNotIn("\n", str(caught.exception))
        with self.assertRaises(ExportError) as caught:
            run_export(checkpoint, self.out("errors"), "fill-mask")
        self.assertIn("--task must be one of", str(caught.exception))
        if not export_models.transformers_available():
            with self.assertRaises(ExportError) as caught:
                run_export(checkpoint, self.out("errors"), "base", backend="transformers")
            self.assertIn("transformers package is not importable", str(caught.exception))
        self.assertFalse(self.out("errors").exists())
        # One of them through the command line: the shape mismatch, whose message is the longest.
        config["vocab_size"] = 30000
        broken_config = str(variant({"config.json": json.dumps(config)}))
        result = self.cli(broken_config, str(self.out("errors")), "--task", "base", "--backend", "modeling")
        self.assert_one_line_error(
            result, "shape mismatch: embeddings.word_embeddings.weight is [30522, 32] in the checkpoint but [30000, 32]"
        )


if __name__ == "__main__":
    unittest.main(verbosity=2)
