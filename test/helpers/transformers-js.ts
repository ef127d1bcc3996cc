// Reference results from transformers.js (@huggingface/transformers 4.3.1, onnxruntime-node, CPU, fp32) on a
// fixture's onnx/model.onnx, computed in a child process by transformers-js-runner.cjs (Jest's vm realm breaks
// onnxruntime-node's typed-array checks). Offline: only local model directories are read.
//
// What transformers.js itself returns (measured on the generated fixtures; the runner normalises only the
// batching, so `outputs[i]` always belongs to `inputs[i]`):
// - text-classification: { label: string, score: number }; softmax over the logits, or sigmoid when
//   config.problem_type is 'multi_label_classification'. top_k 1 (default) gives one object per input, other
//   values an array per input sorted by descending score; top_k null gives every label. problem_type
//   'regression' is NOT special-cased: softmax over one logit, so the score is always exactly 1.
// - token-classification: aggregation 'none' gives { entity, score, index, word } per kept token (no start/end,
//   no character offsets); index is the token position in the encoded ids (so [CLS] is 0 and the first word 1);
//   word is the single token decoded, continuation prefix kept ('##bly'); score is the softmax probability of the
//   argmax label. Tokens whose label is in ignore_labels (default ['O']) and special tokens are dropped; subwords
//   are not merged.
//   'simple' gives { entity_group, score, word }: it walks the KEPT tokens (after ignore_labels), so two entities
//   separated only by ignored tokens still merge into one group; a group continues while the tag (B-/I-/E-/S-
//   stripped, 'O' counts as tag 'O') stays the same and the token is not B- or S-; score is the mean of the token
//   scores; word is the group's ids decoded ('token ##ization' -> 'tokenization', but a group that starts with a
//   subword keeps its '##'). No start/end. Other strategies throw 'Invalid aggregation_strategy'.
// - question-answering: { answer: string, score: number } only: no start/end (neither characters nor tokens).
//   Logits of the question (up to the first [SEP]), special tokens and padding are set to -Infinity, [CLS] is
//   left in the softmax and its probability then set to 0 (as HF Python does); score = p_start * p_end over every
//   start <= end pair, with NO maximum answer length and one window only (no stride). answer is the span's ids
//   decoded (lower case with the uncased tokenizer), not a slice of the context. top_k 1 (default) gives one
//   object per input, top_k n an array; top_k null gives [] (Math.min(count, null) is 0).
// - feature-extraction: a Tensor (returned here as nested arrays with its dims): pooling 'mean' (masked mean)
//   or 'cls' (first token) gives [batch, hidden]; 'none' (default) [batch, longest, hidden] with padded rows.
// - tokenize: ids as a fast tokenizer gives them (special tokens added; token_type_ids 0/1 for BERT pairs).
//   Its truncation cuts the end of the combined ids (dropping the final [SEP]); compare only below the max length.
import { spawn } from 'node:child_process';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '../..');
const RUNNER = path.join(__dirname, 'transformers-js-runner.cjs');
/** Default timeout of one runner process. A process start (import + one pipeline load) takes about 0.4-0.7 s. */
export const DEFAULT_TIMEOUT_MS = 60_000;

export interface TextClassificationRequest {
  task: 'text-classification';
  /** Absolute model directory (config.json, tokenizer.json, tokenizer_config.json, onnx/model.onnx). */
  model: string;
  inputs: string[];
  /** Default: top_k 1. null returns all labels. */
  options?: { top_k?: number | null };
}

export interface TokenClassificationRequest {
  task: 'token-classification';
  model: string;
  inputs: string[];
  /** Default: aggregation_strategy 'none', ignore_labels ['O']. */
  options?: { aggregation_strategy?: 'none' | 'simple'; ignore_labels?: string[] };
}

export interface QuestionAnsweringRequest {
  task: 'question-answering';
  model: string;
  inputs: { question: string; context: string }[];
  /** Default: top_k 1. null returns no answers at all (transformers.js behaviour). */
  options?: { top_k?: number | null };
}

export interface FeatureExtractionRequest {
  task: 'feature-extraction';
  model: string;
  inputs: string[];
  /** Default: pooling 'none', normalize false. */
  options?: { pooling?: 'none' | 'mean' | 'cls'; normalize?: boolean };
}

export interface TokenizeRequest {
  task: 'tokenize';
  model: string;
  /** Single texts, or [text, text_pair] pairs. */
  inputs: string[] | [string, string][];
  /** Default: add_special_tokens true, truncation false (max_length: model_max_length). No padding. */
  options?: { add_special_tokens?: boolean; truncation?: boolean; max_length?: number };
}

