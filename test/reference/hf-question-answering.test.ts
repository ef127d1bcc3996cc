// The question-answering pipeline against Hugging Face transformers' own (4.57, fast-tokenizer path) on the
// demo model: test/reference/goldens/question-answering.json holds what
// pipeline('question-answering', 'models/qa') answered (tools/hf_reference/question_answering.py), for short,
// Unicode and multi-window SQuAD contexts under every option the two pipelines share. Answers, offsets and
// order must be equal and scores agree to 1e-4 (relative), apart from the deliberate differences named in
// DEVIATIONS below, each checked as exactly what it is.
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  pipeline,
  type QaAnswer,
  type QuestionAnsweringInput,
  type QuestionAnsweringOptions,
  type QuestionAnsweringPipeline,
} from '../../lib';
import { ROOT } from '../helpers/venv-python';

const GOLDEN_FILE = path.join(ROOT, 'test/reference/goldens/question-answering.json');
const REGENERATE_DIRECT = '.venv/bin/python tools/hf_reference/question_answering.py';
const SCORE_RELATIVE_TOLERANCE = 1e-4;

/** Hugging Face's option names and ours: the one place the two are mapped. */
const OPTION_NAMES = {
  top_k: 'topK',
  doc_stride: 'docStride',
  max_seq_len: 'maxSeqLen',
  max_question_len: 'maxQuestionLen',
  max_answer_len: 'maxAnswerLen',
  handle_impossible_answer: 'handleImpossibleAnswer',
  align_to_words: 'alignToWords',
} as const satisfies Record<string, keyof QuestionAnsweringOptions>;
type HfOptionName = keyof typeof OPTION_NAMES;

interface GoldenCase {
  id: string;
  description: string;
  options: Partial<Record<HfOptionName, number | boolean>>;
  resolved_options: Record<HfOptionName, number | boolean>;
  inputs: QuestionAnsweringInput[];
  results: QaAnswer[][];
  question_cut?: { questions: string[]; results: QaAnswer[][] };
  squad?: Array<{ gold: { answer: string; start: number }; gold_windows: Record<string, number[]> }>;
}
interface Golden {
  meta: { model: string; file: string; sha256: string; transformers: string; regenerate: string };
  cases: GoldenCase[];
}

const golden = JSON.parse(fs.readFileSync(GOLDEN_FILE, 'utf8')) as Golden;
const caseById = (id: string): GoldenCase => {
  const found = golden.cases.find((c) => c.id === id);
  if (found === undefined) throw new Error(`${GOLDEN_FILE} has no case '${id}'`);
  return found;
};

function ourOptions(options: GoldenCase['options']): QuestionAnsweringOptions {
  const mapped: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(options)) {
    if (!(name in OPTION_NAMES)) throw new Error(`the golden uses option ${name}, which is not mapped`);
    mapped[OPTION_NAMES[name as HfOptionName]] = value;
  }
  return mapped as QuestionAnsweringOptions;
}

/**
 * The deliberate differences from Hugging Face's pipeline (README, lib/tasks/qa-spans.ts and
 * lib/tasks/question-answering.ts), each as the change it makes to Hugging Face's answers.
 */
const DEVIATIONS = {
  /**
   * Where a window has fewer valid spans than Hugging Face picks per window (2 * top_k + 10), it fills up with
   * zero-score cells (end before start, the CLS cell, spans longer than max_answer_len), which reach its
   * results when there are fewer than top_k real answers. We return valid spans only: Hugging Face's answers
   * without those of score exactly 0.
   */
  zeroScoreFillers(answers: QaAnswer[]): { kept: QaAnswer[]; dropped: QaAnswer[] } {
    return {
      kept: answers.filter((a) => a.score !== 0),
      dropped: answers.filter((a) => a.score === 0),
    };
  },
  /**
   * maxQuestionLen cuts the question after its first maxQuestionLen tokens; Hugging Face's fast-tokenizer path
   * ignores max_question_len and keeps the whole question. Our answers to a long question are Hugging Face's
   * answers to the question cut as we cut it (the golden's question_cut).
   */
  questionCut(goldenCase: GoldenCase): QaAnswer[][] {
    return goldenCase.question_cut?.results ?? goldenCase.results;
  },
};

