// Child process for test/reliability/soak.test.ts: CALLS pipeline calls over the four tasks on the
// test fixtures, in waves of concurrent calls, and one JSON line of what it saw. Run with
// --expose-gc: RSS is sampled after a full collection, so that garbage V8 has not yet collected
// (and the native tensors its ArrayBuffers still hold) does not count as growth.
//
//   node --expose-gc soak.cjs LIB_INDEX_JS FIXTURES_DIR CALLS SEED
'use strict';

const path = require('node:path');
const { rng } = require('../../../tools/seeded_random');

const [libJs, fixtures, callsArg, seedArg] = process.argv.slice(2);
const { pipeline } = require(libJs);

const CALLS = Number(callsArg);
/**
 * Calls before the RSS baseline: pipelines, tokenizers and allocator caches reach their size. With
 * one glibc arena, RSS still rose over calls 1,000-2,500 of a 20,000-call run (405 -> 414 MiB) and
 * moved within a few MiB after that (414 -> 419 MiB by 20,000).
 */
const WARMUP = Math.min(2000, Math.floor(CALLS / 5));
/**
 * RSS at each end is the lowest sample of this many calls (4 samples): a single sample moved by up
 * to 7 MiB from one to the next (412 -> 405 MiB), as much as the growth being measured.
 */
const WINDOW_CALLS = 1000;
/** Calls issued together (Promise.allSettled); dynamic batching groups the rows of a wave. */
const WAVE = 10;
const SAMPLE_EVERY = 250;
const random = rng(Number(seedArg));
const pick = (list) => list[Math.floor(random() * list.length)];
const between = (lo, hi) => lo + Math.floor(random() * (hi - lo + 1));

const WORDS = (
  'the a of and in river bank film was good bad terrible wonderful Paris London Marie Curie Ada ' +
  'Lovelace Berlin worked lived near quickly slowly unbelievably photosynthesis antidisestablishmentarianism ' +
  'caf\u00e9 na\u00efve \u00fcber 2024 3.14 ! ? , . ( ) "quoted" emoji-\u{1F600} \u4e2d\u6587 \u0645\u0631\u062d\u0628\u0627'
).split(' ');
const sentence = (words) => Array.from({ length: words }, () => pick(WORDS)).join(' ');

// A fixed pool, so that the same input comes back many times and its outputs can be compared:
// short texts, and long ones past the fixtures' 128 tokens (truncated, or windowed by
// token-classification and question-answering).
const SHORT = Array.from({ length: 160 }, () => sentence(between(1, 20)));
const LONG = Array.from({ length: 40 }, () => sentence(between(90, 200)));
const TEXTS = [...SHORT, ...LONG];
const QUESTIONS = Array.from({ length: 100 }, (_, i) => ({
  question: sentence(between(2, 12)) + '?',
  context: i % 4 === 0 ? pick(LONG) : pick(SHORT) + ' ' + pick(SHORT),
}));

const isFiniteScore = (x) => typeof x === 'number' && Number.isFinite(x) && x >= 0 && x <= 1 + 1e-6;

// Per task: its fixture, the call options, an input, whether a result has the right shape, and a
// fingerprint of the result that must be the same (to rounding) whenever the same input returns:
// alone or in an array, with or without dynamic batching, padded beside whatever else.
const TASKS = {
  'text-classification': {
    dir: 'sequence-classification',
    options: { topK: null },
    input: () => between(0, TEXTS.length - 1),
    value: (i) => TEXTS[i],
    valid: (labels) =>
      Array.isArray(labels) &&
      labels.length > 1 &&
      labels.every((l) => typeof l.label === 'string' && isFiniteScore(l.score)),
    fingerprint: (labels) => [...labels].sort((a, b) => (a.label < b.label ? -1 : 1)).map((l) => l.score),
  },
  'token-classification': {
    dir: 'token-classification',
    options: {},
    input: () => between(0, TEXTS.length - 1),
    value: (i) => TEXTS[i],
    valid: (entities) =>
      Array.isArray(entities) &&
      entities.every((e) => typeof e.entity === 'string' && isFiniteScore(e.score) && e.end >= e.start),
    // Labels of near-tied tokens can flip with rounding on random weights: shape only.
    fingerprint: null,
  },
  'question-answering': {
    dir: 'question-answering',
    options: {},
    input: () => between(0, QUESTIONS.length - 1),
    value: (i) => QUESTIONS[i],
    valid: (answers) =>
      Array.isArray(answers) &&
      answers.length === 1 &&
      typeof answers[0].answer === 'string' &&
      isFiniteScore(answers[0].score),
    fingerprint: (answers) => [answers[0].score],
  },
  'feature-extraction': {
    dir: 'base',
    options: {},
    input: () => between(0, TEXTS.length - 1),
    value: (i) => TEXTS[i],
    valid: (tensor) =>
      tensor !== null &&
      ArrayBuffer.isView(tensor.data) &&
      tensor.data.length > 0 &&
      tensor.data.every(Number.isFinite),
    fingerprint: (tensor) => Array.from(tensor.data),
  },
};
const TASK_NAMES = Object.keys(TASKS);
const TOLERANCE = 1e-4;

const mb = (bytes) => Math.round((bytes / 2 ** 20) * 10) / 10;

/** RSS after full collections, with V8's share of it (heap, and buffers it tracks). */
function memory() {
  global.gc();
  global.gc();
  const usage = process.memoryUsage();
  return { rssMb: mb(usage.rss), heapUsedMb: mb(usage.heapUsed), externalMb: mb(usage.external) };
}

