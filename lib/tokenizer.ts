import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tk from 'tokenizers';
import { TorchEncodersError } from './errors';

/**
 * 'wordpiece': BERT-style WordPiece ("##" continuations). 'bpe': byte-level BPE (RoBERTa, GPT-2).
 * 'other': anything else a tokenizer.json can declare (Unigram, Metaspace BPE, ...).
 */
export type TokenizerFamily = 'wordpiece' | 'bpe' | 'other';

/** Which text of a pair gives up tokens when the input is too long, as in Hugging Face. */
export type TruncationStrategy = 'longest_first' | 'only_first' | 'only_second';

/** One text, or a [text, textPair] pair (question and context, premise and hypothesis). */
export type TokenizerInput = string | readonly [string, string];

export interface TokenizerLoadOptions {
  /**
   * Default length limit of an encoding, special tokens included. Default: tokenizer_config.json
   * `model_max_length` when it is a sane value (below 1e6), else 512.
   */
  maxLength?: number;
}

export interface EncodeOptions {
  /**
   * Length limit of each encoding, special tokens included (they are always kept).
   * Default: the tokenizer's maxLength.
   */
  maxLength?: number;
  /** Default: 'longest_first', as Hugging Face's `truncation=True`. */
  truncation?: TruncationStrategy;
  /** Adds [CLS]/[SEP] (or <s>/</s>) around the text(s). Default: true. */
  addSpecialTokens?: boolean;
}

export interface OverflowOptions {
  /** Length of each window, special tokens included. */
  maxLength: number;
  /**
   * Tokens of the truncated text that consecutive windows share. Must be smaller than the number of that text's
   * tokens a window holds.
   */
  stride: number;
  /**
   * Default: 'longest_first'. Use 'only_second' for question answering ([question, context]): every window keeps
   * the whole question. With 'longest_first' on a pair, both texts may be windowed and the result is every
   * combination of their windows, as in Hugging Face's fast tokenizers.
   */
  truncation?: TruncationStrategy;
}

/** One encoded input, as plain data. */
export interface Encoding {
  ids: number[];
  typeIds: number[];
  attentionMask: number[];
  /** 1 for tokens the tokenizer added ([CLS], [SEP], <s>, </s>), 0 for tokens of the text. */
  specialTokensMask: number[];
  tokens: string[];
  /**
   * Character offsets [start, end) into the ORIGINAL JS string (UTF-16 code units), [0, 0] for special tokens.
   * For a pair, they index the text named by `sequenceIds`. Several byte-level tokens can share the span of the
   * one character they split (an emoji), and a whitespace-only byte-level token can have an empty span.
   */
  offsets: Array<[number, number]>;
  /** Index of the word (as pre-tokenized) each token belongs to, per text; null for special tokens. */
  wordIds: Array<number | null>;
  /** 0 for the first text, 1 for the second (pair), null for special tokens. */
  sequenceIds: Array<number | null>;
}

/** Token strings of the special roles; null when the tokenizer has none. */
export interface SpecialTokens {
  cls: string | null;
  sep: string | null;
  pad: string | null;
  unk: string | null;
  mask: string | null;
}

type SpecialRole = keyof SpecialTokens;
type JsonObject = Record<string, unknown>;

const SPECIAL_ROLES: readonly SpecialRole[] = ['cls', 'sep', 'pad', 'unk', 'mask'];

/** The defaults of Hugging Face's BertTokenizer and RobertaTokenizer, used when no config names the tokens. */
const FAMILY_SPECIAL_TOKENS: Record<TokenizerFamily, SpecialTokens> = {
  wordpiece: { cls: '[CLS]', sep: '[SEP]', pad: '[PAD]', unk: '[UNK]', mask: '[MASK]' },
  bpe: { cls: '<s>', sep: '</s>', pad: '<pad>', unk: '<unk>', mask: '<mask>' },
  other: { cls: null, sep: null, pad: null, unk: null, mask: null },
};

const TRUNCATION_STRATEGIES: readonly TruncationStrategy[] = ['longest_first', 'only_first', 'only_second'];

/** transformers writes VERY_LARGE_INTEGER (1e30) as model_max_length for "no limit"; that large is not a limit. */
const SANE_MODEL_MAX_LENGTH = 1e6;
const DEFAULT_MAX_LENGTH = 512;
const MAX_TOKEN_ID = 0xffffffff;

/** A JSON-serialized byte-level decoder, as in Hugging Face's roberta-base tokenizer.json. */
const BYTE_LEVEL_DECODER = { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true };

/** What the model directory holds, resolved once at load. */
interface LoadedTokenizer {
  /** The pipeline in tokenizer.json form (truncation and padding removed). */
  spec: JsonObject;
  /** The file(s) it came from, for error messages. */
  source: string;
  family: TokenizerFamily;
  continuingSubwordPrefix: string | null;
  /** padding.pad_id of a tokenizer.json, used when no pad token is configured. */
  declaredPadId: number | null;
}

interface SpecialTokenSpec {
  content: string;
  leftStrip?: boolean;
  rightStrip?: boolean;
  singleWord?: boolean;
  normalized?: boolean;
}

