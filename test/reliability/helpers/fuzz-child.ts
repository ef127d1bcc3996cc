// The process that runs the fuzz cases of test/reliability/fuzz-*.test.ts, spawned by fuzz-harness.ts
// (node --expose-gc, lib/ loaded from source). A crash or abort here ends this process only: the test sees
// its exit signal and the case that was running, and Jest lives on.
//
// Protocol (Node IPC, advanced serialization so typed arrays, BigInt and lone surrogates cross intact):
// the parent sends { id, op, args }, the child answers { id, outcome } with outcome { ok: true, value } or
// { ok: false, error }, where error describes whatever was thrown, coded or not, so the parent judges it.
import * as path from 'node:path';
import { Model, TorchEncodersError, pipeline } from '../../../lib';

export interface ErrorReport {
  /** `error instanceof TorchEncodersError`, checked here in the realm that threw it. */
  coded: boolean;
  name: string;
  code: unknown;
  message: string;
  stack: string;
}

export type Outcome = { ok: true; value: unknown } | { ok: false; error: ErrorReport };

/** A typed array (or other value) to build in the child: `values` go through the array's own conversion. */
export interface ArraySpec {
  __array:
    | 'BigInt64Array'
    | 'BigUint64Array'
    | 'Int32Array'
    | 'Uint32Array'
    | 'Int16Array'
    | 'Uint8Array'
    | 'Float32Array'
    | 'Float64Array'
    | 'Array'
    | 'DataView';
  values: number[];
  /** Elements before the view in its buffer, so views that do not start at byte 0 are tried too. */
  offset: number;
}

/** Values that cannot cross IPC, made in the child: { __fuzz: 'function' } and so on. */
export type Special = {
  __fuzz: 'function' | 'symbol' | 'signal' | 'abortedSignal' | 'proxy' | 'getterThrows';
};

function report(error: unknown): ErrorReport {
  const e = error as { name?: unknown; code?: unknown; message?: unknown; stack?: unknown } | null;
  return {
    coded: error instanceof TorchEncodersError,
    name: typeof e?.name === 'string' ? e.name : typeof error,
    code: e?.code,
    message: typeof e?.message === 'string' ? e.message : String(error),
    stack: typeof e?.stack === 'string' ? e.stack : '',
  };
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && Object.getPrototypeOf(value) === Object.prototype;
}

/** Turns the IPC-safe encodings of ArraySpec and Special back into the values they stand for. */
export function decode(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(decode);
  if (!isPlainObject(value)) return value;
  if (typeof value.__array === 'string') return buildArray(value as unknown as ArraySpec);
  switch (value.__fuzz) {
    case 'function':
      return () => 1;
    case 'symbol':
      return Symbol('fuzz');
    case 'signal':
      return new AbortController().signal;
    case 'abortedSignal':
      return AbortSignal.abort(new Error('fuzz abort'));
    case 'proxy':
      return new Proxy({}, {});
    case 'getterThrows':
      return Object.defineProperty({}, 'value', {
        enumerable: true,
        get() {
          throw new Error('fuzz getter');
        },
      });
  }
  return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, decode(inner)]));
}

function buildArray(spec: ArraySpec): unknown {
  const { values, offset } = spec;
  const bigints = (signed: boolean) =>
    values.map((v) => {
      const whole = BigInt(Number.isFinite(v) ? Math.trunc(v) : 0);
      return signed ? BigInt.asIntN(64, whole) : BigInt.asUintN(64, whole);
    });
  switch (spec.__array) {
    case 'Array':
      return [...values];
    case 'DataView':
      return new DataView(new ArrayBuffer(values.length * 8 + offset), offset);
    case 'BigInt64Array': {
      const array = new BigInt64Array(values.length + offset).subarray(offset);
      array.set(bigints(true));
      return array;
    }
    case 'BigUint64Array': {
      const array = new BigUint64Array(values.length + offset).subarray(offset);
      array.set(bigints(false));
      return array;
    }
    default: {
      const Kind = { Int32Array, Uint32Array, Int16Array, Uint8Array, Float32Array, Float64Array }[
        spec.__array
      ];
      const array = new Kind(values.length + offset).subarray(offset);
      array.set(values);
      return array;
    }
  }
}

type AnyPipeline = ((input: unknown, options?: unknown) => Promise<unknown>) & {
  dispose(): Promise<void>;
  similarity?: (query: unknown, documents: unknown, options?: unknown) => Promise<unknown>;
};

// Opened on first use and kept, so the text and option properties do not reload a model per case.
const pipelines = new Map<string, Promise<AnyPipeline>>();
const models = new Map<string, Promise<Model>>();

function cachedPipeline(task: string, dir: string): Promise<AnyPipeline> {
  const key = `${task}\0${dir}`;
  let opened = pipelines.get(key);
  if (opened === undefined) {
    opened = pipeline(task as 'text-classification', dir, { threads: 1 }) as unknown as Promise<AnyPipeline>;
    pipelines.set(key, opened);
  }
  return opened;
}

