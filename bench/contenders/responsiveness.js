// Event-loop responsiveness while a model works: the event-loop delay (as perf_hooks.monitorEventLoopDelay samples it)
// over an idle stretch, then over rounds of job.concurrent calls issued at once, in a process of its own. A library
// that runs inference on the main thread stalls the loop for a whole forward; one that runs it elsewhere only
// competes with it for the cores.
// test/native/concurrency.test.ts checks that the loop turns at all while forwards are pending; how long a turn
// takes depends on the machine's load, so it is measured here and not asserted there.
//
// job.library: 'torch-encoders' (../../dist/lib: run `npm run build:ts` first) or 'transformers-js' (onnxruntime-node,
// device 'cpu', fp32). job.task: 'base' (forwards of fixed token ids, b1 x job.seq, as the latency scenario) or
// 'text-classification' (single-text pipeline calls on the benchmark sentences, as the concurrency scenario).
//
//   node bench/contenders/responsiveness.js --job JOB.json     (bench/run.js writes the job and reads job.out)
'use strict';

const path = require('node:path');
const common = require('../lib/common');

const { job, finish } = common.readJob();
// transformers.js and onnxruntime log to stdout; bench/run.js only reads job.out, but keep stdout quiet anyway.
console.log = console.info = console.debug = (...args) => console.error(...args);

/** The sampling timer's period: monitorEventLoopDelay's default. */
const RESOLUTION_MS = 10;

/**
 * Runs `work` while a RESOLUTION_MS timer records the gaps between its ticks; returns the event-loop delay (each gap
 * beyond the period) in ms. This is what perf_hooks.monitorEventLoopDelay records, plus the gap from the last tick
 * to the end of the work, which the histogram drops: a library that runs every forward on the main thread never
 * lets the timer fire, and the histogram would then read empty instead of one stall as long as the whole work.
 */
async function measured(work) {
  const gaps = [];
  const start = performance.now();
  let last = start;
  const timer = setInterval(() => {
    const now = performance.now();
    gaps.push(now - last);
    last = now;
  }, RESOLUTION_MS);
  try {
    await work();
  } finally {
    clearInterval(timer);
  }
  const end = performance.now();
  gaps.push(end - last);
  const late = gaps.map((gap) => Math.max(0, gap - RESOLUTION_MS));
  const s = common.stats(late);
  const sorted = [...late].sort((a, b) => a - b);
  return {
    samples: late.length,
    wallMs: end - start,
    p50Ms: s.median,
    p99Ms: sorted[Math.min(sorted.length - 1, Math.ceil(0.99 * sorted.length) - 1)],
    maxMs: s.max,
    meanMs: s.mean,
    // Share of the wall time the loop spent late: 1 means it never turned while the work ran.
    lateShare: late.reduce((a, b) => a + b, 0) / (end - start),
  };
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** `call(i)` for i in [0, job.concurrent), all issued at once, `rounds` times in a row. */
async function rounds(call, count) {
  for (let r = 0; r < count; r++) {
    await Promise.all(Array.from({ length: job.concurrent }, (_, i) => call(i)));
  }
}

function ids() {
  return BigInt64Array.from(common.latencyIds(1, job.seq), (v) => BigInt(v));
}

async function torchEncoders() {
  const { Model, pipeline, libtorchVersion } = require('../../dist/lib');
  const versions = { libtorch: libtorchVersion(), node: process.version };
  if (job.task === 'base') {
    const model = await Model.load(job.modelDir, { threads: job.threads });
    const inputs = {
      input_ids: ids(),
      attention_mask: new BigInt64Array(job.seq).fill(1n),
      token_type_ids: new BigInt64Array(job.seq),
    };
    return {
      versions,
      call: () => model.forward(inputs, [1, job.seq]),
      dispose: () => model.dispose(),
      workers: model.workers,
    };
  }
  const { sentences } = common.loadSentences(job.concurrent);
  const classify = await pipeline('text-classification', job.modelDir, { threads: job.threads });
  return {
    versions,
    call: (i) => classify(sentences[i]),
    dispose: () => classify.dispose(),
    workers: classify.model.workers,
  };
}

async function transformersJs() {
  const t = require('@huggingface/transformers');
  t.env.allowRemoteModels = false;
  t.env.allowLocalModels = true;
  t.env.localModelPath = path.dirname(path.resolve(job.modelDir)) + path.sep;
  const name = path.basename(job.modelDir);
  const options = {
    device: 'cpu',
    dtype: 'fp32',
    session_options: { intraOpNumThreads: job.threads, interOpNumThreads: 1 },
  };
  const versions = { onnxruntime: require('onnxruntime-node/package.json').version, node: process.version };
  if (job.task === 'base') {
    const model = await t.AutoModel.from_pretrained(name, options);
    const tensor = (values) => new t.Tensor('int64', values, [1, job.seq]);
    const inputs = {
      input_ids: tensor(ids()),
      attention_mask: tensor(new BigInt64Array(job.seq).fill(1n)),
      token_type_ids: tensor(new BigInt64Array(job.seq)),
    };
    return { versions, call: () => model(inputs), dispose: () => model.dispose() };
  }
  const { sentences } = common.loadSentences(job.concurrent);
  const classify = await t.pipeline('text-classification', name, options);
  return { versions, call: (i) => classify(sentences[i]), dispose: () => classify.dispose() };
}

common.runMain(async () => {
  const library = job.library === 'transformers-js' ? transformersJs : torchEncoders;
  const subject = await library();
  // Warm-up: first forwards are slow and allocate; they are not what a serving process sees.
  await rounds(subject.call, job.warmupRounds);
  // Idle first, after the warm-up, in the same process: the baseline of this machine at this moment.
  const idle = await measured(() => sleep(job.idleMs));
  const busy = await measured(() => rounds(subject.call, job.rounds));
  await subject.dispose();
  finish({
    idle,
    busy,
    calls: job.concurrent * job.rounds,
    resolutionMs: RESOLUTION_MS,
    workers: subject.workers ?? null,
    versions: subject.versions,
  });
});