/** A BERT / RoBERTa / tokenizer.json tokenizer with offsets, truncation and overflowing windows. */
export class TextTokenizer {
  /*
   * Two Rust tokenizers of the same pipeline, never mutated after load (no truncation, no padding), so concurrent
   * calls with different settings cannot race. Encoding goes as in tokenizers' own encode: #sequenceEncoder (the
   * pipeline without its post-processor) tokenizes each text, this class truncates (#postProcess), then #pipeline
   * post-processes. tokenizers' post-processor also runs when special tokens are off (RobertaProcessing trims
   * offsets), hence the second instance rather than #pipeline with addSpecialTokens false.
   */
  readonly #pipeline: tk.Tokenizer;
  readonly #sequenceEncoder: tk.Tokenizer;
  readonly #decoder: tk.Decoder | null;
  readonly #family: TokenizerFamily;
  readonly #continuingSubwordPrefix: string | null;
  readonly #specialTokens: Readonly<SpecialTokens>;
  readonly #padTokenId: number;
  readonly #clsTokenId: number | null;
  readonly #sepTokenId: number | null;
  readonly #maxLength: number;
  readonly #vocabSize: number;
  /** Tokens the post-processor adds around one text and around a pair. */
  readonly #specialTokenCounts: { single: number; pair: number };

  private constructor(
    loaded: LoadedTokenizer,
    tokenizers: { pipeline: tk.Tokenizer; sequenceEncoder: tk.Tokenizer },
    specialTokens: SpecialTokens,
    maxLength: number,
    specialTokenCounts: { single: number; pair: number },
  ) {
    const { pipeline } = tokenizers;
    this.#pipeline = pipeline;
    this.#sequenceEncoder = tokenizers.sequenceEncoder;
    this.#decoder = pipeline.getDecoder();
    this.#family = loaded.family;
    this.#continuingSubwordPrefix = loaded.continuingSubwordPrefix;
    this.#specialTokens = Object.freeze({ ...specialTokens });
    const idOf = (token: string | null): number | null => (token === null ? null : pipeline.tokenToId(token));
    // The pad id only fills positions the attention mask hides, so 0 is a safe last resort.
    this.#padTokenId = idOf(specialTokens.pad) ?? loaded.declaredPadId ?? 0;
    this.#clsTokenId = idOf(specialTokens.cls);
    this.#sepTokenId = idOf(specialTokens.sep);
    this.#maxLength = maxLength;
    // Cached: the binding builds the whole vocabulary map to count it.
    this.#vocabSize = pipeline.getVocabSize(true);
    this.#specialTokenCounts = specialTokenCounts;
  }

  /**
   * Loads the tokenizer of a Hugging Face model directory: tokenizer.json when present, else vocab.txt (BERT
   * WordPiece), else vocab.json + merges.txt (RoBERTa byte-level BPE), with the hints of tokenizer_config.json and
   * special_tokens_map.json. Rejects with E_BAD_INPUT, E_MODEL_NOT_FOUND or E_MODEL_LOAD.
   */
  static async fromDirectory(dir: string, options: TokenizerLoadOptions = {}): Promise<TextTokenizer> {
    if (typeof dir !== 'string' || dir === '') {
      throw badInput(`fromDirectory: dir must be a non-empty path string; got ${describe(dir)}`);
    }
    checkOptionsObject('fromDirectory', options);
    if (options.maxLength !== undefined) {
      checkPositiveInteger('fromDirectory', 'options.maxLength', options.maxLength);
    }

    const stat = await fs.promises.stat(dir).catch(() => null);
    if (!stat?.isDirectory()) {
      throw new TorchEncodersError(
        'E_MODEL_NOT_FOUND',
        `fromDirectory: ${dir} is not a directory; ` +
          `expected a model directory holding ${TOKENIZER_FILES_LOOKED_FOR}`,
      );
    }
    const config = (await readJsonObject(dir, 'tokenizer_config.json')) ?? {};
    const specialTokensMap = (await readJsonObject(dir, 'special_tokens_map.json')) ?? {};

    const loaded = await loadTokenizerFiles(dir, config, specialTokensMap);
    const tokenizers = instantiate(loaded);
    const specialTokens = resolveSpecialTokens(loaded.family, config, specialTokensMap);
    const maxLength = options.maxLength ?? configuredMaxLength(config) ?? DEFAULT_MAX_LENGTH;
    // Asking the post-processor is the one way that works for any tokenizer.json (Bert, Roberta, Template...).
    const [single, pair] = await Promise.all([
      tokenizers.pipeline.encode('', null),
      tokenizers.pipeline.encode('', ''),
    ]);
    return new TextTokenizer(loaded, tokenizers, specialTokens, maxLength, {
      single: single.getLength(),
      pair: pair.getLength(),
    });
  }

  get family(): TokenizerFamily {
    return this.#family;
  }

  /**
   * "##" for WordPiece, else null (also for BPE models whose prefix is empty). Hugging Face's token-classification
   * aggregation needs it to tell subwords from words.
   */
  get continuingSubwordPrefix(): string | null {
    return this.#continuingSubwordPrefix;
  }

  /** The id that fills padded positions: the pad token's, else tokenizer.json's padding.pad_id, else 0. */
  get padTokenId(): number {
    return this.#padTokenId;
  }

  /** [CLS] for WordPiece, <s> (RoBERTa's cls and bos) for byte-level BPE; null when absent. */
  get clsTokenId(): number | null {
    return this.#clsTokenId;
  }

  /** [SEP] for WordPiece, </s> (RoBERTa's sep and eos) for byte-level BPE; null when absent. */
  get sepTokenId(): number | null {
    return this.#sepTokenId;
  }

  get specialTokens(): Readonly<SpecialTokens> {
    return this.#specialTokens;
  }

