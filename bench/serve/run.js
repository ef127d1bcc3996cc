#!/usr/bin/env node
// The server load test: `torch-encoders serve` (dist/lib/cli.js, the demo models) on loopback under autocannon.
//
//   npm run build:ts
//   node bench/serve/run.js            full run (~13 min on 2 cores): 3 rounds of 20 s per scenario, a 180 s soak;
//                                      writes bench/results/<date>-serve.{json,md,svg}
//   node bench/serve/run.js --quick    1 round of 5 s per scenario, a 30 s soak (~2 min): <date>-quick-serve.*
//   node bench/serve/run.js -- --max-batch-tokens 8192      everything after `--` goes to `torch-encoders serve`
//   node bench/serve/report.js bench/results/<date>-serve.json   re-renders the .md and .svg from the results
//
// Scenarios, each a warm-up then a measured run of fixed duration, every round in this order: POST /embed and
// POST /predict with one real sentence a request at 1, 16 and 64 connections, then /embed with 32 sentences a
// request at 16 connections (sentences/s). While /embed runs at 64 connections a separate process GETs /health at a
// fixed rate (20/s) and times it. Then the soak: /embed at 16 connections for --soak seconds, the server's RSS
// (VmRSS) read every 5 s. Any non-2xx answer, connection error, timeout or malformed body in any run (warm-ups
// included), a /health answer other than 200, RSS growth above 5% over the soak's second half or a server that does
// not exit 0 on SIGTERM fails the run (exit code 1). The sentences are the embeddings scenario's real ones
// (bench/lib/common.js loadEmbeddingSentences: SQuAD, UCI sentiment, WNUT-17), rotated through the requests.
//
// Options: --quick, --duration S (measured run), --warmup S, --repeat N (rounds; figures are the medians of the
// rounds), --soak S (0: none), --threads N (the server's --threads, default 2), --connections 1,16,64,
// --batch N (sentences a batched request, default 32), --health-rate N (probes a second, default 20),
// --out DIR (default bench/results), --no-chart.
'use strict';

