import { MICRO_BATCH_OPTION_KEYS, type MicroBatchOptions } from '../batching';
import { TorchEncodersError } from '../errors';
import { forwarderFor, type DynamicBatchingOptions } from '../dynamic-batcher';
import type { OutputSpecs } from '../forwarder';
import type { Model } from '../model';
import type { Encoding } from '../tokenizer';
import { badInput, booleanOption, integerOption } from '../validate';
import { makePipeline, type PipelineHandle } from './callable';
import { taskEntryPoints, type InputStream } from './entry-points';
import { findAnswers, type QaAnswer, type QaWindow } from './qa-spans';

export type { QaAnswer } from './qa-spans';

export interface QuestionAnsweringInput {
  question: string;
  context: string;
}

export interface QuestionAnsweringOptions extends MicroBatchOptions {
  /** Answers per question, best first. Default: 1. */
  topK?: number;
  /**
   * Tokens shared by consecutive windows over a long context; must be smaller than the context tokens a
   * window holds (maxSeqLen minus the question's tokens and 3 special tokens). Default: half of maxSeqLen, at
   * most 128, as Hugging Face's; when that leaves no room beside a long question (where Hugging Face fails),
   * half of the context tokens per window.
   */
  docStride?: number;
  /** Tokens per window: question, context and special tokens. Default: 384 (capped by the model). */
  maxSeqLen?: number;
  /**
   * Question tokens kept; a longer question is cut at the end of its last kept token. Default: 64.
   * (Hugging Face documents the same option, but its fast-tokenizer path ignores it and keeps the whole
   * question.)
   */
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
  /**
   * Answers questions read from an iterable or async iterable, yielding each one's answers in
   * input order as they are ready; memory stays bounded whatever the input's length.
   */
  stream(
    inputs: InputStream<QuestionAnsweringInput>,
    options?: QuestionAnsweringOptions,
  ): AsyncIterable<QaAnswer[]>;
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
const OUTPUTS: OutputSpecs = {
  start: { names: ['start_logits'], position: 0, perToken: true },
  end: { names: ['end_logits'], position: 1, perToken: true },
};

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
    // null: the default, which depends on the question's length (see defaultDocStride).
    docStride:
      options.docStride === undefined ? null : integerOption(TASK, 'docStride', options.docStride, 0, 0),
    maxAnswerLen: integerOption(TASK, 'maxAnswerLen', options.maxAnswerLen, 15, 1),
    handleImpossibleAnswer: booleanOption(
      TASK,
      'handleImpossibleAnswer',
      options.handleImpossibleAnswer,
      false,
    ),
    alignToWords: booleanOption(TASK, 'alignToWords', options.alignToWords, true),
  };
}

/**
 * Hugging Face's default stride, min(maxSeqLen // 2, 128). Where a long question leaves it no room (Hugging
 * Face's tokenizer then fails), half of the context tokens per window instead.
 */
function defaultDocStride(maxSeqLen: number, contextRoom: number): number {
  const stride = Math.min(Math.floor(maxSeqLen / 2), 128);
  return stride < contextRoom ? stride : Math.floor(contextRoom / 2);
}

export function createQuestionAnswering(
  model: Model,
  defaults: QuestionAnsweringOptions = {},
  dynamicBatching?: DynamicBatchingOptions,
): QuestionAnsweringPipeline {
  const tokenizer = model.tokenizer!;
  const { call, stream } = taskEntryPoints({
    task: TASK,
    optionKeys: QUESTION_ANSWERING_OPTION_KEYS,
    defaults,
    forwarder: forwarderFor(model, TASK, OUTPUTS, dynamicBatching),
    check: checkInput,
    rowTask(options: QuestionAnsweringOptions, single: boolean) {
      const {
        topK,
        maxSeqLen,
        maxQuestionLen,
        docStride,
        maxAnswerLen,
        handleImpossibleAnswer,
        alignToWords,
      } = resolveOptions(options, tokenizer.maxLength);
      return {
        encode: (items: readonly QuestionAnsweringInput[], firstIndex: number) =>
          Promise.all(
            items.map(async ({ question, context }, offset) => {
              const cut = await questionWithin(question, maxQuestionLen);
              // The question's tokens and 3 special tokens must leave room for the stride and at least one new token.
              const contextRoom = maxSeqLen - cut.tokens - 3;
              const which = single ? 'input' : `inputs[${firstIndex + offset}]`;
              if (contextRoom < 1) {
                throw new TorchEncodersError(
                  'E_BAD_INPUT',
                  `${TASK}: ${which}.question leaves no room for the context: its ${cut.tokens} tokens and 3 special tokens fill options.maxSeqLen (${maxSeqLen}); lower options.maxQuestionLen or raise options.maxSeqLen`,
                );
              }
              const stride = docStride ?? defaultDocStride(maxSeqLen, contextRoom);
              // Refused even when this context fits one window (Hugging Face fails only when it does not),
              // so that whether a call is valid does not depend on the length of its context.
              if (stride >= contextRoom) {
                throw new TorchEncodersError(
                  'E_BAD_INPUT',
                  `${TASK}: options.docStride (${stride}) must be smaller than the context tokens per window (${contextRoom} for ${which}: maxSeqLen ${maxSeqLen} minus the question's ${cut.tokens} tokens and 3 special tokens)`,
                );
              }
              return tokenizer.encodeWithOverflow([cut.text, context], {
                maxLength: maxSeqLen,
                stride,
                truncation: 'only_second',
              });
            }),
          ),
        // Copies of the logits: the views would keep the whole micro-batch's outputs alive.
        keep: (row, encoding: Encoding): QaWindow => ({
          startLogits: row.start!.data.slice(),
          endLogits: row.end!.data.slice(),
          offsets: encoding.offsets,
          sequenceIds: encoding.sequenceIds,
          wordIds: encoding.wordIds,
          clsIndex: Math.max(0, encoding.specialTokensMask.indexOf(1)),
        }),
        finish: ({ context }: QuestionAnsweringInput, windows: QaWindow[]) =>
          findAnswers({
            context,
            windows,
            contextSequenceId: 1,
            topK,
            maxAnswerLen,
            handleImpossibleAnswer,
            alignToWords,
          }),
      };
    },
  });

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

  return makePipeline(TASK, model, call as QuestionAnsweringPipeline, { stream });
}
