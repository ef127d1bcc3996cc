import {
  aggregateOverlappingEntities,
  aggregateTokens,
  aggregateWindowedTokens,
  mergeWindowPredictions,
  type AggregateTokensArgs,
  type TokenPrediction,
} from '../../lib/tasks/token-aggregation';

// Probabilities are sums of powers of two, so they are exact in float32 and the expected scores below
// (HF's argmax probability, word average, group mean) can be checked by hand.
const LABELS = ['O', 'B-PER', 'I-PER', 'B-ORG', 'I-ORG'] as const;

/** HF BertTokenizer.convert_tokens_to_string: " ".join(tokens).replace(" ##", "").strip() */
const wordPieceToString = (tokens: string[]): string => tokens.join(' ').replace(/ ##/g, '').trim();
/** Byte-level BPE decoding for ASCII: "Ġ" stands for a space. */
const byteLevelToString = (tokens: string[]): string => tokens.join('').replace(/Ġ/g, ' ');

function token(index: number, text: string, start: number, end: number, probs: number[]): TokenPrediction {
  expect(probs.reduce((a, b) => a + b, 0)).toBe(1);
  return { index, token: text, start, end, scores: Float32Array.from(probs), wordId: null };
}

function wordPiece(text: string, tokens: TokenPrediction[]): Omit<AggregateTokensArgs, 'strategy'> {
  return {
    text,
    tokens,
    id2label: LABELS,
    ignoreLabels: ['O'],
    continuingSubwordPrefix: '##',
    tokensToString: wordPieceToString,
  };
}

describe('aggregateTokens, word-level entities', () => {
  // "Anna Bob visited New York": two adjacent B-PER words, then B-ORG I-ORG (labels: O B-PER I-PER B-ORG I-ORG).
  const text = 'Anna Bob visited New York';
  const tokens = [
    token(1, 'Anna', 0, 4, [0.125, 0.75, 0.0625, 0.0625, 0]), // B-PER 0.75
    token(2, 'Bob', 5, 8, [0.125, 0.625, 0.25, 0, 0]), // B-PER 0.625
    token(3, 'visited', 9, 16, [0.875, 0.0625, 0.0625, 0, 0]), // O 0.875
    token(4, 'New', 17, 20, [0.25, 0, 0, 0.5, 0.25]), // B-ORG 0.5
    token(5, 'York', 21, 25, [0.25, 0, 0, 0, 0.75]), // I-ORG 0.75
  ];

  it("'none' gives one entity per token, without the ignored label", () => {
    expect(aggregateTokens({ ...wordPiece(text, tokens), strategy: 'none' })).toEqual([
      { entity: 'B-PER', score: 0.75, index: 1, word: 'Anna', start: 0, end: 4 },
      { entity: 'B-PER', score: 0.625, index: 2, word: 'Bob', start: 5, end: 8 },
      { entity: 'B-ORG', score: 0.5, index: 4, word: 'New', start: 17, end: 20 },
      { entity: 'I-ORG', score: 0.75, index: 5, word: 'York', start: 21, end: 25 },
    ]);
  });

  it("'simple' keeps two adjacent B-PER apart and merges B-ORG I-ORG", () => {
    // Groups: [Anna] [Bob] (a B- always opens a group), [visited] = "O" (dropped), [New York].
    // New York score = mean(0.5, 0.75) = 0.625.
    expect(aggregateTokens({ ...wordPiece(text, tokens), strategy: 'simple' })).toEqual([
      { entityGroup: 'PER', score: 0.75, word: 'Anna', start: 0, end: 4 },
      { entityGroup: 'PER', score: 0.625, word: 'Bob', start: 5, end: 8 },
      { entityGroup: 'ORG', score: 0.625, word: 'New York', start: 17, end: 25 },
    ]);
  });

  it('keeps "O" groups when ignoreLabels is empty, and matches group labels without prefix', () => {
    const all = aggregateTokens({ ...wordPiece(text, tokens), strategy: 'simple', ignoreLabels: [] });
    expect(all.map((g) => g.entityGroup)).toEqual(['PER', 'PER', 'O', 'ORG']);
    expect(all[2]).toEqual({ entityGroup: 'O', score: 0.875, word: 'visited', start: 9, end: 16 });
    // HF compares ignore_labels with entity_group, which has lost its prefix: 'B-PER' drops nothing...
    const prefixed = aggregateTokens({
      ...wordPiece(text, tokens),
      strategy: 'simple',
      ignoreLabels: ['O', 'B-PER'],
    });
    expect(prefixed.map((g) => g.entityGroup)).toEqual(['PER', 'PER', 'ORG']);
    // ...while 'PER' does; for 'none' the full label is compared.
    const noPer = aggregateTokens({
      ...wordPiece(text, tokens),
      strategy: 'simple',
      ignoreLabels: ['O', 'PER'],
    });
    expect(noPer.map((g) => g.word)).toEqual(['New York']);
    const noBPer = aggregateTokens({
      ...wordPiece(text, tokens),
      strategy: 'none',
      ignoreLabels: ['O', 'B-PER'],
    });
    expect(noBPer.map((e) => e.word)).toEqual(['New', 'York']);
  });

  it('treats a label without B-/I- as a continuation (I-)', () => {
    const plain = ['O', 'PER'];
    const pieces = [
      token(1, 'Anna', 0, 4, [0.25, 0.75]),
      token(2, 'Bob', 5, 8, [0.5, 0.5]), // tie: argmax takes the first, "O"
      token(3, 'Carl', 9, 13, [0.125, 0.875]),
      token(4, 'Dan', 14, 17, [0.375, 0.625]),
    ];
    const groups = aggregateTokens({
      ...wordPiece('Anna Bob Carl Dan', pieces),
      id2label: plain,
      strategy: 'simple',
    });
    // [Anna] [Bob = O, dropped] [Carl Dan]: "PER" after "PER" merges; score (0.875 + 0.625) / 2 = 0.75.
    expect(groups).toEqual([
      { entityGroup: 'PER', score: 0.75, word: 'Anna', start: 0, end: 4 },
      { entityGroup: 'PER', score: 0.75, word: 'Carl Dan', start: 9, end: 17 },
    ]);
  });
});

describe('aggregateTokens, subword strategies', () => {
  // "Wolfgang lives" = Wolf ##gang lives. The two pieces of "Wolfgang" disagree, so each strategy
  // decides differently:
  //   Wolf   [0, 0.5, 0.4375, 0.0625, 0]   argmax B-PER 0.5
  //   ##gang [0, 0, 0.4375, 0.5625, 0]     argmax B-ORG 0.5625
  //   mean   [0, 0.25, 0.4375, 0.3125, 0]  argmax I-PER 0.4375
  const text = 'Wolfgang lives';
  const tokens = [
    token(1, 'Wolf', 0, 4, [0, 0.5, 0.4375, 0.0625, 0]),
    token(2, '##gang', 4, 8, [0, 0, 0.4375, 0.5625, 0]),
    token(3, 'lives', 9, 14, [0.875, 0.0625, 0, 0, 0.0625]),
  ];
  const args = wordPiece(text, tokens);

  it("'simple' splits the word where its tokens disagree", () => {
    // HF's convert_tokens_to_string(["##gang"]) keeps the "##" (only " ##" is removed).
    expect(aggregateTokens({ ...args, strategy: 'simple' })).toEqual([
      { entityGroup: 'PER', score: 0.5, word: 'Wolf', start: 0, end: 4 },
      { entityGroup: 'ORG', score: 0.5625, word: '##gang', start: 4, end: 8 },
    ]);
  });

  it("'first' takes the first token's label", () => {
    expect(aggregateTokens({ ...args, strategy: 'first' })).toEqual([
      { entityGroup: 'PER', score: 0.5, word: 'Wolfgang', start: 0, end: 8 },
    ]);
  });

  it("'max' takes the label of the token with the highest probability", () => {
    // max(0.5, 0.5625): ##gang, B-ORG.
    expect(aggregateTokens({ ...args, strategy: 'max' })).toEqual([
      { entityGroup: 'ORG', score: 0.5625, word: 'Wolfgang', start: 0, end: 8 },
    ]);
  });

  it("'average' averages the probabilities, then takes the argmax", () => {
    expect(aggregateTokens({ ...args, strategy: 'average' })).toEqual([
      { entityGroup: 'PER', score: 0.4375, word: 'Wolfgang', start: 0, end: 8 },
    ]);
  });

  it("'max' keeps the first token on a tie", () => {
    const tie = [
      token(1, 'Wolf', 0, 4, [0, 0.5, 0.4375, 0.0625, 0]),
      token(2, '##gang', 4, 8, [0, 0, 0, 0.5, 0.5]),
    ];
    expect(aggregateTokens({ ...wordPiece(text, tie), strategy: 'max' })[0]?.entityGroup).toBe('PER');
  });

  it('treats the unknown token as a whole word spelled from the text', () => {
    // "x☃": "[UNK]" (5 characters) spans "☃" (1), which would make it a subword of "x".
    const unk = [token(1, 'x', 0, 1, [0, 0.75, 0.25, 0, 0]), token(2, '[UNK]', 1, 2, [0, 0.75, 0.25, 0, 0])];
    const base = { ...wordPiece('x☃', unk), unkToken: '[UNK]' };
    expect(aggregateTokens({ ...base, strategy: 'none' }).map((e) => e.word)).toEqual(['x', '☃']);
    // Two words, both B-PER: two groups.
    expect(aggregateTokens({ ...base, strategy: 'first' }).map((g) => g.word)).toEqual(['x', '☃']);
    // Without unkToken it is a subword, as HF would decide for a token that is not the unknown one.
    expect(aggregateTokens({ ...base, unkToken: null, strategy: 'first' }).map((g) => g.word)).toEqual([
      'x [UNK]',
    ]);
  });
});

describe('aggregateTokens, byte-level BPE (no continuing-subword prefix)', () => {
  // "Hello Wolfgang!" = Hello ĠWolf gang !  HF's heuristic: a subword starts after position 0 with no
  // space in text[start - 1 : start + 1].
  //   ĠWolf at 6: " W" has a space -> new word
  //   gang at 10: "fg"             -> subword
  //   ! at 14:    "g!"             -> subword (the heuristic's known weakness on punctuation)
  const text = 'Hello Wolfgang!';
  const tokens = [
    token(1, 'Hello', 0, 5, [0.875, 0.125, 0, 0, 0]),
    token(2, 'ĠWolf', 6, 10, [0.25, 0.75, 0, 0, 0]),
    token(3, 'gang', 10, 14, [0.5, 0, 0.25, 0.25, 0]),
    token(4, '!', 14, 15, [0.875, 0, 0.125, 0, 0]),
  ];
  const args = {
    text,
    tokens,
    id2label: LABELS,
    ignoreLabels: ['O'],
    continuingSubwordPrefix: null,
    tokensToString: byteLevelToString,
  };

  it("'first' groups a word from the whitespace heuristic", () => {
    expect(aggregateTokens({ ...args, strategy: 'first' })).toEqual([
      { entityGroup: 'PER', score: 0.75, word: ' Wolfgang!', start: 6, end: 15 },
    ]);
  });

  it("'simple' does not look at words", () => {
    // ĠWolf B-PER, gang O, ! O.
    expect(aggregateTokens({ ...args, strategy: 'simple' })).toEqual([
      { entityGroup: 'PER', score: 0.75, word: ' Wolf', start: 6, end: 10 },
    ]);
  });

  it('sees the space whether or not the offsets include it', () => {
    // Without trim_offsets ĠWolf spans " Wolf" (5..10): text[4:6] = "o " still has the space.
    const untrimmed = tokens.map((t) => (t.token === 'ĠWolf' ? { ...t, start: 5 } : t));
    expect(aggregateTokens({ ...args, tokens: untrimmed, strategy: 'first' })).toEqual([
      { entityGroup: 'PER', score: 0.75, word: ' Wolfgang!', start: 5, end: 15 },
    ]);
  });
});

describe('aggregateTokens, bad input', () => {
  it('rejects scores of the wrong width and unknown strategies', () => {
    const args = wordPiece('a', [token(1, 'a', 0, 1, [0.5, 0.5])]);
    expect(() => aggregateTokens({ ...args, strategy: 'none' })).toThrow(
      expect.objectContaining({
        code: 'E_BAD_INPUT',
        message: 'aggregateTokens: tokens[0].scores must have one entry per label (5); got 2',
      }),
    );
    expect(() => aggregateTokens({ ...args, strategy: 'last' as 'first' })).toThrow(
      /strategy must be one of/,
    );
  });
});

describe('overlapping windows', () => {
  // "Anna met Bob Smith" split into windows [Anna met Bob] and [met Bob Smith]. Window A sees Bob at
  // its edge and calls it B-PER; window B sees "Bob Smith" as B-PER I-PER.
  const text = 'Anna met Bob Smith';
  const windowA = [
    token(1, 'Anna', 0, 4, [0.25, 0.75, 0, 0, 0]),
    token(2, 'met', 5, 8, [0.875, 0, 0.125, 0, 0]),
    token(3, 'Bob', 9, 12, [0.375, 0.625, 0, 0, 0]), // B-PER 0.625
  ];
  const windowB = [
    token(1, 'met', 5, 8, [0.75, 0, 0.25, 0, 0]),
    token(2, 'Bob', 9, 12, [0.125, 0.875, 0, 0, 0]), // B-PER 0.875
    token(3, 'Smith', 13, 18, [0.125, 0, 0.625, 0, 0.25]), // I-PER 0.625
  ];

  it('aggregateOverlappingEntities keeps the longer entity, then the higher score', () => {
    const entities = [
      { start: 10, end: 14, score: 0.6, id: 'loc-low' },
      { start: 0, end: 4, score: 0.5, id: 'short' },
      { start: 0, end: 8, score: 0.4, id: 'long' },
      { start: 10, end: 14, score: 0.7, id: 'loc-high' },
      { start: 20, end: 22, score: 0.1, id: 'alone' },
    ];
    // Sorted by start (stable): short, long, loc-low, loc-high, alone.
    // short vs long: long is longer. loc-low vs loc-high: same length, higher score.
    expect(aggregateOverlappingEntities(entities).map((e) => e.id)).toEqual(['long', 'loc-high', 'alone']);
    expect(aggregateOverlappingEntities([])).toEqual([]);
  });

  it('aggregateWindowedTokens follows HF stride: per window, then overlapping entities', () => {
    // Window A: PER "Anna" (0.75), PER "Bob" 9..12 (0.625). Window B: PER "Bob Smith" 9..18, score
    // (0.875 + 0.625) / 2 = 0.75. "Bob Smith" starts inside "Bob" and is longer, so it wins.
    const groups = aggregateWindowedTokens({
      ...wordPiece(text, []),
      windows: [windowA, windowB],
      strategy: 'simple',
    });
    expect(groups).toEqual([
      { entityGroup: 'PER', score: 0.75, word: 'Anna', start: 0, end: 4 },
      { entityGroup: 'PER', score: 0.75, word: 'Bob Smith', start: 9, end: 18 },
    ]);
  });

  it('mergeWindowPredictions keeps each token from the window where it is furthest from an edge', () => {
    // Distance to the nearer edge: window A: Anna 0, met 1, Bob 0; window B: met 0, Bob 1, Smith 0.
    const merged = mergeWindowPredictions([windowA, windowB]);
    expect(merged).toEqual([windowA[0], windowA[1], windowB[1], windowB[2]]);
    expect(merged[2]).toBe(windowB[1]);
    // On equal distance the earlier window wins.
    const tieA = [token(1, 'x', 0, 1, [1, 0, 0, 0, 0])];
    const tieB = [token(1, 'x', 0, 1, [0, 1, 0, 0, 0])];
    expect(mergeWindowPredictions([tieA, tieB])[0]).toBe(tieA[0]);
  });

  it("'none' over windows uses the merged tokens", () => {
    const entities = aggregateWindowedTokens({
      ...wordPiece(text, []),
      windows: [windowA, windowB],
      strategy: 'none',
    });
    // Bob from window B (B-PER 0.875), Smith I-PER 0.625; met is "O" in both.
    expect(entities).toEqual([
      { entity: 'B-PER', score: 0.75, index: 1, word: 'Anna', start: 0, end: 4 },
      { entity: 'B-PER', score: 0.875, index: 2, word: 'Bob', start: 9, end: 12 },
      { entity: 'I-PER', score: 0.625, index: 3, word: 'Smith', start: 13, end: 18 },
    ]);
  });

  it('a single window is plain aggregateTokens', () => {
    const one = aggregateWindowedTokens({ ...wordPiece(text, []), windows: [windowB], strategy: 'simple' });
    expect(one).toEqual([{ entityGroup: 'PER', score: 0.75, word: 'Bob Smith', start: 9, end: 18 }]);
  });
});
