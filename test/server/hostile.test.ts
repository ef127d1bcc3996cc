// Hostile clients against `torch-encoders serve` (a spawned process, as deployed): malformed and
// oversized bodies, wrong types, path tricks, broken HTTP, slow and vanishing clients, overload.
// After every attack the server must still answer an ordinary request, and every error it sends
// must be a JSON body of the route's protocol that gives nothing of the machine away.
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { metricSum as metric, spawnServer, type ServerProcess } from '../helpers/server';

const ROOT = path.resolve(__dirname, '../..');
const EMBEDDINGS = path.join(ROOT, 'models', 'embeddings');
const WIDTH = 384; // all-MiniLM-L6-v2's hidden size

let server: ServerProcess;
let port: number;

beforeAll(async () => {
  // A short request timeout, so the slow-client cases end in seconds.
  server = await spawnServer(['--request-timeout', '2000']);
  await server.ready;
  port = Number(new URL(server.url).port);
}, 60_000);

afterAll(async () => {
  if (server !== undefined && server.child.exitCode === null && server.child.signalCode === null) {
    server.child.kill('SIGKILL');
    await server.exited;
  }
});

interface Answer {
  status: number;
  text: string;
  contentType: string;
}

async function send(
  route: string,
  body?: unknown,
  { method = 'POST', contentType = 'application/json' as string | null, base = server.url } = {},
): Promise<Answer> {
  const headers: Record<string, string> = contentType === null ? {} : { 'content-type': contentType };
  const response = await fetch(base + route, {
    method,
    headers,
    // A Buffer, not a string: fetch gives a string body a text/plain content-type of its own.
    ...(body === undefined
      ? {}
      : {
          body: Buffer.isBuffer(body)
            ? body
            : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body)),
        }),
  });
  return {
    status: response.status,
    text: await response.text(),
    contentType: response.headers.get('content-type') ?? '',
  };
}

/** What a client must never see: stacks, paths of this machine, the server's own class and code names. */
const LEAKS = [
  ROOT,
  '/work',
  '/usr',
  '/home',
  'node_modules',
  '.ts:',
  '.js:',
  '    at ',
  'TorchEncodersError',
  'ApiError',
  'SyntaxError',
  'TypeError',
  'RangeError',
  'FST_',
  'Fastify',
  'c10::',
];

function expectNoLeaks(text: string): void {
  for (const leak of LEAKS) expect(text).not.toContain(leak);
}

type Shape = 'tei' | 'openai' | 'either';

/** A JSON error body of TEI's shape ({error, error_type}) or OpenAI's ({error: {message, type, param, code}}). */
function expectErrorBody(answer: Answer, shape: Shape, errorType?: string): string {
  expect(answer.contentType).toMatch(/^application\/json/);
  expectNoLeaks(answer.text);
  const body = JSON.parse(answer.text) as Record<string, unknown>;
  const isOpenAi = typeof body.error === 'object' && body.error !== null;
  if (shape === 'tei' || (shape === 'either' && !isOpenAi)) {
    expect(Object.keys(body).sort()).toEqual(['error', 'error_type']);
    expect(typeof body.error).toBe('string');
    expect(typeof body.error_type).toBe('string');
    if (errorType !== undefined) expect(body.error_type).toBe(errorType);
    return body.error as string;
  }
  expect(Object.keys(body)).toEqual(['error']);
  const error = body.error as Record<string, unknown>;
  expect(Object.keys(error).sort()).toEqual(['code', 'message', 'param', 'type']);
  expect(typeof error.message).toBe('string');
  expect(typeof error.type).toBe('string');
  return error.message as string;
}

function shapeOf(route: string): Shape {
  return route.startsWith('/v1/') ? 'openai' : 'tei';
}

function expectError(answer: Answer, status: number | number[], shape: Shape, errorType?: string): string {
  if (Array.isArray(status)) expect(status).toContain(answer.status);
  else expect(answer.status).toBe(status);
  return expectErrorBody(answer, shape, errorType);
}

/** 200, or a clean client error: never a 5xx. */
function expectAnsweredOrRefused(answer: Answer, route: string): void {
  expect(answer.status).toBeLessThan(500);
  if (answer.status !== 200) {
    expect(answer.status).toBeGreaterThanOrEqual(400);
    expectErrorBody(answer, shapeOf(route));
  }
}

/** The server still does its work: an ordinary embedding request gets one unit vector of the model's width. */
async function expectServes(base = server.url): Promise<void> {
  const answer = await send('/embed', { inputs: 'A short ordinary text.' }, { base });
  expect(answer.status).toBe(200);
  const vectors = JSON.parse(answer.text) as number[][];
  expect(vectors).toHaveLength(1);
  expect(vectors[0]).toHaveLength(WIDTH);
  const norm = Math.hypot(...vectors[0]!);
  expect(norm).toBeCloseTo(1, 4);
}

/** `count` distinct words separated by spaces, `chars` long in all. */
function wordsOfLength(chars: number): string {
  return 'hello '.repeat(Math.ceil(chars / 6)).slice(0, chars);
}

async function metrics(base = server.url): Promise<string> {
  const answer = await send('/metrics', undefined, { method: 'GET', contentType: null, base });
  expect(answer.status).toBe(200);
  return answer.text;
}

/** Resident memory of a process, in bytes (Linux). */
function residentBytes(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) * 1024;
}

/** The payload of a chunked body (what came of it). */
function unchunk(text: string): string {
  let payload = '';
  let rest = text;
  for (;;) {
    const line = rest.indexOf('\r\n');
    const size = line < 0 ? NaN : parseInt(rest.slice(0, line), 16);
    if (!(size > 0)) return payload;
    payload += rest.slice(line + 2, line + 2 + size);
    rest = rest.slice(line + 4 + size);
  }
}

