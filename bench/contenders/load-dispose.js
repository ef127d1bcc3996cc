// Load/dispose cycles: job.cycles times, load the BERT-base weights, run two b1 x 16 forwards, free the model, and
// sample RSS after a full collection; in a process of its own, so that RSS is the loop's alone. What a server that
// swaps models keeps of each one it dropped.
//
// job.library: 'torch-encoders' (Model.load of job.modelDir, Model.dispose; ../../dist/lib: run `npm run build:ts`
// first) or 'onnxruntime-node' (InferenceSession.create of job.modelDir/onnx/model.onnx, the same weights as ONNX,
// intraOpNumThreads = job.threads, interOpNumThreads 1; session.release()).
//
//   node --expose-gc bench/contenders/load-dispose.js --job JOB.json   (bench/run.js writes the job and reads job.out)
'use strict';

const path = require('node:path');
const common = require('../lib/common');

const { job, finish } = common.readJob();
// A full collection before each RSS sample, without asking bench/run.js for --expose-gc.
require('node:v8').setFlagsFromString('--expose-gc');
const gc = require('node:vm').runInNewContext('gc');
console.log = console.info = console.debug = (...args) => console.error(...args);

const SEQ = 16;
const mb = (bytes) => Math.round((bytes / 2 ** 20) * 10) / 10;

function rssMb() {
  gc();
  gc();
  return mb(process.memoryUsage.rss());
}

/** { load(), forward(model), dispose(model), versions } for job.library. */
function library() {
  const ids = common.latencyIds(1, SEQ);
  if (job.library === 'torch-encoders') {
    const { Model, libtorchVersion } = require('../../dist/lib');
    const inputs = {
      input_ids: BigInt64Array.from(ids, (v) => BigInt(v)),
      attention_mask: new BigInt64Array(SEQ).fill(1n),
      token_type_ids: new BigInt64Array(SEQ),
    };
    return {
      load: () => Model.load(job.modelDir, { threads: job.threads }),
      forward: async (model) => {
        const outputs = await model.forward(inputs, [1, SEQ]);
        return (outputs.last_hidden_state ?? outputs.output_0).data;
      },
      dispose: (model) => model.dispose(),
      versions: () => ({ libtorch: libtorchVersion() }),
    };
  }
  if (job.library === 'onnxruntime-node') {
    // The copy @huggingface/transformers depends on (the one the transformers.js rows run on).
    const ort = require(
      require.resolve('onnxruntime-node', { paths: [require.resolve('@huggingface/transformers')] }),
    );
    const tensor = (values) =>
      new ort.Tensor(
        'int64',
        BigInt64Array.from(values, (v) => BigInt(v)),
        [1, SEQ],
      );
    const feeds = {
      input_ids: tensor(ids),
      attention_mask: tensor(new Array(SEQ).fill(1)),
      token_type_ids: tensor(new Array(SEQ).fill(0)),
    };
    return {
      load: () =>
        ort.InferenceSession.create(path.join(job.modelDir, 'onnx', 'model.onnx'), {
          intraOpNumThreads: job.threads,
          interOpNumThreads: 1,
        }),
      forward: async (session) => {
        const wanted = Object.fromEntries(session.inputNames.map((name) => [name, feeds[name]]));
        const outputs = await session.run(wanted);
        return outputs.last_hidden_state.data;
      },
      dispose: (session) => session.release(),
      versions: () => ({ onnxruntime: ort.env.versions?.common ?? null }),
    };
  }
  throw new Error(`job.library must be 'torch-encoders' or 'onnxruntime-node'; got ${job.library}`);
}

async function main() {
  const lib = library();
  const rssBeforeMb = rssMb();
  const rss = [];
  const loadedRss = [];
  const loadMs = [];
  let first = null;
  for (let i = 0; i < job.cycles; i++) {
    const start = performance.now();
    const model = await lib.load();
    loadMs.push(performance.now() - start);
    for (let f = 0; f < 2; f++) {
      const hidden = await lib.forward(model);
      // Every cycle loads the same weights: the same numbers, or something read freed memory.
      if (first === null) first = hidden.slice(0, 8);
      else if (first.some((x, k) => Math.abs(x - hidden[k]) > 1e-4)) {
        throw new Error(`cycle ${i}: outputs differ from the first cycle's`);
      }
    }
    loadedRss.push(mb(process.memoryUsage.rss()));
    await lib.dispose(model);
    rss.push(rssMb());
  }
  finish({ versions: lib.versions(), rssBeforeMb, rssMb: rss, loadedRssMb: loadedRss, loadMs });
}

common.runMain(main);
