// One benchmark scenario for transformers.js (@huggingface/transformers), in a process of its own so that its peak
// RSS is its own. job.backend:
//   'node'  onnxruntime-node (native CPU execution provider), device 'cpu', dtype job.dtype ('fp32' by default:
//           onnx/model.onnx; 'q8': onnx/model_quantized.onnx, the int8 file),
//           session_options { intraOpNumThreads: threads, interOpNumThreads: 1 }
//   'wasm'  onnxruntime-web's WebAssembly build (SIMD, threads = job.threads via worker threads), no native code:
//           onnxruntime-node and sharp are stubbed out before transformers.js loads (it requires both at import
//           time), and onnxruntime-web is handed to it through globalThis[Symbol.for('onnxruntime')], the route
//           /work/shared/NOTES.md measured. The result lists the native .node/.so files mapped, to show none of
//           onnxruntime-node's is.
// Models are local directories (config.json, tokenizer.json, tokenizer_config.json, onnx/model.onnx); no network.
'use strict';

const fs = require('node:fs');
const Module = require('node:module');
const path = require('node:path');
const common = require('../lib/common');

const { job, finish } = common.readJob();
// transformers.js and onnxruntime log to stdout; bench/run.js only reads job.out, but keep stdout quiet anyway.
console.log = console.info = console.debug = (...args) => console.error(...args);

const STUBBED = new Set(['onnxruntime-node', 'sharp']);

async function loadTransformers() {
  if (job.backend === 'wasm') {
    const originalLoad = Module._load;
    Module._load = function load(request, parent, isMain) {
      if (STUBBED.has(request)) return {}; // transformers.js only needs them for the 'cpu' device and images
      return originalLoad.call(this, request, parent, isMain);
    };
    const ort = await import('onnxruntime-web');
    // onnxruntime-web's node entry is <package>/dist/ort.node.min.js; its .wasm and .mjs files sit beside it.
    ort.env.wasm.wasmPaths = path.dirname(require.resolve('onnxruntime-web')) + path.sep;
    ort.env.wasm.numThreads = job.threads;
    globalThis[Symbol.for('onnxruntime')] = ort;
  }
  const transformers = require('@huggingface/transformers');
  transformers.env.allowRemoteModels = false;
  transformers.env.allowLocalModels = true;
  return transformers;
}

function modelOptions() {
  if (job.backend === 'wasm') {
    return { device: 'auto', dtype: 'fp32', session_options: { executionProviders: ['wasm'] } };
  }
  return {
    device: 'cpu',
    dtype: job.dtype ?? 'fp32',
    session_options: { intraOpNumThreads: job.threads, interOpNumThreads: 1 },
  };
}

/** Points transformers.js at the model directory's parent and returns the folder name to load. */
function localModel(env, dir) {
  env.localModelPath = path.dirname(path.resolve(dir)) + path.sep;
  return path.basename(dir);
}

async function latency(t) {
  const loadStart = performance.now();
  const model = await t.AutoModel.from_pretrained(localModel(t.env, job.modelDir), modelOptions());
  const loadMs = performance.now() - loadStart;
  const { batch, seq } = job;
  const tensor = (values) =>
    new t.Tensor(
      'int64',
      BigInt64Array.from(values, (v) => BigInt(v)),
      [batch, seq],
    );
  const inputs = {
    input_ids: tensor(common.latencyIds(batch, seq)),
    attention_mask: tensor(new Array(batch * seq).fill(1)),
    token_type_ids: tensor(new Array(batch * seq).fill(0)),
  };
  let outputs;
  const firstStart = performance.now();
  outputs = await model(inputs);
  const firstMs = performance.now() - firstStart;
  const times = await common.timeRuns(
    async () => {
      outputs = await model(inputs);
    },
    { warmup: Math.max(0, job.warmup - 1), runs: job.runs },
  );
  const hidden = outputs.last_hidden_state;
  const result = { loadMs, firstMs, timesMs: times, probe: common.probe(hidden.data, hidden.dims) };
  await model.dispose();
  return result;
}