interface RawAnswer {
  /** The first response's status, if one came. */
  status?: number;
  headers: string;
  body: string;
  /** Whether the server closed the connection (else the client gave up after waitMs). */
  closed: boolean;
  raw: string;
}

/**
 * Writes `data` on a fresh TCP connection (then half-closes it when `end`) and collects what comes
 * back until the server closes or `waitMs` passes. For what fetch cannot send: broken framing,
 * oversized headers, HTTP/1.0.
 */
function rawExchange(
  data: string | Buffer,
  { end = false, waitMs = 5000 }: { end?: boolean; waitMs?: number } = {},
): Promise<RawAnswer> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    let closed = false;
    const finish = () => {
      clearTimeout(timer);
      const raw = Buffer.concat(chunks).toString('utf8');
      const split = raw.indexOf('\r\n\r\n');
      const head = split < 0 ? raw : raw.slice(0, split);
      let body = split < 0 ? '' : raw.slice(split + 4);
      const length = /\r\ncontent-length: *(\d+)/i.exec(head);
      if (length !== null) body = Buffer.from(body).subarray(0, Number(length[1])).toString('utf8');
      else if (/\r\ntransfer-encoding: *chunked/i.test(head)) body = unchunk(body);
      const status = /^HTTP\/1\.[01] (\d{3})/.exec(raw);
      resolve({
        ...(status === null ? {} : { status: Number(status[1]) }),
        headers: head,
        body,
        closed,
        raw,
      });
    };
    const timer = setTimeout(() => {
      socket.destroy();
      finish();
    }, waitMs);
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      closed = true;
      finish();
    });
    socket.write(data);
    if (end) socket.end();
  });
}

/** A raw error answer: a status in `statuses` and, when it has a body, a clean TEI error body. */
function expectRawError(answer: RawAnswer, statuses: number[]): void {
  expect(statuses).toContain(answer.status);
  expectNoLeaks(answer.raw);
  if (answer.body !== '') {
    expectErrorBody(
      {
        status: answer.status!,
        text: answer.body,
        contentType: /\r\ncontent-type: *([^\r]*)/i.exec(answer.headers)?.[1] ?? '',
      },
      'tei',
    );
  }
}

const JSON_HEADERS = 'Host: localhost\r\nContent-Type: application/json\r\n';

// ---------------------------------------------------------------------------------------------

/** A valid body for each route, which the wrong-type cases spoil one field at a time. */
const VALID: Record<string, Record<string, unknown>> = {
  '/embed': { inputs: 'Hello there.' },
  '/predict': { inputs: 'What a lovely day.' },
  '/rerank': { query: 'Where is Paris?', texts: ['Paris is in France.', 'Bananas are yellow.'] },
  '/tokenize': { inputs: 'Hello there.' },
  '/ner': { inputs: 'Alice flew to Paris.' },
  '/qa': { question: 'Where did Alice fly?', context: 'Alice flew to Paris on Monday.' },
  '/similarity': { inputs: { source_sentence: 'A cat.', sentences: ['A kitten.', 'A car.'] } },
  '/v1/embeddings': { input: 'Hello there.' },
};

type Kind =
  | 'input'
  | 'predictInput'
  | 'text'
  | 'texts'
  | 'nullableText'
  | 'bool'
  | 'nullableBool'
  | 'int'
  | 'nullableInt'
  | 'direction'
  | 'model'
  | 'nullableModel';

const FIELDS: Record<string, Record<string, Kind>> = {
  '/embed': {
    inputs: 'input',
    normalize: 'bool',
    truncate: 'nullableBool',
    truncation_direction: 'direction',
    prompt_name: 'nullableText',
    dimensions: 'nullableInt',
    model: 'model',
  },
  '/predict': {
    inputs: 'predictInput',
    raw_scores: 'bool',
    truncate: 'nullableBool',
    truncation_direction: 'direction',
    model: 'model',
  },
  '/rerank': {
    query: 'text',
    texts: 'texts',
    raw_scores: 'bool',
    return_text: 'bool',
    truncate: 'nullableBool',
    truncation_direction: 'direction',
    model: 'model',
  },
  '/tokenize': { inputs: 'texts', add_special_tokens: 'bool', prompt_name: 'nullableText', model: 'model' },
  '/ner': { inputs: 'texts', ignoreLabels: 'texts', stride: 'int', model: 'model' },
  '/qa': {
    question: 'text',
    context: 'text',
    topK: 'int',
    docStride: 'int',
    maxSeqLen: 'int',
    maxQuestionLen: 'int',
    maxAnswerLen: 'int',
    handleImpossibleAnswer: 'bool',
    alignToWords: 'bool',
    model: 'model',
  },
  '/v1/embeddings': {
    input: 'input',
    model: 'nullableModel',
    dimensions: 'nullableInt',
    user: 'nullableText',
  },
};

/** Values of the wrong type for each kind of field: no coercion, so "true" is not true and "1" not 1. */
const deep = (levels: number): unknown => (levels === 0 ? 'a' : [deep(levels - 1)]);
const WRONG: Record<Kind, unknown[]> = {
  input: [1, true, null, {}, { text: 'a' }, [{}], [true], [null], deep(3), deep(50), [1.5], [[1.5]]],
  predictInput: [1, true, null, {}, [{}], [1], [[1]], deep(3), deep(50)],
  text: [1, true, null, {}, [], ['a']],
  texts: [1, true, null, {}, [1], [null], [['a']], [{}]],
  nullableText: [1, true, {}, ['a']],
  bool: ['true', 'false', 1, 0, null, {}, [], [true]],
  nullableBool: ['true', 'false', 1, 0, {}, [true]],
  int: ['1', 1.5, true, null, {}, [], [1]],
  nullableInt: ['1', 1.5, true, {}, [], [1]],
  direction: ['LEFT', 'up', 1, true, null, {}, ['Right']],
  model: [1, true, null, {}, [], ['embeddings']],
  nullableModel: [1, true, {}, [], ['embeddings']],
};