function expectedAnswers(goldenCase: GoldenCase): QaAnswer[][] {
  return DEVIATIONS.questionCut(goldenCase).map((answers) => DEVIATIONS.zeroScoreFillers(answers).kept);
}

const close = (a: number, b: number): boolean =>
  Math.abs(a - b) <= SCORE_RELATIVE_TOLERANCE * Math.max(Math.abs(a), Math.abs(b)) + 1e-12;
const sameSpan = (a: QaAnswer, b: QaAnswer): boolean =>
  a.answer === b.answer && a.start === b.start && a.end === b.end;
const show = (a: QaAnswer | undefined): string =>
  a === undefined ? 'nothing' : `${JSON.stringify(a.answer)} [${a.start}, ${a.end}) ${a.score}`;

/**
 * Differences between our answers and Hugging Face's, as readable lines (none when they agree). Two answers
 * whose scores agree within the tolerance may come in either order (the two compute the same float32 scores
 * in different orders, and numpy's partition leaves ties unordered); an answer of ours that Hugging Face cut
 * off is accepted only in place of one with the same score.
 */
function differences(ours: QaAnswer[], theirs: QaAnswer[], context: string): string[] {
  const lines: string[] = [];
  if (ours.length !== theirs.length) lines.push(`${ours.length} answers, Hugging Face ${theirs.length}`);
  for (let k = 0; k < Math.max(ours.length, theirs.length); k++) {
    const mine = ours[k];
    const hf = theirs[k];
    if (mine === undefined || hf === undefined) {
      lines.push(`#${k}: ours ${show(mine)}, Hugging Face ${show(hf)}`);
      continue;
    }
    if (mine.answer !== context.slice(mine.start, mine.end) && !(mine.answer === '' && mine.start === 0)) {
      lines.push(`#${k}: ours ${show(mine)} is not the slice of the context at its offsets`);
    }
    if (sameSpan(mine, hf)) {
      if (!close(mine.score, hf.score)) lines.push(`#${k}: ${show(mine)}, Hugging Face's score ${hf.score}`);
      continue;
    }
    const elsewhere = theirs.find((a) => sameSpan(a, mine));
    const tied =
      close(mine.score, hf.score) && (elsewhere === undefined || close(elsewhere.score, mine.score));
    if (!tied) lines.push(`#${k}: ours ${show(mine)}, Hugging Face ${show(hf)}`);
  }
  return lines;
}