function cachedModel(file: string): Promise<Model> {
  let opened = models.get(file);
  if (opened === undefined) {
    opened = Model.load(file, { threads: 1 });
    models.set(file, opened);
  }
  return opened;
}

/** What a resolved forward gave, small enough to send back: names, dims, lengths, finiteness. */
function summarizeOutputs(outputs: Record<string, { data: Float32Array; dims: number[] }>) {
  return Object.fromEntries(
    Object.entries(outputs).map(([name, tensor]) => [
      name,
      { dims: [...tensor.dims], length: tensor.data.length, finite: tensor.data.every(Number.isFinite) },
    ]),
  );
}

interface LoadArgs {
  how: 'pipeline' | 'model';
  task: string;
  dir: string;
  options?: unknown;
  /** Run once on what loaded, so a load that "succeeds" on a broken file is also used. */
  probe?: unknown;
  probeOptions?: unknown;
}

/** Loads, probes and disposes; rejections of the probe are reported as its outcome. */
async function tryLoad(args: LoadArgs): Promise<unknown> {
  if (args.how === 'model') {
    const model = await Model.load(args.dir, decode(args.options) as object);
    try {
      const probe = await settle(async () => {
        if (model.tokenizer === undefined) {
          const ids = new BigInt64Array([101n, 2023n, 102n]);
          const mask = new BigInt64Array([1n, 1n, 1n]);
          return summarizeOutputs(await model.forward({ input_ids: ids, attention_mask: mask }, [1, 3]));
        }
        const batch = await model.encode(String(args.probe ?? 'a probe'));
        return summarizeOutputs(await model.forward(batch.inputs, batch.dims));
      });
      return { loaded: true, probe };
    } finally {
      await model.dispose();
    }
  }
  const opened = (await pipeline(
    args.task as 'text-classification',
    args.dir,
    decode(args.options) as object,
  )) as unknown as AnyPipeline;
  try {
    const probe = await settle(() => opened(decode(args.probe), decode(args.probeOptions)));
    return { loaded: true, probe };
  } finally {
    await opened.dispose();
  }
}

async function settle(run: () => Promise<unknown>): Promise<Outcome> {
  try {
    return { ok: true, value: await run() };
  } catch (error) {
    return { ok: false, error: report(error) };
  }
}

function gcRss(): number {
  const collect = (globalThis as { gc?: () => void }).gc;
  if (collect === undefined) throw new Error('run the fuzz child with --expose-gc');
  for (let i = 0; i < 4; i++) collect();
  return process.memoryUsage().rss;
}

type Args = Record<string, unknown>;
const OPS: Record<string, (args: Args) => Promise<unknown>> = {
  async call(args) {
    const run = await cachedPipeline(String(args.task), String(args.dir));
    if (args.method === 'similarity') {
      return run.similarity!(decode(args.input), decode(args.documents), decode(args.options));
    }
    return run(decode(args.input), decode(args.options));
  },
  async forward(args) {
    const model = await cachedModel(String(args.file));
    const outputs = await model.forward(
      decode(args.inputs) as Parameters<Model['forward']>[0],
      decode(args.dims) as [number, number],
      decode(args.options) as object,
    );
    return summarizeOutputs(outputs);
  },
  async inputNames(args) {
    return [...(await cachedModel(String(args.file))).inputNames];
  },
  tryLoad: (args) => tryLoad(args as unknown as LoadArgs),
  /** Pipelines loaded and held without dispose: what a leaked pipeline would cost, for the leak bounds. */
  async hold(args) {
    const held = [];
    for (let i = 0; i < Number(args.count); i++)
      held.push(await pipeline(args.task as 'ner', String(args.dir), { threads: 1 }));
    const rss = gcRss();
    for (const p of held) await p.dispose();
    return rss;
  },
  async memory() {
    // RSS right after work is still falling for a while (finalizers of external buffers and tokenizers
    // run after the collection that found them, freed pages go back to the OS in steps): measured, two
    // readings a moment apart could differ by 30 MB. The lowest of several readings is the settled one.
    let lowest = Infinity;
    for (let i = 0; i < 5; i++) {
      lowest = Math.min(lowest, gcRss());
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    return lowest;
  },
  async disposeAll() {
    const all = [...pipelines.values(), ...models.values()];
    pipelines.clear();
    models.clear();
    for (const opened of await Promise.allSettled(all)) {
      if (opened.status === 'fulfilled') await opened.value.dispose();
    }
    return all.length;
  },
};

if (require.main === module || process.env.TORCH_ENCODERS_FUZZ_CHILD === '1') {
  process.on('message', (message: { id: number; op: string; args: Args }) => {
    const op = OPS[message.op];
    const run = op === undefined ? Promise.reject(new Error(`unknown op ${message.op}`)) : op(message.args);
    run.then(
      (value) => process.send!({ id: message.id, outcome: { ok: true, value } }),
      (error: unknown) => process.send!({ id: message.id, outcome: { ok: false, error: report(error) } }),
    );
  });
  // Leave when the parent goes, whatever is in flight.
  process.on('disconnect', () => process.exit(0));
  process.send!({ id: 0, outcome: { ok: true, value: path.basename(__filename) } });
}
