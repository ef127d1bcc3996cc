// 50 load/forward/dispose cycles of a BERT-base-sized model (issue #11, reliability tier): what
// dispose() frees must go back, or a server that swaps models leaks ~420 MiB each time. Runs in a
// child process (test/reliability/helpers/load-dispose.cjs) started with --expose-gc, so that RSS
// is the loop's alone and is sampled after a full collection.
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { venvPython } from '../helpers/venv-python';

const run = promisify(execFile);
const REPO = path.resolve(__dirname, '../..');
const LIB = path.join(REPO, 'dist/lib/index.js');
const CHILD = path.join(__dirname, 'helpers/load-dispose.cjs');
const MAKE_MODELS = path.join(__dirname, 'helpers/make_models.py');

const CYCLES = 50;
/** Cycles before the baseline: the allocator's arenas and libtorch's caches reach their size. */
const SETTLE = 5;
const MAX_GROWTH_MIB = 30;

interface Report {
  cycles: number;
  rssBeforeMb: number;
  rssMb: number[];
  loadedRssMb: number[];
  loadMs: number[];
}

let scratch: string;
let modelFile: string;

beforeAll(async () => {
  scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'torch-encoders-load-dispose-'));
  modelFile = path.join(scratch, 'bert-base.pt');
  // transformers' BertModel(BertConfig()) with random weights, traced with eager attention (so
  // libtorch 1.13 loads it too): the project venv has transformers.
  await run(venvPython(), [MAKE_MODELS, 'bert-base', modelFile], { timeout: 240_000 });
}, 300_000);

afterAll(() => fs.rmSync(scratch, { recursive: true, force: true }));

it(`gives back what each of ${CYCLES} BERT-base load/dispose cycles took`, async () => {
  const { stdout } = await run(
    process.execPath,
    ['--expose-gc', CHILD, LIB, modelFile, String(CYCLES), String(Math.min(2, os.availableParallelism()))],
    { maxBuffer: 1 << 20, timeout: 420_000 },
  );
  const report = JSON.parse(stdout.trim().split('\n').pop()!) as Report;
  const modelMib = fs.statSync(modelFile).size / 2 ** 20;
  const baseline = report.rssMb[SETTLE - 1]!;
  const end = report.rssMb[report.rssMb.length - 1]!;
  const highest = Math.max(...report.rssMb.slice(SETTLE));
  const sortedLoads = [...report.loadMs].sort((a, b) => a - b);
  console.log(
    `${report.cycles} load/dispose cycles of a ${modelMib.toFixed(0)} MiB BERT-base: RSS ${report.rssBeforeMb} MiB ` +
      `before, ${report.loadedRssMb[0]} MiB with the first model loaded, ${report.rssMb[0]} MiB after the first ` +
      `dispose, ${baseline} MiB after cycle ${SETTLE}, ${end} MiB at the end (highest after cycle ${SETTLE}: ` +
      `${highest} MiB): ${(end - baseline).toFixed(1)} MiB of growth (limit ${MAX_GROWTH_MIB}); ` +
      `load median ${sortedLoads[Math.floor(sortedLoads.length / 2)]} ms`,
  );
  expect(report.cycles).toBe(CYCLES);
  // The model was resident while loaded: otherwise a leak of it would not show in RSS either.
  expect(report.loadedRssMb[0]! - report.rssBeforeMb).toBeGreaterThan(0.8 * modelMib);
  expect(end - baseline).toBeLessThan(MAX_GROWTH_MIB);
}, 480_000);