const autocannon = require('autocannon');
const { fork, spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const readline = require('node:readline');
const { loadEmbeddingSentences } = require('../lib/common');
const {
  percentiles,
  median,
  linearFit,
  rssMb,
  processCpuSeconds,
  machineBusySeconds,
  processTable,
} = require('./lib');
const serveReport = require('./report');

const ROOT = path.resolve(__dirname, '../..');
const CLI = path.join(ROOT, 'dist', 'lib', 'cli.js');
const SENTENCE_COUNT = 1000;
/** RSS growth over the soak's second half above this share fails the run. */
const SOAK_GROWTH_LIMIT = 0.05;
/** Other processes taking more than this share of the machine's CPU during a measured run: a warning. */
const OTHERS_SHARE_WARNING = 0.1;

const PLANS = {
  full: { duration: 20, warmup: 5, repeat: 3, soak: 180, idleHealth: 10 },
  quick: { duration: 5, warmup: 2, repeat: 1, soak: 30, idleHealth: 3 },
};

function parseArgs(argv) {
  const dash = argv.indexOf('--');
  const own = dash < 0 ? argv : argv.slice(0, dash);
  const options = {
    mode: own.includes('--quick') ? 'quick' : 'full',
    threads: 2,
    connections: [1, 16, 64],
    batch: 32,
    batchConnections: 16,
    soakConnections: 16,
    sampleSeconds: 5,
    healthRate: 20,
    out: path.join(ROOT, 'bench', 'results'),
    chart: true,
    serveArgs: dash < 0 ? [] : argv.slice(dash + 1),
  };
  Object.assign(options, PLANS[options.mode]);
  const number = (flag, value, { min = 0, integer = true } = {}) => {
    const parsed = Number(value);
    if (
      value === undefined ||
      !Number.isFinite(parsed) ||
      parsed < min ||
      (integer && !Number.isInteger(parsed))
    )
      throw new Error(`${flag} expects ${integer ? 'an integer' : 'a number'} >= ${min}, got ${value}`);
    return parsed;
  };
  for (let i = 0; i < own.length; i++) {
    const flag = own[i];
    const value = own[i + 1];
    const take = () => {
      i++;
      return value;
    };
    switch (flag) {
      case '--quick':
        break;
      case '--duration':
        options.duration = number(flag, take(), { min: 1 });
        break;
      case '--warmup':
        options.warmup = number(flag, take());
        break;
      case '--repeat':
        options.repeat = number(flag, take(), { min: 1 });
        break;
      case '--soak':
        options.soak = number(flag, take());
        break;
      case '--threads':
        options.threads = number(flag, take(), { min: 1 });
        break;
      case '--connections':
        options.connections = take()
          .split(',')
          .map((c) => number(flag, c, { min: 1 }));
        break;
      case '--batch':
        options.batch = number(flag, take(), { min: 1 });
        break;
      case '--health-rate':
        options.healthRate = number(flag, take(), { min: 1 });
        break;
      case '--out':
        options.out = path.resolve(take());
        break;
      case '--no-chart':
        options.chart = false;
        break;
      default:
        throw new Error(`unknown option ${flag} (options after \`--\` go to torch-encoders serve)`);
    }
  }
  if (options.soak > 0 && options.soak < 2 * options.sampleSeconds) {
    throw new Error(
      `--soak ${options.soak}: at least ${2 * options.sampleSeconds} s (RSS is read every 5 s)`,
    );
  }
  return options;
}

function log(message) {
  process.stderr.write(`[bench:serve] ${message}\n`);
}

function today() {
  const d = new Date();
  const pad = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// ---------------------------------------------------------------------------------------------------------------
// Machine and versions
// ---------------------------------------------------------------------------------------------------------------

function machineInfo() {
  const cpuinfo = fs.existsSync('/proc/cpuinfo') ? fs.readFileSync('/proc/cpuinfo', 'utf8') : '';
  const field = (name) => cpuinfo.match(new RegExp(`^${name}\\s*:\\s*(.*)$`, 'm'))?.[1]?.trim();
  return {
    cpuModel: field('model name') ?? os.cpus()[0]?.model ?? 'unknown',
    logicalCores: os.cpus().length,
    availableParallelism: os.availableParallelism(),
    memoryGb: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    os: `${os.type()} ${os.release()}`,
    node: process.version,
  };
}

/** `torch-encoders info --json`: the libtorch the server will load, its BLAS and build. */
function runtimeInfo() {
  const result = spawnSync(process.execPath, [CLI, 'info', '--json'], { cwd: ROOT, encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`torch-encoders info failed: ${result.stderr}`);
  const info = JSON.parse(result.stdout.trim().split('\n').pop());
  return {
    torchEncoders: info.version,
    libtorch: info.libtorch,
    libtorchRule: info.runtime?.rule ?? null,
    blas: info.blas?.name ?? null,
    cpu: info.cpu ?? null,
    mklCpuOverride: info.mklCpuOverride?.active ?? null,
    node: process.version,
    autocannon: require('autocannon/package.json').version,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// The server
// ---------------------------------------------------------------------------------------------------------------

/** Spawns `torch-encoders serve --port 0` and resolves once it listens (url from its log) and /health says 200. */
async function startServer(options) {
  const args = [CLI, 'serve', '--port', '0', '--threads', String(options.threads), ...options.serveArgs];
  const started = performance.now();
  const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  const server = {
    child,
    pid: child.pid,
    command: ['torch-encoders', ...args.slice(1)].join(' '),
    stderr: '',
    exit: null,
  };
  server.exited = new Promise((resolve) =>
    child.once('exit', (code, signal) => {
      server.exit = { code, signal };
      resolve(server.exit);
    }),
  );
  child.stderr.on('data', (chunk) => (server.stderr = (server.stderr + chunk.toString()).slice(-20000)));
  const url = await new Promise((resolve, reject) => {
    readline.createInterface({ input: child.stdout }).on('line', (line) => {
      try {
        const entry = JSON.parse(line);
        if (typeof entry.url === 'string') resolve(entry.url);
      } catch {
        // not a log line
      }
    });
    void server.exited.then((exit) =>
      reject(new Error(`the server exited (${JSON.stringify(exit)}) before listening: ${server.stderr}`)),
    );
  });
  server.url = url;
  const deadline = Date.now() + 300_000;
  for (;;) {
    if (server.exit) throw new Error(`the server exited (${JSON.stringify(server.exit)}): ${server.stderr}`);
    const status = await fetch(`${url}/health`).then(
      (response) => response.status,
      () => 0,
    );
    if (status === 200) break;
    if (Date.now() > deadline) throw new Error('the server was not ready within 300 s');
    await sleep(100);
  }
  server.readyMs = performance.now() - started;
  return server;
}

async function stopServer(server) {
  const started = performance.now();
  server.child.kill('SIGTERM');
  let timer;
  const exit = await Promise.race([
    server.exited,
    new Promise((resolve) => (timer = setTimeout(() => resolve(null), 60_000))),
  ]);
  clearTimeout(timer);
  if (exit === null) {
    server.child.kill('SIGKILL');
    return { code: null, signal: 'SIGKILL after 60 s', ms: performance.now() - started };
  }
  return { ...exit, ms: performance.now() - started };
}

async function postJson(url, body) {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  if (response.status !== 200) throw new Error(`${url}: ${response.status} ${text.slice(0, 300)}`);
  return JSON.parse(text);
}

/**
 * What a good answer looks like, from one request of each kind before any load: /embed's vector width, and
 * /predict's answer to one text (an array of {label, score}). Load runs then check a sample of bodies against it.
 */
async function answerShapes(url, sentences, batch) {
  const one = await postJson(`${url}/embed`, { inputs: sentences[0] });
  const many = await postJson(`${url}/embed`, { inputs: sentences.slice(0, batch) });
  const predicted = await postJson(`${url}/predict`, { inputs: sentences[0] });
  const width = one[0]?.length;
  if (!Array.isArray(one) || one.length !== 1 || !(width > 0)) throw new Error('/embed: not one vector');
  if (!Array.isArray(many) || many.length !== batch) throw new Error(`/embed: not ${batch} vectors`);
  if (!Array.isArray(predicted) || !predicted.every((p) => typeof p.label === 'string')) {
    throw new Error(`/predict: not a list of labels: ${JSON.stringify(predicted).slice(0, 200)}`);
  }
  return { embedWidth: width, labels: predicted.map((p) => p.label).sort() };
}

function validBody(route, inputs, shapes) {
  return (text) => {
    let body;
    try {
      body = JSON.parse(text);
    } catch {
      return false;
    }
    // An error's body ({error, error_type}) is counted by its status as non-2xx, not again here.
    if (body !== null && typeof body === 'object' && !Array.isArray(body) && 'error_type' in body)
      return true;
    if (route === '/embed') {
      return (
        Array.isArray(body) &&
        body.length === inputs &&
        body.every((v) => Array.isArray(v) && v.length === shapes.embedWidth && Number.isFinite(v[0]))
      );
    }
    return (
      Array.isArray(body) &&
      body.length === shapes.labels.length &&
      body.every((p) => typeof p.label === 'string' && Number.isFinite(p.score))
    );
  };
}

/** Model name -> { metric: value } of the counters and sums the report uses, from GET /metrics. */
async function scrapeMetrics(url) {
  const text = await fetch(`${url}/metrics`).then((response) => response.text());
  const byModel = {};
  const line =
    /^(te_request_count|te_batch_next_size_(?:sum|count)|te_request_(?:queue|inference|tokenization)_duration_(?:sum|count))\{([^}]*)\}\s+(\S+)$/gm;
  for (const [, name, labels, value] of text.matchAll(line)) {
    const model = /model="([^"]*)"/.exec(labels)?.[1];
    if (model === undefined) continue;
    byModel[model] ??= {};
    byModel[model][name] = (byModel[model][name] ?? 0) + Number(value);
  }
  return byModel;
}

/** What the server's own metrics say about a run: the model that served it, rows per forward, queue time. */
function metricsDelta(before, after) {
  let best = null;
  for (const [model, now] of Object.entries(after)) {
    const then = before[model] ?? {};
    const delta = (name) => (now[name] ?? 0) - (then[name] ?? 0);
    const requests = delta('te_request_count');
    if (best !== null && requests <= best.requests) continue;
    const per = (sum, count) => (delta(count) > 0 ? delta(sum) / delta(count) : null);
    const ms = (seconds) => (seconds === null ? null : seconds * 1000);
    best = {
      model,
      requests,
      forwards: delta('te_batch_next_size_count'),
      rowsPerForward: per('te_batch_next_size_sum', 'te_batch_next_size_count'),
      queueMs: ms(per('te_request_queue_duration_sum', 'te_request_queue_duration_count')),
      inferenceMs: ms(per('te_request_inference_duration_sum', 'te_request_inference_duration_count')),
      tokenizationMs: ms(
        per('te_request_tokenization_duration_sum', 'te_request_tokenization_duration_count'),
      ),
    };
  }
  return best;
}

// ---------------------------------------------------------------------------------------------------------------
// Load
// ---------------------------------------------------------------------------------------------------------------

/** Where the next request's sentences start: shared by every run, so that runs do not replay the same few. */
const cursor = { next: 0 };

/**
 * One autocannon run: `connections` connections POSTing `inputs` sentences a request to `route` for `duration` s.
 * Every 2xx answer's latency is kept (autocannon's own histogram has no p95), with when it came; `tick.fn(elapsedS)`,
 * if given, runs at the start and every `tick.seconds` during the run (the soak's RSS readings).
 */
function load(url, sentences, shapes, { route, connections, inputs, duration, tick }) {
  const latencies = [];
  const answeredAt = [];
  let checked = 0;
  const valid = validBody(route, inputs, shapes);
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const instance = autocannon(
      {
        url,
        connections,
        duration,
        timeout: 30,
        requests: [
          {
            method: 'POST',
            path: route,
            headers: { 'content-type': 'application/json' },
            setupRequest(request) {
              const at = cursor.next;
              cursor.next = (cursor.next + inputs) % sentences.length;
              const texts = Array.from({ length: inputs }, (_, i) => sentences[(at + i) % sentences.length]);
              return { ...request, body: JSON.stringify({ inputs: inputs === 1 ? texts[0] : texts }) };
            },
          },
        ],
        // Parsing every answer would take CPU from the server on a small machine: every 20th is checked whole.
        verifyBody: (body) => checked++ % 20 !== 0 || valid(body),
      },
      (error, result) => {
        if (tick) clearInterval(tick.timer);
        if (error) reject(error);
        else resolve({ result, latencies, answeredAt, wallSeconds: (performance.now() - started) / 1000 });
      },
    );
    instance.on('response', (client, statusCode, bytes, ms) => {
      // As autocannon's own histogram: the latency of answers, not of refusals (a 429 comes back at once).
      if (statusCode < 200 || statusCode > 299) return;
      latencies.push(ms);
      answeredAt.push(performance.now() - started);
    });
    if (tick) {
      tick.timer = setInterval(() => tick.fn((performance.now() - started) / 1000), tick.seconds * 1000);
      tick.fn(0);
    }
  });
}

