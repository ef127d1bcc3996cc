import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tk from 'tokenizers';
import { TorchEncodersError } from '../../lib/errors';
import { TextTokenizer, type Encoding, type TruncationStrategy } from '../../lib/tokenizer';
import {
  makeModelDir,
  removeModelDirs,
  readVocabTxt,
  robertaByteLevelSpec,
  SAMPLE_TEXTS,
  TOKENIZER_FIXTURES,
} from '../helpers/reference-wordpiece';

afterAll(removeModelDirs);

const UNCASED_JSON = { 'tokenizer.json': 'bert-base-uncased/tokenizer.json' };
const UNCASED_VOCAB = { 'vocab.txt': 'bert-base-uncased/vocab.txt' };
const CASED_VOCAB = {
  'vocab.txt': 'bert-base-cased/vocab.txt',
  'tokenizer_config.json': { do_lower_case: false },
};
const ROBERTA = { 'vocab.json': 'roberta-base/vocab.json', 'merges.txt': 'roberta-base/merges.txt' };

const load = (files: Record<string, string | object>, options?: { maxLength?: number }) =>
  TextTokenizer.fromDirectory(makeModelDir(files), options);

/** One tokenizer per fixture directory, shared by the tests that need no options: it is immutable. */
const sharedTokenizers = new Map<object, Promise<TextTokenizer>>();
function shared(files: Record<string, string | object>): Promise<TextTokenizer> {
  let tokenizer = sharedTokenizers.get(files);
  if (tokenizer === undefined) {
    tokenizer = load(files);
    sharedTokenizers.set(files, tokenizer);
  }
  return tokenizer;
}

/** A rejection's error, for asserting class, code and message together. */
async function rejection(promise: Promise<unknown>): Promise<TorchEncodersError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(TorchEncodersError);
    return error as TorchEncodersError;
  }
  throw new Error('expected a rejection');
}

function thrown(fn: () => unknown): TorchEncodersError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(TorchEncodersError);
    return error as TorchEncodersError;
  }
  throw new Error('expected a throw');
}

/** What BERT's uncased normalizer does to text: drop accents (combining marks), lowercase. */
const uncased = (text: string): string =>
  text
    .normalize('NFD')
    .replace(/\p{Mn}/gu, '')
    .toLowerCase();

/** Indices of the tokens that come from the text (not [CLS]/[SEP]/<s>/</s>). */
const textTokenIndices = (encoding: Encoding): number[] =>
  encoding.specialTokensMask.flatMap((special, index) => (special === 0 ? [index] : []));

/** Hand-checked ids: the line number of a token in vocab.txt is its id. */
const vocabId = (file: string, token: string): number => readVocabTxt(file).indexOf(token);

