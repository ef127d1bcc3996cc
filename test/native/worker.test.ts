import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { fixtureModel } from '../helpers/fixtures';

// Each worker is a Node environment of its own: the addon keeps per-environment state, and a
// worker torn down with forwards queued must not take the process with it.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
// The library's own loading: discover the libtorch, preload it, load the binary made for it.
const binding = require(workerData.native).native();
(async () => {
  const model = await binding.loadModel(workerData.model, { threads: 1 });
  const n = 64;
  const inputs = { input_ids: new BigInt64Array(n * 32).fill(1000n), attention_mask: new BigInt64Array(n * 32).fill(1n) };
  const first = await model.forward(inputs, [n, 32]);
  parentPort.postMessage({ dims: first.output_0.dims });
  for (let i = 0; i < 200; i++) model.forward(inputs, [n, 32]).catch(() => {});
  // Only terminate() ends this worker, whether or not the queue has drained by then.
  setInterval(() => {}, 1000);
  parentPort.postMessage('busy');
})();
`;

const NATIVE = path.resolve(__dirname, '../../dist/lib/native.js');

describe('worker_threads', () => {
  it('loads and runs in a worker, and terminating it mid-queue leaves the process healthy', async () => {
    const worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { native: NATIVE, model: fixtureModel('sequence-classification') },
    });
    const messages: unknown[] = [];
    await new Promise<void>((resolve, reject) => {
      worker.on('message', (message) => {
        messages.push(message);
        if (message === 'busy') resolve();
      });
      worker.on('error', reject);
    });
    expect(messages[0]).toEqual({ dims: [64, 3] });
    const exitCode = await worker.terminate();
    expect(exitCode).toBe(1);
  });
});