const WRONG_TYPE_CASES = Object.entries(FIELDS).flatMap(([route, fields]) =>
  Object.entries(fields).map(([field, kind]) => [route, field, kind] as const),
);

describe('malformed bodies', () => {
  test('every route answers its valid base body (so the cases below fail on their spoiled field)', async () => {
    for (const [route, body] of Object.entries(VALID)) {
      const answer = await send(route, body);
      expect([route, answer.status]).toEqual([route, 200]);
    }
  });

  test.each([
    ['truncated', '{"inputs": "hello'],
    ['trailing garbage', '{"inputs": "hello"} trailing'],
    ['two documents', '{"inputs": "a"}{"inputs": "b"}'],
    ['NaN', '{"inputs": NaN}'],
    ['Infinity', '{"inputs": "a", "dimensions": Infinity}'],
    ['single quotes', "{'inputs': 'hello'}"],
    ['a comment', '{"inputs": "a" /* hi */}'],
    ['a bare word', 'hello'],
    ['a lone brace', '{'],
    ['an unterminated escape', '{"inputs": "\\u12"}'],
    ['control characters in a string', '{"inputs": "a\u0001\u0002b\nc"}'],
    ['100k unclosed brackets', '['.repeat(100_000)],
    ['100k unclosed objects', '{"a":'.repeat(100_000)],
  ])('%s: 400 Validation, TEI and OpenAI shapes', async (_name, text) => {
    for (const route of ['/embed', '/v1/embeddings', '/ner']) {
      expectError(
        await send(route, text),
        400,
        shapeOf(route),
        shapeOf(route) === 'tei' ? 'Validation' : undefined,
      );
      await expectServes();
    }
  });

  test('duplicate keys are JSON: the last one wins', async () => {
    const answer = await send('/embed', '{"inputs": 1, "inputs": "hello"}');
    expect(answer.status).toBe(200);
    await expectServes();
  });

  test.each([
    ['null', 'null'],
    ['an array', '[{"inputs": "hello"}]'],
    ['a string', '"hello"'],
    ['a number', '42'],
    ['true', 'true'],
  ])('a JSON %s as the body: 422 Validation', async (_name, text) => {
    for (const route of Object.keys(VALID)) {
      expectError(
        await send(route, text),
        422,
        shapeOf(route),
        shapeOf(route) === 'tei' ? 'Validation' : undefined,
      );
      await expectServes();
    }
  });

  test('no body: 400 Empty', async () => {
    for (const route of Object.keys(VALID)) {
      expectError(
        await send(route, undefined),
        400,
        shapeOf(route),
        shapeOf(route) === 'tei' ? 'Empty' : undefined,
      );
      await expectServes();
    }
  });

  const contentTypeCase = async (contentType: string) => {
    for (const route of ['/embed', '/v1/embeddings', '/qa']) {
      expectError(await send(route, VALID[route], { contentType }), 415, shapeOf(route));
      await expectServes();
    }
  };

  test.each(['text/plain', 'text/plain; charset=utf-8'])('content-type %s: 415', contentTypeCase);

  test.each([
    'application/x-www-form-urlencoded',
    'multipart/form-data; boundary=x',
    'application/xml',
    'application/octet-stream',
    'application/jsonx',
  ])('content-type %s: 415', contentTypeCase);

  test('no content-type: 415', async () => {
    expectError(await send('/embed', VALID['/embed'], { contentType: null }), 415, 'tei');
    await expectServes();
  });
});

describe('wrong types, refused without coercion', () => {
  test.each(WRONG_TYPE_CASES)('%s: %s of the wrong type is 422 Validation', async (route, field, kind) => {
    for (const value of WRONG[kind]) {
      const answer = await send(route, { ...VALID[route], [field]: value });
      if (answer.status !== 422)
        throw new Error(`${route} ${field}=${JSON.stringify(value)}: ${answer.status} ${answer.text}`);
      expectErrorBody(answer, shapeOf(route), shapeOf(route) === 'tei' ? 'Validation' : undefined);
      await expectServes();
    }
  });

  test('a missing required field is 422 Validation', async () => {
    for (const [route, body] of Object.entries(VALID)) {
      for (const field of Object.keys(body)) {
        const spoiled = { ...body };
        delete spoiled[field];
        expectError(await send(route, spoiled), 422, shapeOf(route));
        await expectServes();
      }
    }
  });
});