describe('fromDirectory', () => {
  test('tokenizer.json (bert-base-uncased): family, special tokens, sizes', async () => {
    const tokenizer = await shared(UNCASED_JSON);
    expect(tokenizer.family).toBe('wordpiece');
    expect(tokenizer.continuingSubwordPrefix).toBe('##');
    expect(tokenizer.padTokenId).toBe(0);
    expect(tokenizer.clsTokenId).toBe(101);
    expect(tokenizer.sepTokenId).toBe(102);
    expect(tokenizer.specialTokens).toEqual({
      cls: '[CLS]',
      sep: '[SEP]',
      pad: '[PAD]',
      unk: '[UNK]',
      mask: '[MASK]',
    });
    expect(tokenizer.vocabSize).toBe(30522);
    expect(tokenizer.maxLength).toBe(512);
    expect(tokenizer.specialTokenCounts).toEqual({ single: 2, pair: 3 });
  });

  test('vocab.txt (bert-base-cased): WordPiece built from the vocabulary', async () => {
    const tokenizer = await shared(CASED_VOCAB);
    expect(tokenizer.family).toBe('wordpiece');
    expect(tokenizer.continuingSubwordPrefix).toBe('##');
    const file = 'bert-base-cased/vocab.txt';
    expect(tokenizer.padTokenId).toBe(vocabId(file, '[PAD]'));
    expect(tokenizer.clsTokenId).toBe(vocabId(file, '[CLS]'));
    expect(tokenizer.sepTokenId).toBe(vocabId(file, '[SEP]'));
    expect(tokenizer.vocabSize).toBe(28996);
  });

  test('vocab.json + merges.txt (roberta-base): byte-level BPE with <s> </s> <pad>', async () => {
    const tokenizer = await shared(ROBERTA);
    expect(tokenizer.family).toBe('bpe');
    expect(tokenizer.continuingSubwordPrefix).toBeNull();
    expect([tokenizer.clsTokenId, tokenizer.padTokenId, tokenizer.sepTokenId]).toEqual([0, 1, 2]);
    expect(tokenizer.specialTokens).toEqual({
      cls: '<s>',
      sep: '</s>',
      pad: '<pad>',
      unk: '<unk>',
      mask: '<mask>',
    });
    expect(tokenizer.vocabSize).toBe(50265);
    expect(tokenizer.specialTokenCounts).toEqual({ single: 2, pair: 4 });
  });

  test('tokenizer.json wins over vocab.txt', async () => {
    // do_lower_case false would keep "Hello" cased if vocab.txt were used; the uncased tokenizer.json lowercases.
    const tokenizer = await load({
      ...UNCASED_JSON,
      ...UNCASED_VOCAB,
      'tokenizer_config.json': { do_lower_case: false },
    });
    const [encoding] = await tokenizer.encodeBatch(['Hello']);
    expect(encoding!.tokens).toEqual(['[CLS]', 'hello', '[SEP]']);
  });

  test('vocab.txt without tokenizer_config.json lowercases, as BertTokenizer (do_lower_case defaults to true)', async () => {
    const tokenizer = await load({ 'vocab.txt': 'bert-base-cased/vocab.txt' });
    const [encoding] = await tokenizer.encodeBatch(['Crème']);
    expect(encoding!.tokens.slice(1, -1).join('').replace(/##/g, '')).toBe('creme');
  });

  test('tokenizer_config.json hints: strip_accents, tokenize_chinese_chars, add_prefix_space', async () => {
    const keepAccents = await load({
      ...CASED_VOCAB,
      'tokenizer_config.json': { do_lower_case: true, strip_accents: false },
    });
    const [accented] = await keepAccents.encodeBatch(['Crème'], { addSpecialTokens: false });
    expect(accented!.tokens.join('').replace(/##/g, '')).toBe('crème');

    const noChineseSplit = await load({
      ...UNCASED_VOCAB,
      'tokenizer_config.json': { tokenize_chinese_chars: false },
    });
    const [chinese] = await noChineseSplit.encodeBatch(['東京'], { addSpecialTokens: false });
    expect(chinese!.tokens).toEqual(['東', '##京']); // one word split by WordPiece, instead of two words 東 京

    const prefixed = await load({ ...ROBERTA, 'tokenizer_config.json': { add_prefix_space: true } });
    const [hello] = await prefixed.encodeBatch(['Hello']);
    expect(hello!.tokens).toEqual(['<s>', 'ĠHello', '</s>']);
    expect(hello!.offsets[1]).toEqual([0, 5]);
  });

  test('maxLength: option, else a sane model_max_length, else 512', async () => {
    expect((await load(UNCASED_JSON, { maxLength: 128 })).maxLength).toBe(128);
    expect(
      (await load({ ...UNCASED_JSON, 'tokenizer_config.json': { model_max_length: 256 } })).maxLength,
    ).toBe(256);
    const huge = {
      ...UNCASED_JSON,
      'tokenizer_config.json': { model_max_length: 1000000000000000019884624838656 },
    };
    expect((await load(huge)).maxLength).toBe(512);
    expect((await load({ ...huge }, { maxLength: 64 })).maxLength).toBe(64);
  });

  test('special tokens: special_tokens_map.json over tokenizer_config.json over the family defaults', async () => {
    const file = 'bert-base-uncased/vocab.txt';
    const tokenizer = await load({
      ...UNCASED_VOCAB,
      'tokenizer_config.json': { pad_token: '[unused0]', cls_token: '[unused1]' },
      'special_tokens_map.json': { pad_token: { content: '[unused2]', lstrip: false } },
    });
    expect(tokenizer.padTokenId).toBe(vocabId(file, '[unused2]'));
    expect(tokenizer.clsTokenId).toBe(vocabId(file, '[unused1]'));
    expect(tokenizer.sepTokenId).toBe(102);
    const [encoding] = await tokenizer.encodeBatch(['hi']);
    expect(encoding!.ids[0]).toBe(vocabId(file, '[unused1]'));
  });

  test('a tokenizer.json that carries truncation and padding: both ignored, the call decides', async () => {
    const spec = JSON.parse(
      fs.readFileSync(path.join(TOKENIZER_FIXTURES, 'bert-base-uncased/tokenizer.json'), 'utf8'),
    );
    spec.truncation = { direction: 'Right', max_length: 4, strategy: 'LongestFirst', stride: 0 };
    spec.padding = {
      strategy: { Fixed: 32 },
      direction: 'Right',
      pad_to_multiple_of: null,
      pad_id: 0,
      pad_type_id: 0,
      pad_token: '[PAD]',
    };
    const tokenizer = await load({ 'tokenizer.json': spec });
    const [encoding] = await tokenizer.encodeBatch(['one two three four five six']);
    expect(encoding!.tokens).toEqual(['[CLS]', 'one', 'two', 'three', 'four', 'five', 'six', '[SEP]']);
  });

  test("tokenizer.json of another kind (WordLevel, no decoder): family 'other', no special tokens", async () => {
    const tokenizer = await load({
      'tokenizer.json': {
        version: '1.0',
        added_tokens: [],
        normalizer: null,
        pre_tokenizer: { type: 'Whitespace' },
        post_processor: null,
        decoder: null,
        padding: {
          strategy: 'BatchLongest',
          direction: 'Right',
          pad_to_multiple_of: null,
          pad_id: 3,
          pad_type_id: 0,
          pad_token: '<p>',
        },
        model: { type: 'WordLevel', vocab: { '<u>': 0, hello: 1, world: 2, '<p>': 3 }, unk_token: '<u>' },
      },
    });
    expect(tokenizer.family).toBe('other');
    expect(tokenizer.continuingSubwordPrefix).toBeNull();
    expect([tokenizer.clsTokenId, tokenizer.sepTokenId, tokenizer.padTokenId]).toEqual([null, null, 3]);
    expect(tokenizer.specialTokenCounts).toEqual({ single: 0, pair: 0 });
    const [encoding] = await tokenizer.encodeBatch(['hello 🌍 world'], { maxLength: 2 });
    expect(encoding!.ids).toEqual([1, 0]);
    expect(encoding!.offsets).toEqual([
      [0, 5],
      [6, 8],
    ]);
    expect(tokenizer.tokensToString(['hello', 'world'])).toBe('hello world');
  });

  test('RoBERTa from a tokenizer.json equals RoBERTa built from vocab.json + merges.txt', async () => {
    const vocab = JSON.parse(
      fs.readFileSync(path.join(TOKENIZER_FIXTURES, 'roberta-base/vocab.json'), 'utf8'),
    );
    const merges = fs
      .readFileSync(path.join(TOKENIZER_FIXTURES, 'roberta-base/merges.txt'), 'utf8')
      .split('\n')
      .filter((line) => line !== '' && !line.startsWith('#version'));
    const declared = await load({ 'tokenizer.json': robertaByteLevelSpec(vocab, merges) });
    const built = await shared(ROBERTA);
    expect(declared.family).toBe('bpe');
    expect(declared.continuingSubwordPrefix).toBeNull();
    const inputs = [...SAMPLE_TEXTS, ['Who?', 'Me 🍕'] as [string, string], 'Hello <mask>!'];
    expect(await declared.encodeBatch(inputs)).toEqual(await built.encodeBatch(inputs));
  });

  describe('errors', () => {
    test('no tokenizer files: E_MODEL_NOT_FOUND naming the directory and the files looked for', async () => {
      const dir = makeModelDir({ 'config.json': {} });
      const error = await rejection(TextTokenizer.fromDirectory(dir));
      expect(error.code).toBe('E_MODEL_NOT_FOUND');
      expect(error.message).toBe(
        `fromDirectory: no tokenizer in ${dir}; expected tokenizer.json, or vocab.txt (WordPiece), ` +
          'or vocab.json + merges.txt (byte-level BPE)',
      );
    });

    test('vocab.json without merges.txt says which half is missing', async () => {
      const dir = makeModelDir({ 'vocab.json': 'roberta-base/vocab.json' });
      const error = await rejection(TextTokenizer.fromDirectory(dir));
      expect(error.code).toBe('E_MODEL_NOT_FOUND');
      expect(error.message).toBe(
        `fromDirectory: no tokenizer in ${dir} (found vocab.json but not merges.txt); expected tokenizer.json, ` +
          'or vocab.txt (WordPiece), or vocab.json + merges.txt (byte-level BPE)',
      );
    });

    test('missing directory: E_MODEL_NOT_FOUND', async () => {
      const dir = path.join(makeModelDir({}), 'nope');
      const error = await rejection(TextTokenizer.fromDirectory(dir));
      expect(error.code).toBe('E_MODEL_NOT_FOUND');
      expect(error.message).toBe(
        `fromDirectory: ${dir} is not a directory; expected a model directory holding tokenizer.json, ` +
          'or vocab.txt (WordPiece), or vocab.json + merges.txt (byte-level BPE)',
      );
    });

    test.each([
      ['tokenizer.json', { 'tokenizer.json': '{"model": ' }],
      ['tokenizer_config.json', { ...UNCASED_VOCAB, 'tokenizer_config.json': '{do_lower_case: false}' }],
      [
        'merges.txt',
        { 'vocab.json': 'roberta-base/vocab.json', 'merges.txt': '#version: 0.2\nnot-a-merge\n' },
      ],
    ])('corrupt %s: E_MODEL_LOAD naming the file', async (name, files) => {
      const dir = makeModelDir({});
      for (const [file, source] of Object.entries(files)) {
        const isFixture = fs.existsSync(path.join(TOKENIZER_FIXTURES, source));
        if (isFixture) fs.copyFileSync(path.join(TOKENIZER_FIXTURES, source), path.join(dir, file));
        else fs.writeFileSync(path.join(dir, file), source);
      }
      const error = await rejection(TextTokenizer.fromDirectory(dir));
      expect(error.code).toBe('E_MODEL_LOAD');
      expect(error.message).toContain(path.join(dir, name));
    });

    test('bad arguments: E_BAD_INPUT', async () => {
      const notAPath = await rejection(TextTokenizer.fromDirectory(42 as unknown as string));
      expect(notAPath.code).toBe('E_BAD_INPUT');
      expect(notAPath.message).toBe('fromDirectory: dir must be a non-empty path string; got the number 42');
      const badMax = await rejection(
        TextTokenizer.fromDirectory(makeModelDir(UNCASED_JSON), { maxLength: 0 }),
      );
      expect(badMax.message).toBe(
        'fromDirectory: options.maxLength must be a positive integer; got the number 0',
      );
    });
  });
});

describe('known ids', () => {
  test('bert-base-uncased: [CLS] 101, [SEP] 102, [PAD] 0, [UNK] 100, the 1996, unwanted 18162, running 2770', async () => {
    for (const tokenizer of [await shared(UNCASED_JSON), await shared(UNCASED_VOCAB)]) {
      const [unwantedRunning, the, specials] = await tokenizer.encodeBatch([
        'unwanted running',
        'the',
        '[PAD] [UNK]',
      ]);
      // "unwanted" is one token of this vocabulary (line 18162 of vocab.txt), not un ##want ##ed.
      expect(unwantedRunning!.ids).toEqual([101, 18162, 2770, 102]);
      expect(unwantedRunning!.tokens).toEqual(['[CLS]', 'unwanted', 'running', '[SEP]']);
      expect(the!.ids).toEqual([101, 1996, 102]);
      expect(specials!.ids).toEqual([101, 0, 100, 102]);
    }
    const file = 'bert-base-uncased/vocab.txt';
    expect(
      ['[PAD]', '[UNK]', '[CLS]', '[SEP]', 'the', 'unwanted', 'running'].map((t) => vocabId(file, t)),
    ).toEqual([0, 100, 101, 102, 1996, 18162, 2770]);
  });

  test('bert-base-cased keeps case; ids are vocab.txt line numbers', async () => {
    const tokenizer = await shared(CASED_VOCAB);
    const [encoding] = await tokenizer.encodeBatch(['Hello Paris']);
    const file = 'bert-base-cased/vocab.txt';
    expect(encoding!.tokens).toEqual(['[CLS]', 'Hello', 'Paris', '[SEP]']);
    expect(encoding!.ids).toEqual(['[CLS]', 'Hello', 'Paris', '[SEP]'].map((t) => vocabId(file, t)));
  });

  test('roberta-base: <s> Hello Ġworld </s> = 0 31414 232 2; a long word splits into vocab.json pieces', async () => {
    const tokenizer = await shared(ROBERTA);
    const vocab = JSON.parse(
      fs.readFileSync(path.join(TOKENIZER_FIXTURES, 'roberta-base/vocab.json'), 'utf8'),
    ) as Record<string, number>;
    const [hello, long] = await tokenizer.encodeBatch(['Hello world', 'supercalifragilisticexpialidocious']);
    expect(hello!.ids).toEqual([0, 31414, 232, 2]);
    expect(hello!.ids).toEqual(['<s>', 'Hello', 'Ġworld', '</s>'].map((t) => vocab[t]));
    expect(long!.tokens.slice(1, -1).join('')).toBe('supercalifragilisticexpialidocious');
    expect(long!.ids).toEqual(long!.tokens.map((t) => vocab[t]));
    // <mask> swallows the space before it (lstrip), as RobertaTokenizer declares it.
    const [masked] = await tokenizer.encodeBatch(['Hello <mask>!']);
    expect(masked!.ids).toEqual([0, 31414, 50264, 328, 2]);
  });

  test('a word over 100 characters is one [UNK] for WordPiece', async () => {
    const tokenizer = await shared(UNCASED_JSON);
    const word = 'abc'.repeat(100);
    const [encoding] = await tokenizer.encodeBatch([`${word} supercalifragilisticexpialidocious`]);
    expect(encoding!.tokens.slice(0, 3)).toEqual(['[CLS]', '[UNK]', 'super']);
    expect(encoding!.offsets[1]).toEqual([0, 300]);
    expect(encoding!.tokens.slice(2, -1).join('').replace(/##/g, '')).toBe(
      'supercalifragilisticexpialidocious',
    );
  });
});

describe('offsets index the original JS string (UTF-16), round trips', () => {
  test('the binding reports offsets in Unicode scalar values; they are converted to UTF-16 indices', async () => {
    // Raw binding: 🍕 is char 7 of "I love 🍕 and 🚀!" but UTF-16 units 7-8, so its "and" starts at char 9, unit 10.
    const raw = await tk.Tokenizer.fromFile(
      path.join(TOKENIZER_FIXTURES, 'bert-base-uncased/tokenizer.json'),
    ).encode('I love 🍕 and 🚀!');
    expect(raw.getOffsets().slice(3, 5)).toEqual([
      [7, 8],
      [9, 12],
    ]);
    const tokenizer = await shared(UNCASED_JSON);
    const text = 'I love 🍕 and 🚀!';
    const [encoding] = await tokenizer.encodeBatch([text]);
    expect(encoding!.offsets).toEqual([
      [0, 0],
      [0, 1],
      [2, 6],
      [7, 9],
      [10, 13],
      [14, 16],
      [16, 17],
      [0, 0],
    ]);
    expect(encoding!.offsets.map(([start, end]) => text.slice(start, end))).toEqual([
      '',
      'I',
      'love',
      '🍕',
      'and',
      '🚀',
      '!',
      '',
    ]);
  });

  describe.each([
    ['bert-base-uncased tokenizer.json', UNCASED_JSON, uncased],
    ['bert-base-uncased vocab.txt', UNCASED_VOCAB, uncased],
    ['bert-base-cased vocab.txt', CASED_VOCAB, (text: string) => text],
  ])('%s', (_name, files, normalize) => {
    let tokenizer: TextTokenizer;
    beforeAll(async () => {
      tokenizer = await shared(files);
    });

    test.each(SAMPLE_TEXTS.map((text) => [JSON.stringify(text).slice(0, 50), text]))(
      'offsets slice each token from %s',
      async (_, text) => {
        const [encoding] = await tokenizer.encodeBatch([text]);
        for (const index of textTokenIndices(encoding!)) {
          const [start, end] = encoding!.offsets[index]!;
          const token = encoding!.tokens[index]!;
          // BERT's clean_text drops format characters (ZWJ) and variation selectors are combining marks.
          const surface = normalize(text.slice(start, end)).replace(/\u200d|\ufe0f/g, '');
          if (token === '[UNK]') expect(surface).toMatch(/^\S+$/);
          else expect(surface).toBe(token.replace(/^##/, ''));
        }
        expect(encoding!.wordIds[0]).toBeNull();
        expect(encoding!.sequenceIds.filter((id) => id !== null).every((id) => id === 0)).toBe(true);
      },
    );

    test('decode(encode(text)) is the normalized text, up to whitespace (texts without [UNK])', async () => {
      const encodings = await tokenizer.encodeBatch(SAMPLE_TEXTS);
      let checked = 0;
      for (const [index, encoding] of encodings.entries()) {
        if (encoding.tokens.includes('[UNK]')) continue;
        const text = SAMPLE_TEXTS[index]!;
        // WordPiece decoding joins words with single spaces and glues punctuation back: compare without whitespace.
        const squeeze = (value: string) => value.replace(/\s/g, '');
        expect(squeeze(await tokenizer.decode(encoding.ids))).toBe(squeeze(normalize(text)));
        checked++;
      }
      expect(checked).toBeGreaterThanOrEqual(8);
    });
  });

  describe('roberta-base', () => {
    let tokenizer: TextTokenizer;
    beforeAll(async () => {
      tokenizer = await shared(ROBERTA);
    });

    test.each(SAMPLE_TEXTS.map((text) => [JSON.stringify(text).slice(0, 50), text]))(
      'offsets of byte-level tokens slice %s',
      async (_, text) => {
        const [encoding] = await tokenizer.encodeBatch([text]);
        // Byte-level tokens can split a character (an emoji, a CJK ideograph) so neighbours share its span:
        // group tokens whose spans overlap; each group's bytes decode to exactly its span (leading space trimmed,
        // as trim_offsets excludes it from the offsets).
        let group: { tokens: string[]; start: number; end: number } | null = null;
        const groups: Array<{ tokens: string[]; start: number; end: number }> = [];
        for (const index of textTokenIndices(encoding!)) {
          const [start, end] = encoding!.offsets[index]!;
          const token = encoding!.tokens[index]!;
          if (group !== null && start < group.end) {
            group.tokens.push(token);
            group.end = Math.max(group.end, end);
          } else {
            group = { tokens: [token], start, end };
            groups.push(group);
          }
        }
        for (const { tokens, start, end } of groups) {
          expect(tokenizer.tokensToString(tokens).trim()).toBe(text.slice(start, end).trim());
        }
      },
    );

    test('decode(encode(text)) is exactly the text', async () => {
      const encodings = await tokenizer.encodeBatch(SAMPLE_TEXTS);
      for (const [index, encoding] of encodings.entries()) {
        expect(await tokenizer.decode(encoding.ids)).toBe(SAMPLE_TEXTS[index]);
      }
    });

    test('an emoji split into three byte tokens: all three span its two UTF-16 units', async () => {
      const text = 'I love 🍕!';
      const [encoding] = await tokenizer.encodeBatch([text]);
      expect(encoding!.tokens).toEqual(['<s>', 'I', 'Ġlove', 'ĠðŁ', 'į', 'ķ', '!', '</s>']);
      expect(encoding!.offsets.slice(3, 6)).toEqual([
        [7, 9],
        [7, 9],
        [7, 9],
      ]);
      expect(encoding!.offsets[6]).toEqual([9, 10]);
      // GPT-2's pre-tokenizer regex keeps a run of symbols together: " 🍕!" is one word.
      expect(encoding!.wordIds).toEqual([null, 0, 1, 2, 2, 2, 2, null]);
    });
  });

  test('a lone surrogate counts as one character on both sides', async () => {
    const tokenizer = await shared(ROBERTA);
    const text = 'a\ud83d b 🍕 c';
    const [encoding] = await tokenizer.encodeBatch([text]);
    const cIndex = encoding!.tokens.indexOf('Ġc');
    expect(text.slice(...encoding!.offsets[cIndex]!)).toBe('c');
  });
});

describe('pairs', () => {
  test('BERT: token type ids, sequence ids, offsets into each text', async () => {
    const tokenizer = await shared(UNCASED_JSON);
    const [question, context] = ['Where is 🍕?', 'In Napoli 🍕 is king.'];
    const [encoding] = await tokenizer.encodeBatch([[question, context]]);
    expect(encoding!.tokens).toEqual([
      '[CLS]',
      'where',
      'is',
      '[UNK]',
      '?',
      '[SEP]',
      'in',
      'napoli',
      '[UNK]',
      'is',
      'king',
      '.',
      '[SEP]',
    ]);
    expect(encoding!.typeIds).toEqual([0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1]);
    expect(encoding!.sequenceIds).toEqual([null, 0, 0, 0, 0, null, 1, 1, 1, 1, 1, 1, null]);
    expect(encoding!.specialTokensMask).toEqual([1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1]);
    expect(encoding!.wordIds).toEqual([null, 0, 1, 2, 3, null, 0, 1, 2, 3, 4, 5, null]);
    const surfaces = encoding!.offsets.map(([start, end], index) => {
      const sequenceId = encoding!.sequenceIds[index];
      return sequenceId === null ? null : (sequenceId === 0 ? question : context).slice(start, end);
    });
    expect(surfaces).toEqual([
      null,
      'Where',
      'is',
      '🍕',
      '?',
      null,
      'In',
      'Napoli',
      '🍕',
      'is',
      'king',
      '.',
      null,
    ]);
  });

  test('RoBERTa: <s> A </s></s> B </s>, type ids all 0', async () => {
    const tokenizer = await shared(ROBERTA);
    const [encoding] = await tokenizer.encodeBatch([['Hello world', 'Bonjour']]);
    expect(encoding!.tokens).toEqual(['<s>', 'Hello', 'Ġworld', '</s>', '</s>', 'Bon', 'j', 'our', '</s>']);
    expect(encoding!.ids[0]).toBe(0);
    expect(encoding!.tokens.filter((_t, i) => encoding!.specialTokensMask[i] === 1)).toEqual([
      '<s>',
      '</s>',
      '</s>',
      '</s>',
    ]);
    expect(encoding!.typeIds.every((id) => id === 0)).toBe(true);
    expect(encoding!.sequenceIds).toEqual([null, 0, 0, null, null, 1, 1, 1, null]);
    expect(encoding!.offsets.slice(5, 8)).toEqual([
      [0, 3],
      [3, 4],
      [4, 7],
    ]);
  });

  test('an empty second text is still a pair, as in tokenizers and Python transformers', async () => {
    const tokenizer = await shared(UNCASED_JSON);
    const [pair, emptyBoth] = await tokenizer.encodeBatch([
      ['hello', ''],
      ['', ''],
    ]);
    expect(pair!.tokens).toEqual(['[CLS]', 'hello', '[SEP]', '[SEP]']);
    expect(emptyBoth!.ids).toEqual([101, 102, 102]);
  });

  test('batches mix single texts and pairs in order', async () => {
    const tokenizer = await shared(UNCASED_JSON);
    const encodings = await tokenizer.encodeBatch(['one', ['two', 'three'], 'four']);
    expect(encodings.map((e) => e.tokens.join(' '))).toEqual([
      '[CLS] one [SEP]',
      '[CLS] two [SEP] three [SEP]',
      '[CLS] four [SEP]',
    ]);
  });
});

const LONG_CONTEXT =
  'The pizza 🍕 was invented in Naples, Italy, in the eighteenth century. Margherita — tomato, mozzarella and ' +
  'basil — honours the Queen of Italy. Today São Paulo and New York 🗽 both claim the best slices; Tokyo (東京) ' +
  'has excellent ones too. https://example.com/pizza?style=neapolitan&size=large is a fine reference.';

describe('truncation', () => {
  test.each([
    ['bert-base-uncased', UNCASED_JSON, 101, 102],
    ['roberta-base', ROBERTA, 0, 2],
  ])('%s: maxLength keeps the special tokens, length exactly maxLength', async (_name, files, cls, sep) => {
    const tokenizer = await shared(files);
    for (const maxLength of [3, 4, 10, 17]) {
      const [encoding] = await tokenizer.encodeBatch([LONG_CONTEXT], { maxLength });
      expect(encoding!.ids).toHaveLength(maxLength);
      expect(encoding!.ids[0]).toBe(cls);
      expect(encoding!.ids[maxLength - 1]).toBe(sep);
      expect(encoding!.attentionMask).toEqual(new Array(maxLength).fill(1));
    }
  });

  test('the tokenizer maxLength applies by default; short inputs are untouched', async () => {
    const tokenizer = await load(UNCASED_JSON, { maxLength: 20 });
    const [long, short] = await tokenizer.encodeBatch([LONG_CONTEXT, 'short text']);
    expect(long!.ids).toHaveLength(20);
    expect(short!.tokens).toEqual(['[CLS]', 'short', 'text', '[SEP]']);
    const full = await shared(UNCASED_JSON);
    const [untruncated] = await full.encodeBatch([LONG_CONTEXT.repeat(10)]);
    expect(untruncated!.ids).toHaveLength(512);
  });

  test('addSpecialTokens false: maxLength counts text tokens only', async () => {
    const tokenizer = await shared(UNCASED_JSON);
    const [encoding] = await tokenizer.encodeBatch([LONG_CONTEXT], { maxLength: 7, addSpecialTokens: false });
    expect(encoding!.tokens).toEqual(['the', 'pizza', '[UNK]', 'was', 'invented', 'in', 'naples']);
    expect(encoding!.specialTokensMask).toEqual([0, 0, 0, 0, 0, 0, 0]);
  });

  test('only_second keeps the whole first text; only_first the whole second', async () => {
    const tokenizer = await shared(UNCASED_JSON);
    const question = 'Where was pizza invented?';
    const [onlySecond, onlyFirst] = await Promise.all([
      tokenizer.encodeBatch([[question, LONG_CONTEXT]], { maxLength: 16, truncation: 'only_second' }),
      tokenizer.encodeBatch([[LONG_CONTEXT, question]], { maxLength: 16, truncation: 'only_first' }),
    ]);
    expect(onlySecond[0]!.tokens.join(' ')).toBe(
      '[CLS] where was pizza invented ? [SEP] the pizza [UNK] was invented in naples , [SEP]',
    );
    expect(onlyFirst[0]!.tokens.join(' ')).toBe(
      '[CLS] the pizza [UNK] was invented in naples , [SEP] where was pizza invented ? [SEP]',
    );
  });

  test("every strategy and stride matches tokenizers' own truncate_encodings, overflowing windows included", async () => {
    // The reference is tokenizers itself: a pipeline with setTruncation, fed untruncated encodings through
    // postProcess, which runs Rust's truncate_encodings and the post-processor. (Not encode() with setTruncation:
    // since 0.23.1 it stops tokenizing at max_length, which drops overflowing windows and, when both texts of a
    // pair are too long, caps their lengths before longest_first compares them (huggingface/tokenizers#2091).)
    const file = path.join(TOKENIZER_FIXTURES, 'bert-base-uncased/tokenizer.json');
    const spec = fs.readFileSync(file, 'utf8');
    const sequenceEncoder = tk.Tokenizer.fromString(
      JSON.stringify({ ...JSON.parse(spec), post_processor: null }),
    );
    const tokenizer = await shared(UNCASED_JSON);
    const words = LONG_CONTEXT.split(' ');
    const texts = [2, 5, 9, 14, 30].map((count) => words.slice(0, count).join(' '));
    // postProcess clones what it is given, so one untruncated encoding per text serves every case.
    const rawEncodings = await sequenceEncoder.encodeBatch(texts, { addSpecialTokens: false });
    const rustStrategy = {
      longest_first: 'LongestFirst',
      only_first: 'OnlyFirst',
      only_second: 'OnlySecond',
    };
    const counts = { compared: 0, refusedStride: 0, refusedFit: 0 };
    for (const truncation of ['longest_first', 'only_first', 'only_second'] as const) {
      for (const maxLength of [6, 9, 16, 25]) {
        for (const stride of [0, 1, 3]) {
          const rust = tk.Tokenizer.fromString(spec);
          const strategy = rustStrategy[truncation] as tk.TruncationStrategy;
          rust.setTruncation(maxLength, { strategy, stride });
          for (const first of texts) {
            for (const second of texts) {
              const options = { maxLength, stride, truncation };
              const ours = await tokenizer
                .encodeWithOverflow([first, second], options)
                .catch((error: Error) => error);
              if (ours instanceof Error && ours.message.includes('options.stride')) {
                counts.refusedStride++; // tokenizers would panic: nothing to compare with
                continue;
              }
              const [a, b] = [rawEncodings[texts.indexOf(first)], rawEncodings[texts.indexOf(second)]];
              let expected: tk.Encoding[] | 'error';
              try {
                const encoding = rust.postProcess(a!, b!, true);
                expected = [encoding, ...encoding.getOverflowing()];
              } catch {
                expected = 'error';
              }
              const label = { truncation, maxLength, stride, first, second };
              if (ours instanceof Error) {
                expect({ ...label, result: ours.message }).toEqual({
                  ...label,
                  result: expect.stringContaining('cannot fit'),
                });
                expect(expected).toBe('error');
                counts.refusedFit++;
                continue;
              }
              expect(expected).not.toBe('error');
              const summary = (windows: Array<{ ids: number[]; offsets: unknown; sequenceIds: unknown }>) =>
                windows.map(({ ids, offsets, sequenceIds }) => ({ ids, offsets, sequenceIds }));
              const reference = (expected as tk.Encoding[]).map((window) => {
                const sequenceIds = window.getSequenceIds().map((id) => id ?? null);
                // tokenizers counts code points; TextTokenizer reports UTF-16 indices.
                const offsets = window.getOffsets().map(([start, end], index) => {
                  const sequenceId = sequenceIds[index];
                  if (sequenceId === null) return [start, end];
                  const codePoints = Array.from(sequenceId === 0 ? first : second);
                  return [
                    codePoints.slice(0, start).join('').length,
                    codePoints.slice(0, end).join('').length,
                  ];
                });
                return { ids: window.getIds(), offsets, sequenceIds };
              });
              expect({ ...label, windows: summary(ours) }).toEqual({ ...label, windows: reference });
              expect(ours[0]!.typeIds).toEqual((expected as tk.Encoding[])[0]!.getTypeIds());
              // encodeBatch is the first window of the same truncation.
              const [batch] = await tokenizer.encodeBatch([[first, second]], { maxLength, truncation });
              expect(batch!.ids).toEqual(stride === 0 ? ours[0]!.ids : batch!.ids);
              counts.compared++;
            }
          }
        }
      }
    }
    // 900 cases: compared window by window, refused because the stride does not fit a window (tokenizers would
    // abort the process), or refused because only_first/only_second cannot make the pair fit (tokenizers errs too).
    expect(counts).toEqual({ compared: 478, refusedStride: 122, refusedFit: 300 });
  });

  test('only_second cannot shorten a single text or a first text that fills maxLength: E_BAD_INPUT', async () => {
    const tokenizer = await shared(UNCASED_JSON);
    const single = await rejection(
      tokenizer.encodeBatch(['short', LONG_CONTEXT], { maxLength: 16, truncation: 'only_second' }),
    );
    expect(single.code).toBe('E_BAD_INPUT');
    expect(single.message).toBe(
      "encodeBatch: inputs[1] is a single text longer than maxLength 16, but truncation 'only_second' only " +
        'truncates the second text of a [text, textPair] pair',
    );
    const tooLong = await rejection(
      tokenizer.encodeBatch([[LONG_CONTEXT, 'short']], { maxLength: 16, truncation: 'only_second' }),
    );
    expect(tooLong.message).toBe(
      "encodeBatch: inputs[0] cannot fit in maxLength 16 with truncation 'only_second': its first text alone " +
        'leaves no room for the second',
    );
    // A short single text needs no truncation, so only_second has nothing to refuse (as in tokenizers).
    const [short] = await tokenizer.encodeBatch(['short'], { maxLength: 16, truncation: 'only_second' });
    expect(short!.tokens).toEqual(['[CLS]', 'short', '[SEP]']);
  });
});

describe('encodeWithOverflow', () => {
  /** The text tokens of a window that belong to sequence `sequenceId`. */
  const part = (window: Encoding, sequenceId: number) =>
    window.ids.flatMap((id, index) =>
      window.sequenceIds[index] === sequenceId ? [{ id, offsets: window.offsets[index]! }] : [],
    );

  test.each([
    ['bert-base-uncased', UNCASED_JSON],
    ['roberta-base', ROBERTA],
  ])('%s, one long text: windows overlap by exactly stride and cover every token', async (_name, files) => {
    const tokenizer = await shared(files);
    const [full] = await tokenizer.encodeBatch([LONG_CONTEXT], { maxLength: 10_000 });
    const allTokens = part(full!, 0);
    for (const [maxLength, stride] of [
      [12, 3],
      [20, 0],
      [32, 10],
      [7, 4],
    ] as const) {
      const windows = await tokenizer.encodeWithOverflow(LONG_CONTEXT, { maxLength, stride });
      const room = maxLength - tokenizer.specialTokenCounts.single;
      // Independently: windows of `room` tokens starting every room - stride tokens until one reaches the end.
      const expected: Array<typeof allTokens> = [];
      for (let start = 0; ; start += room - stride) {
        expected.push(allTokens.slice(start, start + room));
        if (start + room >= allTokens.length) break;
      }
      expect(windows.map((window) => part(window, 0))).toEqual(expected);
      for (const [index, window] of windows.entries()) {
        expect(window.ids.length).toBeLessThanOrEqual(maxLength);
        expect(window.ids[0]).toBe(tokenizer.clsTokenId);
        expect(window.ids[window.ids.length - 1]).toBe(tokenizer.sepTokenId);
        if (index > 0) {
          expect(part(windows[index - 1]!, 0).slice(-stride || Infinity)).toEqual(
            part(window, 0).slice(0, stride),
          );
        }
      }
    }
  });

  test('question answering: only_second keeps the question in every window, context offsets index the context', async () => {
    const tokenizer = await shared(UNCASED_JSON);
    const question = 'Who honours the 👑?';
    const [maxLength, stride] = [24, 6];
    const windows = await tokenizer.encodeWithOverflow([question, LONG_CONTEXT], {
      maxLength,
      stride,
      truncation: 'only_second',
    });
    const [full] = await tokenizer.encodeBatch([[question, LONG_CONTEXT]], { maxLength: 10_000 });
    const questionTokens = part(full!, 0);
    const contextTokens = part(full!, 1);
    expect(windows.length).toBeGreaterThan(3);
    const seen = new Set<number>();
    for (const [index, window] of windows.entries()) {
      expect(window.ids.length).toBeLessThanOrEqual(maxLength);
      expect(part(window, 0)).toEqual(questionTokens);
      // [CLS] question [SEP] 0, context [SEP] 1: in every window, not only the first.
      const last = window.ids.length - 1;
      expect(window.typeIds).toEqual(window.sequenceIds.map((id, i) => (id === 1 || i === last ? 1 : 0)));
      const context = part(window, 1);
      if (index < windows.length - 1) expect(window.ids).toHaveLength(maxLength);
      if (index > 0) expect(part(windows[index - 1]!, 1).slice(-stride)).toEqual(context.slice(0, stride));
      for (const token of context) {
        const position = contextTokens.findIndex(
          (t) => t.offsets[0] === token.offsets[0] && t.id === token.id,
        );
        expect(position).toBeGreaterThanOrEqual(0);
        seen.add(position);
      }
      // Offsets still index the original context, emoji and CJK included.
      for (const [i, sequenceId] of window.sequenceIds.entries()) {
        if (sequenceId !== 1) continue;
        const [start, end] = window.offsets[i]!;
        const surface = uncased(LONG_CONTEXT.slice(start, end));
        const token = window.tokens[i]!;
        if (token === '[UNK]') expect(surface).toMatch(/^\S+$/);
        else expect(surface).toBe(token.replace(/^##/, ''));
      }
    }
    expect(seen.size).toBe(contextTokens.length);
  });

  test('short input: one window; empty string: [CLS] [SEP]', async () => {
    const tokenizer = await shared(UNCASED_JSON);
    const windows = await tokenizer.encodeWithOverflow(['question?', 'short context'], {
      maxLength: 64,
      stride: 16,
      truncation: 'only_second',
    });
    expect(windows.map((w) => w.tokens.join(' '))).toEqual(['[CLS] question ? [SEP] short context [SEP]']);
    const empty = await tokenizer.encodeWithOverflow('', { maxLength: 8, stride: 2 });
    expect(empty.map((w) => w.ids)).toEqual([[101, 102]]);
  });

  test('a stride that does not fit in a window is refused (tokenizers would abort the process)', async () => {
    const tokenizer = await shared(UNCASED_JSON);
    const error = await rejection(tokenizer.encodeWithOverflow(LONG_CONTEXT, { maxLength: 10, stride: 8 }));
    expect(error.code).toBe('E_BAD_INPUT');
    expect(error.message).toBe(
      'encodeWithOverflow: options.stride must be smaller than the 8 tokens of the text that each window of ' +
        'maxLength 10 holds; got 8',
    );
    const qa = await rejection(
      tokenizer.encodeWithOverflow(['a question of five', LONG_CONTEXT], {
        maxLength: 12,
        stride: 5,
        truncation: 'only_second',
      }),
    );
    expect(qa.message).toBe(
      'encodeWithOverflow: options.stride must be smaller than the 5 tokens of the second text that each window ' +
        'of maxLength 12 holds; got 5',
    );
    // The same stride is fine when nothing needs windowing.
    expect(await tokenizer.encodeWithOverflow('short', { maxLength: 10, stride: 8 })).toHaveLength(1);
  });

  test('a question that leaves no room for the context: E_BAD_INPUT', async () => {
    const tokenizer = await shared(UNCASED_JSON);
    const error = await rejection(
      tokenizer.encodeWithOverflow([LONG_CONTEXT, 'context'], {
        maxLength: 16,
        stride: 2,
        truncation: 'only_second',
      }),
    );
    expect(error.message).toBe(
      "encodeWithOverflow: input cannot fit in maxLength 16 with truncation 'only_second': its first text alone " +
        'leaves no room for the second',
    );
  });
});

describe('concurrency', () => {
  test('concurrent calls with different maxLength, strategy and stride each get their own settings', async () => {
    const tokenizer = await shared(UNCASED_JSON);
    const question = 'Where was pizza invented?';
    type Call = () => Promise<Encoding[]>;
    const calls: Call[] = [];
    for (let round = 0; round < 8; round++) {
      for (const maxLength of [9, 16, 33, 64, 512]) {
        calls.push(() => tokenizer.encodeBatch([LONG_CONTEXT, [question, LONG_CONTEXT]], { maxLength }));
        const truncation: TruncationStrategy = round % 2 ? 'only_second' : 'longest_first';
        calls.push(() =>
          tokenizer.encodeBatch([[question, LONG_CONTEXT]], { maxLength: maxLength + 3, truncation }),
        );
        calls.push(() =>
          tokenizer.encodeWithOverflow([question, LONG_CONTEXT], {
            maxLength: maxLength + 7,
            stride: round % 3,
            truncation: 'only_second',
          }),
        );
      }
    }
    const sequential: Encoding[][] = [];
    for (const call of calls) sequential.push(await call());
    const concurrent = await Promise.all(calls.map((call) => call()));
    expect(concurrent).toEqual(sequential);
    // And the settings took effect: the first call of each maxLength truncated its single text to it.
    expect(
      concurrent
        .slice(0, 15)
        .filter((_, i) => i % 3 === 0)
        .map(([single]) => single!.ids.length),
    ).toEqual([9, 16, 33, 64, expect.any(Number)]);
  });
});

describe('decode and tokensToString', () => {
  test('decode skips special tokens by default', async () => {
    const tokenizer = await shared(UNCASED_JSON);
    const [encoding] = await tokenizer.encodeBatch([['Crème brûlée?', 'Yes!']]);
    expect(await tokenizer.decode(encoding!.ids)).toBe('creme brulee? yes!');
    expect(await tokenizer.decode(encoding!.ids, false)).toBe('[CLS] creme brulee? [SEP] yes! [SEP]');
    expect(await tokenizer.decode([])).toBe('');
  });

  test('WordPiece tokensToString: joins, glues ##, cleans up spaces before punctuation per token', async () => {
    const tokenizer = await shared(UNCASED_VOCAB);
    expect(tokenizer.tokensToString(['un', '##want', '##ed', 'running', '.'])).toBe('unwanted running.');
    expect(tokenizer.tokensToString(['new', 'york', ',', 'ny', '!'])).toBe('new york, ny!');
    // As Hugging Face's fast tokenizers (and transformers.js): the decoder cleans up each token, so the
    // apostrophe of "don ' t" (three tokens) stays spaced; Python's whole-string clean_up_tokenization would join it.
    expect(tokenizer.tokensToString(['don', "'", 't'])).toBe("don ' t");
    expect(tokenizer.tokensToString([])).toBe('');
  });

  test('byte-level tokensToString: decodes the byte alphabet back to UTF-8', async () => {
    const tokenizer = await shared(ROBERTA);
    expect(tokenizer.tokensToString(['Hello', 'Ġworld', 'ĠðŁ', 'į', 'ķ', 'ĠS', 'Ã£o'])).toBe(
      'Hello world 🍕 São',
    );
    // Part of a character decodes lossily, as tokenizers' ByteLevel decoder does.
    expect(tokenizer.tokensToString(['ĠðŁ'])).toBe(' \ufffd');
  });
});

describe('bad input', () => {
  let tokenizer: TextTokenizer;
  beforeAll(async () => {
    tokenizer = await shared(UNCASED_JSON);
  });

  test.each<[string, () => Promise<unknown>, string]>([
    [
      'a number among the inputs',
      () => tokenizer.encodeBatch(['a', 'b', 5 as unknown as string]),
      'encodeBatch: inputs[2] must be a string or a [text, textPair] pair; got the number 5',
    ],
    [
      'a pair with a non-string',
      () => tokenizer.encodeBatch([['a', 1] as unknown as [string, string]]),
      'encodeBatch: inputs[0] must be a string or a [text, textPair] pair; got an array [string, number]',
    ],
    [
      'a triple',
      () => tokenizer.encodeBatch([['a', 'b', 'c'] as unknown as [string, string]]),
      'encodeBatch: inputs[0] must be a string or a [text, textPair] pair; got an array [string, string, string]',
    ],
    [
      'null',
      () => tokenizer.encodeBatch([null as unknown as string]),
      'encodeBatch: inputs[0] must be a string or a [text, textPair] pair; got null',
    ],
    [
      'an object',
      () => tokenizer.encodeBatch([{ text: 'a' } as unknown as string]),
      'encodeBatch: inputs[0] must be a string or a [text, textPair] pair; got an object',
    ],
    [
      'a string instead of an array',
      () => tokenizer.encodeBatch('abc' as unknown as string[]),
      'encodeBatch: inputs must be an array of strings or [text, textPair] pairs; got the string "abc"',
    ],
    [
      'maxLength 0',
      () => tokenizer.encodeBatch(['a'], { maxLength: 0 }),
      'encodeBatch: options.maxLength must be a positive integer; got the number 0',
    ],
    [
      'maxLength as a string',
      () => tokenizer.encodeBatch(['a'], { maxLength: '8' as unknown as number }),
      'encodeBatch: options.maxLength must be a positive integer; got the string "8"',
    ],
    [
      'maxLength with no room for a pair',
      () => tokenizer.encodeBatch([['a', 'b']], { maxLength: 3 }),
      'encodeBatch: options.maxLength must be greater than 3, the number of special tokens added to a text pair; got 3',
    ],
    [
      'an unknown truncation',
      () => tokenizer.encodeBatch(['a'], { truncation: 'longest' as TruncationStrategy }),
      "encodeBatch: options.truncation must be one of 'longest_first', 'only_first', 'only_second'; got the string \"longest\"",
    ],
    [
      'addSpecialTokens as a string',
      () => tokenizer.encodeBatch(['a'], { addSpecialTokens: 'yes' as unknown as boolean }),
      'encodeBatch: options.addSpecialTokens must be a boolean; got the string "yes"',
    ],
    [
      'encodeWithOverflow of a number',
      () => tokenizer.encodeWithOverflow(7 as unknown as string, { maxLength: 8, stride: 0 }),
      'encodeWithOverflow: input must be a string or a [text, textPair] pair; got the number 7',
    ],
    [
      'encodeWithOverflow without options',
      () => (tokenizer.encodeWithOverflow as (input: string) => Promise<Encoding[]>)('a'),
      'encodeWithOverflow: options must be an object { maxLength, stride }; got undefined',
    ],
    [
      'a negative stride',
      () => tokenizer.encodeWithOverflow('a', { maxLength: 8, stride: -1 }),
      'encodeWithOverflow: options.stride must be a non-negative integer; got the number -1',
    ],
    [
      'decode of a non-array',
      () => tokenizer.decode('101' as unknown as number[]),
      'decode: ids must be an array of token ids; got the string "101"',
    ],
    [
      'decode of a negative id',
      () => tokenizer.decode([101, -1]),
      'decode: ids[1] must be an integer token id from 0 to 4294967295; got the number -1',
    ],
    [
      'decode of a fraction',
      () => tokenizer.decode([1.5]),
      'decode: ids[0] must be an integer token id from 0 to 4294967295; got the number 1.5',
    ],
    [
      'decode of a bigint',
      () => tokenizer.decode([101n as unknown as number]),
      'decode: ids[0] must be an integer token id from 0 to 4294967295; got the bigint 101n',
    ],
  ])('%s: E_BAD_INPUT with the exact message', async (_name, call, message) => {
    const error = await rejection(call());
    expect(error.name).toBe('TorchEncodersError');
    expect(error.code).toBe('E_BAD_INPUT');
    expect(error.message).toBe(message);
  });

  test('tokensToString throws synchronously', () => {
    const error = thrown(() => tokenizer.tokensToString(['a', 3 as unknown as string]));
    expect(error.code).toBe('E_BAD_INPUT');
    expect(error.message).toBe('tokensToString: tokens[1] must be a string; got the number 3');
  });

  test('the empty string and the empty batch are valid', async () => {
    expect(await tokenizer.encodeBatch([])).toEqual([]);
    const [empty] = await tokenizer.encodeBatch(['']);
    expect(empty).toEqual({
      ids: [101, 102],
      typeIds: [0, 0],
      attentionMask: [1, 1],
      specialTokensMask: [1, 1],
      tokens: ['[CLS]', '[SEP]'],
      offsets: [
        [0, 0],
        [0, 0],
      ],
      wordIds: [null, null],
      sequenceIds: [null, null],
    });
  });

  test('results are plain data: arrays and numbers, no binding objects', async () => {
    const [encoding] = await tokenizer.encodeBatch(['plain data']);
    for (const value of Object.values(encoding!)) expect(Array.isArray(value)).toBe(true);
    expect(JSON.parse(JSON.stringify(encoding))).toEqual(encoding);
  });
});
