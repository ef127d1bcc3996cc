// Scale-out (issue 13): two `torch-encoders serve` processes as stateless replicas behind Debian's
// nginx, the README's deployment config. Both replicas serve; then one is SIGKILLed under a steady
// stream of requests and the other carries the traffic. nginx retries a request whose replica died
// under it (proxy_next_upstream ... non_idempotent, since /embed is a POST) and stops choosing the dead
// one (max_fails), so only requests in flight on the killed replica may fail, and after its exit none.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { postJson, spawnServer, type ServerProcess } from '../helpers/server';

const NGINX = '/usr/sbin/nginx';
const ROOT = path.resolve(__dirname, '../..');
const MODEL = 'embeddings';
const CLIENTS = 4;
const TEXTS = [
  'The quick brown fox jumps over the lazy dog.',
  'Stateless replicas can be added or removed at any time.',
  'A load balancer spreads requests over the servers behind it.',
  'Encoders turn sentences into vectors.',
];

/**
 * The README's nginx config plus what lets nginx run unprivileged from a scratch directory: pid,
 * logs and temp paths inside `dir`, and an access log naming the replica(s) each request went to.
 */
function nginxConfig(dir: string, port: number, replicas: readonly string[]): string {
  const at = (name: string) => path.join(dir, name);
  return `
${process.getuid?.() === 0 ? `user ${os.userInfo().username};` : ''}
worker_processes 1;
pid ${at('nginx.pid')};
error_log ${at('error.log')} warn;
events { worker_connections 256; }
http {
  client_body_temp_path ${at('client_body')};
  proxy_temp_path ${at('proxy')};
  fastcgi_temp_path ${at('fastcgi')};
  uwsgi_temp_path ${at('uwsgi')};
  scgi_temp_path ${at('scgi')};
  log_format upstreams '$request_uri $status upstream=$upstream_addr upstream_status=$upstream_status';
  access_log ${at('access.log')} upstreams;

  upstream torch_encoders {
${replicas.map((address) => `    server ${address} max_fails=1 fail_timeout=10s;`).join('\n')}
    keepalive 32;
  }
  server {
    listen 127.0.0.1:${port};
    client_max_body_size 2m;
    location / {
      proxy_pass http://torch_encoders;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host;
      proxy_next_upstream error timeout http_503 non_idempotent;
      proxy_next_upstream_tries 2;
      proxy_connect_timeout 2s;
      proxy_read_timeout 60s;
    }
  }
}
`;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await sleep(20);
}

interface Nginx {
  child: ChildProcess;
  url: string;
  exited: Promise<number | string>;
  logs(): string;
}

/**
 * nginx in the foreground, in its own process group (master and worker end together). The port
 * is picked free just before; another process may take it first, so a bind failure retries.
 */
async function startNginx(dir: string, replicas: readonly string[]): Promise<Nginx> {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const conf = path.join(dir, 'nginx.conf');
    fs.writeFileSync(conf, nginxConfig(dir, port, replicas));
    // -e: the error log before the config is read (the build's default may be a system path).
    const child = spawn(NGINX, ['-p', `${dir}/`, '-c', conf, '-e', 'stderr', '-g', 'daemon off;'], {
      detached: true,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    let exitCode: number | string | undefined;
    const exited = new Promise<number | string>((resolve) =>
      child.once('exit', (code, signal) => resolve((exitCode = code ?? signal ?? 'unknown'))),
    );
    const logs = () => {
      const errorLog = path.join(dir, 'error.log');
      return stderr + (fs.existsSync(errorLog) ? fs.readFileSync(errorLog, 'utf8') : '');
    };
    const url = `http://127.0.0.1:${port}`;
    // nginx writes its pid file once it holds its sockets: until then, whatever answers on the
    // port may be another process that took it first.
    const listening = () => {
      try {
        return fs.readFileSync(path.join(dir, 'nginx.pid'), 'utf8').trim() === String(child.pid);
      } catch {
        return false;
      }
    };
    const deadline = Date.now() + 15_000;
    while (exitCode === undefined && Date.now() < deadline) {
      const status = !listening()
        ? 0
        : await fetch(`${url}/health`, { signal: AbortSignal.timeout(2_000) }).then(
            (response) => response.status,
            () => 0,
          );
      if (status === 200) return { child, url, exited, logs };
      await sleep(50);
    }
    if (exitCode === undefined) {
      process.kill(-child.pid!, 'SIGKILL');
      await exited;
      throw new Error(`nginx did not answer /health with 200 through ${url}; its log:\n${logs()}`);
    }
    if (!/Address already in use/.test(logs()) || attempt === 3) {
      throw new Error(`nginx exited (${exitCode}); its log:\n${logs()}`);
    }
  }
}

/** te_request_count of the model, over its `method` labels, from a replica's own /metrics. */
async function requestCount(replica: ServerProcess): Promise<number> {
  const text = await (await fetch(`${replica.url}/metrics`)).text();
  let total = 0;
  for (const line of text.split('\n')) {
    const match = /^te_request_count\{([^}]*)\} (\S+)$/.exec(line);
    if (match !== null && match[1]!.split(',').includes(`model="${MODEL}"`)) total += Number(match[2]);
  }
  return total;
}