describe('empty, long and many inputs', () => {
  test.each([
    ['/embed', { inputs: '' }],
    ['/embed', { inputs: [] }],
    ['/embed', { inputs: ['a', ''] }],
    ['/predict', { inputs: '' }],
    ['/predict', { inputs: [] }],
    ['/predict', { inputs: [['a', '']] }],
    ['/rerank', { query: '', texts: ['a'] }],
    ['/rerank', { query: 'a', texts: [] }],
    ['/tokenize', { inputs: [] }],
    ['/ner', { inputs: '' }],
    ['/ner', { inputs: [] }],
    ['/qa', { question: '', context: 'Alice.' }],
    ['/qa', { question: 'Who?', context: '' }],
    ['/similarity', { inputs: { source_sentence: 'a', sentences: [] } }],
    ['/v1/embeddings', { input: '' }],
    ['/v1/embeddings', { input: [] }],
  ])('%s %j: 400 Empty', async (route, body) => {
    expectError(await send(route, body), 400, shapeOf(route), shapeOf(route) === 'tei' ? 'Empty' : undefined);
    await expectServes();
  });

  test('/tokenize {"inputs":""}: 400 Empty', async () => {
    expectError(await send('/tokenize', { inputs: '' }), 400, 'tei', 'Empty');
    await expectServes();
  });

  // One MB of words is 166,668 tokens: far over the model's 256, within the 2 MB payload limit.
  const million = wordsOfLength(1_000_000);

  test('a 1,000,000-character text is truncated by default: 200 and one vector', async () => {
    const answer = await send('/embed', { inputs: million });
    expect(answer.status).toBe(200);
    const vectors = JSON.parse(answer.text) as number[][];
    expect(vectors).toHaveLength(1);
    expect(vectors[0]).toHaveLength(WIDTH);
    await expectServes();
  });

  test('a 1,000,000-character text with truncate: false is 422 naming its token count', async () => {
    const message = expectError(
      await send('/embed', { inputs: million, truncate: false }),
      422,
      'tei',
      'Validation',
    );
    const counts = (message.match(/\d+/g) ?? []).map(Number);
    // Its token count (166,668 with the demo tokenizer: a token a word and two special tokens).
    expect(counts.some((count) => count > 100_000)).toBe(true);
    // The other truncating routes, on a shorter text that is still far too long.
    const long = million.slice(0, 100_000);
    for (const [route, body] of [
      ['/predict', { inputs: long, truncate: false }],
      ['/rerank', { query: 'q', texts: [long], truncate: false }],
    ] as const) {
      expectError(await send(route, body), 422, 'tei', 'Validation');
    }
    await expectServes();
  });

  test('a body over the 2 MB payload limit is 413', async () => {
    const big = wordsOfLength(2_100_000);
    expectError(await send('/embed', { inputs: big }), 413, 'tei');
    expectError(await send('/v1/embeddings', { input: big }), 413, 'openai');
    expectError(await send('/ner', { inputs: big }), 413, 'tei');
    await expectServes();
  });

  test('33 inputs is 422 Validation on every batch route', async () => {
    const texts = Array.from({ length: 33 }, (_, i) => `text number ${i}`);
    const cases: [string, unknown][] = [
      ['/embed', { inputs: texts }],
      ['/predict', { inputs: texts.map((text) => [text]) }],
      ['/rerank', { query: 'q', texts }],
      ['/tokenize', { inputs: texts }],
      ['/ner', { inputs: texts }],
      ['/similarity', { inputs: { source_sentence: 'q', sentences: texts } }],
      ['/v1/embeddings', { input: texts }],
    ];
    for (const [route, body] of cases) {
      expectError(
        await send(route, body),
        422,
        shapeOf(route),
        shapeOf(route) === 'tei' ? 'Validation' : undefined,
      );
      await expectServes();
    }
  });

  test('100,000 levels of nesting neither crash nor hang the server', async () => {
    const depth = 100_000;
    for (const text of [
      `{"inputs":${'['.repeat(depth)}"a"${']'.repeat(depth)}}`,
      `{"inputs":"a","model":${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}}`,
      `${'['.repeat(depth)}${']'.repeat(depth)}`,
    ]) {
      for (const route of ['/embed', '/v1/embeddings', '/qa']) {
        const answer = await send(route, text);
        expect(answer.status).toBeGreaterThanOrEqual(400);
        expect(answer.status).toBeLessThan(500);
        expectErrorBody(answer, shapeOf(route));
        await expectServes();
      }
    }
  });

  test.each([
    ['/embed', { dimensions: 1e20 }],
    ['/embed', '{"inputs":"a","dimensions":9007199254740993}'],
    ['/embed', { dimensions: -1 }],
    ['/embed', { dimensions: 0 }],
    ['/embed', '{"inputs":"a","dimensions":1e400}'],
    ['/embed', `{"inputs":"a","dimensions":${'9'.repeat(10_000)}}`],
    ['/v1/embeddings', { dimensions: 1e300 }],
    ['/qa', { topK: 1e308 }],
    ['/qa', { topK: -1 }],
    ['/qa', { docStride: 1e15 }],
    ['/qa', { maxSeqLen: 2 ** 31 }],
    ['/qa', { maxAnswerLen: 2 ** 53 }],
    ['/ner', { stride: 1e300 }],
    ['/ner', { stride: -1 }],
  ])('%s with %j: a clean 4xx', async (route, extra) => {
    const body = typeof extra === 'string' ? extra : { ...VALID[route], ...extra };
    const answer = await send(route, body);
    expect(answer.status).toBeGreaterThanOrEqual(400);
    expect(answer.status).toBeLessThan(500);
    expectErrorBody(answer, shapeOf(route));
    await expectServes();
  });

  test('a huge but valid topK is 200 (the answers there are)', async () => {
    const answer = await send('/qa', { ...VALID['/qa'], topK: 1_000_000_000 });
    expect(answer.status).toBe(200);
    expect((JSON.parse(answer.text) as unknown[]).length).toBeGreaterThan(0);
    await expectServes();
  });
});

