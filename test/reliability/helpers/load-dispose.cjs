// Child process for test/reliability/load-dispose.test.ts: CYCLES times, loads MODEL_PT with
// Model.load, runs two forwards, disposes it, and samples RSS after a full collection; prints one
// JSON line. A process of its own, started with --expose-gc, so that RSS is this loop's alone.
//
//   node --expose-gc load-dispose.cjs LIB_INDEX_JS MODEL_PT CYCLES THREADS
'use strict';

const [libJs, modelFile, cyclesArg, threadsArg] = process.argv.slice(2);
const { Model } = require(libJs);

const SEQ = 16;
const mb = (bytes) => Math.round((bytes / 2 ** 20) * 10) / 10;

function rssMb() {
  global.gc();
  global.gc();
  return mb(process.memoryUsage.rss());
}

(async () => {
  const ids = new BigInt64Array(SEQ).map((_, i) =>
    i === 0 ? 101n : i === SEQ - 1 ? 102n : BigInt(1000 + i),
  );
  const inputs = { input_ids: ids, attention_mask: new BigInt64Array(SEQ).fill(1n) };
  const before = rssMb();
  const rss = [];
  const loadedRss = [];
  const loadMs = [];
  let checksum = null;
  for (let i = 0; i < Number(cyclesArg); i++) {
    const start = performance.now();
    const model = await Model.load(modelFile, { threads: Number(threadsArg) });
    loadMs.push(performance.now() - start);
    for (let f = 0; f < 2; f++) {
      const outputs = await model.forward(inputs, [1, SEQ]);
      const hidden = Object.values(outputs)[0];
      // The same weights and inputs every cycle: a model freed too early or read from the wrong
      // memory would show here.
      const sum = hidden.data.reduce((a, b) => a + b, 0);
      if (checksum === null) checksum = sum;
      else if (Math.abs(sum - checksum) > 1e-3 * Math.max(1, Math.abs(checksum))) {
        throw new Error(`cycle ${i}: output sum ${sum}, the first cycle's was ${checksum}`);
      }
    }
    loadedRss.push(mb(process.memoryUsage.rss()));
    await model.dispose();
    rss.push(rssMb());
  }
  console.log(
    JSON.stringify({
      cycles: rss.length,
      rssBeforeMb: before,
      rssMb: rss,
      loadedRssMb: loadedRss,
      loadMs: loadMs.map((ms) => Math.round(ms)),
    }),
  );
})().catch((error) => {
  console.error(error);
  process.exit(1);
});
