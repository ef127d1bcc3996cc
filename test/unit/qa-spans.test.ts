import { findAnswers, type FindAnswersArgs, type QaWindow } from '../../lib/tasks/qa-spans';

// Logits are ln(weight) for CLS and the context, so after HF's masking the softmax gives
// weight / (sum of weights): the weights below sum to 16 (or 8), making every probability and span
// score (p_start * p_end) a dyadic fraction worked out by hand in the comments.
// Question tokens and separators get logit 20: were they not masked to -10000 they would win.
const UNMASKED_BAIT = 20;

interface ContextToken {
  offsets: [number, number];
  word: number | null;
  start: number; // weight
  end: number; // weight
}

/** [CLS] q1..qn [SEP] context... [SEP], question first (context sequence id 1). */
function questionFirst(
  questionLength: number,
  cls: { start: number; end: number },
  context: ContextToken[],
): QaWindow {
  const startLogits = [Math.log(cls.start)];
  const endLogits = [Math.log(cls.end)];
  const offsets: Array<[number, number]> = [[0, 0]];
  const sequenceIds: Array<number | null> = [null];
  const wordIds: Array<number | null> = [null];
  for (let q = 0; q < questionLength; q++) {
    startLogits.push(UNMASKED_BAIT);
    endLogits.push(UNMASKED_BAIT);
    offsets.push([q, q + 1]); // offsets into the question: must never be used
    sequenceIds.push(0);
    wordIds.push(q);
  }
  const separator = (): void => {
    startLogits.push(UNMASKED_BAIT);
    endLogits.push(UNMASKED_BAIT);
    offsets.push([0, 0]);
    sequenceIds.push(null);
    wordIds.push(null);
  };
  separator();
  for (const t of context) {
    startLogits.push(Math.log(t.start));
    endLogits.push(Math.log(t.end));
    offsets.push(t.offsets);
    sequenceIds.push(1);
    wordIds.push(t.word);
  }
  separator();
  return {
    startLogits: Float32Array.from(startLogits),
    endLogits,
    offsets,
    sequenceIds,
    wordIds,
    clsIndex: 0,
  };
}

const defaults = {
  contextSequenceId: 1,
  topK: 1,
  maxAnswerLen: 15,
  handleImpossibleAnswer: false,
  alignToWords: true,
} as const;

function answers(
  args: Partial<FindAnswersArgs> & Pick<FindAnswersArgs, 'context' | 'windows'>,
): ReturnType<typeof findAnswers> {
  return findAnswers({ ...defaults, ...args });
}

function expectAnswers(
  actual: ReturnType<typeof findAnswers>,
  expected: Array<[string, number, number, number]>,
): void {
  expect(actual.map((a) => [a.answer, a.start, a.end])).toEqual(
    expected.map(([text, , start, end]) => [text, start, end]),
  );
  expected.forEach(([, score], i) => expect(actual[i]?.score).toBeCloseTo(score, 7));
}

// "The cat sat on the mat." — one token per word, word ids 0..6.
const CONTEXT = 'The cat sat on the mat.';
const SPANS: Array<[number, number]> = [
  [0, 3],
  [4, 7],
  [8, 11],
  [12, 14],
  [15, 18],
  [19, 22],
  [22, 23],
];

/** Context tokens of CONTEXT with the given start and end weights. */
function catTokens(starts: number[], ends: number[], from = 0): ContextToken[] {
  return starts.map((start, i) => ({
    offsets: SPANS[from + i] as [number, number],
    word: from + i,
    start,
    end: ends[i] as number,
  }));
}

// Weights (CLS first, then The cat sat on the mat .), each summing to 16:
//   start: 1 | 2 8 1 1 1 1.5 0.5  -> The 1/8, cat 1/2, sat 1/16, on 1/16, the 1/16, mat 3/32, . 1/32
//   end:   1 | 1 8 3 1 1 0.5 0.5  -> The 1/16, cat 1/2, sat 3/16, on 1/16, the 1/16, mat 1/32, . 1/32
// Best spans: (cat, cat) 1/2 * 1/2 = 1/4; (cat, sat) 1/2 * 3/16 = 3/32; (The, cat) 1/8 * 1/2 = 1/16;
// then (cat, on) = (cat, the) = 1/32, ... Null score: CLS 1/16 * 1/16 = 1/256.
const mainWindow = questionFirst(
  3,
  { start: 1, end: 1 },
  catTokens([2, 8, 1, 1, 1, 1.5, 0.5], [1, 8, 3, 1, 1, 0.5, 0.5]),
);

