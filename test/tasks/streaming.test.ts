// Bounded memory for large inputs (issue #11, item 2): a call reads, tokenizes and runs its inputs
// window by window, keeps only copies of what each task needs from a micro-batch, and a stream
// reads its source at the pace it is consumed.
import * as path from 'node:path';
import { pipeline, TorchEncodersError } from '../../lib';
import { WINDOW_ITEMS } from '../../lib/micro-batch-stream';
import { expectError, rejection } from '../helpers/errors';
import { FIXTURES } from '../helpers/fixtures';

const BASE = path.join(FIXTURES, 'base');
const CLASSIFIER = path.join(FIXTURES, 'sequence-classification');
const textOf = (i: number) => `text ${i} ${'word '.repeat(i % 13)}`;

/** Counts the forwards a model has running or queued, and the most at once. */
function countForwards(model: { forward: (...args: never[]) => Promise<unknown> }) {
  const forward = model.forward.bind(model) as (...args: unknown[]) => Promise<unknown>;
  const counts = { started: 0, inFlight: 0, most: 0, shapes: [] as [number, number][] };
  jest.spyOn(model, 'forward').mockImplementation((async (...args: unknown[]) => {
    counts.started += 1;
    counts.inFlight += 1;
    counts.most = Math.max(counts.most, counts.inFlight);
    counts.shapes.push(args[1] as [number, number]);
    try {
      return await forward(...args);
    } finally {
      counts.inFlight -= 1;
    }
  }) as never);
  return counts;
}

describe('a call on many inputs', () => {
  it('tokenizes in windows, keeps two forwards per worker in flight, and returns vectors that own their memory', async () => {
    await using embed = await pipeline('feature-extraction', BASE);
    const encodeBatch = jest.spyOn(embed.model.tokenizer!, 'encodeBatch');
    const forwards = countForwards(embed.model);
    const texts = Array.from({ length: 3 * WINDOW_ITEMS + 17 }, (_, i) => textOf(i));
    const vectors = await embed(texts, { batchSize: 16 });

    expect(vectors).toHaveLength(texts.length);
    const windowSizes = encodeBatch.mock.calls.map(([batch]) => batch.length);
    expect(windowSizes).toEqual([WINDOW_ITEMS, WINDOW_ITEMS, WINDOW_ITEMS, 17]);
    expect(forwards.most).toBeLessThanOrEqual(2 * embed.model.workers);
    expect(Math.max(...forwards.shapes.map(([rows]) => rows))).toBeLessThanOrEqual(16);
    // A vector that viewed its micro-batch's hidden states would keep the whole batch alive.
    for (const vector of vectors) expect(vector.data.buffer.byteLength).toBe(vector.data.byteLength);
    // Windows change which rows share a forward, not the results: the same text alone gives the same vector.
    const [alone] = await embed([texts[1000]!]);
    const together = vectors[1000]!.data;
    alone!.data.forEach((value, i) => expect(Math.abs(value - together[i]!)).toBeLessThan(1e-5));
  });
});