  /** Default length limit of an encoding, special tokens included. */
  get maxLength(): number {
    return this.#maxLength;
  }

  /** Number of token ids the tokenizer can produce, added tokens included. */
  get vocabSize(): number {
    return this.#vocabSize;
  }

  /** Tokens addSpecialTokens adds: 2 around one BERT text, 3 around a BERT pair, 4 around a RoBERTa pair. */
  get specialTokenCounts(): Readonly<{ single: number; pair: number }> {
    return this.#specialTokenCounts;
  }

  /**
   * Encodes each input, truncated to maxLength tokens special tokens included, without padding (the caller pads
   * per micro-batch). Rejects with E_BAD_INPUT when an input or option is malformed, or when an 'only_first' /
   * 'only_second' truncation cannot make an input fit.
   */
  async encodeBatch(inputs: readonly TokenizerInput[], options: EncodeOptions = {}): Promise<Encoding[]> {
    const method = 'encodeBatch';
    if (!Array.isArray(inputs)) {
      throw badInput(
        `${method}: inputs must be an array of strings or [text, textPair] pairs; got ${describe(inputs)}`,
      );
    }
    const pairs = inputs.map((input: unknown, index) => checkInput(method, `inputs[${index}]`, input));
    checkOptionsObject(method, options);
    const maxLength = options.maxLength ?? this.#maxLength;
    checkPositiveInteger(method, 'options.maxLength', maxLength);
    const truncation = checkTruncation(method, options.truncation);
    const addSpecialTokens = options.addSpecialTokens ?? true;
    if (typeof addSpecialTokens !== 'boolean') {
      throw badInput(
        `${method}: options.addSpecialTokens must be a boolean; got ${describe(addSpecialTokens)}`,
      );
    }

    const rooms = pairs.map(([, textPair]) =>
      this.#room(method, maxLength, addSpecialTokens, textPair !== null),
    );

    const sequences = await this.#encodeSequences(pairs);
    return pairs.map(([text, textPair], index) => {
      const [first, second] = sequences[index]!;
      const room = rooms[index]!;
      const plan = planTruncation(first.getLength(), second?.getLength() ?? null, room, truncation);
      if (typeof plan === 'string') {
        throw badInput(
          `${method}: inputs[${index}] ${describeTruncationFailure(plan, truncation, maxLength)}`,
        );
      }
      // stride 0: the windows past the first are dropped, so each encoding is just the truncated input.
      const encoding = this.#postProcess(first, second, plan, 0, addSpecialTokens);
      return toEncoding(encoding, text, textPair);
    });
  }

  /**
   * Encodes `input` into every window of at most maxLength tokens (special tokens included) needed to cover it,
   * consecutive windows sharing `stride` tokens of the truncated text: the first window, then the overflowing
   * ones in order, as Hugging Face's `return_overflowing_tokens=True, stride=...`. Offsets index the original
   * text.
   * Rejects with E_BAD_INPUT when the input or an option is malformed or the windows cannot be formed.
   */
  async encodeWithOverflow(input: TokenizerInput, options: OverflowOptions): Promise<Encoding[]> {
    const method = 'encodeWithOverflow';
    const [text, textPair] = checkInput(method, 'input', input);
    if (!isObject(options)) {
      throw badInput(`${method}: options must be an object { maxLength, stride }; got ${describe(options)}`);
    }
    checkPositiveInteger(method, 'options.maxLength', options.maxLength);
    if (!Number.isSafeInteger(options.stride) || options.stride < 0) {
      throw badInput(
        `${method}: options.stride must be a non-negative integer; got ${describe(options.stride)}`,
      );
    }
    const { maxLength, stride } = options;
    const truncation = checkTruncation(method, options.truncation);

    const [sequences] = await this.#encodeSequences([[text, textPair]]);
    const [first, second] = sequences!;
    const room = this.#room(method, maxLength, true, textPair !== null);
    const plan = planTruncation(first.getLength(), second?.getLength() ?? null, room, truncation);
    if (typeof plan === 'string') {
      throw badInput(`${method}: input ${describeTruncationFailure(plan, truncation, maxLength)}`);
    }
    // tokenizers panics (and aborts the process) on a stride that does not fit in a window: refuse it first.
    for (const [budget, length, which] of [
      [plan.first, first.getLength(), textPair === null ? 'text' : 'first text'],
      [plan.second, second?.getLength() ?? 0, 'second text'],
    ] as const) {
      if (budget !== null && budget > 0 && budget < length && stride >= budget) {
        throw badInput(
          `${method}: options.stride must be smaller than the ${budget} tokens of the ${which} that each ` +
            `window of maxLength ${maxLength} holds; got ${stride}`,
        );
      }
    }
    const encoding = this.#postProcess(first, second, plan, stride, true);
    const [main, ...overflowing] = [encoding, ...encoding.getOverflowing()].map((window) =>
      toEncoding(window, text, textPair),
    );
    // Post-processors set type ids on the main window only; overflowing windows keep those of the encodings they
    // were cut from. tokenizers encodes a second text with type id 1 where #sequenceEncoder gives 0, so give every
    // window the type ids the post-processor chose for each text (as tokenizers' own pipeline ends up with).
    const typeIdOfSequence = [0, 1].map(
      (sequenceId) => main!.typeIds[main!.sequenceIds.indexOf(sequenceId)] ?? sequenceId,
    );
    for (const window of overflowing) {
      window.typeIds = window.typeIds.map((typeId, index) => {
        const sequenceId = window.sequenceIds[index];
        return sequenceId === null || sequenceId === undefined ? typeId : typeIdOfSequence[sequenceId]!;
      });
    }
    return [main!, ...overflowing];
  }

