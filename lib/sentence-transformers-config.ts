/**
 * What a sentence-transformers model directory says about how its embeddings are made: modules.json
 * (the module chain), the Pooling module's config.json, sentence_bert_config.json (max_seq_length,
 * do_lower_case) and config_sentence_transformers.json (a default prompt). The feature-extraction
 * pipeline takes its default pooling and normalisation from it, so that a directory saved by
 * sentence-transformers embeds as `SentenceTransformer(dir).encode(texts)` does.
 * Read the way sentence-transformers 5.x reads them (a missing pooling_mode_* key takes Pooling's
 * constructor default); anything it would reject, or that this library cannot reproduce, is named.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { TorchEncodersError } from './errors';
import { describeValue } from './validate';

export const MODULES_FILE = 'modules.json';
export const SENTENCE_BERT_CONFIG_FILE = 'sentence_bert_config.json';
export const SENTENCE_TRANSFORMERS_CONFIG_FILE = 'config_sentence_transformers.json';

/** sentence-transformers' Pooling modes (Pooling.POOLING_MODES), in its own names. */
export type SentenceTransformersPoolingMode =
  'cls' | 'lasttoken' | 'max' | 'mean' | 'mean_sqrt_len_tokens' | 'weightedmean';

/** The modes this library pools the same way (lib/tasks/pooling.ts). */
export type SupportedPoolingMode = 'mean' | 'cls' | 'max';

export interface SentenceTransformersConfig {
  /**
   * The Pooling module's modes, in sentence-transformers' order (cls, mean, max, mean_sqrt_len_tokens,
   * weightedmean, lasttoken). More than one means it concatenates their vectors.
   */
  poolingModes: SentenceTransformersPoolingMode[];
  /** A Normalize module follows the pooling. */
  normalize: boolean;
  /** sentence_bert_config.json's max_seq_length: inputs are truncated to it. Undefined when not given. */
  maxSeqLength: number | undefined;
  /** sentence_bert_config.json's do_lower_case: texts are lowercased before tokenization. */
  doLowerCase: boolean;
  /** Modules after the Transformer other than Pooling and Normalize (Dense, LayerNorm, ...), by type. */
  otherModules: string[];
  /** config_sentence_transformers.json's default_prompt_name, which encode() prepends by default. */
  defaultPromptName: string | undefined;
}

/** Pooling's config keys for each mode, with its constructor's default when the key is absent. */
const MODE_KEYS: readonly [SentenceTransformersPoolingMode, string, boolean][] = [
  ['cls', 'pooling_mode_cls_token', false],
  ['mean', 'pooling_mode_mean_tokens', true],
  ['max', 'pooling_mode_max_tokens', false],
  ['mean_sqrt_len_tokens', 'pooling_mode_mean_sqrt_len_tokens', false],
  ['weightedmean', 'pooling_mode_weightedmean_tokens', false],
  ['lasttoken', 'pooling_mode_lasttoken', false],
];
const MODES = MODE_KEYS.map(([mode]) => mode);
const SUPPORTED: readonly SentenceTransformersPoolingMode[] = ['mean', 'cls', 'max'];

/** `sentence_transformers.models.Pooling`, and the module-qualified `...models.Pooling.Pooling` some files use. */
function moduleKind(type: string): 'Transformer' | 'Pooling' | 'Normalize' | undefined {
  const match = /^sentence_transformers\.models\.(Transformer|Pooling|Normalize)(?:\.\1)?$/.exec(type);
  return match?.[1] as 'Transformer' | 'Pooling' | 'Normalize' | undefined;
}

function loadError(dir: string, file: string, message: string): TorchEncodersError {
  return new TorchEncodersError('E_MODEL_LOAD', `${file}: ${message} (${path.join(dir, file)})`);
}

