// `torch-encoders serve` against text-embeddings-inference's API: every route over the demo models,
// each answer checked against TEI's OpenAPI schema (fixtures/tei-openapi.json) and against what
// the library itself computes for the same input, so a shape that conforms but holds wrong numbers
// fails as well.
import * as os from 'node:os';
import * as path from 'node:path';
import { pipeline, TextTokenizer } from '../../lib';
import type { RunningServer } from '../../lib/server/serve';
import type { FeatureExtractionPipeline } from '../../lib/tasks/feature-extraction';
import type { QuestionAnsweringPipeline } from '../../lib/tasks/question-answering';
import type { TokenClassificationPipeline } from '../../lib/tasks/token-classification';
import { referenceSigmoid, referenceSoftmax } from '../helpers/math';
import { DEMO_MODEL_SPECS, postJson, startDemoServer } from '../helpers/server';
import { assertTeiSchema } from './openapi';

const ROOT = path.resolve(__dirname, '../..');
const MODELS = path.join(ROOT, 'models');
const DIM = 384;
const SERVED = ['embeddings', 'sentiment', 'rerank', 'ner', 'qa'];
const INFERENCE_HEADERS = [
  'x-compute-time',
  'x-compute-characters',
  'x-compute-tokens',
  'x-total-time',
  'x-tokenization-time',
  'x-queue-time',
  'x-inference-time',
];
/** TEI's error types (schema ErrorType); NotFound and Unauthorized are this server's additions. */
const TEI_ERROR_TYPES = new Set(['Unhealthy', 'Backend', 'Overloaded', 'Validation', 'Tokenizer', 'Empty']);

interface Reply<T = unknown> {
  status: number;
  headers: Headers;
  body: T;
}
interface Prediction {
  label: string;
  score: number;
}
interface Rank {
  index: number;
  score: number;
  text?: string;
}
interface SimpleToken {
  id: number;
  text: string;
  special: boolean;
  start: number | null;
  stop: number | null;
}
interface TeiError {
  error: string;
  error_type: string;
}

let server: RunningServer;
let embedder: FeatureExtractionPipeline;
let ner: TokenClassificationPipeline;
let qa: QuestionAnsweringPipeline;
let tokenizer: TextTokenizer;

/** Directories of this machine that no answer may name (a home of '/' would match every body). */
const LOCAL_PATHS = [ROOT, os.homedir(), os.tmpdir()].filter((dir) => dir.length > 1);

/** An error body must not show where the server runs: no file path, no stack frame. */
function expectNoLocalPaths(body: unknown): void {
  const text = JSON.stringify(body);
  for (const local of [...LOCAL_PATHS, 'node_modules']) expect(text).not.toContain(local);
  expect(text).not.toMatch(/\.(ts|js):\d+/);
}

async function post<T = unknown>(route: string, body: unknown, headers: Record<string, string> = {}) {
  const reply = (await postJson(`${server.url}${route}`, body, headers)) as Reply<T>;
  if (reply.status >= 400) expectNoLocalPaths(reply.body);
  return reply;
}

async function get(route: string): Promise<Reply<string>> {
  const response = await fetch(`${server.url}${route}`);
  return { status: response.status, headers: response.headers, body: await response.text() };
}

/** A TEI error answer: its status, type, schema (for TEI's own types) and message. */
function expectTeiError(
  reply: Reply,
  status: number,
  errorType: string,
  message?: string | RegExp,
): TeiError {
  const body = reply.body as TeiError;
  expect({ status: reply.status, errorType: body.error_type }).toEqual({ status, errorType });
  expect(Object.keys(body).sort()).toEqual(['error', 'error_type']);
  expect(typeof body.error).toBe('string');
  if (TEI_ERROR_TYPES.has(errorType)) assertTeiSchema('ErrorResponse', body);
  if (message !== undefined) expect(body.error).toMatch(message);
  return body;
}

function norm(vector: readonly number[]): number {
  return Math.sqrt(vector.reduce((sum, v) => sum + v * v, 0));
}

function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i]! * b[i]!;
    na += a[i]! * a[i]!;
    nb += b[i]! * b[i]!;
  }
  return dot / Math.sqrt(na * nb);
}

function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tolerance: number): void {
  expect(actual.length).toBe(expected.length);
  let worst = 0;
  for (let i = 0; i < actual.length; i++) worst = Math.max(worst, Math.abs(actual[i]! - expected[i]!));
  expect(worst).toBeLessThan(tolerance);
}

