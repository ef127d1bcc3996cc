import { MICRO_BATCH_OPTION_KEYS, resolveMicroBatchOptions, type MicroBatchOptions } from '../batching';
import { forwarderFor, type DynamicBatchingOptions } from '../dynamic-batcher';
import { TorchEncodersError } from '../errors';
import type { Forwarder, OutputSpecs } from '../forwarder';
import { sigmoid } from '../math';
import type { Model } from '../model';
import { runMicroBatches, type RowTask } from '../micro-batch-stream';
import type { Encoding } from '../tokenizer';
import { badInput, booleanOption, checkOptionKeys, choiceOption, integerOption } from '../validate';
import { makePipeline, type PipelineHandle } from './callable';
import { encodeTruncating } from './truncation';

/** What a reranking score is: the relevance logit through the logistic function, or the logit itself. */
export type RerankScores = 'sigmoid' | 'raw';

export interface RerankOptions extends MicroBatchOptions {
  /** Documents returned, best first. Default: all of them. null also returns all. */
  topK?: number | null;
  /**
   * Default: 'sigmoid', a relevance in 0..1, as sentence-transformers' CrossEncoder gives for a
   * one-label model. 'raw' returns the model's logit. The order is the same either way.
   */
  scores?: RerankScores;
  /**
   * Default: true: a (query, document) pair longer than the model's maxLength is cut to it (the
   * longer text first). false refuses it with E_INPUT_TOO_LONG instead.
   */
  truncate?: boolean;
}

export interface RerankResult {
  /** Index of the document in the array given. */
  index: number;
  score: number;
  document: string;
}

export interface RerankPipeline extends PipelineHandle<'rerank'> {
  /**
   * Scores each (query, document) pair with the cross-encoder and returns the documents by score,
   * best first; documents that score the same keep their order. An empty array gives [].
   */
  (query: string, documents: readonly string[], options?: RerankOptions): Promise<RerankResult[]>;
}

const TASK = 'rerank';
export const RERANK_OPTION_KEYS = ['topK', 'scores', 'truncate', ...MICRO_BATCH_OPTION_KEYS] as const;
const SCORES: readonly RerankScores[] = ['sigmoid', 'raw'];
const OUTPUTS: OutputSpecs = { logits: { names: ['logits'], position: 0, perToken: false } };
const ONE_LOGIT = "a cross-encoder's one relevance logit per (query, document) pair";

function checkQuery(value: unknown): string {
  if (typeof value !== 'string') throw badInput(TASK, 'query', 'a string', value);
  return value;
}

function checkDocuments(value: unknown): string[] {
  if (!Array.isArray(value)) throw badInput(TASK, 'documents', 'an array of strings', value);
  return value.map((document: unknown, index) => {
    if (typeof document !== 'string') throw badInput(TASK, `documents[${index}]`, 'a string', document);
    return document;
  });
}

/** `topK` null: every document. */
function resolveOptions(options: RerankOptions, forwarder: Forwarder) {
  return {
    topK:
      options.topK === undefined || options.topK === null
        ? null
        : integerOption(TASK, 'topK', options.topK, 1, 1),
    scores: choiceOption(TASK, 'scores', options.scores, SCORES, 'sigmoid'),
    truncate: booleanOption(TASK, 'truncate', options.truncate, true),
    limits: resolveMicroBatchOptions(TASK, options, forwarder.defaultLimits),
  };
}

/**
 * Refuses, when the pipeline is made, a model whose config.json names other than one label: its
 * logits are classes, not a relevance. A config that names none is checked at the first forward.
 */
function checkOneLabel(model: Model): void {
  const labels = model.config!.id2label;
  if (labels.length > 0 && labels.length !== 1) {
    throw new TorchEncodersError(
      'E_MODEL_LOAD',
      `${TASK}: the model must be a cross-encoder with one output logit (a relevance score); its config.json has ${labels.length} labels (${labels.join(', ')})`,
    );
  }
}

/** One pair's relevance logit, checking that the row holds exactly one. */
function relevanceLogit(logits: { data: Float32Array; dims: readonly number[] }): number {
  if (logits.data.length !== 1) {
    throw new TorchEncodersError(
      'E_FORWARD',
      `${TASK}: the model returned ${logits.data.length} logits per input (row dims [${logits.dims.join(', ')}]); expected ${ONE_LOGIT}`,
    );
  }
  return logits.data[0]!;
}

export function createRerank(
  model: Model,
  defaults: RerankOptions = {},
  dynamicBatching?: DynamicBatchingOptions,
): RerankPipeline {
  checkOneLabel(model);
  const tokenizer = model.tokenizer!;
  const forwarder = forwarderFor(model, TASK, OUTPUTS, dynamicBatching);
  // Bad defaults are refused when the pipeline is made, not at its first call.
  resolveOptions(defaults, forwarder);

  /** The query is the first text of every pair, as CrossEncoder.rank tokenizes (query, document). */
  function pairTask(query: string, truncate: boolean): RowTask<string, Encoding, number, number> {
    return {
      encode: async (documents, firstIndex) =>
        (
          await encodeTruncating(
            tokenizer,
            documents.map((document): [string, string] => [query, document]),
            truncate,
            TASK,
            (index) => `(query, documents[${firstIndex + index}])`,
          )
        ).map((encoding) => [encoding]),
      keep: (row) => relevanceLogit(row.logits!),
      finish: (_document, [logit]) => logit!,
    };
  }

  async function rerank(
    query: unknown,
    documents: unknown,
    options: RerankOptions = {},
  ): Promise<RerankResult[]> {
    const queryText = checkQuery(query);
    const items = checkDocuments(documents);
    checkOptionKeys(TASK, options, RERANK_OPTION_KEYS);
    const merged = { ...defaults, ...options };
    const { topK, scores, truncate, limits } = resolveOptions(merged, forwarder);
    const logits = await runMicroBatches(items, pairTask(queryText, truncate), forwarder, limits);
    // Ordered by the logit, which sigmoid preserves: scores that round to the same float32 near
    // 0 or 1 still rank as their logits do.
    const order = logits
      .map((logit, index) => ({ logit, index }))
      .sort((a, b) => b.logit - a.logit || a.index - b.index)
      .slice(0, topK ?? undefined);
    return order.map(({ logit, index }) => ({
      index,
      score: scores === 'raw' ? logit : sigmoid([logit])[0]!,
      document: items[index]!,
    }));
  }

  return makePipeline(TASK, model, rerank as RerankPipeline);
}
