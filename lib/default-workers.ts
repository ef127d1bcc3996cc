import type { ModelConfig } from './model-config';

/**
 * FLOPs per token of the encoder layers (a multiply-add counts 2) at or below which a forward gains nothing from a
 * second intra-op thread. Measured on 2 cores (single sentences, then 1,000 sentences in batches of 8; 2 threads):
 * - 2 layers × 128 wide (0.2.0's demo models, 0.8 MFLOP/token): one sentence takes 0.8–0.9 ms with 2 threads and with 1
 *   (five paired runs; once 1.4 ms with 1); two forwards side by side, 1 thread each, classify 1.25–1.50× as many
 *   texts per second.
 * - 4 layers × 256 wide (6.3 MFLOP/token): one sentence takes 2.6–3.4 ms with 2 threads, 5.0–5.1 ms with 1, so
 *   sharing the threads out would cost a lone request 1.5–2.0× its latency for 1.2× the throughput.
 * Larger shapes (MiniLM-L6, BERT-base) ran a lone sentence 1.2–1.7× faster with a second thread.
 */
export const SMALL_MODEL_FLOPS_PER_TOKEN = 2e6;

function positiveInteger(
  raw: Readonly<Record<string, unknown>>,
  keys: readonly string[],
): number | undefined {
  for (const key of keys) {
    const value = raw[key];
    if (typeof value === 'number' && Number.isInteger(value) && value > 0) return value;
  }
  return undefined;
}

/**
 * FLOPs per token of the encoder layers' matrix multiplies (attention projections and feed-forward), from
 * config.json: 2 × layers × (4 × hidden² + 2 × hidden × intermediate). Undefined when the config does not name
 * the sizes (BERT/RoBERTa keys, or DistilBERT's dim / n_layers / hidden_dim).
 */
export function encoderFlopsPerToken(config: ModelConfig): number | undefined {
  const hidden = positiveInteger(config.raw, ['hidden_size', 'dim']);
  const layers = positiveInteger(config.raw, ['num_hidden_layers', 'n_layers']);
  const intermediate = positiveInteger(config.raw, ['intermediate_size', 'hidden_dim']);
  if (hidden === undefined || layers === undefined || intermediate === undefined) return undefined;
  return 2 * layers * (4 * hidden * hidden + 2 * hidden * intermediate);
}

/**
 * How many forwards run at once when ModelLoadOptions.workers is not given: one per thread for CPU models too
 * small to use a second thread per forward (so concurrent and batched calls run side by side at no cost to a lone
 * call), else one with every thread (the lowest latency per call). One on CUDA, where the device does the work,
 * and for a bare TorchScript file, whose size is unknown.
 */
export function defaultWorkers(
  config: ModelConfig | undefined,
  threads: number,
  onCuda: () => boolean,
): number {
  const flops = config === undefined ? undefined : encoderFlopsPerToken(config);
  // Asked last: with device 'auto' it may initialise CUDA.
  return flops !== undefined && flops <= SMALL_MODEL_FLOPS_PER_TOKEN && !onCuda() ? threads : 1;
}
