import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { NativeModel } from '../binding';
import { raceWithSignal, signalOption, throwIfAborted } from './abort';
import { padSequences } from './batching';
import { defaultWorkers } from './default-workers';
import { TorchEncodersError, fromNativeError, messageOf } from './errors';
import { readExportMetadata, type ExportMetadata } from './export-metadata';
import { maxSequenceLength, readModelConfig, type ModelConfig } from './model-config';
import { native } from './native';
import { readSentenceBertConfig } from './sentence-transformers-config';
import { TextTokenizer, type Encoding } from './tokenizer';
import { badInput, checkOptionKeys } from './validate';

/** 'cpu', 'cuda', 'cuda:N', or 'auto': CUDA when usable, else CPU. */
export type Device = 'cpu' | 'cuda' | 'auto' | `cuda:${number}`;

export interface ModelLoadOptions {
  /** Default: 'cpu'. */
  device?: Device;
  /**
   * Intra-op threads of the model, shared out among its workers. Default: os.availableParallelism().
   * Models loaded side by side each get their own; keep their sum at the core count.
   */
  threads?: number;
  /**
   * How many forwards run at the same time, each on a worker thread of the model's own with an even
   * share of `threads` (1 to `threads`). Default: `threads` for a CPU model whose config.json shows it
   * too small to use a second thread per forward (up to 2 MFLOP per token, such as 2 layers × 128
   * wide: lib/default-workers.ts), else 1, one forward at a time with every thread. More workers
   * raise the throughput of concurrent and batched calls (1.1-1.5× with 2 on 2 cores, measured from
   * the demo models to BERT-base) but give a lone call fewer threads (1.2-2.0× its latency from 4
   * layers × 256 wide up).
   */
  workers?: number;
  /** Applies torch.jit.freeze and optimize_for_inference at load. Default: false (see README). */
  optimize?: boolean;
  /**
   * Names for the module's outputs in the order it returns them. Default: dict keys for a dict,
   * output_0..n for a tuple or a single tensor.
   */
  outputNames?: string[];
  /**
   * Longest token sequence the tokenizer produces (special tokens included). Default: the
   * max_seq_length of a sentence-transformers directory's sentence_bert_config.json, else the
   * tokenizer's model_max_length; either capped by the model's position embeddings.
   */
  maxLength?: number;
}

/** Texts or text pairs tokenized and padded into the model's inputs. */
export interface EncodedBatch {
  inputs: ForwardInputs;
  dims: [number, number];
  /** Per input: ids, offsets, word ids, ... before padding. */
  encodings: Encoding[];
}

/** A text, or a text pair (a question and its context, a premise and a hypothesis, ...). */
export type TextInput = string | { text: string; textPair: string };

const TOKENIZER_FILES = 'tokenizer.json (or vocab.txt, or vocab.json + merges.txt)';

/** Token ids, masks or type ids, row-major [batch, seq]. Int32 is widened to int64 once. */
export type TokenTensor = BigInt64Array | Int32Array;

export interface ForwardInputs {
  input_ids: TokenTensor;
  /** Required when the module's forward takes it without a default (every exporter's module does). */
  attention_mask?: TokenTensor;
  /** Zeros when absent and the model takes it, as in Hugging Face. */
  token_type_ids?: TokenTensor;
  [input: string]: TokenTensor | undefined;
}

export interface ForwardOptions {
  /** Aborts the call: it rejects at once with E_ABORTED. Default: none. */
  signal?: AbortSignal;
}

export interface Tensor {
  data: Float32Array;
  dims: number[];
}

/** Turns a TextInput into the tokenizer's string | [text, pair] form, checking its type. */
export function toTokenizerInput(input: TextInput, index = 0): string | [string, string] {
  if (typeof input === 'string') return input;
  if (
    typeof input === 'object' &&
    input !== null &&
    typeof input.text === 'string' &&
    typeof input.textPair === 'string'
  ) {
    return [input.text, input.textPair];
  }
  throw badInput('encode', `inputs[${index}]`, 'a string or { text, textPair } of strings', input);
}

/**
 * libtorch refuses a TorchScript file that calls an operator it does not have with "Unknown builtin op:
 * aten::name", typically a file exported by a newer torch (aten::scaled_dot_product_attention, torch >= 2.0,
 * on libtorch 1.13). Says which op, which torch exported the file (torch-encoders.json) and how to fix it.
 */