  /**
   * Turns ids back into text with the tokenizer's decoder (WordPiece: "##" glued, spaces before punctuation
   * cleaned up; byte-level BPE: the exact bytes). Rejects with E_BAD_INPUT.
   */
  async decode(ids: readonly number[], skipSpecialTokens = true): Promise<string> {
    if (!Array.isArray(ids)) {
      throw badInput(`decode: ids must be an array of token ids; got ${describe(ids)}`);
    }
    ids.forEach((id: unknown, index) => {
      if (typeof id !== 'number' || !Number.isInteger(id) || id < 0 || id > MAX_TOKEN_ID) {
        throw badInput(
          `decode: ids[${index}] must be an integer token id from 0 to ${MAX_TOKEN_ID}; got ${describe(id)}`,
        );
      }
    });
    if (typeof skipSpecialTokens !== 'boolean') {
      throw badInput(`decode: skipSpecialTokens must be a boolean; got ${describe(skipSpecialTokens)}`);
    }
    try {
      return await this.#pipeline.decode([...ids], skipSpecialTokens);
    } catch (error) {
      throw internalError('decode', error);
    }
  }

  /**
   * Joins tokens into text as Hugging Face's fast tokenizers' convert_tokens_to_string does: the tokenizer's own
   * decoder (WordPiece: join with spaces, glue "##" continuations, clean up spaces before punctuation; byte-level
   * BPE: map the byte alphabet back to UTF-8). Synchronous: it is cheap and runs per entity group.
   */
  tokensToString(tokens: readonly string[]): string {
    if (!Array.isArray(tokens)) {
      throw badInput(`tokensToString: tokens must be an array of strings; got ${describe(tokens)}`);
    }
    tokens.forEach((token: unknown, index) => {
      if (typeof token !== 'string') {
        throw badInput(`tokensToString: tokens[${index}] must be a string; got ${describe(token)}`);
      }
    });
    // tokenizers' own fallback when a tokenizer has no decoder.
    return this.#decoder === null ? tokens.join(' ') : this.#decoder.decode([...tokens]);
  }

  /** Encodes every text of every input, without special tokens or truncation, in one call off the event loop. */
  async #encodeSequences(
    inputs: ReadonlyArray<readonly [string, string | null]>,
  ): Promise<Array<[tk.Encoding, tk.Encoding | null]>> {
    const texts = inputs.flatMap(([text, textPair]) => (textPair === null ? [text] : [text, textPair]));
    let encodings: tk.Encoding[];
    try {
      // Each text alone, as tokenizers itself encodes a pair (each text, then the post-processor joins them).
      encodings =
        texts.length === 0 ? [] : await this.#sequenceEncoder.encodeBatch(texts, { addSpecialTokens: false });
    } catch (error) {
      throw internalError('encode', error);
    }
    let next = 0;
    return inputs.map(([, textPair]) => {
      const first = encodings[next++]!;
      return [first, textPair === null ? null : encodings[next++]!];
    });
  }

  /** Tokens of text an encoding may hold within maxLength. */
  #room(method: string, maxLength: number, addSpecialTokens: boolean, isPair: boolean): number {
    const specialCount = addSpecialTokens ? this.#specialTokenCounts[isPair ? 'pair' : 'single'] : 0;
    if (maxLength <= specialCount) {
      throw badInput(
        `${method}: options.maxLength must be greater than ${specialCount}, the number of special tokens added ` +
          `to ${isPair ? 'a text pair' : 'a text'}; got ${maxLength}`,
      );
    }
    return maxLength - specialCount;
  }

  /**
   * Truncates the encodings to the plan (splitting the rest into overflowing windows) and adds the special tokens.
   * This is tokenizers' own post_process minus its truncation step, which since 0.23.1 stops tokenizing at
   * max_length and so loses overflowing windows (huggingface/tokenizers#2091).
   */
  #postProcess(
    first: tk.Encoding,
    second: tk.Encoding | null,
    plan: TruncationPlan,
    stride: number,
    addSpecialTokens: boolean,
  ): tk.Encoding {
    // The binding's truncate defaults to the left; Hugging Face truncates on the right.
    if (plan.first < first.getLength()) first.truncate(plan.first, stride, 'right');
    if (second !== null && plan.second !== null && plan.second < second.getLength()) {
      second.truncate(plan.second, stride, 'right');
    }
    try {
      return this.#pipeline.postProcess(first, second, addSpecialTokens);
    } catch (error) {
      throw internalError('encode', error);
    }
  }
}

const TOKENIZER_FILES_LOOKED_FOR =
  'tokenizer.json, or vocab.txt (WordPiece), or vocab.json + merges.txt (byte-level BPE)';

