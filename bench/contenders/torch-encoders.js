// One benchmark scenario for torch-encoders (fp32 or int8: the job's model directory decides), in a process of its
// own so that its peak RSS is its own. Uses the compiled library (../../dist/lib): run `npm run build:ts` first.
//
//   node bench/contenders/torch-encoders.js --job JOB.json     (bench/run.js writes the job and reads job.out)
'use strict';

const { Model, pipeline, normalize, libtorchVersion, buildInfo } = require('../../dist/lib');
// Internal pieces the pipelines use, timed one by one for the Node-side share (not part of the public API).
const { padSequences, splitRows } = require('../../dist/lib/batching');
const { pickOutputs } = require('../../dist/lib/forwarder');
const HIDDEN_STATES = { hidden: { names: ['last_hidden_state'], position: 0, perToken: true } };
const { pool } = require('../../dist/lib/tasks/pooling');
const common = require('../lib/common');

const { job, finish } = common.readJob();

function bigints(values) {
  return BigInt64Array.from(values, (v) => BigInt(v));
}

async function latency() {
  const loadStart = performance.now();
  const model = await Model.load(job.modelDir, { threads: job.threads });
  const loadMs = performance.now() - loadStart;
  const { batch, seq } = job;
  const inputs = {
    input_ids: bigints(common.latencyIds(batch, seq)),
    attention_mask: new BigInt64Array(batch * seq).fill(1n),
    token_type_ids: new BigInt64Array(batch * seq),
  };
  let outputs;
  const firstStart = performance.now();
  outputs = await model.forward(inputs, [batch, seq]);
  const firstMs = performance.now() - firstStart;
  const times = await common.timeRuns(
    async () => {
      outputs = await model.forward(inputs, [batch, seq]);
    },
    { warmup: Math.max(0, job.warmup - 1), runs: job.runs },
  );
  const hidden = outputs.last_hidden_state ?? outputs.output_0;
  await model.dispose();
  return { loadMs, firstMs, timesMs: times, probe: common.probe(hidden.data, hidden.dims) };
}

async function throughput() {
  const { sentences } = common.loadSentences(job.count);
  const loadStart = performance.now();
  const classify = await pipeline('text-classification', job.modelDir, {
    threads: job.threads,
    ...(job.workers ? { workers: job.workers } : {}),
  });
  const loadMs = performance.now() - loadStart;
  await classify(sentences.slice(0, job.warmupCount), { batchSize: job.batchSize });
  const rounds = [];
  let results;
  for (let r = 0; r < job.rounds; r++) {
    const start = performance.now();
    results = await classify(sentences, { batchSize: job.batchSize });
    rounds.push(performance.now() - start);
  }
  const encodings = await classify.model.tokenizer.encodeBatch(sentences);
  const tokens = encodings.map((e) => e.ids.length);
  const workers = classify.model.workers;
  await classify.dispose();
  return {
    loadMs,
    workers,
    roundsMs: rounds,
    textsPerSecond: rounds.map((ms) => (sentences.length * 1000) / ms),
    tokenLengths: common.stats(tokens),
    predictions: results.map((r) => r[0].label),
  };
}

async function concurrency() {
  const { sentences } = common.loadSentences(job.count);
  const loadStart = performance.now();
  const task = job.task ?? 'text-classification';
  const classify = await pipeline(task, job.modelDir, {
    threads: job.threads,
    ...(job.workers ? { workers: job.workers } : {}),
    ...(job.dynamicBatching ? { dynamicBatching: true } : {}),
    ...(task === 'feature-extraction' ? { pooling: 'mean', normalize: true } : {}),
  });
  const loadMs = performance.now() - loadStart;
  const measured = await common.concurrentRounds(classify, sentences, job);
  const workers = classify.model.workers;
  await classify.dispose();
  return { loadMs, workers, ...measured };
}

/**
 * Sentence embeddings (mean pooling, L2 normalisation) of real sentences: throughput in batches of job.batchSize
 * (one call; the pipeline sorts by length and pads each batch to its own longest) and single-request latency
 * (bench/lib/common.js embeddingRounds).
 */
async function embeddings() {
  const { sentences, record } = common.loadEmbeddingSentences(job.count);
  const loadStart = performance.now();
  const embed = await pipeline('feature-extraction', job.modelDir, {
    threads: job.threads,
    ...(job.workers ? { workers: job.workers } : {}),
  });
  const loadMs = performance.now() - loadStart;
  const options = { pooling: 'mean', normalize: true };
  const measured = await common.embeddingRounds(
    {
      batch: async (texts) =>
        (await embed(texts, { ...options, batchSize: job.batchSize })).map((vector) => vector.data),
      single: async (text) => (await embed(text, options)).data,
    },
    sentences,
    job,
  );
  // Untruncated lengths: a sentence longer than the model's maximum would be cut, differently by each library.
  const encodings = await embed.model.tokenizer.encodeBatch(sentences, { maxLength: 4096 });
  const workers = embed.model.workers;
  await embed.dispose();
  return {
    loadMs,
    workers,
    ...measured,
    sentences: record,
    tokenLengths: common.stats(encodings.map((e) => e.ids.length)),
  };
}

