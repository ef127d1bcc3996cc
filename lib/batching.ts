import type { ForwardInputs, Tensor } from './model';
import { signalOption } from './abort';
import { badInput, integerOption } from './validate';

/** One tokenized input, unpadded. */
export interface TokenSequence {
  ids: readonly number[];
  typeIds: readonly number[];
  attentionMask: readonly number[];
}

export interface MicroBatchOptions {
  /**
   * Most sequences in one forward. Default: 8; with dynamicBatching, its maxBatchSize. Under
   * dynamic batching a call's rows share forwards only with those of calls under the same limits.
   */
  batchSize?: number;
  /**
   * Most tokens in one forward, padding included (rows × longest row). Default: 16384; with
   * dynamicBatching, its maxBatchTokens.
   */
  maxBatchTokens?: number;
  /**
   * Aborts the call: it rejects at once with E_ABORTED (its `cause` the signal's reason); its
   * forwards not yet started never run, one already running finishes and its result is dropped.
   * Default: none.
   */
  signal?: AbortSignal;
  /**
   * Called once when the call has finished, with what it cost (for a server's metrics and timing
   * headers). Not called for a call that fails or is aborted. Default: none.
   */
  onStats?: (stats: CallStats) => void;
}

/** What one call cost. The three times follow each other, so their sum is about the call's wall time. */
export interface CallStats {
  /** Tokens of the call's sequences (special tokens included, padding not). */
  tokens: number;
  /** Milliseconds tokenizing. */
  tokenizationMs: number;
  /**
   * Milliseconds from the end of tokenization until the call's first forward started: waiting for
   * the model's workers and, with dynamicBatching, for the forward its rows share.
   */
  queueMs: number;
  /** Milliseconds from the start of the call's first forward to the end of its last. */
  inferenceMs: number;
}

export const DEFAULT_BATCH_SIZE = 8;
export const DEFAULT_MAX_BATCH_TOKENS = 16384;

export const MICRO_BATCH_OPTION_KEYS = ['batchSize', 'maxBatchTokens', 'signal', 'onStats'] as const;

/**
 * Checks the micro-batch options of a call to `where`; the limits it leaves out come from
 * `defaults` (the forwarder's: the dynamic batcher's own limits, or 8 rows and 16384 tokens).
 */
export function resolveMicroBatchOptions(
  where: string,
  options: MicroBatchOptions,
  defaults: { batchSize: number; maxBatchTokens: number } = {
    batchSize: DEFAULT_BATCH_SIZE,
    maxBatchTokens: DEFAULT_MAX_BATCH_TOKENS,
  },
): {
  batchSize: number;
  maxBatchTokens: number;
  signal: AbortSignal | undefined;
  onStats: ((stats: CallStats) => void) | undefined;
} {
  if (options.onStats !== undefined && typeof options.onStats !== 'function') {
    throw badInput(where, 'options.onStats', 'a function', options.onStats);
  }
  return {
    signal: signalOption(where, options.signal),
    onStats: options.onStats,
    batchSize: integerOption(where, 'batchSize', options.batchSize, defaults.batchSize, 1),
    maxBatchTokens: integerOption(
      where,
      'maxBatchTokens',
      options.maxBatchTokens,
      defaults.maxBatchTokens,
      1,
    ),
  };
}

/** One row's outputs by role: per-token outputs cut to the row's own length, views into the batch's tensors. */
export type RowOutputs = Record<string, Tensor>;

/**
 * Groups sequence indices into micro-batches, longest first, so that each batch is padded only to
 * its own longest member and holds at most `batchSize` rows and `maxBatchTokens` padded tokens (a
 * single longer row runs alone). Without `forwardCostInTokens`, batches are filled in turn. With it,
 * the rows are split where that is cheapest: the plan minimises the padded tokens plus
 * `forwardCostInTokens` for every forward (what a forward costs beyond its tokens), so rows of
 * similar length share a forward and a much shorter row starts a new one only when the padding
 * it saves outweighs the extra forward.
 */
