import * as path from 'node:path';
import { cosineSimilarity, pipeline, type FeatureExtractionPipeline } from '../../lib';
import { expectError, rejection } from '../helpers/errors';
import { FIXTURES } from '../helpers/fixtures';

const TEXTS = [
  'The cat sat on the mat.',
  'A dog barked at the mailman.',
  '',
  'Crème brûlée 🍕 東京',
  'cats and dogs',
];

/** last_hidden_state of one text through the manual API: [tokens, hidden]. */
async function hiddenStates(embed: FeatureExtractionPipeline, text: string) {
  const batch = await embed.model.encode(text);
  const outputs = await embed.model.forward(batch.inputs, batch.dims);
  const hidden = outputs.last_hidden_state!;
  const width = hidden.dims[2]!;
  return Array.from({ length: hidden.dims[1]! }, (_, t) =>
    Array.from(hidden.data.subarray(t * width, (t + 1) * width)),
  );
}

describe('feature-extraction (BERT base fixture)', () => {
  let embed: FeatureExtractionPipeline;
  beforeAll(async () => {
    embed = await pipeline('feature-extraction', path.join(FIXTURES, 'base'), { threads: 2 });
  });
  afterAll(() => embed.dispose());

  it("'mean' averages the token vectors, 'cls' takes the first, 'max' the per-dimension maximum", async () => {
    for (const text of TEXTS) {
      const rows = await hiddenStates(embed, text);
      const width = rows[0]!.length;
      const mean = Array.from(
        { length: width },
        (_, d) => rows.reduce((sum, row) => sum + row[d]!, 0) / rows.length,
      );
      const max = Array.from({ length: width }, (_, d) => Math.max(...rows.map((row) => row[d]!)));
      const byMean = await embed(text);
      expect(byMean.dims).toEqual([width]);
      byMean.data.forEach((v, d) => expect(v).toBeCloseTo(mean[d]!, 5));
      (await embed(text, { pooling: 'cls' })).data.forEach((v, d) => expect(v).toBeCloseTo(rows[0]![d]!, 5));
      (await embed(text, { pooling: 'max' })).data.forEach((v, d) => expect(v).toBeCloseTo(max[d]!, 5));
      const none = await embed(text, { pooling: 'none' });
      expect(none.dims).toEqual([rows.length, width]);
      none.data.forEach((v, i) => expect(v).toBeCloseTo(rows[Math.floor(i / width)]![i % width]!, 5));
    }
  });

  it('normalize gives unit vectors pointing the same way', async () => {
    const plain = await embed(TEXTS[0]!);
    const unit = await embed(TEXTS[0]!, { normalize: true });
    const norm = Math.hypot(...unit.data);
    expect(norm).toBeCloseTo(1, 5);
    expect(cosineSimilarity(plain.data, unit.data)).toBeCloseTo(1, 5);
  });

  it('similarity ranks documents by cosine similarity to the query', async () => {
    const documents = TEXTS.slice(1);
    const ranked = await embed.similarity(TEXTS[0]!, documents);
    expect(ranked.map((r) => r.index).sort()).toEqual([0, 1, 2, 3]);
    const query = await embed(TEXTS[0]!);
    for (const { index, text, score } of ranked) {
      expect(text).toBe(documents[index]);
      expect(score).toBeCloseTo(cosineSimilarity(query.data, (await embed(text)).data), 5);
    }
    for (let i = 1; i < ranked.length; i++)
      expect(ranked[i - 1]!.score).toBeGreaterThanOrEqual(ranked[i]!.score);
    expect(await embed.similarity(TEXTS[0]!, documents, { topK: 2 })).toEqual(ranked.slice(0, 2));
  });

  it('batched results equal one-by-one results to 1e-5', async () => {
    for (const pooling of ['mean', 'cls', 'max', 'none'] as const) {
      const batched = await embed(TEXTS, { pooling, batchSize: 2 });
      for (let i = 0; i < TEXTS.length; i++) {
        const single = await embed(TEXTS[i]!, { pooling });
        expect(batched[i]!.dims).toEqual(single.dims);
        batched[i]!.data.forEach((v, k) => expect(Math.abs(v - single.data[k]!)).toBeLessThanOrEqual(1e-5));
      }
    }
  });

  describe('BAD CALL', () => {
    it('pooling of the wrong value, non-string input, similarity with pooling none', async () => {
      expectError(
        await rejection(embed('x', { pooling: 'sum' as 'mean' })),
        'E_BAD_INPUT',
        "feature-extraction: options.pooling must be one of 'mean', 'cls', 'max', 'none'; got the string 'sum'",
      );
      expectError(
        await rejection(embed([1] as unknown as string[])),
        'E_BAD_INPUT',
        'feature-extraction: inputs[0] must be a string; got the number 1',
      );
      expectError(
        await rejection(embed.similarity('q', ['d'], { pooling: 'none' as 'mean' })),
        'E_BAD_INPUT',
        "feature-extraction.similarity: options.pooling must be 'mean', 'cls' or 'max'; got the string 'none'",
      );
    });
  });
});
