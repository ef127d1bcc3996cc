/**
 * Extractive question-answering post-processing with the semantics of Hugging Face transformers'
 * QuestionAnsweringPipeline.postprocess, select_starts_ends, decode_spans and get_indices
 * (src/transformers/pipelines/question_answering.py, fast-tokenizer path, as in transformers 4.57; the
 * pipeline is gone from 5.3). Pure and synchronous. test/reference/hf-question-answering.test.ts compares the
 * pipeline with transformers' own on the demo model.
 *
 * As HF's, each window contributes its best `2 * topK + 10` spans when aligning to words (`topK` without):
 * spans that widen to the same words (or differ only in case) become one answer whose score is the sum of
 * theirs, so the over-fetch changes the scores and the ranking, not only the candidates.
 *
 * Deliberate differences from HF:
 * 1. Non-context tokens are masked for both question/context orders. HF builds p_mask only when the
 *    question comes first (`tok != 1 if question_first else 0`), so with the context first it lets
 *    question tokens be answers; that is a bug we do not copy.
 * 2. The null score and the zeroed CLS probability use `clsIndex`; HF hard-codes position 0 (where
 *    BERT, RoBERTa and DistilBERT put CLS when the question comes first, so the results agree).
 * 3. HF picks each window's best spans among all start×end cells, then drops spans outside the
 *    context; when a window has fewer valid spans than it picks, it fills up with zero-score cells
 *    such as end < start, (CLS, CLS) or spans longer than maxAnswerLen, which reach the results when
 *    there are fewer than topK real answers. We rank only valid spans (both ends in the context,
 *    start <= end, length <= maxAnswerLen), so we can return fewer answers than HF (never its
 *    zero-score fillers), never other ones. Among equal scores we prefer the lower (start, end), where
 *    numpy's argpartition/quicksort order is unspecified; HF's top_k=1 argmax also takes the lowest.
 */
import { TorchEncodersError } from '../errors';
import { softmax } from '../math';

/** The model's outputs and the tokenizer's alignment for one window (one encoding) of the input. */
export interface QaWindow {
  startLogits: ArrayLike<number>;
  endLogits: ArrayLike<number>;
  /** Per token, [start, end) character offsets into the context string. */
  offsets: ReadonlyArray<readonly [number, number]>;
  /** Per token, the encoding's sequence id (null for special and padding tokens). */
  sequenceIds: ReadonlyArray<number | null>;
  /** Per token, the encoding's word id within its sequence (null for special tokens). */
  wordIds: ReadonlyArray<number | null>;
  /** Position of the CLS token, whose probability is the "no answer" score. Usually 0. */
  clsIndex: number;
}

export interface QaAnswer {
  answer: string;
  score: number;
  start: number;
  end: number;
}

export interface FindAnswersArgs {
  /** The context the offsets point into. */
  context: string;
  /** The windows of one (question, context) pair, in order; at least one. */
  windows: readonly QaWindow[];
  /** The sequence id of the context tokens: 1 when the question comes first (right padding). */
  contextSequenceId: 0 | 1;
  /** Number of answers to return, at least 1 (HF's default: 1). Fewer when there are fewer spans. */
  topK: number;
  /** Longest answer in tokens, at least 1 (HF's default: 15). */
  maxAnswerLen: number;
  /** Adds the empty answer scored by the CLS token (HF's default: false). */
  handleImpossibleAnswer: boolean;
  /** Widens each answer to whole words of the context (HF's default: true). */
  alignToWords: boolean;
}

/** HF's -10000.0 fill for the logits of tokens that cannot be part of an answer. */
const MASKED_LOGIT = -10000;

/**
 * The best answer spans of a context across its windows. Throws E_BAD_INPUT when a window's arrays
 * disagree in length, clsIndex is outside the window, or topK / maxAnswerLen is not a positive integer.
 */
export function findAnswers(args: FindAnswersArgs): QaAnswer[] {
  const { context, windows, contextSequenceId, topK, maxAnswerLen, handleImpossibleAnswer, alignToWords } =
    args;
  checkPositiveInteger('topK', topK);
  checkPositiveInteger('maxAnswerLen', maxAnswerLen);
  if (windows.length === 0) throw badInput('windows must hold at least one window; got none');
  // HF's pre_topk: some candidates merge once widened to words, so more are taken than are returned.
  const perWindow = alignToWords ? 2 * topK + 10 : topK;

  // HF starts from a large positive score and keeps the minimum over windows: the answer "nothing" is
  // only as likely as in the window that most believes there is an answer.
  let minNullScore = 1000000;
  const answers: QaAnswer[] = [];
  windows.forEach((window, w) => {
    const n = checkWindow(window, w);
    const { sequenceIds, clsIndex } = window;

    // p_mask inverted: context tokens and CLS may take part in the softmax; everything else is masked.
    const desired = new Uint8Array(n);
    for (let i = 0; i < n; i++) desired[i] = sequenceIds[i] === contextSequenceId || i === clsIndex ? 1 : 0;
    const startProbs = softmax(masked(window.startLogits, desired));
    const endProbs = softmax(masked(window.endLogits, desired));
    if (handleImpossibleAnswer) {
      // float32 product, as numpy multiplies two float32 arrays.
      minNullScore = Math.min(
        minNullScore,
        Math.fround((startProbs[clsIndex] as number) * (endProbs[clsIndex] as number)),
      );
    }
    // CLS is then excluded from the span search.
    startProbs[clsIndex] = 0;
    endProbs[clsIndex] = 0;

    for (const span of topSpans(startProbs, endProbs, desired, clsIndex, maxAnswerLen, perWindow)) {
      const { start, end } = charSpan(window, span.start, span.end, contextSequenceId, alignToWords);
      const text = context.slice(start, end);
      // HF merges answers of equal text (case-insensitively), across windows too, by adding scores;
      // the first occurrence keeps its offsets.
      const lower = text.toLowerCase();
      const same = answers.find((answer) => answer.answer.toLowerCase() === lower);
      if (same !== undefined) same.score += span.score;
      else answers.push({ answer: text, score: span.score, start, end });
    }
  });

  if (handleImpossibleAnswer) answers.push({ answer: '', score: minNullScore, start: 0, end: 0 });
  // Array.prototype.sort is stable, as Python's sorted: equal scores keep their discovery order.
  return answers.sort((a, b) => b.score - a.score).slice(0, topK);
}

