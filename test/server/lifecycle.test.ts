// The life of a `torch-encoders serve` process (dist/lib/cli.js, spawned as deployed): readiness
// while the models load, work cancelled when its client goes away, SIGTERM and SIGINT with requests
// in flight, models that cannot load, and the ways of naming the models to serve.
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { metricSum as metric, spawnServer, type ServerProcess } from '../helpers/server';

const ROOT = path.resolve(__dirname, '../..');
const MODELS = path.join(ROOT, 'models');
const EMBEDDINGS = path.join(MODELS, 'embeddings');
const WIDTH = 384; // all-MiniLM-L6-v2's hidden size

const running: ServerProcess[] = [];

async function spawn(args: string[]): Promise<ServerProcess> {
  const server = await spawnServer(args);
  running.push(server);
  return server;
}

afterAll(async () => {
  for (const server of running) {
    if (server.child.exitCode === null && server.child.signalCode === null) {
      server.child.kill('SIGCONT');
      server.child.kill('SIGKILL');
    }
    await server.exited;
  }
});

interface Answer {
  route: string;
  status: number;
  body: string;
  /** performance.now() when the request was sent and when its answer had arrived. */
  sentAt: number;
  answeredAt: number;
}

async function call(base: string, route: string, body?: unknown, signal?: AbortSignal): Promise<Answer> {
  const sentAt = performance.now();
  const response = await fetch(base + route, {
    method: body === undefined ? 'GET' : 'POST',
    ...(body === undefined
      ? {}
      : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
    ...(signal === undefined ? {} : { signal }),
  });
  const text = await response.text();
  return { route, status: response.status, body: text, sentAt, answeredAt: performance.now() };
}

/** POSTs JSON on a connection of its own that closes after the answer (fetch keeps its connections). */
function postOnce(base: string, route: string, body: unknown): Promise<Answer> {
  const sentAt = performance.now();
  const payload = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const request = http.request(
      base + route,
      {
        method: 'POST',
        agent: false,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) },
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('error', reject);
        response.on('end', () =>
          resolve({
            route,
            status: response.statusCode!,
            body: Buffer.concat(chunks).toString('utf8'),
            sentAt,
            answeredAt: performance.now(),
          }),
        );
      },
    );
    request.on('error', reject);
    request.end(payload);
  });
}