/**
 * The Node-side share at b1 x s128, end to end from a string: tokenize (TextTokenizer.encodeBatch), marshal
 * (padSequences: padding into int64 typed arrays), native forward (Model.forward), post-process (splitRows, mean
 * pooling, L2 normalisation: what the feature-extraction pipeline does). Timed piece by piece, and the whole
 * feature-extraction pipeline call on the same text separately.
 */
async function breakdown() {
  const model = await Model.load(job.modelDir, { threads: job.threads });
  const tokenizer = model.tokenizer;
  const maxLength = job.seq;
  // Sentences of the data set joined until the text reaches seq tokens, so that truncation cuts at most a few.
  const { sentences } = common.loadSentences(200);
  let text = '';
  for (const sentence of sentences) {
    text = text === '' ? sentence : `${text} ${sentence}`;
    const [encoding] = await tokenizer.encodeBatch([text], { maxLength: 4 * maxLength });
    if (encoding.ids.length >= maxLength) break;
  }
  const [full] = await tokenizer.encodeBatch([text], { maxLength: 4 * maxLength });
  const parts = { tokenizeMs: [], marshalMs: [], forwardMs: [], postprocessMs: [], sumMs: [] };
  let dims;
  const once = async (record) => {
    const t0 = performance.now();
    const encodings = await tokenizer.encodeBatch([text], { maxLength });
    const t1 = performance.now();
    const padded = padSequences(encodings, tokenizer.padTokenId, model.inputNames);
    const t2 = performance.now();
    const outputs = await model.forward(padded.inputs, padded.dims);
    const t3 = performance.now();
    const picked = pickOutputs(outputs, HIDDEN_STATES, padded.dims, 'bench');
    const [{ hidden }] = splitRows(picked, [encodings[0].ids.length], new Set(['hidden']));
    const [vector] = pool(hidden.data, [1, ...hidden.dims], encodings[0].attentionMask, 'mean');
    normalize(vector);
    const t4 = performance.now();
    dims = padded.dims;
    if (record) {
      parts.tokenizeMs.push(t1 - t0);
      parts.marshalMs.push(t2 - t1);
      parts.forwardMs.push(t3 - t2);
      parts.postprocessMs.push(t4 - t3);
      parts.sumMs.push(t4 - t0);
    }
  };
  for (let i = 0; i < job.warmup; i++) await once(false);
  for (let i = 0; i < job.runs; i++) await once(true);
  await model.dispose();

  // The public pipeline on the same text, as a user calls it. It loads the model again, and a second instance of
  // the same weights can run at another speed (as a second process can), so its own forwards are timed too: what
  // the call takes beyond them is the pipeline's Node-side work.
  const embed = await pipeline('feature-extraction', job.modelDir, {
    threads: job.threads,
    maxLength,
    pooling: 'mean',
    normalize: true,
  });
  const forward = embed.model.forward.bind(embed.model);
  let forwardMsOfCall = 0;
  embed.model.forward = async (...args) => {
    const start = performance.now();
    try {
      return await forward(...args);
    } finally {
      forwardMsOfCall += performance.now() - start;
    }
  };
  const pipelineMs = [];
  const pipelineForwardMs = [];
  for (let i = 0; i < job.warmup + job.runs; i++) {
    forwardMsOfCall = 0;
    const start = performance.now();
    await embed(text);
    if (i >= job.warmup) {
      pipelineMs.push(performance.now() - start);
      pipelineForwardMs.push(forwardMsOfCall);
    }
  }
  await embed.dispose();
  return {
    dims,
    untruncatedTokens: full.ids.length,
    textLength: text.length,
    parts,
    pipelineMs,
    pipelineForwardMs,
  };
}

/** Held-out accuracy of the demo sentiment model, fp32 (job.modelDir) against int8 (job.int8Dir). */
async function accuracy() {
  // The 300 held-out sentences of the demo model card (tools/evaluate_demo.js): the same split code and seed.
  const { loadSplits } = require('../../tools/prepare_demo_data');
  const heldOut = loadSplits().sentiment.heldOut;
  const gold = heldOut.map((row) => (row.label === 1 ? 'positive' : 'negative'));
  const measure = async (dir) => {
    const classify = await pipeline('text-classification', dir, { threads: job.threads });
    const predicted = (await classify(heldOut.map((row) => row.text))).map((result) => result[0].label);
    await classify.dispose();
    return { predicted, correct: predicted.filter((label, i) => label === gold[i]).length };
  };
  const fp32 = await measure(job.modelDir);
  const int8 = await measure(job.int8Dir);
  return {
    sentences: heldOut.length,
    fp32Accuracy: fp32.correct / heldOut.length,
    int8Accuracy: int8.correct / heldOut.length,
    sameLabel: fp32.predicted.filter((label, i) => label === int8.predicted[i]).length / heldOut.length,
  };
}

const SCENARIOS = { latency, throughput, concurrency, breakdown, accuracy, embeddings };

common.runMain(async () => {
  const run = SCENARIOS[job.scenario];
  if (run === undefined) throw new Error(`torch-encoders: unknown scenario ${job.scenario}`);
  const result = await run();
  const info = buildInfo();
  finish({
    ...result,
    versions: { libtorch: libtorchVersion(), blas: info.blas.name, node: process.version },
    // What the library says of the machine and runtime (the CPU model in the results; the MKL vendor override).
    buildInfo: {
      runtime: info.runtime,
      cpu: info.cpu,
      mklCpuOverride: info.mklCpuOverride,
    },
  });
});
