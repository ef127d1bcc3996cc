// onnxruntime-node's fp32 GEMM peak, for the machine's limit beside libtorch's: the best of job.repeats runs of one
// MatMul of two n x n matrices (build/bench/.../matmul.onnx, made by bench/prepare.py; 2 n^3 FLOPs each), with
// intraOpNumThreads = job.threads, in a process of its own.
//
//   node bench/contenders/onnxruntime-matmul.js --job JOB.json     (bench/run.js writes the job and reads job.out)
'use strict';

const fs = require('node:fs');
const path = require('node:path');
const common = require('../lib/common');

const { job, finish } = common.readJob();

common.runMain(async () => {
  const ort = require('onnxruntime-node');
  const session = await ort.InferenceSession.create(job.matmulOnnx, {
    intraOpNumThreads: job.threads,
    interOpNumThreads: 1,
  });
  const n = job.n;
  // Deterministic values in [-1, 1): the result's magnitude is irrelevant, denormals are not produced.
  const fill = (seed) => {
    const values = new Float32Array(n * n);
    let x = seed;
    for (let i = 0; i < values.length; i++) {
      x = (x * 1103515245 + 12345) % 2147483648;
      values[i] = x / 1073741824 - 1;
    }
    return new ort.Tensor('float32', values, [n, n]);
  };
  const feeds = { A: fill(1), B: fill(2) };
  await session.run(feeds); // warm-up: thread pool, buffers
  const times = [];
  for (let i = 0; i < job.repeats; i++) {
    const start = performance.now();
    await session.run(feeds);
    times.push(performance.now() - start);
  }
  await session.release();
  const flops = 2 * n ** 3;
  const best = Math.min(...times);
  const pkg = JSON.parse(
    fs.readFileSync(
      path.join(path.dirname(require.resolve('onnxruntime-node')), '..', 'package.json'),
      'utf8',
    ),
  );
  finish({
    n,
    timesMs: times,
    bestMs: best,
    gflops: flops / (best / 1000) / 1e9,
    flops,
    library: `onnxruntime-node ${pkg.version} (MLAS)`,
    versions: { onnxruntime: pkg.version, node: process.version },
  });
});
