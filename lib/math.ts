/**
 * Small numeric helpers shared by every task's post-processing. All pure and synchronous.
 *
 * Probabilities are computed in float64 and returned as float32, the precision of the model's
 * outputs, so results agree with Hugging Face's numpy post-processing to float32 rounding.
 */
import { TorchEncodersError } from './errors';

/** One entry of a `topK` result. */
export interface IndexedValue {
  index: number;
  value: number;
}

function badInput(message: string): TorchEncodersError {
  return new TorchEncodersError('E_BAD_INPUT', message);
}

/**
 * Softmax of `logits`, numerically stable: the maximum is subtracted before exponentiating, so
 * logits of any magnitude (1e4, -1e30) give finite probabilities. Computed in float64.
 *
 * Edge cases: an empty input gives an empty array; +Infinity logits share the whole mass equally
 * (the limit), where numpy would give NaN; a NaN logit, or only -Infinity logits, gives NaN.
 */
export function softmax(logits: ArrayLike<number>): Float32Array {
  const n = logits.length;
  const out = new Float32Array(n);
  if (n === 0) return out;
  let max = -Infinity;
  for (let i = 0; i < n; i++) {
    const x = logits[i] as number;
    if (Number.isNaN(x)) return out.fill(NaN);
    if (x > max) max = x;
  }
  if (max === -Infinity) return out.fill(NaN);
  if (max === Infinity) {
    let count = 0;
    for (let i = 0; i < n; i++) if (logits[i] === Infinity) count++;
    for (let i = 0; i < n; i++) out[i] = logits[i] === Infinity ? 1 / count : 0;
    return out;
  }
  const exps = new Float64Array(n);
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const e = Math.exp((logits[i] as number) - max);
    exps[i] = e;
    sum += e;
  }
  for (let i = 0; i < n; i++) out[i] = (exps[i] as number) / sum;
  return out;
}

/**
 * Element-wise logistic function, stable for large |x|: exp is only ever taken of a non-positive
 * number, so it cannot overflow. Computed in float64.
 */
export function sigmoid(logits: ArrayLike<number>): Float32Array {
  const n = logits.length;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const x = logits[i] as number;
    if (x >= 0) {
      out[i] = 1 / (1 + Math.exp(-x));
    } else {
      const e = Math.exp(x);
      out[i] = e / (1 + e);
    }
  }
  return out;
}

/**
 * Index of the largest value; the first one on ties, and the first NaN if any, as numpy's
 * argmax (so a NaN logit surfaces instead of being silently skipped). Throws E_BAD_INPUT when
 * `values` is empty.
 */
export function argmax(values: ArrayLike<number>): number {
  const n = values.length;
  if (n === 0) throw badInput('argmax: values must not be empty; got an empty array');
  let best = 0;
  let bestValue = values[0] as number;
  if (Number.isNaN(bestValue)) return 0;
  for (let i = 1; i < n; i++) {
    const x = values[i] as number;
    if (Number.isNaN(x)) return i;
    if (x > bestValue) {
      best = i;
      bestValue = x;
    }
  }
  return best;
}

/**
 * The `k` largest values with their indices, largest first; ties keep the lower index first, so
 * the order is deterministic. NaN values sort last.
 *
 * @param k Number of entries to return. A `k` above the length returns all of them; null
 *   returns all. Must be a non-negative integer otherwise (E_BAD_INPUT).
 */
export function topK(values: ArrayLike<number>, k: number | null): IndexedValue[] {
  const n = values.length;
  if (k !== null && (typeof k !== 'number' || !Number.isInteger(k) || k < 0)) {
    throw badInput(`topK: k must be a non-negative integer or null; got ${String(k)}`);
  }
  const count = k === null ? n : Math.min(k, n);
  if (count === 0) return [];
  const order = Array.from({ length: n }, (_, i) => i);
  order.sort((a, b) => compareDescending(values[a] as number, values[b] as number) || a - b);
  const out: IndexedValue[] = new Array(count);
  for (let i = 0; i < count; i++) {
    const index = order[i] as number;
    out[i] = { index, value: values[index] as number };
  }
  return out;
}

/** Comparator for a descending sort that puts NaN after every number. */
function compareDescending(a: number, b: number): number {
  const aNaN = Number.isNaN(a);
  const bNaN = Number.isNaN(b);
  if (aNaN || bNaN) return aNaN === bNaN ? 0 : aNaN ? 1 : -1;
  return a === b ? 0 : a > b ? -1 : 1;
}

/** Number of elements of a tensor of shape `dims`; checks every dimension is a size. */
export function elementCount(dims: readonly number[]): number {
  let count = 1;
  for (const d of dims) {
    if (!Number.isInteger(d) || d < 0) {
      throw badInput(`dims must be non-negative integers; got [${dims.join(', ')}]`);
    }
    count *= d;
  }
  return count;
}

/**
 * Views of the innermost rows of a row-major tensor: for dims [a, b, n], a*b subarrays of length
 * n, in order. No data is copied, so the rows alias `data` (and keep it alive).
 * Throws E_BAD_INPUT when dims is empty or does not match data.length.
 */
export function rows(data: Float32Array, dims: readonly number[]): Float32Array[] {
  if (dims.length === 0) throw badInput('rows: dims must have at least one dimension; got []');
  const total = elementCount(dims);
  if (total !== data.length) {
    throw badInput(
      `rows: dims [${dims.join(', ')}] hold ${total} elements; got data of length ${data.length}`,
    );
  }
  const width = dims[dims.length - 1] as number;
  const count = elementCount(dims.slice(0, -1));
  const out: Float32Array[] = new Array(count);
  for (let r = 0; r < count; r++) out[r] = data.subarray(r * width, (r + 1) * width);
  return out;
}

/** Softmax of each innermost row of a row-major tensor (e.g. [batch, seq, labels] logits). */
export function softmaxRows(data: Float32Array, dims: readonly number[]): Float32Array[] {
  return rows(data, dims).map((row) => softmax(row));
}