async function loadTokenizerFiles(
  dir: string,
  config: JsonObject,
  specialTokensMap: JsonObject,
): Promise<LoadedTokenizer> {
  const exists = (name: string): Promise<boolean> =>
    fs.promises.stat(path.join(dir, name)).then(
      (stat) => stat.isFile(),
      () => false,
    );
  const [hasTokenizerJson, hasVocabTxt, hasVocabJson, hasMerges] = await Promise.all(
    ['tokenizer.json', 'vocab.txt', 'vocab.json', 'merges.txt'].map(exists),
  );
  if (hasTokenizerJson) return loadTokenizerJson(path.join(dir, 'tokenizer.json'));
  if (hasVocabTxt) return buildWordPiece(dir, config, specialTokensMap);
  if (hasVocabJson && hasMerges) return buildByteLevelBpe(dir, config, specialTokensMap);
  const partial = hasVocabJson
    ? ' (found vocab.json but not merges.txt)'
    : hasMerges
      ? ' (found merges.txt but not vocab.json)'
      : '';
  throw new TorchEncodersError(
    'E_MODEL_NOT_FOUND',
    `fromDirectory: no tokenizer in ${dir}${partial}; expected ${TOKENIZER_FILES_LOOKED_FOR}`,
  );
}

async function loadTokenizerJson(file: string): Promise<LoadedTokenizer> {
  const text = await fs.promises.readFile(file, 'utf8');
  let spec: JsonObject;
  try {
    const parsed: unknown = JSON.parse(text);
    if (!isObject(parsed)) throw new Error(`expected a JSON object, got ${describe(parsed)}`);
    spec = parsed;
  } catch (error) {
    throw new TorchEncodersError('E_MODEL_LOAD', `fromDirectory: cannot load ${file}: ${messageOf(error)}`, {
      cause: error,
    });
  }
  const model = isObject(spec.model) ? spec.model : {};
  const prefix = model.continuing_subword_prefix;
  const padding = isObject(spec.padding) ? spec.padding : null;
  return {
    spec,
    source: file,
    family: familyOf(model, spec),
    // Hugging Face treats an empty prefix as none (token-classification checks it for truthiness).
    continuingSubwordPrefix: typeof prefix === 'string' && prefix !== '' ? prefix : null,
    declaredPadId: typeof padding?.pad_id === 'number' ? padding.pad_id : null,
  };
}

/** The Rust tokenizers of a loaded pipeline: whole, and without its post-processor. */
function instantiate(loaded: LoadedTokenizer): { pipeline: tk.Tokenizer; sequenceEncoder: tk.Tokenizer } {
  // A tokenizer.json may carry truncation and padding; this class applies its own, per call.
  const spec = { ...loaded.spec, truncation: null, padding: null };
  try {
    return {
      pipeline: tk.Tokenizer.fromString(JSON.stringify(spec)),
      sequenceEncoder: tk.Tokenizer.fromString(JSON.stringify({ ...spec, post_processor: null })),
    };
  } catch (error) {
    throw new TorchEncodersError(
      'E_MODEL_LOAD',
      `fromDirectory: cannot load ${loaded.source}: ${messageOf(error)}`,
      {
        cause: error,
      },
    );
  }
}

/**
 * A built tokenizer in tokenizer.json form. The Node binding can only save to a file, and it is the way to get
 * both tokenizers of the pipeline (see TextTokenizer) and to add a ByteLevel decoder, which the binding (0.23.2)
 * has no constructor for.
 */
async function serialize(tokenizer: tk.Tokenizer): Promise<JsonObject> {
  const tempDir = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'torch-encoders-tokenizer-'));
  try {
    const file = path.join(tempDir, 'tokenizer.json');
    tokenizer.save(file);
    return JSON.parse(await fs.promises.readFile(file, 'utf8')) as JsonObject;
  } finally {
    await fs.promises.rm(tempDir, { recursive: true, force: true });
  }
}

function familyOf(model: JsonObject, spec: JsonObject): TokenizerFamily {
  // Older tokenizer.json files (bert-base-uncased's among them) have no model.type: tokenizers recognises the
  // model by its fields, and so does this.
  const type =
    typeof model.type === 'string'
      ? model.type
      : 'merges' in model
        ? 'BPE'
        : 'max_input_chars_per_word' in model
          ? 'WordPiece'
          : null;
  if (type === 'WordPiece') return 'wordpiece';
  return type === 'BPE' && usesByteLevel(spec) ? 'bpe' : 'other';
}

/** Whether a tokenizer.json's pre-tokenizer or decoder is ByteLevel (possibly inside a Sequence). */
function usesByteLevel(spec: JsonObject): boolean {
  const isByteLevel = (component: unknown): boolean => {
    if (!isObject(component)) return false;
    if (component.type === 'ByteLevel') return true;
    const children = component.pretokenizers ?? component.decoders;
    return Array.isArray(children) && children.some(isByteLevel);
  };
  return isByteLevel(spec.pre_tokenizer) || isByteLevel(spec.decoder);
}

