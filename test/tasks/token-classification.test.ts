import * as path from 'node:path';
import { pipeline, type EntityGroup, type TokenClassificationPipeline, type TokenEntity } from '../../lib';
import { expectError, rejection } from '../helpers/errors';
import { FIXTURES } from '../helpers/fixtures';
import {
  hfTokenClassification,
  type HfTokenClassification,
  type ReferenceOptions,
} from '../helpers/hf-token-classification';

const TEXTS = [
  'Angela Merkel visited Washington yesterday.',
  'unwanted running in São Paulo 🍕 and 東京',
  '',
  'hyperparameterization is unbelievably uncomfortable',
];
// 400+ tokens: longer than the model's 128, so it is read in overlapping windows.
const LONG_TEXT = Array.from({ length: 90 }, (_, i) => `Person${i} lives in City${i}.`).join(' ');
const STRATEGIES = ['none', 'simple', 'first', 'average', 'max'] as const;
const GROUPING = ['simple', 'first', 'average', 'max'] as const;
const IGNORE_VARIANTS = [undefined, [], ['O', 'B-PER']];
// The pipeline's default stride: a quarter of the model's 128 tokens.
const STRIDE = 32;
const ROBERTA_TEXT = 'Zoë flew from Zürich to 東京 with 🚀 yesterday';
const ROBERTA_LATIN = 'Zoë flew from Zürich to Köln with Renée yesterday';

/** float32 libtorch against the same logits in float64 through Python: agreement to ~1e-6. */
const DIGITS = 5;

// Every expected result is Hugging Face's: its TokenClassificationPipeline run by the venv's Python on the
// fixture's tokenizer files and model.pt (test/helpers/hf-token-classification.ts), once per file.
let bert: HfTokenClassification;
let roberta: HfTokenClassification;
beforeAll(() => {
  const cases = (texts: string[], ignores: (string[] | undefined)[]) =>
    texts.flatMap((text) =>
      STRATEGIES.flatMap((aggregationStrategy) =>
        ignores.map((ignoreLabels) => ({
          text,
          options: { aggregationStrategy, ...(ignoreLabels && { ignoreLabels }), stride: STRIDE },
        })),
      ),
    );
  const bertFolder = path.join(FIXTURES, 'token-classification');
  const robertaFolder = path.join(FIXTURES, 'roberta-token-classification');
  const references = hfTokenClassification({
    [bertFolder]: [
      ...cases([...TEXTS, LONG_TEXT], IGNORE_VARIANTS),
      { text: LONG_TEXT, options: { aggregationStrategy: 'simple', stride: 16 } },
    ],
    [robertaFolder]: cases([ROBERTA_TEXT, ROBERTA_LATIN], [[]]),
  });
  bert = references[bertFolder]!;
  roberta = references[robertaFolder]!;
}, 180_000);

/** Hugging Face's result for `text` under these pipeline options (stride: the pipeline's default). */
function expected(
  reference: HfTokenClassification,
  text: string,
  options: Omit<ReferenceOptions, 'stride'> & { stride?: number } = {},
): (TokenEntity | EntityGroup)[] {
  return reference.entities(text, { stride: STRIDE, ...options } as ReferenceOptions);
}

/** Equal to the reference: labels, words, indices and offsets exactly, scores to DIGITS. */
function expectSame(
  actual: readonly (TokenEntity | EntityGroup)[],
  reference: (TokenEntity | EntityGroup)[],
) {
  expect(actual).toEqual(
    reference.map((entity) => ({ ...entity, score: expect.closeTo(entity.score, DIGITS) as number })),
  );
}

