import { abortedError, raceWithSignal, throwIfAborted } from './abort';
import { planMicroBatches, type CallStats, type RowOutputs, type TokenSequence } from './batching';
import type { Forwarder, MicroBatchLimits } from './forwarder';

/** How a task turns its items into sequences, and each sequence's outputs into the item's result. */
export interface RowTask<Item, Sequence extends TokenSequence, Kept, Result> {
  /**
   * Tokenizes `items` into each one's sequences (one, or one per window of a long text);
   * `firstIndex` is the first item's index in the call, for error messages.
   */
  encode(items: readonly Item[], firstIndex: number): Promise<Sequence[][]>;
  /**
   * What the task keeps of one sequence's outputs. The outputs are views into their whole
   * micro-batch's tensors: keep copies, so the batch is freed once its rows are read.
   */
  keep(row: RowOutputs, sequence: Sequence): Kept;
  /** The item's result from what was kept of its sequences, in order. */
  finish(item: Item, kept: Kept[]): Result;
}

export interface StreamOptions extends MicroBatchLimits {
  signal?: AbortSignal | undefined;
  onStats?: ((stats: CallStats) => void) | undefined;
}

/** Measures a call for its CallStats: the tokenization it did, and the span of its forwards. */
class CallClock {
  tokens = 0;
  tokenizationMs = 0;
  #tokenizedAt: number | undefined;
  #firstStart: number | undefined;
  #lastEnd: number | undefined;

  tokenized(tokens: number, startedAt: number): void {
    const now = performance.now();
    this.tokens += tokens;
    this.tokenizationMs += now - startedAt;
    this.#tokenizedAt ??= now;
  }

  forwardStarted(): void {
    this.#firstStart ??= performance.now();
  }

  forwardEnded(): void {
    this.#lastEnd = performance.now();
  }

