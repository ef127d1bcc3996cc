import type { ForwardInputs, Model, Tensor } from './model';
import { signalOption, throwIfAborted } from './abort';
import { integerOption } from './validate';

/** One tokenized input, unpadded. */
export interface TokenSequence {
  ids: readonly number[];
  typeIds: readonly number[];
  attentionMask: readonly number[];
}

export interface MicroBatchOptions {
  /** Treat [batch, seq] outputs as per-token values (QA logits). Default: false. */
  perTokenScalars?: boolean;
  /** Most sequences in one forward. Default: 8. */
  batchSize?: number;
  /** Most tokens in one forward, padding included (rows × longest row). Default: 16384. */
  maxBatchTokens?: number;
  /**
   * Aborts the call: it rejects at once with E_ABORTED (its `cause` the signal's reason); its
   * forwards not yet started never run, one already running finishes and its result is dropped.
   * Default: none.
   */
  signal?: AbortSignal;
}

export const DEFAULT_BATCH_SIZE = 8;
export const DEFAULT_MAX_BATCH_TOKENS = 16384;

export const MICRO_BATCH_OPTION_KEYS = ['batchSize', 'maxBatchTokens', 'signal'] as const;

/** Checks the micro-batch options of a call to `where` and fills in the defaults. */
export function resolveMicroBatchOptions(
  where: string,
  options: MicroBatchOptions,
): { batchSize: number; maxBatchTokens: number; signal: AbortSignal | undefined } {
  return {
    signal: signalOption(where, options.signal),
    batchSize: integerOption(where, 'batchSize', options.batchSize, DEFAULT_BATCH_SIZE, 1),
    maxBatchTokens: integerOption(
      where,
      'maxBatchTokens',
      options.maxBatchTokens,
      DEFAULT_MAX_BATCH_TOKENS,
      1,
    ),
  };
}

/** One row's outputs: per-token outputs cut to the row's own length, views into the batch's tensors. */
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
 * Cuts batch outputs into rows. [batch, seq, ...] outputs are per token and cut to each row's own
 * length; [batch, n] outputs are per token only with `perTokenScalars` (QA's start/end logits),
 * since a classifier's [batch, labels] cannot be told from them by shape.
 */
export function splitRows(
  outputs: Record<string, Tensor>,
  lengths: readonly number[],
  paddedLength: number,
  perTokenScalars = false,
): RowOutputs[] {
  return lengths.map((length, row) => {
    const rowOutputs: RowOutputs = {};
    for (const [name, tensor] of Object.entries(outputs)) {
      const [batch, ...rest] = tensor.dims;
      const rowSize = tensor.data.length / (batch ?? 1);
      const perToken = rest[0] === paddedLength && (rest.length >= 2 || perTokenScalars);
      const dims = perToken ? [length, ...rest.slice(1)] : rest;
      const size = dims.reduce((a, b) => a * b, 1);
      const start = row * rowSize;
      rowOutputs[name] = { data: tensor.data.subarray(start, start + size), dims };
    }
    return rowOutputs;
  });
}

/**
 * Runs `sequences` through `model` in micro-batches sorted by length and returns each sequence's
 * outputs in input order. Micro-batches are queued together, so the model's workers stay busy.
 */
export async function forwardInMicroBatches(
  model: Model,
  sequences: readonly TokenSequence[],
  padTokenId: number,
  options: MicroBatchOptions & {
    batcher?: {
      submit(sequences: readonly TokenSequence[], signal?: AbortSignal): Promise<RowOutputs[]>;
    };
  } = {},
): Promise<RowOutputs[]> {
  const { signal } = options;
  throwIfAborted('forward', signal);
  // With dynamic batching the sequences join those of concurrent calls instead.
  if (options.batcher !== undefined) return options.batcher.submit(sequences, signal);
  const lengths = sequences.map((s) => s.ids.length);
  const plan = planMicroBatches(lengths, {
    batchSize: options.batchSize ?? DEFAULT_BATCH_SIZE,
    maxBatchTokens: options.maxBatchTokens ?? DEFAULT_MAX_BATCH_TOKENS,
  });
  const results: RowOutputs[] = new Array(sequences.length);
  await Promise.all(
    plan.map(async (indices) => {
      const members = indices.map((i) => sequences[i]!);
      const { inputs, dims } = padSequences(members, padTokenId, model.inputNames);
      const outputs = await model.forward(inputs, dims, signal === undefined ? {} : { signal });
      splitRows(
        outputs,
        indices.map((i) => lengths[i]!),
        dims[1],
        options.perTokenScalars,
      ).forEach((rowOutputs, k) => {
        results[indices[k]!] = rowOutputs;
      });
    }),
  );
  return results;
}