/** vocab.txt: the pipeline of Hugging Face's BertTokenizerFast, from the package's builders. */
async function buildWordPiece(
  dir: string,
  config: JsonObject,
  specialTokensMap: JsonObject,
): Promise<LoadedTokenizer> {
  const vocabFile = path.join(dir, 'vocab.txt');
  const specials = resolveSpecialTokenSpecs('wordpiece', config, specialTokensMap);
  const lowercase = booleanHint(config, 'do_lower_case') ?? true;
  let model: tk.Model;
  try {
    model = await tk.WordPiece.fromFile(vocabFile, {
      unkToken: specials.unk?.content ?? '[UNK]',
      continuingSubwordPrefix: '##',
      maxInputCharsPerWord: 100,
    });
  } catch (error) {
    throw new TorchEncodersError(
      'E_MODEL_LOAD',
      `fromDirectory: cannot load ${vocabFile}: ${messageOf(error)}`,
      {
        cause: error,
      },
    );
  }
  const tokenizer = new tk.Tokenizer(model);
  tokenizer.setNormalizer(
    tk.bertNormalizer({
      cleanText: true,
      handleChineseChars: booleanHint(config, 'tokenize_chinese_chars') ?? true,
      // As BertTokenizer: strip_accents unset follows do_lower_case.
      stripAccents: booleanHint(config, 'strip_accents') ?? lowercase,
      lowercase,
    }),
  );
  tokenizer.setPreTokenizer(tk.bertPreTokenizer());
  addSpecialTokens(tokenizer, specials);
  const cls = requiredSpecialToken(tokenizer, specials, 'cls', vocabFile);
  const sep = requiredSpecialToken(tokenizer, specials, 'sep', vocabFile);
  tokenizer.setPostProcessor(tk.bertProcessing(sep, cls));
  tokenizer.setDecoder(tk.wordPieceDecoder('##', true));
  return {
    spec: await serialize(tokenizer),
    source: vocabFile,
    family: 'wordpiece',
    continuingSubwordPrefix: '##',
    declaredPadId: null,
  };
}

/** vocab.json + merges.txt: the pipeline of Hugging Face's RobertaTokenizerFast, from the package's builders. */
async function buildByteLevelBpe(
  dir: string,
  config: JsonObject,
  specialTokensMap: JsonObject,
): Promise<LoadedTokenizer> {
  const vocabFile = path.join(dir, 'vocab.json');
  const mergesFile = path.join(dir, 'merges.txt');
  const specials = resolveSpecialTokenSpecs('bpe', config, specialTokensMap);
  const addPrefixSpace = booleanHint(config, 'add_prefix_space') ?? false;
  let model: tk.Model;
  try {
    model = await tk.BPE.fromFile(vocabFile, mergesFile, {
      continuingSubwordPrefix: '',
      endOfWordSuffix: '',
    });
  } catch (error) {
    throw new TorchEncodersError(
      'E_MODEL_LOAD',
      `fromDirectory: cannot load ${vocabFile} + ${mergesFile}: ${messageOf(error)}`,
      { cause: error },
    );
  }
  const built = new tk.Tokenizer(model);
  built.setPreTokenizer(tk.byteLevelPreTokenizer(addPrefixSpace, true));
  addSpecialTokens(built, specials);
  const cls = requiredSpecialToken(built, specials, 'cls', vocabFile);
  const sep = requiredSpecialToken(built, specials, 'sep', vocabFile);
  built.setPostProcessor(tk.robertaProcessing(sep, cls, true, addPrefixSpace));
  return {
    spec: { ...(await serialize(built)), decoder: BYTE_LEVEL_DECODER },
    source: `${vocabFile} + ${mergesFile}`,
    family: 'bpe',
    continuingSubwordPrefix: null,
    declaredPadId: null,
  };
}

function addSpecialTokens(
  tokenizer: tk.Tokenizer,
  specials: Partial<Record<SpecialRole, SpecialTokenSpec>>,
): void {
  const tokens = SPECIAL_ROLES.flatMap((role) => {
    const spec = specials[role];
    if (spec === undefined) return [];
    const { content, ...flags } = spec;
    return [new tk.AddedToken(content, true, flags)];
  });
  tokenizer.addAddedTokens(tokens);
}

function requiredSpecialToken(
  tokenizer: tk.Tokenizer,
  specials: Partial<Record<SpecialRole, SpecialTokenSpec>>,
  role: 'cls' | 'sep',
  file: string,
): [string, number] {
  const content = specials[role]?.content;
  const id = content === undefined ? null : tokenizer.tokenToId(content);
  if (content === undefined || id === null) {
    throw new TorchEncodersError(
      'E_MODEL_LOAD',
      `fromDirectory: cannot load ${file}: it has no ${role} token`,
    );
  }
  return [content, id];
}

/**
 * Special token strings: the family's defaults, overridden by tokenizer_config.json, then by
 * special_tokens_map.json (as transformers does).
 */
function resolveSpecialTokens(
  family: TokenizerFamily,
  config: JsonObject,
  specialTokensMap: JsonObject,
): SpecialTokens {
  const specs = resolveSpecialTokenSpecs(family, config, specialTokensMap);
  const contentOf = (role: SpecialRole): string | null => specs[role]?.content ?? null;
  return {
    cls: contentOf('cls'),
    sep: contentOf('sep'),
    pad: contentOf('pad'),
    unk: contentOf('unk'),
    mask: contentOf('mask'),
  };
}

function resolveSpecialTokenSpecs(
  family: TokenizerFamily,
  config: JsonObject,
  specialTokensMap: JsonObject,
): Partial<Record<SpecialRole, SpecialTokenSpec>> {
  const specs: Partial<Record<SpecialRole, SpecialTokenSpec>> = {};
  for (const role of SPECIAL_ROLES) {
    const key = `${role}_token`;
    const fallback = FAMILY_SPECIAL_TOKENS[family][role];
    const spec =
      parseSpecialToken(specialTokensMap[key]) ??
      parseSpecialToken(config[key]) ??
      (fallback === null ? null : { content: fallback });
    if (spec === null) continue;
    // Newer tokenizer_config.json files keep the flags in added_tokens_decoder and the role as a plain string.
    const declared = Object.values(isObject(config.added_tokens_decoder) ? config.added_tokens_decoder : {})
      .map(parseSpecialToken)
      .find((token) => token?.content === spec.content);
    // RobertaTokenizer's <mask> swallows the space before it (lstrip), so "a <mask>" encodes as in pretraining.
    const familyFlags = family === 'bpe' && role === 'mask' ? { leftStrip: true } : {};
    specs[role] = { ...familyFlags, ...declared, ...spec };
  }
  return specs;
}