/** The file's JSON, or undefined when it does not exist. */
function readJson(dir: string, file: string): unknown {
  const full = path.join(dir, file);
  let text: string;
  try {
    text = fs.readFileSync(full, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw loadError(dir, file, `cannot be read: ${(error as Error).message}`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw loadError(dir, file, `not valid JSON: ${(error as Error).message}`);
  }
}

function readObject(dir: string, file: string): Record<string, unknown> | undefined {
  const value = readJson(dir, file);
  if (value === undefined) return undefined;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw loadError(dir, file, `expected a JSON object; got ${describeValue(value)}`);
  }
  return value as Record<string, unknown>;
}

export interface SentenceBertConfig {
  maxSeqLength: number | undefined;
  doLowerCase: boolean;
}

/**
 * Reads `dir`/sentence_bert_config.json (max_seq_length, do_lower_case); undefined when absent.
 * Throws E_MODEL_LOAD naming the field when one has the wrong type.
 */
export function readSentenceBertConfig(dir: string): SentenceBertConfig | undefined {
  const file = SENTENCE_BERT_CONFIG_FILE;
  const config = readObject(dir, file);
  if (config === undefined) return undefined;
  const maxSeqLength = config.max_seq_length;
  // sentence-transformers passes null on to the tokenizer as "no max_length": the model's own limit.
  if (
    maxSeqLength !== undefined &&
    maxSeqLength !== null &&
    (typeof maxSeqLength !== 'number' || !Number.isInteger(maxSeqLength) || maxSeqLength < 2)
  ) {
    throw loadError(
      dir,
      file,
      `max_seq_length must be an integer >= 2 or null; got ${describeValue(maxSeqLength)}`,
    );
  }
  const doLowerCase = config.do_lower_case ?? false;
  if (typeof doLowerCase !== 'boolean') {
    throw loadError(dir, file, `do_lower_case must be true or false; got ${describeValue(doLowerCase)}`);
  }
  return { maxSeqLength: (maxSeqLength ?? undefined) as number | undefined, doLowerCase };
}

function readPoolingModes(dir: string, poolingPath: string): SentenceTransformersPoolingMode[] {
  const file = path.posix.join(poolingPath, 'config.json');
  const config = readObject(dir, file);
  if (config === undefined) {
    throw loadError(dir, file, `missing: modules.json lists a Pooling module at '${poolingPath}'`);
  }
  const width = config.word_embedding_dimension;
  if (typeof width !== 'number' || !Number.isInteger(width) || width < 1) {
    throw loadError(
      dir,
      file,
      `word_embedding_dimension must be a positive integer; got ${describeValue(width)}`,
    );
  }
  // Pooling(pooling_mode="cls") overrides every pooling_mode_* flag, as in sentence-transformers.
  const byName = config.pooling_mode;
  if (byName !== undefined && byName !== null) {
    const mode = typeof byName === 'string' ? byName.toLowerCase() : undefined;
    if (mode === undefined || !MODES.includes(mode as SentenceTransformersPoolingMode)) {
      throw loadError(
        dir,
        file,
        `pooling_mode must be one of ${MODES.map((m) => `'${m}'`).join(', ')}; got ${describeValue(byName)}`,
      );
    }
    return [mode as SentenceTransformersPoolingMode];
  }
  const modes: SentenceTransformersPoolingMode[] = [];
  for (const [mode, key, fallback] of MODE_KEYS) {
    const value = config[key] ?? fallback;
    if (typeof value !== 'boolean') {
      throw loadError(dir, file, `${key} must be true or false; got ${describeValue(value)}`);
    }
    if (value) modes.push(mode);
  }
  if (modes.length === 0) {
    throw loadError(
      dir,
      file,
      `no pooling mode is true (expected one of ${MODE_KEYS.map(([, key]) => key).join(', ')})`,
    );
  }
  return modes;
}

function readDefaultPromptName(dir: string): string | undefined {
  const file = SENTENCE_TRANSFORMERS_CONFIG_FILE;
  const config = readObject(dir, file);
  const name = config?.default_prompt_name ?? undefined;
  if (name !== undefined && typeof name !== 'string') {
    throw loadError(dir, file, `default_prompt_name must be a string or null; got ${describeValue(name)}`);
  }
  return name;
}

/**
 * Reads the sentence-transformers files of `dir`. Undefined when it has no modules.json (not a
 * sentence-transformers directory). Throws E_MODEL_LOAD, naming the file and the field, when a file is
 * malformed: modules.json not a list of { type, path }, no Transformer first or no Pooling module, a
 * Pooling config.json missing, with a non-boolean pooling_mode_* or no mode set, a bad
 * sentence_bert_config.json.
 */
export function readSentenceTransformersConfig(dir: string): SentenceTransformersConfig | undefined {
  const file = MODULES_FILE;
  const modules = readJson(dir, file);
  if (modules === undefined) return undefined;
  if (!Array.isArray(modules) || modules.length === 0) {
    throw loadError(dir, file, `expected a non-empty array of modules; got ${describeValue(modules)}`);
  }
  let poolingModes: SentenceTransformersPoolingMode[] | undefined;
  let normalize = false;
  const otherModules: string[] = [];
  modules.forEach((entry: unknown, index) => {
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) {
      throw loadError(dir, file, `[${index}] must be an object { type, path }; got ${describeValue(entry)}`);
    }
    const { type, path: modulePath } = entry as { type?: unknown; path?: unknown };
    if (typeof type !== 'string') {
      throw loadError(dir, file, `[${index}].type must be a string; got ${describeValue(type)}`);
    }
    const kind = moduleKind(type);
    if (index === 0) {
      if (kind !== 'Transformer') {
        throw loadError(
          dir,
          file,
          `[0].type must be sentence_transformers.models.Transformer (the model.pt encoder); got '${type}'`,
        );
      }
      return;
    }
    if (kind === 'Pooling') {
      if (typeof modulePath !== 'string') {
        throw loadError(dir, file, `[${index}].path must be a string; got ${describeValue(modulePath)}`);
      }
      if (poolingModes !== undefined) {
        otherModules.push(type);
        return;
      }
      poolingModes = readPoolingModes(dir, modulePath);
    } else if (kind === 'Normalize' && poolingModes !== undefined && otherModules.length === 0) {
      normalize = true;
    } else {
      // A Normalize before the pooling, or after a Dense, is not the chain this library reproduces either.
      otherModules.push(type);
    }
  });
  if (poolingModes === undefined) {
    throw loadError(
      dir,
      file,
      'no sentence_transformers.models.Pooling module after the Transformer, so there is no sentence embedding to reproduce',
    );
  }
  const sentenceBert = readSentenceBertConfig(dir);
  return {
    poolingModes,
    normalize,
    maxSeqLength: sentenceBert?.maxSeqLength,
    doLowerCase: sentenceBert?.doLowerCase ?? false,
    otherModules,
    defaultPromptName: readDefaultPromptName(dir),
  };
}