describe('findAnswers, one window', () => {
  it('returns the best span (question tokens never win despite their logits)', () => {
    expectAnswers(answers({ context: CONTEXT, windows: [mainWindow] }), [['cat', 0.25, 4, 7]]);
  });

  it('returns the top k spans by score', () => {
    expectAnswers(answers({ context: CONTEXT, windows: [mainWindow], topK: 3 }), [
      ['cat', 0.25, 4, 7],
      ['cat sat', 3 / 32, 4, 11],
      ['The cat', 1 / 16, 0, 7],
    ]);
  });

  it('limits answers to maxAnswerLen tokens', () => {
    // Single tokens only: (cat, cat) 1/4, (sat, sat) 1/16 * 3/16 = 3/256, (The, The) 1/8 * 1/16 = 2/256,
    // and (the, the) 1/16 * 1/16 = 1/256, which is among the 2 * 3 + 10 spans HF takes per window and merges
    // case-insensitively into "The": 3/256, tied with "sat", which was found first.
    expectAnswers(answers({ context: CONTEXT, windows: [mainWindow], topK: 3, maxAnswerLen: 1 }), [
      ['cat', 0.25, 4, 7],
      ['sat', 3 / 256, 8, 11],
      ['The', 3 / 256, 0, 3],
    ]);
  });

  it('never answers from the question, even when asked for every span', () => {
    const all = answers({ context: CONTEXT, windows: [mainWindow], topK: 1000 });
    // 7 context tokens: 7 * 8 / 2 = 28 spans, all of them inside the context; "the" (15..18) merges
    // into "The" (0..3) as HF compares answers case-insensitively: 27 answers.
    expect(all).toHaveLength(27);
    expect(all.find((a) => a.answer === 'The')?.score).toBeCloseTo(1 / 128 + 1 / 256, 9);
    for (const a of all) {
      expect(a.start).toBeLessThanOrEqual(a.end);
      expect(CONTEXT.slice(a.start, a.end)).toBe(a.answer);
    }
    // Scores are probabilities of disjoint (start, end) events: they sum to at most 1 - P(CLS).
    const total = all.reduce((sum, a) => sum + a.score, 0);
    expect(total).toBeLessThan(1);
  });

  it('masks non-context tokens when the context comes first (sequence id 0)', () => {
    // [CLS] The cat sat [SEP] q q [SEP]: weights CLS 1, The 1, cat 5, sat 1 (sum 8) → cat 5/8 each.
    const window: QaWindow = {
      startLogits: [0, 0, Math.log(5), 0, 20, 20, 20, 20],
      endLogits: [0, 0, Math.log(5), 0, 20, 20, 20, 20],
      offsets: [
        [0, 0],
        [0, 3],
        [4, 7],
        [8, 11],
        [0, 0],
        [0, 1],
        [1, 2],
        [0, 0],
      ],
      sequenceIds: [null, 0, 0, 0, null, 1, 1, null],
      wordIds: [null, 0, 1, 2, null, 0, 1, null],
      clsIndex: 0,
    };
    expectAnswers(answers({ context: CONTEXT, windows: [window], contextSequenceId: 0 }), [
      ['cat', 25 / 64, 4, 7],
    ]);
  });
});