describe('unicode edge cases', () => {
  const TEXTS: [string, string][] = [
    ['a lone high surrogate', '\ud800'],
    ['a lone low surrogate inside text', 'Paris\udc00 London'],
    ['reversed surrogates', '\udc00\ud800'],
    ['NUL characters', 'a\u0000b\u0000'],
    ['only NULs', '\u0000'.repeat(1000)],
    ['RTL and bidi marks', '\u202eAlice\u200f flew to \u202bParis\u202c'],
    ['10k emoji', '😀'.repeat(10_000)],
    ['ZWJ families', '👩‍👩‍👧‍👦'.repeat(2000)],
    ['5000 combining marks', `e${'\u0301'.repeat(5000)}`],
    ['a BOM', '\ufeff'],
    ['noncharacters', '\uffff\ufffe'],
    ['zero-width space', '\u200b'],
    ['whitespace only', ' \t\n '],
    ['control characters', '\u0001\u0002\u0003\u007f'],
    ['astral tag characters', '\u{e0041}\u{e0042}'],
    ['1000 CJK characters', '漢'.repeat(1000)],
  ];
  test.each(TEXTS)('%s: 200 or a clean 4xx on every text route', async (_name, text) => {
    const bodies: [string, unknown][] = [
      ['/embed', { inputs: text }],
      ['/embed', { inputs: [text, 'ordinary'] }],
      ['/tokenize', { inputs: text }],
      ['/ner', { inputs: text }],
      ['/predict', { inputs: text }],
      ['/rerank', { query: text, texts: [text] }],
      ['/qa', { question: text, context: text }],
      ['/v1/embeddings', { input: text }],
    ];
    for (const [route, body] of bodies) {
      const answer = await send(route, body);
      expectAnsweredOrRefused(answer, route);
      if (route === '/embed' && answer.status === 200) {
        for (const vector of JSON.parse(answer.text) as number[][]) expect(vector).toHaveLength(WIDTH);
      }
      await expectServes();
    }
  });

  test('invalid UTF-8 bytes in the body: 200 or a clean 4xx', async () => {
    const body = Buffer.concat([
      Buffer.from('{"inputs":"a'),
      Buffer.from([0xff, 0xfe, 0xc3]),
      Buffer.from('b"}'),
    ]);
    for (const route of ['/embed', '/tokenize', '/ner']) {
      expectAnsweredOrRefused(await send(route, body), route);
      await expectServes();
    }
  });
});

describe('model names and paths', () => {
  const NAMES = [
    '../../etc/passwd',
    '/etc/passwd',
    '..\\..\\x',
    '%2e%2e%2f',
    '../embeddings',
    './embeddings',
    'embeddings/',
    'con',
    'NUL',
    'EMBEDDINGS',
    ' embeddings',
    'embeddings\u0000',
    '',
    'x'.repeat(200),
    '__proto__',
    'constructor',
    'toString',
  ];
  const ROUTES: [string, string][] = [
    ['/embed', 'model'],
    ['/predict', 'model'],
    ['/rerank', 'model'],
    ['/tokenize', 'model'],
    ['/ner', 'model'],
    ['/qa', 'model'],
    ['/similarity', 'model'],
    ['/v1/embeddings', 'model'],
  ];
  test.each(ROUTES)('%s: an unknown model name is 404 NotFound, never a file', async (route, field) => {
    for (const name of NAMES) {
      const answer = await send(route, { ...VALID[route], [field]: name });
      if (answer.status !== 404)
        throw new Error(`${route} model=${JSON.stringify(name)}: ${answer.status} ${answer.text}`);
      expectErrorBody(answer, shapeOf(route), shapeOf(route) === 'tei' ? 'NotFound' : undefined);
      expect(answer.text).not.toContain('root:');
      await expectServes();
    }
  });

  test('a 10 kB model name is refused with a clean 4xx', async () => {
    for (const route of ['/embed', '/v1/embeddings', '/qa']) {
      const answer = await send(route, { ...VALID[route], model: 'a'.repeat(10_000) });
      expect(answer.status).toBeGreaterThanOrEqual(400);
      expect(answer.status).toBeLessThan(500);
      const message = expectErrorBody(answer, shapeOf(route));
      // Not echoed back whole.
      expect(message.length).toBeLessThan(2000);
      await expectServes();
    }
  });

  test('/info?model= takes only served names', async () => {
    for (const name of ['../../etc/passwd', '/etc/passwd', 'x'.repeat(10_000)]) {
      const answer = await send(`/info?model=${encodeURIComponent(name)}`, undefined, {
        method: 'GET',
        contentType: null,
      });
      expectError(answer, [404, 414, 422, 431], 'tei');
      await expectServes();
    }
  });
});

