// Reference math for tests, written out in float64 independently of lib/math.ts.

export function referenceSoftmax(logits: ArrayLike<number>): number[] {
  const values = Array.from(logits);
  const max = Math.max(...values);
  const exps = values.map((v) => Math.exp(v - max));
  const sum = exps.reduce((a, b) => a + b, 0);
  return exps.map((e) => e / sum);
}

export function referenceSigmoid(logits: ArrayLike<number>): number[] {
  return Array.from(logits, (v) => 1 / (1 + Math.exp(-v)));
}
