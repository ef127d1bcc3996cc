#!/usr/bin/env node
// Loads a fixture model and runs one forward on it through the public API.
//   node tools/forward-demo.js [model.pt]
const path = require('node:path');
const { Model, buildInfo } = require('../dist/lib');
const { fixtureTarget } = require('./fixtures');

const modelPath = process.argv[2] ?? path.join(fixtureTarget().dir, 'question-answering/model.pt');

(async () => {
  const info = buildInfo();
  console.log(
    `libtorch ${info.runtime.version} (${info.runtime.rule}), CUDA compiled in: ${info.cuda}, BLAS: ${info.blas.name}`,
  );
  const model = await Model.load(modelPath, { device: 'auto', outputNames: ['start_logits', 'end_logits'] });
  console.log(
    `loaded ${modelPath} on ${model.device}, ${model.threads} threads, inputs (${model.inputNames.join(', ')})`,
  );
  // [CLS] the unwanted running [SEP] with bert-base-uncased ids.
  const input_ids = BigInt64Array.from([101n, 1996n, 18162n, 2770n, 102n]);
  const attention_mask = new BigInt64Array(5).fill(1n);
  const start = performance.now();
  const outputs = await model.forward({ input_ids, attention_mask }, [1, 5]);
  const ms = performance.now() - start;
  for (const [name, tensor] of Object.entries(outputs)) {
    const values = Array.from(tensor.data, (v) => v.toFixed(4)).join(', ');
    console.log(`${name} [${tensor.dims.join(', ')}]: ${values}`);
  }
  console.log(`forward took ${ms.toFixed(1)} ms`);
  await model.dispose();
})().catch((error) => {
  console.error(`${error.code ?? 'ERROR'}: ${error.message}`);
  process.exit(1);
});
