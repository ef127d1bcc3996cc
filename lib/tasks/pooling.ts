/**
 * Sentence-embedding post-processing: pooling of an encoder's last hidden state with the formulas of
 * sentence-transformers' models.Pooling (mean, cls, max), plus L2 normalisation as
 * torch.nn.functional.normalize and cosine similarity as sentence_transformers.util.cos_sim.
 * 'none' keeps the token vectors, as transformers' FeatureExtractionPipeline. Pure and synchronous;
 * sums are taken in float64 and results stored as float32.
 */
import { TorchEncodersError } from '../errors';

/**
 * - 'mean': average of the real tokens' vectors (weighted by the mask, as sentence-transformers).
 * - 'cls': the first token's vector (the CLS token for BERT, <s> for RoBERTa), whatever the mask.
 * - 'max': element-wise maximum over the real tokens.
 * - 'none': the real tokens' vectors, flattened [tokens, hidden] in order; the token count of row b
 *   is `result[b].length / hidden`. Special tokens are kept, as the HF feature-extraction pipeline.
 */
export type PoolingStrategy = 'mean' | 'cls' | 'max' | 'none';

const STRATEGIES: ReadonlySet<string> = new Set<PoolingStrategy>(['mean', 'cls', 'max', 'none']);

/** sentence-transformers' clamp of the token count, so an all-padding row gives zeros, not NaN. */
const MIN_TOKEN_COUNT = 1e-9;
/** sentence-transformers' value for padded positions in max pooling. */
const MAX_POOL_PADDING = -1e9;
/** torch.nn.functional.normalize's default eps. */
const NORM_EPS = 1e-12;

/**
 * Pools `hidden` (row-major [batch, seq, hidden]) into one Float32Array per batch row.
 * `attentionMask` is row-major [batch, seq]; a token is real when its mask is non-zero.
 * Every result owns its memory: none aliases `hidden`, so a kept embedding does not pin the whole
 * batch's output buffer. Throws E_BAD_INPUT on an unknown strategy or shapes that disagree.
 */
export function pool(
  hidden: Float32Array,
  dims: readonly number[],
  attentionMask: ArrayLike<number | bigint>,
  strategy: PoolingStrategy,
): Float32Array[] {
  if (!STRATEGIES.has(strategy)) {
    throw badInput(`strategy must be one of ${[...STRATEGIES].join(', ')}; got ${String(strategy)}`);
  }
  if (dims.length !== 3 || !dims.every((d) => Number.isInteger(d) && d >= 0)) {
    throw badInput(`dims must be [batch, seq, hidden]; got [${dims.join(', ')}]`);
  }
  const [batch, seq, width] = dims as [number, number, number];
  if (hidden.length !== batch * seq * width) {
    throw badInput(
      `hidden must hold ${batch}*${seq}*${width} values for dims [${dims.join(', ')}]; got ${hidden.length}`,
    );
  }
  if (attentionMask.length !== batch * seq) {
    throw badInput(`attentionMask must hold batch*seq = ${batch * seq} values; got ${attentionMask.length}`);
  }

  const out: Float32Array[] = [];
  for (let b = 0; b < batch; b++) {
    const rowStart = b * seq * width;
    const maskOf = (t: number): number => Number(attentionMask[b * seq + t] as number | bigint);
    const tokenAt = (t: number): Float32Array =>
      hidden.subarray(rowStart + t * width, rowStart + (t + 1) * width);

    if (strategy === 'cls') {
      out.push(seq > 0 ? tokenAt(0).slice() : new Float32Array(width));
    } else if (strategy === 'mean') {
      // sum(hidden * mask) / clamp(sum(mask), min=1e-9)
      const sums = new Float64Array(width);
      let count = 0;
      for (let t = 0; t < seq; t++) {
        const m = maskOf(t);
        if (m === 0) continue;
        count += m;
        const token = tokenAt(t);
        for (let j = 0; j < width; j++) sums[j] = (sums[j] as number) + (token[j] as number) * m;
      }
      const divisor = Math.max(count, MIN_TOKEN_COUNT);
      out.push(Float32Array.from(sums, (sum) => sum / divisor));
    } else if (strategy === 'max') {
      // Padded positions count as -1e9, so an all-padding row pools to -1e9 like sentence-transformers.
      const max = new Float32Array(width).fill(MAX_POOL_PADDING);
      for (let t = 0; t < seq; t++) {
        if (maskOf(t) === 0) continue;
        const token = tokenAt(t);
        for (let j = 0; j < width; j++)
          if ((token[j] as number) > (max[j] as number)) max[j] = token[j] as number;
      }
      out.push(max);
    } else {
      let real = 0;
      for (let t = 0; t < seq; t++) if (maskOf(t) !== 0) real++;
      const tokens = new Float32Array(real * width);
      let written = 0;
      for (let t = 0; t < seq; t++) {
        if (maskOf(t) === 0) continue;
        tokens.set(tokenAt(t), written * width);
        written++;
      }
      out.push(tokens);
    }
  }
  return out;
}

/** L2 normalisation, v / max(||v||, 1e-12), as torch.nn.functional.normalize: zeros stay zeros. */
export function normalize(vector: ArrayLike<number>): Float32Array {
  const divisor = Math.max(Math.sqrt(dot(vector, vector)), NORM_EPS);
  return Float32Array.from(vector, (x) => x / divisor);
}

/**
 * Cosine similarity of two vectors of equal length, as sentence_transformers.util.cos_sim (both
 * normalised with eps 1e-12, then the dot product): 0 when either is the zero vector.
 * Throws E_BAD_INPUT when the lengths differ.
 */
export function cosineSimilarity(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) {
    throw new TorchEncodersError(
      'E_BAD_INPUT',
      `cosineSimilarity: vectors must have the same length; got ${a.length} and ${b.length}`,
    );
  }
  const normA = Math.max(Math.sqrt(dot(a, a)), NORM_EPS);
  const normB = Math.max(Math.sqrt(dot(b, b)), NORM_EPS);
  return dot(a, b) / (normA * normB);
}

function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += (a[i] as number) * (b[i] as number);
  return sum;
}

function badInput(message: string): TorchEncodersError {
  return new TorchEncodersError('E_BAD_INPUT', `pool: ${message}`);
}