describe('findAnswers, impossible answer', () => {
  it('adds the null answer, which loses when a span is likelier', () => {
    const result = answers({
      context: CONTEXT,
      windows: [mainWindow],
      topK: 1000,
      handleImpossibleAnswer: true,
    });
    expect(result[0]?.answer).toBe('cat');
    const empty = result.find((a) => a.answer === '');
    expect(empty).toEqual({ answer: '', start: 0, end: 0, score: expect.closeTo(1 / 256, 9) });
    // It sits among the spans by score.
    const position = result.indexOf(empty as (typeof result)[number]);
    expect(result.slice(0, position).every((a) => a.score >= 1 / 256)).toBe(true);
    expect(result.slice(position + 1).every((a) => a.score <= 1 / 256)).toBe(true);
  });

  it('wins when CLS is likelier than any span', () => {
    // start = end weights: CLS 12 | The 0.5, cat 1.5, sat 0.5, on 0.5, the 0.5, mat 0.25, . 0.25
    // Null: (12/16)^2 = 9/16. Best span (cat, cat): (1.5/16)^2 = 2.25/256.
    const weights = [0.5, 1.5, 0.5, 0.5, 0.5, 0.25, 0.25];
    const window = questionFirst(2, { start: 12, end: 12 }, catTokens(weights, weights));
    expectAnswers(answers({ context: CONTEXT, windows: [window], topK: 2, handleImpossibleAnswer: true }), [
      ['', 9 / 16, 0, 0],
      ['cat', 2.25 / 256, 4, 7],
    ]);
    // Without handleImpossibleAnswer the span is returned.
    expectAnswers(answers({ context: CONTEXT, windows: [window] }), [['cat', 2.25 / 256, 4, 7]]);
  });

  it('takes the minimum null score over the windows', () => {
    const weights = [0.5, 1.5, 0.5, 0.5, 0.5, 0.25, 0.25];
    const confident = questionFirst(2, { start: 12, end: 12 }, catTokens(weights, weights)); // null 9/16
    const result = answers({
      context: CONTEXT,
      windows: [confident, mainWindow],
      topK: 1000,
      handleImpossibleAnswer: true,
    });
    // min(9/16, 1/256); 'cat' collects 2.25/256 + 1/4 from the two windows.
    expect(result.find((a) => a.answer === '')?.score).toBeCloseTo(1 / 256, 9);
    expect(result[0]?.answer).toBe('cat');
    expect(result[0]?.score).toBeCloseTo(0.25 + 2.25 / 256, 7);
  });
});

describe('findAnswers, several windows', () => {
  // Window 1 holds "The cat sat on" (tokens 0..3), window 2 "on the mat." (tokens 3..6).
  //   window 1, weights CLS 1 | The 1, cat 4, sat 1, on 1 (sum 8), same for the end:
  //     (cat, cat) = (4/8)^2 = 1/4; (The, The) = (on, on) = (1/8)^2 = 1/64
  //   window 2, weights CLS 1 | on 1, the 1, mat 12, . 1 (sum 16), same for the end:
  //     (mat, mat) = (12/16)^2 = 9/16; (on, on) = (the, the) = (1/16)^2 = 1/256
  const window1 = questionFirst(2, { start: 1, end: 1 }, catTokens([1, 4, 1, 1], [1, 4, 1, 1], 0));
  const window2 = questionFirst(2, { start: 1, end: 1 }, catTokens([1, 1, 12, 1], [1, 1, 12, 1], 3));

  it('finds the best answer in the second window', () => {
    expectAnswers(answers({ context: CONTEXT, windows: [window1, window2], topK: 2 }), [
      ['mat', 9 / 16, 19, 22],
      ['cat', 1 / 4, 4, 7],
    ]);
  });

  it('adds the scores of answers with the same text, case-insensitively, as HF', () => {
    const all = answers({ context: CONTEXT, windows: [window1, window2], topK: 100 });
    // "on" is in both windows: 1/64 + 1/256 = 5/256, at its first offsets.
    expect(all.find((a) => a.answer === 'on')).toEqual({
      answer: 'on',
      start: 12,
      end: 14,
      score: expect.closeTo(5 / 256, 9),
    });
    // "the" (window 2, 15..18) merges into "The" (window 1, 0..3): 1/64 + 1/256.
    expect(all.filter((a) => a.answer.toLowerCase() === 'the')).toEqual([
      { answer: 'The', start: 0, end: 3, score: expect.closeTo(5 / 256, 9) },
    ]);
  });
});