  stats(): CallStats {
    const tokenizedAt = this.#tokenizedAt ?? 0;
    const firstStart = this.#firstStart ?? tokenizedAt;
    return {
      tokens: this.tokens,
      tokenizationMs: this.tokenizationMs,
      queueMs: Math.max(0, firstStart - tokenizedAt),
      inferenceMs: Math.max(0, (this.#lastEnd ?? firstStart) - firstStart),
    };
  }
}

/**
 * Items read, tokenized, sorted by length and planned into micro-batches together. A call holds
 * at most two windows (one running, the next being tokenized and queued behind it), so its working
 * memory beyond the results is bounded by this and the forwarder's concurrency, not by the number
 * of items. 512 texts sort well enough: padding within a window is within a few percent of
 * sorting the whole input for the bench's sentences.
 */
export const WINDOW_ITEMS = 512;

/**
 * Runs `items` through `forwarder` in micro-batches and yields each item's result, in input order,
 * window by window. Reading stops while a window's results wait for the consumer to take them, so
 * an async iterable of any length is read at the pace it is consumed. Aborting `options.signal`
 * rejects with E_ABORTED; micro-batches not yet started never run.
 */
export async function* streamMicroBatches<Item, Sequence extends TokenSequence, Kept, Result>(
  items: Iterable<Item> | AsyncIterable<Item>,
  task: RowTask<Item, Sequence, Kept, Result>,
  forwarder: Forwarder,
  options: StreamOptions,
): AsyncGenerator<Result, void, undefined> {
  const { signal } = options;
  throwIfAborted('forward', signal);
  // Stops the call's own queued micro-batches when the caller aborts, a micro-batch fails, or the
  // consumer stops reading.
  const stop = new AbortController();
  const abort = () => stop.abort(signal!.reason);
  signal?.addEventListener('abort', abort, { once: true });
  const slots = new Slots(forwarder.concurrency, stop.signal);
  const clock = new CallClock();
  const windows = readWindows(items, WINDOW_ITEMS);
  const running: RunningWindow<Result>[] = [];
  // The next window's read, started only when there is room for it.
  let read: Promise<IteratorResult<Item[]>> | undefined;
  let sourceDone = false;
  try {
    let firstIndex = 0;
    while (!sourceDone || running.length > 0) {
      // Start the next window while the current one runs, but never hold a finished window's
      // results back waiting for a slow source.
      if (!sourceDone && running.length < 2) {
        if (read === undefined) {
          read = windows.next();
          // Awaited below, perhaps later; a failing source must not count as unhandled meanwhile.
          read.catch(() => undefined);
        }
        const finished = (): typeof FINISHED => FINISHED;
        const settled = running[0]?.results.then(finished, finished);
        const next = settled === undefined ? await read : await Promise.race([read, settled]);
        if (next !== FINISHED) {
          read = undefined;
          if (next.done) {
            sourceDone = true;
          } else {
            running.push(
              runWindow(
                next.value,
                firstIndex,
                task,
                forwarder,
                options,
                slots,
                stop,
                clock,
                running.at(-1)?.queued,
              ),
            );
            firstIndex += next.value.length;
          }
          continue;
        }
      }
      yield* await running.shift()!.results;
    }
    options.onStats?.(clock.stats());
  } finally {
    signal?.removeEventListener('abort', abort);
    stop.abort();
    // Not awaited: a read still pending on a source that has nothing to give would hold it.
    windows.return(undefined).catch(() => undefined);
  }
}

const FINISHED = Symbol('finished');

/** All results of `streamMicroBatches`, in input order; rejects at once when the signal aborts. */
export async function runMicroBatches<Item, Sequence extends TokenSequence, Kept, Result>(
  items: readonly Item[],
  task: RowTask<Item, Sequence, Kept, Result>,
  forwarder: Forwarder,
  options: StreamOptions,
): Promise<Result[]> {
  const collect = async () => {
    const results: Result[] = [];
    for await (const result of streamMicroBatches(items, task, forwarder, options)) results.push(result);
    return results;
  };
  return raceWithSignal('forward', collect(), options.signal);
}

interface RunningWindow<Result> {
  /** Settles when every micro-batch of the window is queued on the slots, so the next window queues behind it. */
  queued: Promise<void>;
  results: Promise<Result[]>;
}

function runWindow<Item, Sequence extends TokenSequence, Kept, Result>(
  items: readonly Item[],
  firstIndex: number,
  task: RowTask<Item, Sequence, Kept, Result>,
  forwarder: Forwarder,
  limits: MicroBatchLimits,
  slots: Slots,
  stop: AbortController,
  clock: CallClock,
  previousQueued: Promise<void> | undefined,
): RunningWindow<Result> {
  let markQueued!: () => void;
  const queued = new Promise<void>((resolve) => (markQueued = resolve));
  const results = (async () => {
    try {
      const encodeStart = performance.now();
      const perItem = await task.encode(items, firstIndex);
      clock.tokenized(
        perItem.reduce((sum, itemSequences) => sum + itemSequences.reduce((n, s) => n + s.ids.length, 0), 0),
        encodeStart,
      );
      const sequences: Sequence[] = [];
      const owners: { item: number; slot: number }[] = [];
      const kept: Kept[][] = perItem.map((itemSequences, item) => {
        itemSequences.forEach((sequence, slot) => {
          sequences.push(sequence);
          owners.push({ item, slot });
        });
        return new Array<Kept>(itemSequences.length);
      });
      const plan = planMicroBatches(
        sequences.map((s) => s.ids.length),
        limits,
      );
      await previousQueued;
      const batches = plan.map((indices) =>
        slots.run(async () => {
          const rows = await forwarder.forward(
            indices.map((i) => sequences[i]!),
            limits,
            stop.signal,
            () => clock.forwardStarted(),
          );
          clock.forwardEnded();
          rows.forEach((row, k) => {
            const index = indices[k]!;
            const owner = owners[index]!;
            kept[owner.item]![owner.slot] = task.keep(row, sequences[index]!);
          });
        }),
      );
      markQueued();
      await Promise.all(batches);
      return items.map((item, i) => task.finish(item, kept[i]!));
    } catch (error) {
      markQueued();
      // The first failure is the call's; the micro-batches still queued are not wanted any more.
      stop.abort(error);
      throw error;
    }
  })();
  // Awaited in turn by the generator; until then a failure must not count as unhandled.
  results.catch(() => undefined);
  return { queued, results };
}

/**
 * Reads `items` in arrays of up to `size`. An async source's window also ends when the source has
 * no item ready (nothing by the next macrotask), so items that trickle in are not held back
 * waiting for a full window.
 */
async function* readWindows<Item>(
  items: Iterable<Item> | AsyncIterable<Item>,
  size: number,
): AsyncGenerator<Item[], void, undefined> {
  if (Symbol.iterator in items) {
    if (Array.isArray(items)) {
      for (let start = 0; start < items.length; start += size) yield items.slice(start, start + size);
      return;
    }
    let window: Item[] = [];
    for (const item of items) {
      window.push(item);
      if (window.length === size) {
        yield window;
        window = [];
      }
    }
    if (window.length > 0) yield window;
    return;
  }
  const iterator = items[Symbol.asyncIterator]();
  let pending: Promise<IteratorResult<Item>> | undefined = iterator.next();
  try {
    while (pending !== undefined) {
      const window: Item[] = [];
      let result = await pending;
      pending = undefined;
      while (result.done !== true) {
        window.push(result.value);
        pending = iterator.next();
        if (window.length === size) break;
        const ready = await Promise.race([
          pending,
          new Promise<typeof IDLE>((resolve) => setImmediate(resolve, IDLE)),
        ]);
        if (ready === IDLE) break;
        result = ready;
        pending = undefined;
      }
      if (window.length > 0) yield window;
    }
  } finally {
    if (pending !== undefined) {
      pending.catch(() => undefined);
      // Not awaited: an async generator's return() waits for the pending next() to settle.
      Promise.resolve(iterator.return?.()).catch(() => undefined);
    } else {
      await iterator.return?.();
    }
  }
}

const IDLE = Symbol('idle');

/**
 * A call's micro-batches in flight, at most `size`, started in the order queued. When `stop`
 * aborts, those still waiting reject with E_ABORTED and never start.
 */
class Slots {
  #free: number;
  readonly #waiting: { start: () => void; fail: (error: unknown) => void }[] = [];
  readonly #stop: AbortSignal;

  constructor(size: number, stop: AbortSignal) {
    this.#free = Math.max(1, size);
    this.#stop = stop;
    // One listener for every waiter: a listener per waiting micro-batch would trip Node's
    // listener-leak warning on large calls.
    stop.addEventListener(
      'abort',
      () => {
        for (const waiter of this.#waiting.splice(0)) waiter.fail(abortedError('forward', stop));
      },
      { once: true },
    );
  }

  async run(work: () => Promise<void>): Promise<void> {
    await this.#acquire();
    try {
      await work();
    } finally {
      this.#release();
    }
  }

  #acquire(): Promise<void> {
    if (this.#stop.aborted) return Promise.reject(abortedError('forward', this.#stop));
    if (this.#free > 0) {
      this.#free -= 1;
      return Promise.resolve();
    }
    return new Promise((start, fail) => this.#waiting.push({ start, fail }));
  }

  #release(): void {
    const next = this.#waiting.shift();
    if (next === undefined) this.#free += 1;
    else next.start();
  }
}