describe('question-answering against Hugging Face transformers (models/qa)', () => {
  let qa: QuestionAnsweringPipeline;

  beforeAll(async () => {
    const model = path.join(ROOT, golden.meta.model);
    const weights = path.join(model, golden.meta.file);
    if (!fs.existsSync(weights)) {
      throw new Error(`${weights} is missing: build the demo models (npm run build:demo-models)`);
    }
    const sha256 = crypto.createHash('sha256').update(fs.readFileSync(weights)).digest('hex');
    if (sha256 !== golden.meta.sha256) {
      throw new Error(
        `${path.relative(ROOT, GOLDEN_FILE)} is stale: it was computed from ${golden.meta.model}/${golden.meta.file} ` +
          `with sha256 ${golden.meta.sha256}, the file now has ${sha256}. Regenerate it: ` +
          `${golden.meta.regenerate} (or ${REGENERATE_DIRECT} alone)`,
      );
    }
    qa = await pipeline('question-answering', model, { threads: 2 });
  });
  afterAll(() => qa?.dispose());

  it.each(golden.cases.map((c) => [c.id, c] as const))('%s', async (_id, goldenCase) => {
    const options = ourOptions(goldenCase.options);
    const expected = expectedAnswers(goldenCase);
    const ours =
      goldenCase.inputs.length === 1
        ? [await qa(goldenCase.inputs[0]!, options)]
        : await qa(goldenCase.inputs, options);
    expect(ours).toHaveLength(goldenCase.inputs.length);
    const report = goldenCase.inputs.flatMap((input, i) =>
      differences(ours[i]!, expected[i]!, input.context).map(
        (line) => `inputs[${i}] (${JSON.stringify(input.question)}): ${line}`,
      ),
    );
    expect(report).toEqual([]);
  });

  it('the goldens cover every option both pipelines have, and contexts of several windows', async () => {
    const given = new Set(golden.cases.flatMap((c) => Object.keys(c.options)));
    expect([...given].sort()).toEqual(Object.keys(OPTION_NAMES).sort());
    const values = (name: HfOptionName) => new Set(golden.cases.map((c) => c.resolved_options[name]));
    expect(values('handle_impossible_answer')).toEqual(new Set([true, false]));
    expect(values('align_to_words')).toEqual(new Set([true, false]));
    expect([...values('top_k')].some((k) => (k as number) > 1)).toBe(true);
    expect(values('top_k').has(1)).toBe(true);
    expect(golden.cases.some((c) => c.inputs.length > 1)).toBe(true);
    // The SQuAD contexts need several windows, and at least two of their questions have the gold answer only
    // in a later one.
    const long = caseById('squad-long-defaults');
    for (const input of long.inputs) {
      const windows = await qa.model.tokenizer!.encodeWithOverflow([input.question, input.context], {
        maxLength: long.resolved_options.max_seq_len as number,
        stride: long.resolved_options.doc_stride as number,
        truncation: 'only_second',
      });
      expect(windows.length).toBeGreaterThanOrEqual(2);
    }
    const later = long.squad!.filter((q) => {
      const windows = q.gold_windows['384/128']!;
      return windows.length > 0 && windows.every((w) => w >= 1);
    });
    expect(later.length).toBeGreaterThanOrEqual(2);
  });

  it('offsets are UTF-16 indices (Hugging Face counts code points; the golden converted them)', () => {
    // Hugging Face's answers are slices of the context too: the golden's converted offsets must cut them out.
    let astral = 0;
    for (const goldenCase of golden.cases) {
      goldenCase.inputs.forEach((input, i) => {
        for (const a of goldenCase.results[i]!) {
          if (a.score === 0) continue;
          expect(input.context.slice(a.start, a.end)).toBe(a.answer);
          if ([...input.context.slice(0, a.start)].length !== a.start) astral++;
        }
      });
    }
    // The Unicode cases do put answers after characters outside the BMP, where the two counts differ.
    expect(astral).toBeGreaterThan(0);
  });

  it("deviation: Hugging Face's zero-score filler answers are left out, and only they", async () => {
    const goldenCase = caseById('short-top_k-20');
    const options = ourOptions(goldenCase.options);
    let dropped = 0;
    for (const [i, input] of goldenCase.inputs.entries()) {
      const split = DEVIATIONS.zeroScoreFillers(goldenCase.results[i]!);
      dropped += split.dropped.length;
      const ours = await qa(input, options);
      // Every answer of ours is one of Hugging Face's positive ones; none has score 0.
      expect(differences(ours, split.kept, input.context)).toEqual([]);
      expect(ours.every((a) => a.score > 0)).toBe(true);
    }
    expect(dropped).toBeGreaterThan(0);
  });

  it('deviation: maxQuestionLen cuts the question, where Hugging Face keeps it whole', async () => {
    const tokenizer = qa.model.tokenizer!;
    for (const id of ['question-cut-16', 'question-cut-64']) {
      const goldenCase = caseById(id);
      const cut = goldenCase.question_cut!;
      const maxQuestionLen = goldenCase.resolved_options.max_question_len as number;
      for (const [i, input] of goldenCase.inputs.entries()) {
        const [whole] = await tokenizer.encodeBatch([input.question], { addSpecialTokens: false });
        const [kept] = await tokenizer.encodeBatch([cut.questions[i]!], { addSpecialTokens: false });
        expect(whole!.ids.length).toBeGreaterThan(maxQuestionLen);
        expect(kept!.ids).toEqual(whole!.ids.slice(0, maxQuestionLen));
        expect(input.question.startsWith(cut.questions[i]!)).toBe(true);
      }
    }
  });
});
