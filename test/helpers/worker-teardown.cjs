// Child process for test/native/worker-teardown.test.ts: terminates worker_threads Workers while
// forwards are queued on a model they loaded, CYCLES times, and prints one JSON line of what it saw.
// Run as a process of its own: an abort during a Worker's teardown takes the whole process down.
//   node worker-teardown.cjs NATIVE_JS MODEL_PT CYCLES ROWS SEQ MAX_DELAY_MS
const { Worker } = require('node:worker_threads');

const [nativeJs, modelFile, cycles, rows, seq, maxDelay] = process.argv.slice(2);

const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const binding = require(workerData.nativeJs).native();
(async () => {
  const model = await binding.loadModel(workerData.modelFile, { threads: 1 });
  const n = workerData.rows * workerData.seq;
  const inputs = { input_ids: new BigInt64Array(n).fill(1000n), attention_mask: new BigInt64Array(n).fill(1n) };
  for (let i = 0; i < 200; i++) model.forward(inputs, [workerData.rows, workerData.seq]).catch(() => {});
  parentPort.postMessage('busy');
  setInterval(() => {}, 1000);
})();
`;

async function cycle(delay) {
  const worker = new Worker(WORKER_SOURCE, {
    eval: true,
    workerData: { nativeJs, modelFile, rows: Number(rows), seq: Number(seq) },
  });
  await new Promise((resolve, reject) => {
    worker.on('message', resolve);
    worker.on('error', reject);
  });
  await new Promise((resolve) => setTimeout(resolve, delay));
  return worker.terminate();
}

(async () => {
  const rss = [];
  const exitCodes = new Set();
  for (let i = 0; i < Number(cycles); i++) {
    exitCodes.add(await cycle(Math.floor(Math.random() * (Number(maxDelay) + 1))));
    global.gc?.();
    rss.push(process.memoryUsage.rss());
  }
  console.log(JSON.stringify({ cycles: rss.length, exitCodes: [...exitCodes], rss }));
})().catch((error) => {
  console.error(error);
  process.exit(1);
});
