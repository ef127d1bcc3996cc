import { types } from 'node:util';
import { cosineSimilarity, normalize, pool } from '../../lib/tasks/pooling';

// hidden [batch 2, seq 3, hidden 2]; row 0 has one padding token whose values (±100) must never leak.
const hidden = new Float32Array([
  // row 0: [1, 2], [3, 4], [100, -100] (padding)
  1, 2, 3, 4, 100, -100,
  // row 1: [-1, 0], [5, 6], [7, -8]
  -1, 0, 5, 6, 7, -8,
]);
const dims = [2, 3, 2];
const mask = [1, 1, 0, 1, 1, 1];

function plain(vectors: Float32Array[]): number[][] {
  return vectors.map((v) => Array.from(v));
}

describe('pool', () => {
  it('mean averages the real tokens only', () => {
    const [row0, row1] = pool(hidden, dims, mask, 'mean') as [Float32Array, Float32Array];
    expect(types.isFloat32Array(row0)).toBe(true);
    // row 0: ([1, 2] + [3, 4]) / 2; row 1: ([-1, 0] + [5, 6] + [7, -8]) / 3
    expect(Array.from(row0)).toEqual([2, 3]);
    expect(row1[0]).toBeCloseTo(11 / 3, 6);
    expect(row1[1]).toBeCloseTo(-2 / 3, 6);
  });

  it('cls takes the first token', () => {
    expect(plain(pool(hidden, dims, mask, 'cls'))).toEqual([
      [1, 2],
      [-1, 0],
    ]);
  });

  it('max ignores padding', () => {
    // Without the mask row 0 would be [100, 4].
    expect(plain(pool(hidden, dims, mask, 'max'))).toEqual([
      [3, 4],
      [7, 6],
    ]);
  });

  it('none keeps the real tokens, flattened', () => {
    expect(plain(pool(hidden, dims, mask, 'none'))).toEqual([
      [1, 2, 3, 4],
      [-1, 0, 5, 6, 7, -8],
    ]);
    // Left padding: the real tokens are not a prefix.
    expect(plain(pool(hidden, dims, [0, 1, 1, 1, 1, 1], 'none'))[0]).toEqual([3, 4, 100, -100]);
  });

  it('follows sentence-transformers on a row that is all padding', () => {
    const allPadding = [0, 0, 0, 1, 1, 1];
    // sum / clamp(0, 1e-9) = 0 / 1e-9 = 0; max over -1e9 fills is -1e9.
    expect(Array.from(pool(hidden, dims, allPadding, 'mean')[0] as Float32Array)).toEqual([0, 0]);
    expect(Array.from(pool(hidden, dims, allPadding, 'max')[0] as Float32Array)).toEqual([-1e9, -1e9]);
    expect(pool(hidden, dims, allPadding, 'none')[0]?.length).toBe(0);
  });

  it('accepts a bigint mask and returns arrays that do not alias hidden', () => {
    const copy = hidden.slice();
    const [cls] = pool(copy, dims, BigInt64Array.from(mask.map(BigInt)), 'cls') as [Float32Array];
    const [none] = pool(copy, dims, BigInt64Array.from(mask.map(BigInt)), 'none') as [Float32Array];
    copy.fill(0);
    expect(Array.from(cls)).toEqual([1, 2]);
    expect(Array.from(none)).toEqual([1, 2, 3, 4]);
  });

  it('rejects shapes that disagree and unknown strategies', () => {
    const expectBadInput = (fn: () => unknown, message: RegExp): void => {
      expect(fn).toThrow(message);
      expect(() => fn()).toThrow(expect.objectContaining({ code: 'E_BAD_INPUT' }));
    };
    expectBadInput(
      () => pool(hidden, [2, 3], mask, 'mean'),
      /pool: dims must be \[batch, seq, hidden\]; got \[2, 3\]/,
    );
    expectBadInput(() => pool(hidden, [2, 3, 3], mask, 'mean'), /hidden must hold 2\*3\*3 values .* got 12/);
    expectBadInput(
      () => pool(hidden, dims, [1, 1], 'mean'),
      /attentionMask must hold batch\*seq = 6 values; got 2/,
    );
    expectBadInput(
      () => pool(hidden, dims, mask, 'sum' as 'mean'),
      /strategy must be one of mean, cls, max, none; got sum/,
    );
  });
});

describe('normalize', () => {
  it('divides by the L2 norm', () => {
    const v = normalize([3, 4]);
    expect(types.isFloat32Array(v)).toBe(true);
    expect(v[0]).toBeCloseTo(0.6, 7);
    expect(v[1]).toBeCloseTo(0.8, 7);
  });

  it('keeps the zero vector (eps 1e-12, no NaN)', () => {
    expect(Array.from(normalize(new Float32Array(3)))).toEqual([0, 0, 0]);
  });
});

describe('cosineSimilarity', () => {
  it('is the cosine of the angle', () => {
    expect(cosineSimilarity([1, 0], [0, 1])).toBeCloseTo(0, 12);
    expect(cosineSimilarity([1, 2], [2, 4])).toBeCloseTo(1, 12);
    expect(cosineSimilarity([1, 0], [-3, 0])).toBeCloseTo(-1, 12);
    expect(cosineSimilarity(new Float32Array([1, 1]), new Float32Array([1, 0]))).toBeCloseTo(Math.SQRT1_2, 7);
  });

  it('is 0 for a zero vector and rejects different lengths', () => {
    expect(cosineSimilarity([0, 0], [1, 2])).toBe(0);
    expect(() => cosineSimilarity([1], [1, 2])).toThrow(/same length; got 1 and 2/);
  });
});
