/**
 * TextTokenizer against an independent implementation: transformers.js (pure JS, no code shared with the Rust
 * `tokenizers`) reading the same tokenizer.json, or a tokenizer.json written by hand in helpers/ for the
 * vocab.txt and vocab.json + merges.txt directories, which TextTokenizer builds with tokenizers' builders.
 *
 * Only untruncated inputs are compared: transformers.js truncates by cutting the end of the ids (dropping the
 * final [SEP]) and cuts pairs as one sequence, while TextTokenizer keeps the special tokens as Hugging Face's
 * Python tokenizers do (see /work/shared/NOTES.md). Truncation is checked in tokenizer.test.ts instead.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { TextTokenizer } from '../../lib/tokenizer';
import {
  bertWordPieceSpec,
  makeModelDir,
  removeModelDirs,
  readVocabTxt,
  referenceTokenizer,
  robertaByteLevelSpec,
  SAMPLE_TEXTS,
  TOKENIZER_FIXTURES,
  type ReferenceTokenizer,
} from '../helpers/reference-wordpiece';

afterAll(removeModelDirs);

interface Case {
  name: string;
  ours: () => Promise<TextTokenizer>;
  reference: () => ReferenceTokenizer;
}

const BERT_CONFIG = {
  model_max_length: 512,
  cls_token: '[CLS]',
  sep_token: '[SEP]',
  pad_token: '[PAD]',
  unk_token: '[UNK]',
  mask_token: '[MASK]',
};
const ROBERTA_CONFIG = {
  model_max_length: 512,
  bos_token: '<s>',
  eos_token: '</s>',
  cls_token: '<s>',
  sep_token: '</s>',
  pad_token: '<pad>',
  unk_token: '<unk>',
  mask_token: '<mask>',
};

function readRobertaFiles(): { vocab: Record<string, number>; merges: string[] } {
  const dir = path.join(TOKENIZER_FIXTURES, 'roberta-base');
  const vocab = JSON.parse(fs.readFileSync(path.join(dir, 'vocab.json'), 'utf8')) as Record<string, number>;
  const merges = fs
    .readFileSync(path.join(dir, 'merges.txt'), 'utf8')
    .split('\n')
    .filter((line) => line !== '' && !line.startsWith('#version'));
  return { vocab, merges };
}

const CASES: Case[] = [
  {
    name: 'bert-base-uncased tokenizer.json',
    ours: () =>
      TextTokenizer.fromDirectory(makeModelDir({ 'tokenizer.json': 'bert-base-uncased/tokenizer.json' })),
    reference: () =>
      referenceTokenizer(
        'bert',
        JSON.parse(
          fs.readFileSync(path.join(TOKENIZER_FIXTURES, 'bert-base-uncased/tokenizer.json'), 'utf8'),
        ),
        BERT_CONFIG,
      ),
  },
  {
    name: 'bert-base-uncased vocab.txt',
    ours: () => TextTokenizer.fromDirectory(makeModelDir({ 'vocab.txt': 'bert-base-uncased/vocab.txt' })),
    reference: () =>
      referenceTokenizer(
        'bert',
        bertWordPieceSpec(readVocabTxt('bert-base-uncased/vocab.txt'), { lowercase: true }),
        BERT_CONFIG,
      ),
  },
  {
    name: 'bert-base-cased vocab.txt (do_lower_case false)',
    ours: () =>
      TextTokenizer.fromDirectory(
        makeModelDir({
          'vocab.txt': 'bert-base-cased/vocab.txt',
          'tokenizer_config.json': { do_lower_case: false },
        }),
      ),
    reference: () =>
      referenceTokenizer(
        'bert',
        bertWordPieceSpec(readVocabTxt('bert-base-cased/vocab.txt'), { lowercase: false }),
        BERT_CONFIG,
      ),
  },
  {
    name: 'roberta-base vocab.json + merges.txt',
    ours: () =>
      TextTokenizer.fromDirectory(
        makeModelDir({ 'vocab.json': 'roberta-base/vocab.json', 'merges.txt': 'roberta-base/merges.txt' }),
      ),
    reference: () => {
      const { vocab, merges } = readRobertaFiles();
      return referenceTokenizer('roberta', robertaByteLevelSpec(vocab, merges), ROBERTA_CONFIG);
    },
  },
];

describe.each(CASES)('$name matches transformers.js', ({ ours: loadOurs, reference: loadReference }) => {
  let ours: TextTokenizer;
  let reference: ReferenceTokenizer;
  beforeAll(async () => {
    ours = await loadOurs();
    reference = loadReference();
  });

  test.each(SAMPLE_TEXTS.map((text) => [JSON.stringify(text).slice(0, 50), text]))(
    'ids and tokens of %s',
    async (_, text) => {
      const [encoding] = await ours.encodeBatch([text]);
      expect(encoding!.ids.length).toBeLessThan(ours.maxLength); // untruncated: see the file comment
      expect(encoding!.ids).toEqual(reference.encode(text));
      const textTokens = encoding!.tokens.filter((_token, i) => encoding!.specialTokensMask[i] === 0);
      expect(textTokens).toEqual(reference.tokenize(text));
    },
  );

  test('pairs: ids and token type ids', async () => {
    // Without the empty text: transformers.js reads text_pair '' as "no pair" (`text_pair || null`), while
    // tokenizers and Python transformers encode an empty second text ([CLS] a [SEP] [SEP]).
    const texts = SAMPLE_TEXTS.filter((text) => text !== '');
    for (let i = 0; i + 1 < texts.length; i++) {
      const [text, textPair] = [texts[i]!, texts[i + 1]!];
      const [encoding] = await ours.encodeBatch([[text, textPair]]);
      const expected = reference(text, { text_pair: textPair, return_tensor: false });
      expect(encoding!.ids).toEqual(expected.input_ids);
      // RobertaTokenizer returns no token_type_ids; RoBERTa has a single type, all zeros.
      expect(encoding!.typeIds).toEqual(expected.token_type_ids ?? expected.input_ids.map(() => 0));
    }
  });

  test('decode matches the reference decoder', async () => {
    for (const text of SAMPLE_TEXTS.filter((sample) => sample !== '')) {
      const [encoding] = await ours.encodeBatch([text]);
      // clean_up_tokenization_spaces false: transformers.js would otherwise run Python's clean_up_tokenization on
      // the whole string as well, which Rust's decode does not do (its WordPiece decoder cleans up per token).
      const options = { skip_special_tokens: true, clean_up_tokenization_spaces: false };
      expect(await ours.decode(encoding!.ids)).toBe(reference.decode(encoding!.ids, options));
      expect(await ours.decode(encoding!.ids, false)).toBe(
        reference.decode(encoding!.ids, { ...options, skip_special_tokens: false }),
      );
    }
  });

  test('tokensToString matches the reference decoder on the same tokens', async () => {
    for (const text of SAMPLE_TEXTS.filter((sample) => sample !== '')) {
      const [encoding] = await ours.encodeBatch([text], { addSpecialTokens: false });
      const options = { skip_special_tokens: false, clean_up_tokenization_spaces: false };
      expect(ours.tokensToString(encoding!.tokens)).toBe(reference.decode(encoding!.ids, options));
    }
  });
});
