import {
  MICRO_BATCH_OPTION_KEYS,
  forwardInMicroBatches,
  resolveMicroBatchOptions,
  type MicroBatchOptions,
} from '../batching';
import { softmax } from '../math';
import { dynamicBatcherFor, type DynamicBatchingOptions } from '../dynamic-batcher';
import type { Model } from '../model';
import { pickOutput } from '../outputs';
import type { Encoding } from '../tokenizer';
import { badInput, checkOptionKeys, choiceOption, integerOption, stringArrayOption } from '../validate';
import { makePipeline, type PipelineHandle } from './callable';
import { asList } from './inputs';
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
}

const TASK = 'token-classification';
export const TOKEN_CLASSIFICATION_OPTION_KEYS = [
  'aggregationStrategy',
  'ignoreLabels',
  'stride',
  ...MICRO_BATCH_OPTION_KEYS,
] as const;
const STRATEGIES: readonly AggregationStrategy[] = ['none', 'simple', 'first', 'average', 'max'];

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
  checkOptionKeys(TASK, options, TOKEN_CLASSIFICATION_OPTION_KEYS);
  return {
    strategy: choiceOption(TASK, 'aggregationStrategy', options.aggregationStrategy, STRATEGIES, 'none'),
    ignoreLabels: stringArrayOption(TASK, 'ignoreLabels', options.ignoreLabels, ['O']),
    // Each window holds 2 special tokens and must move forward by at least one token.
    stride: integerOption(TASK, 'stride', options.stride, Math.floor(maxLength / 4), 0, maxLength - 3),
    batching: resolveMicroBatchOptions(TASK, options),
  };
}

export function createTokenClassification(
  model: Model,
  defaults: TokenClassificationOptions = {},
  dynamicBatching?: DynamicBatchingOptions,
): TokenClassificationPipeline {
  const config = model.config!;
  const tokenizer = model.tokenizer!;
  const batcher = dynamicBatcherFor(model, dynamicBatching, false);
  const maxLength = tokenizer.maxLength;
  resolveOptions(defaults, maxLength);

  async function recognize(input: string | readonly string[], options: TokenClassificationOptions = {}) {
    checkOptionKeys(TASK, options, TOKEN_CLASSIFICATION_OPTION_KEYS);
    const { strategy, ignoreLabels, stride, batching } = resolveOptions(
      { ...defaults, ...options },
      maxLength,
    );

    const { items, single } = asList(input, checkText);
    const windowsPerText = await Promise.all(
      items.map((text) => tokenizer.encodeWithOverflow(text, { maxLength, stride })),
    );
    const flat = windowsPerText.flat();
    const rows = await forwardInMicroBatches(model, flat, tokenizer.padTokenId, { ...batching, batcher });

    let next = 0;
    const results = items.map((text, i) => {
      const windows = windowsPerText[i]!.map((encoding) => {
        const logits = pickOutput(rows[next++]!, ['logits'], 0, TASK);
        const numLabels = logits.dims[1] ?? 1;
        return predictionsOf(encoding, logits.data, numLabels);
      });
      return aggregateWindowedTokens({
        text,
        windows,
        id2label: config.id2label,
        strategy,
        ignoreLabels,
        continuingSubwordPrefix: tokenizer.continuingSubwordPrefix,
        tokensToString: (tokens) => tokenizer.tokensToString(tokens),
        unkToken: tokenizer.specialTokens.unk,
      });
    });
    return single ? results[0]! : results;
  }

  return makePipeline(TASK, model, recognize as TokenClassificationPipeline);
}