export function planMicroBatches(
  lengths: readonly number[],
  options: { batchSize: number; maxBatchTokens: number; forwardCostInTokens?: number },
): number[][] {
  const order = lengths.map((_, index) => index).sort((a, b) => lengths[b]! - lengths[a]! || a - b);
  const fits = (rows: number, longest: number) =>
    rows === 1 || (rows <= options.batchSize && rows * longest <= options.maxBatchTokens);
  if (options.forwardCostInTokens === undefined) {
    const batches: number[][] = [];
    let current: number[] = [];
    for (const index of order) {
      if (current.length > 0 && !fits(current.length + 1, lengths[current[0]!]!)) {
        batches.push(current);
        current = [];
      }
      current.push(index);
    }
    if (current.length > 0) batches.push(current);
    return batches;
  }
  // In length order the best plan cuts the sorted rows into runs, so a dynamic programme over cut
  // points finds it: cost[end] is the least cost of the first `end` rows, start[end] where their
  // last run begins. A run's longest row is its first.
  const forwardCost = options.forwardCostInTokens;
  const cost = [0];
  const start = [0];
  for (let end = 1; end <= order.length; end++) {
    cost[end] = Infinity;
    for (let first = end - 1; first >= 0; first--) {
      const rows = end - first;
      const longest = lengths[order[first]!]!;
      // Longer runs only add rows and length: nothing further back fits either.
      if (!fits(rows, longest)) break;
      const total = cost[first]! + forwardCost + rows * longest;
      // On a tie the shorter last run wins, so that earlier runs are the full ones, as when filling.
      if (total < cost[end]!) {
        cost[end] = total;
        start[end] = first;
      }
    }
  }
  const batches: number[][] = [];
  for (let end = order.length; end > 0; end = start[end]!) batches.unshift(order.slice(start[end], end));
  return batches;
}

/**
 * Pads `sequences` at the end to their longest length and lays them out as the model's inputs:
 * only the inputs it takes (`inputNames`), int64, row-major [batch, seq].
 */
export function padSequences(
  sequences: readonly TokenSequence[],
  padTokenId: number,
  inputNames: readonly string[],
): { inputs: ForwardInputs; dims: [number, number] } {
  const seq = Math.max(1, ...sequences.map((s) => s.ids.length));
  const batch = sequences.length;
  const inputIds = new BigInt64Array(batch * seq).fill(BigInt(padTokenId));
  const attentionMask = new BigInt64Array(batch * seq);
  const tokenTypeIds = new BigInt64Array(batch * seq);
  sequences.forEach((sequence, row) => {
    const offset = row * seq;
    for (let i = 0; i < sequence.ids.length; i++) {
      inputIds[offset + i] = BigInt(sequence.ids[i]!);
      attentionMask[offset + i] = BigInt(sequence.attentionMask[i] ?? 1);
      tokenTypeIds[offset + i] = BigInt(sequence.typeIds[i] ?? 0);
    }
  });
  const inputs: ForwardInputs = { input_ids: inputIds };
  if (inputNames.includes('attention_mask')) inputs.attention_mask = attentionMask;
  if (inputNames.includes('token_type_ids')) inputs.token_type_ids = tokenTypeIds;
  return { inputs, dims: [batch, seq] };
}

/**
 * Cuts batch outputs into rows: `perToken` outputs ([batch, seq, ...]) to each row's own length,
 * the others ([batch, ...]) whole. Rows are views into the batch's tensors: whoever keeps one keeps
 * the whole batch's buffer alive, so a task copies what it keeps.
 */
export function splitRows(
  outputs: Record<string, Tensor>,
  lengths: readonly number[],
  perToken: ReadonlySet<string>,
): RowOutputs[] {
  return lengths.map((length, row) => {
    const rowOutputs: RowOutputs = {};
    for (const [name, tensor] of Object.entries(outputs)) {
      const [batch, ...rest] = tensor.dims;
      const rowSize = tensor.data.length / (batch ?? 1);
      const dims = perToken.has(name) ? [length, ...rest.slice(1)] : rest;
      const size = dims.reduce((a, b) => a * b, 1);
      const start = row * rowSize;
      rowOutputs[name] = { data: tensor.data.subarray(start, start + size), dims };
    }
    return rowOutputs;
  });
}
