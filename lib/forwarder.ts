import {
  DEFAULT_BATCH_SIZE,
  DEFAULT_MAX_BATCH_TOKENS,
  padSequences,
  splitRows,
  type RowOutputs,
  type TokenSequence,
} from './batching';
import { TorchEncodersError } from './errors';
import type { Model, Tensor } from './model';

/**
 * One output a task reads: the first of `names` the model returns (a dict-returning or name-mapped
 * module), else the output at `position` (output_0..n of a tuple), so Hugging Face exports traced
 * with torchscript=True and dict-returning modules both work. `perToken` outputs are
 * [batch, seq, ...] and are cut to each row's own length; the others are [batch, ...].
 */
export interface OutputSpec {
  names: readonly string[];
  position: number;
  perToken: boolean;
}

/** The outputs a task reads, by the role it gives each (e.g. { logits: ... }). */
export type OutputSpecs = Readonly<Record<string, OutputSpec>>;

/** How large one forward may be: rows, and padded tokens (rows × longest row). */
export interface MicroBatchLimits {
  batchSize: number;
  maxBatchTokens: number;
}

/**
 * What runs one micro-batch of a call: the model directly (ModelForwarder), or a dynamic batcher
 * that merges it with the micro-batches of concurrent calls under the same limits. Both give each
 * sequence's outputs by role, in order.
 */
export interface Forwarder {
  /** Micro-batches a call keeps in flight: enough to keep the model's workers busy, no more. */
  readonly concurrency: number;
  /** The limits of a call that names none. */
  readonly defaultLimits: MicroBatchLimits;
  /** `onStart` is called when the forward that runs `sequences` starts (for CallStats' queue time). */
  forward(
    sequences: readonly TokenSequence[],
    limits: MicroBatchLimits,
    signal?: AbortSignal,
    onStart?: () => void,
  ): Promise<RowOutputs[]>;
}

/**
 * Picks the outputs `specs` name out of a forward's outputs, by role. Rejects a missing output,
 * and a per-token output whose second dimension is not the padded length, with E_FORWARD.
 */
export function pickOutputs(
  outputs: Record<string, Tensor>,
  specs: OutputSpecs,
  dims: readonly [number, number],
  task: string,
): Record<string, Tensor> {
  const picked: Record<string, Tensor> = {};
  const values = Object.values(outputs);
  for (const [role, spec] of Object.entries(specs)) {
    const name = spec.names.find((candidate) => outputs[candidate] !== undefined);
    const output = name === undefined ? values[spec.position] : outputs[name];
    if (output === undefined) {
      throw new TorchEncodersError(
        'E_FORWARD',
        `${task}: the model returned ${values.length} output(s) (${Object.keys(outputs).join(', ')}); expected ${spec.names.join(' or ')} at position ${spec.position}`,
      );
    }
    const [batch, seq] = output.dims;
    if (batch !== dims[0] || (spec.perToken && seq !== dims[1])) {
      throw new TorchEncodersError(
        'E_FORWARD',
        `${task}: output ${name ?? `#${spec.position}`} has dims [${output.dims.join(', ')}] for inputs [${dims.join(', ')}]; expected [${dims[0]}, ${spec.perToken ? `${dims[1]}, ...` : '...'}]`,
      );
    }
    picked[role] = output;
  }
  return picked;
}

/**
 * Each micro-batch is one forward of the model. A call keeps two per worker in flight, so a worker
 * that finishes finds the next one queued while this thread pads the one after.
 */
export class ModelForwarder implements Forwarder {
  readonly concurrency: number;
  readonly defaultLimits: MicroBatchLimits = {
    batchSize: DEFAULT_BATCH_SIZE,
    maxBatchTokens: DEFAULT_MAX_BATCH_TOKENS,
  };
  readonly #model: Model;
  readonly #padTokenId: number;
  readonly #outputs: OutputSpecs;
  readonly #perToken: ReadonlySet<string>;
  readonly #task: string;

  constructor(model: Model, padTokenId: number, outputs: OutputSpecs, task: string) {
    this.#model = model;
    this.#padTokenId = padTokenId;
    this.#outputs = outputs;
    this.#perToken = new Set(Object.keys(outputs).filter((role) => outputs[role]!.perToken));
    this.#task = task;
    this.concurrency = 2 * model.workers;
  }

  /**
   * Pads `sequences` into one forward and cuts its outputs into rows. They are one micro-batch,
   * already planned within the call's limits.
   */
  async forward(
    sequences: readonly TokenSequence[],
    _limits?: MicroBatchLimits,
    signal?: AbortSignal,
    onStart?: () => void,
  ): Promise<RowOutputs[]> {
    const { inputs, dims } = padSequences(sequences, this.#padTokenId, this.#model.inputNames);
    // Waiting for a busy worker inside the model counts as the forward's time here.
    onStart?.();
    const raw = await this.#model.forward(inputs, dims, signal === undefined ? {} : { signal });
    const picked = pickOutputs(raw, this.#outputs, dims, this.#task);
    return splitRows(
      picked,
      sequences.map((s) => s.ids.length),
      this.#perToken,
    );
  }
}