/** One batch as goldens.json stores it: flat row-major int arrays of shape dims. */
export interface OnnxForwardInput {
  dims: number[];
  input_ids: number[];
  attention_mask: number[];
  token_type_ids?: number[];
}

/** Runs <model>/onnx/model.onnx with onnxruntime-node directly (no transformers.js pre/post-processing). */
export interface OnnxForwardRequest {
  task: 'onnx-forward';
  model: string;
  inputs: OnnxForwardInput[];
}

export type TransformersJsRequest =
  | TextClassificationRequest
  | TokenClassificationRequest
  | QuestionAnsweringRequest
  | FeatureExtractionRequest
  | TokenizeRequest
  | OnnxForwardRequest;

export interface ClassificationLabel {
  label: string;
  score: number;
}

/** aggregation_strategy 'none': one per kept token. */
export interface TokenEntity {
  entity: string;
  score: number;
  /** Position in the encoded ids ([CLS] is 0). */
  index: number;
  word: string;
}

/** aggregation_strategy 'simple'. */
export interface EntityGroup {
  entity_group: string;
  score: number;
  word: string;
}

export interface Answer {
  answer: string;
  score: number;
}

export interface Encoding {
  input_ids: number[];
  attention_mask: number[];
  token_type_ids: number[];
  /** The tokenizer's tokens for the same input, special tokens included (never truncated). */
  tokens: string[];
}

export interface OutputTensor {
  dims: number[];
  data: number[];
}

export interface TextClassificationResult {
  /** Per input, labels by descending score (one label unless top_k says otherwise). */
  outputs: ClassificationLabel[][];
}
export interface TokenClassificationResult {
  outputs: TokenEntity[][] | EntityGroup[][];
}
export interface QuestionAnsweringResult {
  /** Per input, answers by descending score. */
  outputs: Answer[][];
}
export interface FeatureExtractionResult {
  dims: number[];
  /** [batch][hidden] with pooling, [batch][sequence][hidden] without. */
  outputs: number[][] | number[][][];
}
export interface TokenizeResult {
  outputs: Encoding[];
}
export interface OnnxForwardResult {
  inputNames: string[];
  outputNames: string[];
  /** Per input batch, the session's outputs by name. */
  outputs: Record<string, OutputTensor>[];
}

interface ResultsByTask {
  'text-classification': TextClassificationResult;
  'token-classification': TokenClassificationResult;
  'question-answering': QuestionAnsweringResult;
  'feature-extraction': FeatureExtractionResult;
  tokenize: TokenizeResult;
  'onnx-forward': OnnxForwardResult;
}

export type ResultFor<R extends TransformersJsRequest> = ResultsByTask[R['task']];

export interface RunOptions {
  /** Default: DEFAULT_TIMEOUT_MS. */
  timeoutMs?: number;
}

/**
 * Runs one request, or several in one process (results in the same order), through transformers.js in a
 * child process. Rejects with the runner's stderr when it fails or times out.
 */
export function runTransformersJs<R extends TransformersJsRequest>(
  request: R,
  options?: RunOptions,
): Promise<ResultFor<R>>;
export function runTransformersJs<R extends readonly TransformersJsRequest[]>(
  requests: readonly [...R],
  options?: RunOptions,
): Promise<{ -readonly [K in keyof R]: R[K] extends TransformersJsRequest ? ResultFor<R[K]> : never }>;
export function runTransformersJs<T>(
  request: TransformersJsRequest | readonly TransformersJsRequest[],
  options?: RunOptions,
): Promise<T>;
export async function runTransformersJs(
  request: TransformersJsRequest | readonly TransformersJsRequest[],
  { timeoutMs = DEFAULT_TIMEOUT_MS }: RunOptions = {},
): Promise<unknown> {
  const stdout = await spawnRunner(JSON.stringify(request), timeoutMs);
  return JSON.parse(stdout) as unknown;
}

function spawnRunner(input: string, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [RUNNER], { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(
        new Error(`transformers.js runner: cannot start ${process.execPath} ${RUNNER}: ${error.message}`),
      );
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const errors = Buffer.concat(stderr).toString('utf8').trim();
      if (code === 0 && !timedOut) {
        resolve(Buffer.concat(stdout).toString('utf8'));
        return;
      }
      const why = timedOut ? `timed out after ${timeoutMs} ms` : `exited with ${signal ?? `code ${code}`}`;
      reject(new Error(`transformers.js runner ${why}; stderr:\n${errors || '(empty)'}`));
    });
    // A runner that dies before reading stdin makes the write fail with EPIPE; 'close' reports it.
    child.stdin.on('error', () => undefined);
    child.stdin.end(input);
  });
}