describe('routes and methods', () => {
  test.each([
    ['GET', '/nope'],
    ['POST', '/nope'],
    ['POST', '/admin'],
    ['GET', '/embed'],
    ['POST', '/health'],
    ['POST', '/EMBED'],
    ['POST', '/embed/'],
    ['POST', '/embed/x'],
    ['POST', '/v1/embeddings/x'],
    ['POST', '/v2/embeddings'],
    ['PUT', '/embed'],
    ['DELETE', '/embed'],
    ['PATCH', '/embed'],
    ['OPTIONS', '/embed'],
    ['PUT', '/v1/embeddings'],
    ['DELETE', '/v1/embeddings'],
    ['PATCH', '/health'],
    ['DELETE', '/metrics'],
    ['PUT', '/info'],
  ])('%s %s: 404 or 405 JSON', async (method, route) => {
    const bodiless = method === 'GET' || method === 'OPTIONS';
    const answer = await send(route, bodiless ? undefined : VALID['/embed'], {
      method,
      contentType: bodiless ? null : 'application/json',
    });
    expectError(answer, [404, 405], 'either');
    await expectServes();
  });

  test('query strings on POST routes are ignored: the body decides', async () => {
    const plain = await send('/embed', { inputs: 'query strings' });
    const queried = await send('/embed?model=sentiment&inputs=x&normalize=false&__proto__[x]=1', {
      inputs: 'query strings',
    });
    expect(queried.status).toBe(200);
    expect(JSON.parse(queried.text)).toEqual(JSON.parse(plain.text));
    const openai = await send('/v1/embeddings?model=sentiment', { input: 'query strings' });
    expect(openai.status).toBe(200);
    await expectServes();
  });

  test.each([
    '/../../etc/passwd',
    '/x/../embed',
    '/%2e%2e/%2e%2e/etc/passwd',
    '/%2e%2e%2fembed',
    '/v1%2fembeddings',
    '/v1%2Fembeddings',
    '/embed%00',
    '/embed%2f..%2f..%2fetc%2fpasswd',
    '//embed',
    '/.%2e/embed',
    `/${'a'.repeat(8000)}`,
  ])('path %s as sent: 4xx JSON, no file served', (urlPath) => pathCase(urlPath));

  test.each(['/%E0%A4%A', '/%'])('path %s as sent: 4xx JSON', (urlPath) => pathCase(urlPath));

  async function pathCase(urlPath: string): Promise<void> {
    const body = JSON.stringify(VALID['/embed']);
    const answer = await rawExchange(
      `POST ${urlPath} HTTP/1.1\r\n${JSON_HEADERS}Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
    expect(answer.raw).not.toContain('root:');
    expectRawError(answer, [400, 404, 414, 431]);
    expect(answer.body).not.toBe('');
    await expectServes();
  }
});

describe('broken HTTP', () => {
  test('a header over 16 kB is 431 and the server stays up', async () => {
    const answer = await rawExchange(
      `GET /health HTTP/1.1\r\nHost: localhost\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`,
    );
    expectRawError(answer, [431]);
    const many = Array.from({ length: 3000 }, (_, i) => `X-H${i}: v`).join('\r\n');
    expectRawError(await rawExchange(`GET /health HTTP/1.1\r\nHost: localhost\r\n${many}\r\n\r\n`), [431]);
    // Through fetch too: undici sends what it is given.
    await expectServes();
  });

  test('a Content-Length longer than the body, then close: 4xx or closed, never 5xx', async () => {
    const body = JSON.stringify(VALID['/embed']);
    const answer = await rawExchange(
      `POST /embed HTTP/1.1\r\n${JSON_HEADERS}Content-Length: 1000\r\n\r\n${body}`,
      {
        end: true,
      },
    );
    expect(answer.closed).toBe(true);
    if (answer.status !== undefined) expectRawError(answer, [400, 408]);
    await expectServes();
  });

  test.each([
    ['a Content-Length shorter than the body', 'Content-Length: 5\r\n\r\n{"inputs":"hello"}'],
    ['a negative Content-Length', 'Content-Length: -5\r\n\r\n{"inputs":"hello"}'],
    ['two Content-Lengths', 'Content-Length: 18\r\nContent-Length: 19\r\n\r\n{"inputs":"hello"}'],
    ['a non-numeric Content-Length', 'Content-Length: abc\r\n\r\n{"inputs":"hello"}'],
    [
      'a chunk size that is not hex',
      'Transfer-Encoding: chunked\r\n\r\nzz\r\n{"inputs":"hello"}\r\n0\r\n\r\n',
    ],
    [
      'a chunk shorter than its size says',
      'Transfer-Encoding: chunked\r\n\r\n3\r\n{"inputs":"hello"}\r\n0\r\n\r\n',
    ],
    ['a negative chunk size', 'Transfer-Encoding: chunked\r\n\r\n-5\r\n{"in\r\n0\r\n\r\n'],
    [
      'chunked and Content-Length',
      'Content-Length: 18\r\nTransfer-Encoding: chunked\r\n\r\n12\r\n{"inputs":"hello"}\r\n0\r\n\r\n',
    ],
    ['an unknown transfer encoding', 'Transfer-Encoding: gzip, chunked, foo\r\n\r\n0\r\n\r\n'],
  ])('%s: 400, the server stays up', async (_name, rest) => {
    const answer = await rawExchange(`POST /embed HTTP/1.1\r\n${JSON_HEADERS}${rest}`, {
      end: false,
      waitMs: 5000,
    });
    // A body cut short by its length is a complete first request; the leftover bytes are the broken one.
    const statuses = [...answer.raw.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((match) => Number(match[1]));
    expect(statuses.length).toBeGreaterThan(0);
    expect(statuses[statuses.length - 1]).toBe(400);
    expectNoLeaks(answer.raw);
    const lastBody = answer.raw.slice(answer.raw.lastIndexOf('\r\n\r\n') + 4);
    if (lastBody !== '') {
      expectErrorBody({ status: 400, text: lastBody, contentType: 'application/json' }, 'tei');
    }
    await expectServes();
  });

  test('a valid chunked body is answered', async () => {
    const answer = await rawExchange(
      `POST /embed HTTP/1.1\r\n${JSON_HEADERS}Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\n{"inp\r\nd\r\nuts":"hello"}\r\n0\r\n\r\n`,
    );
    expect(answer.status).toBe(200);
    expect((JSON.parse(answer.body) as number[][])[0]).toHaveLength(WIDTH);
  });

  test('HTTP/1.0 without Host is answered', async () => {
    const body = JSON.stringify({ inputs: 'old client' });
    const answer = await rawExchange(
      `POST /embed HTTP/1.0\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
    );
    expect(answer.status).toBe(200);
    expect(answer.closed).toBe(true);
    expect((JSON.parse(answer.body) as number[][])[0]).toHaveLength(WIDTH);
    const health = await rawExchange('GET /health HTTP/1.0\r\n\r\n');
    expect(health.status).toBe(200);
  });

  test('HTTP/1.1 without Host: 400, the server stays up', async () => {
    expectRawError(await rawExchange('GET /health HTTP/1.1\r\n\r\n'), [400]);
    await expectServes();
  });

  test.each([
    ['binary garbage', '\u0000\u0001\u0002\u0003 nonsense\r\n\r\n'],
    ['an HTTP/2 preface', 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'],
    ['an unknown method', 'BREW /embed HTTP/1.1\r\nHost: localhost\r\n\r\n'],
    ['HTTP/9.9', 'GET /health HTTP/9.9\r\nHost: localhost\r\n\r\n'],
    ['a header without a colon', 'GET /health HTTP/1.1\r\nHost: localhost\r\nno colon here\r\n\r\n'],
    ['a bare LF header', 'GET /health HTTP/1.1\nHost: localhost\nX: a\rb\n\n'],
  ])('%s: 400, the server stays up', async (_name, data) => {
    const answer = await rawExchange(data);
    expectRawError(answer, [400, 505]);
    await expectServes();
  });

  test('a pipelined second request on the same connection is answered too', async () => {
    const body = JSON.stringify({ inputs: 'pipelined' });
    const request = `POST /embed HTTP/1.1\r\n${JSON_HEADERS}Content-Length: ${body.length}\r\n`;
    const answer = await rawExchange(`${request}\r\n${body}${request}Connection: close\r\n\r\n${body}`);
    expect([...answer.raw.matchAll(/HTTP\/1\.1 200 /g)]).toHaveLength(2);
  });
});

