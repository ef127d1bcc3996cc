// Child process for test/reliability/teardown.test.ts: CYCLES times, starts a worker_threads Worker
// that loads MODEL_PT through the library's binding and terminates it at a random moment of one
// phase of the model's life, then prints one JSON line of what it saw. A process of its own: an
// abort during a Worker's teardown takes the whole process down, and jest must survive to say so.
//
//   node --expose-gc teardown-cycles.cjs NATIVE_JS MODEL_PT SCENARIO CYCLES SEED MAX_GROWTH_MB
//
// SCENARIO:
//   load     terminate 0 to 1.5 load times after Model.load starts: mostly while it is loading
//   queue    200 forwards queued, terminate 0-30 ms after they are
//   dispose  8 forwards queued, dispose() called, terminate 0 to 1.5 dispose times after that
// MAX_GROWTH_MB: stop early once RSS has grown by that much since the baseline cycle, so that a
// model leaked per cycle fails the test in a few cycles instead of exhausting the machine's memory.
'use strict';

const path = require('node:path');
const { Worker } = require('node:worker_threads');
const { rng } = require('../../../tools/seeded_random');

const [nativeJs, modelFile, scenario, cyclesArg, seedArg, maxGrowthArg] = process.argv.slice(2);
const CYCLES = Number(cyclesArg);
const MAX_GROWTH = Number(maxGrowthArg) * 2 ** 20;
/** The cycle whose RSS the growth is measured from: the first ones fill the allocator's caches. */
const BASELINE_CYCLE = 20;
const random = rng(Number(seedArg));

// One [ROWS, 4096] forward is ROWS × 4096² multiply-adds on the big model: ~2 ms at ROWS 16 on one
// thread, so 200 of them keep the queue busy well past any termination delay.
const ROWS = 16;
const SEQ = 4;
const QUEUED = { load: 0, queue: 200, dispose: 2 };

const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const binding = require(workerData.nativeJs).native();
const { scenario, modelFile, rows, seq, queued } = workerData;
const n = rows * seq;
const inputs = { input_ids: new BigInt64Array(n).fill(1000n), attention_mask: new BigInt64Array(n).fill(1n) };
// Only terminate() ends this worker, whatever phase it has reached.
setInterval(() => {}, 1000);
(async () => {
  parentPort.postMessage('loading');
  const model = await binding.loadModel(modelFile, { threads: 1 });
  parentPort.postMessage('loaded');
  for (let i = 0; i < queued; i++) model.forward(inputs, [rows, seq]).catch(() => {});
  if (scenario === 'dispose') {
    const disposing = model.dispose();
    parentPort.postMessage('disposing');
    await disposing;
    parentPort.postMessage('disposed');
  } else if (scenario === 'queue') {
    parentPort.postMessage('queued');
  }
})().catch((error) => parentPort.postMessage({ error: String(error && error.stack || error) }));
`;

/** The message after which the termination delay starts, per scenario. */
const TRIGGER = { load: 'loading', queue: 'queued', dispose: 'disposing' };
/** The message that says the phase under test finished before the termination. */
const DONE = { load: 'loaded', queue: null, dispose: 'disposed' };

function startWorker() {
  const worker = new Worker(WORKER_SOURCE, {
    eval: true,
    workerData: { nativeJs, modelFile, scenario, rows: ROWS, seq: SEQ, queued: QUEUED[scenario] },
  });
  const seen = new Map();
  const waiters = [];
  worker.on('message', (message) => {
    if (typeof message === 'object' && message !== null && message.error) {
      for (const waiter of waiters.splice(0)) waiter.reject(new Error(`worker: ${message.error}`));
      return;
    }
    seen.set(message, performance.now());
    for (const waiter of waiters.splice(0)) waiter.check();
  });
  worker.on('error', (error) => {
    for (const waiter of waiters.splice(0)) waiter.reject(error);
  });
  const waitFor = (name) =>
    new Promise((resolve, reject) => {
      const waiter = {
        check() {
          if (seen.has(name)) resolve(seen.get(name));
          else waiters.push(waiter);
        },
        reject,
      };
      waiter.check();
    });
  return { worker, seen, waitFor };
}

/** How long the phase under test takes when nothing interrupts it (median of 3 runs), in ms. */
async function calibrate() {
  const times = [];
  for (let i = 0; i < 3; i++) {
    const { worker, waitFor } = startWorker();
    const start = await waitFor(TRIGGER[scenario]);
    const end = await waitFor(DONE[scenario]);
    times.push(end - start);
    await worker.terminate();
  }
  return times.sort((a, b) => a - b)[1];
}

(async () => {
  const phaseMs = DONE[scenario] === null ? null : await calibrate();
  // Termination delays: for load and dispose, uniform over 1.5 phase times, so about two thirds
  // land inside the phase; for the queue, 0-30 ms as in test/native/worker-teardown.test.ts.
  const maxDelayMs = phaseMs === null ? 30 : 1.5 * phaseMs;
  const rss = [];
  const exitCodes = new Set();
  let interrupted = 0;
  let stoppedEarly = false;
  for (let i = 0; i < CYCLES; i++) {
    const { worker, seen, waitFor } = startWorker();
    await waitFor(TRIGGER[scenario]);
    await new Promise((resolve) => setTimeout(resolve, Math.floor(random() * (maxDelayMs + 1))));
    if (DONE[scenario] !== null && !seen.has(DONE[scenario])) interrupted++;
    exitCodes.add(await worker.terminate());
    global.gc();
    rss.push(process.memoryUsage.rss());
    if (rss.length > BASELINE_CYCLE && rss[rss.length - 1] - rss[BASELINE_CYCLE - 1] > MAX_GROWTH) {
      stoppedEarly = true;
      break;
    }
  }
  const mb = (bytes) => Math.round((bytes / 2 ** 20) * 10) / 10;
  console.log(
    JSON.stringify({
      scenario,
      model: path.basename(modelFile),
      cycles: rss.length,
      stoppedEarly,
      exitCodes: [...exitCodes],
      phaseMs,
      maxDelayMs,
      interrupted,
      baselineCycle: BASELINE_CYCLE,
      rssMb: rss.map(mb),
    }),
  );
})().catch((error) => {
  console.error(error);
  process.exit(1);
});
