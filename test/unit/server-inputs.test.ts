import * as path from 'node:path';
import fc from 'fast-check';
import { ApiError } from '../../lib/server/errors';
import { predictInputs, textInputs } from '../../lib/server/inputs';
import { tokenize } from '../../lib/server/tokens';
import { TextTokenizer } from '../../lib/tokenizer';

const TOKENIZERS = path.join(__dirname, '..', 'fixtures', 'tokenizers');

function apiError(run: () => unknown): ApiError {
  try {
    run();
  } catch (error) {
    if (error instanceof ApiError) return error;
    throw error;
  }
  throw new Error('expected an ApiError');
}

describe("TEI's inputs", () => {
  it('a text is a single input; an array of texts a batch', () => {
    expect(textInputs('a', 32)).toEqual({ items: ['a'], method: 'single' });
    expect(textInputs(['a', 'b'], 32)).toEqual({ items: ['a', 'b'], method: 'batch' });
  });

  it('refuses empty texts and batches (400 Empty), batches over the limit (422), token ids (422)', () => {
    expect(apiError(() => textInputs('', 32))).toMatchObject({ status: 400, errorType: 'Empty' });
    expect(apiError(() => textInputs([], 32))).toMatchObject({ status: 400, errorType: 'Empty' });
    expect(apiError(() => textInputs(['a', ''], 32)).message).toBe('`inputs[1]` cannot be empty');
    expect(apiError(() => textInputs(['a', 'b', 'c'], 2))).toMatchObject({
      status: 422,
      errorType: 'Validation',
      message: 'batch size 3 > maximum allowed batch size 2',
    });
    expect(apiError(() => textInputs([101, 2023], 32))).toMatchObject({
      status: 422,
      errorType: 'Validation',
    });
    expect(apiError(() => textInputs(['a', 7], 32)).message).toMatch(/`inputs\[1\]` holds token ids/);
  });

  it("/predict's form is decided by the first element, as TEI's PredictInput", () => {
    expect(predictInputs('a', 32)).toEqual({ items: ['a'], method: 'single' });
    expect(predictInputs(['a'], 32)).toEqual({ items: ['a'], method: 'single' });
    expect(predictInputs(['a', 'b'], 32)).toEqual({
      items: [{ text: 'a', textPair: 'b' }],
      method: 'single',
    });
    expect(predictInputs([['a'], ['b', 'c']], 32)).toEqual({
      items: ['a', { text: 'b', textPair: 'c' }],
      method: 'batch',
    });
    expect(apiError(() => predictInputs(['a', 'b', 'c'], 32)).message).toMatch(/array of 3/);
    expect(apiError(() => predictInputs(['a', ['b']], 32)).message).toMatch(/mixes texts and arrays/);
    expect(apiError(() => predictInputs([['a'], 'b'], 32)).message).toMatch(/inputs\[1\]/);
    expect(apiError(() => predictInputs([], 32))).toMatchObject({ status: 400, errorType: 'Empty' });
    expect(apiError(() => predictInputs([['a'], ['b'], ['c']], 2)).status).toBe(422);
  });
});

describe("/tokenize's byte offsets", () => {
  it.each(['bert-base-uncased', 'roberta-base'])(
    '%s: every text token is the UTF-8 bytes [start, stop) of its input, for any text',
    async (name) => {
      const tokenizer = await TextTokenizer.fromDirectory(path.join(TOKENIZERS, name));
      await fc.assert(
        fc.asyncProperty(
          fc.array(fc.string({ unit: 'grapheme', maxLength: 40 }), { minLength: 1, maxLength: 4 }),
          async (texts) => {
            const tokens = await tokenize(tokenizer, texts, true);
            tokens.forEach((list, index) => {
              const bytes = Buffer.from(texts[index]!, 'utf8');
              for (const token of list) {
                if (token.special) {
                  expect([token.start, token.stop]).toEqual([null, null]);
                  continue;
                }
                expect(bytes.subarray(token.start!, token.stop!).toString('utf8')).toBe(token.text);
              }
            });
          },
        ),
        { numRuns: 200 },
      );
    },
  );

  it('gives ids equal to the tokenizer, untruncated, with or without special tokens', async () => {
    const tokenizer = await TextTokenizer.fromDirectory(path.join(TOKENIZERS, 'bert-base-uncased'));
    const long = 'naïve café 東京 🎉 '.repeat(200);
    const [withSpecial] = await tokenize(tokenizer, [long], true);
    const [encoding] = await tokenizer.encodeBatch([long], { maxLength: Number.MAX_SAFE_INTEGER });
    expect(withSpecial!.map((token) => token.id)).toEqual(encoding!.ids);
    expect(withSpecial!.length).toBeGreaterThan(tokenizer.maxLength);
    const [without] = await tokenize(tokenizer, [long], false);
    expect(without!.map((token) => token.id)).toEqual(encoding!.ids.slice(1, -1));
  });
});
