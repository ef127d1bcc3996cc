// The Hugging Face reference goldens (test/reference/goldens/*.json): transformers' own pipelines and
// AutoTokenizer run on the demo models by tools/hf_reference/ (npm run goldens:hf), committed so the tests
// need no Python. This module loads them, refuses a stale one, and holds the one mapping from
// transformers' option names to this library's.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { AggregationStrategy, FunctionToApply } from '../../lib';
import type { TruncationStrategy } from '../../lib/tokenizer';

export const ROOT = path.resolve(__dirname, '../..');
export const GOLDENS = path.join(__dirname, 'goldens');
const REGENERATE = 'npm run goldens:hf (.venv/bin/python tools/hf_reference/run.py)';

export interface GoldenMeta {
  /** The model directory, relative to the repository root. */
  model: string;
  /** The file of that directory whose sha256 identifies what the golden was computed from. */
  file: string;
  sha256: string;
  transformers: string;
  tokenizers: string;
  torch: string;
  regenerate: string;
}

export interface Golden<Cases> {
  meta: GoldenMeta;
  cases: Cases;
  [key: string]: unknown;
}

export interface TextItem {
  id: string;
  text: string;
  text_pair?: string;
  tags: string[];
}

/** The shared inputs (test/reference/texts.json), by id. */
export function loadTexts(): Map<string, TextItem> {
  const { items } = JSON.parse(fs.readFileSync(path.join(__dirname, 'texts.json'), 'utf8')) as {
    items: TextItem[];
  };
  return new Map(items.map((item) => [item.id, item]));
}

function sha256Of(file: string): string {
  return createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

/**
 * Reads goldens/<name>.json and checks it was made from the model file now in the directory: a golden
 * computed from other weights (the demo models are rebuilt) fails here, naming the command that
 * regenerates it, instead of failing every comparison with a misleading difference.
 */
export function loadGolden<Cases>(name: string): Golden<Cases> {
  const file = path.join(GOLDENS, `${name}.json`);
  const golden = JSON.parse(fs.readFileSync(file, 'utf8')) as Golden<Cases>;
  const source = path.join(ROOT, golden.meta.model, golden.meta.file);
  if (!fs.existsSync(source)) {
    throw new Error(
      `${source} does not exist: build the demo models (npm run build:demo-models) ` +
        `before comparing with ${path.relative(ROOT, file)}`,
    );
  }
  const actual = sha256Of(source);
  if (actual !== golden.meta.sha256) {
    throw new Error(
      `stale golden ${path.relative(ROOT, file)}: it was made from ${golden.meta.model}/${golden.meta.file} ` +
        `with sha256 ${golden.meta.sha256}, the directory now holds sha256 ${actual}; ` +
        `regenerate the goldens with ${REGENERATE}`,
    );
  }
  return golden;
}

/** A base64 golden array (little-endian float32, as tools/hf_reference/common.py writes it). */
export function float32FromBase64(encoded: string): Float32Array {
  const bytes = Buffer.from(encoded, 'base64');
  const out = new Float32Array(bytes.length / 4);
  for (let i = 0; i < out.length; i++) out[i] = bytes.readFloatLE(i * 4);
  return out;
}

/**
 * Agreement of a score or vector element with transformers': 1e-4 absolute for values up to 1 in
 * magnitude (probabilities), 1e-4 relative beyond (raw logits, hidden states). Both sides run the same
 * float32 weights, through libtorch here and PyTorch there.
 */
export const TOLERANCE = 1e-4;
export function close(actual: number, expected: number, tolerance = TOLERANCE): boolean {
  return Math.abs(actual - expected) <= tolerance * Math.max(1, Math.abs(expected));
}

// ---- transformers' option names -> this library's: the one place they are mapped ----

export interface HfClassificationOptions {
  function_to_apply?: FunctionToApply;
  top_k?: number | null;
}

export function classificationOptions(hf: HfClassificationOptions): {
  functionToApply?: FunctionToApply;
  topK?: number | null;
} {
  return {
    ...(hf.function_to_apply === undefined ? {} : { functionToApply: hf.function_to_apply }),
    ...(hf.top_k === undefined ? {} : { topK: hf.top_k }),
  };
}

export interface HfTokenClassificationOptions {
  aggregation_strategy: AggregationStrategy;
  /** null: the pipeline's default (["O"]). */
  ignore_labels: string[] | null;
  stride?: number;
}

export function tokenClassificationOptions(hf: HfTokenClassificationOptions): {
  aggregationStrategy: AggregationStrategy;
  ignoreLabels?: string[];
  stride?: number;
} {
  return {
    aggregationStrategy: hf.aggregation_strategy,
    ...(hf.ignore_labels === null ? {} : { ignoreLabels: hf.ignore_labels }),
    ...(hf.stride === undefined ? {} : { stride: hf.stride }),
  };
}

/** transformers' entity keys -> this library's (entity_group is entityGroup; the rest are the same). */
export function entityOf(hf: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(hf).map(([k, v]) => [k === 'entity_group' ? 'entityGroup' : k, v]),
  );
}

export interface HfTokenizerOptions {
  /** true: longest_first, as transformers' truncation=True. */
  truncation?: boolean | TruncationStrategy;
  max_length?: number;
  stride?: number;
  return_overflowing_tokens?: boolean;
}

/** transformers' truncation options -> TextTokenizer's; max_length defaults to the tokenizer's own. */
export function tokenizerOptions(
  hf: HfTokenizerOptions,
  modelMaxLength: number,
): { truncation: TruncationStrategy; maxLength: number; stride?: number } {
  if (hf.truncation === undefined || hf.truncation === false) {
    throw new Error(`TextTokenizer always truncates; a golden without truncation has no counterpart`);
  }
  return {
    truncation: hf.truncation === true ? 'longest_first' : hf.truncation,
    maxLength: hf.max_length ?? modelMaxLength,
    ...(hf.stride === undefined ? {} : { stride: hf.stride }),
  };
}