describe('slow and vanishing clients (--request-timeout 2000)', () => {
  /**
   * Opens a connection, writes `head`, then one byte of `trickle` every 500 ms. Resolves with what
   * came back when the server closes the connection, or after `giveUpMs`.
   */
  function slowClient(
    head: string,
    trickle: string,
    giveUpMs: number,
  ): Promise<RawAnswer & { cut: boolean }> {
    return new Promise((resolve) => {
      const socket = net.connect(port, '127.0.0.1');
      const chunks: Buffer[] = [];
      let sent = 0;
      const drip = setInterval(() => {
        if (sent < trickle.length && socket.writable) socket.write(trickle[sent++]!);
      }, 500);
      const finish = (cut: boolean) => {
        clearInterval(drip);
        clearTimeout(giveUp);
        const raw = Buffer.concat(chunks).toString('utf8');
        const status = /^HTTP\/1\.1 (\d{3})/.exec(raw);
        const split = raw.indexOf('\r\n\r\n');
        resolve({
          ...(status === null ? {} : { status: Number(status[1]) }),
          headers: split < 0 ? raw : raw.slice(0, split),
          body: split < 0 ? '' : raw.slice(split + 4),
          closed: cut,
          raw,
          cut,
        });
      };
      const giveUp = setTimeout(() => {
        socket.destroy();
        finish(false);
      }, giveUpMs);
      socket.on('data', (chunk: Buffer) => chunks.push(chunk));
      socket.on('error', () => undefined);
      socket.on('close', () => finish(true));
      socket.write(head);
    });
  }

  test('a trickled body and a slowloris are cut off while others are answered', async () => {
    const body = JSON.stringify({ inputs: 'a body that arrives one byte at a time' });
    // Were they never cut, the body would take 24 s and the headers forever: give up at 12 s.
    const trickled = slowClient(
      `POST /embed HTTP/1.1\r\n${JSON_HEADERS}Content-Length: ${body.length}\r\n\r\n`,
      body,
      12_000,
    );
    const loris = slowClient(
      'POST /embed HTTP/1.1\r\nHost: localhost\r\n',
      'X-Slow: 1\r\n'.repeat(100),
      12_000,
    );
    let answeredMeanwhile = 0;
    const others = (async () => {
      for (let i = 0; i < 6; i++) {
        await expectServes();
        answeredMeanwhile++;
        await new Promise((resolve) => setTimeout(resolve, 300));
      }
    })();
    const [slowBody, slowHeaders] = await Promise.all([trickled, loris, others]);
    expect(answeredMeanwhile).toBe(6);
    for (const slow of [slowBody, slowHeaders]) {
      // Cut: the server closed the connection, with a 408 or without a word; never a 200.
      expect(slow.cut).toBe(true);
      if (slow.status !== undefined) expectRawError(slow, [408]);
    }
    await expectServes();
  }, 30_000);

  test('100 connections dropped mid-request leave nothing behind', async () => {
    const before = await metrics();
    const rssBefore = residentBytes(server.child.pid!);
    const body = JSON.stringify({ inputs: ['a request whose client vanishes', 'and its second input'] });
    const drops = Array.from({ length: 100 }, (_, i) => {
      const kind = i % 4;
      return new Promise<void>((resolve) => {
        const socket = net.connect(port, '127.0.0.1', () => {
          if (kind === 0) socket.write('POST /embed HTTP/1.1\r\nHost: localhost\r\nContent-Ty');
          else if (kind === 1) {
            socket.write(`POST /embed HTTP/1.1\r\n${JSON_HEADERS}Content-Length: ${body.length}\r\n\r\n`);
            socket.write(body.slice(0, body.length >> 1));
          } else {
            // The whole request, then gone before (kind 2) or while (kind 3) the server works on it.
            socket.write(
              `POST /embed HTTP/1.1\r\n${JSON_HEADERS}Content-Length: ${body.length}\r\n\r\n${body}`,
            );
          }
          setTimeout(() => socket.destroy(), kind === 3 ? 20 : 0);
        });
        socket.on('error', () => undefined);
        socket.on('close', () => resolve());
      });
    });
    await Promise.all(drops);
    await expectServes();
    // Requests the server had begun end as answered or dropped, and nothing stays queued.
    let after = await metrics();
    for (let i = 0; i < 50 && metric(after, 'te_queue_size') > 0; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      after = await metrics();
    }
    expect(metric(after, 'te_queue_size')).toBe(0);
    const delta = (err: string) =>
      metric(after, 'te_request_failure', { err }) - metric(before, 'te_request_failure', { err });
    expect(delta('inference')).toBe(0);
    expect(delta('overloaded')).toBe(0);
    expect(delta('unhealthy')).toBe(0);
    const count = metric(after, 'te_request_count') - metric(before, 'te_request_count');
    const success = metric(after, 'te_request_success') - metric(before, 'te_request_success');
    // The 50 whole requests (and the probes) were started; each one ended as a success or a drop.
    expect(count).toBe(success + delta('dropped'));
    // Two hundred small requests cost no lasting memory (a leak of their buffers would show).
    expect(residentBytes(server.child.pid!) - rssBefore).toBeLessThan(256 * 2 ** 20);
  });
});