async function throughput(t) {
  const { sentences } = common.loadSentences(job.count);
  const loadStart = performance.now();
  const classify = await t.pipeline('text-classification', localModel(t.env, job.modelDir), modelOptions());
  const loadMs = performance.now() - loadStart;
  // transformers.js pads whatever it is given to its longest member: calls of batchSize texts, in input order.
  const run = async (texts) => {
    const labels = [];
    for (let i = 0; i < texts.length; i += job.batchSize) {
      const out = await classify(texts.slice(i, i + job.batchSize));
      labels.push(...out.map((r) => (Array.isArray(r) ? r[0] : r).label));
    }
    return labels;
  };
  await run(sentences.slice(0, job.warmupCount));
  const rounds = [];
  let predictions;
  for (let r = 0; r < job.rounds; r++) {
    const start = performance.now();
    predictions = await run(sentences);
    rounds.push(performance.now() - start);
  }
  await classify.dispose();
  return {
    loadMs,
    roundsMs: rounds,
    textsPerSecond: rounds.map((ms) => (sentences.length * 1000) / ms),
    predictions,
  };
}

async function concurrency(t) {
  const { sentences } = common.loadSentences(job.count);
  const loadStart = performance.now();
  const task = job.task ?? 'text-classification';
  const pipe = await t.pipeline(task, localModel(t.env, job.modelDir), modelOptions());
  const loadMs = performance.now() - loadStart;
  // Embeddings: mean pooling and L2 normalisation, as torch-encoders' feature-extraction pipeline is set up.
  const call =
    task === 'feature-extraction'
      ? (text) => pipe(text, { pooling: 'mean', normalize: true })
      : (text) => pipe(text);
  const measured = await common.concurrentRounds(call, sentences, job);
  await pipe.dispose();
  return { loadMs, ...measured };
}

/**
 * Sentence embeddings as torch-encoders' embeddings scenario: the feature-extraction pipeline with mean pooling and
 * normalize, on consecutive chunks of job.batchSize in input order (it pads a call to its longest member), or with
 * job.sortByLength the chunks of the sentences ordered by character length (done inside the timed call, as a user
 * would), the vectors put back in input order.
 */
async function embeddings(t) {
  const { sentences, record } = common.loadEmbeddingSentences(job.count);
  const loadStart = performance.now();
  const pipe = await t.pipeline('feature-extraction', localModel(t.env, job.modelDir), modelOptions());
  const loadMs = performance.now() - loadStart;
  const options = { pooling: 'mean', normalize: true };
  const batch = async (texts) => {
    const order = [...texts.keys()];
    if (job.sortByLength) order.sort((a, b) => texts[a].length - texts[b].length);
    const vectors = new Array(texts.length);
    for (let i = 0; i < order.length; i += job.batchSize) {
      const chunk = order.slice(i, i + job.batchSize);
      const tensor = await pipe(
        chunk.map((index) => texts[index]),
        options,
      );
      const width = tensor.dims[tensor.dims.length - 1];
      chunk.forEach((index, k) => {
        vectors[index] = tensor.data.slice(k * width, (k + 1) * width);
      });
    }
    return vectors;
  };
  const measured = await common.embeddingRounds(
    { batch, single: async (text) => (await pipe(text, options)).data },
    sentences,
    job,
  );
  const tokens = sentences.map((text) => pipe.tokenizer.encode(text).length);
  await pipe.dispose();
  return { loadMs, ...measured, sentences: record, tokenLengths: common.stats(tokens) };
}

/** The version of package `name` as resolved from `from` (read from disk: some packages do not export it). */
function packageVersion(name, from) {
  let dir = path.dirname(require.resolve(name, { paths: [from] }));
  while (dir !== path.dirname(dir)) {
    const file = path.join(dir, 'package.json');
    if (fs.existsSync(file)) {
      const pkg = JSON.parse(fs.readFileSync(file, 'utf8'));
      if (pkg.name === name) return pkg.version;
    }
    dir = path.dirname(dir);
  }
  return 'unknown';
}

const SCENARIOS = { latency, throughput, concurrency, embeddings };

common.runMain(async () => {
  const run = SCENARIOS[job.scenario];
  if (run === undefined) throw new Error(`transformers-js: unknown scenario ${job.scenario}`);
  const t = await loadTransformers();
  const result = await run(t);
  const transformersDir = path.dirname(require.resolve('@huggingface/transformers'));
  const ortVersion = packageVersion(
    job.backend === 'wasm' ? 'onnxruntime-web' : 'onnxruntime-node',
    transformersDir,
  );
  finish({
    ...result,
    backend: job.backend,
    dtype: job.dtype ?? 'fp32',
    nativeLibraries: common.mappedLibraries(/onnxruntime|sharp|\.node$/),
    versions: {
      transformers: packageVersion('@huggingface/transformers', __dirname),
      onnxruntime: ortVersion,
      node: process.version,
    },
  });
});