export function explainMissingOp(
  error: TorchEncodersError,
  file: string,
  metadata: ExportMetadata | undefined,
): TorchEncodersError {
  const op = /Unknown builtin op: ([A-Za-z_][\w.]*::[\w.]+?)\.?(?=\s|$)/.exec(error.message)?.[1];
  if (error.code !== 'E_MODEL_LOAD' || op === undefined) return error;
  let runtime = 'unknown';
  try {
    runtime = native().libtorchVersion();
  } catch {
    // The addon loaded the file, so it is loaded; keep the message without the version if it cannot say.
  }
  const exporter =
    metadata === undefined
      ? 'an unknown torch (no torch-encoders.json beside it)'
      : `torch ${metadata.torchVersion}${metadata.attention === undefined ? '' : ` with ${metadata.attention} attention`}`;
  const fixes = [
    `re-export it with tools/export.py --attention eager${op.endsWith('scaled_dot_product_attention') ? '' : ' (if the op comes from attention)'} or with the torch of this runtime`,
    `or run it on a libtorch at least as new as the exporter's (TORCH_ENCODERS_LIBTORCH selects one)`,
  ];
  const wrapped = new TorchEncodersError(
    'E_MODEL_LOAD',
    `Model.load: '${file}' needs the operator ${op}, which this libtorch (${runtime}) does not have; the file was exported by ${exporter}. Fix: ${fixes.join(', ')}`,
    { cause: error },
  );
  const frames = error.stack?.split('\n').slice(1).join('\n');
  if (frames) wrapped.stack = `${wrapped.name}: ${wrapped.message}\n${frames}`;
  return wrapped;
}

interface ModelDirectory {
  path: string;
  config: ModelConfig;
  tokenizer: TextTokenizer;
  metadata: ExportMetadata | undefined;
}

function missingDirectoryFiles(dir: string): string[] {
  const has = (file: string) => fs.existsSync(path.join(dir, file));
  const missing = ['model.pt', 'config.json'].filter((file) => !has(file));
  if (!has('tokenizer.json') && !has('vocab.txt') && !(has('vocab.json') && has('merges.txt'))) {
    missing.push(TOKENIZER_FILES);
  }
  return missing;
}

async function openDirectory(dir: string, maxLength: number | undefined): Promise<ModelDirectory> {
  const missing = missingDirectoryFiles(dir);
  if (missing.length > 0) {
    throw new TorchEncodersError(
      'E_MODEL_NOT_FOUND',
      `model directory '${dir}' is missing ${missing.join(', ')}`,
    );
  }
  const config = readModelConfig(dir);
  const metadata = readExportMetadata(dir);
  const modelLimit = maxSequenceLength(config);
  if (maxLength !== undefined && modelLimit !== undefined && maxLength > modelLimit) {
    throw badInput(
      'Model.load',
      'options.maxLength',
      `at most ${modelLimit} (the model's position embeddings)`,
      maxLength,
    );
  }
  // sentence-transformers truncates to max_seq_length whatever the tokenizer's model_max_length says.
  const sentenceLimit = maxLength === undefined ? readSentenceBertConfig(dir)?.maxSeqLength : undefined;
  let tokenizer = await TextTokenizer.fromDirectory(dir, {
    maxLength:
      maxLength ??
      (sentenceLimit === undefined ? undefined : Math.min(sentenceLimit, modelLimit ?? sentenceLimit)),
  });
  if (maxLength === undefined && modelLimit !== undefined && tokenizer.maxLength > modelLimit) {
    tokenizer = await TextTokenizer.fromDirectory(dir, { maxLength: modelLimit });
  }
  await probeTokenizer(dir, tokenizer);
  return { path: dir, config, metadata, tokenizer };
}

/**
 * Text with words, punctuation, a pair and characters outside most vocabularies: a tokenizer file
 * that parses but cannot encode (an empty vocabulary, an unknown-token id it lacks) fails on it.
 */
const PROBE_TEXT = 'Hello, world! 123 \u2603 \u{1D518} \u4E2D';

/** Refuses, at load, a tokenizer that cannot encode text, rather than failing every later call. */
async function probeTokenizer(dir: string, tokenizer: TextTokenizer): Promise<void> {
  try {
    await tokenizer.encodeBatch([PROBE_TEXT, [PROBE_TEXT, PROBE_TEXT]]);
  } catch (error) {
    throw new TorchEncodersError(
      'E_MODEL_LOAD',
      `model directory '${dir}': its tokenizer cannot encode text (${messageOf(error)}); check tokenizer.json or vocab.txt`,
      { cause: error },
    );
  }
}