describe('overload (--max-concurrent-requests 4)', () => {
  let busy: ServerProcess;

  beforeAll(async () => {
    busy = await spawnServer([
      '--model',
      `embeddings=${EMBEDDINGS}`,
      '--max-concurrent-requests',
      '4',
      '--max-batch-requests',
      '2',
    ]);
    await busy.ready;
  }, 60_000);

  afterAll(async () => {
    if (busy !== undefined && busy.child.exitCode === null) {
      busy.child.kill('SIGKILL');
      await busy.exited;
    }
  });

  const longText = (i: number) => `Request ${i}: ${wordsOfLength(1200)}`;

  test('20 concurrent requests of 2 inputs: some 429 Overloaded, the rest 200, none 5xx', async () => {
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        send('/embed', { inputs: [longText(i), longText(i + 100)] }, { base: busy.url }),
      ),
    );
    const statuses = answers.map((answer) => answer.status);
    expect(statuses.every((status) => status === 200 || status === 429)).toBe(true);
    expect(statuses.filter((status) => status === 429).length).toBeGreaterThan(0);
    expect(statuses.filter((status) => status === 200).length).toBeGreaterThan(0);
    for (const answer of answers) {
      if (answer.status === 429) {
        expect(JSON.parse(answer.text)).toEqual({ error: 'Model is overloaded', error_type: 'Overloaded' });
      } else {
        const vectors = JSON.parse(answer.text) as number[][];
        expect(vectors.map((vector) => vector.length)).toEqual([WIDTH, WIDTH]);
      }
    }
    // OpenAI's shape for the same refusal.
    const openai = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        send('/v1/embeddings', { input: [longText(i), longText(i + 1)] }, { base: busy.url }),
      ),
    );
    for (const answer of openai) {
      expect([200, 429]).toContain(answer.status);
      if (answer.status === 429) {
        expect(JSON.parse(answer.text)).toMatchObject({ error: { message: 'Model is overloaded' } });
      }
    }
  });

  test('permits come back from refused, failed and abandoned requests', async () => {
    // Requests that fail inside the inference (too long with truncation off) and requests whose
    // client goes away mid-forward, both while others hold permits.
    const failing = Array.from({ length: 4 }, () =>
      send('/embed', { inputs: [wordsOfLength(5000), 'x'], truncate: false }, { base: busy.url }),
    );
    const abandoned = Array.from({ length: 6 }, async (_, i) => {
      const controller = new AbortController();
      const request = fetch(`${busy.url}/embed`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ inputs: [longText(i), longText(i + 50)] }),
        signal: controller.signal,
      }).catch(() => undefined);
      setTimeout(() => controller.abort(), 30 + 20 * i);
      await request;
    });
    const settled = await Promise.all([...failing, ...abandoned]);
    for (const answer of settled.slice(0, 4) as Answer[]) {
      expect([413, 422, 429]).toContain(answer.status);
      expectErrorBody(answer, 'tei');
    }
    // Every permit is free again: a request needing all four is admitted, repeatedly.
    let queue = await metrics(busy.url);
    for (let i = 0; i < 50 && metric(queue, 'te_queue_size') > 0; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      queue = await metrics(busy.url);
    }
    for (let i = 0; i < 3; i++) {
      const answer = await send('/embed', { inputs: ['a', 'b', 'c', 'd'] }, { base: busy.url });
      expect(answer.status).toBe(200);
      expect(JSON.parse(answer.text)).toHaveLength(4);
    }
    // And five inputs never fit four permits.
    expectError(
      await send('/embed', { inputs: ['a', 'b', 'c', 'd', 'e'] }, { base: busy.url }),
      429,
      'tei',
      'Overloaded',
    );
    await expectServes(busy.url);
  });
});

test('after all of it the server process is alive and healthy', async () => {
  expect(server.child.exitCode).toBeNull();
  expect(server.child.signalCode).toBeNull();
  const health = await send('/health', undefined, { method: 'GET', contentType: null });
  expect(health.status).toBe(200);
  await expectServes();
  // Nothing it logged was an internal error.
  const internal = server.logs.filter((entry) => typeof entry.level === 'number' && entry.level >= 50);
  expect(internal).toEqual([]);
});