/** A special token as tokenizer configs write it: a string, or an AddedToken object { content, lstrip, ... }. */
function parseSpecialToken(value: unknown): SpecialTokenSpec | null {
  if (typeof value === 'string') return { content: value };
  if (!isObject(value) || typeof value.content !== 'string') return null;
  const spec: SpecialTokenSpec = { content: value.content };
  if (typeof value.lstrip === 'boolean') spec.leftStrip = value.lstrip;
  if (typeof value.rstrip === 'boolean') spec.rightStrip = value.rstrip;
  if (typeof value.single_word === 'boolean') spec.singleWord = value.single_word;
  if (typeof value.normalized === 'boolean') spec.normalized = value.normalized;
  return spec;
}

function configuredMaxLength(config: JsonObject): number | null {
  const value = config.model_max_length;
  return typeof value === 'number' &&
    Number.isSafeInteger(value) &&
    value > 0 &&
    value < SANE_MODEL_MAX_LENGTH
    ? value
    : null;
}

function booleanHint(config: JsonObject, key: string): boolean | null {
  const value = config[key];
  return typeof value === 'boolean' ? value : null;
}

/** Reads dir/name as a JSON object; null when the file is absent. */
async function readJsonObject(dir: string, name: string): Promise<JsonObject | null> {
  const file = path.join(dir, name);
  let text: string;
  try {
    text = await fs.promises.readFile(file, 'utf8');
  } catch (error) {
    if ((error as { code?: unknown }).code === 'ENOENT') return null;
    throw new TorchEncodersError('E_MODEL_LOAD', `fromDirectory: cannot read ${file}: ${messageOf(error)}`, {
      cause: error,
    });
  }
  try {
    const parsed: unknown = JSON.parse(text);
    if (!isObject(parsed)) throw new Error(`expected a JSON object, got ${describe(parsed)}`);
    return parsed;
  } catch (error) {
    throw new TorchEncodersError('E_MODEL_LOAD', `fromDirectory: cannot parse ${file}: ${messageOf(error)}`, {
      cause: error,
    });
  }
}

/** Tokens each text keeps in the first window; the rest goes to overflowing windows. */
interface TruncationPlan {
  first: number;
  /** null for a single text. */
  second: number | null;
}

type TruncationFailure = 'second-missing' | 'first-too-long' | 'second-too-long';

/**
 * How many tokens each text keeps within `room` (maxLength minus special tokens): tokenizers' truncate_encodings
 * (tokenizers/src/utils/truncation.rs), computed here so that truncation happens per call on an unmutated
 * tokenizer.
 */
function planTruncation(
  firstLength: number,
  secondLength: number | null,
  room: number,
  strategy: TruncationStrategy,
): TruncationPlan | TruncationFailure {
  const total = firstLength + (secondLength ?? 0);
  if (total <= room) return { first: firstLength, second: secondLength };
  const toRemove = total - room;
  switch (strategy) {
    case 'longest_first': {
      if (secondLength === null) return { first: room, second: null };
      // Only the longer text is cut while the shorter fits in half the room; past that both get half.
      let shorter = Math.min(firstLength, secondLength);
      let longer = shorter > room ? shorter : Math.max(shorter, room - shorter);
      if (shorter + longer > room) {
        shorter = Math.floor(room / 2);
        longer = shorter + (room % 2);
      }
      return firstLength > secondLength
        ? { first: longer, second: shorter }
        : { first: shorter, second: longer };
    }
    case 'only_first':
      return firstLength > toRemove
        ? { first: firstLength - toRemove, second: secondLength }
        : 'second-too-long';
    case 'only_second':
      if (secondLength === null) return 'second-missing';
      return secondLength > toRemove
        ? { first: firstLength, second: secondLength - toRemove }
        : 'first-too-long';
  }
}

function describeTruncationFailure(
  failure: TruncationFailure,
  strategy: TruncationStrategy,
  maxLength: number,
): string {
  const cannotFit = `cannot fit in maxLength ${maxLength} with truncation '${strategy}'`;
  switch (failure) {
    case 'second-missing':
      return (
        `is a single text longer than maxLength ${maxLength}, but truncation '${strategy}' only truncates ` +
        'the second text of a [text, textPair] pair'
      );
    case 'first-too-long':
      return `${cannotFit}: its first text alone leaves no room for the second`;
    case 'second-too-long':
      return `${cannotFit}: its second text alone leaves no room for the first`;
  }
}

