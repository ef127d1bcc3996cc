"""The fp32 matrix multiplies of a BERT-base forward through each GEMM backend Debian's libtorch 1.13 offers.

    /usr/bin/python3 bench/gemm_backends.py [--threads 2]

Prints GFLOP/s per shape (M tokens x K in -> N out, as nn.Linear) for:
  openblas  F.linear, what TorchScript models run (aten::addmm over the system BLAS)
  onednn    torch.utils.mkldnn.to_mkldnn(nn.Linear), input in dense and in MKL-DNN layout
  xnnpack   torch.ops.prepacked.linear_clamp_run with prepacked weights
The shapes are those of BERT-base at batch 1 x 128 tokens (M = 128) and batch 8 x 128 (M = 1024). Medians of 40
calls after 5 warm-up calls. Used to choose the GEMM path (README, Performance): the fastest here is OpenBLAS.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
import torch.utils.mkldnn

SHAPES = [(128, 768, 768), (128, 768, 3072), (128, 3072, 768), (1024, 768, 768), (1024, 768, 3072), (1024, 3072, 768)]


def median_ms(call, runs: int = 40) -> float:
    for _ in range(5):
        call()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        call()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {args.threads} threads; GFLOP/s (higher is better)")
    print(f"{'M x K x N':>18} {'openblas':>9} {'onednn':>9} {'onednn*':>9} {'xnnpack':>9}   (*: MKL-DNN layout input)")
    generator = torch.Generator().manual_seed(0)
    with torch.inference_mode():
        for m, k, n in SHAPES:
            x = torch.randn(m, k, generator=generator)
            linear = torch.nn.Linear(k, n).eval().requires_grad_(False)
            flops = 2 * m * k * n
            gflops = lambda call: flops / median_ms(call) / 1e6  # noqa: E731
            openblas = gflops(lambda: torch.nn.functional.linear(x, linear.weight, linear.bias))
            onednn_linear = torch.utils.mkldnn.to_mkldnn(linear)
            x_mkldnn = x.to_mkldnn()
            onednn = gflops(lambda: onednn_linear(x))
            onednn_native = gflops(lambda: onednn_linear(x_mkldnn))
            packed = torch.ops.prepacked.linear_clamp_prepack(linear.weight, linear.bias)
            xnnpack = gflops(lambda: torch.ops.prepacked.linear_clamp_run(x, packed))
            print(f"{f'{m} x {k} x {n}':>18} {openblas:9.0f} {onednn:9.0f} {onednn_native:9.0f} {xnnpack:9.0f}")


if __name__ == "__main__":
    main()
