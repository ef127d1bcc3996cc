#!/usr/bin/env node
// The benchmark: torch-encoders against transformers.js (onnxruntime-node and WASM) and Python torch, on the same
// weights, each contender and scenario in a child process of its own (so peak RSS is that contender's), all with the
// same intra-op thread count.
//
//   npm run build:ts
//   node bench/run.js            full run (~10-15 min on 2 cores), writes bench/results/<date>.{json,md,svg} and
//                                bench/results/latest.svg
//   node bench/run.js --quick    fewer runs (< 3 min once bench/.cache is prepared), writes <date>-quick.*
//   node bench/run.js --smoke    tiny random models, 1-2 iterations (the jest smoke test): checks the harness only
//
// Options: --threads N (default 2), --out DIR (default bench/results), --only a,b (scenario ids: bert-b1, bert-b8,
// sentiment, int8-accuracy, concurrency, concurrency-base, node-share, sgemm, profile, diagnostics), --skip-wasm, --runs N (latency
// runs, overrides the mode), --processes N (processes per native job, overrides the mode), --no-chart. Preparation (bench/prepare.py, Debian's /usr/bin/python3 with torch;
// BENCH_PYTHON overrides) is cached in bench/.cache/ and re-done when its inputs change. Do not time anything while
// other heavy work runs: the run records the load average and any demo training process it sees, and says so in
// its report.
'use strict';

const { spawnSync, spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { bertForwardFlops, FORMULA } = require('./lib/flops');
const { stats } = require('./lib/common');
const report = require('./lib/report');

const BENCH = __dirname;
const ROOT = path.resolve(BENCH, '..');
const PYTHON = process.env.BENCH_PYTHON ?? '/usr/bin/python3';

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
    runs: null,
    processes: null,
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
    else if (arg === '--runs') options.runs = Number(value());
    else if (arg === '--processes') options.processes = Number(value());
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
  return options;
}

