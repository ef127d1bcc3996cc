import { setMaxListeners } from 'node:events';
import * as path from 'node:path';
import { pipeline } from '../../lib';
import { expectError, rejection } from '../helpers/errors';
import { FIXTURES } from '../helpers/fixtures';

const TEXTS = Array.from({ length: 64 }, (_, i) => `request ${i}: ${'some words '.repeat(1 + (i % 9))}`);

describe('dynamic batching', () => {
  it('runs 64 concurrent single-text calls in far fewer forwards, with results equal to unbatched ones', async () => {
    await using plain = await pipeline('text-classification', path.join(FIXTURES, 'sequence-classification'));
    await using batched = await pipeline(
      'text-classification',
      path.join(FIXTURES, 'sequence-classification'),
      {
        dynamicBatching: { maxBatchTokens: 4096, maxWaitMs: 0 },
      },
    );
    const forwards = jest.spyOn(batched.model, 'forward');
    const together = await Promise.all(TEXTS.map((text) => batched(text, { topK: null })));
    expect(forwards.mock.calls.length).toBeLessThan(16);
    const alone = await Promise.all(TEXTS.map((text) => plain(text, { topK: null })));
    together.forEach((result, i) => {
      expect(result.map((r) => r.label)).toEqual(alone[i]!.map((r) => r.label));
      result.forEach((r, k) => expect(Math.abs(r.score - alone[i]![k]!.score)).toBeLessThanOrEqual(1e-5));
    });
  });

  it('with 2 workers, keeps up to 2 forwards in flight and still equals unbatched results', async () => {
    const dir = path.join(FIXTURES, 'sequence-classification');
    await using plain = await pipeline('text-classification', dir, { threads: 1 });
    await using batched = await pipeline('text-classification', dir, {
      threads: 2,
      workers: 2,
      dynamicBatching: true,
    });
    expect(batched.model.workers).toBe(2);
    const forward = batched.model.forward.bind(batched.model);
    let inFlight = 0;
    let mostInFlight = 0;
    jest.spyOn(batched.model, 'forward').mockImplementation(async (...args) => {
      inFlight += 1;
      mostInFlight = Math.max(mostInFlight, inFlight);
      try {
        return await forward(...args);
      } finally {
        inFlight -= 1;
      }
    });
    const together = await Promise.all(TEXTS.map((text) => batched(text, { topK: null })));
    const alone = await Promise.all(TEXTS.map((text) => plain(text, { topK: null })));
    expect(mostInFlight).toBeGreaterThanOrEqual(2);
    together.forEach((result, i) => {
      expect(result.map((r) => r.label)).toEqual(alone[i]!.map((r) => r.label));
      result.forEach((r, k) => expect(Math.abs(r.score - alone[i]![k]!.score)).toBeLessThanOrEqual(1e-5));
    });
  });

  it('works for per-token tasks (QA) and keeps each call its own rows', async () => {
    await using qa = await pipeline('question-answering', path.join(FIXTURES, 'question-answering'), {
      dynamicBatching: true,
    });
    await using plain = await pipeline('question-answering', path.join(FIXTURES, 'question-answering'));
    const inputs = TEXTS.slice(0, 12).map((context, i) => ({ question: `which request ${i}?`, context }));
    const together = await Promise.all(inputs.map((input) => qa(input, { topK: 2 })));
    const alone = await plain(inputs, { topK: 2 });
    together.forEach((answers, i) => {
      expect(answers.map((a) => [a.answer, a.start, a.end])).toEqual(
        alone[i]!.map((a) => [a.answer, a.start, a.end]),
      );
    });
  });

  it('starts only as many forwards as the model has workers: rows of aborted calls still queued never run', async () => {
    let rowsForwarded = 0;
    const controller = new AbortController();
    // One signal for 16 calls, each of which listens to it.
    setMaxListeners(64, controller.signal);
    await using batched = await pipeline('feature-extraction', path.join(FIXTURES, 'base'), {
      threads: 1,
      workers: 1,
      dynamicBatching: {
        maxBatchSize: 16,
        onForward: (rows) => {
          rowsForwarded += rows;
          controller.abort();
        },
      },
    });
    // 16 calls of 32 texts: 512 rows, 32 forwards of 16 when nothing is aborted.
    const calls = Array.from({ length: 16 }, (_, call) =>
      batched(
        Array.from({ length: 32 }, (_, i) => `call ${call} text ${i}: ${'words '.repeat(20)}`),
        { signal: controller.signal },
      ).then(
        () => 'resolved',
        (error: { code?: string }) => error.code,
      ),
    );
    expect(await Promise.all(calls)).toEqual(Array(16).fill('E_ABORTED'));
    await batched('after: the model is free again');
    // The forward running at the abort, and the one after it.
    expect(rowsForwarded).toBeLessThanOrEqual(16 + 1);
  });

  it('serves the oldest queued rows first: a short call is not overtaken by longer ones that came later', async () => {
    const order: string[] = [];
    let more: Promise<unknown> | undefined;
    await using batched = await pipeline(
      'text-classification',
      path.join(FIXTURES, 'sequence-classification'),
      {
        threads: 1,
        workers: 1,
        dynamicBatching: {
          maxBatchSize: 4,
          // While the first forward runs, a short call and then a longer one are queued.
          onForward: () => {
            more ??= Promise.all([
              batched('short').then(() => order.push('short')),
              new Promise((resolve) => setTimeout(resolve, 20)).then(() => long('later')),
            ]);
          },
        },
      },
    );
    const long = (name: string) =>
      batched(Array.from({ length: 8 }, (_, i) => `${name} ${i} ${'long text '.repeat(40)}`)).then(() =>
        order.push(name),
      );
    // The first forward is held 100 ms, so both calls are queued before it ends, whatever the load.
    const forward = batched.model.forward.bind(batched.model);
    let held = false;
    jest.spyOn(batched.model, 'forward').mockImplementation(async (...args) => {
      if (!held) {
        held = true;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      return forward(...args);
    });
    await long('first');
    await more;
    // Planned longest first and started all at once, the later call's forwards would run before the short one.
    expect(order).toEqual(['first', 'short', 'later']);
  });

  it('a failing batch rejects every call in it with the model error', async () => {
    await using classify = await pipeline(
      'text-classification',
      path.join(FIXTURES, 'sequence-classification'),
      {
        dynamicBatching: true,
      },
    );
    await classify.model.dispose();
    const results = await Promise.all(TEXTS.slice(0, 3).map((text) => rejection(classify(text))));
    for (const error of results) expectError(error, 'E_DISPOSED', 'forward: the model is disposed');
  });

  it('BAD CALL: dynamicBatching options', async () => {
    expectError(
      await rejection(
        pipeline('text-classification', path.join(FIXTURES, 'sequence-classification'), {
          dynamicBatching: { maxWaitMs: -1 },
        }),
      ),
      'E_BAD_INPUT',
      'pipeline: options.dynamicBatching.maxWaitMs must be an integer from 0 to 10000; got the number -1',
    );
  });
});
