// Post-processing parity with an independent implementation: transformers.js (on onnxruntime-node) runs the
// ONNX export of the same weights (test/reference/onnx-export.test.ts shows the two exports agree), so any
// difference here is in tokenization or post-processing. Inputs stay under the 128-token maximum, where the
// two libraries' truncation cannot differ.
import * as path from 'node:path';
import { pipeline, type EntityGroup, type TokenEntity } from '../../lib';
import { FIXTURES } from '../helpers/fixtures';
import { runTransformersJs } from '../helpers/transformers-js';

const TEXTS = [
  'I loved this film, the acting was superb.',
  'Terrible service, never again.',
  'Angela Merkel visited Washington and Paris yesterday.',
  'hyperparameterization is unbelievably uncomfortable',
  'The weather in São Paulo is nice in March.',
  'ok',
];
const SCORE_TOLERANCE = 1e-4;

describe('parity with transformers.js', () => {
  it.each(['sequence-classification', 'multi-label-classification'])(
    'text-classification on %s: every label, same order and scores',
    async (fixture) => {
      const model = path.join(FIXTURES, fixture);
      await using classify = await pipeline('text-classification', model);
      const ours = await classify(TEXTS, { topK: null });
      const theirs = await runTransformersJs({
        task: 'text-classification',
        model,
        inputs: TEXTS,
        options: { top_k: null },
      });
      TEXTS.forEach((_, i) => {
        expect(ours[i]!.map((r) => r.label)).toEqual(theirs.outputs[i]!.map((r) => r.label));
        ours[i]!.forEach((r, k) =>
          expect(Math.abs(r.score - theirs.outputs[i]![k]!.score)).toBeLessThan(SCORE_TOLERANCE),
        );
      });
    },
  );

  it("token-classification 'none': same tokens, labels, scores and token indices", async () => {
    const model = path.join(FIXTURES, 'token-classification');
    await using ner = await pipeline('ner', model);
    const ours = (await ner(TEXTS)) as TokenEntity[][];
    const theirs = await runTransformersJs({ task: 'token-classification', model, inputs: TEXTS });
    expect(ours.flat().length).toBeGreaterThan(5);
    TEXTS.forEach((_, i) => {
      const expected = theirs.outputs[i] as { entity: string; score: number; index: number; word: string }[];
      expect(ours[i]!.map(({ entity, index, word }) => ({ entity, index, word }))).toEqual(
        expected.map(({ entity, index, word }) => ({ entity, index, word })),
      );
      ours[i]!.forEach((e, k) =>
        expect(Math.abs(e.score - expected[k]!.score)).toBeLessThan(SCORE_TOLERANCE),
      );
    });
  });

  it("token-classification 'simple': same groups, words and scores", async () => {
    // transformers.js drops ignored labels before grouping where Hugging Face groups first, so entities separated
    // only by O tokens merge there; with nothing ignored both group the same way.
    const model = path.join(FIXTURES, 'token-classification');
    await using ner = await pipeline('ner', model);
    const ours = (await ner(TEXTS, { aggregationStrategy: 'simple', ignoreLabels: [] })) as EntityGroup[][];
    const theirs = await runTransformersJs({
      task: 'token-classification',
      model,
      inputs: TEXTS,
      options: { aggregation_strategy: 'simple', ignore_labels: [] },
    });
    TEXTS.forEach((_, i) => {
      const expected = theirs.outputs[i] as { entity_group: string; score: number; word: string }[];
      expect(ours[i]!.map((g) => ({ entity_group: g.entityGroup, word: g.word }))).toEqual(
        expected.map(({ entity_group, word }) => ({ entity_group, word })),
      );
      ours[i]!.forEach((g, k) =>
        expect(Math.abs(g.score - expected[k]!.score)).toBeLessThan(SCORE_TOLERANCE),
      );
    });
  });

  it('question-answering in one window: same best answer and score', async () => {
    const model = path.join(FIXTURES, 'question-answering');
    await using qa = await pipeline('question-answering', model);
    const inputs = [
      {
        question: 'Who designed the tower?',
        context: 'The tower was designed by Gustave Eiffel in Paris in 1887.',
      },
      { question: 'Where do I live?', context: 'My name is Wolfgang and I live in Berlin.' },
      { question: 'What is it?', context: TEXTS[2]! },
    ];
    // transformers.js has no answer length limit, no word alignment and one window.
    const ours = await qa(inputs, { maxAnswerLen: 1000, alignToWords: false });
    const theirs = await runTransformersJs({ task: 'question-answering', model, inputs });
    inputs.forEach(({ context }, i) => {
      const best = ours[i]![0]!;
      expect(best.answer).toBe(context.slice(best.start, best.end));
      // Theirs is the span's tokens decoded: lower case with this uncased tokenizer, and a span that starts
      // inside a word keeps the continuation prefix.
      const decoded = theirs.outputs[i]![0]!.answer.replace(/^##/, '');
      expect(best.answer.toLowerCase().replace(/\s+/g, '')).toBe(decoded.replace(/\s+/g, ''));
      expect(Math.abs(best.score - theirs.outputs[i]![0]!.score)).toBeLessThan(SCORE_TOLERANCE);
    });
  });

  it.each(['mean', 'cls'] as const)('feature-extraction with %s pooling: same vectors', async (pooling) => {
    const model = path.join(FIXTURES, 'base');
    await using embed = await pipeline('feature-extraction', model);
    for (const normalize of [false, true]) {
      const ours = await embed(TEXTS, { pooling, normalize });
      const theirs = await runTransformersJs({
        task: 'feature-extraction',
        model,
        inputs: TEXTS,
        options: { pooling, normalize },
      });
      TEXTS.forEach((_, i) => {
        const expected = theirs.outputs[i] as number[];
        expect(ours[i]!.data.length).toBe(expected.length);
        ours[i]!.data.forEach((v, d) => expect(Math.abs(v - expected[d]!)).toBeLessThan(SCORE_TOLERANCE));
      });
    }
  });
});
