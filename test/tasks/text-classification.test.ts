import * as path from 'node:path';
import { pipeline, type TextClassificationPipeline } from '../../lib';
import { expectError, rejection } from '../helpers/errors';
import { FIXTURES } from '../helpers/fixtures';
import { referenceSigmoid, referenceSoftmax } from '../helpers/math';

const TEXTS = [
  'I loved this film, the acting was superb.',
  'Terrible service, never again.',
  '',
  'Crème brûlée à São Paulo 🍕 東京',
  'word '.repeat(300),
  'ok',
];

/** Raw logits of one input through the manual API: the same model, no post-processing. */
async function rawLogits(
  classifier: TextClassificationPipeline,
  text: string | { text: string; textPair: string },
) {
  const batch = await classifier.model.encode(text);
  const outputs = await classifier.model.forward(batch.inputs, batch.dims);
  return Array.from(Object.values(outputs)[0]!.data);
}

describe('text-classification (single-label fixture: negative / neutral / positive)', () => {
  let classify: TextClassificationPipeline;
  beforeAll(async () => {
    classify = await pipeline('text-classification', path.join(FIXTURES, 'sequence-classification'), {
      threads: 2,
    });
  });
  afterAll(() => classify.dispose());

  it('returns the top label with its softmax probability by default', async () => {
    for (const text of TEXTS) {
      const expected = referenceSoftmax(await rawLogits(classify, text));
      const best = expected.indexOf(Math.max(...expected));
      const result = await classify(text);
      expect(result).toHaveLength(1);
      expect(result[0]!.label).toBe(['negative', 'neutral', 'positive'][best]);
      expect(result[0]!.score).toBeCloseTo(expected[best]!, 6);
    }
  });

  it('topK null returns every label sorted by score; topK 2 the best two', async () => {
    const text = TEXTS[0]!;
    const probabilities = referenceSoftmax(await rawLogits(classify, text));
    const all = await classify(text, { topK: null });
    expect(all.map((r) => r.label).sort()).toEqual(['negative', 'neutral', 'positive']);
    for (let i = 1; i < all.length; i++) expect(all[i - 1]!.score).toBeGreaterThanOrEqual(all[i]!.score);
    for (const { label, score } of all) {
      expect(score).toBeCloseTo(probabilities[['negative', 'neutral', 'positive'].indexOf(label)]!, 6);
    }
    expect(await classify(text, { topK: 2 })).toEqual(all.slice(0, 2));
    expect(await classify(text, { topK: 10 })).toEqual(all);
  });

  it('predicts more than one label across inputs (the fixture is not degenerate)', async () => {
    const labels = new Set((await classify(TEXTS)).map((r) => r[0]!.label));
    expect(labels.size).toBeGreaterThan(1);
  });

  it('functionToApply sigmoid and none', async () => {
    const logits = await rawLogits(classify, TEXTS[1]!);
    const sigmoid = await classify(TEXTS[1]!, { topK: null, functionToApply: 'sigmoid' });
    const none = await classify(TEXTS[1]!, { topK: null, functionToApply: 'none' });
    const names = ['negative', 'neutral', 'positive'];
    for (const { label, score } of sigmoid)
      expect(score).toBeCloseTo(referenceSigmoid(logits)[names.indexOf(label)]!, 6);
    for (const { label, score } of none) expect(score).toBeCloseTo(logits[names.indexOf(label)]!, 6);
  });

  it('classifies text pairs with segment ids', async () => {
    const pair = { text: 'The cat sat on the mat.', textPair: 'A cat is sitting.' };
    const expected = referenceSoftmax(await rawLogits(classify, pair));
    const [result] = await classify(pair, { topK: null }).then((r) => [r]);
    for (const { label, score } of result!) {
      expect(score).toBeCloseTo(expected[['negative', 'neutral', 'positive'].indexOf(label)]!, 6);
    }
    const single = await classify(`${pair.text} ${pair.textPair}`, { topK: null });
    expect(single).not.toEqual(result);
  });

  it('batched results equal one-by-one results to 1e-5, in input order', async () => {
    const batched = await classify(TEXTS, { topK: null, batchSize: 2, maxBatchTokens: 300 });
    expect(batched).toHaveLength(TEXTS.length);
    for (let i = 0; i < TEXTS.length; i++) {
      const single = await classify(TEXTS[i]!, { topK: null });
      expect(batched[i]!.map((r) => r.label)).toEqual(single.map((r) => r.label));
      batched[i]!.forEach((r, k) => expect(Math.abs(r.score - single[k]!.score)).toBeLessThanOrEqual(1e-5));
    }
  });

  it('truncates long inputs to the model maximum (128 tokens) and still answers', async () => {
    const batch = await classify.model.encode(TEXTS[4]!);
    expect(batch.dims).toEqual([1, 128]);
    expect(await classify(TEXTS[4]!)).toHaveLength(1);
  });

  describe('BAD CALL', () => {
    it.each([
      [42, 'text-classification: input must be a string or { text, textPair } of strings; got the number 42'],
      [null, 'text-classification: input must be a string or { text, textPair } of strings; got null'],
      [
        { text: 'a' },
        'text-classification: input must be a string or { text, textPair } of strings; got an object',
      ],
    ])('input %p', async (input, message) => {
      expectError(await rejection(classify(input as unknown as string)), 'E_BAD_INPUT', message);
    });

    it('a non-string inside an array names its index', async () => {
      expectError(
        await rejection(classify(['fine', 7 as unknown as string])),
        'E_BAD_INPUT',
        'text-classification: inputs[1] must be a string or { text, textPair } of strings; got the number 7',
      );
    });

    it.each([
      [{ topK: 0 }, 'text-classification: options.topK must be an integer >= 1; got the number 0'],
      [{ topK: 1.5 }, 'text-classification: options.topK must be an integer >= 1; got the number 1.5'],
      [
        { functionToApply: 'relu' },
        "text-classification: options.functionToApply must be one of 'softmax', 'sigmoid', 'none'; got the string 'relu'",
      ],
      [{ batchSize: 0 }, 'text-classification: options.batchSize must be an integer >= 1; got the number 0'],
      [
        { top_k: 2 },
        "text-classification: unknown option 'top_k'; known options are 'topK', 'functionToApply', 'batchSize', 'maxBatchTokens', 'signal'",
      ],
    ])('options %p', async (options, message) => {
      expectError(await rejection(classify('fine', options as object)), 'E_BAD_INPUT', message);
    });
  });
});

describe('text-classification defaults from config.json', () => {
  it('multi-label models use sigmoid: scores are independent', async () => {
    await using classify = await pipeline(
      'text-classification',
      path.join(FIXTURES, 'multi-label-classification'),
    );
    const logits = await rawLogits(classify, TEXTS[0]!);
    const labels = classify.model.config!.id2label;
    const result = await classify(TEXTS[0]!, { topK: null });
    expect(result).toHaveLength(4);
    for (const { label, score } of result)
      expect(score).toBeCloseTo(referenceSigmoid(logits)[labels.indexOf(label)]!, 6);
  });

  it('regression models apply nothing: the score is the raw output', async () => {
    await using classify = await pipeline('text-classification', path.join(FIXTURES, 'regression'));
    const logits = await rawLogits(classify, TEXTS[1]!);
    expect(await classify(TEXTS[1]!)).toEqual([{ label: 'LABEL_0', score: expect.closeTo(logits[0]!, 6) }]);
  });
});
