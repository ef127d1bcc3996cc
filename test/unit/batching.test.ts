import { padSequences, planMicroBatches, splitRows } from '../../lib/batching';

describe('planMicroBatches', () => {
  it('sorts by length, longest first, and respects batchSize', () => {
    expect(planMicroBatches([3, 10, 5, 7, 1], { batchSize: 2, maxBatchTokens: 1000 })).toEqual([
      [1, 3],
      [2, 0],
      [4],
    ]);
  });

  it('respects the padded-token budget (rows x longest row), keeping at least one row per batch', () => {
    // 10+10 fits 20; adding a third row of the longest length 10 would make 30.
    expect(planMicroBatches([10, 10, 10, 2], { batchSize: 8, maxBatchTokens: 20 })).toEqual([
      [0, 1],
      [2, 3],
    ]);
    expect(planMicroBatches([50], { batchSize: 8, maxBatchTokens: 20 })).toEqual([[0]]);
  });

  it('keeps equal lengths in input order and covers every index once', () => {
    const plan = planMicroBatches([4, 4, 4, 4, 4], { batchSize: 2, maxBatchTokens: 100 });
    expect(plan).toEqual([[0, 1], [2, 3], [4]]);
  });

  it('with forwardCostInTokens, splits where the padding saved outweighs the extra forwards', () => {
    const lengths = [40, 30, 31, 10, 8, 9, 3, 33];
    // One forward pads all 8 rows to 40 (320 tokens); longest first, cut where it pays.
    const plan = (forwardCostInTokens: number) =>
      planMicroBatches(lengths, { batchSize: 64, maxBatchTokens: 16384, forwardCostInTokens });
    // 30 tokens a forward: [40,33,31,30] 160 + [10,9,8,3] 40 + 60 = 260, against 320 + 30 for one.
    expect(plan(30)).toEqual([
      [0, 7, 2, 1],
      [3, 5, 4, 6],
    ]);
    // Free forwards: every cut that saves a token is made.
    expect(plan(0)).toEqual([[0], [7], [2], [1], [3], [5], [4], [6]]);
    // A forward dearer than all the padding: one forward.
    expect(plan(1000)).toEqual([[0, 7, 2, 1, 3, 5, 4, 6]]);
    // Equal lengths have no padding to save, so they fill batches.
    expect(
      planMicroBatches([5, 5, 5, 5], { batchSize: 3, maxBatchTokens: 100, forwardCostInTokens: 30 }),
    ).toEqual([[0, 1, 2], [3]]);
  });

  it('with forwardCostInTokens, respects batchSize and maxBatchTokens and lets a longer row run alone', () => {
    const lengths = [50, 6, 6, 6, 6, 6];
    expect(planMicroBatches(lengths, { batchSize: 2, maxBatchTokens: 20, forwardCostInTokens: 30 })).toEqual([
      [0],
      [1, 2],
      [3, 4],
      [5],
    ]);
  });

  it('with forwardCostInTokens, finds the cheapest of all ways to cut the sorted rows', () => {
    // An independent check: every way to cut the length-sorted rows into runs, tried one by one.
    let seed = 7;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const planCost = (lengths: number[], plan: number[][], forward: number) =>
      plan.reduce((sum, run) => sum + forward + run.length * Math.max(...run.map((i) => lengths[i]!)), 0);
    for (let trial = 0; trial < 200; trial++) {
      const n = 1 + Math.floor(random() * 9);
      const lengths = Array.from({ length: n }, () => 1 + Math.floor(random() * 60));
      const forward = Math.floor(random() * 80);
      const batchSize = 1 + Math.floor(random() * n);
      const maxBatchTokens = 20 + Math.floor(random() * 200);
      const plan = planMicroBatches(lengths, { batchSize, maxBatchTokens, forwardCostInTokens: forward });
      expect(plan.flat().sort((a, b) => a - b)).toEqual(lengths.map((_, i) => i));
      const sorted = lengths.map((_, i) => i).sort((a, b) => lengths[b]! - lengths[a]! || a - b);
      let best = Infinity;
      for (let cuts = 0; cuts < 2 ** (n - 1); cuts++) {
        const runs: number[][] = [[sorted[0]!]];
        for (let k = 1; k < n; k++) {
          if (cuts & (1 << (k - 1))) runs.push([]);
          runs[runs.length - 1]!.push(sorted[k]!);
        }
        const allowed = runs.every((run) => {
          const longest = Math.max(...run.map((i) => lengths[i]!));
          return run.length === 1 || (run.length <= batchSize && run.length * longest <= maxBatchTokens);
        });
        if (allowed) best = Math.min(best, planCost(lengths, runs, forward));
      }
      for (const run of plan) {
        const longest = Math.max(...run.map((i) => lengths[i]!));
        expect(run.length === 1 || (run.length <= batchSize && run.length * longest <= maxBatchTokens)).toBe(
          true,
        );
      }
      expect(planCost(lengths, plan, forward)).toBe(best);
    }
  });
});

describe('padSequences', () => {
  it('pads at the end with the pad id and zero masks, and gives only the inputs the model takes', () => {
    const sequences = [
      { ids: [101, 7, 102], typeIds: [0, 0, 0], attentionMask: [1, 1, 1] },
      { ids: [101, 102], typeIds: [0, 1], attentionMask: [1, 1] },
    ];
    const { inputs, dims } = padSequences(sequences, 1, ['input_ids', 'attention_mask']);
    expect(dims).toEqual([2, 3]);
    expect(Array.from(inputs.input_ids, Number)).toEqual([101, 7, 102, 101, 102, 1]);
    expect(Array.from(inputs.attention_mask!, Number)).toEqual([1, 1, 1, 1, 1, 0]);
    expect(inputs.token_type_ids).toBeUndefined();
    const withTypes = padSequences(sequences, 0, ['input_ids', 'attention_mask', 'token_type_ids']);
    expect(Array.from(withTypes.inputs.token_type_ids!, Number)).toEqual([0, 0, 0, 0, 1, 0]);
  });
});

describe('splitRows', () => {
  const data = Float32Array.from({ length: 2 * 3 * 2 }, (_, i) => i);

  it('cuts the outputs named per token to each row length and keeps the others whole', () => {
    const rows = splitRows(
      {
        hidden: { data, dims: [2, 3, 2] },
        logits: { data: Float32Array.from([1, 2, 3, 4, 5, 6]), dims: [2, 3] },
      },
      [3, 1],
      new Set(['hidden']),
    );
    expect(rows[0]!.hidden).toEqual({ data: Float32Array.from([0, 1, 2, 3, 4, 5]), dims: [3, 2] });
    expect(rows[1]!.hidden).toEqual({ data: Float32Array.from([6, 7]), dims: [1, 2] });
    // [batch, 3] with 3 labels and padded length 3: a classifier, since the task did not name it per token.
    expect(rows[1]!.logits).toEqual({ data: Float32Array.from([4, 5, 6]), dims: [3] });
  });

  it('cuts [batch, seq] outputs named per token (QA logits) to each row length', () => {
    const rows = splitRows(
      { start: { data: Float32Array.from([1, 2, 3, 4, 5, 6]), dims: [2, 3] } },
      [3, 2],
      new Set(['start']),
    );
    expect(rows[1]!.start).toEqual({ data: Float32Array.from([4, 5]), dims: [2] });
  });
});