/**
 * A TorchScript encoder on one device, with its own worker threads. Loaded from a model
 * directory it also has its config and tokenizer, and can encode text.
 */
export class Model {
  readonly #native: NativeModel;
  readonly #directory: ModelDirectory | undefined;

  private constructor(handle: NativeModel, directory: ModelDirectory | undefined) {
    this.#native = handle;
    this.#directory = directory;
  }

  /**
   * Loads `modelPath`: a Hugging Face-style model directory (model.pt, config.json and a
   * tokenizer), or a bare TorchScript file (forward only). Rejects with E_MODEL_NOT_FOUND,
   * E_MODEL_LOAD, E_BAD_INPUT or E_DEVICE_UNAVAILABLE.
   */
  static async load(modelPath: string, options: ModelLoadOptions = {}): Promise<Model> {
    const callSite: { stack?: string } = {};
    Error.captureStackTrace(callSite, Model.load);
    const isDirectory =
      typeof modelPath === 'string' &&
      fs.statSync(modelPath, { throwIfNoEntry: false })?.isDirectory() === true;
    const { maxLength, ...nativeOptions } = options;
    if (maxLength !== undefined && (!Number.isInteger(maxLength) || maxLength < 2)) {
      throw badInput('Model.load', 'options.maxLength', 'an integer >= 2', maxLength);
    }
    // Other malformed outputNames are the native loader's to refuse; a repeated name would make two outputs one.
    const names: unknown = nativeOptions.outputNames;
    const repeated = Array.isArray(names) ? names.find((name, i) => names.indexOf(name) !== i) : undefined;
    if (repeated !== undefined) {
      throw badInput(
        'Model.load',
        'options.outputNames',
        `distinct names ('${String(repeated)}' repeats)`,
        names,
      );
    }
    const directory = isDirectory ? openDirectory(modelPath, maxLength) : Promise.resolve(undefined);
    const file = isDirectory ? path.join(modelPath, 'model.pt') : modelPath;
    // Check the directory first: its error names every missing file at once.
    const opened = await directory;
    // The exporter records the output names, so "logits" or "start_logits" need not be guessed by position.
    const outputNames = nativeOptions.outputNames ?? opened?.metadata?.outputNames;
    const threads = nativeOptions.threads ?? os.availableParallelism();
    // A device of the wrong type is left for the native loader to reject with its usual message.
    const device: unknown = nativeOptions.device ?? 'cpu';
    const onCuda = () =>
      typeof device === 'string' &&
      (device.startsWith('cuda') || (device === 'auto' && native().cudaAvailable()));
    let handle: NativeModel;
    try {
      handle = await native().loadModel(file, {
        ...nativeOptions,
        threads,
        workers: nativeOptions.workers ?? defaultWorkers(opened?.config, threads, onCuda),
        ...(outputNames === undefined ? {} : { outputNames }),
      });
    } catch (error) {
      throw explainMissingOp(fromNativeError(error, callSite), file, opened?.metadata);
    }
    // bfloat16 runs on the CPU and on CUDA (its outputs come back as float32), so only these two are refused.
    const dtype = opened?.metadata?.dtype;
    const loadedOnCuda = handle.device.startsWith('cuda');
    if ((dtype === 'float16' && !loadedOnCuda) || (dtype === 'qint8' && loadedOnCuda)) {
      // Refused here rather than at the first forward, where libtorch's message names a kernel.
      await handle.dispose();
      throw new TorchEncodersError(
        'E_DEVICE_UNAVAILABLE',
        dtype === 'float16'
          ? `Model.load: '${modelPath}' holds float16 weights, which libtorch runs on CUDA only; load it with device 'cuda' or export it without --dtype fp16`
          : `Model.load: '${modelPath}' is quantized to int8, which libtorch runs on the CPU only; load it with device 'cpu' or export it without --quantize`,
      );
    }
    return new Model(handle, opened);
  }

  /** The model directory's config.json, as read. Undefined for a bare TorchScript file. */
  get config(): ModelConfig | undefined {
    return this.#directory?.config;
  }

  /** What tools/export.py recorded about model.pt (torch-encoders.json), if the directory has it. */
  get exportMetadata(): ExportMetadata | undefined {
    return this.#directory?.metadata;
  }

  /** The model directory it was loaded from, as given to load(). Undefined for a bare TorchScript file. */
  get directory(): string | undefined {
    return this.#directory?.path;
  }

  /** The model directory's tokenizer. Undefined for a bare TorchScript file. */
  get tokenizer(): TextTokenizer | undefined {
    return this.#directory?.tokenizer;
  }

