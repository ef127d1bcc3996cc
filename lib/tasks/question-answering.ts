import {
  MICRO_BATCH_OPTION_KEYS,
  forwardInMicroBatches,
  resolveMicroBatchOptions,
  type MicroBatchOptions,
} from '../batching';
import { TorchEncodersError } from '../errors';
import { dynamicBatcherFor, type DynamicBatchingOptions } from '../dynamic-batcher';
import type { Model } from '../model';
import { pickOutput } from '../outputs';
import { badInput, booleanOption, checkOptionKeys, integerOption } from '../validate';
import { makePipeline, type PipelineHandle } from './callable';
import { asList } from './inputs';
import { findAnswers, type QaAnswer } from './qa-spans';

export type { QaAnswer } from './qa-spans';

export interface QuestionAnsweringInput {
  question: string;
  context: string;
}

export interface QuestionAnsweringOptions extends MicroBatchOptions {
  /** Answers per question, best first. Default: 1. */
  topK?: number;
  /** Tokens shared by consecutive windows over a long context. Default: 128. */
  docStride?: number;
  /** Tokens per window: question, context and special tokens. Default: 384 (capped by the model). */
  maxSeqLen?: number;
  /** Question tokens kept; a longer question is cut. Default: 64. */
  maxQuestionLen?: number;
  /** Longest answer in tokens. Default: 15. */
  maxAnswerLen?: number;
  /** Also consider "no answer" (an empty answer scored by the [CLS] token). Default: false. */
  handleImpossibleAnswer?: boolean;
  /** Extend answers to whole words. Default: true. */
  alignToWords?: boolean;
}

export interface QuestionAnsweringPipeline extends PipelineHandle<'question-answering'> {
  (input: QuestionAnsweringInput, options?: QuestionAnsweringOptions): Promise<QaAnswer[]>;
  (inputs: readonly QuestionAnsweringInput[], options?: QuestionAnsweringOptions): Promise<QaAnswer[][]>;
}

const TASK = 'question-answering';
export const QUESTION_ANSWERING_OPTION_KEYS = [
  'topK',
  'docStride',
  'maxSeqLen',
  'maxQuestionLen',
  'maxAnswerLen',
  'handleImpossibleAnswer',
  'alignToWords',
  ...MICRO_BATCH_OPTION_KEYS,
] as const;

function checkInput(value: unknown, label: string): QuestionAnsweringInput {
  const candidate = value as { question?: unknown; context?: unknown } | null;
  if (typeof candidate !== 'object' || candidate === null || Array.isArray(candidate)) {
    throw badInput(TASK, label, 'an object { question, context } of strings', value);
  }
  if (typeof candidate.question !== 'string')
    throw badInput(TASK, `${label}.question`, 'a string', candidate.question);
  if (typeof candidate.context !== 'string')
    throw badInput(TASK, `${label}.context`, 'a string', candidate.context);
  return { question: candidate.question, context: candidate.context };
}

function resolveOptions(options: QuestionAnsweringOptions, modelMaxLength: number) {
  checkOptionKeys(TASK, options, QUESTION_ANSWERING_OPTION_KEYS);
  const maxSeqLen = integerOption(
    TASK,
    'maxSeqLen',
    options.maxSeqLen,
    Math.min(384, modelMaxLength),
    8,
    modelMaxLength,
  );
  return {
    topK: integerOption(TASK, 'topK', options.topK, 1, 1),
    maxSeqLen,
    maxQuestionLen: integerOption(TASK, 'maxQuestionLen', options.maxQuestionLen, 64, 1),
    // HF's default stride is 128 with windows of 384; smaller models keep the same proportion.
    docStride: integerOption(
      TASK,
      'docStride',
      options.docStride,
      Math.min(128, Math.floor(maxSeqLen / 3)),
      0,
    ),
    maxAnswerLen: integerOption(TASK, 'maxAnswerLen', options.maxAnswerLen, 15, 1),
    handleImpossibleAnswer: booleanOption(
      TASK,
      'handleImpossibleAnswer',
      options.handleImpossibleAnswer,
      false,
    ),
    alignToWords: booleanOption(TASK, 'alignToWords', options.alignToWords, true),
    batching: resolveMicroBatchOptions(TASK, options),
  };
}

export function createQuestionAnswering(
  model: Model,
  defaults: QuestionAnsweringOptions = {},
  dynamicBatching?: DynamicBatchingOptions,
): QuestionAnsweringPipeline {
  const tokenizer = model.tokenizer!;
  const batcher = dynamicBatcherFor(model, dynamicBatching, true);
  resolveOptions(defaults, tokenizer.maxLength);

  async function answer(
    input: QuestionAnsweringInput | readonly QuestionAnsweringInput[],
    options: QuestionAnsweringOptions = {},
  ) {
    checkOptionKeys(TASK, options, QUESTION_ANSWERING_OPTION_KEYS);
    const {
      topK,
      maxSeqLen,
      maxQuestionLen,
      docStride,
      maxAnswerLen,
      handleImpossibleAnswer,
      alignToWords,
      batching,
    } = resolveOptions({ ...defaults, ...options }, tokenizer.maxLength);

    const { items, single } = asList(input, checkInput);
    const windowsPerInput = await Promise.all(
      items.map(async ({ question, context }, index) => {
        const cut = await questionWithin(question, maxQuestionLen);
        // The question's tokens and 3 special tokens must leave room for the stride and at least one new token.
        const contextRoom = maxSeqLen - cut.tokens - 3;
        if (docStride >= contextRoom) {
          throw new TorchEncodersError(
            'E_BAD_INPUT',
            `${TASK}: options.docStride (${docStride}) must be smaller than the context tokens per window (${contextRoom} for ${single ? 'input' : `inputs[${index}]`}: maxSeqLen ${maxSeqLen} minus the question's ${cut.tokens} tokens and 3 special tokens)`,
          );
        }
        return tokenizer.encodeWithOverflow([cut.text, context], {
          maxLength: maxSeqLen,
          stride: docStride,
          truncation: 'only_second',
        });
      }),
    );
    const rows = await forwardInMicroBatches(model, windowsPerInput.flat(), tokenizer.padTokenId, {
      ...batching,
      perTokenScalars: true,
      batcher,
    });

    let next = 0;
    const results = items.map(({ context }, i) =>
      findAnswers({
        context,
        windows: windowsPerInput[i]!.map((encoding) => {
          const row = rows[next++]!;
          return {
            startLogits: pickOutput(row, ['start_logits'], 0, TASK).data,
            endLogits: pickOutput(row, ['end_logits'], 1, TASK).data,
            offsets: encoding.offsets,
            sequenceIds: encoding.sequenceIds,
            wordIds: encoding.wordIds,
            clsIndex: Math.max(0, encoding.specialTokensMask.indexOf(1)),
          };
        }),
        contextSequenceId: 1,
        topK,
        maxAnswerLen,
        handleImpossibleAnswer,
        alignToWords,
      }),
    );
    return single ? results[0]! : results;
  }

  /** Cuts a question to its first `maxTokens` tokens, at a token boundary of the original text. */
  async function questionWithin(
    question: string,
    maxTokens: number,
  ): Promise<{ text: string; tokens: number }> {
    const [encoding] = await tokenizer.encodeBatch([question], { addSpecialTokens: false });
    const count = encoding!.ids.length;
    if (count <= maxTokens) return { text: question, tokens: count };
    return { text: question.slice(0, encoding!.offsets[maxTokens - 1]![1]), tokens: maxTokens };
  }

  return makePipeline(TASK, model, answer as QuestionAnsweringPipeline);
}