/**
 * The pooling the directory's sentence-transformers chain uses, when this library reproduces the
 * whole chain: one of mean / cls / max, optionally Normalize, no other module, no default prompt.
 * Otherwise throws E_MODEL_LOAD saying what it cannot reproduce (rather than embedding another way
 * than sentence-transformers would); `dir` names the directory in the message.
 */
export function sentenceTransformersPooling(
  config: SentenceTransformersConfig,
  dir: string,
): SupportedPoolingMode {
  const problems: string[] = [];
  const [mode] = config.poolingModes;
  if (config.poolingModes.length > 1) {
    problems.push(`its Pooling module concatenates ${config.poolingModes.join(' + ')} pooling`);
  } else if (!SUPPORTED.includes(mode!)) {
    problems.push(
      `its Pooling module uses '${mode}' pooling, which torch-encoders does not implement (it has ${SUPPORTED.map((m) => `'${m}'`).join(', ')})`,
    );
  }
  if (config.otherModules.length > 0) {
    problems.push(`modules.json has modules it does not run: ${config.otherModules.join(', ')}`);
  }
  if (config.defaultPromptName !== undefined) {
    problems.push(
      `${SENTENCE_TRANSFORMERS_CONFIG_FILE} sets default_prompt_name '${config.defaultPromptName}', a prompt sentence-transformers prepends to every text`,
    );
  }
  if (problems.length > 0) {
    throw new TorchEncodersError(
      'E_MODEL_LOAD',
      `'${dir}' is a sentence-transformers directory whose embeddings torch-encoders cannot reproduce: ${problems.join('; ')}. Pass the pooling option ('mean', 'cls', 'max' or 'none') to use the encoder's hidden states with that pooling instead`,
    );
  }
  return mode as SupportedPoolingMode;
}

/** Python's str.isspace() characters, which sentence-transformers strips from each text (str.strip()). */
const PYTHON_SPACE =
  '[\\t-\\r\\x1c-\\x20\\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]';
const PYTHON_STRIP = new RegExp(`^${PYTHON_SPACE}+|${PYTHON_SPACE}+$`, 'g');

/**
 * A text as sentence-transformers' Transformer.tokenize hands it to the tokenizer: stripped as
 * Python's str.strip() (JavaScript's trim() differs: it strips U+FEFF and keeps U+001C-U+001F and
 * U+0085), then lowercased when do_lower_case.
 */
export function sentenceTransformersText(text: string, doLowerCase: boolean): string {
  const stripped = text.replace(PYTHON_STRIP, '');
  return doLowerCase ? stripped.toLowerCase() : stripped;
}
