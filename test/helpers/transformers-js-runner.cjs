#!/usr/bin/env node
// Independent reference: runs @huggingface/transformers (transformers.js 4.x, onnxruntime-node on the CPU) on a
// model directory's onnx/model.onnx, fully offline, and prints what it returns as plain JSON.
//
// Run as a child process (test/helpers/transformers-js.ts does): Jest's vm realm breaks onnxruntime-node's
// typed-array checks, and a child also keeps transformers.js' global `env` and native sessions out of the tests.
//
//   stdin:  one JSON request, or an array of requests (one process start, results in the same order)
//   stdout: one JSON result, or an array of results
//   errors: message (and stack) on stderr, exit code 1; nothing on stdout
//
// Requests ({ task, model: absolute model directory, inputs, options }):
//   text-classification   inputs string[]; options { top_k?: number | null }           (transformers.js default 1)
//   token-classification  inputs string[]; options { aggregation_strategy?: 'none' | 'simple', ignore_labels?: string[] }
//   question-answering    inputs { question, context }[]; options { top_k?: number }   (default 1)
//   feature-extraction    inputs string[]; options { pooling?: 'none' | 'mean' | 'cls', normalize?: boolean }
//   tokenize              inputs string[] | [string, string][]; options { add_special_tokens?, truncation?, max_length? }
//   onnx-forward          inputs { dims, input_ids, attention_mask, token_type_ids? }[] (flat row-major arrays):
//                         runs <model>/onnx/model.onnx with onnxruntime-node directly (no transformers.js).
// Each pipeline is called ONCE with the whole `inputs` array (transformers.js pads the batch), and the result is
// normalised to one entry per input (`outputs[i]` belongs to `inputs[i]`); see transformers-js.ts for the shapes.
'use strict';

const fs = require('node:fs');
const path = require('node:path');
const { createRequire } = require('node:module');

// transformers.js or onnxruntime may log; stdout carries only the JSON result.
console.log = console.info = console.debug = (...args) => console.error(...args);

const THREADS = { intraOpNumThreads: 2, interOpNumThreads: 1 };
const PIPELINE_OPTIONS = { device: 'cpu', dtype: 'fp32', session_options: THREADS };

let transformers; // the module, imported once
const pipelines = new Map(); // `${task}\0${dir}` -> pipeline, reused across the requests of one run
const tokenizers = new Map();
const sessions = new Map();

async function loadTransformers() {
  if (transformers === undefined) {
    transformers = await import('@huggingface/transformers');
    transformers.env.allowRemoteModels = false;
    transformers.env.allowLocalModels = true;
  }
  return transformers;
}

/** Points transformers.js at `dir`'s parent and returns the model name (the folder name) to load. */
function localModel(env, dir) {
  if (typeof dir !== 'string' || !path.isAbsolute(dir)) {
    throw new Error(`request.model must be an absolute model directory, got ${JSON.stringify(dir)}`);
  }
  if (!fs.existsSync(path.join(dir, 'config.json'))) throw new Error(`${dir} has no config.json`);
  env.localModelPath = path.dirname(dir) + path.sep;
  return path.basename(dir);
}

async function getPipeline(task, dir) {
  const key = `${task}\0${dir}`;
  if (!pipelines.has(key)) {
    const { pipeline, env } = await loadTransformers();
    pipelines.set(key, await pipeline(task, localModel(env, dir), PIPELINE_OPTIONS));
  }
  return pipelines.get(key);
}

async function getTokenizer(dir) {
  if (!tokenizers.has(dir)) {
    const { AutoTokenizer, env } = await loadTransformers();
    tokenizers.set(dir, await AutoTokenizer.from_pretrained(localModel(env, dir)));
  }
  return tokenizers.get(dir);
}

/** A transformers.js Tensor as { dims, data: nested arrays }; bigint values become numbers. */
function tensorToJson(tensor) {
  return { dims: [...tensor.dims], type: tensor.type, data: toPlain(tensor.tolist()) };
}

function toPlain(value) {
  if (typeof value === 'bigint') return Number(value);
  if (Array.isArray(value)) return value.map(toPlain);
  if (ArrayBuffer.isView(value)) return Array.from(value, toPlain);
  if (value !== null && typeof value === 'object') {
    if (typeof value.tolist === 'function' && Array.isArray(value.dims)) return tensorToJson(value);
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, toPlain(v)]));
  }
  return value;
}

function expectStrings(inputs, task) {
  if (!Array.isArray(inputs) || inputs.length === 0 || !inputs.every((x) => typeof x === 'string')) {
    throw new Error(`${task}: inputs must be a non-empty string[]`);
  }
}

/** Called with an array, transformers.js returns one object per input when top_k is 1 (its default) and one
 * array per input otherwise. Normalised here to one array per input either way. */
function perInputArrays(raw, topK) {
  return topK === undefined || topK === 1 ? raw.map((x) => [x]) : raw;
}

async function textClassification({ model, inputs, options = {} }) {
  expectStrings(inputs, 'text-classification');
  const classify = await getPipeline('text-classification', model);
  const args = 'top_k' in options ? { top_k: options.top_k } : {};
  const raw = await classify(inputs, args);
  return { outputs: perInputArrays(raw, options.top_k) };
}

async function tokenClassification({ model, inputs, options = {} }) {
  expectStrings(inputs, 'token-classification');
  const ner = await getPipeline('token-classification', model);
  const args = {};
  if (options.aggregation_strategy !== undefined) args.aggregation_strategy = options.aggregation_strategy;
  if (options.ignore_labels !== undefined) args.ignore_labels = options.ignore_labels;
  // An array input always gives an array (per input) of entity arrays.
  return { outputs: await ner(inputs, args) };
}

