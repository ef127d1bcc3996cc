import * as path from 'node:path';
import { pipeline, type QuestionAnsweringPipeline } from '../../lib';
import { expectError, rejection } from '../helpers/errors';
import { FIXTURES } from '../helpers/fixtures';

const CONTEXT =
  'The Eiffel Tower is a wrought-iron lattice tower on the Champ de Mars in Paris, France. It is named after the engineer Gustave Eiffel, whose company designed and built the tower from 1887 to 1889.';
const QUESTION = 'Who designed the Eiffel Tower?';
// About 600 tokens: several windows of 128 tokens. (Answers, offsets and scores against Hugging Face's pipeline:
// test/reference/hf-question-answering.test.ts.)
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

  it("the default docStride is Hugging Face's (half of maxSeqLen), halved again where a long question leaves it no room", async () => {
    // 128-token windows: Hugging Face's default stride is 64, which a question of about 70 tokens leaves no room
    // for (its tokenizer then fails); ours falls back to half of the context tokens per window.
    const tokenizer = qa.model.tokenizer!;
    const question = `${'Which river flows north into which lake, and why does it do so '.repeat(5)}?`;
    const [encoding] = await tokenizer.encodeBatch([question], { addSpecialTokens: false });
    const contextRoom = 128 - encoding!.ids.length - 3;
    expect(contextRoom).toBeGreaterThan(0);
    expect(contextRoom).toBeLessThanOrEqual(64);
    const input = { question, context: LONG_CONTEXT };
    const byDefault = await qa(input, { maxQuestionLen: 100, topK: 3 });
    expect(byDefault).toEqual(
      await qa(input, { maxQuestionLen: 100, topK: 3, docStride: Math.floor(contextRoom / 2) }),
    );
    expectError(
      await rejection(qa(input, { maxQuestionLen: 100, docStride: 64 })),
      'E_BAD_INPUT',
      `question-answering: options.docStride (64) must be smaller than the context tokens per window (${contextRoom} for input: maxSeqLen 128 minus the question's ${encoding!.ids.length} tokens and 3 special tokens)`,
    );
    // A short question keeps Hugging Face's default of 64.
    const short = { question: 'Which lake?', context: LONG_CONTEXT };
    expect(await qa(short, { topK: 3 })).toEqual(await qa(short, { topK: 3, docStride: 64 }));
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

    it('a question that leaves no room for the context', async () => {
      expectError(
        await rejection(
          qa([{ question: CONTEXT, context: CONTEXT }], { maxSeqLen: 16, maxQuestionLen: 100 }),
        ),
        'E_BAD_INPUT',
        /^question-answering: inputs\[0\]\.question leaves no room for the context: its \d+ tokens and 3 special tokens fill options\.maxSeqLen \(16\); lower options\.maxQuestionLen or raise options\.maxSeqLen$/,
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
