import * as path from 'node:path';
import { pipeline, type EntityGroup, type TokenClassificationPipeline, type TokenEntity } from '../../lib';
import { expectError, rejection } from '../helpers/errors';
import { FIXTURES } from '../helpers/fixtures';
import { referenceSoftmax } from '../helpers/math';

const LABELS = ['O', 'B-PER', 'I-PER', 'B-LOC', 'I-LOC'];
const TEXTS = [
  'Angela Merkel visited Washington yesterday.',
  'unwanted running in São Paulo 🍕 and 東京',
  '',
  'hyperparameterization is unbelievably uncomfortable',
];
// 400+ tokens: longer than the model's 128, so it is read in overlapping windows.
const LONG_TEXT = Array.from({ length: 90 }, (_, i) => `Person${i} lives in City${i}.`).join(' ');

describe('token-classification (BERT WordPiece fixture)', () => {
  let ner: TokenClassificationPipeline;
  beforeAll(async () => {
    ner = await pipeline('ner', path.join(FIXTURES, 'token-classification'), { threads: 2 });
  });
  afterAll(() => ner.dispose());

  it("'none' gives one entity per token with the argmax label, its probability and character offsets", async () => {
    const text = TEXTS[0]!;
    const batch = await ner.model.encode(text);
    const logits = Object.values(await ner.model.forward(batch.inputs, batch.dims))[0]!.data;
    const encoding = batch.encodings[0]!;
    const expected: TokenEntity[] = [];
    for (let index = 0; index < encoding.ids.length; index++) {
      if (encoding.specialTokensMask[index] === 1) continue;
      const probabilities = referenceSoftmax(logits.subarray(index * 5, index * 5 + 5));
      const best = probabilities.indexOf(Math.max(...probabilities));
      if (LABELS[best] === 'O') continue;
      const [start, end] = encoding.offsets[index]!;
      expected.push({
        entity: LABELS[best]!,
        score: probabilities[best]!,
        index,
        word: encoding.tokens[index]!,
        start,
        end,
      });
    }
    const entities = await ner(text);
    expect(entities).toHaveLength(expected.length);
    entities.forEach((entity, i) => {
      expect(entity).toEqual({ ...expected[i]!, score: expect.closeTo(expected[i]!.score, 6) });
      expect(text.slice(entity.start, entity.end).toLowerCase()).toBe(entity.word.replace(/^##/, ''));
    });
    expect(entities.length).toBeGreaterThan(0);
  });

  it('ignoreLabels [] keeps every token; the default leaves out exactly the O ones', async () => {
    for (const text of TEXTS) {
      const all = await ner(text, { ignoreLabels: [] });
      const batch = await ner.model.encode(text);
      expect(all).toHaveLength(batch.encodings[0]!.ids.length - 2);
      expect(await ner(text)).toEqual(all.filter((e) => e.entity !== 'O'));
      expect(await ner(text, { ignoreLabels: ['O', 'B-PER'] })).toEqual(
        all.filter((e) => e.entity !== 'O' && e.entity !== 'B-PER'),
      );
    }
  });

  it.each(['simple', 'first', 'average', 'max'] as const)(
    "'%s' groups into entities whose offsets and words match the original text",
    async (aggregationStrategy) => {
      for (const text of TEXTS) {
        const groups: EntityGroup[] = await ner(text, { aggregationStrategy });
        for (const group of groups) {
          expect(['PER', 'LOC']).toContain(group.entityGroup);
          expect(group.score).toBeGreaterThan(0);
          expect(group.score).toBeLessThanOrEqual(1);
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
      for (const group of await ner(text, { aggregationStrategy, ignoreLabels: [] })) {
        expect(group.start === 0 || text[group.start - 1] === ' ').toBe(true);
        expect(group.end === text.length || /[\s.]/.test(text[group.end]!)).toBe(true);
      }
    }
  });

  it('reads a text longer than the model in overlapping windows, every token once, offsets into the whole text', async () => {
    const tokens = await ner(LONG_TEXT, { ignoreLabels: [] });
    const batch = await ner.model.tokenizer!.encodeBatch([LONG_TEXT], { maxLength: 100_000 });
    expect(batch[0]!.ids.length - 2).toBeGreaterThan(300);
    expect(tokens).toHaveLength(batch[0]!.ids.length - 2);
    for (let i = 1; i < tokens.length; i++)
      expect(tokens[i]!.start).toBeGreaterThanOrEqual(tokens[i - 1]!.end);
    expect(tokens.at(-1)!.end).toBe(LONG_TEXT.length);
    const groups = await ner(LONG_TEXT, { aggregationStrategy: 'simple', stride: 16 });
    expect(groups.some((g) => g.start > LONG_TEXT.length / 2)).toBe(true);
  });

  it('batched results equal one-by-one results to 1e-5, in input order', async () => {
    for (const aggregationStrategy of ['none', 'simple', 'average'] as const) {
      const inputs = [...TEXTS, LONG_TEXT];
      const batched = await ner(inputs, { aggregationStrategy, batchSize: 3 } as {
        aggregationStrategy: 'simple';
      });
      for (let i = 0; i < inputs.length; i++) {
        const single = await ner(inputs[i]!, { aggregationStrategy } as { aggregationStrategy: 'simple' });
        expect(batched[i]!.length).toBe(single.length);
        batched[i]!.forEach((entity, k) => {
          expect({ ...entity, score: 0 }).toEqual({ ...single[k]!, score: 0 });
          expect(Math.abs(entity.score - single[k]!.score)).toBeLessThanOrEqual(1e-5);
        });
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
  it('runs every strategy, with offsets into the original text including emoji and accents', async () => {
    await using ner = await pipeline(
      'token-classification',
      path.join(FIXTURES, 'roberta-token-classification'),
    );
    const text = 'Zoë flew from Zürich to 東京 with 🚀 yesterday';
    const tokens = await ner(text, { ignoreLabels: [] });
    expect(tokens.length).toBeGreaterThan(8);
    // Every visible character belongs to a token (a space-only byte-level token may have an empty span).
    const covered = new Set(
      tokens.flatMap((t) => Array.from({ length: t.end - t.start }, (_, k) => t.start + k)),
    );
    for (let i = 0; i < text.length; i++) if (text[i] !== ' ') expect(covered.has(i)).toBe(true);
    // Word-level strategies never cut a word, so a group's word is exactly its span of the text. (Not checked
    // on the CJK and emoji above: tokenizers trims the offsets of a byte token that starts with a space inside
    // a multi-byte character one character too far, which Hugging Face's subword rule then reads as a subword.)
    const latin = 'Zoë flew from Zürich to Köln with Renée yesterday';
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
