import * as path from 'node:path';
import { pipeline, type QuestionAnsweringPipeline } from '../../lib';
import { expectError, rejection } from '../helpers/errors';
import { FIXTURES } from '../helpers/fixtures';

const CONTEXT =
  'The Eiffel Tower is a wrought-iron lattice tower on the Champ de Mars in Paris, France. It is named after the engineer Gustave Eiffel, whose company designed and built the tower from 1887 to 1889.';
const QUESTION = 'Who designed the Eiffel Tower?';
// About 600 tokens: several windows of 128 tokens with the default stride.
const LONG_CONTEXT = Array.from(
  { length: 40 },
  (_, i) => `Fact ${i}: the river number ${i} flows north into lake ${i}.`,
).join(' ');

describe('question-answering (BERT fixture, 128-token windows)', () => {
  let qa: QuestionAnsweringPipeline;
  beforeAll(async () => {
    qa = await pipeline('question-answering', path.join(FIXTURES, 'question-answering'), { threads: 2 });
  });
  afterAll(() => qa.dispose());

  it('returns an answer that is a span of the context, with character offsets', async () => {
    const [best] = await qa({ question: QUESTION, context: CONTEXT });
    expect(best).toBeDefined();
    expect(best!.answer).toBe(CONTEXT.slice(best!.start, best!.end));
    expect(best!.answer.length).toBeGreaterThan(0);
    expect(best!.score).toBeGreaterThan(0);
    expect(best!.score).toBeLessThanOrEqual(1);
  });

  it('topK returns distinct spans sorted by score; maxAnswerLen bounds their token length', async () => {
    const answers = await qa({ question: QUESTION, context: CONTEXT }, { topK: 5, maxAnswerLen: 3 });
    expect(answers).toHaveLength(5);
    for (let i = 1; i < answers.length; i++)
      expect(answers[i - 1]!.score).toBeGreaterThanOrEqual(answers[i]!.score);
    expect(new Set(answers.map((a) => `${a.start}:${a.end}`)).size).toBe(5);
    const tokenizer = qa.model.tokenizer!;
    for (const a of answers) {
      expect(a.answer).toBe(CONTEXT.slice(a.start, a.end));
      const [encoding] = await tokenizer.encodeBatch([a.answer], { addSpecialTokens: false });
      expect(encoding!.ids.length).toBeLessThanOrEqual(3);
    }
  });

  it('alignToWords false may return parts of words; true returns whole words', async () => {
    const aligned = await qa({ question: QUESTION, context: CONTEXT }, { topK: 10, alignToWords: true });
    for (const a of aligned) {
      expect(
        a.start === 0 || /[\s(]/.test(CONTEXT[a.start - 1]!) || /[^\p{L}\p{N}]/u.test(CONTEXT[a.start]!),
      ).toBe(true);
    }
    const raw = await qa({ question: QUESTION, context: CONTEXT }, { topK: 10, alignToWords: false });
    for (const a of raw) expect(a.answer).toBe(CONTEXT.slice(a.start, a.end));
  });

  it('searches a context longer than one window across all windows', async () => {
    const answers = await qa({ question: 'Which lake?', context: LONG_CONTEXT }, { topK: 20, docStride: 32 });
    expect(answers).toHaveLength(20);
    for (const a of answers) expect(a.answer).toBe(LONG_CONTEXT.slice(a.start, a.end));
    // Answers come from more than the first window.
    const firstWindowEnd = LONG_CONTEXT.indexOf('Fact 8');
    expect(answers.some((a) => a.start > firstWindowEnd)).toBe(true);
  });

  it('handleImpossibleAnswer adds the empty answer, scored by [CLS]', async () => {
    const answers = await qa(
      { question: QUESTION, context: CONTEXT },
      { topK: 100, handleImpossibleAnswer: true },
    );
    const empty = answers.filter((a) => a.answer === '');
    expect(empty).toEqual([{ answer: '', score: expect.any(Number), start: 0, end: 0 }]);
    const without = await qa({ question: QUESTION, context: CONTEXT }, { topK: 100 });
    expect(without.some((a) => a.answer === '')).toBe(false);
  });

  it('cuts a question longer than maxQuestionLen', async () => {
    const question = `${'why '.repeat(100)}?`;
    const answers = await qa({ question, context: CONTEXT }, { maxQuestionLen: 8 });
    expect(answers[0]!.answer).toBe(CONTEXT.slice(answers[0]!.start, answers[0]!.end));
  });

  it('batched results equal one-by-one results to 1e-5, in input order', async () => {
    const inputs = [
      { question: QUESTION, context: CONTEXT },
      { question: 'Which lake?', context: LONG_CONTEXT },
      { question: 'Where?', context: 'In Paris.' },
      { question: '', context: '' },
    ];
    const batched = await qa(inputs, { topK: 3, batchSize: 2 });
    for (let i = 0; i < inputs.length; i++) {
      const single = await qa(inputs[i]!, { topK: 3 });
      expect(batched[i]!.map((a) => [a.answer, a.start, a.end])).toEqual(
        single.map((a) => [a.answer, a.start, a.end]),
      );
      batched[i]!.forEach((a, k) => expect(Math.abs(a.score - single[k]!.score)).toBeLessThanOrEqual(1e-5));
    }
  });

  describe('BAD CALL', () => {
    it('QA without context', async () => {
      expectError(
        await rejection(qa({ question: QUESTION } as never)),
        'E_BAD_INPUT',
        'question-answering: input.context must be a string; got undefined',
      );
    });

    it('a plain string instead of { question, context }', async () => {
      expectError(
        await rejection(qa(QUESTION as never)),
        'E_BAD_INPUT',
        "question-answering: input must be an object { question, context } of strings; got the string 'Who designed the Eiffel Tower?'",
      );
    });

    it('docStride that leaves no room for the context', async () => {
      expectError(
        await rejection(qa({ question: QUESTION, context: CONTEXT }, { maxSeqLen: 32, docStride: 30 })),
        'E_BAD_INPUT',
        /^question-answering: options.docStride \(30\) must be smaller than the context tokens per window \(\d+ for input: maxSeqLen 32 minus the question's \d+ tokens and 3 special tokens\)$/,
      );
    });

    it.each([
      [{ topK: 0 }, 'question-answering: options.topK must be an integer >= 1; got the number 0'],
      [
        { maxSeqLen: 1000 },
        'question-answering: options.maxSeqLen must be an integer from 8 to 128; got the number 1000',
      ],
      [
        { handleImpossibleAnswer: 'yes' },
        "question-answering: options.handleImpossibleAnswer must be a boolean; got the string 'yes'",
      ],
    ])('options %p', async (options, message) => {
      expectError(
        await rejection(qa({ question: QUESTION, context: CONTEXT }, options as object)),
        'E_BAD_INPUT',
        message,
      );
    });
  });
});
