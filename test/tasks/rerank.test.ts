// The rerank pipeline on the demo cross-encoder (models/rerank, built by tools/build_demo_models.py),
// against Hugging Face in Python on the same directory: transformers' AutoTokenizer and
// AutoModelForSequenceClassification reading model.safetensors (not the model.pt under test),
// run in float64, and sentence-transformers' CrossEncoder.rank. Nothing is hard-coded: the
// reference is computed at test time, so it follows whatever weights the directory holds.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pipeline, type RerankPipeline, type RerankResult } from '../../lib';
import { expectError, rejection } from '../helpers/errors';
import { ROOT, runVenvPythonJson } from '../helpers/venv-python';

const RERANK = path.join(ROOT, 'models', 'rerank');
const SENTIMENT = path.join(ROOT, 'models', 'sentiment');

const QUERIES: [string, string[]][] = [
  [
    'how tall is the eiffel tower',
    [
      'The Eiffel Tower is 330 metres tall.',
      'Paris is the capital of France.',
      '',
      'Bananas are yellow and rich in potassium.',
      'La tour Eiffel mesure 330 mètres — 東京タワー is 333 m 🗼',
    ],
  ],
  [
    'what do giant pandas eat',
    [
      'Giant pandas eat bamboo almost exclusively.',
      'The stock market fell sharply on Monday.',
      'Pandas is a Python library for data frames.',
    ],
  ],
  // Longer than the model's 512 positions with the query: truncated, longest first. On its own,
  // so that the other calls are not padded to 512 tokens.
  ['when was the tower built', ['The tower was built for the 1889 World Fair. '.repeat(60), 'In 1889.']],
];
const [QUERY, DOCUMENTS] = QUERIES[0]!;

const REFERENCE_SCRIPT = `
import json, sys
import torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer
from sentence_transformers import CrossEncoder

torch.set_num_threads(1)
request = json.load(sys.stdin)
folder = request["model"]
tokenizer = AutoTokenizer.from_pretrained(folder)
model = AutoModelForSequenceClassification.from_pretrained(folder, attn_implementation="eager")
model = model.to(torch.float64).eval()
rows = []
for query, documents in request["queries"]:
    pairs = []
    for document in documents:
        # A batch of one, as CrossEncoder tokenizes: called on two strings, transformers drops an
        # empty second text ([CLS] query [SEP]), where a batch keeps it ([CLS] query [SEP] [SEP]).
        encoded = tokenizer([query], [document], truncation=True, return_tensors="pt")
        with torch.inference_mode():
            logits = model(**encoded).logits[0]
        pairs.append({
            "ids": encoded["input_ids"][0].tolist(),
            "logits": logits.tolist(),
            "sigmoid": torch.sigmoid(logits).tolist(),
        })
    rows.append(pairs)
cross_encoder = CrossEncoder(folder, device="cpu")
ranked = [
    [{"index": int(r["corpus_id"]), "score": float(r["score"])} for r in cross_encoder.rank(query, documents)]
    for query, documents in request["queries"]
]
json.dump({"numLabels": model.config.num_labels, "rows": rows, "crossEncoder": ranked}, sys.stdout)
`;

interface Reference {
  numLabels: number;
  /** Per query, per document: transformers' token ids, float64 logits and their sigmoid. */
  rows: { ids: number[]; logits: number[]; sigmoid: number[] }[][];
  /** Per query: CrossEncoder.rank (float32, its default activation), best first. */
  crossEncoder: { index: number; score: number }[][];
}

/** float32 through libtorch against float64 in Python. */
const TOLERANCE = 1e-5;
const close = (actual: number, expected: number) =>
  Math.abs(actual - expected) <= TOLERANCE * Math.max(1, Math.abs(expected));

function expectClose(actual: number, expected: number, what: string): void {
  if (!close(actual, expected))
    throw new Error(`${what}: ${actual} is not within ${TOLERANCE} of ${expected}`);
}

/**
 * `results` hold every document once, ordered by score (ties by index), and that order agrees with
 * the reference's scores up to the tolerance: a pair the reference separates by more is never swapped.
 */
