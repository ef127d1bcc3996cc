// TextTokenizer against transformers' AutoTokenizer (the fast tokenizer of models/embeddings): ids, type
// ids, attention mask, special-token mask, tokens, offsets, word and sequence ids for every text and pair of
// test/reference/texts.json; truncation strategies and max_length; overflowing windows with a stride;
// padding. Goldens: test/reference/goldens/tokenizer.json (npm run goldens:hf).
import * as path from 'node:path';
import { TextTokenizer, type Encoding } from '../../lib';
import { padSequences } from '../../lib/batching';
import type { TokenizerInput } from '../../lib/tokenizer';
import { expectError, rejection } from '../helpers/errors';
import { loadGolden, loadTexts, ROOT, tokenizerOptions, type HfTokenizerOptions } from './hf-goldens';

interface Window {
  input_ids: number[];
  token_type_ids: number[];
  attention_mask: number[];
  /** Flat [start0, end0, start1, end1, ...]. */
  offsets: number[];
  special_tokens_mask?: number[];
  tokens?: string[];
  word_ids?: (number | null)[];
  sequence_ids?: (number | null)[];
}

interface Encoded {
  id: string;
  options?: HfTokenizerOptions;
  windows?: Window[];
  error?: string;
}

interface Cases {
  full: Encoded[];
  truncation: Encoded[];
  overflow: Encoded[];
  padding: {
    ids: string[];
    input_ids: number[][];
    token_type_ids: number[][];
    attention_mask: number[][];
  };
}

/** Our encoding in the golden's shape, with the fields the golden window has. */
function asWindow(encoding: Encoding, like: Window): Window {
  const out: Window = {
    input_ids: encoding.ids,
    token_type_ids: encoding.typeIds,
    attention_mask: encoding.attentionMask,
    offsets: encoding.offsets.flat(),
  };
  if (like.special_tokens_mask !== undefined) out.special_tokens_mask = encoding.specialTokensMask;
  if (like.tokens !== undefined) out.tokens = encoding.tokens;
  if (like.word_ids !== undefined) out.word_ids = encoding.wordIds;
  if (like.sequence_ids !== undefined) out.sequence_ids = encoding.sequenceIds;
  return out;
}

describe('TextTokenizer against transformers 4.57 AutoTokenizer (models/embeddings)', () => {
  const texts = loadTexts();
  let golden: ReturnType<typeof loadGolden<Cases>>;
  let tokenizer: TextTokenizer;
  let modelMaxLength: number;
  beforeAll(async () => {
    golden = loadGolden<Cases>('tokenizer');
    tokenizer = await TextTokenizer.fromDirectory(path.join(ROOT, golden.meta.model));
    modelMaxLength = golden.model_max_length as number;
    expect(tokenizer.maxLength).toBe(modelMaxLength);
  });

  const inputOf = (id: string): TokenizerInput => {
    const item = texts.get(id);
    if (item === undefined) throw new Error(`the golden names text ${id}, which texts.json lacks`);
    return item.text_pair === undefined ? item.text : [item.text, item.text_pair];
  };

  it('untruncated: every field of every text and pair is exactly transformers', async () => {
    const { full } = golden.cases;
    expect(full.length).toBe(texts.size);
    // transformers without truncation; TextTokenizer always truncates, so its limit is set past the longest.
    const ours = await tokenizer.encodeBatch(
      full.map(({ id }) => inputOf(id)),
      { maxLength: 100_000 },
    );
    full.forEach(({ id, windows }, i) => {
      const expected = windows![0]!;
      expect({ id, ...asWindow(ours[i]!, expected) }).toEqual({ id, ...expected });
    });
  });

  it('truncation (true = longest_first at model_max_length; longest_first, only_first, only_second at 16)', async () => {
    const { truncation } = golden.cases;
    const strategies = new Set(truncation.map(({ options }) => String(options!.truncation)));
    expect([...strategies].sort()).toEqual(['longest_first', 'only_first', 'only_second', 'true']);
    for (const { id, options, windows, error } of truncation) {
      const { truncation: strategy, maxLength } = tokenizerOptions(options!, modelMaxLength);
      const call = tokenizer.encodeBatch([inputOf(id)], { truncation: strategy, maxLength });
      if (error !== undefined) {
        // transformers refuses it too ("Sequence to truncate too short to respect the provided max_length").
        expect(error).toMatch(/Truncation error/);
        expectError(await rejection(call), 'E_BAD_INPUT', /^encodeBatch: inputs\[0\] /);
        continue;
      }
      const [ours] = await call;
      expect({ id, options, ...asWindow(ours!, windows![0]!) }).toEqual({ id, options, ...windows![0]! });
    }
  });

  it('return_overflowing_tokens with a stride: the same windows in the same order', async () => {
    const { overflow } = golden.cases;
    expect(overflow.some(({ windows }) => (windows?.length ?? 0) > 2)).toBe(true);
    for (const { id, options, windows, error } of overflow) {
      expect(options!.return_overflowing_tokens).toBe(true);
      const { truncation, maxLength, stride } = tokenizerOptions(options!, modelMaxLength);
      const call = tokenizer.encodeWithOverflow(inputOf(id), { truncation, maxLength, stride: stride! });
      if (error !== undefined) {
        expect(error).toMatch(/Truncation error/);
        expectError(await rejection(call), 'E_BAD_INPUT', /^encodeWithOverflow: input /);
        continue;
      }
      const ours = await call;
      expect({ id, options, windows: ours.map((w, k) => asWindow(w, windows![k] ?? windows![0]!)) }).toEqual({
        id,
        options,
        windows,
      });
    }
  });

  it('padding=True: a batch padded to its longest row (padSequences over our encodings)', async () => {
    const { padding } = golden.cases;
    const encodings = await tokenizer.encodeBatch(padding.ids.map(inputOf));
    const { inputs, dims } = padSequences(encodings, tokenizer.padTokenId, [
      'input_ids',
      'attention_mask',
      'token_type_ids',
    ]);
    expect(dims).toEqual([padding.ids.length, padding.input_ids[0]!.length]);
    const rows = (data: BigInt64Array | undefined) => {
      const flat = Array.from(data!, Number);
      return padding.ids.map((_, r) => flat.slice(r * dims[1], (r + 1) * dims[1]));
    };
    expect(rows(inputs.input_ids as BigInt64Array)).toEqual(padding.input_ids);
    expect(rows(inputs.attention_mask as BigInt64Array)).toEqual(padding.attention_mask);
    expect(rows(inputs.token_type_ids as BigInt64Array)).toEqual(padding.token_type_ids);
  });
});