describe('token-classification (BERT WordPiece fixture)', () => {
  let ner: TokenClassificationPipeline;
  beforeAll(async () => {
    ner = await pipeline('ner', path.join(FIXTURES, 'token-classification'), { threads: 2 });
  });
  afterAll(() => ner.dispose());

  it("'none' gives one entity per token with the argmax label, its probability and character offsets", async () => {
    const text = TEXTS[0]!;
    const reference = expected(bert, text);
    // Random weights, but some token is not 'O', so the comparison below is not of two empty lists.
    expect(reference.length).toBeGreaterThan(0);
    const entities = await ner(text);
    expectSame(entities, reference);
    for (const entity of entities) {
      expect(text.slice(entity.start, entity.end).toLowerCase()).toBe(entity.word.replace(/^##/, ''));
    }
  });

  it("ignoreLabels [] keeps every token, as transformers' tokenizer splits the text; the default leaves out exactly the O ones", async () => {
    for (const text of TEXTS) {
      const all = await ner(text, { ignoreLabels: [] });
      expect(all.map((e) => [e.start, e.end])).toEqual(bert.tokens(text).offsets);
      expectSame(all, expected(bert, text, { ignoreLabels: [] }));
      const byDefault = await ner(text);
      expectSame(byDefault, expected(bert, text));
      expect(byDefault).toEqual(all.filter((e) => e.entity !== 'O'));
      const some = await ner(text, { ignoreLabels: ['O', 'B-PER'] });
      expectSame(some, expected(bert, text, { ignoreLabels: ['O', 'B-PER'] }));
      expect(some).toEqual(all.filter((e) => e.entity !== 'O' && e.entity !== 'B-PER'));
    }
  });

  it.each(GROUPING)(
    "'%s' groups as Hugging Face's pipeline does, with offsets and words that match the original text",
    async (aggregationStrategy) => {
      for (const text of TEXTS) {
        for (const ignoreLabels of IGNORE_VARIANTS) {
          const groups = await ner(text, { aggregationStrategy, ...(ignoreLabels && { ignoreLabels }) });
          expectSame(groups, expected(bert, text, { aggregationStrategy, ignoreLabels }));
        }
        const groups: EntityGroup[] = await ner(text, { aggregationStrategy });
        for (const group of groups) {
          expect(['PER', 'LOC']).toContain(group.entityGroup);
          expect(group.start).toBeLessThan(group.end);
          // Uncased model: the group's word is the lowercased, accent-stripped surface text
          // (an emoji is outside the vocabulary and comes back as [UNK]).
          if (group.word.includes('[UNK]')) continue;
          const surface = text
            .slice(group.start, group.end)
            .toLowerCase()
            .normalize('NFD')
            .replace(/[\u0300-\u036f]/g, '');
          // A group that starts inside a word keeps the continuation prefix, as in Hugging Face.
          expect(group.word.replace(/^##/, '').replace(/\s+/g, '')).toBe(surface.replace(/\s+/g, ''));
        }
      }
    },
  );

  it("word-level strategies never split a word: 'first', 'average' and 'max' start and end on word boundaries", async () => {
    const text = TEXTS[3]!;
    for (const aggregationStrategy of ['first', 'average', 'max'] as const) {
      const groups = await ner(text, { aggregationStrategy, ignoreLabels: [] });
      expectSame(groups, expected(bert, text, { aggregationStrategy, ignoreLabels: [] }));
      for (const group of groups) {
        expect(group.start === 0 || text[group.start - 1] === ' ').toBe(true);
        expect(group.end === text.length || /[\s.]/.test(text[group.end]!)).toBe(true);
      }
    }
  });

  it('reads a text longer than the model in overlapping windows, every token once, offsets into the whole text', async () => {
    const tokens = await ner(LONG_TEXT, { ignoreLabels: [] });
    const whole = bert.tokens(LONG_TEXT);
    expect(whole.offsets.length).toBeGreaterThan(300);
    expect(tokens.map((t) => [t.start, t.end])).toEqual(whole.offsets);
    expectSame(tokens, expected(bert, LONG_TEXT, { ignoreLabels: [] }));
    expect(tokens.at(-1)!.end).toBe(LONG_TEXT.length);
    const groups = await ner(LONG_TEXT, { aggregationStrategy: 'simple', stride: 16 });
    expectSame(groups, expected(bert, LONG_TEXT, { aggregationStrategy: 'simple', stride: 16 }));
    expect(groups.some((g) => g.start > LONG_TEXT.length / 2)).toBe(true);
  });

  it('batched results equal one-by-one results to 1e-5 and the references, in input order', async () => {
    for (const aggregationStrategy of ['none', 'simple', 'average'] as const) {
      const inputs = [...TEXTS, LONG_TEXT];
      const batched = await ner(inputs, { aggregationStrategy, batchSize: 3 } as {
        aggregationStrategy: 'simple';
      });
      expect(batched).toHaveLength(inputs.length);
      for (let i = 0; i < inputs.length; i++) {
        const single = await ner(inputs[i]!, { aggregationStrategy } as { aggregationStrategy: 'simple' });
        expect(batched[i]!.length).toBe(single.length);
        batched[i]!.forEach((entity, k) => {
          expect({ ...entity, score: 0 }).toEqual({ ...single[k]!, score: 0 });
          expect(Math.abs(entity.score - single[k]!.score)).toBeLessThanOrEqual(1e-5);
        });
        expectSame(batched[i]!, expected(bert, inputs[i]!, { aggregationStrategy }));
      }
    }
  });

  describe('BAD CALL', () => {
    it.each([
      [
        { aggregationStrategy: 'exact' },
        "token-classification: options.aggregationStrategy must be one of 'none', 'simple', 'first', 'average', 'max'; got the string 'exact'",
      ],
      [
        { ignoreLabels: 'O' },
        "token-classification: options.ignoreLabels must be an array of strings; got the string 'O'",
      ],
      [
        { stride: 126 },
        'token-classification: options.stride must be an integer from 0 to 125; got the number 126',
      ],
    ])('options %p', async (options, message) => {
      expectError(await rejection(ner('fine', options as object)), 'E_BAD_INPUT', message);
    });

    it('non-string input', async () => {
      expectError(
        await rejection(ner({ text: 'x' } as unknown as string)),
        'E_BAD_INPUT',
        'token-classification: input must be a string; got an object',
      );
    });
  });
});

describe('token-classification (RoBERTa byte-level BPE from vocab.json + merges.txt)', () => {
  it('runs every strategy as Hugging Face does, with offsets into the original text including emoji and accents', async () => {
    await using ner = await pipeline(
      'token-classification',
      path.join(FIXTURES, 'roberta-token-classification'),
    );
    const text = ROBERTA_TEXT;
    const tokens = await ner(text, { ignoreLabels: [] });
    expect(tokens.length).toBeGreaterThan(8);
    expect(tokens.map((t) => [t.start, t.end])).toEqual(roberta.tokens(text).offsets);
    expectSame(tokens, expected(roberta, text, { ignoreLabels: [] }));
    // Every visible character belongs to a token (a space-only byte-level token may have an empty span).
    const covered = new Set(
      tokens.flatMap((t) => Array.from({ length: t.end - t.start }, (_, k) => t.start + k)),
    );
    for (let i = 0; i < text.length; i++) if (text[i] !== ' ') expect(covered.has(i)).toBe(true);
    // Groups as Hugging Face's, but for one documented difference in words: for 'first', 'average' and 'max'
    // Hugging Face decodes the words it already decoded once more, which turns the non-ASCII letters of
    // byte-level BPE into U+FFFD ("Zoë" -> "Zo\uFFFD"); the library decodes the tokens, once.
    for (const sample of [ROBERTA_TEXT, ROBERTA_LATIN]) {
      for (const aggregationStrategy of GROUPING) {
        const groups = await ner(sample, { aggregationStrategy, ignoreLabels: [] });
        const reference = expected(roberta, sample, { aggregationStrategy, ignoreLabels: [] });
        expectSame(
          groups.map((group) => ({ ...group, word: '' })),
          reference.map((group) => ({ ...group, word: '' })),
        );
        groups.forEach((group, k) => {
          const { word } = reference[k]!;
          if (aggregationStrategy === 'simple' || !word.includes('\uFFFD')) expect(group.word).toBe(word);
        });
      }
    }
    // Word-level strategies never cut a word, so a group's word is exactly its span of the text. (Not checked
    // on the CJK and emoji above: tokenizers trims the offsets of a byte token that starts with a space inside
    // a multi-byte character one character too far, which Hugging Face's subword rule then reads as a subword.)
    const latin = ROBERTA_LATIN;
    for (const aggregationStrategy of ['first', 'average', 'max'] as const) {
      for (const group of await ner(latin, { aggregationStrategy, ignoreLabels: [] })) {
        expect(group.word.trim()).toBe(latin.slice(group.start, group.end).trim());
      }
    }
    // 'simple' groups tokens, and may cut between the byte tokens of one character (東 is three), which
    // decode to U+FFFD as in Hugging Face; the rest of the word is still the text's.
    for (const group of await ner(text, { aggregationStrategy: 'simple', ignoreLabels: [] })) {
      const span = text.slice(group.start, group.end);
      for (const part of group.word.split('\uFFFD')) expect(span).toContain(part.trim());
    }
  });
});