  /**
   * Tokenizes texts or [text, textPair] pairs (truncated to maxLength, special tokens kept) and
   * pads them into the model's inputs, ready for forward().
   */
  async encode(
    texts: TextInput | readonly TextInput[],
    options: { maxLength?: number; truncation?: 'longest_first' | 'only_first' | 'only_second' } = {},
  ): Promise<EncodedBatch> {
    const directory = this.#directory;
    if (directory === undefined) {
      throw new TorchEncodersError(
        'E_BAD_INPUT',
        'encode: this model was loaded from a bare TorchScript file; load its model directory (model.pt, config.json, tokenizer) to encode text',
      );
    }
    const list = Array.isArray(texts) ? (texts as readonly TextInput[]) : [texts as TextInput];
    const encodings = await directory.tokenizer.encodeBatch(
      list.map((input, index) => toTokenizerInput(input, index)),
      options,
    );
    const { inputs, dims } = padSequences(encodings, directory.tokenizer.padTokenId, this.inputNames);
    return { inputs, dims, encodings };
  }

  /**
   * Runs the module on `inputs` of shape `dims` = [batch, seq], off the event loop; concurrent
   * calls queue on the model's workers. The inputs are copied when the call is made, so the
   * caller may reuse, change or transfer its arrays at once. Rejects with E_BAD_INPUT, E_FORWARD
   * or E_DISPOSED, and with E_ABORTED (its `cause` the signal's reason) the moment
   * `options.signal` aborts: a forward still queued then never runs, one already running finishes
   * and its result is dropped.
   */
  async forward(
    inputs: ForwardInputs,
    dims: readonly [number, number],
    options: ForwardOptions = {},
  ): Promise<Record<string, Tensor>> {
    const callSite: { stack?: string } = {};
    Error.captureStackTrace(callSite, this.forward);
    checkOptionKeys('forward', options, ['signal']);
    const signal = signalOption('forward', options.signal);
    throwIfAborted('forward', signal);
    const [ownInputs, ownDims] = readArguments(inputs, dims);
    // Read by the model's worker before it starts this forward (native/napi/pending_call.cc).
    const abortFlag = signal === undefined ? undefined : new Int32Array(1);
    try {
      const call = this.#native.forward(
        ownInputs as Record<string, TokenTensor>,
        ownDims as [number, number],
        abortFlag,
      );
      return await raceWithSignal('forward', call, signal, () => Atomics.store(abortFlag!, 0, 1));
    } catch (error) {
      if (error instanceof TorchEncodersError) throw error;
      throw fromNativeError(error, callSite);
    }
  }

  /** The device the module lives on: 'cpu', 'cuda:0', ... */
  get device(): string {
    return this.#native.device;
  }

  /** The module's forward arguments, from its TorchScript schema. */
  get inputNames(): readonly string[] {
    return this.#native.inputNames;
  }

  get threads(): number {
    return this.#native.threads;
  }

  /** Forwards that run at the same time (ModelLoadOptions.workers). */
  get workers(): number {
    return this.#native.workers;
  }

  get disposed(): boolean {
    return this.#native.disposed;
  }

  /**
   * Frees the module now. Calls already accepted finish first; later ones reject with
   * E_DISPOSED. Calling it again returns the same promise.
   */
  dispose(): Promise<void> {
    return this.#native.dispose();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.dispose();
  }
}

/**
 * Plain copies of forward's `inputs` object and `dims` array, read once here: a getter or proxy
 * of the caller's that throws is the caller's bad input (E_BAD_INPUT with its error as `cause`),
 * not a fault of the native code, which then reads only plain data. Other values pass through
 * for the native checks to name.
 */
function readArguments(inputs: unknown, dims: unknown): [unknown, unknown] {
  const plainObject = (value: unknown) =>
    typeof value === 'object' && value !== null && !ArrayBuffer.isView(value) && !Array.isArray(value);
  let name = 'inputs';
  try {
    const ownInputs = plainObject(inputs) ? { ...(inputs as object) } : inputs;
    name = 'dims';
    return [ownInputs, Array.isArray(dims) ? Array.from(dims as unknown[]) : dims];
  } catch (error) {
    throw new TorchEncodersError(
      'E_BAD_INPUT',
      `forward: reading ${name} threw (${messageOf(error)}); expected ${name === 'inputs' ? 'an object of typed arrays' : '[batch, seq]'}`,
      { cause: error },
    );
  }
}