/** HF decode_spans restricted to valid spans (see difference 3 above): the top `k` by score. */
function topSpans(
  startProbs: Float32Array,
  endProbs: Float32Array,
  desired: Uint8Array,
  clsIndex: number,
  maxAnswerLen: number,
  k: number,
): Array<{ start: number; end: number; score: number }> {
  const n = startProbs.length;
  const spans: Array<{ start: number; end: number; score: number }> = [];
  for (let s = 0; s < n; s++) {
    if (!desired[s] || s === clsIndex) continue;
    // np.tril(np.triu(outer), max_answer_len - 1): end >= start and end - start <= max_answer_len - 1.
    const last = Math.min(n - 1, s + maxAnswerLen - 1);
    for (let e = s; e <= last; e++) {
      if (!desired[e] || e === clsIndex) continue;
      // float32 product, as numpy's outer product of two float32 vectors.
      spans.push({
        start: s,
        end: e,
        score: Math.fround((startProbs[s] as number) * (endProbs[e] as number)),
      });
    }
  }
  // Spans were generated in row-major (start, end) order, so a stable sort breaks ties by it.
  spans.sort((a, b) => b.score - a.score);
  return spans.slice(0, k);
}

/**
 * HF get_indices: the character span of tokens s..e. With alignToWords, from the start of the first
 * token's word to the end of the last token's word (tokenizers' word_to_chars within this window and
 * the context sequence); when either token has no word id, HF's `except` falls back to the raw token
 * offsets for both ends.
 */
function charSpan(
  window: QaWindow,
  s: number,
  e: number,
  contextSequenceId: number,
  alignToWords: boolean,
): { start: number; end: number } {
  const { offsets, wordIds } = window;
  if (alignToWords) {
    const startWord = wordIds[s];
    const endWord = wordIds[e];
    if (startWord != null && endWord != null) {
      const startChars = wordToChars(window, startWord, contextSequenceId);
      const endChars = wordToChars(window, endWord, contextSequenceId);
      if (startChars !== null && endChars !== null) return { start: startChars[0], end: endChars[1] };
    }
  }
  return {
    start: (offsets[s] as readonly [number, number])[0],
    end: (offsets[e] as readonly [number, number])[1],
  };
}

/** tokenizers' Encoding.word_to_chars: from the first to the last token of `word` in `sequence`. */
function wordToChars(window: QaWindow, word: number, sequence: number): [number, number] | null {
  const { offsets, wordIds, sequenceIds } = window;
  let first = -1;
  let last = -1;
  for (let i = 0; i < wordIds.length; i++) {
    if (wordIds[i] === word && sequenceIds[i] === sequence) {
      if (first === -1) first = i;
      last = i;
    }
  }
  if (first === -1) return null;
  return [(offsets[first] as readonly [number, number])[0], (offsets[last] as readonly [number, number])[1]];
}

function masked(logits: ArrayLike<number>, desired: Uint8Array): Float64Array {
  const out = new Float64Array(desired.length);
  for (let i = 0; i < desired.length; i++) out[i] = desired[i] ? (logits[i] as number) : MASKED_LOGIT;
  return out;
}

/** Checks that a window's arrays agree; returns its token count. */
function checkWindow(window: QaWindow, w: number): number {
  const n = window.startLogits.length;
  const lengths: Array<[string, number]> = [
    ['endLogits', window.endLogits.length],
    ['offsets', window.offsets.length],
    ['sequenceIds', window.sequenceIds.length],
    ['wordIds', window.wordIds.length],
  ];
  for (const [name, length] of lengths) {
    if (length !== n) {
      throw badInput(
        `windows[${w}].${name} must have one entry per token (${n}, as startLogits); got ${length}`,
      );
    }
  }
  if (!Number.isInteger(window.clsIndex) || window.clsIndex < 0 || window.clsIndex >= n) {
    throw badInput(
      `windows[${w}].clsIndex must be an integer from 0 to ${n - 1}; got ${String(window.clsIndex)}`,
    );
  }
  return n;
}

function checkPositiveInteger(name: string, value: number): void {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw badInput(`${name} must be an integer >= 1; got ${String(value)}`);
  }
}

function badInput(message: string): TorchEncodersError {
  return new TorchEncodersError('E_BAD_INPUT', `findAnswers: ${message}`);
}
