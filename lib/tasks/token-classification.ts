import { MICRO_BATCH_OPTION_KEYS, type MicroBatchOptions } from '../batching';
import { softmax } from '../math';
import { forwarderFor, type DynamicBatchingOptions } from '../dynamic-batcher';
import type { OutputSpecs } from '../forwarder';
import type { Model } from '../model';
import type { Encoding } from '../tokenizer';
import { badInput, choiceOption, integerOption, stringArrayOption } from '../validate';
import { makePipeline, type PipelineHandle } from './callable';
import { taskEntryPoints, type InputStream } from './entry-points';
import {
  aggregateWindowedTokens,
  type AggregationStrategy,
  type EntityGroup,
  type TokenEntity,
  type TokenPrediction,
} from './token-aggregation';

export type { AggregationStrategy, EntityGroup, TokenEntity } from './token-aggregation';

export interface TokenClassificationOptions extends MicroBatchOptions {
  /**
   * Default: 'none' (one result per token). 'simple' groups adjacent tokens of one entity;
   * 'first' | 'average' | 'max' first decide each word's label from its subwords, then group.
   */
  aggregationStrategy?: AggregationStrategy;
  /** Labels left out of the results. Default: ['O']. */
  ignoreLabels?: string[];
  /**
   * Tokens shared by consecutive windows when a text is longer than the model's maximum length.
   * Default: a quarter of the maximum length.
   */
  stride?: number;
}

export interface TokenClassificationPipeline extends PipelineHandle<'token-classification'> {
  (
    input: string,
    options?: TokenClassificationOptions & { aggregationStrategy?: 'none' },
  ): Promise<TokenEntity[]>;
  (
    input: string,
    options: TokenClassificationOptions & { aggregationStrategy: 'simple' | 'first' | 'average' | 'max' },
  ): Promise<EntityGroup[]>;
  (
    inputs: readonly string[],
    options?: TokenClassificationOptions & { aggregationStrategy?: 'none' },
  ): Promise<TokenEntity[][]>;
  (
    inputs: readonly string[],
    options: TokenClassificationOptions & { aggregationStrategy: 'simple' | 'first' | 'average' | 'max' },
  ): Promise<EntityGroup[][]>;
  /**
   * Recognizes entities in texts read from an iterable or async iterable, yielding each text's in
   * input order as they are ready; memory stays bounded whatever the input's length.
   */
  stream(
    inputs: InputStream<string>,
    options?: TokenClassificationOptions & { aggregationStrategy?: 'none' },
  ): AsyncIterable<TokenEntity[]>;
  stream(
    inputs: InputStream<string>,
    options: TokenClassificationOptions & { aggregationStrategy: 'simple' | 'first' | 'average' | 'max' },
  ): AsyncIterable<EntityGroup[]>;
}

const TASK = 'token-classification';
export const TOKEN_CLASSIFICATION_OPTION_KEYS = [
  'aggregationStrategy',
  'ignoreLabels',
  'stride',
  ...MICRO_BATCH_OPTION_KEYS,
] as const;
const STRATEGIES: readonly AggregationStrategy[] = ['none', 'simple', 'first', 'average', 'max'];
const OUTPUTS: OutputSpecs = { logits: { names: ['logits'], position: 0, perToken: true } };

function checkText(value: unknown, label: string): string {
  if (typeof value !== 'string') throw badInput(TASK, label, 'a string', value);
  return value;
}

function predictionsOf(encoding: Encoding, logits: Float32Array, numLabels: number): TokenPrediction[] {
  const predictions: TokenPrediction[] = [];
  for (let index = 0; index < encoding.ids.length; index++) {
    if (encoding.specialTokensMask[index] === 1) continue;
    const [start, end] = encoding.offsets[index]!;
    predictions.push({
      index,
      token: encoding.tokens[index]!,
      start,
      end,
      scores: softmax(logits.subarray(index * numLabels, (index + 1) * numLabels)),
      wordId: encoding.wordIds[index] ?? null,
    });
  }
  return predictions;
}

function resolveOptions(options: TokenClassificationOptions, maxLength: number) {
  return {
    strategy: choiceOption(TASK, 'aggregationStrategy', options.aggregationStrategy, STRATEGIES, 'none'),
    ignoreLabels: stringArrayOption(TASK, 'ignoreLabels', options.ignoreLabels, ['O']),
    // Each window holds 2 special tokens and must move forward by at least one token.
    stride: integerOption(TASK, 'stride', options.stride, Math.floor(maxLength / 4), 0, maxLength - 3),
  };
}

export function createTokenClassification(
  model: Model,
  defaults: TokenClassificationOptions = {},
  dynamicBatching?: DynamicBatchingOptions,
): TokenClassificationPipeline {
  const config = model.config!;
  const tokenizer = model.tokenizer!;
  const maxLength = tokenizer.maxLength;
  const { call, stream } = taskEntryPoints({
    task: TASK,
    optionKeys: TOKEN_CLASSIFICATION_OPTION_KEYS,
    defaults,
    forwarder: forwarderFor(model, TASK, OUTPUTS, dynamicBatching),
    check: checkText,
    rowTask(options: TokenClassificationOptions) {
      const { strategy, ignoreLabels, stride } = resolveOptions(options, maxLength);
      return {
        // A text longer than the model's maximum length runs as overlapping windows.
        encode: (texts: readonly string[]) =>
          Promise.all(texts.map((text) => tokenizer.encodeWithOverflow(text, { maxLength, stride }))),
        keep: (row, encoding: Encoding) => {
          const logits = row.logits!;
          return predictionsOf(encoding, logits.data, logits.dims[1] ?? 1);
        },
        finish: (text, windows: TokenPrediction[][]) =>
          aggregateWindowedTokens({
            text,
            windows,
            id2label: config.id2label,
            strategy,
            ignoreLabels,
            continuingSubwordPrefix: tokenizer.continuingSubwordPrefix,
            tokensToString: (tokens) => tokenizer.tokensToString(tokens),
            unkToken: tokenizer.specialTokens.unk,
          }),
      };
    },
  });
  return makePipeline(TASK, model, call as TokenClassificationPipeline, { stream });
}