/**
 * Waits until the server's CPU use stays under a tenth of a core for two readings 250 ms apart (at most 30 s):
 * when autocannon stops it drops its requests in flight, and forwards already started for them still run. The
 * next run must not start behind them. Returns the wait in ms.
 */
async function settle(pid) {
  const started = performance.now();
  let quiet = 0;
  while (quiet < 2 && performance.now() - started < 30_000) {
    const before = processCpuSeconds(pid);
    await sleep(250);
    const used = processCpuSeconds(pid) - before;
    quiet = used < 0.025 ? quiet + 1 : 0;
  }
  return performance.now() - started;
}

/**
 * Answered requests a second, counted from the first answer to the last: the answers after the first ÷ the time
 * between them. A batched request takes seconds and the answers to 16 of them come in waves; answers ÷ the run's
 * duration would swing by a whole wave with where the run's end falls, whole waves between two answers do not.
 * null with fewer than two answers.
 */
function answerRate(answeredAt) {
  if (answeredAt.length < 2) return null;
  return ((answeredAt.length - 1) * 1000) / (answeredAt[answeredAt.length - 1] - answeredAt[0]);
}

function errorCounts(result) {
  return {
    non2xx: result.non2xx,
    errors: result.errors - result.timeouts,
    timeouts: result.timeouts,
    badBodies: result.mismatches,
    statusCodes: Object.fromEntries(
      Object.entries(result.statusCodeStats).map(([status, { count }]) => [status, count]),
    ),
  };
}

