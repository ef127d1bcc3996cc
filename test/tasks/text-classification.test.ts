import * as path from 'node:path';
import { pipeline, type TextClassificationPipeline } from '../../lib';
import { expectError, rejection } from '../helpers/errors';
import { FIXTURES } from '../helpers/fixtures';
import { runVenvPythonJson } from '../helpers/venv-python';

const TEXTS = [
  'I loved this film, the acting was superb.',
  'Terrible service, never again.',
  '',
  'Crème brûlée à São Paulo 🍕 東京',
  'word '.repeat(300),
  'ok',
];
const PAIR = { text: 'The cat sat on the mat.', textPair: 'A cat is sitting.' };
const SINGLE = 'sequence-classification';
const MULTI_LABEL = 'multi-label-classification';
const REGRESSION = 'regression';

// The expected scores come from outside lib/: transformers' tokenizer (reading the fixture's
// tokenizer.json and tokenizer_config.json, truncating to its model_max_length) and Python torch
// running the fixture's model.pt, with softmax and sigmoid in float64.
const REFERENCE_SCRIPT = `
import json, sys
import torch
from transformers import AutoTokenizer

torch.set_num_threads(1)
answers = {}
for folder, inputs in json.load(sys.stdin).items():
    tokenizer = AutoTokenizer.from_pretrained(folder)
    model = torch.jit.load(folder + "/model.pt")
    names = [argument.name for argument in model.forward.schema.arguments[1:]]
    rows = []
    for item in inputs:
        text, pair = (item, None) if isinstance(item, str) else item
        encoded = tokenizer(text, pair, truncation=True, return_tensors="pt")
        with torch.inference_mode():
            logits = model(*[encoded[name] for name in names])[0].double()
        rows.append({
            "ids": encoded["input_ids"][0].tolist(),
            "logits": logits.tolist(),
            "softmax": torch.softmax(logits, -1).tolist(),
            "sigmoid": torch.sigmoid(logits).tolist(),
        })
    answers[folder] = rows
json.dump(answers, sys.stdout)
`;

interface Reference {
  ids: number[];
  logits: number[];
  softmax: number[];
  sigmoid: number[];
}

type Input = string | { text: string; textPair: string };

/** Python's token ids, logits and probabilities for each input of each fixture, in one process. */
function pythonReferences(requests: Record<string, Input[]>): Record<string, Reference[]> {
  const folders = Object.fromEntries(
    Object.entries(requests).map(([name, inputs]) => [
      path.join(FIXTURES, name),
      inputs.map((input) => (typeof input === 'string' ? input : [input.text, input.textPair])),
    ]),
  );
  const answers = runVenvPythonJson<Record<string, Reference[]>>(REFERENCE_SCRIPT, folders);
  return Object.fromEntries(Object.keys(requests).map((name) => [name, answers[path.join(FIXTURES, name)]!]));
}

let references: Record<string, Reference[]>;
beforeAll(() => {
  references = pythonReferences({
    [SINGLE]: [...TEXTS, PAIR, `${PAIR.text} ${PAIR.textPair}`],
    [MULTI_LABEL]: [TEXTS[0]!],
    [REGRESSION]: [TEXTS[1]!],
  });
}, 120_000);

/** Python's reference for an input of the single-label fixture. */
function reference(input: Input): Reference {
  const index = typeof input === 'string' ? TEXTS.indexOf(input) : input === PAIR ? TEXTS.length : -1;
  if (index < 0) throw new Error(`no Python reference for ${JSON.stringify(input)}`);
  return references[SINGLE]![index]!;
}

/** float32 logits through libtorch against float64 in Python: agreement to ~1e-6. */
const DIGITS = 5;

