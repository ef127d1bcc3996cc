#!/usr/bin/env node
// Checks a runtime end to end: which libtorch and binary load, whether CUDA is compiled in and usable,
// then a fixture's golden cases on device 'auto' and what device 'cuda' answers.
//   TORCH_ENCODERS_LIBTORCH=... node tools/check-runtime.js [FIXTURE_DIR]   (default: the base fixture of the runtime)
const path = require('node:path');
const fs = require('node:fs');
const { Model, buildInfo, cudaAvailable, cudaDeviceCount } = require('../dist/lib');
(async () => {
  const info = buildInfo();
  console.log(`runtime: libtorch ${info.runtime.version} (${info.runtime.rule}), binary ${info.binaryDir}`);
  console.log(
    `cuda compiled in: ${info.cuda}, cudaAvailable(): ${cudaAvailable()}, devices: ${cudaDeviceCount()}`,
  );
  const dir = process.argv[2] ?? path.join(require('./fixtures').fixtureTarget().dir, 'base');
  const goldens = JSON.parse(fs.readFileSync(path.join(dir, 'goldens.json'), 'utf8'));
  const model = await Model.load(path.join(dir, 'model.pt'), { device: 'auto' });
  let worst = 0;
  for (const c of goldens.cases) {
    const make = (v) => BigInt64Array.from(v, BigInt);
    const out = await model.forward(
      {
        input_ids: make(c.input_ids),
        attention_mask: make(c.attention_mask),
        token_type_ids: make(c.token_type_ids),
      },
      c.dims,
    );
    for (const [name, e] of Object.entries(c.outputs))
      e.data.forEach((v, i) => (worst = Math.max(worst, Math.abs(out[name].data[i] - v))));
  }
  console.log(
    `device 'auto' -> ${model.device}; ${goldens.cases.length} golden cases, max abs diff ${worst.toExponential(2)}`,
  );
  await model.dispose();
  try {
    await Model.load(path.join(dir, 'model.pt'), { device: 'cuda' });
  } catch (e) {
    console.log(`device 'cuda' -> ${e.code}: ${e.message}`);
  }
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
