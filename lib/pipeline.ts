import * as fs from 'node:fs';
import { TorchEncodersError } from './errors';
import { Model, type ModelLoadOptions } from './model';
import {
  FEATURE_EXTRACTION_OPTION_KEYS,
  createFeatureExtraction,
  type FeatureExtractionOptions,
  type FeatureExtractionPipeline,
} from './tasks/feature-extraction';
import {
  QUESTION_ANSWERING_OPTION_KEYS,
  createQuestionAnswering,
  type QuestionAnsweringOptions,
  type QuestionAnsweringPipeline,
} from './tasks/question-answering';
import { RERANK_OPTION_KEYS, createRerank, type RerankOptions, type RerankPipeline } from './tasks/rerank';
import {
  TEXT_CLASSIFICATION_OPTION_KEYS,
  createTextClassification,
  type TextClassificationOptions,
  type TextClassificationPipeline,
} from './tasks/text-classification';
import {
  TOKEN_CLASSIFICATION_OPTION_KEYS,
  createTokenClassification,
  type TokenClassificationOptions,
  type TokenClassificationPipeline,
} from './tasks/token-classification';
import type { DynamicBatchingOptions } from './dynamic-batcher';
import { badInput, checkOptionKeys, integerOption } from './validate';

export type Task =
  'text-classification' | 'token-classification' | 'question-answering' | 'feature-extraction' | 'rerank';

/** Aliases Hugging Face accepts for the same tasks. */
const TASK_ALIASES: Record<string, Task> = {
  'text-classification': 'text-classification',
  'sentiment-analysis': 'text-classification',
  'token-classification': 'token-classification',
  ner: 'token-classification',
  'question-answering': 'question-answering',
  'feature-extraction': 'feature-extraction',
  'sentence-embeddings': 'feature-extraction',
  rerank: 'rerank',
};

const LOAD_OPTION_KEYS = [
  'device',
  'threads',
  'workers',
  'optimize',
  'outputNames',
  'maxLength',
  'dynamicBatching',
] as const;

export interface PipelineOptions extends ModelLoadOptions {
  /**
   * Run the rows of concurrent calls together in shared forwards (see DynamicBatchingOptions).
   * Default: off; true uses the defaults.
   */
  dynamicBatching?: boolean | DynamicBatchingOptions;
}

interface TaskPipelines {
  'text-classification': [TextClassificationOptions, TextClassificationPipeline];
  'sentiment-analysis': [TextClassificationOptions, TextClassificationPipeline];
  'token-classification': [TokenClassificationOptions, TokenClassificationPipeline];
  ner: [TokenClassificationOptions, TokenClassificationPipeline];
  'question-answering': [QuestionAnsweringOptions, QuestionAnsweringPipeline];
  'feature-extraction': [FeatureExtractionOptions, FeatureExtractionPipeline];
  'sentence-embeddings': [FeatureExtractionOptions, FeatureExtractionPipeline];
  rerank: [RerankOptions, RerankPipeline];
}

// A signal and a stats callback belong to one call: as pipeline defaults they would serve every later call too.
const perCall = (keys: readonly string[]) => keys.filter((key) => key !== 'signal' && key !== 'onStats');
const TASK_OPTION_KEYS: Record<Task, readonly string[]> = {
  'text-classification': perCall(TEXT_CLASSIFICATION_OPTION_KEYS),
  'token-classification': perCall(TOKEN_CLASSIFICATION_OPTION_KEYS),
  'question-answering': perCall(QUESTION_ANSWERING_OPTION_KEYS),
  'feature-extraction': perCall(FEATURE_EXTRACTION_OPTION_KEYS),
  rerank: perCall(RERANK_OPTION_KEYS),
};

/**
 * Loads the model directory `modelDir` (model.pt, config.json, tokenizer) for `task` and returns
 * a callable pipeline. `options` holds load options (device, threads, optimize, maxLength) and the
 * task's call options, which become its defaults.
 */
export async function pipeline<T extends keyof TaskPipelines>(
  task: T,
  modelDir: string,
  options?: PipelineOptions & Omit<TaskPipelines[T][0], 'signal' | 'onStats'>,
): Promise<TaskPipelines[T][1]> {
  const resolved = typeof task === 'string' ? TASK_ALIASES[task] : undefined;
  if (resolved === undefined) {
    throw badInput(
      'pipeline',
      'task',
      `one of ${Object.keys(TASK_ALIASES)
        .map((t) => `'${t}'`)
        .join(', ')}`,
      task,
    );
  }
  if (typeof modelDir !== 'string' || modelDir === '') {
    throw badInput('pipeline', 'modelDir', 'a non-empty string (a model directory)', modelDir);
  }
  if (!fs.statSync(modelDir, { throwIfNoEntry: false })?.isDirectory()) {
    throw new TorchEncodersError(
      'E_MODEL_NOT_FOUND',
      `pipeline: '${modelDir}' is not a directory; expected a model directory with model.pt, config.json and tokenizer.json`,
    );
  }
  checkOptionKeys('pipeline', options, [...LOAD_OPTION_KEYS, ...TASK_OPTION_KEYS[resolved]]);
  const { device, threads, workers, optimize, outputNames, maxLength, dynamicBatching, ...taskOptions } =
    (options ?? {}) as PipelineOptions & Record<string, unknown>;
  const batching = resolveDynamicBatching(dynamicBatching);
  const loadOptions = Object.fromEntries(
    Object.entries({ device, threads, workers, optimize, outputNames, maxLength }).filter(
      ([, value]) => value !== undefined,
    ),
  ) as ModelLoadOptions;
  const model = await Model.load(modelDir, loadOptions);
  try {
    return createPipeline(resolved, model, taskOptions, batching) as TaskPipelines[T][1];
  } catch (error) {
    // Options are checked when the pipeline is made: do not keep the loaded model behind a throw.
    await model.dispose();
    throw error;
  }
}

function createPipeline(
  task: Task,
  model: Model,
  taskOptions: Record<string, unknown>,
  batching: DynamicBatchingOptions | undefined,
) {
  switch (task) {
    case 'text-classification':
      return createTextClassification(model, taskOptions, batching);
    case 'token-classification':
      return createTokenClassification(model, taskOptions, batching);
    case 'question-answering':
      return createQuestionAnswering(model, taskOptions, batching);
    case 'feature-extraction':
      return createFeatureExtraction(model, taskOptions, batching);
    case 'rerank':
      return createRerank(model, taskOptions, batching);
  }
}

function resolveDynamicBatching(value: unknown): DynamicBatchingOptions | undefined {
  if (value === undefined || value === false) return undefined;
  if (value === true) return {};
  checkOptionKeys('pipeline: dynamicBatching', value, [
    'maxBatchTokens',
    'maxBatchSize',
    'maxWaitMs',
    'onForward',
  ]);
  const options = value as DynamicBatchingOptions;
  if (options.onForward !== undefined && typeof options.onForward !== 'function') {
    throw badInput('pipeline', 'dynamicBatching.onForward', 'a function', options.onForward);
  }
  return {
    ...(options.onForward === undefined ? {} : { onForward: options.onForward }),
    maxBatchTokens: integerOption(
      'pipeline',
      'dynamicBatching.maxBatchTokens',
      options.maxBatchTokens,
      16384,
      1,
    ),
    maxBatchSize: integerOption('pipeline', 'dynamicBatching.maxBatchSize', options.maxBatchSize, 64, 1),
    maxWaitMs: integerOption('pipeline', 'dynamicBatching.maxWaitMs', options.maxWaitMs, 0, 0, 10_000),
  };
}
