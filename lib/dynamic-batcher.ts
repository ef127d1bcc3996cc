import { planMicroBatches, type RowOutputs, type TokenSequence } from './batching';
import { raceWithSignal, throwIfAborted } from './abort';
import { ModelForwarder, type Forwarder, type MicroBatchLimits, type OutputSpecs } from './forwarder';
import type { Model } from './model';

export interface DynamicBatchingOptions {
  /** Most padded tokens (rows × longest row) in one forward, for calls that set no maxBatchTokens. Default: 16384. */
  maxBatchTokens?: number;
  /** Most rows in one forward, for calls that set no batchSize. Default: 64. */
  maxBatchSize?: number;
  /**
   * How long a request may wait for others before a forward starts, when the model is idle.
   * Default: 0: requests made in the same tick run together, and requests that arrive while a
   * forward runs are gathered into the next one, so an idle model adds no latency.
   */
  maxWaitMs?: number;
  /**
   * Called as each shared forward starts, with its rows and padded tokens (rows × longest row), for
   * a server's batch metrics. Default: none.
   */
  onForward?: (rows: number, paddedTokens: number) => void;
}

/**
 * What a forward costs beyond its padded tokens, in tokens' worth, for grouping gathered requests (planMicroBatches).
 * Measured on 2 cores, forwards of BERT-base cost about 30 ms + 1.1 ms a token (b1 x 8 tokens 37 ms, b8 x 16 160 ms,
 * b16 x 32 571 ms), those of the demo models about 0.35 ms + 0.011 ms a token: both about 30 tokens' worth. For the
 * bench's first 64 demo sentences (1,151 tokens) this plans 7 forwards of 1,269 padded tokens, where a rule of
 * "longest at most 1.25 x shortest + 8" planned 4 of 1,532 and one forward would pad to 2,944.
 */
const FORWARD_COST_IN_TOKENS = 30;

interface Pending {
  sequence: TokenSequence;
  limits: MicroBatchLimits;
  onStart: (() => void) | undefined;
  resolve: (outputs: RowOutputs) => void;
  reject: (error: unknown) => void;
}

/**
 * Gathers the micro-batches of concurrent pipeline calls into shared forwards: the rows of many
 * single-text requests run as one batch (grouped by length) instead of one forward each. Rows share
 * a forward only with rows of calls under the same limits, so each call's batchSize and
 * maxBatchTokens hold for every forward its rows are in.
 */
export class DynamicBatcher implements Forwarder {
  readonly concurrency: number;
  readonly defaultLimits: MicroBatchLimits;
  readonly #model: Model;
  /** Runs each shared forward. */
  readonly #direct: ModelForwarder;
  readonly #maxWaitMs: number;
  readonly #onForward: ((rows: number, paddedTokens: number) => void) | undefined;
  #queue: Pending[] = [];
  #forwardsInFlight = 0;
  #flushScheduled = false;

  constructor(
    model: Model,
    padTokenId: number,
    outputs: OutputSpecs,
    task: string,
    options: DynamicBatchingOptions = {},
  ) {
    this.#model = model;
    this.#direct = new ModelForwarder(model, padTokenId, outputs, task);
    this.defaultLimits = {
      batchSize: options.maxBatchSize ?? 64,
      maxBatchTokens: options.maxBatchTokens ?? 16384,
    };
    this.#maxWaitMs = options.maxWaitMs ?? 0;
    this.#onForward = options.onForward;
    // A call's micro-batches wait here for others anyway; two per worker keep a full forward ready.
    this.concurrency = 2 * model.workers;
  }

  /**
   * Queues `sequences` and resolves with each one's outputs, in order. When `signal` aborts, the
   * call rejects at once with E_ABORTED and its sequences still waiting leave the queue; those
   * already in a forward are computed with the others and dropped.
   */
  forward(
    sequences: readonly TokenSequence[],
    limits: MicroBatchLimits,
    signal?: AbortSignal,
    onStart?: () => void,
  ): Promise<RowOutputs[]> {
    throwIfAborted('forward', signal);
    const entries: Pending[] = [];
    const results = sequences.map(
      (sequence) =>
        new Promise<RowOutputs>((resolve, reject) => {
          const entry = { sequence, limits, onStart, resolve, reject };
          entries.push(entry);
          this.#queue.push(entry);
        }),
    );
    this.#schedule();
    return raceWithSignal('forward', Promise.all(results), signal, () => {
      const leaving = new Set(entries);
      this.#queue = this.#queue.filter((entry) => !leaving.has(entry));
    });
  }

