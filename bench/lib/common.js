// Shared by bench/run.js and the contender processes: inputs, sentences, statistics, result files.
'use strict';

const { createHash } = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const zlib = require('node:zlib');
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

const EMBEDDING_SEED = 20261201;
/** Sentences of more words are left out: every sample sentence must fit the model's 256 tokens untruncated, since
 * transformers.js truncates differently (it drops the final [SEP]) and the answers are compared. */
const EMBEDDING_MAX_WORDS = 80;
const EMBEDDING_MIN_WORDS = 3;

/**
 * A cut after ., ! or ? followed by white space and an upper-case letter, digit, quote or bracket (the rule of
 * tools/prepare_demo_data.js's splitSentences, kept here so that the benchmark sample does not move when the demo
 * data code changes).
 */
function splitSentences(text) {
  const out = [];
  const boundary = /[.!?]["')\]]*\s+(?=["'([A-Z0-9])/g;
  let from = 0;
  for (let match; (match = boundary.exec(text)) !== null;) {
    out.push(text.slice(from, match.index + match[0].trimEnd().length));
    from = match.index + match[0].length;
  }
  out.push(text.slice(from));
  return out.map((sentence) => sentence.trim()).filter((sentence) => sentence !== '');
}

/** Every candidate sentence of one source, deduplicated, in file order. */
const EMBEDDING_SOURCES = {
  'squad-v1.1': {
    files: ['tools/data/squad-v1.1/dev-v1.1.json.gz'],
    what: 'SQuAD v1.1 dev contexts (48 Wikipedia articles) split into sentences',
    read() {
      const file = path.join(ROOT, this.files[0]);
      const { data } = JSON.parse(zlib.gunzipSync(fs.readFileSync(file)).toString('utf8'));
      return data.flatMap((article) => article.paragraphs.flatMap((p) => splitSentences(p.context)));
    },
  },
  'sentiment-uci': {
    files: ['amazon_cells_labelled.txt', 'imdb_labelled.txt', 'yelp_labelled.txt'].map(
      (name) => `tools/data/sentiment-uci/${name}`,
    ),
    what: 'UCI Sentiment Labelled Sentences (Amazon, IMDb, Yelp review sentences; labels dropped)',
    read() {
      return this.files.flatMap((file) =>
        fs
          .readFileSync(path.join(ROOT, file), 'utf8')
          .split('\n')
          .filter((line) => line.lastIndexOf('\t') > 0)
          .map((line) => line.slice(0, line.lastIndexOf('\t')).trim()),
      );
    },
  },
  wnut17: {
    files: ['wnut17train.conll', 'emerging.dev.conll', 'emerging.test.annotated'].map(
      (name) => `tools/data/wnut17/${name}`,
    ),
    what: 'WNUT-17 tweets and Reddit comments (train, dev and test; their tokens joined by spaces)',
    read() {
      const sentences = [];
      for (const file of this.files) {
        let words = [];
        for (const line of fs.readFileSync(path.join(ROOT, file), 'utf8').split('\n')) {
          const word = line.replace(/\r$/, '').split('\t')[0].trim();
          if (word !== '') {
            words.push(word);
            continue;
          }
          if (words.length > 0) sentences.push(words.join(' '));
          words = [];
        }
        if (words.length > 0) sentences.push(words.join(' '));
      }
      return sentences;
    },
  },
};

function shuffle(items, random) {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [items[i], items[j]] = [items[j], items[i]];
  }
  return items;
}

/**
 * `count` real sentences for the embeddings scenario, the same in every process and run: an equal share (the
 * remainder to the first sources) from each of SQuAD v1.1 contexts, UCI sentiment sentences and WNUT-17, each
 * source's deduplicated sentences of EMBEDDING_MIN_WORDS to EMBEDDING_MAX_WORDS words shuffled with a fixed seed,
 * then the sample shuffled so that sources and lengths mix. Returns the sentences and a record of how they were
 * drawn (sources, files, pool sizes, counts, seed, the sample's sha256).
 */