function failed(counts) {
  return counts.non2xx + counts.errors + counts.timeouts + counts.badBodies > 0;
}

const fixed = (value, digits = 1) => (value === null || value === undefined ? '-' : value.toFixed(digits));

function startHealthProbe(url, rate) {
  const child = fork(path.join(__dirname, 'health-probe.js'), ['--url', url, '--rate', String(rate)], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const messages = [];
  const waiters = [];
  child.on('message', (message) => {
    messages.push(message);
    for (const waiter of waiters.splice(0)) waiter();
  });
  const next = (type) =>
    new Promise((resolve, reject) => {
      const look = () => {
        const found = messages.find((m) => m.type === type);
        if (found) resolve(found);
        else waiters.push(look);
      };
      child.once('exit', (code) => reject(new Error(`health probe exited (${code}) before '${type}'`)));
      look();
    });
  return {
    started: next('started'),
    async stop() {
      child.send('stop');
      return next('result');
    },
  };
}

/** One scenario's warm-up and measured run, with the server's and the machine's CPU over the measured run. */
async function scenario(context, spec, round) {
  const { url, server, sentences, shapes, options } = context;
  const label = `${spec.route} × ${spec.connections} connections${spec.inputs > 1 ? `, ${spec.inputs} a request` : ''}`;
  log(`round ${round}: ${label}: warm-up ${options.warmup} s, measured ${options.duration} s ...`);
  let warmup = null;
  if (options.warmup > 0) {
    const run = await load(url, sentences, shapes, { ...spec, duration: options.warmup });
    warmup = { seconds: run.result.duration, requests: run.result['2xx'], ...errorCounts(run.result) };
    warmup.settleMs = await settle(server.pid);
  }
  const probe = spec.healthProbe ? startHealthProbe(url, options.healthRate) : null;
  if (probe) await probe.started;
  const metricsBefore = await scrapeMetrics(url);
  const serverCpu = processCpuSeconds(server.pid);
  const machineCpu = machineBusySeconds();
  const clientCpu = process.cpuUsage();
  const run = await load(url, sentences, shapes, { ...spec, duration: options.duration });
  const clientCpuSeconds = (({ user, system }) => (user + system) / 1e6)(process.cpuUsage(clientCpu));
  const serverCpuSeconds = processCpuSeconds(server.pid) - serverCpu;
  const machineCpuSeconds = machineBusySeconds() - machineCpu;
  const health = probe ? await probe.stop() : null;
  const metrics = metricsDelta(metricsBefore, await scrapeMetrics(url));
  const settleMs = await settle(server.pid);
  const seconds = run.result.duration;
  const ok = run.result['2xx'];
  const cores = os.cpus().length;
  const rate = answerRate(run.answeredAt);
  const othersCpuSeconds =
    machineCpuSeconds - serverCpuSeconds - clientCpuSeconds - (health?.cpuSeconds ?? 0);
  const measured = {
    seconds,
    requests: ok,
    requestsPerSecond: rate,
    inputsPerSecond: rate === null ? null : rate * spec.inputs,
    answersOverDuration: ok / seconds,
    latencyMs: percentiles(run.latencies),
    ...errorCounts(run.result),
    serverCpuShare: serverCpuSeconds / seconds / cores,
    clientCpuShare: clientCpuSeconds / seconds / cores,
    othersCpuShare: Math.max(0, othersCpuSeconds / seconds / cores),
    serverRssMb: rssMb(server.pid),
    metrics,
    settleMs,
  };
  const l = measured.latencyMs;
  log(
    `  ${fixed(measured.requestsPerSecond)} req/s, p50 ${fixed(l.p50)} / p99 ${fixed(l.p99)} ms, ` +
      `non-2xx ${measured.non2xx}, errors ${measured.errors + measured.timeouts}` +
      (health ? `; /health p50 ${fixed(health.latencyMs.p50)} / p99 ${fixed(health.latencyMs.p99)} ms` : ''),
  );
  return {
    id: spec.id,
    route: spec.route,
    connections: spec.connections,
    inputs: spec.inputs,
    round,
    warmup,
    measured,
    health,
  };
}

/** The soak: /embed at `soakConnections` for `soak` s, the server's RSS read every `sampleSeconds`. */
async function soak(context) {
  const { url, server, sentences, shapes, options } = context;
  const spec = { route: '/embed', connections: options.soakConnections, inputs: 1 };
  log(
    `soak: /embed × ${spec.connections} connections, warm-up ${options.warmup} s, then ${options.soak} s ...`,
  );
  let warmup = null;
  if (options.warmup > 0) {
    const run = await load(url, sentences, shapes, { ...spec, duration: options.warmup });
    warmup = { seconds: run.result.duration, requests: run.result['2xx'], ...errorCounts(run.result) };
    warmup.settleMs = await settle(server.pid);
  }
  const samples = [];
  const run = await load(url, sentences, shapes, {
    ...spec,
    duration: options.soak,
    tick: {
      seconds: options.sampleSeconds,
      fn: (elapsed) => samples.push({ seconds: Math.round(elapsed * 10) / 10, rssMb: rssMb(server.pid) }),
    },
  });
  // The last tick may have just read it; otherwise read the end now.
  if (run.wallSeconds - samples[samples.length - 1].seconds > 1) {
    samples.push({ seconds: Math.round(run.wallSeconds * 10) / 10, rssMb: rssMb(server.pid) });
  }
  // Throughput and latency window by window: a server that slows down over time shows it here.
  const windows = [];
  for (let from = 0; from < options.soak; from += options.sampleSeconds) {
    const to = Math.min(options.soak, from + options.sampleSeconds);
    const inWindow = run.latencies.filter(
      (_, i) => run.answeredAt[i] >= from * 1000 && run.answeredAt[i] < to * 1000,
    );
    const p = percentiles(inWindow);
    windows.push({ from, to, requestsPerSecond: inWindow.length / (to - from), p50Ms: p.p50, p99Ms: p.p99 });
  }
  const rss = samples.map((s) => s.rssMb).filter((v) => v !== null);
  const half = options.soak / 2;
  const secondHalf = samples.filter((s) => s.seconds >= half && s.rssMb !== null);
  const fit = linearFit(secondHalf.map((s) => ({ x: s.seconds / 60, y: s.rssMb })));
  const atHalf = fit ? fit.intercept + (fit.slope * half) / 60 : null;
  const growth = fit ? (fit.slope * (options.soak - half)) / 60 / atHalf : null;
  const result = {
    route: spec.route,
    connections: spec.connections,
    seconds: run.result.duration,
    sampleSeconds: options.sampleSeconds,
    warmup,
    requests: run.result['2xx'],
    requestsPerSecond: answerRate(run.answeredAt),
    latencyMs: percentiles(run.latencies),
    ...errorCounts(run.result),
    rss: {
      startMb: rss[0] ?? null,
      endMb: rss[rss.length - 1] ?? null,
      maxMb: rss.length > 0 ? Math.max(...rss) : null,
      secondHalfSlopeMbPerMin: fit ? fit.slope : null,
      secondHalfGrowth: growth,
      secondHalfRawGrowth:
        secondHalf.length >= 2 ? secondHalf[secondHalf.length - 1].rssMb / secondHalf[0].rssMb - 1 : null,
      limit: SOAK_GROWTH_LIMIT,
    },
    samples,
    windows,
  };
  log(
    `  ${fixed(result.requestsPerSecond)} req/s, errors ${result.non2xx + result.errors + result.timeouts}; ` +
      `RSS ${fixed(result.rss.startMb, 0)} -> ${fixed(result.rss.endMb, 0)} MB (max ${fixed(result.rss.maxMb, 0)}), ` +
      `second half ${fixed(result.rss.secondHalfSlopeMbPerMin, 2)} MB/min (${fixed(growth === null ? null : growth * 100, 2)}%)`,
  );
  return result;
}

/** Every round's figures of one scenario as one row: medians over rounds, max of max, sums of errors. */
function summarize(runs) {
  const groups = new Map();
  for (const run of runs) {
    if (!groups.has(run.id)) groups.set(run.id, []);
    groups.get(run.id).push(run);
  }
  return [...groups.values()].map((list) => {
    const m = list.map((r) => r.measured);
    const sum = (name) => list.reduce((a, r) => a + r.measured[name] + (r.warmup?.[name] ?? 0), 0);
    const rates = m.map((x) => x.requestsPerSecond).filter((x) => x !== null);
    const health = list.map((r) => r.health).filter(Boolean);
    return {
      id: list[0].id,
      route: list[0].route,
      connections: list[0].connections,
      inputs: list[0].inputs,
      rounds: list.length,
      requestsPerSecond: median(rates),
      requestsPerSecondMin: rates.length > 0 ? Math.min(...rates) : null,
      requestsPerSecondMax: rates.length > 0 ? Math.max(...rates) : null,
      inputsPerSecond: median(m.map((x) => x.inputsPerSecond)),
      p50Ms: median(m.map((x) => x.latencyMs.p50)),
      p95Ms: median(m.map((x) => x.latencyMs.p95)),
      p99Ms: median(m.map((x) => x.latencyMs.p99)),
      maxMs: Math.max(...m.map((x) => x.latencyMs.max ?? 0)),
      requests: m.reduce((a, x) => a + x.requests, 0),
      non2xx: sum('non2xx'),
      errors: sum('errors'),
      timeouts: sum('timeouts'),
      badBodies: sum('badBodies'),
      rowsPerForward: median(m.map((x) => x.metrics?.rowsPerForward)),
      queueMs: median(m.map((x) => x.metrics?.queueMs)),
      serverCpuShare: median(m.map((x) => x.serverCpuShare)),
      clientCpuShare: median(m.map((x) => x.clientCpuShare)),
      othersCpuShare: Math.max(...m.map((x) => x.othersCpuShare)),
      health:
        health.length === 0
          ? null
          : {
              probes: health.reduce((a, h) => a + h.latencyMs.n, 0),
              p50Ms: median(health.map((h) => h.latencyMs.p50)),
              p95Ms: median(health.map((h) => h.latencyMs.p95)),
              p99Ms: median(health.map((h) => h.latencyMs.p99)),
              maxMs: Math.max(...health.map((h) => h.latencyMs.max ?? 0)),
              non200: health.reduce((a, h) => a + h.non200, 0),
              errors: health.reduce((a, h) => a + h.errors + h.unanswered, 0),
            },
    };
  });
}

/** Processes other than this run's that used more than 2% of a core between two processTable() readings. */
function otherProcesses(before, after, seconds, ours) {
  const rows = [];
  for (const [pid, now] of after) {
    if (ours.has(pid)) continue;
    const used = now.seconds - (before.get(pid)?.seconds ?? 0);
    if (used / seconds > 0.02) rows.push({ pid, coreShare: used / seconds, command: now.command });
  }
  return rows.sort((a, b) => b.coreShare - a.coreShare).slice(0, 8);
}

// ---------------------------------------------------------------------------------------------------------------

async function main() {
  const options = parseArgs(process.argv.slice(2));
  if (!fs.existsSync(CLI)) throw new Error('dist/lib is missing: run `npm run build:ts` first');
  const startedAt = new Date();
  const loadBefore = os.loadavg();
  const processesBefore = processTable();
  const versions = runtimeInfo();
  const { sentences, record } = loadEmbeddingSentences(SENTENCE_COUNT);
  log(`${sentences.length} sentences (sha256 ${record.sha256.slice(0, 12)}); starting the server ...`);

  const server = await startServer(options);
  // A bench that stops early must not leave its server running.
  const cleanup = () => server.child.kill('SIGKILL');
  const interrupted = (signal) => {
    cleanup();
    process.exit(signal === 'SIGINT' ? 130 : 143);
  };
  process.once('exit', cleanup);
  process.once('SIGINT', interrupted);
  process.once('SIGTERM', interrupted);
  log(
    `${server.command} ready in ${(server.readyMs / 1000).toFixed(1)} s at ${server.url} (pid ${server.pid})`,
  );
  const info = await fetch(`${server.url}/info`).then((response) => response.json());
  const shapes = await answerShapes(server.url, sentences, options.batch);
  const rssReadyMb = rssMb(server.pid);
  const context = { url: server.url, server, sentences, shapes, options };

  let idleHealth = null;
  if (options.idleHealth > 0) {
    log(`/health while idle, ${options.idleHealth} s ...`);
    const probe = startHealthProbe(server.url, options.healthRate);
    await probe.started;
    await sleep(options.idleHealth * 1000);
    idleHealth = await probe.stop();
  }

  const specs = [
    ...['/embed', '/predict'].flatMap((route) =>
      options.connections.map((connections) => ({
        id: `${route.slice(1)}-c${connections}`,
        route,
        connections,
        inputs: 1,
        healthProbe: route === '/embed' && connections === Math.max(...options.connections),
      })),
    ),
    {
      id: `embed-b${options.batch}-c${options.batchConnections}`,
      route: '/embed',
      connections: options.batchConnections,
      inputs: options.batch,
      healthProbe: false,
    },
  ];
  const runs = [];
  for (let round = 1; round <= options.repeat; round++) {
    for (const spec of specs) {
      runs.push(await scenario(context, spec, round));
      if (server.exit) throw new Error(`the server exited during the run: ${JSON.stringify(server.exit)}`);
    }
  }
  const soakResult = options.soak > 0 ? await soak(context) : null;
  const rssBeforeStopMb = rssMb(server.pid);
  const shutdown = await stopServer(server);
  process.removeListener('exit', cleanup);
  process.removeListener('SIGINT', interrupted);
  process.removeListener('SIGTERM', interrupted);
  const finishedAt = new Date();
  const wallSeconds = (finishedAt - startedAt) / 1000;
  const loadAfter = os.loadavg();
  const others = otherProcesses(
    processesBefore,
    processTable(),
    wallSeconds,
    new Set([process.pid, server.pid]),
  );

  const summary = summarize(runs);
  const failures = [];
  for (const run of runs) {
    for (const [phase, counts] of [
      ['warm-up', run.warmup],
      ['measured run', run.measured],
    ]) {
      if (counts && failed(counts)) {
        failures.push(
          `${run.id} round ${run.round} ${phase}: ${counts.non2xx} non-2xx (${JSON.stringify(counts.statusCodes)}), ` +
            `${counts.errors} errors, ${counts.timeouts} timeouts, ${counts.badBodies} malformed bodies`,
        );
      }
    }
    if (run.measured.requests === 0) {
      failures.push(`${run.id} round ${run.round}: no request answered within the ${options.duration} s run`);
    }
    if (run.health && run.health.non200 + run.health.errors + run.health.unanswered > 0) {
      failures.push(
        `/health during ${run.id} round ${run.round}: ${run.health.non200} non-200, ` +
          `${run.health.errors} errors, ${run.health.unanswered} unanswered`,
      );
    }
  }
  if (idleHealth && idleHealth.non200 + idleHealth.errors + idleHealth.unanswered > 0) {
    failures.push(`/health while idle: ${idleHealth.non200} non-200, ${idleHealth.errors} errors`);
  }
  if (soakResult) {
    for (const counts of [soakResult.warmup, soakResult].filter(Boolean)) {
      if (failed(counts)) {
        failures.push(
          `soak: ${counts.non2xx} non-2xx (${JSON.stringify(counts.statusCodes)}), ${counts.errors} errors, ` +
            `${counts.timeouts} timeouts, ${counts.badBodies} malformed bodies`,
        );
      }
    }
    if (soakResult.rss.secondHalfGrowth === null || soakResult.rss.secondHalfGrowth > SOAK_GROWTH_LIMIT) {
      failures.push(
        `soak: RSS grew ${((soakResult.rss.secondHalfGrowth ?? NaN) * 100).toFixed(1)}% over the second half ` +
          `(limit ${SOAK_GROWTH_LIMIT * 100}%)`,
      );
    }
  }
  if (shutdown.code !== 0) failures.push(`the server's exit on SIGTERM: ${JSON.stringify(shutdown)}`);

  const warnings = [];
  if (loadBefore[0] > 0.5) {
    warnings.push(
      `1-minute load average was ${loadBefore[0].toFixed(2)} at the start (an idle machine is < 0.5)`,
    );
  }
  const busiest = Math.max(0, ...runs.map((r) => r.measured.othersCpuShare));
  if (busiest > OTHERS_SHARE_WARNING) {
    warnings.push(
      `other processes took up to ${(busiest * 100).toFixed(0)}% of the machine's CPU during a measured run ` +
        '(figures unreliable)',
    );
  }
  if (others.length > 0) {
    warnings.push(
      `other processes used the CPU during the run: ${others
        .map(
          (o) =>
            `${o.command.split(' ').slice(0, 3).join(' ')} (${(o.coreShare * 100).toFixed(0)}% of a core)`,
        )
        .join('; ')}`,
    );
  }

  const results = {
    kind: 'serve',
    date: today(),
    mode: options.mode,
    command: `node bench/serve/run.js ${process.argv.slice(2).join(' ')}`.trim(),
    startedAt: startedAt.toISOString(),
    finishedAt: finishedAt.toISOString(),
    wallSeconds,
    settings: {
      durationSeconds: options.duration,
      warmupSeconds: options.warmup,
      rounds: options.repeat,
      connections: options.connections,
      batch: { inputs: options.batch, connections: options.batchConnections },
      soakSeconds: options.soak,
      soakConnections: options.soakConnections,
      rssSampleSeconds: options.sampleSeconds,
      healthRate: options.healthRate,
      threads: options.threads,
      serveArgs: options.serveArgs,
      loadGenerator: `autocannon ${versions.autocannon}, in one process with this script, on the same machine`,
    },
    machine: {
      ...machineInfo(),
      loadAverageBefore: loadBefore,
      loadAverageAfter: loadAfter,
      otherProcesses: others,
    },
    versions,
    server: {
      command: server.command,
      pid: server.pid,
      readyMs: server.readyMs,
      rssReadyMb,
      rssBeforeStopMb,
      shutdown,
      models: info.models ?? null,
      limits: {
        maxConcurrentRequests: info.max_concurrent_requests,
        maxBatchTokens: info.max_batch_tokens,
        maxBatchRequests: info.max_batch_requests,
        maxClientBatchSize: info.max_client_batch_size,
      },
      embedWidth: shapes.embedWidth,
    },
    sentences: record,
    summary,
    idleHealth,
    soak: soakResult,
    failures,
    warnings,
    runs,
  };

  const stem = path.join(options.out, `${results.date}-${options.mode === 'quick' ? 'quick-' : ''}serve`);
  const written = await serveReport.write(results, stem, { chart: options.chart });
  log(`wrote ${path.relative(process.cwd(), stem)}.{${written.join(',')}}`);
  process.stdout.write(serveReport.summaryTable(results) + '\n');
  for (const warning of warnings) log(`warning: ${warning}`);
  if (failures.length > 0) {
    for (const failure of failures) log(`FAILED: ${failure}`);
    process.exitCode = 1;
  }
}

main().catch((error) => {
  process.stderr.write(`[bench:serve] ${error && error.stack ? error.stack : error}\n`);
  process.exit(1);
});
