import { types } from 'node:util';
import { argmax, rows, sigmoid, softmax, softmaxRows, topK } from '../../lib/math';

// Expected values are worked out by hand: softmax([0, ln 3]) = [1, 3] / 4, sigmoid(ln 3) = 3 / 4, ...
const LN3 = Math.log(3);

function expectClose(actual: ArrayLike<number>, expected: readonly number[], digits = 7): void {
  expect(actual.length).toBe(expected.length);
  expected.forEach((value, i) => expect(actual[i]).toBeCloseTo(value, digits));
}

function expectBadInput(fn: () => unknown, message: RegExp): void {
  expect(fn).toThrow(message);
  try {
    fn();
  } catch (error) {
    expect((error as { code?: string }).code).toBe('E_BAD_INPUT');
  }
}

describe('softmax', () => {
  it('returns a Float32Array of probabilities', () => {
    const p = softmax([0, LN3]);
    expect(types.isFloat32Array(p)).toBe(true);
    expectClose(p, [0.25, 0.75]);
    expectClose(softmax([2, 2, 2, 2]), [0.25, 0.25, 0.25, 0.25]);
  });

  it('is stable for large logits of either sign', () => {
    // Same differences as above, so the same probabilities; exp(1000) alone would overflow.
    expectClose(softmax([1000, 1000 + LN3]), [0.25, 0.75]);
    expectClose(softmax([-1e4, -1e4 + LN3]), [0.25, 0.75]);
    // exp(-1e30) underflows to exactly 0: no NaN.
    expect(Array.from(softmax([1e30, 0]))).toEqual([1, 0]);
    expect(Array.from(softmax([-10000, 5]))).toEqual([0, 1]);
  });

  it('handles empty input, +Infinity and NaN', () => {
    expect(softmax([]).length).toBe(0);
    expect(Array.from(softmax([Infinity, 0, Infinity]))).toEqual([0.5, 0, 0.5]);
    expect(Array.from(softmax([1, NaN])).every(Number.isNaN)).toBe(true);
  });
});

describe('sigmoid', () => {
  it('matches 1 / (1 + exp(-x)) and saturates without NaN', () => {
    const p = sigmoid([0, LN3, -LN3, 1000, -1000]);
    expect(types.isFloat32Array(p)).toBe(true);
    expectClose(p, [0.5, 0.75, 0.25, 1, 0]);
  });
});

describe('argmax', () => {
  it('returns the first maximum on ties', () => {
    expect(argmax([1, 3, 3, 2])).toBe(1);
    expect(argmax(new Float32Array([-5, -1, -1]))).toBe(1);
    expect(argmax([7])).toBe(0);
  });

  it('returns the first NaN, as numpy', () => {
    expect(argmax([1, NaN, 5, NaN])).toBe(1);
  });

  it('rejects an empty input', () => {
    expectBadInput(() => argmax([]), /argmax: values must not be empty/);
  });
});

describe('topK', () => {
  const values = [0.1, 0.5, 0.5, 0.2];

  it('sorts descending, ties by lower index', () => {
    expect(topK(values, 3)).toEqual([
      { index: 1, value: 0.5 },
      { index: 2, value: 0.5 },
      { index: 3, value: 0.2 },
    ]);
  });

  it('returns everything for k > length and for null', () => {
    const all = [
      { index: 1, value: 0.5 },
      { index: 2, value: 0.5 },
      { index: 3, value: 0.2 },
      { index: 0, value: 0.1 },
    ];
    expect(topK(values, 10)).toEqual(all);
    expect(topK(values, null)).toEqual(all);
    expect(topK(values, 0)).toEqual([]);
    expect(topK([], 3)).toEqual([]);
  });

  it('puts NaN last and rejects a bad k', () => {
    expect(topK([NaN, 1, 2], null).map((e) => e.index)).toEqual([2, 1, 0]);
    expectBadInput(() => topK(values, -1), /topK: k must be a non-negative integer or null; got -1/);
    expectBadInput(() => topK(values, 1.5), /got 1\.5/);
  });
});

describe('rows', () => {
  it('views the innermost rows without copying', () => {
    const data = new Float32Array([1, 2, 3, 4, 5, 6]);
    const r = rows(data, [1, 3, 2]);
    expect(r.map((row) => Array.from(row))).toEqual([
      [1, 2],
      [3, 4],
      [5, 6],
    ]);
    data[2] = 30;
    expect(r[1]?.[0]).toBe(30);
    expect(r[1]?.buffer).toBe(data.buffer);
  });

  it('handles zero-sized dims and rejects a mismatch', () => {
    expect(rows(new Float32Array(0), [3, 0]).map((row) => row.length)).toEqual([0, 0, 0]);
    expect(rows(new Float32Array(0), [0, 4])).toEqual([]);
    expectBadInput(
      () => rows(new Float32Array(5), [2, 3]),
      /dims \[2, 3\] hold 6 elements; got data of length 5/,
    );
    expectBadInput(() => rows(new Float32Array(1), []), /at least one dimension/);
  });

  it('softmaxRows applies softmax per row', () => {
    const probs = softmaxRows(new Float32Array([0, LN3, 5, 5]), [2, 2]);
    expectClose(probs[0] as Float32Array, [0.25, 0.75], 6);
    expectClose(probs[1] as Float32Array, [0.5, 0.5]);
  });
});