async function metrics(base: string): Promise<string> {
  const answer = await call(base, '/metrics');
  expect(answer.status).toBe(200);
  return answer.body;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `check` every `everyMs` until it is true; throws after `attempts` tries. */
async function until(
  what: string,
  check: () => Promise<boolean>,
  attempts = 400,
  everyMs = 25,
): Promise<void> {
  for (let i = 0; i < attempts; i++) {
    if (await check()) return;
    await sleep(everyMs);
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** About `tokens` WordPiece tokens of ordinary words, distinct for each `seed`. */
function longText(seed: number, tokens = 240): string {
  const words = ['river', 'station', 'morning', 'garden', 'window', 'letter', 'market', 'winter', 'bridge'];
  const body = Array.from({ length: tokens - 4 }, (_, i) => words[(i * 7 + seed * 13) % words.length]);
  return `Passage ${seed}: ${body.join(' ')}`;
}

function expectUnitVectors(body: string, count: number): number[][] {
  const vectors = JSON.parse(body) as number[][];
  expect(vectors).toHaveLength(count);
  for (const vector of vectors) {
    expect(vector).toHaveLength(WIDTH);
    expect(vector.every(Number.isFinite)).toBe(true);
    expect(Math.hypot(...vector)).toBeCloseTo(1, 4);
  }
  return vectors;
}

function expectTeiError(answer: Answer, status: number, errorType: string): void {
  expect(answer.status).toBe(status);
  const body = JSON.parse(answer.body) as Record<string, unknown>;
  expect(Object.keys(body).sort()).toEqual(['error', 'error_type']);
  expect(typeof body.error).toBe('string');
  expect(body.error_type).toBe(errorType);
}

function logIndex(server: ServerProcess, message: RegExp): number {
  return server.logs.findIndex((entry) => typeof entry.msg === 'string' && message.test(entry.msg));
}

test('readiness: /health and the inference routes answer 503 Unhealthy while the models load, then 200', async () => {
  // The five demo models load one after another.
  const server = await spawn([]);
  // Frozen the moment it says it listens, so the first requests reach it while it is loading on
  // any machine, however fast: the kernel queues their connections until it runs again.
  server.child.kill('SIGSTOP');
  const inference: [string, unknown][] = [
    ['/embed', { inputs: 'Is it ready?' }],
    ['/predict', { inputs: 'Is it ready?' }],
    ['/ner', { inputs: 'Alice flew to Paris.' }],
    ['/v1/embeddings', { input: 'Is it ready?' }],
  ];
  const early = [
    call(server.url, '/health'),
    ...inference.map(([route, body]) => call(server.url, route, body)),
  ];
  await sleep(200);
  server.child.kill('SIGCONT');
  const answers: Answer[] = await Promise.all(early);
  let round = 0;
  while (
    !answers.some((a) => a.route === '/health' && a.status === 200) ||
    !answers.some((a) => a.route !== '/health' && a.status === 200)
  ) {
    if (round++ > 3000) throw new Error('the server never became ready');
    await sleep(10);
    const [route, body] = inference[round % inference.length]!;
    answers.push(...(await Promise.all([call(server.url, '/health'), call(server.url, route, body)])));
  }
  await server.ready;
  expect(logIndex(server, /^listening/)).toBeLessThan(logIndex(server, /^ready$/));

  const health = answers.filter((a) => a.route === '/health');
  const work = answers.filter((a) => a.route !== '/health');
  for (const answer of answers) expect([200, 503]).toContain(answer.status);
  const unhealthy = health.filter((a) => a.status === 503);
  const loadingWork = work.filter((a) => a.status === 503);
  // The loading state was seen, on /health and on every inference route asked while frozen.
  expect(unhealthy.length).toBeGreaterThan(0);
  for (const answer of unhealthy) expectTeiError(answer, 503, 'Unhealthy');
  expect(new Set(loadingWork.map((a) => a.route))).toEqual(new Set(inference.map(([route]) => route)));
  for (const answer of loadingWork) {
    if (answer.route === '/v1/embeddings') {
      expect(JSON.parse(answer.body)).toMatchObject({ error: { message: expect.any(String) } });
    } else {
      expectTeiError(answer, 503, 'Unhealthy');
    }
  }
  // Loading comes before ready and never after: an inference route never answered 200 before
  // /health could have, and /health never answered 200 before the routes could have.
  for (const ok of work.filter((a) => a.status === 200)) {
    for (const notYet of unhealthy) expect(notYet.sentAt).toBeLessThan(ok.answeredAt);
  }
  for (const ok of health.filter((a) => a.status === 200)) {
    for (const notYet of loadingWork) expect(notYet.sentAt).toBeLessThan(ok.answeredAt);
  }
  // Once healthy, healthy: nothing sent after the first 200 was answered 503.
  const firstReady = Math.min(...answers.filter((a) => a.status === 200).map((a) => a.answeredAt));
  expect(answers.filter((a) => a.sentAt > firstReady && a.status !== 200)).toEqual([]);
  expect((await call(server.url, '/health')).body).toBe('');
  server.child.kill('SIGTERM');
  expect(await server.exited).toBe(0);
});

test('a client that disconnects cancels its queued forwards', async () => {
  // One row a forward and one forward at a time: a request of 32 texts is 32 queued forwards.
  const server = await spawn([
    '--model',
    `embeddings=${EMBEDDINGS}`,
    '--max-batch-requests',
    '1',
    '--workers',
    '1',
  ]);
  await server.ready;
  const before = await metrics(server.url);
  const forwards = (text: string) => metric(text, 'te_batch_next_size_count', { model: 'embeddings' });
  const dropped = (text: string) => metric(text, 'te_request_failure', { err: 'dropped' });
  const controller = new AbortController();
  const texts = Array.from({ length: 32 }, (_, i) => longText(i));
  const abandoned = call(server.url, '/embed', { inputs: texts }, controller.signal).then(
    () => 'answered',
    () => 'aborted',
  );
  await until(
    'the first forward',
    async () => forwards(await metrics(server.url)) > forwards(before),
    2000,
    5,
  );
  controller.abort();
  expect(await abandoned).toBe('aborted');
  await until('the drop to be counted', async () => dropped(await metrics(server.url)) > dropped(before));
  // A following request queues behind whatever was left, so once it is answered the abandoned
  // request's forwards have run or been skipped for good.
  const next = await call(server.url, '/embed', { inputs: 'After the disconnect.' });
  expect(next.status).toBe(200);
  expectUnitVectors(next.body, 1);
  const after = await metrics(server.url);
  const ran = forwards(after) - forwards(before) - 1;
  expect(ran).toBeGreaterThanOrEqual(1);
  expect(ran).toBeLessThan(16);
  expect(dropped(after) - dropped(before)).toBe(1);
  expect(metric(after, 'te_queue_size')).toBe(0);
  server.child.kill('SIGTERM');
  expect(await server.exited).toBe(0);
});

describe.each(['SIGTERM', 'SIGINT'] as const)('%s with requests in flight', (signal) => {
  test('answers every one in full, refuses new work, logs and exits 0', async () => {
    // A grace far longer than the test: the process ends because its work is done.
    const server = await spawn(['--model', `embeddings=${EMBEDDINGS}`, '--shutdown-grace', '600000']);
    await server.ready;
    // Six requests of a few seconds' work in all (one intra-op thread): the same texts in six
    // rotations, so their answers can be compared.
    const texts = Array.from({ length: 8 }, (_, i) => longText(i, 120));
    const rotations = [0, 1, 2, 3, 5, 7];
    let answered = 0;
    const inFlight = rotations.map((shift) =>
      postOnce(server.url, '/embed', { inputs: [...texts.slice(shift), ...texts.slice(0, shift)] }).finally(
        () => answered++,
      ),
    );
    await until('the six requests to be admitted', async () => {
      return metric(await metrics(server.url), 'te_request_count', { model: 'embeddings' }) >= 6;
    });
    expect(answered).toBeLessThan(6);
    server.child.kill(signal);
    await until('the shutdown to begin', async () => logIndex(server, /^shutting down/) >= 0, 400, 5);
    // A new connection is refused, or answered 503 while the server drains.
    const late = await call(server.url, '/embed', { inputs: 'Too late.' }).then(
      (answer) => ({ answer }),
      (error: Error) => ({ error }),
    );
    if ('error' in late) {
      const cause = late.error.cause as { code?: string } | undefined;
      expect(String(cause?.code ?? late.error.message)).toMatch(/ECONNREFUSED|ECONNRESET|UND_ERR_SOCKET/);
    } else {
      expect(late.answer.status).toBe(503);
    }
    const answers = await Promise.all(inFlight);
    const byText = new Map<string, number[]>();
    answers.forEach((answer, i) => {
      expect(answer.status).toBe(200);
      const vectors = expectUnitVectors(answer.body, texts.length);
      vectors.forEach((vector, j) => {
        const text = texts[(j + rotations[i]!) % texts.length]!;
        const seen = byText.get(text);
        if (seen === undefined) byText.set(text, vector);
        else for (let k = 0; k < WIDTH; k++) expect(Math.abs(vector[k]! - seen[k]!)).toBeLessThan(1e-4);
      });
    });
    expect(byText.size).toBe(texts.length);
    // Generous: it needs milliseconds once the answers are out.
    const hung = sleep(15_000).then(() => 'still running 15 s after its last answer');
    expect(await Promise.race([server.exited, hung])).toBe(0);
    const shuttingDown = logIndex(server, /^shutting down/);
    expect(server.logs[shuttingDown]).toMatchObject({ signal });
    expect(logIndex(server, /^stopped$/)).toBeGreaterThan(shuttingDown);
  });
});

// A keep-alive connection answered while draining must not hold the process until --shutdown-grace
// (30 s by default, Kubernetes' whole termination grace): answers then close their connections.
test('a keep-alive client answered during the drain does not hold the shutdown', async () => {
  const server = await spawn(['--model', `embeddings=${EMBEDDINGS}`, '--shutdown-grace', '600000']);
  await server.ready;
  // fetch keeps its connection open after the answer, as most HTTP clients do.
  const inFlight = call(server.url, '/embed', {
    inputs: Array.from({ length: 8 }, (_, i) => longText(i, 120)),
  });
  await until('the request to be admitted', async () => {
    return metric(await metrics(server.url), 'te_request_count', { model: 'embeddings' }) >= 1;
  });
  server.child.kill('SIGTERM');
  expect((await inFlight).status).toBe(200);
  const hung = sleep(15_000).then(() => 'still running 15 s after its last answer');
  expect(await Promise.race([server.exited, hung])).toBe(0);
}, 40_000);

/** Polls /health until the process exits; returns what it answered and the error it printed. */
async function failedStart(
  args: string[],
): Promise<{ code: number | string; statuses: number[]; stderr: string }> {
  const statuses: number[] = [];
  let stderr = '';
  let server: ServerProcess;
  try {
    server = await spawn(args);
  } catch (error) {
    // It exited before it even listened.
    return { code: -1, statuses, stderr: (error as Error).message.replace(/^[^]*stderr: /, '') };
  }
  let exited = false;
  void server.exited.then(() => (exited = true));
  const failure = server.ready.then(
    () => undefined,
    (error: Error) => (stderr = error.message.replace(/^[^]*stderr: /, '')),
  );
  while (!exited) {
    const answer = await call(server.url, '/health').catch(() => undefined);
    if (answer !== undefined) statuses.push(answer.status);
    await sleep(20);
  }
  await failure;
  return { code: await server.exited, statuses, stderr };
}

test('a model that cannot be loaded: exit non-zero with a one-line error naming the directory', async () => {
  const { code, statuses, stderr } = await failedStart(['--model', 'bad=/nonexistent/dir']);
  expect(code).not.toBe(0);
  expect(typeof code).toBe('number');
  expect(statuses).not.toContain(200);
  expect(stderr.trim().split('\n')).toHaveLength(1);
  expect(stderr).toMatch(/^torch-encoders: /);
  expect(stderr).toContain('/nonexistent/dir');
  expect(stderr).toMatch(/not a directory|not found|no such/i);
  expect(stderr).not.toMatch(/\n\s+at /);
});

describe('naming the models: --model NAME=DIR, NAME:TASK=DIR and --config FILE', () => {
  test('serves them under the given names', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'serve-config-'));
    const config = path.join(dir, 'models.json');
    fs.writeFileSync(
      config,
      JSON.stringify({ models: [{ name: 'reader-x', path: path.join(MODELS, 'qa') }] }),
    );
    try {
      const server = await spawn([
        '--config',
        config,
        '--model',
        `vectors=${EMBEDDINGS}`,
        '--model',
        `mood:text-classification=${path.join(MODELS, 'sentiment')}`,
      ]);
      await server.ready;
      const info = JSON.parse((await call(server.url, '/info')).body) as {
        models: { name: string; task: string }[];
      };
      expect(info.models.map(({ name, task }) => [name, task])).toEqual([
        ['reader-x', 'question-answering'],
        ['vectors', 'feature-extraction'],
        ['mood', 'text-classification'],
      ]);
      expectUnitVectors((await call(server.url, '/embed', { inputs: 'Named.', model: 'vectors' })).body, 1);
      const mood = await call(server.url, '/predict', { inputs: 'A wonderful film.', model: 'mood' });
      expect(mood.status).toBe(200);
      expect((JSON.parse(mood.body) as { label: string }[]).map(({ label }) => label).sort()).toEqual([
        'negative',
        'positive',
      ]);
      const answer = await call(server.url, '/qa', {
        question: 'Where did Alice fly?',
        context: 'Alice flew to Paris on Monday.',
        model: 'reader-x',
      });
      expect(answer.status).toBe(200);
      expect(JSON.parse(answer.body)).toMatchObject([{ answer: expect.stringContaining('Paris') }]);
      // The demo names are not served, and the routes take their task's model without a name.
      expectTeiError(await call(server.url, '/embed', { inputs: 'x', model: 'embeddings' }), 404, 'NotFound');
      expect((await call(server.url, '/embed', { inputs: 'Unnamed.' })).status).toBe(200);
      expectTeiError(await call(server.url, '/ner', { inputs: 'Alice.' }), 400, 'Validation');
      server.child.kill('SIGTERM');
      expect(await server.exited).toBe(0);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a name given twice is refused at start', async () => {
    const { code, statuses, stderr } = await failedStart([
      '--model',
      `twice=${EMBEDDINGS}`,
      '--model',
      `twice=${path.join(MODELS, 'sentiment')}`,
    ]);
    expect(code).not.toBe(0);
    expect(statuses).not.toContain(200);
    expect(stderr.trim().split('\n')).toHaveLength(1);
    expect(stderr).toContain("'twice'");
  });
});