async function questionAnswering({ model, inputs, options = {} }) {
  if (
    !Array.isArray(inputs) ||
    inputs.length === 0 ||
    !inputs.every((x) => x && typeof x.question === 'string' && typeof x.context === 'string')
  ) {
    throw new Error('question-answering: inputs must be a non-empty { question, context }[]');
  }
  const qa = await getPipeline('question-answering', model);
  const args = 'top_k' in options ? { top_k: options.top_k } : {};
  const raw = await qa(
    inputs.map((x) => x.question),
    inputs.map((x) => x.context),
    args,
  );
  return { outputs: perInputArrays(raw, options.top_k) };
}

async function featureExtraction({ model, inputs, options = {} }) {
  expectStrings(inputs, 'feature-extraction');
  const extract = await getPipeline('feature-extraction', model);
  const args = {};
  if (options.pooling !== undefined) args.pooling = options.pooling;
  if (options.normalize !== undefined) args.normalize = options.normalize;
  const tensor = await extract(inputs, args);
  // pooling 'mean' | 'cls': [batch, hidden]; 'none': [batch, longest sequence, hidden] (padded rows included).
  return { dims: [...tensor.dims], outputs: toPlain(tensor.tolist()) };
}

async function tokenize({ model, inputs, options = {} }) {
  const pairs = Array.isArray(inputs) && inputs.length > 0 && inputs.every((x) => Array.isArray(x));
  if (
    !Array.isArray(inputs) ||
    inputs.length === 0 ||
    !(pairs
      ? inputs.every((x) => x.length === 2 && x.every((s) => typeof s === 'string'))
      : inputs.every((x) => typeof x === 'string'))
  ) {
    throw new Error('tokenize: inputs must be a non-empty string[] or [string, string][]');
  }
  const tokenizer = await getTokenizer(model);
  const first = pairs ? inputs.map((x) => x[0]) : inputs;
  const second = pairs ? inputs.map((x) => x[1]) : null;
  const addSpecialTokens = options.add_special_tokens ?? true;
  const encoded = tokenizer(first, {
    text_pair: second,
    add_special_tokens: addSpecialTokens,
    padding: false,
    truncation: options.truncation ?? false,
    max_length: options.max_length ?? null,
    return_tensor: false,
    return_token_type_ids: true,
  });
  return {
    outputs: first.map((text, i) => ({
      input_ids: toPlain(encoded.input_ids[i]),
      attention_mask: toPlain(encoded.attention_mask[i]),
      token_type_ids: toPlain(encoded.token_type_ids[i]),
      tokens: tokenizer.tokenize(text, {
        pair: second ? second[i] : null,
        add_special_tokens: addSpecialTokens,
      }),
    })),
  };
}

async function onnxForward({ model, inputs }) {
  if (!Array.isArray(inputs) || inputs.length === 0)
    throw new Error('onnx-forward: inputs must be a non-empty array');
  // onnxruntime-node as transformers.js itself resolves it (a dependency of @huggingface/transformers).
  const ort = createRequire(require.resolve('@huggingface/transformers'))('onnxruntime-node');
  const file = path.join(model, 'onnx', 'model.onnx');
  if (!sessions.has(file)) sessions.set(file, await ort.InferenceSession.create(file, THREADS));
  const session = sessions.get(file);
  const outputs = [];
  for (const input of inputs) {
    const feeds = {};
    for (const name of session.inputNames) {
      const values = input[name];
      if (!Array.isArray(values)) throw new Error(`onnx-forward: input has no ${name} array`);
      feeds[name] = new ort.Tensor(
        'int64',
        BigInt64Array.from(values, (v) => BigInt(v)),
        input.dims,
      );
    }
    const result = await session.run(feeds);
    outputs.push(
      Object.fromEntries(
        session.outputNames.map((name) => [
          name,
          { dims: [...result[name].dims], data: Array.from(result[name].data) },
        ]),
      ),
    );
  }
  return { inputNames: [...session.inputNames], outputNames: [...session.outputNames], outputs };
}

const HANDLERS = {
  'text-classification': textClassification,
  'token-classification': tokenClassification,
  'question-answering': questionAnswering,
  'feature-extraction': featureExtraction,
  tokenize,
  'onnx-forward': onnxForward,
};

async function handle(request) {
  const handler = request && HANDLERS[request.task];
  if (handler === undefined) {
    throw new Error(
      `unknown task ${JSON.stringify(request && request.task)}; one of ${Object.keys(HANDLERS)}`,
    );
  }
  try {
    return await handler(request);
  } catch (error) {
    error.message = `${request.task} on ${request.model}: ${error.message}`;
    throw error;
  }
}

async function main() {
  const started = Date.now();
  const text = fs.readFileSync(0, 'utf8');
  const request = JSON.parse(text);
  const result = Array.isArray(request) ? await sequential(request) : await handle(request);
  process.stderr.write(`transformers-js-runner: ${Date.now() - started} ms\n`);
  process.stdout.write(JSON.stringify(result));
}

async function sequential(requests) {
  const results = [];
  for (const request of requests) results.push(await handle(request));
  return results;
}

main().then(
  // Native sessions can keep the loop alive; the result is written, so leave once stdout drains.
  () => process.stdout.write('', () => process.exit(0)),
  (error) => {
    process.stderr.write(`${error && error.stack ? error.stack : String(error)}\n`);
    process.exit(1);
  },
);
