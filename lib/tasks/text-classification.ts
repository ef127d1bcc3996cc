import { MICRO_BATCH_OPTION_KEYS, type MicroBatchOptions } from '../batching';
import { sigmoid, softmax, topK as topKOf } from '../math';
import { forwarderFor, type DynamicBatchingOptions } from '../dynamic-batcher';
import type { OutputSpecs } from '../forwarder';
import type { Model, TextInput } from '../model';
import { badInput, booleanOption, choiceOption, integerOption } from '../validate';
import { makePipeline, type PipelineHandle } from './callable';
import { taskEntryPoints, type InputStream } from './entry-points';
import { encodeTruncating } from './truncation';

export type FunctionToApply = 'softmax' | 'sigmoid' | 'none';

export interface TextClassificationOptions extends MicroBatchOptions {
  /** Labels returned per input, best first. Default: 1. null returns all labels, sorted. */
  topK?: number | null;
  /**
   * Default: Hugging Face's rule from config.json: 'none' for regression; 'sigmoid' for
   * multi-label or single-output models; else 'softmax'.
   */
  functionToApply?: FunctionToApply;
  /**
   * Default: true: a text longer than the model's maxLength is cut to it. false refuses it with
   * E_INPUT_TOO_LONG instead, naming the input and its length.
   */
  truncate?: boolean;
}

export interface LabelScore {
  label: string;
  score: number;
}

export interface TextClassificationPipeline extends PipelineHandle<'text-classification'> {
  /** Classifies a text or a { text, textPair } pair. */
  (input: TextInput, options?: TextClassificationOptions): Promise<LabelScore[]>;
  /** Classifies each input; results in input order. */
  (inputs: readonly TextInput[], options?: TextClassificationOptions): Promise<LabelScore[][]>;
  /**
   * Classifies inputs read from an iterable or async iterable, yielding each one's labels in input
   * order as they are ready; memory stays bounded whatever the input's length.
   */
  stream(inputs: InputStream<TextInput>, options?: TextClassificationOptions): AsyncIterable<LabelScore[]>;
}

const TASK = 'text-classification';
export const TEXT_CLASSIFICATION_OPTION_KEYS = [
  'topK',
  'functionToApply',
  'truncate',
  ...MICRO_BATCH_OPTION_KEYS,
] as const;
const FUNCTIONS: readonly FunctionToApply[] = ['softmax', 'sigmoid', 'none'];
const OUTPUTS: OutputSpecs = { logits: { names: ['logits'], position: 0, perToken: false } };

function checkInput(value: unknown, label: string): TextInput {
  if (typeof value === 'string') return value;
  const pair = value as { text?: unknown; textPair?: unknown } | null;
  if (
    typeof pair === 'object' &&
    pair !== null &&
    typeof pair.text === 'string' &&
    typeof pair.textPair === 'string'
  ) {
    return { text: pair.text, textPair: pair.textPair };
  }
  throw badInput(TASK, label, 'a string or { text, textPair } of strings', value);
}

/** HF's default: regression → none; multi-label or one label → sigmoid; else softmax. */
export function defaultFunctionToApply(problemType: string | undefined, numLabels: number): FunctionToApply {
  if (problemType === 'regression') return 'none';
  if (problemType === 'multi_label_classification' || numLabels === 1) return 'sigmoid';
  return 'softmax';
}

function resolveOptions(options: TextClassificationOptions) {
  return {
    topK: options.topK === null ? null : integerOption(TASK, 'topK', options.topK, 1, 1),
    explicitFunction:
      options.functionToApply === undefined
        ? undefined
        : choiceOption(TASK, 'functionToApply', options.functionToApply, FUNCTIONS, 'softmax'),
    truncate: booleanOption(TASK, 'truncate', options.truncate, true),
  };
}

export function createTextClassification(
  model: Model,
  defaults: TextClassificationOptions = {},
  dynamicBatching?: DynamicBatchingOptions,
): TextClassificationPipeline {
  const config = model.config!;
  const tokenizer = model.tokenizer!;
  const { call, stream } = taskEntryPoints({
    task: TASK,
    optionKeys: TEXT_CLASSIFICATION_OPTION_KEYS,
    defaults,
    forwarder: forwarderFor(model, TASK, OUTPUTS, dynamicBatching),
    check: checkInput,
    rowTask(options: TextClassificationOptions) {
      const { topK, explicitFunction, truncate } = resolveOptions(options);
      return {
        encode: async (items: readonly TextInput[], firstIndex: number) =>
          (
            await encodeTruncating(
              tokenizer,
              items.map((item): string | [string, string] =>
                typeof item === 'string' ? item : [item.text, item.textPair],
              ),
              truncate,
              TASK,
              (index) => `inputs[${firstIndex + index}]`,
            )
          ).map((encoding) => [encoding]),
        keep: (row): LabelScore[] => {
          const logits = row.logits!.data;
          const apply = explicitFunction ?? defaultFunctionToApply(config.problemType, logits.length);
          const scores =
            apply === 'softmax' ? softmax(logits) : apply === 'sigmoid' ? sigmoid(logits) : logits;
          return topKOf(scores, topK).map(({ index, value }) => ({
            label: config.id2label[index] ?? `LABEL_${index}`,
            score: value,
          }));
        },
        finish: (_item, [labels]: LabelScore[][]) => labels!,
      };
    },
  });
  return makePipeline(TASK, model, call as TextClassificationPipeline, { stream });
}