describe('findAnswers, alignToWords', () => {
  // "The kitten sat." = The kit ##ten sat . (word ids 0 1 1 2 3)
  //   start weights CLS 1 | The 1, kit 2, ##ten 8, sat 2, . 2  -> kit 1/8, ##ten 1/2
  //   end weights   CLS 1 | The 1, kit 2, ##ten 8, sat 1, . 3  -> kit 1/8, ##ten 1/2, . 3/16
  // Top spans: (##ten, ##ten) 1/4; (##ten, .) 3/32; (kit, ##ten) 1/16; (##ten, sat) = (The, ##ten) 1/32;
  // (kit, .) = (sat, .) = (., .) 3/128; (kit, kit) 1/64; (The, .) 3/256; (The, kit) = (kit, sat) = ... 1/128.
  // HF takes 2 * topK + 10 of them per window when aligning to words (topK without).
  const context = 'The kitten sat.';
  const tokens: ContextToken[] = [
    { offsets: [0, 3], word: 0, start: 1, end: 1 },
    { offsets: [4, 7], word: 1, start: 2, end: 2 },
    { offsets: [7, 10], word: 1, start: 8, end: 8 },
    { offsets: [11, 14], word: 2, start: 2, end: 1 },
    { offsets: [14, 15], word: 3, start: 2, end: 3 },
  ];
  const window = questionFirst(2, { start: 1, end: 1 }, tokens);

  it('widens a span starting mid-word to the whole word', () => {
    // Of the 12 spans taken, (##ten, ##ten), (kit, ##ten) and (kit, kit) all widen to "kitten":
    // 1/4 + 1/16 + 1/64 = 21/64.
    expectAnswers(answers({ context, windows: [window], alignToWords: true }), [['kitten', 21 / 64, 4, 10]]);
  });

  it('keeps the token offsets without it', () => {
    expectAnswers(answers({ context, windows: [window], topK: 3, alignToWords: false }), [
      ['ten', 0.25, 7, 10],
      ['ten sat.', 3 / 32, 7, 15],
      ['kitten', 1 / 16, 4, 10],
    ]);
  });

  it('merges spans that align to the same words, adding their scores (HF)', () => {
    // Of the 16 spans taken: "kitten" 1/4 + 1/16 + 1/64 = 21/64; "kitten sat." (##ten, .) + (kit, .) =
    // 3/32 + 3/128 = 15/128; "The kitten" (The, ##ten) + (The, kit) = 1/32 + 1/128 = 5/128, tied with
    // "kitten sat" (##ten, sat) + (kit, sat), which comes later in (start, end) order.
    expectAnswers(answers({ context, windows: [window], topK: 3, alignToWords: true }), [
      ['kitten', 21 / 64, 4, 10],
      ['kitten sat.', 15 / 128, 4, 15],
      ['The kitten', 5 / 128, 0, 10],
    ]);
  });

  it('falls back to token offsets for tokens without a word id', () => {
    const noWords = { ...window, wordIds: window.wordIds.map(() => null) };
    expectAnswers(answers({ context, windows: [noWords], alignToWords: true }), [['ten', 0.25, 7, 10]]);
  });
});

describe('findAnswers, bad input', () => {
  it('rejects inconsistent windows and options', () => {
    const badInput = (args: Partial<FindAnswersArgs>, message: string): void =>
      expect(() => answers({ context: CONTEXT, windows: [mainWindow], ...args })).toThrow(
        expect.objectContaining({ code: 'E_BAD_INPUT', message: `findAnswers: ${message}` }),
      );
    badInput({ topK: 0 }, 'topK must be an integer >= 1; got 0');
    badInput({ maxAnswerLen: 1.5 }, 'maxAnswerLen must be an integer >= 1; got 1.5');
    badInput({ windows: [] }, 'windows must hold at least one window; got none');
    badInput(
      { windows: [{ ...mainWindow, endLogits: [1, 2] }] },
      'windows[0].endLogits must have one entry per token (13, as startLogits); got 2',
    );
    badInput(
      { windows: [{ ...mainWindow, clsIndex: 13 }] },
      'windows[0].clsIndex must be an integer from 0 to 12; got 13',
    );
  });
});
