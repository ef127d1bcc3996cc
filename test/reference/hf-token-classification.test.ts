// token-classification (NER) against transformers' own pipeline on models/ner: every single text of
// test/reference/texts.json under each aggregation_strategy (none, simple, first, average, max), with the
// default ignore_labels and with none ignored; texts longer than 512 tokens in stride-128 windows.
// Goldens: test/reference/goldens/token-classification.json (npm run goldens:hf).
import * as path from 'node:path';
import { pipeline, type EntityGroup, type TokenClassificationPipeline, type TokenEntity } from '../../lib';
import {
  close,
  entityOf,
  loadGolden,
  loadTexts,
  ROOT,
  TOLERANCE,
  tokenClassificationOptions,
  type HfTokenClassificationOptions,
} from './hf-goldens';

type HfEntity = Record<string, string | number>;

interface Case {
  id: string;
  tokens: number;
  windowed: boolean;
  results: { options: HfTokenClassificationOptions; entities: HfEntity[] }[];
  none_windows?: { stride: number; windows: HfEntity[][] };
}

/** Labels, words, offsets and token indices exact; scores to 1e-4. */
function expectSameEntities(ours: (TokenEntity | EntityGroup)[], theirs: HfEntity[], where: string): void {
  const strip = (e: Record<string, unknown>) => ({ ...e, score: undefined });
  const expected = theirs.map(entityOf);
  expect({ where, entities: ours.map((e) => strip({ ...e })) }).toEqual({
    where,
    entities: expected.map(strip),
  });
  ours.forEach((entity, k) => {
    const score = expected[k]!.score as number;
    if (!close(entity.score, score)) {
      throw new Error(
        `${where}[${k}]: score ${entity.score}, transformers ${score} (tolerance ${TOLERANCE})`,
      );
    }
  });
}

describe('token-classification against transformers 4.57 pipeline (models/ner)', () => {
  const texts = loadTexts();
  let golden: ReturnType<typeof loadGolden<Case[]>>;
  let ner: TokenClassificationPipeline;
  beforeAll(async () => {
    golden = loadGolden<Case[]>('token-classification');
    ner = await pipeline('token-classification', path.join(ROOT, golden.meta.model));
  }, 60_000);
  afterAll(() => ner?.dispose());

  const textOf = (id: string): string => {
    const item = texts.get(id);
    if (item === undefined) throw new Error(`the golden names text ${id}, which texts.json lacks`);
    return item.text;
  };

  /** The golden's (case, result) pairs grouped by their options, each group one batched call. */
  function groups(windowed: boolean): [string, { id: string; entities: HfEntity[] }[]][] {
    const byOptions = new Map<string, { id: string; entities: HfEntity[] }[]>();
    for (const goldenCase of golden.cases.filter((c) => c.windowed === windowed)) {
      for (const { options, entities } of goldenCase.results) {
        const key = JSON.stringify(options);
        byOptions.set(key, [...(byOptions.get(key) ?? []), { id: goldenCase.id, entities }]);
      }
    }
    return [...byOptions];
  }

  const STRATEGIES = ['none', 'simple', 'first', 'average', 'max'];

  // Deviation (README, Fidelity): group words are decoded once from their tokens, where transformers
  // decodes the already-decoded words again. The two differ only with byte-level BPE (non-ASCII text turns
  // into mojibake in transformers); the demo models are WordPiece, so the words must be exactly
  // transformers', accented and CJK texts included.
  it('the golden words include non-ASCII text, so the word comparisons below test the decoding', () => {
    const words = golden.cases.flatMap((c) =>
      c.results.flatMap((r) => r.entities.map((e) => String(e.word))),
    );
    expect(words.some((word) => [...word].some((c) => c.codePointAt(0)! > 0x7f))).toBe(true);
  });

  it.each(STRATEGIES)(
    'aggregation_strategy %s, texts within one window: same entities, words, offsets; scores to 1e-4',
    async (strategy) => {
      const chosen = groups(false).filter(([key]) => JSON.parse(key).aggregation_strategy === strategy);
      expect(chosen.length).toBe(2); // ignore_labels default (["O"]) and []
      for (const [key, cases] of chosen) {
        const options = tokenClassificationOptions(JSON.parse(key) as HfTokenClassificationOptions);
        const ours = await ner(
          cases.map(({ id }) => textOf(id)),
          options as { aggregationStrategy: 'simple' },
        );
        cases.forEach(({ id, entities }, i) => expectSameEntities(ours[i]!, entities, `${id} ${key}`));
      }
    },
  );

  it('texts longer than 512 tokens, stride 128: the overlapping windows resolve as in transformers', async () => {
    // Every strategy with nothing ignored (the whole text in groups, so the overlap resolution is seen);
    // the ignore_labels filter is the same code for one window or several, covered above.
    const chosen = groups(true).filter(
      ([key]) => (JSON.parse(key) as HfTokenClassificationOptions).ignore_labels !== null,
    );
    expect(chosen.map(([key]) => JSON.parse(key).aggregation_strategy).sort()).toEqual([
      'average',
      'first',
      'max',
      'simple',
    ]);
    for (const [key, cases] of chosen) {
      const options = tokenClassificationOptions(JSON.parse(key) as HfTokenClassificationOptions);
      expect(options.stride).toBe(128);
      const ours = await ner(
        cases.map(({ id }) => textOf(id)),
        options as { aggregationStrategy: 'simple' },
      );
      cases.forEach(({ id, entities }, i) => expectSameEntities(ours[i]!, entities, `${id} ${key}`));
    }
  }, 240_000);

  it(
    "deviation (documented in lib/tasks/token-aggregation.ts): 'none' over several windows, which " +
      'transformers refuses, keeps each token from the window where it has the most context',
    async () => {
      const windowed = golden.cases.filter((c) => c.none_windows !== undefined);
      expect(windowed.length).toBeGreaterThan(0);
      for (const { id, none_windows } of windowed) {
        const { stride, windows } = none_windows!;
        expect(windows.length).toBeGreaterThan(1);
        // The rule, written here from its documentation: a token (its character span) is taken from the
        // window where its distance to the nearer end of that window's token list is largest, the
        // earlier window on ties; then sorted by start, end, and the ignored labels dropped.
        const best = new Map<string, { context: number; entity: HfEntity }>();
        for (const window of windows) {
          window.forEach((entity, position) => {
            const context = Math.min(position, window.length - 1 - position);
            const key = `${entity.start}:${entity.end}`;
            const current = best.get(key);
            if (current === undefined || context > current.context) best.set(key, { context, entity });
          });
        }
        const merged = [...best.values()]
          .map(({ entity }) => entity)
          .sort((a, b) => (a.start as number) - (b.start as number) || (a.end as number) - (b.end as number));
        // Every token of the text is in some window: the merge loses none.
        expect(new Set(windows.flat().map((e) => `${e.start}:${e.end}`)).size).toBe(merged.length);
        const text = textOf(id);
        expectSameEntities(await ner(text, { stride, ignoreLabels: [] }), merged, `${id} none, all labels`);
        expectSameEntities(
          await ner(text, { stride }),
          merged.filter((e) => e.entity !== 'O'),
          `${id} none`,
        );
      }
    },
    120_000,
  );
});
