// Measures how long the first forward of a freshly loaded model takes compared with the median of
// the next ten, for each load mode. A measurement for the README, not a test.
//
//   /usr/bin/python3 tools/make_fixtures.py --bert-base /tmp/bert-base
//   npm run build:ts && node bench/first-forward.js /tmp/bert-base/model.pt [threads]
const { Model } = require('../dist/lib');

const [modelPath = '/tmp/bert-base/model.pt', threadArg] = process.argv.slice(2);
const threads = Number(threadArg ?? 2);
const BATCH = 1;
const SEQ = 128;

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

async function measure(optimize) {
  const loadStart = performance.now();
  const model = await Model.load(modelPath, { threads, optimize });
  const loadMs = performance.now() - loadStart;
  const inputs = {
    input_ids: BigInt64Array.from({ length: BATCH * SEQ }, (_, i) => BigInt(1000 + ((i * 7919) % 20000))),
    attention_mask: new BigInt64Array(BATCH * SEQ).fill(1n),
  };
  const times = [];
  for (let i = 0; i < 11; i++) {
    const start = performance.now();
    await model.forward(inputs, [BATCH, SEQ]);
    times.push(performance.now() - start);
  }
  await model.dispose();
  const [first, ...rest] = times;
  return {
    optimize,
    loadMs,
    firstMs: first,
    nextTenMedianMs: median(rest),
    ratio: first / median(rest),
    times,
  };
}

(async () => {
  for (const optimize of [false, true]) {
    const r = await measure(optimize);
    console.log(
      `optimize=${r.optimize} threads=${threads} b${BATCH}xs${SEQ}: load ${r.loadMs.toFixed(0)} ms, first ${r.firstMs.toFixed(0)} ms, ` +
        `median of next ten ${r.nextTenMedianMs.toFixed(0)} ms, ratio ${r.ratio.toFixed(2)} ` +
        `[${r.times.map((t) => t.toFixed(0)).join(' ')}]`,
    );
  }
})();
