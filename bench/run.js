#!/usr/bin/env node
// The benchmark: torch-encoders against transformers.js (onnxruntime-node and WASM) and Python torch, on the same
// weights, each contender and scenario in a child process of its own (so peak RSS is that contender's), all with the
// same intra-op thread count.
//
//   npm run build:ts
//   node bench/run.js            full run (~20 min on 2 cores), writes bench/results/<date>.{json,md,svg} and
//                                bench/results/latest.svg
//   node bench/run.js --quick    fewer runs (~5 min once build/bench is prepared), writes <date>-quick.*
//   node bench/run.js --smoke    tiny random models, 1-2 iterations (the jest smoke test): checks the harness only
//   node bench/run.js --only embeddings     all-MiniLM-L6-v2 sentence embeddings (models/embeddings) of 1,000 real
//                                sentences: torch-encoders against transformers.js fp32 and q8 on the same weights,
//                                throughput, single-request latency and the same-answers check (<date>-embeddings.*)
//   node bench/run.js --only load-dispose   50 load/forward/dispose cycles of BERT-base, torch-encoders against
//                                onnxruntime-node, RSS per cycle; never part of a run without --only. Alone, it
//                                writes <date>-load-dispose.{json,md} (any --only run: <date>-<ids>.*)
//
// Options: --threads N (default 2), --out DIR (default bench/results), --only a,b (scenario ids: bert-b1, bert-b8,
// sentiment, int8-accuracy, concurrency, concurrency-base, embeddings, node-share, responsiveness, sgemm, profile,
// diagnostics, load-dispose), --sentences N (texts of the sentiment and embeddings scenarios, overrides the mode),
// --skip-wasm, --skip-1.13 (no rows on Debian's libtorch), --runs N (latency runs, overrides the mode), --processes N
// (processes per native job, overrides the mode), --no-chart. Preparation (bench/prepare.py in the project venv's
// Python, torch 2.13; BENCH_PYTHON overrides; BENCH_PYTHON_113, default /usr/bin/python3, runs 1.13's GEMM peak; the
// 1.13 rows set TORCH_ENCODERS_LIBTORCH=BENCH_DEBIAN_LIBTORCH, default /usr/lib/x86_64-linux-gnu) is cached in
// build/bench/ and re-done when its inputs change; an --only run prepares only the models its scenarios use. Do not
// time anything while other heavy work runs: the run records the load average and any demo training process it
// sees, and says so in its report.
'use strict';