function expectRanking(results: RerankResult[], documents: string[], expected: number[]): void {
  expect(results.map((r) => r.index).sort((a, b) => a - b)).toEqual(documents.map((_, i) => i));
  for (const result of results) expect(result.document).toBe(documents[result.index]);
  for (let k = 1; k < results.length; k++) {
    const [before, after] = [results[k - 1]!, results[k]!];
    expect(before.score > after.score || (before.score === after.score && before.index < after.index)).toBe(
      true,
    );
    expect(expected[before.index]!).toBeGreaterThanOrEqual(expected[after.index]! - 2 * TOLERANCE);
  }
}

let reference: Reference;
let rerank: RerankPipeline;
let scratch: string;
beforeAll(async () => {
  reference = runVenvPythonJson<Reference>(REFERENCE_SCRIPT, { model: RERANK, queries: QUERIES });
  rerank = await pipeline('rerank', RERANK, { threads: 1 });
  scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'torch-encoders-rerank-'));
}, 180_000);
afterAll(async () => {
  await rerank?.dispose();
  fs.rmSync(scratch, { recursive: true, force: true });
});

const logitsOf = (query: number) => reference.rows[query]!.map((row) => row.logits[0]!);
const sigmoidsOf = (query: number) => reference.rows[query]!.map((row) => row.sigmoid[0]!);

describe('rerank (models/rerank against transformers and CrossEncoder)', () => {
  it('the reference model has one label, and its scores are not all the same', () => {
    expect(reference.numLabels).toBe(1);
    const logits = logitsOf(0);
    expect(Math.max(...logits) - Math.min(...logits)).toBeGreaterThan(100 * TOLERANCE);
  });

  it("tokenizes (query, document) pairs as transformers' tokenizer does, truncation included", async () => {
    for (const [q, [query, documents]] of QUERIES.entries()) {
      for (const [d, document] of documents.entries()) {
        const { encodings } = await rerank.model.encode({ text: query, textPair: document });
        expect(encodings[0]!.ids).toEqual(reference.rows[q]![d]!.ids);
      }
    }
    // The long document was cut to the model's 512 positions.
    expect(reference.rows[2]![0]!.ids).toHaveLength(512);
  });

  it('scores every document with the sigmoid of its logit by default, best first', async () => {
    for (const [q, [query, documents]] of QUERIES.entries()) {
      const results = await rerank(query, documents);
      expect(results).toHaveLength(documents.length);
      for (const { index, score } of results) expectClose(score, sigmoidsOf(q)[index]!, `document ${index}`);
      expectRanking(results, documents, logitsOf(q));
    }
  });

  it("equals sentence-transformers' CrossEncoder.rank: the same documents, order and scores", async () => {
    for (const [q, [query, documents]] of QUERIES.entries()) {
      const results = await rerank(query, documents);
      const expected = reference.crossEncoder[q]!;
      const scores = new Map(expected.map(({ index, score }) => [index, score]));
      for (const { index, score } of results) expectClose(score, scores.get(index)!, `document ${index}`);
      expectRanking(
        results,
        documents,
        expected.map((_, i) => scores.get(i)!),
      );
    }
  });

  it("scores 'raw' are the logits, in the same order as the sigmoid scores", async () => {
    const raw = await rerank(QUERY, DOCUMENTS, { scores: 'raw' });
    const sigmoid = await rerank(QUERY, DOCUMENTS, { scores: 'sigmoid' });
    for (const { index, score } of raw) expectClose(score, logitsOf(0)[index]!, `document ${index}`);
    expect(raw.map((r) => r.index)).toEqual(sigmoid.map((r) => r.index));
    // Logits of this model are not already in 0..1 everywhere: the two are different numbers.
    expect(raw.some((r, k) => Math.abs(r.score - sigmoid[k]!.score) > 1e-3)).toBe(true);
  });

  it('topK keeps the best K; more than there are, or null, gives all', async () => {
    const all = await rerank(QUERY, DOCUMENTS);
    expect(await rerank(QUERY, DOCUMENTS, { topK: 2 })).toEqual(all.slice(0, 2));
    expect(await rerank(QUERY, DOCUMENTS, { topK: 1 })).toEqual(all.slice(0, 1));
    expect(await rerank(QUERY, DOCUMENTS, { topK: 100 })).toEqual(all);
    expect(await rerank(QUERY, DOCUMENTS, { topK: null })).toEqual(all);
  });

  it("pipeline options are every call's defaults; a call's own options win", async () => {
    await using top3 = await pipeline('rerank', RERANK, { threads: 1, topK: 3, scores: 'raw' });
    const raw = await rerank(QUERY, DOCUMENTS, { scores: 'raw' });
    expect(await top3(QUERY, DOCUMENTS)).toEqual(raw.slice(0, 3));
    expect(await top3(QUERY, DOCUMENTS, { topK: null, scores: 'sigmoid' })).toEqual(
      await rerank(QUERY, DOCUMENTS),
    );
  });

  it('documents that score the same keep their order (ties by index)', async () => {
    // One pair per forward: identical pairs give bit-identical logits.
    const documents = [
      'Paris is in France.',
      'Bananas are yellow.',
      'Paris is in France.',
      'x',
      'Paris is in France.',
    ];
    const results = await rerank(QUERY, documents, { batchSize: 1, scores: 'raw' });
    const same = results.filter((r) => r.document === 'Paris is in France.');
    expect(same.map((r) => r.index)).toEqual([0, 2, 4]);
    expect(new Set(same.map((r) => r.score)).size).toBe(1);
    // Adjacent in the ranking, as one score.
    const at = results.findIndex((r) => r.index === 0);
    expect(results.slice(at, at + 3)).toEqual(same);
  });

  it('micro-batch options and dynamic batching give the same ranking and scores (1e-5)', async () => {
    const documents = [...DOCUMENTS, ...QUERIES[1]![1]];
    const baseline = await rerank(QUERY, documents, { scores: 'raw' });
    await using batched = await pipeline('rerank', RERANK, { threads: 1, dynamicBatching: true });
    const variants = await Promise.all([
      rerank(QUERY, documents, { scores: 'raw', batchSize: 1 }),
      rerank(QUERY, documents, { scores: 'raw', batchSize: 3, maxBatchTokens: 64 }),
      batched(QUERY, documents, { scores: 'raw' }),
      // Concurrent calls share the dynamic batcher's forwards.
      batched(QUERY, documents.slice(0, 4), { scores: 'raw' }),
    ]);
    for (const variant of variants.slice(0, 3)) {
      expect(variant.map((r) => r.index)).toEqual(baseline.map((r) => r.index));
      variant.forEach((r, k) => expect(Math.abs(r.score - baseline[k]!.score)).toBeLessThanOrEqual(1e-5));
    }
    const subset = new Map(variants[3]!.map((r) => [r.index, r.score]));
    expect([...subset.keys()].sort()).toEqual([0, 1, 2, 3]);
    for (const r of baseline.filter((r) => r.index < 4)) {
      expect(Math.abs(subset.get(r.index)! - r.score)).toBeLessThanOrEqual(1e-5);
    }
  });

  it('an empty documents array gives [] (options still checked)', async () => {
    expect(await rerank(QUERY, [])).toEqual([]);
    expect(await rerank('', [], { topK: 3 })).toEqual([]);
    expectError(
      await rejection(rerank(QUERY, [], { topK: 0 })),
      'E_BAD_INPUT',
      'rerank: options.topK must be an integer >= 1; got the number 0',
    );
  });

  it('an empty query is a query', async () => {
    const results = await rerank('', DOCUMENTS.slice(0, 2));
    expect(results).toHaveLength(2);
  });
});