/** Iterations per mode. WASM is ~5-8x slower than native, so it gets fewer runs of the big shapes. */
const PLANS = {
  full: {
    // Native latency jobs run in `processes` separate processes each (interleaved): libtorch's speed differs from
    // one process to the next by up to ~1.5x on this kind of VM, while it is steady within a process.
    processes: 5,
    latency: { b1: { warmup: 5, runs: 12 }, b8: { warmup: 2, runs: 4 } },
    latencyWasm: { b1: { warmup: 2, runs: 10 }, b8: { warmup: 1, runs: 3 } },
    sentences: 1000,
    throughput: { rounds: 4, warmupCount: 64, batchSize: 8 },
    throughputWasm: { rounds: 1, warmupCount: 32, batchSize: 8 },
    concurrency: { count: 64, warmupRounds: 2, rounds: 6 },
    concurrencyBase: { count: 64, warmupRounds: 1, rounds: 2 },
    breakdown: { warmup: 3, runs: 20 },
    sgemm: { n: 2048, repeats: 10 },
    profile: { warmup: 3, runs: 5 },
    diagnostics: true,
    timeoutMs: 20 * 60_000,
  },
  quick: {
    processes: 1,
    latency: { b1: { warmup: 2, runs: 8 }, b8: { warmup: 1, runs: 3 } },
    latencyWasm: { b1: { warmup: 1, runs: 3 }, b8: { warmup: 1, runs: 1 } },
    sentences: 1000,
    throughput: { rounds: 1, warmupCount: 32, batchSize: 8 },
    throughputWasm: { rounds: 1, warmupCount: 16, batchSize: 8 },
    concurrency: { count: 64, warmupRounds: 1, rounds: 2 },
    concurrencyBase: { count: 64, warmupRounds: 1, rounds: 1 },
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
    sentences: 48,
    throughput: { rounds: 1, warmupCount: 8, batchSize: 8 },
    throughputWasm: { rounds: 1, warmupCount: 8, batchSize: 8 },
    concurrency: { count: 8, warmupRounds: 1, rounds: 1 },
    concurrencyBase: { count: 8, warmupRounds: 1, rounds: 1 },
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

const CONTENDERS = {
  'torch-encoders': { label: 'torch-encoders (libtorch, fp32)', kind: 'node', script: 'torch-encoders.js' },
  'torch-encoders-int8': {
    label: 'torch-encoders int8 (dynamic quantization)',
    kind: 'node',
    script: 'torch-encoders.js',
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
  'transformers-js-node': {
    label: 'transformers.js on onnxruntime-node (fp32)',
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
  'python-torch': { label: 'Python torch (same TorchScript)', kind: 'python', script: 'python_torch.py' },
};

function buildJobs(options, plan, manifest) {
  const { base, classifier } = manifest;
  const jobs = [];
  const want = (id) => (options.only === null || options.only.has(id)) && !(plan.skip ?? []).includes(id);
  const useWasm = !options.skipWasm;
  const add = (scenario, contender, job) =>
    jobs.push({ scenario, contender, job: { threads: options.threads, ...job } });

  if (want('sgemm')) add('sgemm', 'python-torch', { scenario: 'sgemm', ...plan.sgemm });
  // Where the fp32 BERT-base forward spends its time, op by op: libtorch's profiler on the same TorchScript, the
  // same threads and executor setting (Python is the way to reach it; the ops are libtorch's either way).
  if (want('profile') && plan.profile) {
    add('profile', 'python-torch', {
      scenario: 'profile',
      batch: 1,
      seq: 128,
      ...plan.profile,
      modelDir: base.dir,
    });
  }

  for (const [id, batch] of [
    ['bert-b1', 1],
    ['bert-b8', 8],
  ]) {
    if (!want(id)) continue;
    const key = batch === 1 ? 'b1' : 'b8';
    const iterations = (wasm) => {
      const chosen = { ...(wasm ? plan.latencyWasm : plan.latency)[key] };
      if (options.runs !== null) chosen.runs = options.runs;
      return chosen;
    };
    const shape = { scenario: 'latency', batch, seq: 128 };
    for (let process = 0; process < plan.processes; process++) {
      const each = { ...shape, ...iterations(false), process };
      add(id, 'torch-encoders', { ...each, modelDir: base.dir });
      add(id, 'torch-encoders-int8', { ...each, modelDir: base.int8Dir });
      add(id, 'transformers-js-node', { ...each, modelDir: base.dir, backend: 'node' });
      add(id, 'python-torch', { ...each, modelDir: base.dir });
    }
    // WASM is steadier and 5x slower: one process.
    if (useWasm) {
      add(id, 'transformers-js-wasm', { ...shape, ...iterations(true), modelDir: base.dir, backend: 'wasm' });
    }
  }

  if (want('sentiment')) {
    const common = { scenario: 'throughput', count: plan.sentences, ...plan.throughput };
    for (let process = 0; process < plan.processes; process++) {
      const each = { ...common, process };
      add('sentiment', 'torch-encoders', { ...each, modelDir: classifier.dir });
      if (classifier.int8Dir)
        add('sentiment', 'torch-encoders-int8', { ...each, modelDir: classifier.int8Dir });
      // The demo model's default is a worker per thread (lib/default-workers.ts); this row is one forward at a time
      // with every thread, what larger models get.
      add('sentiment', 'torch-encoders-one-worker', { ...each, modelDir: classifier.dir, workers: 1 });
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
      add('concurrency', 'torch-encoders-one-worker', {
        ...each,
        modelDir: classifier.dir,
        dynamicBatching: false,
        workers: 1,
      });
      add('concurrency', 'torch-encoders-dynamic-batching-one-worker', {
        ...each,
        modelDir: classifier.dir,
        dynamicBatching: true,
        workers: 1,
      });
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

  if (want('node-share')) {
    add('node-share', 'torch-encoders', {
      scenario: 'breakdown',
      seq: 128,
      ...plan.breakdown,
      modelDir: base.dir,
    });
  }

  // What limits torch-encoders: the same TorchScript under other settings (full runs, or --only diagnostics).
  if (
    (plan.diagnostics && options.only === null) ||
    (options.only !== null && options.only.has('diagnostics'))
  ) {
    for (let process = 0; process < plan.processes; process++) {
      const b1 = { scenario: 'latency', batch: 1, seq: 128, ...plan.latency.b1, modelDir: base.dir, process };
      add('diagnostics', 'python-torch', {
        ...b1,
        executorOptimize: true,
        variant: 'executor optimization on',
      });
      add('diagnostics', 'python-torch', { ...b1, modelDir: base.int8Dir, variant: 'int8 TorchScript' });
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
          count: plan.sentences,
          ...plan.throughput,
          modelDir: classifier.dir,
          ...passive,
        });
      }
    }
  }
  // The peak again at the end: the machine's speed drifts, and the best of both is the closer to its limit.
  if (want('sgemm')) add('sgemm', 'python-torch', { scenario: 'sgemm', ...plan.sgemm });
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
      if (/train_demo/.test(cmd)) found.push(`${pid}: ${cmd.slice(0, 120)}`);
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
  log(`preparing models (${PYTHON} ${args.map((a) => path.relative(ROOT, a) || a).join(' ')}) ...`);
  const started = Date.now();
  const result = spawnSync(PYTHON, args, { cwd: ROOT, encoding: 'utf8', maxBuffer: 64 * 2 ** 20 });
  if (result.error) throw new Error(`prepare: could not run ${PYTHON}: ${result.error.message}`);
  if (result.status !== 0) throw new Error(`prepare failed (exit ${result.status}):\n${result.stderr}`);
  const lines = result.stdout.trim().split('\n');
  const manifest = JSON.parse(lines[lines.length - 1]);
  log(
    `models ready in ${((Date.now() - started) / 1000).toFixed(1)} s (${manifest.base.name}; classifier: ${manifest.classifier.source})`,
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
  const script = path.join(BENCH, 'contenders', contender.script);
  const [command, args] =
    contender.kind === 'python'
      ? [PYTHON, [script, '--job', jobFile]]
      : [process.execPath, [script, '--job', jobFile]];
  const what = `${entry.scenario} / ${entry.contender}${job.variant ? ` (${job.variant})` : ''}`;
  log(`[${index + 1}/${total}] ${what} ...`);
  const started = Date.now();
  const cpuBefore = machineCpu();
  const selfBefore = process.cpuUsage();
  return new Promise((resolve) => {
    // job.env: extra environment of that process only (diagnostics: OpenMP wait policy).
    const env = { ...process.env, ...(job.env ?? {}) };
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
  const arch = {
    hidden: base.config.hidden_size,
    intermediate: base.config.intermediate_size,
    layers: base.config.num_hidden_layers,
  };
  const rows = [];
  // Jobs of the same scenario, contender and variant ran in several processes: pool their runs and rounds.
  const POOLED = ['timesMs', 'roundsMs', 'textsPerSecond', 'latenciesMs'];
  const processMedian = (result) =>
    stats(result.timesMs ?? result.latenciesMs ?? result.roundsMs ?? []).median;
  const merged = new Map();
  for (const run of runs) {
    if (!run.ok || ['sgemm', 'node-share', 'profile', 'int8-accuracy'].includes(run.scenario)) continue;
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
    const row = {
      scenario: run.scenario,
      contender: run.contender,
      variant: run.job.variant ?? null,
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
    if (row.metric === 'throughput') row.speedVsTorchEncoders = row.textsPerSecond / reference.textsPerSecond;
    else if (row.metric === 'concurrency') {
      row.speedVsTorchEncoders = row.requestsPerSecond / reference.requestsPerSecond;
    } else row.speedVsTorchEncoders = reference.medianMs / row.medianMs;
  }
  return rows;
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

/** Same weights and inputs must give the same outputs: compare probes and predictions across contenders. */
function agreement(rows, runs) {
  const checks = [];
  for (const scenario of ['bert-b1', 'bert-b8']) {
    const reference = rows.find(
      (r) => r.scenario === scenario && r.contender === 'torch-encoders' && !r.variant,
    );
    if (reference === undefined) continue;
    for (const row of rows.filter((r) => r.scenario === scenario && r !== reference && r.probe)) {
      const a = [...reference.probe.first, ...reference.probe.last];
      const b = [...row.probe.first, ...row.probe.last];
      const maxAbsDiff = Math.max(...a.map((x, i) => Math.abs(x - b[i])));
      const tolerance = row.contender.endsWith('int8') ? 0.5 : 1e-3;
      checks.push({ scenario, contender: row.contender, maxAbsDiff, tolerance, ok: maxAbsDiff <= tolerance });
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
      checks.push({ scenario: 'sentiment', contender, sameLabelFraction: fraction, ok: fraction >= minimum });
    }
  }
  return checks;
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
  const jobs = buildJobs(options, plan, manifest);
  const tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), 'torch-encoders-bench-'));
  const runs = [];
  try {
    for (let i = 0; i < jobs.length; i++)
      runs.push(await runJob(jobs[i], tmpDir, plan.timeoutMs, i, jobs.length));
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

  const sgemmRun = runs
    .filter((r) => r.scenario === 'sgemm' && r.ok)
    .reduce((best, r) => (best === undefined || r.result.gflops > best.result.gflops ? r : best), undefined);
  const profileRun = runs.find((r) => r.scenario === 'profile' && r.ok);
  const accuracyRun = runs.find((r) => r.scenario === 'int8-accuracy' && r.ok);
  // Kept until the report is written, so that a failure below does not lose the measurements.
  fs.mkdirSync(options.out, { recursive: true });
  const rawFile = path.join(
    options.out,
    `${today()}${options.mode === 'full' ? '' : `-${options.mode}`}.runs.json`,
  );
  fs.writeFileSync(rawFile, JSON.stringify({ options, manifest, warnings, runs }));
  const rows = summarize(runs, manifest);
  const sgemm = sgemmRun ? { ...sgemmRun.result, threads: sgemmRun.job.threads } : null;
  if (sgemm)
    for (const row of rows) if (row.gflops !== undefined) row.shareOfSgemmPeak = row.gflops / sgemm.gflops;

  const date = today();
  const suffix = options.mode === 'full' ? '' : `-${options.mode}`;
  const results = {
    schema: 1,
    date,
    mode: options.mode,
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    threads: options.threads,
    machine: {
      ...machineInfo(options.threads),
      loadAverageAtStart: loadBefore,
      loadAverageAtEnd: os.loadavg(),
    },
    versions: versions(runs),
    warnings,
    models: manifest,
    flopsFormula: FORMULA,
    contenders: Object.fromEntries(Object.entries(CONTENDERS).map(([id, c]) => [id, c.label])),
    sgemm,
    profile: profileRun ? profileRun.result : null,
    int8Accuracy: accuracyRun ? accuracyRun.result : null,
    summary: rows,
    nodeShare: nodeShare(runs),
    agreement: agreement(rows, runs),
    failures: runs
      .filter((r) => !r.ok)
      .map((r) => ({ scenario: r.scenario, contender: r.contender, error: r.error })),
    runs,
  };

  fs.mkdirSync(options.out, { recursive: true });
  const stem = path.join(options.out, `${date}${suffix}`);
  await report.writeJson(`${stem}.json`, results);
  const chart = options.chart
    ? await report.writeChart(results, `${stem}.svg`)
    : { svg: null, reason: '--no-chart' };
  results.chart = chart;
  if (chart.svg && options.mode === 'full')
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
}

main().catch((error) => {
  process.stderr.write(`[bench] ${error && error.stack ? error.stack : error}\n`);
  process.exit(1);
});