function loadEmbeddingSentences(count) {
  const names = Object.keys(EMBEDDING_SOURCES);
  const random = rng(EMBEDDING_SEED);
  const sample = [];
  const sources = [];
  const seen = new Set();
  names.forEach((name, index) => {
    const source = EMBEDDING_SOURCES[name];
    const pool = [];
    for (const sentence of source.read()) {
      const words = sentence.split(/\s+/).length;
      const key = sentence.toLowerCase();
      if (words < EMBEDDING_MIN_WORDS || words > EMBEDDING_MAX_WORDS || seen.has(key)) continue;
      seen.add(key);
      pool.push(sentence);
    }
    const share = Math.floor(count / names.length) + (index < count % names.length ? 1 : 0);
    if (share > pool.length) throw new Error(`${name}: asked for ${share} sentences, it has ${pool.length}`);
    sample.push(...shuffle(pool, random).slice(0, share));
    sources.push({ name, what: source.what, files: source.files, candidates: pool.length, taken: share });
  });
  shuffle(sample, random);
  const sha256 = createHash('sha256').update(sample.join('\n')).digest('hex');
  return {
    sentences: sample,
    record: {
      count: sample.length,
      seed: EMBEDDING_SEED,
      words: { min: EMBEDDING_MIN_WORDS, max: EMBEDDING_MAX_WORDS },
      sources,
      sha256,
      drawnBy: 'bench/lib/common.js loadEmbeddingSentences',
    },
  };
}

/** Writes a [rows, width] float32 matrix beside the job's result (JSON would multiply its size by ~5). */
function writeMatrix(file, vectors) {
  const width = vectors[0]?.length ?? 0;
  const matrix = new Float32Array(vectors.length * width);
  vectors.forEach((vector, i) => {
    if (vector.length !== width) throw new Error(`vector ${i} has ${vector.length} values, not ${width}`);
    matrix.set(vector, i * width);
  });
  fs.writeFileSync(file, Buffer.from(matrix.buffer, matrix.byteOffset, matrix.byteLength));
  return { file, rows: vectors.length, width };
}

/** Reads what writeMatrix wrote: one Float32Array per row. */
function readMatrix({ file, rows, width }) {
  const bytes = fs.readFileSync(file);
  const all = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
  if (all.length !== rows * width)
    throw new Error(`${file}: ${all.length} values, expected ${rows} x ${width}`);
  return Array.from({ length: rows }, (_, i) => all.subarray(i * width, (i + 1) * width));
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

/**
 * The embeddings scenario, the same for every contender: `warmupCount` sentences in batches and a few single
 * requests to warm up, then `rounds` times (1) every sentence in batches of job.batchSize, timed whole
 * (sentences/s), and (2) the first `latencyCount` sentences one request at a time, each awaited before the next
 * (per-request latency; that round's median and p95). `batch(texts)` resolves to one vector per text in input order,
 * `single(text)` to one vector. The vectors of the last batched pass are written beside job.out for bench/run.js's
 * same-answers check.
 */
async function embeddingRounds({ batch, single }, sentences, job) {
  const latencyTexts = sentences.slice(0, job.latencyCount);
  await batch(sentences.slice(0, job.warmupCount));
  for (const text of latencyTexts.slice(0, 8)) await single(text);
  const roundsMs = [];
  const latencyRunsMs = [];
  let vectors;
  for (let r = 0; r < job.rounds; r++) {
    const start = performance.now();
    vectors = await batch(sentences);
    roundsMs.push(performance.now() - start);
    const latencies = [];
    for (const text of latencyTexts) {
      const issued = performance.now();
      await single(text);
      latencies.push(performance.now() - issued);
    }
    latencyRunsMs.push(latencies);
  }
  if (vectors.length !== sentences.length) {
    throw new Error(`${vectors.length} vectors for ${sentences.length} sentences`);
  }
  return {
    roundsMs,
    textsPerSecond: roundsMs.map((ms) => (sentences.length * 1000) / ms),
    latencyRunsMs,
    latencyMedianMs: latencyRunsMs.map((run) => stats(run).median),
    latencyP95Ms: latencyRunsMs.map((run) => stats(run).p95),
    embeddings: writeMatrix(`${job.out}.f32`, vectors),
  };
}

module.exports = {
  ROOT,
  concurrentRounds,
  embeddingRounds,
  latencyIds,
  loadSentences,
  loadEmbeddingSentences,
  readMatrix,
  writeMatrix,
  stats,
  peakRssMb,
  mappedLibraries,
  readJob,
  runMain,
  probe,
  PROBE_SAMPLE,
  timeRuns,
  sentimentDataDir,
  quantile,
};