(async () => {
  const pipelines = {};
  for (const task of TASK_NAMES) {
    const dir = path.join(fixtures, TASKS[task].dir);
    pipelines[task] = {
      plain: await pipeline(task, dir),
      dynamic: await pipeline(task, dir, { dynamicBatching: { maxWaitMs: 2 } }),
    };
  }
  const counts = { fulfilled: 0, aborted: 0, signalled: 0, signalledFulfilled: 0, dynamic: 0, arrays: 0 };
  const byTask = Object.fromEntries(TASK_NAMES.map((t) => [t, 0]));
  const unexpected = [];
  const invalid = [];
  const mismatches = [];
  let compared = 0;
  const seen = new Map();
  const samples = [];

  function check(task, index, result) {
    const spec = TASKS[task];
    if (!spec.valid(result)) {
      invalid.push(`${task} #${index}: ${JSON.stringify(result).slice(0, 200)}`);
      return;
    }
    if (spec.fingerprint === null) return;
    const print = spec.fingerprint(result);
    const key = `${task}|${index}`;
    const first = seen.get(key);
    if (first === undefined) {
      seen.set(key, print);
      return;
    }
    compared++;
    const diff =
      first.length !== print.length ? Infinity : Math.max(...print.map((x, i) => Math.abs(x - first[i])));
    if (!(diff <= TOLERANCE)) mismatches.push(`${task} #${index}: differs by ${diff} from its first result`);
  }

  function call() {
    const task = pick(TASK_NAMES);
    byTask[task]++;
    const spec = TASKS[task];
    const dynamic = random() < 0.4;
    const many = random() < 0.3;
    const indices = many ? Array.from({ length: between(2, 6) }, spec.input) : [spec.input()];
    const inputs = indices.map(spec.value);
    const run = dynamic ? pipelines[task].dynamic : pipelines[task].plain;
    if (dynamic) counts.dynamic++;
    if (many) counts.arrays++;
    // 3% aborted before the call; 12% aborted at a random moment up to 1.5 times the mean wave's
    // duration so far (mid-tokenization, queued, mid-forward, or after it settled: about half
    // finish first), the rest without a signal.
    const roll = random();
    let signal;
    if (roll < 0.03) signal = AbortSignal.abort(new Error('gone before it began'));
    else if (roll < 0.15) {
      const controller = new AbortController();
      const delay = Math.floor(random() * 1.5 * meanWaveMs());
      if (delay === 0) setImmediate(() => controller.abort());
      else setTimeout(() => controller.abort(), delay);
      signal = controller.signal;
    }
    const options = { ...spec.options, ...(signal ? { signal } : {}) };
    if (signal) counts.signalled++;
    return run(many ? inputs : inputs[0], options).then(
      (result) => {
        counts.fulfilled++;
        if (signal) counts.signalledFulfilled++;
        const results = many ? result : [result];
        if (results.length !== indices.length)
          invalid.push(`${task}: ${results.length} results for ${indices.length} inputs`);
        else results.forEach((r, i) => check(task, indices[i], r));
      },
      (error) => {
        if (signal && error && error.code === 'E_ABORTED') counts.aborted++;
        else
          unexpected.push(
            `${task}${signal ? ' (signalled)' : ''}: ${error && error.code} ${error && error.message}`,
          );
      },
    );
  }

  const started = performance.now();
  let warmedAt = null;
  let done = 0;
  const meanWaveMs = () => (done === 0 ? 5 : ((performance.now() - started) * WAVE) / done);
  while (done < CALLS) {
    const wave = Math.min(WAVE, CALLS - done);
    await Promise.all(Array.from({ length: wave }, call));
    done += wave;
    if (done === WARMUP) warmedAt = performance.now();
    if (done >= WARMUP && (done - WARMUP) % SAMPLE_EVERY === 0) samples.push({ calls: done, ...memory() });
  }
  const ended = performance.now();
  const seconds = (ended - started) / 1000;
  const lowest = (list) => Math.min(...list.map((sample) => sample.rssMb));
  const afterWarmup = lowest(samples.filter((s) => s.calls < WARMUP + WINDOW_CALLS));
  const end = lowest(samples.filter((s) => s.calls > done - WINDOW_CALLS));
  for (const task of TASK_NAMES) {
    await pipelines[task].plain.dispose();
    await pipelines[task].dynamic.dispose();
  }
  console.log(
    JSON.stringify({
      calls: done,
      warmupCalls: WARMUP,
      seconds,
      callsPerSecond: done / seconds,
      callsPerSecondAfterWarmup: (done - WARMUP) / ((ended - warmedAt) / 1000),
      ...counts,
      byTask,
      compared,
      unexpected: unexpected.slice(0, 10),
      unexpectedCount: unexpected.length,
      invalid: invalid.slice(0, 10),
      invalidCount: invalid.length,
      mismatches: mismatches.slice(0, 10),
      mismatchCount: mismatches.length,
      rssAfterWarmupMb: afterWarmup,
      rssEndMb: end,
      rssMaxMb: Math.max(...samples.map((s) => s.rssMb)),
      growthPercent: (100 * (end - afterWarmup)) / afterWarmup,
      rssAfterDisposeMb: memory().rssMb,
      samples,
    }),
  );
})().catch((error) => {
  console.error(error);
  process.exit(1);
});