describe('text-classification (single-label fixture: negative / neutral / positive)', () => {
  const LABELS = ['negative', 'neutral', 'positive'];
  let classify: TextClassificationPipeline;
  beforeAll(async () => {
    classify = await pipeline('text-classification', path.join(FIXTURES, SINGLE), { threads: 2 });
  });
  afterAll(() => classify.dispose());

  it("tokenizes as transformers' tokenizer does, truncation and pairs included", async () => {
    for (const input of [...TEXTS, PAIR]) {
      const batch = await classify.model.encode(input);
      expect(batch.encodings[0]!.ids).toEqual(reference(input).ids);
    }
  });

  it('returns the top label with its softmax probability by default', async () => {
    for (const text of TEXTS) {
      const expected = reference(text).softmax;
      const best = expected.indexOf(Math.max(...expected));
      const result = await classify(text);
      expect(result).toHaveLength(1);
      expect(result[0]!.label).toBe(LABELS[best]);
      expect(result[0]!.score).toBeCloseTo(expected[best]!, DIGITS);
    }
  });

  it('topK null returns every label sorted by score; topK 2 the best two', async () => {
    const text = TEXTS[0]!;
    const probabilities = reference(text).softmax;
    const all = await classify(text, { topK: null });
    expect(all.map((r) => r.label).sort()).toEqual(LABELS);
    for (let i = 1; i < all.length; i++) expect(all[i - 1]!.score).toBeGreaterThanOrEqual(all[i]!.score);
    for (const { label, score } of all) {
      expect(score).toBeCloseTo(probabilities[LABELS.indexOf(label)]!, DIGITS);
    }
    expect(await classify(text, { topK: 2 })).toEqual(all.slice(0, 2));
    expect(await classify(text, { topK: 10 })).toEqual(all);
  });

  it('predicts more than one label across inputs (the fixture is not degenerate)', async () => {
    const expected = new Set(
      TEXTS.map((text) => {
        const p = reference(text).softmax;
        return LABELS[p.indexOf(Math.max(...p))];
      }),
    );
    expect(expected.size).toBeGreaterThan(1);
    const labels = new Set((await classify(TEXTS)).map((r) => r[0]!.label));
    expect(labels).toEqual(expected);
  });

  it('functionToApply sigmoid and none', async () => {
    const { logits, sigmoid: expected } = reference(TEXTS[1]!);
    const sigmoid = await classify(TEXTS[1]!, { topK: null, functionToApply: 'sigmoid' });
    const none = await classify(TEXTS[1]!, { topK: null, functionToApply: 'none' });
    expect(sigmoid).toHaveLength(3);
    expect(none).toHaveLength(3);
    for (const { label, score } of sigmoid)
      expect(score).toBeCloseTo(expected[LABELS.indexOf(label)]!, DIGITS);
    for (const { label, score } of none) expect(score).toBeCloseTo(logits[LABELS.indexOf(label)]!, DIGITS);
  });

  it('classifies text pairs with segment ids', async () => {
    const expected = reference(PAIR).softmax;
    const result = await classify(PAIR, { topK: null });
    expect(result).toHaveLength(3);
    for (const { label, score } of result) {
      expect(score).toBeCloseTo(expected[LABELS.indexOf(label)]!, DIGITS);
    }
    // The same words as one segment score otherwise, in Python as here.
    const joined = references[SINGLE]![TEXTS.length + 1]!.softmax;
    expect(Math.max(...joined.map((p, i) => Math.abs(p - expected[i]!)))).toBeGreaterThan(1e-3);
    const single = await classify(`${PAIR.text} ${PAIR.textPair}`, { topK: null });
    expect(single).not.toEqual(result);
    for (const { label, score } of single) expect(score).toBeCloseTo(joined[LABELS.indexOf(label)]!, DIGITS);
  });

  it('batched results equal one-by-one results to 1e-5 and the references, in input order', async () => {
    const batched = await classify(TEXTS, { topK: null, batchSize: 2, maxBatchTokens: 300 });
    expect(batched).toHaveLength(TEXTS.length);
    for (let i = 0; i < TEXTS.length; i++) {
      const single = await classify(TEXTS[i]!, { topK: null });
      expect(batched[i]!.map((r) => r.label)).toEqual(single.map((r) => r.label));
      batched[i]!.forEach((r, k) => expect(Math.abs(r.score - single[k]!.score)).toBeLessThanOrEqual(1e-5));
      const expected = reference(TEXTS[i]!).softmax;
      for (const { label, score } of batched[i]!) {
        expect(score).toBeCloseTo(expected[LABELS.indexOf(label)]!, DIGITS);
      }
    }
  });

  it('truncates long inputs to the model maximum (128 tokens) and still answers', async () => {
    const batch = await classify.model.encode(TEXTS[4]!);
    expect(batch.dims).toEqual([1, 128]);
    expect(reference(TEXTS[4]!).ids).toHaveLength(128);
    const expected = reference(TEXTS[4]!).softmax;
    const [top] = await classify(TEXTS[4]!);
    expect(top!.score).toBeCloseTo(Math.max(...expected), DIGITS);
  });

  describe('BAD CALL', () => {
    it.each([
      [42, 'text-classification: input must be a string or { text, textPair } of strings; got the number 42'],
      [null, 'text-classification: input must be a string or { text, textPair } of strings; got null'],
      [
        { text: 'a' },
        'text-classification: input must be a string or { text, textPair } of strings; got an object',
      ],
    ])('input %p', async (input, message) => {
      expectError(await rejection(classify(input as unknown as string)), 'E_BAD_INPUT', message);
    });

    it('a non-string inside an array names its index', async () => {
      expectError(
        await rejection(classify(['fine', 7 as unknown as string])),
        'E_BAD_INPUT',
        'text-classification: inputs[1] must be a string or { text, textPair } of strings; got the number 7',
      );
    });

    it.each([
      [{ topK: 0 }, 'text-classification: options.topK must be an integer >= 1; got the number 0'],
      [{ topK: 1.5 }, 'text-classification: options.topK must be an integer >= 1; got the number 1.5'],
      [
        { functionToApply: 'relu' },
        "text-classification: options.functionToApply must be one of 'softmax', 'sigmoid', 'none'; got the string 'relu'",
      ],
      [{ batchSize: 0 }, 'text-classification: options.batchSize must be an integer >= 1; got the number 0'],
      [
        { top_k: 2 },
        "text-classification: unknown option 'top_k'; known options are 'topK', 'functionToApply', 'truncate', 'batchSize', 'maxBatchTokens', 'signal', 'onStats'",
      ],
    ])('options %p', async (options, message) => {
      expectError(await rejection(classify('fine', options as object)), 'E_BAD_INPUT', message);
    });
  });
});

describe('text-classification defaults from config.json', () => {
  it('multi-label models use sigmoid: scores are independent', async () => {
    await using classify = await pipeline('text-classification', path.join(FIXTURES, MULTI_LABEL));
    const expected = references[MULTI_LABEL]![0]!.sigmoid;
    const labels = ['sports', 'politics', 'tech', 'health'];
    const result = await classify(TEXTS[0]!, { topK: null });
    expect(result).toHaveLength(4);
    for (const { label, score } of result)
      expect(score).toBeCloseTo(expected[labels.indexOf(label)]!, DIGITS);
    // Independent scores: sigmoids of 4 logits do not sum to 1 (softmax's would).
    expect(Math.abs(expected.reduce((a, b) => a + b, 0) - 1)).toBeGreaterThan(1e-3);
  });

  it('regression models apply nothing: the score is the raw output', async () => {
    await using classify = await pipeline('text-classification', path.join(FIXTURES, REGRESSION));
    const [logit] = references[REGRESSION]![0]!.logits;
    expect(await classify(TEXTS[1]!)).toEqual([{ label: 'LABEL_0', score: expect.closeTo(logit!, DIGITS) }]);
  });
});
