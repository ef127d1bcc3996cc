/**
 * Independent references for the tokenizer tests: Hugging Face tokenizer.json specs written by hand from the
 * published format, run by transformers.js (@huggingface/transformers, a pure JS implementation sharing no code
 * with the Rust `tokenizers` that lib/tokenizer.ts wraps).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export const TOKENIZER_FIXTURES = path.resolve(__dirname, '../fixtures/tokenizers');

/** Texts every tokenizer test runs through: accents, CJK, emoji (with ZWJ), URLs, long words, odd whitespace. */
export const SAMPLE_TEXTS: readonly string[] = [
  'unwanted running',
  'Hello, world! This is a test.',
  'Crème brûlée à São Paulo',
  '東京は日本の首都です',
  'I love 🍕 and 🚀!',
  'https://example.com/path?q=1&r=two',
  'supercalifragilisticexpialidocious',
  'abc'.repeat(100),
  '  mixed\twhitespace\n\nand  spaces\u00a0here  ',
  '',
  "don't stop: it's 3.14 (approx.) — ok?",
  'naïve café, Zürich; Ελληνικά; Русский',
  '👩‍👩‍👧 family 🏳️‍🌈 flag',
];

const modelDirs: string[] = [];

/**
 * Copies fixture files (name -> path under test/fixtures/tokenizers) and writes JSON files into a new directory.
 * removeModelDirs() deletes them.
 */
export function makeModelDir(files: Record<string, string | object>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'torch-encoders-tokenizer-test-'));
  modelDirs.push(dir);
  for (const [name, source] of Object.entries(files)) {
    const target = path.join(dir, name);
    if (typeof source === 'string') fs.copyFileSync(path.join(TOKENIZER_FIXTURES, source), target);
    else fs.writeFileSync(target, JSON.stringify(source));
  }
  return dir;
}

export function removeModelDirs(): void {
  for (const dir of modelDirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
}

export function readVocabTxt(file: string): string[] {
  const lines = fs.readFileSync(path.join(TOKENIZER_FIXTURES, file), 'utf8').split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
}

const addedToken = (content: string, id: number, lstrip = false) => ({
  id,
  content,
  single_word: false,
  lstrip,
  rstrip: false,
  normalized: false,
  special: true,
});

function indexOf(vocab: readonly string[], token: string): number {
  const id = vocab.indexOf(token);
  if (id < 0) throw new Error(`${token} is not in the vocabulary`);
  return id;
}

/** The standard tokenizer.json of a BERT WordPiece pipeline (as transformers' BertTokenizerFast converter writes it). */
export function bertWordPieceSpec(vocab: readonly string[], { lowercase }: { lowercase: boolean }): object {
  const cls = indexOf(vocab, '[CLS]');
  const sep = indexOf(vocab, '[SEP]');
  const special = (id: string, typeId: number) => ({ SpecialToken: { id, type_id: typeId } });
  const sequence = (id: string, typeId: number) => ({ Sequence: { id, type_id: typeId } });
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'].map((token) =>
      addedToken(token, indexOf(vocab, token)),
    ),
    normalizer: {
      type: 'BertNormalizer',
      clean_text: true,
      handle_chinese_chars: true,
      strip_accents: null,
      lowercase,
    },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: {
      type: 'TemplateProcessing',
      single: [special('[CLS]', 0), sequence('A', 0), special('[SEP]', 0)],
      pair: [
        special('[CLS]', 0),
        sequence('A', 0),
        special('[SEP]', 0),
        sequence('B', 1),
        special('[SEP]', 1),
      ],
      special_tokens: {
        '[CLS]': { id: '[CLS]', ids: [cls], tokens: ['[CLS]'] },
        '[SEP]': { id: '[SEP]', ids: [sep], tokens: ['[SEP]'] },
      },
    },
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: {
      type: 'WordPiece',
      unk_token: '[UNK]',
      continuing_subword_prefix: '##',
      max_input_chars_per_word: 100,
      vocab: Object.fromEntries(vocab.map((token, id) => [token, id])),
    },
  };
}

/** The standard tokenizer.json of RoBERTa's byte-level BPE (as transformers' RobertaTokenizerFast converter writes it). */
export function robertaByteLevelSpec(vocab: Record<string, number>, merges: readonly string[]): object {
  const id = (token: string): number => {
    const value = vocab[token];
    if (value === undefined) throw new Error(`${token} is not in the vocabulary`);
    return value;
  };
  const byteLevel = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true };
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [
      addedToken('<s>', id('<s>')),
      addedToken('<pad>', id('<pad>')),
      addedToken('</s>', id('</s>')),
      addedToken('<unk>', id('<unk>')),
      addedToken('<mask>', id('<mask>'), true),
    ],
    normalizer: null,
    pre_tokenizer: byteLevel,
    post_processor: {
      type: 'RobertaProcessing',
      sep: ['</s>', id('</s>')],
      cls: ['<s>', id('<s>')],
      trim_offsets: true,
      add_prefix_space: false,
    },
    decoder: { ...byteLevel, add_prefix_space: true },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: '',
      end_of_word_suffix: '',
      fuse_unk: false,
      byte_fallback: false,
      vocab,
      merges,
    },
  };
}

/** What the tests use of a transformers.js tokenizer. */
export interface ReferenceTokenizer {
  encode(text: string, options?: { text_pair?: string | null; add_special_tokens?: boolean }): number[];
  tokenize(text: string): string[];
  decode(
    ids: number[],
    options?: { skip_special_tokens?: boolean; clean_up_tokenization_spaces?: boolean },
  ): string;
  (
    text: string,
    options: { text_pair?: string; return_tensor: false },
  ): { input_ids: number[]; token_type_ids?: number[]; attention_mask: number[] };
}

/**
 * A transformers.js tokenizer for a tokenizer.json spec. `kind` picks the class (its defaults for special tokens);
 * the config gives the special tokens and model_max_length as a tokenizer_config.json would.
 */
export function referenceTokenizer(
  kind: 'bert' | 'roberta',
  spec: object,
  config: Record<string, unknown>,
): ReferenceTokenizer {
  // Loaded lazily: it pulls in onnxruntime-node, which only the reference tests need.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const transformers = require('@huggingface/transformers') as Record<
    string,
    new (spec: object, config: object) => ReferenceTokenizer
  >;
  const TokenizerClass = transformers[kind === 'bert' ? 'BertTokenizer' : 'RobertaTokenizer']!;
  return new TokenizerClass(spec, config);
}
