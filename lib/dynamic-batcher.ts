import { padSequences, planMicroBatches, splitRows, type RowOutputs, type TokenSequence } from './batching';
import { raceWithSignal, throwIfAborted } from './abort';
import type { Model } from './model';

export interface DynamicBatchingOptions {
  /** Most padded tokens (rows × longest row) in one forward. Default: 16384. */
  maxBatchTokens?: number;
  /** Most rows in one forward. Default: 64. */
  maxBatchSize?: number;
  /**
   * How long a request may wait for others before a forward starts, when the model is idle.
   * Default: 0: requests made in the same tick run together, and requests that arrive while a
   * forward runs are gathered into the next one, so an idle model adds no latency.
   */
  maxWaitMs?: number;
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
  resolve: (outputs: RowOutputs) => void;
  reject: (error: unknown) => void;
}

/**
 * Gathers the sequences of concurrent pipeline calls into shared forwards: the rows of many
 * single-text requests run as one batch (grouped by length) instead of one forward each.
 */
export class DynamicBatcher {
  readonly #model: Model;
  readonly #padTokenId: number;
  readonly #perTokenScalars: boolean;
  readonly #maxBatchTokens: number;
  readonly #maxBatchSize: number;
  readonly #maxWaitMs: number;
  #queue: Pending[] = [];
  #forwardsInFlight = 0;
  #flushScheduled = false;

  constructor(
    model: Model,
    padTokenId: number,
    perTokenScalars: boolean,
    options: DynamicBatchingOptions = {},
  ) {
    this.#model = model;
    this.#padTokenId = padTokenId;
    this.#perTokenScalars = perTokenScalars;
    this.#maxBatchTokens = options.maxBatchTokens ?? 16384;
    this.#maxBatchSize = options.maxBatchSize ?? 64;
    this.#maxWaitMs = options.maxWaitMs ?? 0;
  }

  /**
   * Queues `sequences` and resolves with each one's outputs, in order. When `signal` aborts, the
   * call rejects at once with E_ABORTED and its sequences still waiting leave the queue; those
   * already in a forward are computed with the others and dropped.
   */
  submit(sequences: readonly TokenSequence[], signal?: AbortSignal): Promise<RowOutputs[]> {
    throwIfAborted('forward', signal);
    const entries: Pending[] = [];
    const results = sequences.map(
      (sequence) =>
        new Promise<RowOutputs>((resolve, reject) => {
          const entry = { sequence, resolve, reject };
          entries.push(entry);
          this.#queue.push(entry);
        }),
    );
    this.#schedule();
    return raceWithSignal('forward', Promise.all(results), signal, () => {
      this.#queue = this.#queue.filter((entry) => !entries.includes(entry));
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

  #flush(): void {
    this.#flushScheduled = false;
    const batch = this.#queue;
    this.#queue = [];
    if (batch.length === 0) return;
    const plan = planMicroBatches(
      batch.map((p) => p.sequence.ids.length),
      {
        batchSize: this.#maxBatchSize,
        maxBatchTokens: this.#maxBatchTokens,
        forwardCostInTokens: FORWARD_COST_IN_TOKENS,
      },
    );
    for (const indices of plan) {
      const members = indices.map((i) => batch[i]!);
      this.#forwardsInFlight += 1;
      this.#run(members).finally(() => {
        this.#forwardsInFlight -= 1;
        if (this.#queue.length > 0) this.#schedule();
      });
    }
  }

  async #run(members: Pending[]): Promise<void> {
    try {
      const { inputs, dims } = padSequences(
        members.map((m) => m.sequence),
        this.#padTokenId,
        this.#model.inputNames,
      );
      const outputs = await this.#model.forward(inputs, dims);
      const rows = splitRows(
        outputs,
        members.map((m) => m.sequence.ids.length),
        dims[1],
        this.#perTokenScalars,
      );
      members.forEach((member, k) => member.resolve(rows[k]!));
    } catch (error) {
      for (const member of members) member.reject(error);
    }
  }
}

/** The batcher of a pipeline made with dynamic batching; undefined without it. */
export function dynamicBatcherFor(
  model: Model,
  options: DynamicBatchingOptions | undefined,
  perTokenScalars: boolean,
): DynamicBatcher | undefined {
  return options === undefined
    ? undefined
    : new DynamicBatcher(model, model.tokenizer!.padTokenId, perTokenScalars, options);
}