describe('rerank with a signal', () => {
  it('an already-aborted call rejects with E_ABORTED and its reason', async () => {
    const reason = new Error('timeout');
    const error = await rejection(rerank(QUERY, DOCUMENTS, { signal: AbortSignal.abort(reason) }));
    expectError(error, 'E_ABORTED', 'forward: aborted by its signal');
    expect(error.cause).toBe(reason);
    const withSignal = await rerank(QUERY, DOCUMENTS, { signal: new AbortController().signal });
    expect(withSignal).toEqual(await rerank(QUERY, DOCUMENTS));
  });

  it('a call aborted while its micro-batches are queued rejects, and the pipeline keeps serving', async () => {
    const controller = new AbortController();
    const documents = Array.from(
      { length: 200 },
      (_, i) => `document ${i} ${'about towers '.repeat(i % 20)}`,
    );
    const call = rerank(QUERY, documents, { signal: controller.signal, batchSize: 2 });
    setImmediate(() => controller.abort());
    expectError(await rejection(call), 'E_ABORTED', 'forward: aborted by its signal');
    expect(await rerank(QUERY, DOCUMENTS.slice(0, 2))).toHaveLength(2);
  });
});

describe('BAD CALL: rerank', () => {
  it.each([
    ['a number query', 42, DOCUMENTS, 'rerank: query must be a string; got the number 42'],
    ['no query', undefined, DOCUMENTS, 'rerank: query must be a string; got undefined'],
    ['an array query', ['q'], DOCUMENTS, 'rerank: query must be a string; got an array of length 1'],
    [
      'one document, not an array',
      QUERY,
      'a document',
      "rerank: documents must be an array of strings; got the string 'a document'",
    ],
    ['no documents', QUERY, undefined, 'rerank: documents must be an array of strings; got undefined'],
    ['a number document', QUERY, ['fine', 7], 'rerank: documents[1] must be a string; got the number 7'],
    ['a null document', QUERY, ['fine', null], 'rerank: documents[1] must be a string; got null'],
  ])('%s', async (_, query, documents, message) => {
    expectError(await rejection(rerank(query as string, documents as string[])), 'E_BAD_INPUT', message);
  });

  it.each([
    [{ topK: 0 }, 'rerank: options.topK must be an integer >= 1; got the number 0'],
    [{ topK: 2.5 }, 'rerank: options.topK must be an integer >= 1; got the number 2.5'],
    [{ topK: '3' }, "rerank: options.topK must be an integer >= 1; got the string '3'"],
    [
      { scores: 'softmax' },
      "rerank: options.scores must be one of 'sigmoid', 'raw'; got the string 'softmax'",
    ],
    [{ batchSize: 0 }, 'rerank: options.batchSize must be an integer >= 1; got the number 0'],
    [{ maxBatchTokens: -1 }, 'rerank: options.maxBatchTokens must be an integer >= 1; got the number -1'],
    [{ signal: 'stop' }, "rerank: options.signal must be an AbortSignal; got the string 'stop'"],
    [
      { top_k: 2 },
      "rerank: unknown option 'top_k'; known options are 'topK', 'scores', 'truncate', 'batchSize', 'maxBatchTokens', 'signal', 'onStats'",
    ],
  ])('options %p', async (options, message) => {
    expectError(await rejection(rerank(QUERY, DOCUMENTS, options as object)), 'E_BAD_INPUT', message);
  });

  it('options that are not an object', async () => {
    expectError(
      await rejection(rerank(QUERY, DOCUMENTS, 'fast' as unknown as object)),
      'E_BAD_INPUT',
      "rerank: options must be an object; got the string 'fast'",
    );
  });

  it('bad pipeline defaults are refused when the pipeline is made', async () => {
    expectError(
      await rejection(pipeline('rerank', RERANK, { threads: 1, scores: 'logits' as 'raw' })),
      'E_BAD_INPUT',
      "rerank: options.scores must be one of 'sigmoid', 'raw'; got the string 'logits'",
    );
    expectError(
      await rejection(pipeline('rerank', RERANK, { threads: 1, topK: -1 })),
      'E_BAD_INPUT',
      'rerank: options.topK must be an integer >= 1; got the number -1',
    );
  });

  it('a model whose config.json names two labels is not a cross-encoder', async () => {
    expectError(
      await rejection(pipeline('rerank', SENTIMENT, { threads: 1 })),
      'E_MODEL_LOAD',
      'rerank: the model must be a cross-encoder with one output logit (a relevance score); its config.json has 2 labels (negative, positive)',
    );
  });

  it('a config.json that names no labels: a model returning two logits is refused at the forward', async () => {
    // The sentiment model's files, with a config.json that says nothing about its labels.
    const dir = path.join(scratch, 'unlabelled');
    fs.mkdirSync(dir);
    for (const file of fs.readdirSync(SENTIMENT)) {
      if (file !== 'config.json') fs.symlinkSync(path.join(SENTIMENT, file), path.join(dir, file));
    }
    const config = JSON.parse(fs.readFileSync(path.join(SENTIMENT, 'config.json'), 'utf8')) as Record<
      string,
      unknown
    >;
    delete config.id2label;
    delete config.label2id;
    delete config.num_labels;
    fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(config));
    await using unlabelled = await pipeline('rerank', dir, { threads: 1 });
    expectError(
      await rejection(unlabelled(QUERY, DOCUMENTS.slice(0, 3))),
      'E_FORWARD',
      "rerank: the model returned 2 logits per input (row dims [2]); expected a cross-encoder's one relevance logit per (query, document) pair",
    );
    expect(await unlabelled(QUERY, [])).toEqual([]);
  });
});