/** Converts a binding encoding to plain data, with offsets in UTF-16 code units of the original strings. */
function toEncoding(encoding: tk.Encoding, text: string, textPair: string | null): Encoding {
  const result = {} as Encoding;
  // Each field crosses the binding only when first read: classification reads ids, type ids and the mask of
  // every text, and reading tokens and offsets too took most of the tokenizer's time.
  defineLazily(result, 'ids', () => encoding.getIds());
  defineLazily(result, 'typeIds', () => encoding.getTypeIds());
  defineLazily(result, 'attentionMask', () => encoding.getAttentionMask());
  defineLazily(result, 'specialTokensMask', () => encoding.getSpecialTokensMask());
  defineLazily(result, 'tokens', () => encoding.getTokens());
  defineLazily(result, 'offsets', () => {
    const sequenceIds = result.sequenceIds;
    const codePointToUtf16 = [utf16IndexMap(text), textPair === null ? null : utf16IndexMap(textPair)];
    return encoding.getOffsets().map(([start = 0, end = 0], index): [number, number] => {
      const sequenceId = sequenceIds[index];
      const indexMap = sequenceId === null || sequenceId === undefined ? null : codePointToUtf16[sequenceId];
      return indexMap ? [indexMap[start] ?? start, indexMap[end] ?? end] : [start, end];
    });
  });
  defineLazily(result, 'wordIds', () => encoding.getWordIds().map((id) => id ?? null));
  defineLazily(result, 'sequenceIds', () => encoding.getSequenceIds().map((id) => id ?? null));
  return result;
}

/**
 * An enumerable property computed on first read and then stored as a plain writable value, so that the object
 * still spreads, serializes and compares like a plain one.
 */
function defineLazily<K extends keyof Encoding>(target: Encoding, key: K, compute: () => Encoding[K]): void {
  const store = (value: Encoding[K]): void => {
    Object.defineProperty(target, key, { value, writable: true, enumerable: true, configurable: true });
  };
  Object.defineProperty(target, key, {
    enumerable: true,
    configurable: true,
    get() {
      const value = compute();
      store(value);
      return value;
    },
    set: store,
  });
}

/**
 * The binding reports offsets in Unicode scalar values (Rust chars: it calls encode_char_offsets); JS strings
 * index UTF-16 code units. Maps code point index -> UTF-16 index (length = code points + 1); null when the text
 * has no surrogates and both indices agree. A lone surrogate reaches Rust as one U+FFFD: one char either way.
 */
function utf16IndexMap(text: string): Uint32Array | null {
  if (!/[\uD800-\uDFFF]/.test(text)) return null;
  const map: number[] = [];
  for (let utf16Index = 0; utf16Index < text.length;) {
    map.push(utf16Index);
    const code = text.charCodeAt(utf16Index);
    const next = text.charCodeAt(utf16Index + 1);
    const isSurrogatePair = code >= 0xd800 && code <= 0xdbff && next >= 0xdc00 && next <= 0xdfff;
    utf16Index += isSurrogatePair ? 2 : 1;
  }
  map.push(text.length);
  return Uint32Array.from(map);
}

function checkInput(method: string, name: string, input: unknown): [string, string | null] {
  if (typeof input === 'string') return [input, null];
  if (
    Array.isArray(input) &&
    input.length === 2 &&
    typeof input[0] === 'string' &&
    typeof input[1] === 'string'
  ) {
    return [input[0], input[1]];
  }
  throw badInput(`${method}: ${name} must be a string or a [text, textPair] pair; got ${describe(input)}`);
}

function checkOptionsObject(method: string, options: unknown): void {
  if (options !== undefined && !isObject(options)) {
    throw badInput(`${method}: options must be an object; got ${describe(options)}`);
  }
}

function checkPositiveInteger(method: string, name: string, value: unknown): void {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
    throw badInput(`${method}: ${name} must be a positive integer; got ${describe(value)}`);
  }
}

function checkTruncation(method: string, value: unknown): TruncationStrategy {
  if (value === undefined) return 'longest_first';
  if (!TRUNCATION_STRATEGIES.includes(value as TruncationStrategy)) {
    throw badInput(
      `${method}: options.truncation must be one of ${TRUNCATION_STRATEGIES.map((s) => `'${s}'`).join(', ')}; ` +
        `got ${describe(value)}`,
    );
  }
  return value as TruncationStrategy;
}

function badInput(message: string): TorchEncodersError {
  return new TorchEncodersError('E_BAD_INPUT', message);
}

/** A binding failure on input this class already validated: a bug here or in tokenizers. */
function internalError(step: string, error: unknown): TorchEncodersError {
  return new TorchEncodersError('E_INTERNAL', `${step}: tokenizers failed: ${messageOf(error)}`, {
    cause: error,
  });
}

function messageOf(error: unknown): string {
  const message = (error as { message?: unknown } | null)?.message;
  return typeof message === 'string' ? message : String(error);
}

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Names what arrived, for error messages: `the number 5`, `null`, `an array [string, number]`. */
function describe(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (typeof value === 'string') {
    const shown = value.length > 40 ? `${value.slice(0, 40)}...` : value;
    return `the string ${JSON.stringify(shown)}`;
  }
  if (typeof value === 'number' || typeof value === 'boolean') return `the ${typeof value} ${String(value)}`;
  if (typeof value === 'bigint') return `the bigint ${value}n`;
  if (typeof value === 'symbol' || typeof value === 'function') return `a ${typeof value}`;
  if (Array.isArray(value)) {
    if (value.length > 4) return `an array of length ${value.length}`;
    const itemTypes = value.map((item) =>
      item === null ? 'null' : Array.isArray(item) ? 'array' : typeof item,
    );
    return `an array [${itemTypes.join(', ')}]`;
  }
  if (ArrayBuffer.isView(value)) return `a ${value.constructor.name}`;
  const name = (value as { constructor?: { name?: unknown } }).constructor?.name;
  return typeof name === 'string' && name !== 'Object' ? `an instance of ${name}` : 'an object';
}
