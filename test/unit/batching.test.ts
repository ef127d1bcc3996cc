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

  it('with lengthSpread, starts a new batch when a row is much shorter than the longest of the batch', () => {
    // ratio 1.25, slack 2: a row of length L joins a batch whose longest is at most 1.25 L + 2.
    const lengthSpread = { ratio: 1.25, slack: 2 };
    const lengths = [40, 30, 31, 10, 8, 9, 3, 33];
    expect(planMicroBatches(lengths, { batchSize: 64, maxBatchTokens: 16384, lengthSpread })).toEqual([
      [0, 7, 2], // 40 <= 1.25 * 31 + 2 = 40.75; 30 would allow only 39.5
      [1],
      [3, 5, 4], // 10 <= 1.25 * 8 + 2 = 12
      [6],
    ]);
    // Without it the same lengths share batches by size alone.
    expect(planMicroBatches(lengths, { batchSize: 64, maxBatchTokens: 16384 })).toEqual([
      [0, 7, 2, 1, 3, 5, 4, 6],
    ]);
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

  it('cuts per-token outputs to each row length and keeps per-row outputs whole', () => {
    const rows = splitRows(
      {
        hidden: { data, dims: [2, 3, 2] },
        logits: { data: Float32Array.from([1, 2, 3, 4, 5, 6]), dims: [2, 3] },
      },
      [3, 1],
      3,
    );
    expect(rows[0]!.hidden).toEqual({ data: Float32Array.from([0, 1, 2, 3, 4, 5]), dims: [3, 2] });
    expect(rows[1]!.hidden).toEqual({ data: Float32Array.from([6, 7]), dims: [1, 2] });
    // [batch, 3] with 3 labels and padded length 3: a classifier, not per token.
    expect(rows[1]!.logits).toEqual({ data: Float32Array.from([4, 5, 6]), dims: [3] });
  });

  it('treats [batch, seq] outputs as per token when asked (QA logits)', () => {
    const rows = splitRows(
      { start: { data: Float32Array.from([1, 2, 3, 4, 5, 6]), dims: [2, 3] } },
      [3, 2],
      3,
      true,
    );
    expect(rows[1]!.start).toEqual({ data: Float32Array.from([4, 5]), dims: [2] });
  });
});
