"""One benchmark scenario for Python torch, in a process of its own: the project venv's torch 2.13 (MKL, oneDNN;
bench/run.js's default) or Debian's /usr/bin/python3 + python3-torch 1.13 (OpenBLAS; the 1.13 GEMM peak).

    .venv/bin/python bench/contenders/python_torch.py --job JOB.json     (bench/run.js writes the job, reads job.out)

Scenarios:
  latency  torch.jit.load of the same TorchScript torch-encoders loads, torch.set_num_threads(threads), forwards
           under torch.inference_mode() with the graph-executor setting the library uses on its inference thread
           (torch._C._set_graph_executor_optimize(False)) unless job.executorOptimize is true; job.qengine sets
           torch.backends.quantized.engine (int8 files).
  profile  the latency setup under torch.autograd.profiler: self CPU time per op over job.runs forwards.
  sgemm    the machine's fp32 matmul peak through libtorch: best of job.repeats torch.mm of two n x n matrices
           (2 n^3 FLOPs each), with threads intra-op threads.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time
from pathlib import Path

import torch


def latency_ids(batch: int, seq: int) -> torch.Tensor:
    """Twin of latencyIds in bench/lib/common.js: the same ids in every contender."""
    ids = []
    for b in range(batch):
        for t in range(seq):
            i = b * seq + t
            ids.append(101 if t == 0 else 102 if t == seq - 1 else 1000 + (i * 7919) % 20000)
    return torch.tensor(ids, dtype=torch.long).reshape(batch, seq)


PROBE_SAMPLE = 2048  # twin of bench/lib/common.js


def stats_probe(hidden: torch.Tensor) -> dict:
    """Twin of probe in bench/lib/common.js: first values, mean |x| and the strided sample."""
    flat = hidden.float().reshape(-1)
    width = hidden.shape[-1]
    step = max(1, flat.numel() // PROBE_SAMPLE)
    return {
        "first": flat[:4].tolist(),
        "last": flat[flat.numel() - width : flat.numel() - width + 4].tolist(),
        "meanAbs": flat.abs().double().mean().item(),
        "dims": list(hidden.shape),
        "sample": flat[::step][:PROBE_SAMPLE].tolist(),
    }


def blas_library() -> str:
    try:
        maps = Path("/proc/self/maps").read_text()
    except OSError:
        return "unknown"
    names = sorted({line.split("/")[-1] for line in maps.splitlines() if "blas" in line.lower() and "/" in line})
    return ", ".join(names) or "none mapped"


def load_for_latency(job: dict) -> tuple:
    torch._C._set_graph_executor_optimize(bool(job.get("executorOptimize", False)))
    if job.get("qengine"):  # the int8 kernels' engine (torch 2.x: x86 by default, fbgemm, onednn)
        torch.backends.quantized.engine = job["qengine"]
    load_start = time.perf_counter()
    module = torch.jit.load(str(Path(job["modelDir"]) / "model.pt"))
    module.eval()
    load_ms = (time.perf_counter() - load_start) * 1000
    batch, seq = job["batch"], job["seq"]
    inputs = (
        latency_ids(batch, seq),
        torch.ones(batch, seq, dtype=torch.long),
        torch.zeros(batch, seq, dtype=torch.long),
    )
    return module, inputs, load_ms


def latency(job: dict) -> dict:
    optimize = bool(job.get("executorOptimize", False))
    module, (ids, mask, types), load_ms = load_for_latency(job)
    times = []
    with torch.inference_mode():
        start = time.perf_counter()
        outputs = module(ids, mask, types)
        first_ms = (time.perf_counter() - start) * 1000
        for i in range(max(0, job["warmup"] - 1) + job["runs"]):
            start = time.perf_counter()
            outputs = module(ids, mask, types)
            elapsed = (time.perf_counter() - start) * 1000
            if i >= max(0, job["warmup"] - 1):
                times.append(elapsed)
    hidden = outputs[0] if isinstance(outputs, (tuple, list)) else (
        outputs["last_hidden_state"] if isinstance(outputs, dict) else outputs
    )
    return {
        "loadMs": load_ms,
        "firstMs": first_ms,
        "timesMs": times,
        "probe": stats_probe(hidden),
        "executorOptimize": optimize,
        "quantizedEngine": torch.backends.quantized.engine,
    }


def profile(job: dict) -> dict:
    module, inputs, _ = load_for_latency(job)
    with torch.inference_mode():
        for _ in range(job["warmup"]):
            module(*inputs)
        with torch.autograd.profiler.profile() as prof:
            start = time.perf_counter()
            for _ in range(job["runs"]):
                module(*inputs)
            wall_ms = (time.perf_counter() - start) * 1000 / job["runs"]
    ops = [
        {"op": e.key, "calls": e.count // job["runs"], "selfMs": e.self_cpu_time_total / 1000 / job["runs"]}
        for e in prof.key_averages()
    ]
    ops.sort(key=lambda op: op["selfMs"], reverse=True)
    return {"runs": job["runs"], "wallMsPerForward": wall_ms, "ops": ops}


def sgemm(job: dict) -> dict:
    n = job["n"]
    generator = torch.Generator().manual_seed(0)
    a = torch.randn(n, n, generator=generator)
    b = torch.randn(n, n, generator=generator)
    c = torch.empty(n, n)
    torch.mm(a, b, out=c)  # warm-up: thread pool, BLAS buffers
    times = []
    for _ in range(job["repeats"]):
        start = time.perf_counter()
        torch.mm(a, b, out=c)
        times.append((time.perf_counter() - start) * 1000)
    flops = 2.0 * n**3
    best = min(times)
    blas = "MKL" if torch.backends.mkl.is_available() else blas_library()
    return {
        "n": n,
        "timesMs": times,
        "bestMs": best,
        "gflops": flops / (best / 1000) / 1e9,
        "flops": flops,
        "library": f"torch {torch.__version__} torch.mm ({blas})",
    }


def main() -> None:
    if "--job" not in sys.argv:
        sys.exit("usage: python_torch.py --job JOB.json")
    job = json.loads(Path(sys.argv[sys.argv.index("--job") + 1]).read_text())
    torch.set_num_threads(job["threads"])
    scenario = {"latency": latency, "profile": profile, "sgemm": sgemm}.get(job["scenario"])
    if scenario is None:
        sys.exit(f"python_torch: unknown scenario {job['scenario']}")
    result = scenario(job)
    result.update(
        {
            "threads": torch.get_num_threads(),
            "peakRssMb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "cpuSeconds": resource.getrusage(resource.RUSAGE_SELF).ru_utime
            + resource.getrusage(resource.RUSAGE_SELF).ru_stime,
            "pid": os.getpid(),
            "versions": {
                "torch": torch.__version__,
                "python": sys.version.split()[0],
                # torch 2.x wheels link MKL statically into libtorch_cpu; a mapped *blas* may be numpy's.
                "blas": "MKL" if torch.backends.mkl.is_available() else blas_library(),
            },
        }
    )
    Path(job["out"]).write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
