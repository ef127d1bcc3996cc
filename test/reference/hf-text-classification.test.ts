// text-classification against transformers' own pipeline on models/sentiment: every text of
// test/reference/texts.json (pairs and texts longer than 512 tokens included), each function_to_apply and
// top_k. Goldens: test/reference/goldens/text-classification.json (npm run goldens:hf).
import * as path from 'node:path';
import { pipeline, type LabelScore, type TextClassificationPipeline, type TextInput } from '../../lib';
import {
  classificationOptions,
  close,
  loadGolden,
  loadTexts,
  ROOT,
  TOLERANCE,
  type HfClassificationOptions,
} from './hf-goldens';

interface Case {
  id: string;
  results: { options: HfClassificationOptions; result: LabelScore[] }[];
}

/**
 * Labels in transformers' order, except that two labels whose golden scores tie within the tolerance
 * may come in either order (float32 through libtorch against PyTorch cannot order them reliably).
 */
function expectSameLabels(ours: LabelScore[], theirs: LabelScore[], where: string): void {
  expect({ where, length: ours.length }).toEqual({ where, length: theirs.length });
  ours.forEach((mine, k) => {
    const expected = theirs[k]!;
    const sameSlot = theirs.find((t) => t.label === mine.label);
    const tie = sameSlot !== undefined && close(sameSlot.score, expected.score, 2 * TOLERANCE);
    if (mine.label !== expected.label && !tie) {
      throw new Error(`${where}[${k}]: label ${mine.label}, transformers ${expected.label}`);
    }
    if (!close(mine.score, sameSlot?.score ?? NaN)) {
      throw new Error(
        `${where}[${k}] ${mine.label}: score ${mine.score}, transformers ${sameSlot?.score} (tolerance ${TOLERANCE})`,
      );
    }
  });
}

describe('text-classification against transformers 4.57 pipeline (models/sentiment)', () => {
  const texts = loadTexts();
  let golden: ReturnType<typeof loadGolden<Case[]>>;
  let classify: TextClassificationPipeline;
  let inputs: TextInput[];
  beforeAll(async () => {
    golden = loadGolden<Case[]>('text-classification');
    classify = await pipeline('text-classification', path.join(ROOT, golden.meta.model));
    inputs = golden.cases.map(({ id }) => {
      const item = texts.get(id);
      if (item === undefined) throw new Error(`the golden names text ${id}, which texts.json lacks`);
      return item.text_pair === undefined ? item.text : { text: item.text, textPair: item.text_pair };
    });
  }, 60_000);
  afterAll(() => classify?.dispose());

  it('covers singles, pairs and texts longer than the model maximum', () => {
    const ids = golden.cases.map(({ id }) => texts.get(id)!);
    expect(ids.some((item) => item.text_pair !== undefined)).toBe(true);
    expect(ids.some((item) => item.tags.includes('long') && item.text_pair === undefined)).toBe(true);
    expect(ids.some((item) => item.tags.includes('long') && item.text_pair !== undefined)).toBe(true);
  });

  // Every case holds the same option sets; each runs as one batched call over all inputs.
  const optionSets: { name: string; index: number }[] = [
    { name: 'default (no top_k, the model default function)', index: 0 },
    ...['softmax', 'sigmoid', 'none'].flatMap((fn, f) =>
      ['1', '2', 'null'].map((k, t) => ({
        name: `function_to_apply ${fn}, top_k ${k}`,
        index: 1 + f * 3 + t,
      })),
    ),
  ];

  // The texts longer than the model maximum cost most of the forwards: they run under the default call
  // and under function_to_apply none / top_k null (raw logits of every label, which pins the truncation
  // down); the option handling is the same for every input and is covered by the others.
  const FULL_COVERAGE = new Set([0, 9]);

  it.each(optionSets)(
    '$name: labels exact, scores to 1e-4',
    async ({ index }) => {
      const hfOptions = golden.cases[0]!.results[index]!.options;
      for (const { results } of golden.cases) expect(results[index]!.options).toEqual(hfOptions);
      const chosen = golden.cases
        .map((goldenCase, i) => ({ goldenCase, input: inputs[i]! }))
        .filter(
          ({ goldenCase }) => FULL_COVERAGE.has(index) || !texts.get(goldenCase.id)!.tags.includes('long'),
        );
      const ours = await classify(
        chosen.map(({ input }) => input),
        classificationOptions(hfOptions),
      );
      chosen.forEach(({ goldenCase: { id, results } }, i) => {
        expectSameLabels(ours[i]!, results[index]!.result, `${id} ${JSON.stringify(hfOptions)}`);
      });
    },
    180_000,
  );
});