/** TEI's timing headers, present and integer milliseconds (or counts). */
function expectTimingHeaders(headers: Headers): void {
  expect(headers.get('x-compute-type')).toMatch(/^(cpu|gpu)/);
  for (const name of INFERENCE_HEADERS)
    expect([name, headers.get(name)]).toEqual([name, expect.stringMatching(/^\d+$/)]);
}

/** Code points: what TEI counts as characters (a surrogate pair is one). */
function codePoints(texts: readonly string[]): number {
  return texts.reduce((sum, text) => sum + [...text].length, 0);
}

async function tokenCount(texts: string[], model = 'embeddings'): Promise<number> {
  const reply = await post<SimpleToken[][]>('/tokenize', { inputs: texts, model });
  expect(reply.status).toBe(200);
  return reply.body.reduce((sum, tokens) => sum + tokens.length, 0);
}

/** Prometheus text as samples: `name{labels} value`. */
interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

function parseMetrics(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)$/.exec(line);
    if (match === null) throw new Error(`not a Prometheus sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const [, key, value] of (match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g))
      labels[key!] = value!;
    samples.push({ name: match[1]!, labels, value: Number(match[3]) });
  }
  return samples;
}

function total(samples: Sample[], name: string, labels: Record<string, string> = {}): number {
  return samples
    .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    .reduce((sum, s) => sum + s.value, 0);
}

async function metrics(): Promise<Sample[]> {
  const reply = await get('/metrics');
  expect(reply.status).toBe(200);
  return parseMetrics(reply.body);
}

beforeAll(async () => {
  server = await startDemoServer();
  embedder = await pipeline('feature-extraction', path.join(MODELS, 'embeddings'), { threads: 1 });
  ner = await pipeline('token-classification', path.join(MODELS, 'ner'), { threads: 1 });
  qa = await pipeline('question-answering', path.join(MODELS, 'qa'), { threads: 1 });
  tokenizer = await TextTokenizer.fromDirectory(path.join(MODELS, 'embeddings'));
}, 300_000);

afterAll(async () => {
  await server?.close();
  await Promise.all([embedder?.dispose(), ner?.dispose(), qa?.dispose()]);
});

describe('/embed', () => {
  const texts = [
    'The cat sat on the mat.',
    'Quantum field theory unifies special relativity and quantum mechanics.',
  ];

  it("answers EmbedResponse: 384-wide unit vectors equal to the library's pipeline", async () => {
    const reply = await post<number[][]>('/embed', { inputs: texts });
    expect(reply.status).toBe(200);
    assertTeiSchema('EmbedResponse', reply.body);
    expectTimingHeaders(reply.headers);
    expect(reply.body.map((v) => v.length)).toEqual([DIM, DIM]);
    for (const vector of reply.body) expect(Math.abs(norm(vector) - 1)).toBeLessThan(1e-5);
    const expected = await embedder(texts);
    reply.body.forEach((vector, i) => expect(cosine(vector, expected[i]!.data)).toBeGreaterThan(0.99999));
    // Two different sentences: not the same vector twice.
    expect(cosine(reply.body[0]!, reply.body[1]!)).toBeLessThan(0.9);
  });

  it('answers a single string with a nested list of one vector', async () => {
    const reply = await post<number[][]>('/embed', { inputs: texts[0] });
    expect(reply.status).toBe(200);
    assertTeiSchema('EmbedResponse', reply.body);
    expect(reply.body).toHaveLength(1);
    expect(cosine(reply.body[0]!, (await embedder(texts[0]!)).data)).toBeGreaterThan(0.99999);
  });

  it('normalize: false gives the same direction, not unit length', async () => {
    const [normalized, raw] = await Promise.all([
      post<number[][]>('/embed', { inputs: texts }),
      post<number[][]>('/embed', { inputs: texts, normalize: false }),
    ]);
    expect(raw.status).toBe(200);
    assertTeiSchema('EmbedResponse', raw.body);
    raw.body.forEach((vector, i) => {
      expect(Math.abs(norm(vector) - 1)).toBeGreaterThan(0.01);
      expectClose(
        vector.map((v) => v / norm(vector)),
        normalized.body[i]!,
        1e-5,
      );
    });
  });

  it('dimensions: 128 keeps the first 128 of the raw vector, then normalizes (Matryoshka, as TEI)', async () => {
    const [short, raw] = await Promise.all([
      post<number[][]>('/embed', { inputs: texts, dimensions: 128 }),
      post<number[][]>('/embed', { inputs: texts, normalize: false }),
    ]);
    expect(short.status).toBe(200);
    assertTeiSchema('EmbedResponse', short.body);
    short.body.forEach((vector, i) => {
      expect(vector).toHaveLength(128);
      expect(Math.abs(norm(vector) - 1)).toBeLessThan(1e-5);
      const head = raw.body[i]!.slice(0, 128);
      expectClose(
        vector,
        head.map((v) => v / norm(head)),
        1e-5,
      );
    });
    expectTeiError(await post('/embed', { inputs: texts, dimensions: 0 }), 422, 'Validation', /dimensions/);
    expectTeiError(
      await post('/embed', { inputs: texts, dimensions: DIM + 1 }),
      422,
      'Validation',
      /dimensions/,
    );
  });

  const LONG = 'word '.repeat(300).trim();

  it('truncate: false refuses a text over 256 tokens as Validation naming the counts; true cuts it to 256', async () => {
    const tokens = (await tokenizer.encodeBatch([LONG], { maxLength: 10_000 }))[0]!.ids.length;
    expect(tokens).toBeGreaterThan(256);
    const refused = await post<TeiError>('/embed', { inputs: LONG, truncate: false });
    expect(refused.status).toBeGreaterThanOrEqual(400);
    assertTeiSchema('ErrorResponse', refused.body);
    expect(refused.body.error_type).toBe('Validation');
    expect(refused.body.error).toContain(String(tokens));
    expect(refused.body.error).toContain('256');
    const cut = await post<number[][]>('/embed', { inputs: LONG, truncate: true });
    expect(cut.status).toBe(200);
    // [CLS], 254 words, [SEP]: the text cut to its first 254 words.
    const first = await embedder('word '.repeat(254).trim());
    expect(cosine(cut.body[0]!, first.data)).toBeGreaterThan(0.99999);
    // The server's default is TEI's --auto-truncate true.
    const auto = await post<number[][]>('/embed', { inputs: LONG });
    expect(auto.status).toBe(200);
    expect(cosine(auto.body[0]!, first.data)).toBeGreaterThan(0.99999);
  });

  // TEI answers over-long inputs with 422 since PR #818 (2026-02, v1.9.x); its OpenAPI document still says 413.
  it('truncate: false on an over-long text is 422, as TEI', async () => {
    expectTeiError(
      await post('/embed', { inputs: LONG, truncate: false }),
      422,
      'Validation',
      /has \d+ tokens; the model takes at most 256/,
    );
  });

  it('refuses a model of another task (400) and an unknown one (404)', async () => {
    expectTeiError(await post('/embed', { inputs: 'x', model: 'sentiment' }), 400, 'Validation', /sentiment/);
    expectTeiError(await post('/embed', { inputs: 'x', model: 'nope' }), 404, 'NotFound', /embeddings/);
  });
});

describe('/predict', () => {
  const POSITIVE = 'I absolutely loved this film: a wonderful, moving and beautifully acted masterpiece.';
  const NEGATIVE =
    'A terrible, boring waste of time; the worst film I have ever seen, and I hated every minute.';

  function expectAllLabels(predictions: Prediction[]): void {
    expect(predictions.map((p) => p.label).sort()).toEqual(['negative', 'positive']);
    const scores = predictions.map((p) => p.score);
    expect(scores).toEqual([...scores].sort((a, b) => b - a));
  }

  it('a single text: a flat list of every label, best first, summing to 1', async () => {
    const reply = await post<Prediction[]>('/predict', { inputs: POSITIVE });
    expect(reply.status).toBe(200);
    assertTeiSchema('PredictResponse', reply.body);
    expectTimingHeaders(reply.headers);
    expectAllLabels(reply.body);
    expect(reply.body.reduce((sum, p) => sum + p.score, 0)).toBeCloseTo(1, 5);
    expect(reply.body[0]!.label).toBe('positive');
    const negative = await post<Prediction[]>('/predict', { inputs: NEGATIVE });
    expect(negative.body[0]!.label).toBe('negative');
  });

  it('["a", "b"] is one pair (a flat list); [["a"], ["b", "c"]] a batch (a list per input)', async () => {
    const pair = await post<Prediction[]>('/predict', { inputs: [POSITIVE, NEGATIVE] });
    expect(pair.status).toBe(200);
    assertTeiSchema('PredictResponse', pair.body);
    expectAllLabels(pair.body);
    const batch = await post<Prediction[][]>('/predict', { inputs: [[POSITIVE], [NEGATIVE, POSITIVE]] });
    expect(batch.status).toBe(200);
    assertTeiSchema('PredictResponse', batch.body);
    expect(batch.body).toHaveLength(2);
    batch.body.forEach(expectAllLabels);
    // [POSITIVE] alone is the same input as the string POSITIVE.
    const single = await post<Prediction[]>('/predict', { inputs: POSITIVE });
    expect(batch.body[0]!.map((p) => p.label)).toEqual(single.body.map((p) => p.label));
    batch.body[0]!.forEach((p, i) => expect(p.score).toBeCloseTo(single.body[i]!.score, 5));
    // [NEGATIVE, POSITIVE] in the batch is the same pair as sent alone.
    const alone = await post<Prediction[]>('/predict', { inputs: [NEGATIVE, POSITIVE] });
    expect(batch.body[1]!.map((p) => p.label)).toEqual(alone.body.map((p) => p.label));
    batch.body[1]!.forEach((p, i) => expect(p.score).toBeCloseTo(alone.body[i]!.score, 5));
  });

  it('raw_scores: the logits, in the same order, whose softmax is the default scores', async () => {
    const [scores, raw] = await Promise.all([
      post<Prediction[]>('/predict', { inputs: NEGATIVE }),
      post<Prediction[]>('/predict', { inputs: NEGATIVE, raw_scores: true }),
    ]);
    expect(raw.status).toBe(200);
    assertTeiSchema('PredictResponse', raw.body);
    expect(raw.body.map((p) => p.label)).toEqual(scores.body.map((p) => p.label));
    expect(Math.abs(raw.body.reduce((sum, p) => sum + p.score, 0) - 1)).toBeGreaterThan(0.01);
    const softmax = referenceSoftmax(raw.body.map((p) => p.score));
    softmax.forEach((p, i) => expect(p).toBeCloseTo(scores.body[i]!.score, 5));
  });

  it('refuses an embedding model (400)', async () => {
    expectTeiError(
      await post('/predict', { inputs: 'x', model: 'embeddings' }),
      400,
      'Validation',
      /embeddings/,
    );
  });
});

describe('/rerank', () => {
  const query = 'What is the capital of France?';
  const texts = [
    'Bananas are a good source of potassium.',
    'Paris is the capital and largest city of France.',
    'The stock market fell sharply on Monday.',
  ];

  it('ranks by score, best first, indices a permutation; the relevant passage first', async () => {
    const reply = await post<Rank[]>('/rerank', { query, texts });
    expect(reply.status).toBe(200);
    assertTeiSchema('RerankResponse', reply.body);
    expectTimingHeaders(reply.headers);
    expect(reply.body.map((r) => r.index).sort()).toEqual([0, 1, 2]);
    const scores = reply.body.map((r) => r.score);
    expect(scores).toEqual([...scores].sort((a, b) => b - a));
    expect(reply.body[0]!.index).toBe(1);
    for (const rank of reply.body) expect('text' in rank).toBe(false);
  });

  it('return_text adds each text; raw_scores gives logits whose sigmoid is the default score', async () => {
    const [plain, withText, raw] = await Promise.all([
      post<Rank[]>('/rerank', { query, texts }),
      post<Rank[]>('/rerank', { query, texts, return_text: true }),
      post<Rank[]>('/rerank', { query, texts, raw_scores: true }),
    ]);
    assertTeiSchema('RerankResponse', withText.body);
    for (const rank of withText.body) expect(rank.text).toBe(texts[rank.index]);
    assertTeiSchema('RerankResponse', raw.body);
    const byIndex = new Map(plain.body.map((r) => [r.index, r.score]));
    expect(raw.body.some((r) => r.score < 0 || r.score > 1)).toBe(true);
    for (const rank of raw.body)
      expect(referenceSigmoid([rank.score])[0]).toBeCloseTo(byIndex.get(rank.index)!, 5);
  });

  it('refuses empty texts (400 Empty)', async () => {
    expectTeiError(await post('/rerank', { query, texts: [] }), 400, 'Empty', /texts/);
  });
});

describe('/tokenize and /decode', () => {
  const text = 'Café naïve — 東京 tower 😀 ok';

  it('answers TokenizeResponse with UTF-8 byte offsets and the library tokenizer ids', async () => {
    const reply = await post<SimpleToken[][]>('/tokenize', { inputs: text });
    expect(reply.status).toBe(200);
    assertTeiSchema('TokenizeResponse', reply.body);
    expect(reply.body).toHaveLength(1);
    const tokens = reply.body[0]!;
    const [encoding] = await tokenizer.encodeBatch([text]);
    expect(tokens.map((t) => t.id)).toEqual(encoding!.ids);
    const bytes = Buffer.from(text);
    // The text has characters of 2, 3 and 4 UTF-8 bytes: byte offsets differ from string indices.
    expect(bytes.length).toBeGreaterThan(text.length);
    for (const token of tokens) {
      if (token.special) {
        expect(token).toEqual({
          id: token.id,
          text: expect.any(String),
          special: true,
          start: null,
          stop: null,
        });
      } else {
        expect(bytes.subarray(token.start!, token.stop!).toString()).toBe(token.text);
      }
    }
    const special = tokens.filter((t) => t.special);
    expect(special.map((t) => t.text)).toEqual(['[CLS]', '[SEP]']);
    expect(tokens.map((t) => t.text)).toEqual(expect.arrayContaining(['Café', '東', '京', '😀']));
  });

  it('add_special_tokens: false drops [CLS] and [SEP]; a batch answers a list per text', async () => {
    const reply = await post<SimpleToken[][]>('/tokenize', {
      inputs: [text, 'hello'],
      add_special_tokens: false,
    });
    expect(reply.status).toBe(200);
    assertTeiSchema('TokenizeResponse', reply.body);
    expect(reply.body).toHaveLength(2);
    const encodings = await tokenizer.encodeBatch([text, 'hello'], { addSpecialTokens: false });
    reply.body.forEach((tokens, i) => {
      expect(tokens.some((t) => t.special)).toBe(false);
      expect(tokens.map((t) => t.id)).toEqual(encodings[i]!.ids);
    });
  });

  it('/decode round-trips /tokenize ids', async () => {
    const sentence = 'hello world, this is a round trip.';
    const tokens = (await post<SimpleToken[][]>('/tokenize', { inputs: sentence })).body[0]!;
    const ids = tokens.map((t) => t.id);
    const reply = await post<string[]>('/decode', { ids });
    expect(reply.status).toBe(200);
    assertTeiSchema('DecodeResponse', reply.body);
    expect(reply.body).toEqual([sentence]);
    const kept = await post<string[]>('/decode', { ids: [ids, ids.slice(1, 3)], skip_special_tokens: false });
    expect(kept.status).toBe(200);
    assertTeiSchema('DecodeResponse', kept.body);
    expect(kept.body).toHaveLength(2);
    expect(kept.body[0]).toMatch(/^\[CLS\] hello world.*\[SEP\]$/);
    expect(kept.body[1]).toBe('hello world');
    expectTeiError(await post('/decode', { ids: [] }), 400, 'Empty', /ids/);
  });
});

describe('/similarity and /embed_all', () => {
  it('/similarity: the cosine of the /embed vectors of the source and each sentence', async () => {
    const source = 'A man is playing a guitar.';
    const sentences = ['Someone plays an instrument.', 'The weather is cold today.', 'A man plays guitar.'];
    const reply = await post<number[]>('/similarity', { inputs: { source_sentence: source, sentences } });
    expect(reply.status).toBe(200);
    assertTeiSchema('SimilarityResponse', reply.body);
    expectTimingHeaders(reply.headers);
    const vectors = (await post<number[][]>('/embed', { inputs: [source, ...sentences] })).body;
    expectClose(
      reply.body,
      sentences.map((_, i) => cosine(vectors[0]!, vectors[i + 1]!)),
      1e-5,
    );
    expect(reply.body[2]).toBeGreaterThan(reply.body[1]!);
    expectTeiError(
      await post('/similarity', { inputs: { source_sentence: source, sentences: [] } }),
      400,
      'Empty',
      /sentences/,
    );
  });

  it('/embed_all: a 384-wide vector per token, whose mean is the /embed vector (mean pooling)', async () => {
    const texts = ['short one', 'a somewhat longer text than the first'];
    const reply = await post<number[][][]>('/embed_all', { inputs: texts });
    expect(reply.status).toBe(200);
    assertTeiSchema('EmbedAllResponse', reply.body);
    expectTimingHeaders(reply.headers);
    const tokens = (await post<SimpleToken[][]>('/tokenize', { inputs: texts })).body;
    expect(reply.body.map((rows) => rows.length)).toEqual(tokens.map((t) => t.length));
    const pooled = (await post<number[][]>('/embed', { inputs: texts, normalize: false })).body;
    reply.body.forEach((rows, i) => {
      for (const row of rows) expect(row).toHaveLength(DIM);
      const mean = Array.from(
        { length: DIM },
        (_, d) => rows.reduce((sum, row) => sum + row[d]!, 0) / rows.length,
      );
      expect(cosine(mean, pooled[i]!)).toBeGreaterThan(0.99999);
    });
  });
});

describe('/ner and /qa: the library results', () => {
  const sentence = 'Angela Merkel visited Washington and met Joe Biden at the White House.';

  it('/ner answers what the library pipeline answers, for its default and a chosen aggregation', async () => {
    const reply = await post('/ner', { inputs: sentence });
    expect(reply.status).toBe(200);
    expectTimingHeaders(reply.headers);
    expect(reply.body).toEqual(
      JSON.parse(JSON.stringify(await ner(sentence, { aggregationStrategy: 'first' }))),
    );
    expect(JSON.stringify(reply.body)).toContain('washington');
    const batch = await post('/ner', {
      inputs: [sentence, 'Apple opened a store in Berlin.'],
      aggregationStrategy: 'none',
      model: 'ner',
    });
    expect(batch.status).toBe(200);
    const expected = await ner([sentence, 'Apple opened a store in Berlin.'], {
      aggregationStrategy: 'none',
    });
    expect(batch.body).toEqual(JSON.parse(JSON.stringify(expected)));
  });

  it('/qa answers what the library pipeline answers, with its options', async () => {
    const question = 'Where did Angela Merkel go?';
    const reply = await post('/qa', { question, context: sentence });
    expect(reply.status).toBe(200);
    expectTimingHeaders(reply.headers);
    expect(reply.body).toEqual(JSON.parse(JSON.stringify(await qa({ question, context: sentence }))));
    const options = { topK: 3, maxAnswerLen: 5, alignToWords: false };
    const chosen = await post('/qa', { question, context: sentence, model: 'qa', ...options });
    expect(chosen.status).toBe(200);
    expect(chosen.body).toHaveLength(3);
    expect(chosen.body).toEqual(
      JSON.parse(JSON.stringify(await qa({ question, context: sentence }, options))),
    );
  });

  it('model selection: a wrong task is 400, an unknown or path-like name 404 listing the served names', async () => {
    expectTeiError(await post('/ner', { inputs: sentence, model: 'qa' }), 400, 'Validation', /qa/);
    expectTeiError(await post('/qa', { question: 'q?', context: sentence, model: 'ner' }), 400, 'Validation');
    // The module object itself: the server's `import * as fs` reads its functions through it.
    const fs = jest.requireActual<typeof import('node:fs')>('node:fs');
    const spied = [
      ...(
        [
          'existsSync',
          'statSync',
          'lstatSync',
          'readFileSync',
          'openSync',
          'accessSync',
          'readdirSync',
        ] as const
      ).map((method) => jest.spyOn(fs, method)),
      ...(['stat', 'lstat', 'readFile', 'open', 'access', 'readdir'] as const).map((method) =>
        jest.spyOn(fs.promises, method),
      ),
    ];
    try {
      for (const model of ['nope', '../models/ner', '/etc/passwd', 'models/ner']) {
        for (const [route, body] of [
          ['/ner', { inputs: sentence, model }],
          ['/qa', { question: 'q?', context: sentence, model }],
          ['/embed', { inputs: sentence, model }],
          ['/tokenize', { inputs: sentence, model }],
        ] as const) {
          const error = expectTeiError(await post(route, body), 404, 'NotFound');
          for (const name of SERVED) expect(error.error).toContain(name);
        }
      }
      const touched = spied.flatMap((spy) => (spy.mock.calls as unknown[][]).map((args) => String(args[0])));
      expect(touched.filter((file) => /passwd|models/.test(file))).toEqual([]);
    } finally {
      for (const spy of spied) spy.mockRestore();
    }
  });
});

describe('timing headers', () => {
  it('x-compute-characters counts code points; x-compute-tokens equals /tokenize for the same inputs', async () => {
    const texts = ['Café 😀 naïve', 'The second text has plain ASCII words.'];
    const embedReply = await post('/embed', { inputs: texts });
    expect(Number(embedReply.headers.get('x-compute-characters'))).toBe(codePoints(texts));
    // A surrogate pair is one character, not two UTF-16 units.
    expect(codePoints(texts)).toBeLessThan(texts.join('').length);
    expect(Number(embedReply.headers.get('x-compute-tokens'))).toBe(await tokenCount(texts));
    const predictReply = await post('/predict', { inputs: texts[0] });
    expect(Number(predictReply.headers.get('x-compute-characters'))).toBe(codePoints([texts[0]!]));
    expect(Number(predictReply.headers.get('x-compute-tokens'))).toBe(
      await tokenCount([texts[0]!], 'sentiment'),
    );
    // TEI sets none on /tokenize.
    const tokenized = await post('/tokenize', { inputs: texts });
    expect(tokenized.headers.get('x-compute-tokens')).toBeNull();
  });
});

describe('/v1/embeddings (OpenAI)', () => {
  it('answers OpenAICompatResponse, floats and base64 of the same /embed vectors, with usage', async () => {
    const texts = ['first input', 'second input, a little longer'];
    const [floats, base64, embed] = await Promise.all([
      post<{ data: { embedding: number[]; index: number }[]; usage: { prompt_tokens: number } }>(
        '/v1/embeddings',
        { input: texts, model: 'embeddings' },
      ),
      post<{ data: { embedding: string; index: number }[] }>('/v1/embeddings', {
        input: texts,
        model: 'embeddings',
        encoding_format: 'base64',
      }),
      post<number[][]>('/embed', { inputs: texts }),
    ]);
    expect(floats.status).toBe(200);
    assertTeiSchema('OpenAICompatResponse', floats.body);
    assertTeiSchema('OpenAICompatResponse', base64.body);
    expectTimingHeaders(floats.headers);
    expect(floats.body).toMatchObject({ object: 'list', model: 'embeddings' });
    expect(floats.body.data.map((d) => d.index)).toEqual([0, 1]);
    floats.body.data.forEach((d, i) => expectClose(d.embedding, embed.body[i]!, 1e-6));
    base64.body.data.forEach((d, i) => {
      const bytes = Buffer.from(d.embedding, 'base64');
      const decoded = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
      expect(Array.from(decoded)).toEqual(floats.body.data[i]!.embedding);
    });
    expect(floats.body.usage).toEqual({
      prompt_tokens: await tokenCount(texts),
      total_tokens: await tokenCount(texts),
    });
  });

  it("errors in OpenAI's shape: an unknown model is 404 naming the served ones", async () => {
    const reply = await post<{ error: { message: string; type: string } }>('/v1/embeddings', {
      input: 'x',
      model: 'text-embedding-3-small',
    });
    expect(reply.status).toBe(404);
    expect(reply.body.error).toMatchObject({ type: 'invalid_request_error' });
    expect(reply.body.error.message).toContain('embeddings');
  });
});

describe('limits', () => {
  it('33 inputs are 422 Validation; an empty batch or text is 400 Empty', async () => {
    const many = Array.from({ length: 33 }, (_, i) => `text ${i}`);
    expectTeiError(
      await post('/embed', { inputs: many }),
      422,
      'Validation',
      'batch size 33 > maximum allowed batch size 32',
    );
    expectTeiError(
      await post('/predict', { inputs: many.map((t) => [t]) }),
      422,
      'Validation',
      'batch size 33 > maximum allowed batch size 32',
    );
    expectTeiError(
      await post('/rerank', { query: 'q', texts: many }),
      422,
      'Validation',
      'batch size 33 > maximum allowed batch size 32',
    );
    expect((await post('/embed', { inputs: many.slice(0, 32) })).status).toBe(200);
    expectTeiError(await post('/embed', { inputs: [] }), 400, 'Empty', /inputs/);
    expectTeiError(await post('/embed', { inputs: '' }), 400, 'Empty', /inputs/);
    expectTeiError(await post('/predict', { inputs: [] }), 400, 'Empty', /inputs/);
  });
});

describe('/metrics', () => {
  it("counts requests under TEI's names as they are made", async () => {
    const names = [
      'te_request_count',
      'te_request_success',
      'te_request_failure',
      'te_request_duration_bucket',
      'te_request_tokenization_duration_bucket',
      'te_request_queue_duration_bucket',
      'te_request_inference_duration_bucket',
      'te_request_input_length_bucket',
      'te_batch_next_size_bucket',
      'te_batch_next_tokens_bucket',
      'te_queue_size',
    ];
    const reply = await get('/metrics');
    expect(reply.headers.get('content-type')).toMatch(/^text\/plain/);
    for (const name of names) expect(reply.body).toMatch(new RegExp(`^${name}[{ ]`, 'm'));
    expect(reply.body).toMatch(/^# TYPE te_request_count counter$/m);
    expect(reply.body).toMatch(/^# TYPE te_request_duration histogram$/m);

    const model = { model: 'embeddings' };
    const before = await metrics();
    expect((await post('/embed', { inputs: 'one input' })).status).toBe(200);
    expect((await post('/embed', { inputs: ['two', 'inputs'] })).status).toBe(200);
    expect((await post('/embed', { inputs: Array.from({ length: 33 }, () => 'x') })).status).toBe(422);
    expect((await post('/embed', { inputs: 'x', model: 'nope' })).status).toBe(404);
    const after = await metrics();
    const delta = (name: string, labels: Record<string, string>) =>
      total(after, name, labels) - total(before, name, labels);
    expect(delta('te_request_count', { ...model, method: 'single' })).toBe(1);
    expect(delta('te_request_count', { ...model, method: 'batch' })).toBe(1);
    expect(delta('te_request_success', { ...model, method: 'single' })).toBe(1);
    expect(delta('te_request_success', { ...model, method: 'batch' })).toBe(1);
    expect(delta('te_request_failure', { err: 'validation' })).toBe(1);
    expect(delta('te_request_failure', {})).toBe(2);
    expect(delta('te_request_duration_bucket', { ...model, le: '+Inf' })).toBe(2);
    expect(delta('te_request_duration_count', model)).toBe(2);
    expect(delta('te_request_input_length_count', model)).toBe(2);
    expect(delta('te_batch_next_size_count', model)).toBeGreaterThanOrEqual(2);
    // The two inputs of the batch went through in one forward of 2 rows or two of 1.
    expect(delta('te_batch_next_size_sum', model)).toBe(3);
    expect(total(after, 'te_queue_size', model)).toBe(0);
  });
});

describe('/info and /health', () => {
  it('/info is an Info, with every served model and its task', async () => {
    const reply = await get('/info');
    expect(reply.status).toBe(200);
    const info = JSON.parse(reply.body) as Record<string, unknown> & {
      models: { name: string; task: string }[];
    };
    assertTeiSchema('Info', info);
    expect(info).toMatchObject({
      model_id: 'embeddings',
      served_model_name: 'embeddings',
      // The directory's sentence-transformers Pooling module says mean (1_Pooling/config.json).
      model_type: { embedding: { pooling: 'mean' } },
      max_client_batch_size: 32,
      max_concurrent_requests: 512,
      max_batch_tokens: 16384,
      auto_truncate: true,
      max_input_length: 256,
    });
    expect(info.models.map((m) => [m.name, m.task])).toEqual([
      ['embeddings', 'feature-extraction'],
      ['sentiment', 'text-classification'],
      ['rerank', 'rerank'],
      ['ner', 'token-classification'],
      ['qa', 'question-answering'],
    ]);
    expect(JSON.stringify(info)).not.toContain(ROOT);
    const sentiment = await get('/info?model=sentiment');
    const sentimentInfo = JSON.parse(sentiment.body) as unknown;
    assertTeiSchema('Info', sentimentInfo);
    expect(sentimentInfo).toMatchObject({
      model_type: {
        classifier: { id2label: { 0: 'negative', 1: 'positive' }, label2id: { negative: 0, positive: 1 } },
      },
    });
    const rerank = JSON.parse((await get('/info?model=rerank')).body) as unknown;
    assertTeiSchema('Info', rerank);
    expect(rerank).toMatchObject({ model_type: { reranker: { id2label: { 0: expect.any(String) } } } });
  });

  it('/health is 200 with an empty body when ready', async () => {
    const reply = await get('/health');
    expect(reply.status).toBe(200);
    expect(reply.body).toBe('');
  });
});

describe('the API key', () => {
  let guarded: RunningServer;
  const key = 'test-key-4f1c';
  beforeAll(async () => {
    guarded = await startDemoServer({
      apiKey: key,
      models: DEMO_MODEL_SPECS.filter((spec) => spec.name === 'embeddings'),
    });
  }, 120_000);
  afterAll(async () => {
    await guarded?.close();
  });

  it('401 without or with a wrong bearer, 200 with it; /health and /metrics open', async () => {
    const embed = (headers: Record<string, string>) =>
      postJson(`${guarded.url}/embed`, { inputs: 'x' }, headers);
    const refused: Record<string, string>[] = [{}, { authorization: 'Bearer wrong' }, { authorization: key }];
    for (const headers of refused) {
      const reply = await embed(headers);
      expect(reply.status).toBe(401);
      expect(JSON.stringify(reply.body)).not.toContain(key);
      expectNoLocalPaths(reply.body);
    }
    expect((await postJson(`${guarded.url}/v1/embeddings`, { input: 'x' })).status).toBe(401);
    expect((await fetch(`${guarded.url}/info`)).status).toBe(401);
    expect((await embed({ authorization: `Bearer ${key}` })).status).toBe(200);
    expect((await fetch(`${guarded.url}/health`)).status).toBe(200);
    expect((await fetch(`${guarded.url}/metrics`)).status).toBe(200);
  });
});
