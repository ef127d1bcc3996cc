import { spawn, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { startServer, type RunningServer, type ServeOptions } from '../../lib/server/serve';
import type { ModelSpec } from '../../lib/server/models';

const ROOT = path.join(__dirname, '..', '..');
export const CLI = path.join(ROOT, 'dist', 'lib', 'cli.js');

/** The demo models by the names `torch-encoders serve` gives them without --model. */
export const DEMO_MODEL_SPECS: ModelSpec[] = ['embeddings', 'sentiment', 'rerank', 'ner', 'qa'].map(
  (name) => ({
    name,
    dir: path.join(ROOT, 'models', name),
  }),
);

/** An in-process server on a free loopback port with the demo models, ready (loaded and warm). */
export async function startDemoServer(options: Partial<ServeOptions> = {}): Promise<RunningServer> {
  const server = await startServer({
    port: 0,
    host: '127.0.0.1',
    models: DEMO_MODEL_SPECS,
    version: 'test',
    threads: 1,
    ...options,
  });
  await server.ready;
  return server;
}

export interface ServerProcess {
  child: ChildProcess;
  url: string;
  /** Every JSON log line so far. */
  logs: Record<string, unknown>[];
  /** Settles with the exit code (or the signal's name) when the process ends. */
  exited: Promise<number | string>;
  /** Resolves when the log says 'ready' (rejects when the process ends first). */
  ready: Promise<void>;
}

/**
 * `torch-encoders serve --port 0 ...args` as a child process (dist/lib/cli.js: run `npm run build:ts`
 * first); the url comes from its 'listening' log line.
 */
export function spawnServer(
  args: readonly string[] = [],
  env: NodeJS.ProcessEnv = {},
): Promise<ServerProcess> {
  const child = spawn(process.execPath, [CLI, 'serve', '--port', '0', '--threads', '1', ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: Record<string, unknown>[] = [];
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | string>((resolve) =>
    child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')),
  );
  let markReady: () => void;
  let failReady: (error: Error) => void;
  const ready = new Promise<void>((resolve, reject) => {
    markReady = resolve;
    failReady = reject;
  });
  ready.catch(() => undefined);
  return new Promise((resolve, reject) => {
    let url: string | undefined;
    readline.createInterface({ input: child.stdout! }).on('line', (line) => {
      let entry: Record<string, unknown>;
      try {
        entry = JSON.parse(line) as Record<string, unknown>;
      } catch {
        return;
      }
      logs.push(entry);
      if (url === undefined && typeof entry.url === 'string') {
        url = entry.url;
        resolve({ child, url, logs, exited, ready });
      }
      if (entry.msg === 'ready') markReady();
    });
    void exited.then((code) => {
      const error = new Error(`torch-encoders serve exited (${code}) before it was ready; stderr: ${stderr}`);
      failReady(error);
      reject(error);
    });
  });
}

/** POSTs `body` as JSON and returns the status, headers and parsed body. */
export async function postJson(
  url: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: Headers; body: unknown }> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // Not JSON: the text itself.
  }
  return { status: response.status, headers: response.headers, body: parsed };
}

/** Sums the Prometheus samples of `name` in `text` whose labels include every pair of `labels`. */
export function metricSum(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    const match = /^([a-z_]+)(?:\{([^}]*)\})? ([-+0-9.eE]+|NaN)$/.exec(line);
    if (match === null || match[1] !== name) continue;
    const present = Object.fromEntries(
      (match[2] ?? '')
        .split(',')
        .filter(Boolean)
        .map((pair) => {
          const [key, value] = pair.split('=');
          return [key!, JSON.parse(value!) as string];
        }),
    );
    if (Object.entries(labels).every(([key, value]) => present[key] === value)) sum += Number(match[3]);
  }
  return sum;
}
