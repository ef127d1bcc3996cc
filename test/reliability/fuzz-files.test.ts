// Property-based fuzzing of model directories (issue #11, reliability): model.pt as random bytes, cut at
// a random point, with bytes flipped, or a file of another format (empty, JSON, a zip that is not
// TorchScript, ONNX, a Git LFS pointer, a directory, another fixture's model); config.json,
// tokenizer.json and tokenizer_config.json truncated, random, or with a field set to a wrong JSON value or
// removed. Loaded through pipeline(), Model.load(dir) and Model.load(file): each load resolves (a flipped
// weight is still a model) and then answers one call, or rejects with a TorchEncodersError carrying a
// declared code. Loads run in a child process (fuzz-child.ts) so a libtorch abort or a Rust panic fails
// the test with its signal; the child's RSS over repeated failed and successful loads must stay bounded.
//
// Environment: FUZZ_SEED=<int> (cases), FUZZ_RUNS=<n> (multiplies runs and time budgets), FUZZ_SHRINK=1
// (shrink a failure to a minimal case); see fuzz-harness.ts.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import fc from 'fast-check';
import { FIXTURES } from '../helpers/fixtures';
import { DIRECTORY_FILES, mutationOf, writeBrokenDirectory, type Mutation } from './helpers/fuzz-files';
import { checkProperty, expectCodedRejection, FUZZ_SEED, FuzzChild } from './helpers/fuzz-harness';
import type { Outcome } from './helpers/fuzz-child';

const TASKS = [
  ['text-classification', 'sequence-classification', 'I loved it'],
  ['token-classification', 'token-classification', 'Angela Merkel visited Washington.'],
  [
    'question-answering',
    'question-answering',
    { question: 'Who visited?', context: 'Angela Merkel visited.' },
  ],
  ['feature-extraction', 'base', 'the cat sat'],
] as const;
const OTHER_MODEL = path.join(FIXTURES, 'base', 'model.pt');

interface FileCase {
  task: number;
  how: 'pipeline' | 'model' | 'modelFile';
  file: (typeof DIRECTORY_FILES)[number];
  mutation: Mutation;
}

const fileCase: fc.Arbitrary<FileCase> = fc
  .record({
    task: fc.integer({ min: 0, max: TASKS.length - 1 }),
    how: fc.constantFrom('pipeline', 'pipeline', 'model', 'modelFile'),
    file: fc.constantFrom(...DIRECTORY_FILES),
  })
  .chain(({ task, how, file }) =>
    mutationOf(file).map((mutation) => ({
      task,
      // A bare TorchScript file has no config or tokenizer to break.
      how: how === 'modelFile' && file !== 'model.pt' ? ('model' as const) : how,
      file,
      mutation,
    })),
  );

describe(`fuzz: broken model directories (seed ${FUZZ_SEED})`, () => {
  const child = new FuzzChild();
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'torch-encoders-fuzz-'));
  let next = 0;
  const codes: Record<string, Record<string, number>> = {};
  const tally = (file: string, outcome: Outcome) => {
    const key = outcome.ok ? 'loaded' : String(outcome.error.code);
    codes[file] ??= {};
    codes[file][key] = (codes[file][key] ?? 0) + 1;
  };

  /** Writes the case's directory, loads it in the child, and removes it. */
  async function run(c: FileCase): Promise<Outcome> {
    const [task, fixture, probe] = TASKS[c.task]!;
    const dir = path.join(root, `case-${next++}`);
    writeBrokenDirectory(path.join(FIXTURES, fixture), dir, c.file, c.mutation, OTHER_MODEL);
    try {
      return await child.request('tryLoad', {
        how: c.how === 'pipeline' ? 'pipeline' : 'model',
        task,
        dir: c.how === 'modelFile' ? path.join(dir, 'model.pt') : dir,
        probe: typeof probe === 'string' || c.how === 'pipeline' ? probe : probe.context,
      });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }

  function judgeLoad(outcome: Outcome) {
    if (!outcome.ok) {
      expectCodedRejection(outcome);
      return;
    }
    // What loaded must also answer: with outputs, or with a coded rejection (a base model's hidden
    // states where a classifier's logits are expected, a tokenizer with no [UNK], ...).
    const probe = (outcome.value as { probe: Outcome }).probe;
    if (!probe.ok) expectCodedRejection(probe);
  }

  beforeAll(async () => {
    // Starts the child (and loads libtorch) outside the properties' time budgets.
    await child.value('inputNames', { file: OTHER_MODEL });
  });

  afterAll(async () => {
    console.log(`fuzz files: outcomes by file ${JSON.stringify(codes)}`);
    expect(await child.stop()).toBe(0);
    fs.rmSync(root, { recursive: true, force: true });
  });

  it('every broken file loads and answers, or rejects with a declared code', async () => {
    const property = fc.asyncProperty(fileCase, async (c) => {
      const outcome = await run(c);
      tally(c.file, outcome);
      judgeLoad(outcome);
    });
    await checkProperty('broken files', property, 150, 15_000);
  });

  it('repeated failed and successful loads do not grow the child (no leak per load)', async () => {
    // One round: a load that fails at model.pt after the tokenizer loaded, one that fails at
    // config.json, one at tokenizer.json, one bare TorchScript file that fails, and one that loads,
    // answers and is disposed.
    const round: FileCase[] = [
      { task: 0, how: 'pipeline', file: 'model.pt', mutation: { kind: 'truncate', at: 0.5 } },
      { task: 1, how: 'pipeline', file: 'config.json', mutation: { kind: 'truncate', at: 0.5 } },
      {
        task: 2,
        how: 'model',
        file: 'tokenizer.json',
        mutation: { kind: 'jsonField', path: ['model'], value: 5 },
      },
      { task: 3, how: 'modelFile', file: 'model.pt', mutation: { kind: 'flipBytes', at: [0.999], xor: 255 } },
      {
        task: 0,
        how: 'pipeline',
        file: 'config.json',
        mutation: { kind: 'jsonDelete', path: ['hidden_size'] },
      },
    ];
    const pass = async (rounds: number) => {
      for (let i = 0; i < rounds; i++) {
        for (const c of round) judgeLoad(await run(c));
      }
    };
    await pass(1);
    const before = await child.rss();
    const rounds = 5;
    await pass(rounds);
    const after = await child.rss();
    // What one leaked pipeline would cost: three held at once, against the same process without them.
    const held =
      (((await child.value('hold', {
        task: 'text-classification',
        dir: path.join(FIXTURES, 'sequence-classification'),
        count: 3,
      })) as number) -
        after) /
      3;
    const growth = after - before;
    console.log(
      `fuzz files: child RSS ${(before / 2 ** 20).toFixed(1)} -> ${(after / 2 ** 20).toFixed(1)} MB over ${rounds * round.length} loads; one held pipeline ${(held / 2 ** 20).toFixed(1)} MB`,
    );
    // Each round loads 5 tokenizers and 2 TorchScript modules; a leak of one pipeline per round, or of
    // the tokenizer or module of each failed load, grows RSS by `rounds` × that much. Allow under a
    // quarter of one pipeline per round; allocator noise with the child's malloc settings is ~2 MB.
    expect(held).toBeGreaterThan(1 * 2 ** 20);
    expect(growth).toBeLessThan((rounds * held) / 4);
  }, 300_000);

  it('the child process stayed alive', () => {
    expect(child.deaths).toEqual([]);
  });
});
