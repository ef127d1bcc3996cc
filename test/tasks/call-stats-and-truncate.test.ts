import * as path from 'node:path';
import { pipeline } from '../../lib';
import type { CallStats } from '../../lib/batching';
import { expectError, rejection } from '../helpers/errors';
import { FIXTURES } from '../helpers/fixtures';

const CLASSIFIER = path.join(FIXTURES, 'sequence-classification');
const BASE = path.join(FIXTURES, 'base');
const LONG = 'word '.repeat(2000);

describe('onStats: what a call cost', () => {
  it('reports the tokens of the call and times that follow each other within its wall time', async () => {
    await using classify = await pipeline('text-classification', CLASSIFIER, { dynamicBatching: true });
    const texts = ['a short text', 'a somewhat longer text with more words in it'];
    const encodings = await classify.model.tokenizer!.encodeBatch(texts);
    const reports: CallStats[] = [];
    const started = performance.now();
    await classify(texts, { onStats: (stats) => reports.push(stats) });
    const wallMs = performance.now() - started;
    expect(reports).toHaveLength(1);
    const [stats] = reports;
    expect(stats!.tokens).toBe(encodings.reduce((sum, e) => sum + e.ids.length, 0));
    for (const ms of [stats!.tokenizationMs, stats!.queueMs, stats!.inferenceMs])
      expect(ms).toBeGreaterThanOrEqual(0);
    expect(stats!.inferenceMs).toBeGreaterThan(0);
    expect(stats!.tokenizationMs + stats!.queueMs + stats!.inferenceMs).toBeLessThanOrEqual(wallMs + 1);
  });

  it('counts the time a call waits behind another in queueMs, not inferenceMs', async () => {
    let second: Promise<unknown> | undefined;
    let secondStats: CallStats | undefined;
    // One worker: a call made while a forward runs waits for it to end.
    await using embed = await pipeline('feature-extraction', BASE, {
      workers: 1,
      threads: 1,
      dynamicBatching: {
        onForward: () => {
          second ??= embed('short', { onStats: (stats) => (secondStats = stats) });
        },
      },
    });
    // The first forward is held 200 ms, so the second call waits whatever the machine's load.
    const forward = embed.model.forward.bind(embed.model);
    let held = false;
    jest.spyOn(embed.model, 'forward').mockImplementation(async (...args) => {
      if (!held) {
        held = true;
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      return forward(...args);
    });
    const long = Array.from({ length: 64 }, (_, i) => `${'many words here '.repeat(30)} ${i}`);
    let firstStats: CallStats | undefined;
    await embed(long, { batchSize: 64, onStats: (stats) => (firstStats = stats) });
    await second;
    expect(secondStats!.queueMs).toBeGreaterThan(secondStats!.inferenceMs);
    expect(secondStats!.queueMs).toBeGreaterThan(100);
    expect(firstStats!.inferenceMs).toBeGreaterThan(200);
  });

  it('is not called for a call that fails, and is refused when not a function', async () => {
    await using classify = await pipeline('text-classification', CLASSIFIER);
    const onStats = jest.fn();
    await expect(classify([3 as unknown as string], { onStats })).rejects.toThrow();
    expect(onStats).not.toHaveBeenCalled();
    expectError(
      await rejection(classify('x', { onStats: 'yes' as unknown as () => void })),
      'E_BAD_INPUT',
      /options\.onStats.*a function/,
    );
  });

  it('is a per-call option: a pipeline default is refused', async () => {
    expectError(
      await rejection(pipeline('text-classification', CLASSIFIER, { onStats: () => undefined } as never)),
      'E_BAD_INPUT',
      /unknown option 'onStats'/,
    );
  });
});

describe('truncate: false', () => {
  it('refuses an over-long input with E_INPUT_TOO_LONG naming it and its length, where truncate: true cuts it', async () => {
    await using classify = await pipeline('text-classification', CLASSIFIER);
    const maxLength = classify.model.tokenizer!.maxLength;
    await expect(classify(LONG)).resolves.toHaveLength(1);
    expectError(
      await rejection(classify(['fine', LONG], { truncate: false })),
      'E_INPUT_TOO_LONG',
      new RegExp(`inputs\\[1\\] has \\d+ tokens; the model takes at most ${maxLength}`),
    );
  });

  it('gives the same result as truncate: true for inputs that fit', async () => {
    await using embed = await pipeline('feature-extraction', BASE);
    const texts = ['a text that fits', 'another one'];
    const cut = await embed(texts);
    const whole = await embed(texts, { truncate: false });
    whole.forEach((vector, i) => expect(Array.from(vector.data)).toEqual(Array.from(cut[i]!.data)));
    expectError(await rejection(embed(LONG, { truncate: false })), 'E_INPUT_TOO_LONG', /inputs\[0\] has/);
  });

  it('is a boolean', async () => {
    await using embed = await pipeline('feature-extraction', BASE);
    expectError(
      await rejection(embed('x', { truncate: 'no' as unknown as boolean })),
      'E_BAD_INPUT',
      /truncate/,
    );
  });
});

describe('dynamicBatching.onForward', () => {
  it('reports each shared forward: rows and padded tokens, rows adding up to the calls made', async () => {
    const forwards: [number, number][] = [];
    await using classify = await pipeline('text-classification', CLASSIFIER, {
      dynamicBatching: { onForward: (rows, paddedTokens) => forwards.push([rows, paddedTokens]) },
    });
    const texts = Array.from({ length: 20 }, (_, i) => `text number ${i} ${'x '.repeat(i)}`);
    await Promise.all(texts.map((text) => classify(text)));
    expect(forwards.reduce((sum, [rows]) => sum + rows, 0)).toBe(20);
    expect(forwards.length).toBeLessThan(20);
    for (const [rows, paddedTokens] of forwards) expect(paddedTokens % rows).toBe(0);
  });

  it('must be a function', async () => {
    expectError(
      await rejection(
        pipeline('text-classification', CLASSIFIER, {
          dynamicBatching: { onForward: 1 as unknown as () => void },
        }),
      ),
      'E_BAD_INPUT',
      /dynamicBatching\.onForward/,
    );
  });
});
