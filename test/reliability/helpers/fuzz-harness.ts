// Jest's side of the fuzz child (fuzz-child.ts): spawns it, sends cases, turns a dead child into a
// failure that names the case and the signal, and judges outcomes against the library's error contract.
import { spawn, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import fc from 'fast-check';
import type { ErrorCode } from '../../../lib';
import type { Outcome } from './fuzz-child';

const ROOT = path.resolve(__dirname, '../../..');
const CHILD = path.join(__dirname, 'fuzz-child.ts');

/**
 * Seed and size of every fuzz property. FUZZ_SEED (an integer) replays or varies the cases; FUZZ_RUNS
 * multiplies the run counts (and time budgets) for a longer local run, e.g. FUZZ_RUNS=10.
 */
export const FUZZ_SEED = envInteger('FUZZ_SEED', 20261201);
export const FUZZ_SCALE = envInteger('FUZZ_RUNS', 1);

function envInteger(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isSafeInteger(value)) throw new Error(`${name} must be an integer; got '${raw}'`);
  return value;
}

// Every code lib/errors.ts declares; `satisfies` makes tsc fail when one is added there and not here.
const CODES = {
  E_BAD_INPUT: true,
  E_INPUT_TOO_LONG: true,
  E_MODEL_NOT_FOUND: true,
  E_MODEL_LOAD: true,
  E_DEVICE_UNAVAILABLE: true,
  E_FORWARD: true,
  E_DISPOSED: true,
  E_NATIVE_LOAD: true,
  E_ABORTED: true,
  E_INTERNAL: true,
} as const satisfies Record<ErrorCode, true>;

/**
 * Throws unless `outcome` is a rejection with a TorchEncodersError carrying a declared code, one of
 * `allowed` when given. E_INTERNAL ("a bug in this library") is never accepted: it is the library
 * admitting an unexpected path, which is what fuzzing looks for.
 */
export function expectCodedRejection(outcome: Outcome, allowed?: readonly ErrorCode[]): ErrorCode {
  if (outcome.ok) throw new Error('expected a rejection, but the call resolved');
  const { error } = outcome;
  const code = error.code as ErrorCode;
  if (!error.coded || !Object.hasOwn(CODES, code) || code === 'E_INTERNAL') {
    throw new Error(
      `expected a TorchEncodersError with a declared code, got ${error.name} (code ${String(error.code)}): ${error.message}\n${error.stack}`,
    );
  }
  if (allowed !== undefined && !allowed.includes(code)) {
    throw new Error(`expected one of ${allowed.join(', ')}, got ${code}: ${error.message}`);
  }
  return code;
}

/** Counts the cases of one property and prints them with the seed, for the report and replays. */
export async function checkProperty<Ts>(
  name: string,
  property: fc.IAsyncPropertyWithHooks<Ts>,
  runs: number,
  budgetMs: number,
): Promise<number> {
  const started = Date.now();
  const details = await fc.check(property, {
    seed: FUZZ_SEED,
    numRuns: runs * FUZZ_SCALE,
    // A slow machine runs fewer cases rather than overrunning: the runs done are printed.
    plugins: [fc.interruptAfterTimeLimit(budgetMs * FUZZ_SCALE)],
    endOnFailure: process.env.FUZZ_SHRINK === undefined,
  });
  console.log(
    `fuzz ${name}: ${details.numRuns} cases, seed ${FUZZ_SEED}, ${Date.now() - started} ms${details.interrupted ? ' (time budget reached)' : ''}`,
  );
  if (details.failed) throw new Error(fc.defaultReportMessage(details) ?? `fuzz ${name} failed`);
  return details.numRuns;
}

interface Pending {
  resolve(outcome: Outcome): void;
  reject(error: Error): void;
  what: string;
}

/** Summarizes a request for error messages: long strings by length and head. */
/** Counts outcomes by code ('resolved' for a result), for a file's summary line. */
export function outcomeCounter(): { codes: Record<string, number>; tally: (outcome: Outcome) => void } {
  const codes: Record<string, number> = {};
  return {
    codes,
    tally: (outcome) => {
      const key = outcome.ok ? 'resolved' : String(outcome.error.code);
      codes[key] = (codes[key] ?? 0) + 1;
    },
  };
}

export function preview(value: unknown, limit = 600): string {
  const text = fc.stringify(value);
  return text.length > limit ? `${text.slice(0, limit)}… (${text.length} chars)` : text;
}

/**
 * One fuzz child. A request whose child dies, or that takes longer than its timeout (the child is then
 * killed: a hang is a failure too), rejects with an Error naming the request, the exit signal or code,
 * and the end of the child's stderr. The next request starts a fresh child; `deaths` keeps every one.
 */