function cosine(a: readonly number[], b: readonly number[]): number {
  let dot = 0;
  let aa = 0;
  let bb = 0;
  a.forEach((x, i) => {
    dot += x * b[i]!;
    aa += x * x;
    bb += b[i]! * b[i]!;
  });
  return dot / Math.sqrt(aa * bb);
}

type Phase = 'before kill' | 'while dying' | 'after exit';

interface Outcome {
  phase: Phase;
  /** 'ok', or why the request failed (a status and body, or the fetch error). */
  result: string;
}

describe('two replicas behind nginx', () => {
  let dir: string;
  const replicas: ServerProcess[] = [];
  let nginx: Nginx | undefined;
  /** TEXTS' embeddings from a replica directly: what nginx must pass through unchanged. */
  let reference: number[][];

  beforeAll(async () => {
    if (!fs.existsSync(NGINX)) {
      throw new Error(
        `The scale-out test needs Debian's nginx at ${NGINX}: \`apt-get install nginx\` (tools/setup.sh installs it)`,
      );
    }
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'torch-encoders-scale-out-'));
    const started = await Promise.allSettled(
      [0, 1].map(() => spawnServer(['--model', `${MODEL}=${path.join(ROOT, 'models', MODEL)}`])),
    );
    for (const result of started) if (result.status === 'fulfilled') replicas.push(result.value);
    for (const result of started) if (result.status === 'rejected') throw result.reason;
    await Promise.all(replicas.map((replica) => replica.ready));
    nginx = await startNginx(
      dir,
      replicas.map((replica) => new URL(replica.url).host),
    );
    const direct = await postJson(`${replicas[0]!.url}/embed`, { inputs: TEXTS });
    expect(direct.status).toBe(200);
    reference = direct.body as number[][];
  }, 60_000);

  afterAll(async () => {
    if (nginx !== undefined) {
      try {
        process.kill(-nginx.child.pid!, 'SIGKILL');
      } catch {
        // Already gone.
      }
      await nginx.exited;
    }
    for (const replica of replicas) {
      if (replica.child.exitCode === null && replica.child.signalCode === null) replica.child.kill('SIGKILL');
    }
    await Promise.all(replicas.map((replica) => replica.exited));
    if (dir !== undefined) fs.rmSync(dir, { recursive: true, force: true });
  });

  /**
   * One /embed through nginx: 'ok' when the vector is the one a replica gives directly, 'wrong: ...'
   * when a 200 carries anything else (a bug, never excused by the kill), else why it failed.
   */
  async function embed(n: number): Promise<string> {
    const index = n % TEXTS.length;
    let status: number;
    let body: string;
    try {
      const response = await fetch(`${nginx!.url}/embed`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ inputs: TEXTS[index] }),
        signal: AbortSignal.timeout(20_000),
      });
      status = response.status;
      body = await response.text();
    } catch (error) {
      return `fetch failed: ${(error as Error).message}`;
    }
    if (status !== 200) return `${status} ${body}`;
    let vectors: unknown;
    try {
      vectors = JSON.parse(body);
    } catch {
      return `wrong: ${body.slice(0, 200)}`;
    }
    const expected = reference[index]!;
    const good =
      Array.isArray(vectors) &&
      vectors.length === 1 &&
      vectors[0]!.length === expected.length &&
      cosine(vectors[0]!, expected) > 0.9999;
    return good ? 'ok' : `wrong: ${body.slice(0, 200)}`;
  }

  // Separate tests share the processes: the kill comes last.
  test('both replicas serve requests sent through nginx', async () => {
    const before = await Promise.all(replicas.map(requestCount));
    const results = await Promise.all(
      Array.from({ length: CLIENTS }, async (_, client) => {
        const mine: string[] = [];
        for (let i = 0; i < 40 / CLIENTS; i++) mine.push(await embed(client + i * CLIENTS));
        return mine;
      }),
    );
    expect(results.flat()).toEqual(Array(40).fill('ok'));
    const after = await Promise.all(replicas.map(requestCount));
    const served = after.map((count, i) => count - before[i]!);
    console.log(
      `scale-out, part 1 (${spawnSync(NGINX, ['-v']).stderr.toString().trim()}): ` +
        `40 /embed requests through nginx, ${CLIENTS} clients: ` +
        `replica 1 (${replicas[0]!.url}) served ${served[0]}, replica 2 (${replicas[1]!.url}) served ${served[1]}`,
    );
    expect(served[0]).toBeGreaterThan(0);
    expect(served[1]).toBeGreaterThan(0);
    expect(served[0]! + served[1]!).toBe(40);
  });

  test('after one replica is SIGKILLed, the other carries the traffic', async () => {
    const [survivor, victim] = replicas as [ServerProcess, ServerProcess];
    const [survivorStart, victimStart] = await Promise.all([requestCount(survivor), requestCount(victim)]);
    const outcomes: Outcome[] = [];
    let phase: Phase = 'before kill';
    let stop = false;
    let sent = 0;
    const started = Date.now();
    const clients = Array.from({ length: CLIENTS }, async () => {
      while (!stop) {
        const at = phase;
        const result = await embed(sent++);
        outcomes.push({ phase: at, result });
      }
    });
    const count = (which: Phase) => outcomes.filter((outcome) => outcome.phase === which).length;

    // Both replicas busy for a while first, whatever the machine's speed.
    await until(() => outcomes.length >= 30 && Date.now() - started >= 1_000);
    const [survivorAtKill, victimAtKill] = await Promise.all([requestCount(survivor), requestCount(victim)]);
    const killedAt = Date.now();
    victim.child.kill('SIGKILL');
    phase = 'while dying';
    const exit = await victim.exited;
    phase = 'after exit';
    const exitedAt = Date.now();
    await until(() => count('after exit') >= 60 && Date.now() - exitedAt >= 2_000);
    stop = true;
    await Promise.all(clients);
    const survivorEnd = await requestCount(survivor);

    const wrong = outcomes.filter((outcome) => outcome.result.startsWith('wrong'));
    const failures = outcomes.filter((outcome) => outcome.result !== 'ok' && !wrong.includes(outcome));
    // An upstream list ("A, B") in the access log is a request nginx sent on to a second replica.
    const retried = fs
      .readFileSync(path.join(dir, 'access.log'), 'utf8')
      .split('\n')
      .filter((line) => /upstream=\S+, /.test(line));
    const victimHost = new URL(victim.url).host;
    const nginxErrors = new Map<string, number>();
    for (const line of nginx!.logs().split('\n')) {
      const match = /\[error\] [^:]+: \*\d+ (.+?) while /.exec(line);
      if (match !== null && line.includes(victimHost)) {
        nginxErrors.set(match[1]!, (nginxErrors.get(match[1]!) ?? 0) + 1);
      }
    }
    const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
    console.log(
      [
        `scale-out, part 2: ${CLIENTS} clients looping /embed through nginx for ${seconds(Date.now() - started)}; ` +
          `replica 2 SIGKILLed after ${seconds(killedAt - started)} (exit: ${exit})`,
        `  requests: ${count('before kill')} started before the kill, ${count('while dying')} between the kill ` +
          `and the exit, ${count('after exit')} after the exit`,
        `  failures: ${failures.length} (at most ${CLIENTS} allowed: the requests that can be in flight)` +
          failures.map((failure) => `\n    ${failure.phase}: ${failure.result}`).join(''),
        `  te_request_count up to the kill: replica 1 +${survivorAtKill - survivorStart}, ` +
          `replica 2 +${victimAtKill - victimStart}; after it: replica 1 +${survivorEnd - survivorAtKill}`,
        `  nginx: ${retried.length} request(s) sent on to replica 1 after replica 2 failed them ` +
          `(${[...new Set(retried.map((line) => line.slice(line.indexOf('upstream_status='))))].join('; ')}); ` +
          `errors about replica 2: ` +
          ([...nginxErrors].map(([message, n]) => `${n} × ${message}`).join(', ') || 'none'),
      ].join('\n'),
    );

    expect(wrong).toEqual([]);
    expect(exit).toBe('SIGKILL');
    expect(victimAtKill - victimStart).toBeGreaterThan(0);
    expect(survivorAtKill - survivorStart).toBeGreaterThan(0);
    expect(failures.length).toBeLessThanOrEqual(CLIENTS);
    expect(failures.filter((failure) => failure.phase === 'after exit')).toEqual([]);
    // Every request after the exit was served by the survivor (and counted there once).
    expect(survivorEnd - survivorAtKill).toBeGreaterThanOrEqual(count('after exit'));
    expect((await fetch(`${nginx!.url}/health`)).status).toBe(200);
  });
});