const { spawnSync, spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { bertForwardFlops, FORMULA } = require('./lib/flops');
const { stats, readMatrix } = require('./lib/common');
const report = require('./lib/report');

const BENCH = __dirname;
const ROOT = path.resolve(BENCH, '..');
// Python torch 2.13 of the project venv (tools/setup.sh) for preparation and the Python rows; Debian's
// /usr/bin/python3 (torch 1.13, OpenBLAS) only for 1.13's GEMM peak.
const VENV_PYTHON = path.join(ROOT, '.venv', 'bin', 'python');
const PYTHON = process.env.BENCH_PYTHON ?? (fs.existsSync(VENV_PYTHON) ? VENV_PYTHON : 'python3');
const PYTHON_113 = process.env.BENCH_PYTHON_113 ?? '/usr/bin/python3';
// What TORCH_ENCODERS_LIBTORCH names for the rows on Debian's libtorch 1.13 (lib/libtorch-discovery.ts).
const DEBIAN_LIBTORCH = process.env.BENCH_DEBIAN_LIBTORCH ?? '/usr/lib/x86_64-linux-gnu';
const DEBIAN_ENV = { TORCH_ENCODERS_LIBTORCH: DEBIAN_LIBTORCH };

// ---------------------------------------------------------------------------------------------------------------
// Options
// ---------------------------------------------------------------------------------------------------------------

function parseArgs(argv) {
  const options = {
    mode: 'full',
    threads: 2,
    out: path.join(BENCH, 'results'),
    only: null,
    skipWasm: false,
    skip113: false,
    runs: null,
    processes: null,
    sentences: null,
    chart: true,
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = () => {
      const next = argv[++i];
      if (next === undefined) throw new Error(`${arg} needs a value`);
      return next;
    };
    if (arg === '--quick') options.mode = 'quick';
    else if (arg === '--smoke') options.mode = 'smoke';
    else if (arg === '--full') options.mode = 'full';
    else if (arg === '--threads') options.threads = Number(value());
    else if (arg === '--out') options.out = path.resolve(value());
    else if (arg === '--only') options.only = new Set(value().split(','));
    else if (arg === '--skip-wasm') options.skipWasm = true;
    else if (arg === '--skip-1.13') options.skip113 = true;
    else if (arg === '--runs') options.runs = Number(value());
    else if (arg === '--processes') options.processes = Number(value());
    else if (arg === '--sentences') options.sentences = Number(value());
    else if (arg === '--no-chart') options.chart = false;
    else if (arg === '--help' || arg === '-h') {
      const lines = fs.readFileSync(__filename, 'utf8').split('\n').slice(1);
      const header = lines.slice(
        0,
        lines.findIndex((line) => !line.startsWith('//')),
      );
      process.stdout.write(header.join('\n') + '\n');
      process.exit(0);
    } else throw new Error(`unknown option ${arg} (see --help)`);
  }
  if (!Number.isInteger(options.threads) || options.threads < 1) throw new Error('--threads must be >= 1');
  if (options.processes !== null && !(Number.isInteger(options.processes) && options.processes >= 1)) {
    throw new Error('--processes must be >= 1');
  }
  if (options.sentences !== null && !(Number.isInteger(options.sentences) && options.sentences >= 1)) {
    throw new Error('--sentences must be >= 1');
  }
  for (const id of options.only ?? []) {
    if (!SCENARIO_IDS.includes(id))
      throw new Error(`--only: unknown scenario ${id} (one of ${SCENARIO_IDS.join(', ')})`);
  }
  return options;
}

/** Iterations per mode. WASM is ~5-8x slower than native, so it gets fewer runs of the big shapes. */
const PLANS = {
  full: {
    // Native latency jobs run in `processes` separate processes each (interleaved): libtorch's speed differs from
    // one process to the next by up to ~1.5x on this kind of VM, while it is steady within a process.
    processes: 3,
    latency: { b1: { warmup: 5, runs: 12 }, b8: { warmup: 2, runs: 4 } },
    latencyWasm: { b1: { warmup: 2, runs: 10 }, b8: { warmup: 1, runs: 3 } },
    latencyBf16: { b1: { warmup: 2, runs: 6 }, b8: { warmup: 1, runs: 2 } },
    sentences: 1000,
    throughput: { rounds: 4, warmupCount: 64, batchSize: 8 },
    throughputWasm: { rounds: 1, warmupCount: 32, batchSize: 8 },
    // Per process (3 in full runs): 2 rounds of 1,000 sentences in batches and 200 single requests each.
    embeddings: { count: 1000, batchSize: 32, warmupCount: 64, rounds: 2, latencyCount: 200 },
    concurrency: { count: 64, warmupRounds: 2, rounds: 6 },
    concurrencyBase: { count: 64, warmupRounds: 1, rounds: 2 },
    responsiveness: { baseConcurrent: 8, textConcurrent: 64, warmupRounds: 1, rounds: 3, idleMs: 3000 },
    breakdown: { warmup: 3, runs: 20 },
    sgemm: { n: 2048, repeats: 10 },
    profile: { warmup: 3, runs: 5 },
    profileAll: true,
    diagnostics: true,
    timeoutMs: 20 * 60_000,
  },
  quick: {
    processes: 1,
    latency: { b1: { warmup: 2, runs: 8 }, b8: { warmup: 1, runs: 2 } },
    latencyWasm: { b1: { warmup: 1, runs: 3 }, b8: { warmup: 1, runs: 1 } },
    latencyBf16: { b1: { warmup: 1, runs: 2 } }, // b8 in bf16 takes ~10 s a forward on a CPU without bf16
    sentences: 1000,
    throughput: { rounds: 1, warmupCount: 32, batchSize: 8 },
    throughputWasm: { rounds: 1, warmupCount: 16, batchSize: 8 },
    embeddings: { count: 1000, batchSize: 32, warmupCount: 32, rounds: 1, latencyCount: 100 },
    concurrency: { count: 64, warmupRounds: 1, rounds: 2 },
    concurrencyBase: { count: 64, warmupRounds: 1, rounds: 1 },
    responsiveness: { baseConcurrent: 4, textConcurrent: 64, warmupRounds: 1, rounds: 1, idleMs: 1000 },
    breakdown: { warmup: 2, runs: 8 },
    sgemm: { n: 2048, repeats: 5 },
    profile: { warmup: 2, runs: 3 },
    diagnostics: false,
    timeoutMs: 5 * 60_000,
  },
  smoke: {
    processes: 1,
    latency: { b1: { warmup: 1, runs: 2 }, b8: { warmup: 1, runs: 2 } },
    latencyWasm: { b1: { warmup: 1, runs: 1 }, b8: { warmup: 1, runs: 1 } },
    latencyBf16: { b1: { warmup: 1, runs: 1 }, b8: { warmup: 1, runs: 1 } },
    sentences: 48,
    throughput: { rounds: 1, warmupCount: 8, batchSize: 8 },
    throughputWasm: { rounds: 1, warmupCount: 8, batchSize: 8 },
    embeddings: { count: 20, batchSize: 8, warmupCount: 8, rounds: 1, latencyCount: 10 },
    concurrency: { count: 8, warmupRounds: 1, rounds: 1 },
    concurrencyBase: { count: 8, warmupRounds: 1, rounds: 1 },
    responsiveness: { baseConcurrent: 2, textConcurrent: 8, warmupRounds: 1, rounds: 1, idleMs: 200 },
    breakdown: { warmup: 1, runs: 2 },
    sgemm: { n: 256, repeats: 2 },
    diagnostics: false,
    skip: ['bert-b8'],
    timeoutMs: 2 * 60_000,
  },
};

// ---------------------------------------------------------------------------------------------------------------
// Contenders and jobs
// ---------------------------------------------------------------------------------------------------------------

// env: extra environment of every process of that contender (the 1.13 rows pick Debian's libtorch with it);
// python: the interpreter of a Python contender.
const CONTENDERS = {
  'torch-encoders': {
    label: 'torch-encoders fp32 (default libtorch; eager-attention file)',
    kind: 'node',
    script: 'torch-encoders.js',
  },
  'torch-encoders-sdpa': {
    label: 'torch-encoders fp32, SDPA-attention file (libtorch 2.x only)',
    kind: 'node',
    script: 'torch-encoders.js',
  },
  'torch-encoders-int8': {
    label: 'torch-encoders int8 (dynamic quantization)',
    kind: 'node',
    script: 'torch-encoders.js',
  },
  'torch-encoders-bf16': {
    label: 'torch-encoders bf16 (SDPA-attention file)',
    kind: 'node',
    script: 'torch-encoders.js',
  },
  'torch-encoders-1.13': {
    label: "torch-encoders fp32 on Debian's libtorch 1.13 (same eager-attention file)",
    kind: 'node',
    script: 'torch-encoders.js',
    env: DEBIAN_ENV,
  },
  'torch-encoders-1.13-int8': {
    label: "torch-encoders int8 on Debian's libtorch 1.13 (same int8 file)",
    kind: 'node',
    script: 'torch-encoders.js',
    env: DEBIAN_ENV,
  },
  'torch-encoders-one-worker': {
    label: 'torch-encoders, workers: 1 (fp32)',
    kind: 'node',
    script: 'torch-encoders.js',
  },
  'torch-encoders-dynamic-batching': {
    label: 'torch-encoders + dynamicBatching',
    kind: 'node',
    script: 'torch-encoders.js',
  },
  'torch-encoders-dynamic-batching-one-worker': {
    label: 'torch-encoders + dynamicBatching, workers: 1',
    kind: 'node',
    script: 'torch-encoders.js',
  },
  // The opposite of the default for models too large to share threads out (lib/default-workers.ts): as many
  // workers as threads, one thread each, so that forwards run side by side.
  'torch-encoders-worker-per-thread': {
    label: 'torch-encoders, a worker per thread (fp32)',
    kind: 'node',
    script: 'torch-encoders.js',
  },
  'torch-encoders-dynamic-batching-worker-per-thread': {
    label: 'torch-encoders + dynamicBatching, a worker per thread',
    kind: 'node',
    script: 'torch-encoders.js',
  },
  'transformers-js-node': {
    label: 'transformers.js on onnxruntime-node (fp32)',
    kind: 'node',
    script: 'transformers-js.js',
    backend: 'node',
  },
  'transformers-js-node-q8': {
    label: "transformers.js on onnxruntime-node, dtype 'q8' (int8 ONNX of the same weights)",
    kind: 'node',
    script: 'transformers-js.js',
    backend: 'node',
  },
  'transformers-js-node-sorted': {
    label: 'transformers.js on onnxruntime-node (fp32), batches of length-sorted sentences',
    kind: 'node',
    script: 'transformers-js.js',
    backend: 'node',
  },
  'transformers-js-wasm': {
    label: 'transformers.js on WASM (onnxruntime-web, fp32)',
    kind: 'node',
    script: 'transformers-js.js',
    backend: 'wasm',
  },
  'python-torch': {
    label: 'Python torch 2.13 (same TorchScript)',
    kind: 'python',
    script: 'python_torch.py',
    python: PYTHON,
  },
  'python-torch-1.13': {
    label: "Python torch 1.13 (Debian's, OpenBLAS)",
    kind: 'python',
    script: 'python_torch.py',
    python: PYTHON_113,
  },
  'onnxruntime-node': {
    label: 'onnxruntime-node (MLAS), one MatMul',
    kind: 'node',
    script: 'onnxruntime-matmul.js',
  },
};

/** What --only accepts. */
const SCENARIO_IDS = [
  'bert-b1',
  'bert-b8',
  'sentiment',
  'int8-accuracy',
  'concurrency',
  'concurrency-base',
  'embeddings',
  'node-share',
  'responsiveness',
  'sgemm',
  'profile',
  'diagnostics',
  'load-dispose',
];
/** The prepared models (bench/prepare.py --parts) each scenario needs; sgemm needs only the MatMul file. */
const PARTS_OF = {
  'bert-b1': ['base'],
  'bert-b8': ['base'],
  sentiment: ['classifier'],
  'int8-accuracy': ['classifier'],
  concurrency: ['classifier'],
  'concurrency-base': ['base'],
  embeddings: ['embeddings'],
  'node-share': ['base'],
  responsiveness: ['base', 'classifier'],
  sgemm: [],
  profile: ['base'],
  diagnostics: ['base', 'classifier'],
  'load-dispose': ['base'],
};

/**
 * The model's default worker count (lib/default-workers.ts, from its config.json sizes) and the other setting
 * worth a row: workers: 1 where the default runs a worker per thread (small models), a worker per thread where it
 * runs one (MiniLM and larger). Null when both are the same (1 thread).
 */
function workerRows(config, threads) {
  const { defaultWorkers } = require('../dist/lib/default-workers');
  const workers = defaultWorkers({ raw: config }, threads, () => false);
  if (threads === 1) return { defaultWorkers: workers, other: null };
  return {
    defaultWorkers: workers,
    other:
      workers === 1
        ? { suffix: 'worker-per-thread', workers: threads }
        : { suffix: 'one-worker', workers: 1 },
  };
}

/** The fp32 reference of the same-answers table: torch-encoders fp32 on the default libtorch. */
const REFERENCE = 'torch-encoders';
/** The opt-in modes (the best of them is the "best opt-in mode" of the acceptance figures). */
const OPT_IN = ['torch-encoders-int8', 'torch-encoders-bf16'];

function buildJobs(options, plan, manifest, warnings) {
  const { base, classifier, embeddings } = manifest;
  const jobs = [];
  const want = (id) => (options.only === null || options.only.has(id)) && !(plan.skip ?? []).includes(id);
  const useWasm = !options.skipWasm;
  const add = (scenario, contender, job) =>
    jobs.push({ scenario, contender, job: { threads: options.threads, ...job } });

  // The machine's fp32 GEMM limit: the best large MatMul each library here reaches (torch 2.13's MKL, Debian's
  // torch 1.13 on OpenBLAS, onnxruntime-node's MLAS), at the start and again at the end of the run.
  const gemmJobs = () => {
    if (!want('sgemm')) return;
    add('sgemm', 'python-torch', { scenario: 'sgemm', ...plan.sgemm });
    if (fs.existsSync(PYTHON_113)) add('sgemm', 'python-torch-1.13', { scenario: 'sgemm', ...plan.sgemm });
    if (manifest.matmulOnnx) {
      add('sgemm', 'onnxruntime-node', { scenario: 'sgemm', ...plan.sgemm, matmulOnnx: manifest.matmulOnnx });
    }
  };
  gemmJobs();
  // Where the BERT-base forward spends its time, op by op: libtorch 2.13's profiler on the same TorchScript files,
  // the same threads and executor setting (Python is the way to reach it; the ops are libtorch's either way).
  if (want('profile') && plan.profile) {
    const profiled = [['fp32, eager-attention file', base.dir]];
    if (plan.profileAll) {
      if (base.sdpaDir) profiled.push(['fp32, SDPA-attention file', base.sdpaDir]);
      profiled.push(['int8', base.int8Dir]);
    }
    for (const [variant, modelDir] of profiled) {
      add('profile', 'python-torch', {
        scenario: 'profile',
        batch: 1,
        seq: 128,
        ...plan.profile,
        modelDir,
        variant,
      });
    }
  }

  for (const [id, batch] of [
    ['bert-b1', 1],
    ['bert-b8', 8],
  ]) {
    if (!want(id)) continue;
    const key = batch === 1 ? 'b1' : 'b8';
    const iterations = (kind) => {
      const chosen = { ...plan[kind][key] };
      if (options.runs !== null) chosen.runs = options.runs;
      return chosen;
    };
    const shape = { scenario: 'latency', batch, seq: 128 };
    // Quick runs keep the comparison rows (Debian's 1.13, q8) to b1, where they cost least.
    const secondary = batch === 1 || options.mode !== 'quick';
    for (let process = 0; process < plan.processes; process++) {
      const each = { ...shape, ...iterations('latency'), process };
      add(id, 'torch-encoders', { ...each, modelDir: base.dir });
      if (base.sdpaDir) add(id, 'torch-encoders-sdpa', { ...each, modelDir: base.sdpaDir });
      add(id, 'torch-encoders-int8', { ...each, modelDir: base.int8Dir });
      if (!options.skip113 && secondary) {
        add(id, 'torch-encoders-1.13', { ...each, modelDir: base.dir });
        add(id, 'torch-encoders-1.13-int8', { ...each, modelDir: base.int8Dir });
      }
      add(id, 'transformers-js-node', { ...each, modelDir: base.dir, backend: 'node' });
      if (secondary) {
        add(id, 'transformers-js-node-q8', { ...each, modelDir: base.dir, backend: 'node', dtype: 'q8' });
      }
      add(id, 'python-torch', { ...each, modelDir: base.dir });
    }
    // bf16 has no hardware support on a CPU without AVX512_BF16 / AMX (it then runs ~6x slower than fp32): one
    // process, few runs; its outputs still go into the same-answers table.
    if (base.bf16Dir && plan.latencyBf16[key]) {
      add(id, 'torch-encoders-bf16', { ...shape, ...iterations('latencyBf16'), modelDir: base.bf16Dir });
    }
    // WASM is steadier and 5x slower: one process.
    if (useWasm) {
      add(id, 'transformers-js-wasm', {
        ...shape,
        ...iterations('latencyWasm'),
        modelDir: base.dir,
        backend: 'wasm',
      });
    }
  }

  const classifierWorkers = classifier ? workerRows(classifier.config, options.threads) : null;
  if (classifier) classifier.defaultWorkers = classifierWorkers.defaultWorkers;
  if (want('sentiment')) {
    const common = { scenario: 'throughput', count: options.sentences ?? plan.sentences, ...plan.throughput };
    for (let process = 0; process < plan.processes; process++) {
      const each = { ...common, process };
      add('sentiment', 'torch-encoders', { ...each, modelDir: classifier.dir });
      if (classifier.int8Dir)
        add('sentiment', 'torch-encoders-int8', { ...each, modelDir: classifier.int8Dir });
      // The default worker count is the model's (lib/default-workers.ts); this row is the other setting.
      if (classifierWorkers.other) {
        add('sentiment', `torch-encoders-${classifierWorkers.other.suffix}`, {
          ...each,
          modelDir: classifier.dir,
          workers: classifierWorkers.other.workers,
        });
      }
      add('sentiment', 'transformers-js-node', { ...each, modelDir: classifier.onnxDir, backend: 'node' });
    }
    if (useWasm) {
      add('sentiment', 'transformers-js-wasm', {
        ...common,
        ...plan.throughputWasm,
        modelDir: classifier.onnxDir,
        backend: 'wasm',
      });
    }
  }

  // What int8 costs in accuracy: the demo model's held-out sentences (its model card's figure), fp32 and int8.
  if (want('int8-accuracy') && classifier.int8Dir && classifier.source === 'demo') {
    add('int8-accuracy', 'torch-encoders', {
      scenario: 'accuracy',
      modelDir: classifier.dir,
      int8Dir: classifier.int8Dir,
    });
  }

  if (want('concurrency')) {
    for (let process = 0; process < plan.processes; process++) {
      const each = { scenario: 'concurrency', ...plan.concurrency, process };
      add('concurrency', 'torch-encoders', { ...each, modelDir: classifier.dir, dynamicBatching: false });
      add('concurrency', 'torch-encoders-dynamic-batching', {
        ...each,
        modelDir: classifier.dir,
        dynamicBatching: true,
      });
      if (classifierWorkers.other) {
        const { suffix, workers } = classifierWorkers.other;
        add('concurrency', `torch-encoders-${suffix}`, {
          ...each,
          modelDir: classifier.dir,
          dynamicBatching: false,
          workers,
        });
        add('concurrency', `torch-encoders-dynamic-batching-${suffix}`, {
          ...each,
          modelDir: classifier.dir,
          dynamicBatching: true,
          workers,
        });
      }
      add('concurrency', 'transformers-js-node', { ...each, modelDir: classifier.onnxDir, backend: 'node' });
    }
  }

  // The same requests as sentence embeddings from the BERT-base weights: a forward of a short text costs about
  // what streaming the 110 M weights from memory does, which is what batching requests saves.
  if (want('concurrency-base')) {
    for (let process = 0; process < plan.processes; process++) {
      const each = { scenario: 'concurrency', task: 'feature-extraction', ...plan.concurrencyBase, process };
      add('concurrency-base', 'torch-encoders', { ...each, modelDir: base.dir });
      add('concurrency-base', 'torch-encoders-dynamic-batching', {
        ...each,
        modelDir: base.dir,
        dynamicBatching: true,
      });
      add('concurrency-base', 'transformers-js-node', { ...each, modelDir: base.dir, backend: 'node' });
    }
  }

  // all-MiniLM-L6-v2 sentence embeddings of real sentences: torch-encoders on models/embeddings against
  // transformers.js on the ONNX export of the same model.pt (fp32 and q8), the same batch size for all.
  if (want('embeddings')) {
    if (!embeddings || embeddings.missing) {
      const why = `embeddings scenario skipped: ${embeddings?.missing ?? 'not prepared'}`;
      if (options.only !== null) throw new Error(why);
      warnings.push(why);
    } else {
      const embeddingWorkers = workerRows(embeddings.config, options.threads);
      embeddings.defaultWorkers = embeddingWorkers.defaultWorkers;
      const chosen = { ...plan.embeddings, count: options.sentences ?? plan.embeddings.count };
      for (let process = 0; process < plan.processes; process++) {
        const each = { scenario: 'embeddings', ...chosen, process };
        add('embeddings', 'torch-encoders', { ...each, modelDir: embeddings.dir });
        if (embeddingWorkers.other) {
          add('embeddings', `torch-encoders-${embeddingWorkers.other.suffix}`, {
            ...each,
            modelDir: embeddings.dir,
            workers: embeddingWorkers.other.workers,
          });
        }
        if (embeddings.int8Dir)
          add('embeddings', 'torch-encoders-int8', { ...each, modelDir: embeddings.int8Dir });
        const onnx = { ...each, modelDir: embeddings.onnxDir, backend: 'node' };
        add('embeddings', 'transformers-js-node', onnx);
        add('embeddings', 'transformers-js-node-q8', { ...onnx, dtype: 'q8' });
        add('embeddings', 'transformers-js-node-sorted', { ...onnx, sortByLength: true });
      }
    }
  }

  // What each load/dispose cycle of the BERT-base weights leaves behind, torch-encoders against onnxruntime-node
  // (bench/contenders/load-dispose.js). Only when asked for (--only load-dispose): it measures memory, not speed.
  if (options.only !== null && options.only.has('load-dispose')) {
    const cycles = options.mode === 'smoke' ? 3 : 50;
    for (const [contender, library] of [
      ['torch-encoders', 'torch-encoders'],
      ['onnxruntime-node', 'onnxruntime-node'],
    ]) {
      add('load-dispose', contender, {
        scenario: 'load-dispose',
        script: 'load-dispose.js',
        library,
        modelDir: base.dir,
        cycles,
      });
    }
  }

  if (want('node-share')) {
    add('node-share', 'torch-encoders', {
      scenario: 'breakdown',
      seq: 128,
      ...plan.breakdown,
      modelDir: base.dir,
    });
  }

  // Event-loop delay while forwards run, against the same process idle (bench/contenders/responsiveness.js): raw
  // BERT-base forwards, and single-text calls of the sentiment classifier's pipeline (tokenizer, post-processing).
  if (want('responsiveness')) {
    const { baseConcurrent, textConcurrent, ...each } = plan.responsiveness;
    for (const [contender, library] of [
      ['torch-encoders', 'torch-encoders'],
      ['transformers-js-node', 'transformers-js'],
    ]) {
      const common = { scenario: 'responsiveness', script: 'responsiveness.js', library, ...each };
      add('responsiveness', contender, {
        ...common,
        task: 'base',
        modelDir: base.dir,
        seq: 128,
        concurrent: baseConcurrent,
        variant: `${baseConcurrent} concurrent ${base.name} b1 x 128 forwards`,
      });
      add('responsiveness', contender, {
        ...common,
        task: 'text-classification',
        modelDir: library === 'torch-encoders' ? classifier.dir : classifier.onnxDir,
        concurrent: textConcurrent,
        variant: `${textConcurrent} concurrent text-classification calls`,
      });
    }
  }

  // What limits torch-encoders: the same TorchScript under other settings (full runs, or --only diagnostics).
  if (
    (plan.diagnostics && options.only === null) ||
    (options.only !== null && options.only.has('diagnostics'))
  ) {
    for (let process = 0; process < Math.min(2, plan.processes); process++) {
      const b1 = { scenario: 'latency', batch: 1, seq: 128, ...plan.latency.b1, modelDir: base.dir, process };
      add('diagnostics', 'python-torch', {
        ...b1,
        executorOptimize: true,
        variant: 'executor optimization on',
      });
      add('diagnostics', 'python-torch', { ...b1, modelDir: base.int8Dir, variant: 'int8 TorchScript' });
      // The int8 kernels' engine: torch 2.x picks 'x86' (FBGEMM or oneDNN by shape); each engine alone.
      for (const qengine of ['fbgemm', 'onednn']) {
        add('diagnostics', 'python-torch', {
          ...b1,
          modelDir: base.int8Dir,
          qengine,
          variant: `int8 TorchScript, quantized engine ${qengine}`,
        });
      }
      add('diagnostics', 'torch-encoders', { ...b1, threads: 1, variant: '1 thread' });
      add('diagnostics', 'python-torch', { ...b1, threads: 1, variant: '1 thread' });
      add('diagnostics', 'transformers-js-node', { ...b1, threads: 1, backend: 'node', variant: '1 thread' });
      // libgomp's default lets idle OpenMP threads spin a while before they sleep; PASSIVE (what a user sharing
      // the cores with other work may set) sleeps at once. What that costs:
      const passive = { env: { OMP_WAIT_POLICY: 'PASSIVE' }, variant: 'OMP_WAIT_POLICY=PASSIVE' };
      add('diagnostics', 'torch-encoders', { ...b1, ...passive });
      if (process === 0) {
        add('diagnostics', 'torch-encoders', {
          scenario: 'throughput',
          count: options.sentences ?? plan.sentences,
          ...plan.throughput,
          modelDir: classifier.dir,
          ...passive,
        });
      }
    }
  }
  // The peaks again at the end: the machine's speed drifts, and the best of both is the closer to its limit.
  if (plan.processes > 1) gemmJobs();
  return jobs;
}

// ---------------------------------------------------------------------------------------------------------------
// Running
// ---------------------------------------------------------------------------------------------------------------

/** Other processes that would distort timings: the demo training, or anything keeping the cores busy. */
function competingProcesses() {
  const found = [];
  for (const pid of fs.readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
    if (Number(pid) === process.pid) continue;
    try {
      const cmd = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
      if (/train_demo|finetune_demo|build_demo_models/.test(cmd)) found.push(`${pid}: ${cmd.slice(0, 120)}`);
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

function machineInfo(threads) {
  const cpuinfo = fs.existsSync('/proc/cpuinfo') ? fs.readFileSync('/proc/cpuinfo', 'utf8') : '';
  const field = (name) => cpuinfo.match(new RegExp(`^${name}\\s*:\\s*(.*)$`, 'm'))?.[1]?.trim();
  const flags = (field('flags') ?? '').split(' ');
  return {
    cpuModel: field('model name') ?? os.cpus()[0]?.model ?? 'unknown',
    cpuinfo: {
      vendor: field('vendor_id') ?? null,
      family: field('cpu family') ?? null,
      model: field('model') ?? null,
      stepping: field('stepping') ?? null,
      cacheSize: field('cache size') ?? null,
      avx512: flags.filter((f) => f.startsWith('avx512')),
      bf16: flags.includes('avx512_bf16') || flags.includes('amx_bf16'),
    },
    logicalCores: os.cpus().length,
    availableParallelism: os.availableParallelism(),
    simd: ['avx2', 'fma', 'avx512f', 'avx512_vnni', 'avx_vnni'].filter((f) => flags.includes(f)),
    memoryGb: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    os: `${os.type()} ${os.release()}`,
    node: process.version,
    threads,
  };
}

function prepare(options) {
  const args = [path.join(BENCH, 'prepare.py')];
  if (options.mode === 'smoke') args.push('--smoke');
  if (options.only !== null) {
    const parts = new Set([...options.only].flatMap((id) => PARTS_OF[id]));
    args.push('--parts', [...parts].sort().join(','));
  }
  log(`preparing models (${PYTHON} ${args.map((a) => path.relative(ROOT, a) || a).join(' ')}) ...`);
  const started = Date.now();
  const result = spawnSync(PYTHON, args, { cwd: ROOT, encoding: 'utf8', maxBuffer: 64 * 2 ** 20 });
  if (result.error) throw new Error(`prepare: could not run ${PYTHON}: ${result.error.message}`);
  if (result.status !== 0) throw new Error(`prepare failed (exit ${result.status}):\n${result.stderr}`);
  const lines = result.stdout.trim().split('\n');
  const manifest = JSON.parse(lines[lines.length - 1]);
  const ready = [
    manifest.base && manifest.base.name,
    manifest.classifier && `classifier: ${manifest.classifier.source}`,
    manifest.embeddings && (manifest.embeddings.missing ?? `embeddings: ${manifest.embeddings.onnxDir}`),
  ].filter(Boolean);
  log(
    `models ready in ${((Date.now() - started) / 1000).toFixed(1)} s (${ready.join('; ') || 'MatMul only'})`,
  );
  return manifest;
}

/** Busy and stolen CPU seconds of the whole machine so far (/proc/stat), to tell whether anything else ran. */
function machineCpu() {
  try {
    const [, ...fields] = fs
      .readFileSync('/proc/stat', 'utf8')
      .split('\n')[0]
      .trim()
      .split(/\s+/)
      .map(Number);
    const [user, nice, system, , , irq, softirq, steal] = fields;
    const tick = 100; // USER_HZ on Linux
    return { busy: (user + nice + system + irq + softirq) / tick, steal: steal / tick };
  } catch {
    return null;
  }
}

function log(message) {
  process.stderr.write(`[bench] ${message}\n`);
}

function runJob(entry, tmpDir, timeoutMs, index, total) {
  const contender = CONTENDERS[entry.contender];
  const out = path.join(tmpDir, `job-${index}.json`);
  const jobFile = path.join(tmpDir, `job-${index}.in.json`);
  const job = { ...entry.job, out };
  fs.writeFileSync(jobFile, JSON.stringify(job));
  // job.script: a scenario with a script of its own (responsiveness) rather than the contender's.
  const script = path.join(BENCH, 'contenders', job.script ?? contender.script);
  const [command, args] =
    contender.kind === 'python'
      ? [contender.python ?? PYTHON, [script, '--job', jobFile]]
      : [process.execPath, [script, '--job', jobFile]];
  const what = `${entry.scenario} / ${entry.contender}${job.variant ? ` (${job.variant})` : ''}`;
  log(`[${index + 1}/${total}] ${what} ...`);
  const started = Date.now();
  const cpuBefore = machineCpu();
  const selfBefore = process.cpuUsage();
  return new Promise((resolve) => {
    // job.env: extra environment of that process only (diagnostics: OpenMP wait policy).
    // contender.env: that contender's (the 1.13 rows' libtorch).
    const env = { ...process.env, ...(contender.env ?? {}), ...(job.env ?? {}) };
    const child = spawn(command, args, { cwd: ROOT, env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
      if (stderr.length > 200_000) stderr = stderr.slice(-100_000);
    });
    const timer = setTimeout(() => {
      stderr += `\n[bench] timed out after ${timeoutMs / 1000} s`;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const wallSeconds = (Date.now() - started) / 1000;
      const base = {
        scenario: entry.scenario,
        contender: entry.contender,
        job: { ...job, out: undefined },
        wallSeconds,
      };
      if (code === 0 && fs.existsSync(out)) {
        const result = JSON.parse(fs.readFileSync(out, 'utf8'));
        // CPU time that neither the job nor this process used: other work on the machine distorted the timings.
        const cpuAfter = machineCpu();
        if (cpuBefore !== null && cpuAfter !== null && result.cpuSeconds !== undefined) {
          const self = process.cpuUsage(selfBefore);
          const foreign =
            cpuAfter.busy - cpuBefore.busy - result.cpuSeconds - (self.user + self.system) / 1e6;
          const capacity = wallSeconds * os.cpus().length;
          result.foreignCpuShare = Math.max(0, foreign) / capacity;
          result.stealShare = (cpuAfter.steal - cpuBefore.steal) / capacity;
        }
        log(`    done in ${wallSeconds.toFixed(1)} s (peak RSS ${result.peakRssMb.toFixed(0)} MB)`);
        resolve({ ...base, ok: true, result });
      } else {
        const error = `exit ${code ?? signal}: ${stderr.trim().split('\n').slice(-15).join('\n')}`;
        log(`    FAILED: ${error}`);
        resolve({ ...base, ok: false, error });
      }
    });
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Summaries
// ---------------------------------------------------------------------------------------------------------------

function summarize(runs, manifest) {
  const { base } = manifest;
  const arch = base && {
    hidden: base.config.hidden_size,
    intermediate: base.config.intermediate_size,
    layers: base.config.num_hidden_layers,
  };
  const rows = [];
  // Jobs of the same scenario, contender and variant ran in several processes: pool their runs and rounds.
  const POOLED = ['timesMs', 'roundsMs', 'textsPerSecond', 'latenciesMs', 'latencyMedianMs', 'latencyP95Ms'];
  const processMedian = (result) =>
    stats(result.timesMs ?? result.latenciesMs ?? result.roundsMs ?? []).median;
  const merged = new Map();
  for (const run of runs) {
    if (
      !run.ok ||
      ['sgemm', 'node-share', 'profile', 'int8-accuracy', 'responsiveness', 'load-dispose'].includes(
        run.scenario,
      )
    )
      continue;
    const key = `${run.scenario}|${run.job.scenario}|${run.contender}|${run.job.variant ?? ''}`;
    const seen = merged.get(key);
    if (seen === undefined) {
      merged.set(key, { ...run, result: { ...run.result, processMedians: [processMedian(run.result)] } });
      continue;
    }
    const r = seen.result;
    const pooled = Object.fromEntries(
      POOLED.filter((name) => Array.isArray(r[name])).map((name) => [
        name,
        [...r[name], ...run.result[name]],
      ]),
    );
    seen.result = {
      ...r,
      ...pooled,
      processMedians: [...r.processMedians, processMedian(run.result)],
      peakRssMb: Math.max(r.peakRssMb, run.result.peakRssMb),
      foreignCpuShare: Math.max(r.foreignCpuShare ?? 0, run.result.foreignCpuShare ?? 0),
    };
  }
  for (const run of merged.values()) {
    const r = run.result;
    const v = r.versions ?? {};
    const row = {
      scenario: run.scenario,
      contender: run.contender,
      variant: run.job.variant ?? null,
      mode: modeOf(run.contender, run.job),
      runtime: runtimeOf(v, run.job),
      threads: run.job.threads,
      peakRssMb: r.peakRssMb,
      loadMs: r.loadMs ?? null,
      foreignCpuShare: r.foreignCpuShare ?? null,
    };
    if (run.job.scenario === 'latency') {
      const s = stats(r.timesMs);
      const flops = bertForwardFlops(arch, run.job.batch, run.job.seq);
      Object.assign(row, {
        metric: 'latency',
        batch: run.job.batch,
        seq: run.job.seq,
        runs: s.n,
        warmup: run.job.warmup,
        processes: r.processMedians.length,
        processMediansMs: r.processMedians,
        medianMs: s.median,
        p95Ms: s.p95,
        q1Ms: s.q1,
        q3Ms: s.q3,
        minMs: s.min,
        maxMs: s.max,
        firstMs: r.firstMs,
        sequencesPerSecond: (run.job.batch * 1000) / s.median,
        flops,
        gflops: flops / (s.median / 1000) / 1e9,
        probe: r.probe,
      });
    } else if (run.job.scenario === 'throughput') {
      const t = stats(r.textsPerSecond);
      Object.assign(row, {
        metric: 'throughput',
        texts: run.job.count,
        batchSize: run.job.batchSize,
        rounds: t.n,
        processes: r.processMedians.length,
        textsPerSecond: t.median,
        textsPerSecondMin: t.min,
        textsPerSecondMax: t.max,
        medianMs: stats(r.roundsMs).median,
        tokenLengths: r.tokenLengths ?? null,
        workers: r.workers ?? null,
      });
    } else if (run.job.scenario === 'concurrency') {
      const l = stats(r.latenciesMs);
      const totalMs = r.roundsMs.reduce((a, b) => a + b, 0);
      Object.assign(row, {
        metric: 'concurrency',
        requests: run.job.count,
        rounds: r.roundsMs.length,
        processes: r.processMedians.length,
        processMediansMs: r.processMedians,
        medianMs: l.median,
        p95Ms: l.p95,
        q1Ms: l.q1,
        q3Ms: l.q3,
        minMs: l.min,
        maxMs: l.max,
        requestsPerSecond: (r.latenciesMs.length * 1000) / totalMs,
        dynamicBatching: Boolean(run.job.dynamicBatching),
        workers: r.workers ?? null,
      });
    } else if (run.job.scenario === 'embeddings') {
      // Per round: the batched pass's rate, and the median and p95 of that round's single requests.
      const rate = stats(r.textsPerSecond);
      const p95 = stats(r.latencyP95Ms);
      const p50 = stats(r.latencyMedianMs);
      Object.assign(row, {
        metric: 'embeddings',
        texts: run.job.count,
        batchSize: run.job.batchSize,
        rounds: rate.n,
        processes: r.processMedians.length,
        textsPerSecond: rate.median,
        textsPerSecondMin: rate.min,
        textsPerSecondMax: rate.max,
        medianMs: stats(r.roundsMs).median,
        latencyRequests: run.job.latencyCount,
        latencyMedianMs: p50.median,
        latencyMedianMinMs: p50.min,
        latencyMedianMaxMs: p50.max,
        latencyP95Ms: p95.median,
        latencyP95MinMs: p95.min,
        latencyP95MaxMs: p95.max,
        workers: r.workers ?? null,
        sortByLength: Boolean(run.job.sortByLength),
        tokenLengths: r.tokenLengths ?? null,
      });
    }
    rows.push(row);
  }
  // Speed relative to torch-encoders fp32 in the same scenario (same variant): > 1 is faster than torch-encoders.
  for (const row of rows) {
    // Diagnostics: other contenders compare with torch-encoders under the same variant when it ran one; the
    // rest, torch-encoders' own variants included, with torch-encoders' default row of that metric.
    const sameVariant =
      row.scenario === 'diagnostics' && row.contender === 'torch-encoders'
        ? undefined
        : rows.find(
            (r) =>
              r.scenario === row.scenario && r.contender === 'torch-encoders' && r.variant === row.variant,
          );
    const reference =
      sameVariant ??
      (row.scenario === 'diagnostics'
        ? rows.find(
            (r) =>
              r.scenario === (row.metric === 'throughput' ? 'sentiment' : 'bert-b1') &&
              r.contender === 'torch-encoders' &&
              !r.variant,
          )
        : undefined);
    row.speedReference =
      reference === undefined
        ? null
        : `${reference.scenario}${reference.variant ? ` (${reference.variant})` : ''}`;
    row.speedVsTorchEncoders = null;
    if (reference === undefined) continue;
    if (row.metric === 'throughput' || row.metric === 'embeddings') {
      row.speedVsTorchEncoders = row.textsPerSecond / reference.textsPerSecond;
    } else if (row.metric === 'concurrency') {
      row.speedVsTorchEncoders = row.requestsPerSecond / reference.requestsPerSecond;
    } else row.speedVsTorchEncoders = reference.medianMs / row.medianMs;
  }
  return rows;
}

/** Per library: RSS after each load/dispose cycle, and its growth once the first cycles have settled. */
function loadDispose(runs) {
  const SETTLE = 5;
  return runs
    .filter((r) => r.scenario === 'load-dispose' && r.ok)
    .map((r) => {
      const { rssMb, loadedRssMb, loadMs, rssBeforeMb, versions: v } = r.result;
      const settled = rssMb[Math.min(SETTLE, rssMb.length) - 1];
      return {
        contender: r.contender,
        library: r.job.library,
        runtime: runtimeOf(v ?? {}, { backend: 'node' }),
        cycles: rssMb.length,
        settleCycles: Math.min(SETTLE, rssMb.length),
        rssBeforeMb,
        rssAfterFirstMb: rssMb[0],
        rssSettledMb: settled,
        rssEndMb: rssMb[rssMb.length - 1],
        rssMaxMb: Math.max(...rssMb),
        growthAfterSettleMb: rssMb[rssMb.length - 1] - settled,
        loadedRssFirstMb: loadedRssMb[0],
        loadMedianMs: stats(loadMs).median,
        rssMb,
        loadedRssMb,
        peakRssMb: r.result.peakRssMb,
      };
    });
}

function nodeShare(runs) {
  const run = runs.find((r) => r.scenario === 'node-share' && r.ok);
  if (run === undefined) return null;
  const { parts, pipelineMs, pipelineForwardMs, dims } = run.result;
  const medians = Object.fromEntries(Object.entries(parts).map(([k, v]) => [k, stats(v).median]));
  const pipeline = stats(pipelineMs);
  // Each pipeline call minus the forwards inside it: the pipeline's own Node-side time.
  const beyond = stats(pipelineMs.map((ms, i) => ms - pipelineForwardMs[i]));
  const nonForward = medians.tokenizeMs + medians.marshalMs + medians.postprocessMs;
  return {
    dims,
    textLength: run.result.textLength,
    untruncatedTokens: run.result.untruncatedTokens,
    runs: parts.forwardMs.length,
    tokenizeMs: medians.tokenizeMs,
    marshalMs: medians.marshalMs,
    forwardMs: medians.forwardMs,
    postprocessMs: medians.postprocessMs,
    sumOfPartsMs: medians.sumMs,
    pipelineMedianMs: pipeline.median,
    pipelineP95Ms: pipeline.p95,
    nonForwardMs: nonForward,
    nonForwardShare: nonForward / medians.sumMs,
    pipelineForwardMedianMs: stats(pipelineForwardMs).median,
    pipelineOverheadMs: beyond.median,
    pipelineOverheadShare: beyond.median / pipeline.median,
    peakRssMb: run.result.peakRssMb,
    raw: { parts, pipelineMs, pipelineForwardMs },
  };
}

/** Event-loop delay per library and workload, busy against idle (bench/contenders/responsiveness.js). */
function responsiveness(runs) {
  return runs
    .filter((r) => r.scenario === 'responsiveness' && r.ok)
    .map((r) => ({
      contender: r.contender,
      task: r.job.task,
      variant: r.job.variant,
      calls: r.result.calls,
      workers: r.result.workers,
      foreignCpuShare: r.result.foreignCpuShare ?? null,
      idle: r.result.idle,
      busy: r.result.busy,
    }));
}

/** The number format of a row: fp32, int8 (torch-encoders' dynamic quantization), q8 (transformers.js), bf16. */
function modeOf(contender, job) {
  if (contender.endsWith('int8') || (job.variant ?? '').startsWith('int8')) return 'int8';
  if (contender.endsWith('bf16')) return 'bf16';
  if (contender.endsWith('q8') || job.dtype === 'q8') return 'q8';
  return 'fp32';
}

/** The runtime a row ran on, from the versions its process reported. */
function runtimeOf(versions, job) {
  if (versions.libtorch) return `libtorch ${versions.libtorch}${versions.blas ? ` (${versions.blas})` : ''}`;
  if (versions.torch) return `Python torch ${versions.torch}`;
  if (versions.onnxruntime) {
    return `${job.backend === 'wasm' ? 'onnxruntime-web' : 'onnxruntime-node'} ${versions.onnxruntime}`;
  }
  return null;
}

/** Deviation allowed from the fp32 reference: fp32 paths the same to rounding, reduced precision within ~10%. */
const TOLERANCE = {
  fp32: { maxAbsDiff: 1e-3 },
  int8: { relRms: 0.1 },
  q8: { relRms: 0.1 },
  bf16: { relRms: 0.1 },
};

/**
 * Same weights and inputs must give the same outputs. Every latency row's strided sample of last_hidden_state
 * (bench/lib/common.js probe) against torch-encoders fp32 on the default libtorch: max |difference| and the
 * relative RMS error (RMS of the difference / RMS of the reference). Then the predictions on the sentiment
 * sentences.
 */
function agreement(rows, runs) {
  const checks = [];
  for (const scenario of ['bert-b1', 'bert-b8']) {
    const reference = rows.find((r) => r.scenario === scenario && r.contender === REFERENCE && !r.variant);
    if (reference === undefined || !reference.probe?.sample) continue;
    const ref = reference.probe.sample;
    const refRms = Math.sqrt(ref.reduce((sum, x) => sum + x * x, 0) / ref.length);
    for (const row of rows.filter((r) => r.scenario === scenario && r !== reference && r.probe?.sample)) {
      const other = row.probe.sample;
      if (other.length !== ref.length) {
        checks.push({
          scenario,
          contender: row.contender,
          mode: row.mode,
          ok: false,
          error: 'sample lengths differ',
        });
        continue;
      }
      let maxAbsDiff = 0;
      let squares = 0;
      for (let i = 0; i < ref.length; i++) {
        const d = Math.abs(other[i] - ref[i]);
        maxAbsDiff = Math.max(maxAbsDiff, Number.isNaN(d) ? Infinity : d);
        squares += d * d;
      }
      const relRms = Math.sqrt(squares / ref.length) / refRms;
      const tolerance = TOLERANCE[row.mode] ?? TOLERANCE.fp32;
      const ok =
        tolerance.maxAbsDiff !== undefined ? maxAbsDiff <= tolerance.maxAbsDiff : relRms <= tolerance.relRms;
      checks.push({
        scenario,
        contender: row.contender,
        mode: row.mode,
        runtime: row.runtime,
        reference: `${REFERENCE} (${reference.runtime})`,
        values: ref.length,
        maxAbsDiff,
        relRms,
        tolerance,
        ok,
      });
    }
  }
  const predictionsOf = (contender) =>
    runs.find((r) => r.ok && r.scenario === 'sentiment' && r.contender === contender)?.result.predictions;
  const reference = predictionsOf('torch-encoders');
  if (reference !== undefined) {
    for (const contender of ['torch-encoders-int8', 'transformers-js-node', 'transformers-js-wasm']) {
      const other = predictionsOf(contender);
      if (other === undefined) continue;
      const same = other.filter((label, i) => label === reference[i]).length;
      const fraction = same / reference.length;
      const minimum = contender.endsWith('int8') ? 0.95 : 0.999;
      checks.push({
        scenario: 'sentiment',
        contender,
        mode: modeOf(contender, {}),
        sameLabelFraction: fraction,
        ok: fraction >= minimum,
      });
    }
  }
  return checks;
}

/** fp32 embeddings must match torch-encoders' to this cosine on every sentence; int8 and q8 are measured only. */
const EMBEDDING_MIN_COSINE = 0.9999;

/**
 * The embeddings scenario's same-answers check: every contender's vectors of the benchmark sentences (all its
 * processes) against those of torch-encoders fp32's first process, sentence by sentence: cosine (min, 1st
 * percentile, median) and the largest |norm - 1| (every vector is normalized). fp32 rows pass when every cosine is
 * >= EMBEDDING_MIN_COSINE; int8 and q8 rows are reported (ok: null). torch-encoders' own other processes are
 * compared too (they must give the same numbers).
 */
function embeddingAgreement(runs) {
  const done = runs.filter((r) => r.ok && r.scenario === 'embeddings' && r.result.embeddings);
  const reference = done.find((r) => r.contender === REFERENCE);
  const checks = [];
  if (reference !== undefined) {
    const expected = readMatrix(reference.result.embeddings);
    const others = new Map();
    for (const run of done.filter((r) => r !== reference)) {
      others.set(run.contender, [...(others.get(run.contender) ?? []), run]);
    }
    for (const [contender, list] of others) {
      const cosines = [];
      let maxNormError = 0;
      let error = null;
      for (const run of list) {
        if (run.result.sentences.sha256 !== reference.result.sentences.sha256) {
          error = 'embedded other sentences than the reference (sample sha256 differs)';
          break;
        }
        const vectors = readMatrix(run.result.embeddings);
        if (vectors.length !== expected.length || vectors[0].length !== expected[0].length) {
          error = `${vectors.length} x ${vectors[0]?.length} vectors against ${expected.length} x ${expected[0].length}`;
          break;
        }
        vectors.forEach((vector, i) => {
          const want = expected[i];
          let dot = 0;
          let norm = 0;
          let wantNorm = 0;
          for (let k = 0; k < vector.length; k++) {
            dot += vector[k] * want[k];
            norm += vector[k] * vector[k];
            wantNorm += want[k] * want[k];
          }
          const cosine = dot / Math.sqrt(norm * wantNorm);
          cosines.push(Number.isNaN(cosine) ? -Infinity : cosine);
          maxNormError = Math.max(maxNormError, Math.abs(Math.sqrt(norm) - 1));
        });
      }
      const mode = modeOf(contender, list[0].job);
      const judged = mode === 'fp32';
      const sorted = [...cosines].sort((a, b) => a - b);
      const s = stats(cosines);
      checks.push({
        scenario: 'embeddings',
        contender,
        mode,
        runtime: runtimeOf(list[0].result.versions ?? {}, list[0].job),
        reference: `${REFERENCE} (${runtimeOf(reference.result.versions ?? {}, reference.job)}), process 1`,
        sentences: expected.length,
        processes: list.length,
        minCosine: s.min,
        p01Cosine: sorted[Math.floor(0.01 * sorted.length)] ?? NaN,
        medianCosine: s.median,
        belowMinCosine: cosines.filter((c) => c < EMBEDDING_MIN_COSINE).length,
        maxNormError,
        tolerance: judged ? { minCosine: EMBEDDING_MIN_COSINE } : null,
        ...(error ? { error } : {}),
        ok: error ? false : judged ? cosines.every((c) => c >= EMBEDDING_MIN_COSINE) : null,
      });
    }
  }
  for (const run of done) delete run.result.embeddings.file; // gone with the temporary directory
  return checks;
}

/**
 * Issue 10's acceptance figures from this run's rows: each a ratio of medians (latency: ours / theirs, lower is
 * better; throughput and requests/s: ours / theirs, higher is better) against its target.
 */
function acceptance(rows) {
  const find = (scenario, contender) =>
    rows.find((r) => r.scenario === scenario && r.contender === contender && !r.variant);
  const fastest = (scenario, contenders) =>
    contenders
      .map((c) => find(scenario, c))
      .filter((r) => r !== undefined)
      .reduce((best, r) => (best === undefined || r.medianMs < best.medianMs ? r : best), undefined);
  const items = [];
  const latency = (id, what, scenario, ours, theirs, target, aim) => {
    if (ours === undefined || theirs === undefined) return;
    const ratio = ours.medianMs / theirs.medianMs;
    items.push({
      id,
      what,
      scenario,
      ours: { contender: ours.contender, runtime: ours.runtime, medianMs: ours.medianMs },
      theirs: { contender: theirs.contender, runtime: theirs.runtime, medianMs: theirs.medianMs },
      ratio,
      target: `<= ${target}`,
      ...(aim !== undefined ? { aim: `<= ${aim}`, aimMet: ratio <= aim } : {}),
      met: ratio <= target,
    });
  };
  // The best opt-in mode is chosen on b1 and kept for b8.
  const bestMode = fastest('bert-b1', OPT_IN)?.contender;
  for (const scenario of ['bert-b1', 'bert-b8']) {
    const fp32 = fastest(scenario, ['torch-encoders', 'torch-encoders-sdpa']);
    const node = find(scenario, 'transformers-js-node');
    const q8 = find(scenario, 'transformers-js-node-q8');
    const mode = bestMode === undefined ? undefined : find(scenario, bestMode);
    const shape = scenario === 'bert-b1' ? 'b1' : 'b8';
    latency(
      `fp32-${shape}`,
      `fp32 vs transformers.js fp32 (onnxruntime-node)`,
      scenario,
      fp32,
      node,
      1.0,
      0.9,
    );
    latency(`mode-vs-node-${shape}`, `best opt-in mode vs onnxruntime-node fp32`, scenario, mode, node, 0.67);
    latency(`mode-vs-q8-${shape}`, `best opt-in mode vs transformers.js q8`, scenario, mode, q8, 1.0);
    const wasm = find(scenario, 'transformers-js-wasm');
    if (wasm !== undefined && mode !== undefined) {
      const ratio = wasm.medianMs / mode.medianMs;
      items.push({
        id: `wasm-${shape}`,
        what: 'WASM slower than our best mode by',
        scenario,
        ours: { contender: mode.contender, runtime: mode.runtime, medianMs: mode.medianMs },
        theirs: { contender: wasm.contender, runtime: wasm.runtime, medianMs: wasm.medianMs },
        ratio,
        target: '>= 10',
        met: ratio >= 10,
      });
    }
  }
  const rate = (id, what, scenario, ours, theirs, field, target) => {
    if (ours === undefined || theirs === undefined) return;
    const ratio = ours[field] / theirs[field];
    items.push({
      id,
      what,
      scenario,
      ours: { contender: ours.contender, runtime: ours.runtime, [field]: ours[field] },
      theirs: { contender: theirs.contender, runtime: theirs.runtime, [field]: theirs[field] },
      ratio,
      target: `>= ${target}`,
      met: ratio >= target,
    });
  };
  rate(
    'sentiment',
    'demo sentiment throughput vs onnxruntime-node',
    'sentiment',
    find('sentiment', 'torch-encoders'),
    find('sentiment', 'transformers-js-node'),
    'textsPerSecond',
    1.5,
  );
  rate(
    'concurrency-base',
    '64 concurrent BERT-base requests, dynamicBatching, vs onnxruntime-node',
    'concurrency-base',
    find('concurrency-base', 'torch-encoders-dynamic-batching'),
    find('concurrency-base', 'transformers-js-node'),
    'requestsPerSecond',
    1.2,
  );
  return { bestOptInMode: bestMode ?? null, items };
}

function versions(runs) {
  const of = (contender) => runs.find((r) => r.ok && r.contender === contender)?.result.versions ?? {};
  const te = of('torch-encoders');
  const tjsNode = of('transformers-js-node');
  const tjsWasm = of('transformers-js-wasm');
  const py = of('python-torch');
  return {
    node: process.version,
    libtorch: te.libtorch ?? null,
    libtorchBlas: te.blas ?? null,
    libtorchDebian: of('torch-encoders-1.13').libtorch ?? null,
    libtorchDebianBlas: of('torch-encoders-1.13').blas ?? null,
    pythonTorchDebian: of('python-torch-1.13').torch ?? null,
    transformersJs: tjsNode.transformers ?? tjsWasm.transformers ?? null,
    onnxruntimeNode: tjsNode.onnxruntime ?? null,
    onnxruntimeWeb: tjsWasm.onnxruntime ?? null,
    pythonTorch: py.torch ?? null,
    python: py.python ?? null,
    pythonBlas: py.blas ?? null,
    torchEncoders: JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')).version,
  };
}

function today() {
  const d = new Date();
  const pad = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

// ---------------------------------------------------------------------------------------------------------------

async function main() {
  const options = parseArgs(process.argv.slice(2));
  const plan = { ...PLANS[options.mode], ...(options.processes ? { processes: options.processes } : {}) };
  if (!fs.existsSync(path.join(ROOT, 'dist/lib/index.js'))) {
    throw new Error('dist/lib is missing: run `npm run build:ts` (and `npm run build:native`) first');
  }
  const startedAt = new Date();
  const competing = competingProcesses();
  const loadBefore = os.loadavg();
  const warnings = [];
  if (competing.length > 0) {
    warnings.push(
      `other heavy work was running during the run (timings unreliable): ${competing.join('; ')}`,
    );
  }
  if (loadBefore[0] > 0.5 && options.mode !== 'smoke') {
    warnings.push(
      `1-minute load average was ${loadBefore[0].toFixed(2)} at the start (an idle machine is < 0.5)`,
    );
  }
  for (const w of warnings) log(`WARNING: ${w}`);

  const manifest = prepare(options);
  const jobs = buildJobs(options, plan, manifest, warnings);
  const tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), 'torch-encoders-bench-'));
  const runs = [];
  let embeddingChecks = [];
  try {
    for (let i = 0; i < jobs.length; i++)
      runs.push(await runJob(jobs[i], tmpDir, plan.timeoutMs, i, jobs.length));
    // The vectors are files in tmpDir: compared before it goes.
    embeddingChecks = embeddingAgreement(runs);
  } finally {
    fs.rmSync(tmpDir, { recursive: true, force: true });
  }
  const CONTENDED = 0.1;
  for (const run of runs) {
    const share = run.ok ? run.result.foreignCpuShare : undefined;
    if (share !== undefined && share > CONTENDED) {
      warnings.push(
        `${run.scenario} / ${run.contender}${run.job.variant ? ` (${run.job.variant})` : ''}: ` +
          `${(100 * share).toFixed(0)}% of the machine's CPU time went to other processes during the job`,
      );
    }
  }
  const competingAfter = competingProcesses();
  if (competingAfter.length > 0 && competing.length === 0) {
    warnings.push(
      `other heavy work started during the run (timings unreliable): ${competingAfter.join('; ')}`,
    );
  }

  // The machine's fp32 GEMM limit: the best large MatMul of any library, and each library's best.
  const better = (best, r) => (best === undefined || r.result.gflops > best.result.gflops ? r : best);
  const sgemmRuns = runs.filter((r) => r.scenario === 'sgemm' && r.ok);
  const sgemmRun = sgemmRuns.reduce(better, undefined);
  const gemmPeaks = [...new Set(sgemmRuns.map((r) => r.contender))].map((contender) => {
    const mine = sgemmRuns.filter((r) => r.contender === contender);
    const best = mine.reduce(better, undefined);
    return {
      contender,
      library: best.result.library ?? contender,
      n: best.result.n,
      threads: best.job.threads,
      gflops: best.result.gflops,
      gflopsEach: mine.map((r) => r.result.gflops),
    };
  });
  const profileRuns = runs.filter((r) => r.scenario === 'profile' && r.ok);
  const profileRun = profileRuns[0];
  const accuracyRun = runs.find((r) => r.scenario === 'int8-accuracy' && r.ok);
  // Kept until the report is written, so that a failure below does not lose the measurements.
  fs.mkdirSync(options.out, { recursive: true });
  // A run of some jobs only (--only) is named for them: it must not replace the day's full results
  // (a --only responsiveness run replaced them once).
  const onlySuffix = options.only === null ? '' : `-${[...options.only].sort().join('+')}`;
  const suffix = `${options.mode === 'full' ? '' : `-${options.mode}`}${onlySuffix}`;
  const rawFile = path.join(options.out, `${today()}${suffix}.runs.json`);
  fs.writeFileSync(rawFile, JSON.stringify({ options, manifest, warnings, runs }));
  const rows = summarize(runs, manifest);
  const sgemm = sgemmRun
    ? { ...sgemmRun.result, contender: sgemmRun.contender, threads: sgemmRun.job.threads }
    : null;
  if (sgemm)
    for (const row of rows) if (row.gflops !== undefined) row.shareOfSgemmPeak = row.gflops / sgemm.gflops;
  const checks = [...agreement(rows, runs), ...embeddingChecks];
  // fp32 on the same weights must give the same answers: a disagreement fails the run. Reduced precision
  // (int8, q8, bf16) outside its tolerance is flagged only: how far it strays depends on the weights.
  const failedChecks = checks.filter((check) => check.ok === false);
  const disagreeing = failedChecks.filter((check) => check.mode === 'fp32');
  if (failedChecks.length > 0) {
    warnings.push(
      `same-answers check failed for ${failedChecks
        .map((c) => `${c.scenario} / ${c.contender} (${c.mode})`)
        .join(', ')}` + (disagreeing.length > 0 ? ' (fp32: the run fails)' : ''),
    );
  }
  // The samples served the same-answers table; the first values and the mean stay in the record.
  for (const item of [...rows, ...runs.map((r) => r.result ?? {})]) {
    if (item.probe) delete item.probe.sample;
  }

  const date = today();
  const embeddingRun = runs.find((r) => r.ok && r.scenario === 'embeddings');
  const results = {
    schema: 1,
    date,
    mode: options.mode,
    only: options.only === null ? null : [...options.only].sort(),
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    threads: options.threads,
    machine: {
      ...machineInfo(options.threads),
      // buildInfo() of torch-encoders on each runtime (cpu, the MKL vendor override, the runtime it loaded).
      buildInfo: Object.fromEntries(
        ['torch-encoders', 'torch-encoders-1.13']
          .map((c) => [c, runs.find((r) => r.ok && r.contender === c)?.result.buildInfo])
          .filter(([, info]) => info !== undefined),
      ),
      loadAverageAtStart: loadBefore,
      loadAverageAtEnd: os.loadavg(),
    },
    versions: versions(runs),
    warnings,
    models: manifest,
    flopsFormula: FORMULA,
    contenders: Object.fromEntries(Object.entries(CONTENDERS).map(([id, c]) => [id, c.label])),
    sgemm,
    gemmPeaks,
    profile: profileRun ? { ...profileRun.result, variant: profileRun.job.variant ?? null } : null,
    profiles: profileRuns.map((r) => ({ ...r.result, variant: r.job.variant ?? null })),
    int8Accuracy: accuracyRun ? accuracyRun.result : null,
    // Which sentences the embeddings scenario embedded (sources, seed, counts, sha256 of the sample).
    embeddingSentences: embeddingRun ? embeddingRun.result.sentences : null,
    summary: rows,
    nodeShare: nodeShare(runs),
    loadDispose: loadDispose(runs),
    responsiveness: responsiveness(runs),
    agreement: checks,
    acceptance: acceptance(rows),
    failures: runs
      .filter((r) => !r.ok)
      .map((r) => ({ scenario: r.scenario, contender: r.contender, error: r.error })),
    runs,
  };

  fs.mkdirSync(options.out, { recursive: true });
  const stem = path.join(options.out, `${date}${suffix}`);
  await report.writeJson(`${stem}.json`, results);
  const chart =
    options.chart && rows.length > 0
      ? await report.writeChart(results, `${stem}.svg`)
      : { svg: null, reason: options.chart ? 'no latency, throughput or concurrency rows' : '--no-chart' };
  results.chart = chart;
  if (chart.svg && options.mode === 'full' && options.only === null)
    fs.copyFileSync(`${stem}.svg`, path.join(options.out, 'latest.svg'));
  await report.writeJson(`${stem}.json`, results);
  fs.writeFileSync(`${stem}.md`, report.markdown(results, path.basename(`${stem}.svg`)));
  fs.rmSync(rawFile);
  log(`wrote ${path.relative(process.cwd(), stem)}.{json,md${chart.svg ? ',svg' : ''}}`);
  if (!chart.svg) log(`chart: ${chart.reason}`);
  process.stdout.write(report.markdownTable(results) + '\n');
  if (results.failures.length > 0) {
    log(`${results.failures.length} job(s) failed`);
    process.exitCode = 1;
  }
  if (disagreeing.length > 0) {
    log(`${disagreeing.length} fp32 same-answers check(s) failed`);
    process.exitCode = 1;
  }
}

main().catch((error) => {
  process.stderr.write(`[bench] ${error && error.stack ? error.stack : error}\n`);
  process.exit(1);
});
