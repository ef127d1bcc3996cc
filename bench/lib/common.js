// Shared by bench/run.js and the contender processes: inputs, sentences, statistics, result files.
'use strict';

const fs = require('node:fs');
const path = require('node:path');
const { rng } = require('../../tools/seeded_random');

const ROOT = path.resolve(__dirname, '../..');

/** The same deterministic token ids in every contender (bench/contenders/python_torch.py has the twin). */
function latencyIds(batch, seq) {
  const ids = new Array(batch * seq);
  for (let b = 0; b < batch; b++) {
    for (let t = 0; t < seq; t++) {
      const i = b * seq + t;
      ids[i] = t === 0 ? 101 : t === seq - 1 ? 102 : 1000 + ((i * 7919) % 20000);
    }
  }
  return ids;
}

/** Where the sentiment sentences are: tools/data (the repo's copy) or the shared data set. */
function sentimentDataDir() {
  const candidates = [
    path.join(ROOT, 'tools/data/sentiment-uci'),
    '/work/shared/data/datasets/sentiment-uci',
  ];
  const found = candidates.find((dir) => fs.existsSync(path.join(dir, 'imdb_labelled.txt')));
  if (found === undefined) throw new Error(`no sentiment data set in ${candidates.join(' or ')}`);
  return found;
}

const SENTENCE_SEED = 20261122;

/**
 * `count` real sentences of mixed length: the 3,000 of UCI's "Sentiment Labelled Sentences" (Amazon, IMDb, Yelp
 * reviews, 1 to ~70 words), shuffled with a fixed seed; the first `count` of that order.
 */
function loadSentences(count) {
  const dir = sentimentDataDir();
  const all = [];
  for (const file of ['amazon_cells_labelled.txt', 'imdb_labelled.txt', 'yelp_labelled.txt']) {
    for (const line of fs.readFileSync(path.join(dir, file), 'utf8').split('\n')) {
      const tab = line.lastIndexOf('\t');
      if (tab <= 0) continue;
      const text = line.slice(0, tab).trim();
      if (text !== '') all.push(text);
    }
  }
  // The demo data's seeded PRNG: the same sample in every process and run.
  const random = rng(SENTENCE_SEED);
  for (let i = all.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [all[i], all[j]] = [all[j], all[i]];
  }
  if (count > all.length) throw new Error(`asked for ${count} sentences; the data set has ${all.length}`);
  return { sentences: all.slice(0, count), source: dir };
}

function quantile(sorted, q) {
  if (sorted.length === 0) return NaN;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

/** Median, p95, min/max and the interquartile range of `values` (linear interpolation between ranks). */
function stats(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mean = sorted.reduce((a, b) => a + b, 0) / Math.max(1, sorted.length);
  return {
    n: sorted.length,
    median: quantile(sorted, 0.5),
    p95: quantile(sorted, 0.95),
    q1: quantile(sorted, 0.25),
    q3: quantile(sorted, 0.75),
    min: sorted[0] ?? NaN,
    max: sorted[sorted.length - 1] ?? NaN,
    mean,
  };
}

/** Peak resident set size of this process so far, in MB (getrusage ru_maxrss). */
function peakRssMb() {
  return process.resourceUsage().maxRSS / 1024;
}

/** Native shared objects this process has mapped whose path matches `pattern` (e.g. to prove WASM runs alone). */
function mappedLibraries(pattern) {
  try {
    const maps = fs.readFileSync('/proc/self/maps', 'utf8');
    const found = new Set();
    for (const line of maps.split('\n')) {
      const file = line.slice(line.indexOf('/'));
      if (line.includes('/') && pattern.test(file)) found.add(path.basename(file));
    }
    return [...found].sort();
  } catch {
    return [];
  }
}

/** Reads the job a contender process was given (--job FILE) and returns it with a `finish(result)` writer. */
function readJob() {
  const index = process.argv.indexOf('--job');
  if (index < 0 || process.argv[index + 1] === undefined) {
    throw new Error(`usage: ${path.basename(process.argv[1])} --job JOB.json`);
  }
  const job = JSON.parse(fs.readFileSync(process.argv[index + 1], 'utf8'));
  const finish = (result) => {
    const cpu = process.cpuUsage();
    const full = {
      ...result,
      peakRssMb: peakRssMb(),
      cpuSeconds: (cpu.user + cpu.system) / 1e6,
      pid: process.pid,
    };
    fs.writeFileSync(job.out, JSON.stringify(full, null, 2));
  };
  return { job, finish };
}

/** Runs `main` and exits with its outcome; native sessions or worker threads may keep the loop alive. */
function runMain(main) {
  main().then(
    () => process.exit(0),
    (error) => {
      process.stderr.write(`${error && error.stack ? error.stack : String(error)}\n`);
      process.exit(1);
    },
  );
}

/** Values kept from each output for the same-answers table: every step-th value, step = floor(length / SAMPLE). */
const PROBE_SAMPLE = 2048;

/**
 * A few values from an output, to compare contenders (same weights and inputs must give the same numbers): the
 * first 4 of the first and of the last row, the mean |x|, and a strided sample (bench/contenders/python_torch.py
 * has the twin) from which bench/run.js computes each contender's deviation from the fp32 reference.
 */
function probe(data, dims) {
  const last = data.length;
  const width = dims[dims.length - 1] ?? 1;
  const pick = (start) => Array.from(data.subarray(start, Math.min(start + 4, last)), Number);
  let sumAbs = 0;
  for (let i = 0; i < last; i++) sumAbs += Math.abs(data[i]);
  const step = Math.max(1, Math.floor(last / PROBE_SAMPLE));
  const sample = [];
  for (let i = 0; i < last && sample.length < PROBE_SAMPLE; i += step) sample.push(Number(data[i]));
  return {
    first: pick(0),
    last: pick(Math.max(0, last - width)),
    meanAbs: sumAbs / last,
    dims: [...dims],
    sample,
  };
}

/** Times `fn` `warmup + runs` times; returns the timed runs in ms. */
async function timeRuns(fn, { warmup, runs }) {
  for (let i = 0; i < warmup; i++) await fn();
  const times = [];
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    await fn();
    times.push(performance.now() - start);
  }
  return times;
}

/**
 * The concurrency scenario: every text issued at once as a single-text call, `rounds` times after `warmupRounds`;
 * per-request latency from issue to result, and each round's wall time.
 */
async function concurrentRounds(classify, texts, { warmupRounds, rounds }) {
  const latenciesMs = [];
  const roundsMs = [];
  for (let r = 0; r < warmupRounds + rounds; r++) {
    const start = performance.now();
    const perRequest = await Promise.all(
      texts.map(async (text) => {
        const issued = performance.now();
        await classify(text);
        return performance.now() - issued;
      }),
    );
    const wall = performance.now() - start;
    if (r >= warmupRounds) {
      latenciesMs.push(...perRequest);
      roundsMs.push(wall);
    }
  }
  return { latenciesMs, roundsMs, requestsPerSecond: roundsMs.map((ms) => (texts.length * 1000) / ms) };
}

module.exports = {
  ROOT,
  concurrentRounds,
  latencyIds,
  loadSentences,
  stats,
  peakRssMb,
  mappedLibraries,
  readJob,
  runMain,
  probe,
  PROBE_SAMPLE,
  timeRuns,
  sentimentDataDir,
};