  #schedule(): void {
    // While every worker of the model runs a forward, requests wait for one to finish and then go together.
    if (this.#forwardsInFlight >= this.#model.workers || this.#flushScheduled) return;
    this.#flushScheduled = true;
    if (this.#maxWaitMs > 0) {
      setTimeout(() => this.#flush(), this.#maxWaitMs);
    } else {
      setImmediate(() => this.#flush());
    }
  }

  /**
   * Plans every queued row into forwards (grouped by limits, then by length) and starts as many as
   * the model has free workers, those holding the oldest rows first, so no request waits behind
   * later ones. The rest stay queued: a caller that aborts still takes its rows out, and they may
   * share a forward with rows that arrive meanwhile. Each forward that ends flushes again.
   */
  #flush(): void {
    this.#flushScheduled = false;
    const free = this.#model.workers - this.#forwardsInFlight;
    if (free <= 0 || this.#queue.length === 0) return;
    const queued = this.#queue;
    const arrival = new Map(queued.map((entry, index) => [entry, index]));
    const byLimits = new Map<string, Pending[]>();
    for (const entry of queued) {
      const key = `${entry.limits.batchSize}/${entry.limits.maxBatchTokens}`;
      const group = byLimits.get(key);
      if (group === undefined) byLimits.set(key, [entry]);
      else group.push(entry);
    }
    const forwards: { members: Pending[]; oldest: number }[] = [];
    for (const group of byLimits.values()) {
      const plan = planMicroBatches(
        group.map((p) => p.sequence.ids.length),
        { ...group[0]!.limits, forwardCostInTokens: FORWARD_COST_IN_TOKENS },
      );
      for (const indices of plan) {
        const members = indices.map((i) => group[i]!);
        forwards.push({ members, oldest: Math.min(...members.map((m) => arrival.get(m)!)) });
      }
    }
    forwards.sort((a, b) => a.oldest - b.oldest);
    const starting = forwards.slice(0, free);
    const started = new Set(starting.flatMap((forward) => forward.members));
    this.#queue = queued.filter((entry) => !started.has(entry));
    for (const { members } of starting) {
      this.#forwardsInFlight += 1;
      void this.#run(members);
    }
  }

  async #run(members: Pending[]): Promise<void> {
    let rows: RowOutputs[];
    try {
      this.#onForward?.(
        members.length,
        members.length * Math.max(...members.map((m) => m.sequence.ids.length)),
      );
      for (const member of members) member.onStart?.();
      // Shared by several calls: no one call's signal may stop it.
      rows = await this.#direct.forward(members.map((m) => m.sequence));
    } catch (error) {
      this.#forwardEnded();
      for (const member of members) member.reject(error);
      return;
    }
    // The next forward starts before this one's rows are handed out, so the worker does not wait
    // for their post-processing.
    this.#forwardEnded();
    members.forEach((member, k) => member.resolve(rows[k]!));
  }

  #forwardEnded(): void {
    this.#forwardsInFlight -= 1;
    // What queued while the forward ran has waited already: it goes now, not a macrotask later.
    if (this.#queue.length > 0) this.#flush();
  }
}

/**
 * What runs a pipeline's micro-batches: a dynamic batcher shared by its calls when the pipeline
 * was made with dynamicBatching, else the model directly.
 */
export function forwarderFor(
  model: Model,
  task: string,
  outputs: OutputSpecs,
  dynamicBatching: DynamicBatchingOptions | undefined,
): Forwarder {
  const padTokenId = model.tokenizer!.padTokenId;
  return dynamicBatching === undefined
    ? new ModelForwarder(model, padTokenId, outputs, task)
    : new DynamicBatcher(model, padTokenId, outputs, task, dynamicBatching);
}