export class FuzzChild {
  readonly deaths: string[] = [];
  #child: ChildProcess | undefined;
  #ready: Promise<void> | undefined;
  #pending = new Map<number, Pending>();
  #nextId = 1;
  #stderr = '';

  #start(): Promise<void> {
    this.#stderr = '';
    const boot = [
      "const ts = require('typescript');",
      "const fs = require('node:fs');",
      // lib/ is loaded from source, as ts-jest loads it, so the cases test the tree being edited, not dist/.
      "require.extensions['.ts'] = (m, file) => m._compile(ts.transpileModule(fs.readFileSync(file, 'utf8'), {",
      '  fileName: file,',
      '  compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true },',
      '}).outputText, file);',
      `require(${JSON.stringify(CHILD)});`,
    ].join('\n');
    const child = spawn(process.execPath, ['--expose-gc', '-e', boot], {
      cwd: ROOT,
      env: {
        ...process.env,
        TORCH_ENCODERS_FUZZ_CHILD: '1',
        // So that RSS follows live memory, which the leak checks measure: blocks of 128 KB and more are
        // mmapped and unmapped when freed, and one arena stops each thread (the tokenizer's pool, the
        // models' workers) from keeping freed memory of its own. Measured with a 1 MB text-classification
        // call repeated 6 times: RSS 323 -> 297 MB with these, 325 -> 418 MB with glibc's defaults (its
        // mmap threshold rises after each large free, so later large blocks come from the heap and stay).
        // Two arenas still let the text leak check grow 28 MB over two passes once in five quiet runs;
        // the soak measured the same fragmentation (test/reliability/soak.test.ts).
        MALLOC_ARENA_MAX: '1',
        MALLOC_MMAP_THRESHOLD_: '131072',
        MALLOC_TRIM_THRESHOLD_: '131072',
      },
      stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
      serialization: 'advanced',
    });
    this.#child = child;
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (chunk: string) => {
      this.#stderr = (this.#stderr + chunk).slice(-4000);
    });
    const ready = new Promise<void>((resolve, reject) => {
      this.#pending.set(0, { resolve: () => resolve(), reject, what: 'start' });
    });
    child.on('message', (message: { id: number; outcome: Outcome }) => {
      const pending = this.#pending.get(message.id);
      this.#pending.delete(message.id);
      pending?.resolve(message.outcome);
    });
    child.on('exit', (code, signal) => {
      if (this.#child === child) {
        this.#child = undefined;
        this.#ready = undefined;
      }
      const pending = [...this.#pending.values()];
      this.#pending.clear();
      if (pending.length === 0 && code === 0) return;
      const death = `fuzz child exited with ${signal === null ? `code ${code}` : `signal ${signal}`} while running ${pending.map((p) => p.what).join('; ') || 'nothing'}\n--- child stderr (tail) ---\n${this.#stderr}`;
      this.deaths.push(death);
      for (const p of pending) p.reject(new Error(death));
    });
    return ready;
  }

  /** Sends one request; resolves with its outcome, rejects when the child dies or hangs. */
  async request(op: string, args: Record<string, unknown> = {}, timeoutMs = 60_000): Promise<Outcome> {
    if (this.#ready === undefined) this.#ready = this.#start();
    await this.#ready;
    const child = this.#child!;
    const id = this.#nextId++;
    const what = `${op} ${preview(args)}`;
    let timer: NodeJS.Timeout | undefined;
    try {
      return await new Promise<Outcome>((resolve, reject) => {
        this.#pending.set(id, { resolve, reject, what });
        timer = setTimeout(() => {
          this.deaths.push(`hang: no answer after ${timeoutMs} ms to ${what}`);
          child.kill('SIGKILL');
        }, timeoutMs);
        child.send({ id, op, args });
      });
    } finally {
      clearTimeout(timer);
    }
  }

  /** Like request, but a non-ok outcome whose error is not coded is thrown as is (for setup calls). */
  async value(op: string, args: Record<string, unknown> = {}, timeoutMs?: number): Promise<unknown> {
    const outcome = await this.request(op, args, timeoutMs);
    if (!outcome.ok) throw new Error(`${op} failed: ${outcome.error.message}\n${outcome.error.stack}`);
    return outcome.value;
  }

  /** RSS of the child after full collections. */
  async rss(): Promise<number> {
    return (await this.value('memory')) as number;
  }

  /** Disposes what the child cached and lets it exit; resolves with its exit code. */
  async stop(): Promise<number | null> {
    const child = this.#child;
    if (child === undefined) return 0;
    await this.value('disposeAll');
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.disconnect();
    return exited;
  }
}