describe('stream()', () => {
  it('yields results in input order, equal to a call on the same inputs', async () => {
    await using classify = await pipeline('text-classification', CLASSIFIER);
    const texts = Array.from({ length: 40 }, (_, i) => textOf(i));
    const expected = await classify(texts, { topK: null });
    const streamed = [];
    for await (const labels of classify.stream(texts, { topK: null, batchSize: 4 })) streamed.push(labels);
    expect(streamed.map((labels) => labels.map((l) => l.label))).toEqual(
      expected.map((labels) => labels.map((l) => l.label)),
    );
    streamed.forEach((labels, i) =>
      labels.forEach((l, k) => expect(Math.abs(l.score - expected[i]![k]!.score)).toBeLessThan(1e-5)),
    );
  });

  it('reads an async source no further than two windows ahead of its consumer', async () => {
    await using embed = await pipeline('feature-extraction', BASE);
    let read = 0;
    async function* source() {
      for (let i = 0; i < 6 * WINDOW_ITEMS; i++) {
        read += 1;
        yield textOf(i);
      }
    }
    let consumed = 0;
    let mostAhead = 0;
    for await (const vector of embed.stream(source())) {
      expect(vector.dims).toEqual([32]);
      consumed += 1;
      mostAhead = Math.max(mostAhead, read - consumed);
      // A slow consumer: the stream must wait for it rather than read the whole source.
      if (consumed % 256 === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    }
    expect(consumed).toBe(6 * WINDOW_ITEMS);
    // The window being yielded and the one running behind it.
    expect(mostAhead).toBeLessThanOrEqual(2 * WINDOW_ITEMS);
  });

  it('yields the results of items that trickle in without waiting for a full window', async () => {
    await using embed = await pipeline('feature-extraction', BASE);
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    async function* source() {
      yield 'first';
      yield 'second';
      await gate;
      yield 'third';
    }
    const iterator = embed.stream(source())[Symbol.asyncIterator]();
    expect((await iterator.next()).done).toBe(false);
    expect((await iterator.next()).done).toBe(false);
    release();
    expect((await iterator.next()).done).toBe(false);
    expect((await iterator.next()).done).toBe(true);
  });

  it('stops reading and forwarding when the consumer breaks out', async () => {
    await using embed = await pipeline('feature-extraction', BASE);
    const forwards = countForwards(embed.model);
    let read = 0;
    function* source() {
      for (let i = 0; i < 100 * WINDOW_ITEMS; i++) {
        read += 1;
        yield textOf(i);
      }
    }
    for await (const vector of embed.stream(source(), { batchSize: 8 })) {
      expect(vector.dims).toEqual([32]);
      break;
    }
    const startedAtBreak = forwards.started;
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(read).toBeLessThanOrEqual(2 * WINDOW_ITEMS);
    // Only forwards already queued when it broke may still start.
    expect(forwards.started - startedAtBreak).toBeLessThanOrEqual(2 * embed.model.workers);
  });

  it('rejects a bad input with its index, and a string or non-iterable as inputs', async () => {
    await using embed = await pipeline('feature-extraction', BASE);
    async function* source() {
      yield 'fine';
      yield 42 as unknown as string;
    }
    const consume = async () => {
      for await (const vector of embed.stream(source())) expect(vector.dims).toEqual([32]);
    };
    expectError(await rejection(consume()), 'E_BAD_INPUT', /inputs\[1\].*a string.*42/);
    for (const bad of ['a text', 42, null, { length: 1 }]) {
      let thrown: unknown;
      try {
        embed.stream(bad as never);
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeInstanceOf(TorchEncodersError);
      expectError(thrown, 'E_BAD_INPUT', /inputs.*an iterable or async iterable/);
    }
  });

  it('rejects with E_ABORTED when its signal aborts, and runs no more forwards', async () => {
    await using embed = await pipeline('feature-extraction', BASE);
    const forwards = countForwards(embed.model);
    const controller = new AbortController();
    const texts = Array.from({ length: 2 * WINDOW_ITEMS }, (_, i) => textOf(i));
    let seen = 0;
    const consume = async () => {
      for await (const vector of embed.stream(texts, { signal: controller.signal, batchSize: 4 })) {
        expect(vector.dims).toEqual([32]);
        if (++seen === 3) controller.abort(new Error('enough'));
      }
    };
    const error = await rejection(consume());
    expectError(error, 'E_ABORTED', /aborted/);
    expect((error as Error).cause).toEqual(new Error('enough'));
    const startedAtAbort = forwards.started;
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(forwards.started).toBe(startedAtAbort);
    expect(forwards.started).toBeLessThan((2 * WINDOW_ITEMS) / 4);
  });
});

describe('batch limits under dynamic batching', () => {
  it("holds each call's batchSize and maxBatchTokens, and shares forwards between calls with the same limits", async () => {
    await using classify = await pipeline('text-classification', CLASSIFIER, { dynamicBatching: true });
    const forwards = countForwards(classify.model);
    const texts = Array.from({ length: 24 }, (_, i) => textOf(i));
    expect(await classify(texts, { batchSize: 3 })).toHaveLength(24);
    expect(forwards.shapes.every(([rows]) => rows <= 3)).toBe(true);

    forwards.shapes.length = 0;
    expect(await classify(texts, { maxBatchTokens: 40 })).toHaveLength(24);
    expect(forwards.shapes.every(([rows, seq]) => rows === 1 || rows * seq <= 40)).toBe(true);
    expect(forwards.shapes.length).toBeGreaterThan(2);

    // Twelve single-text calls under the default limits share forwards; one with batchSize 1 runs alone.
    forwards.shapes.length = 0;
    await Promise.all([
      ...texts.slice(0, 12).map((text) => classify(text)),
      classify(texts[12]!, { batchSize: 1 }),
    ]);
    const rows = forwards.shapes.map(([batch]) => batch);
    expect(rows).toContain(1);
    expect(Math.max(...rows)).toBeGreaterThan(1);
    expect(rows.reduce((a, b) => a + b, 0)).toBe(13);
  });
});
