// Property-based fuzzing of option objects (issue #11, reliability): for each pipeline's call options,
// pipeline()'s load and task options, Model.load's options and feature-extraction's similarity(), random
// objects of valid values, wrong types, NaN, Infinity, negatives, huge numbers, null, arrays, objects,
// functions, symbols, signals and unknown keys. Each call resolves, or rejects with a TorchEncodersError
// whose code is declared and, for E_BAD_INPUT, whose message names one of the options given. Runs in a
// child process (fuzz-child.ts).
//
// Environment: FUZZ_SEED=<int> (cases), FUZZ_RUNS=<n> (multiplies runs and time budgets), FUZZ_SHRINK=1
// (shrink a failure to a minimal case); see fuzz-harness.ts.
import * as path from 'node:path';
import fc from 'fast-check';
import type { ErrorCode } from '../../lib';
import { FIXTURES } from '../helpers/fixtures';
import { LOAD_OPTIONS, optionKeys, optionsFor, TASK_OPTIONS } from './helpers/fuzz-arbitraries';
import {
  checkProperty,
  expectCodedRejection,
  FUZZ_SEED,
  FuzzChild,
  outcomeCounter,
  preview,
} from './helpers/fuzz-harness';
import type { Outcome } from './helpers/fuzz-child';

const dir = (name: string) => path.join(FIXTURES, name);

const TASKS = [
  ['text-classification', 'sequence-classification', 'I loved it'],
  ['token-classification', 'token-classification', 'Angela Merkel visited Washington.'],
  [
    'question-answering',
    'question-answering',
    { question: 'Who visited?', context: 'Angela Merkel visited Washington.' },
  ],
  ['feature-extraction', 'base', 'the cat sat'],
] as const;

/**
 * Resolved, or rejected with a declared code among `allowed`; an E_BAD_INPUT message must name one of
 * the options given (or say that `options` itself is wrong), so a user can tell which to fix.
 */
function judgeOptions(
  outcome: Outcome,
  options: unknown,
  allowed: readonly ErrorCode[],
  parents: string[] = [],
) {
  if (outcome.ok) return;
  const code = expectCodedRejection(outcome, allowed);
  if (code !== 'E_BAD_INPUT') return;
  const named = [...optionKeys(options), ...parents, 'options'];
  if (!named.some((key) => outcome.error.message.includes(key))) {
    throw new Error(`E_BAD_INPUT names none of ${preview(named)}: ${outcome.error.message}`);
  }
}

describe(`fuzz: option objects of every pipeline (seed ${FUZZ_SEED})`, () => {
  const child = new FuzzChild();
  const { codes, tally } = outcomeCounter();

  beforeAll(async () => {
    // Opens the pipelines first, so no property spends its time budget on the child's start.
    for (const [task, fixture, input] of TASKS) await child.value('call', { task, dir: dir(fixture), input });
  });

  afterAll(async () => {
    console.log(`fuzz options: outcomes ${JSON.stringify(codes)}`);
    expect(await child.stop()).toBe(0);
  });

  it.each(TASKS)('%s: call options', async (task, fixture, input) => {
    const property = fc.asyncProperty(optionsFor(TASK_OPTIONS[task]!), async (options) => {
      const outcome = await child.request('call', { task, dir: dir(fixture), input, options });
      tally(outcome);
      // E_ABORTED: an already aborted signal is a valid option that ends the call at once.
      judgeOptions(outcome, options, ['E_BAD_INPUT', 'E_ABORTED']);
    });
    await checkProperty(`${task} call options`, property, 200, 3_000);
  });

  it('feature-extraction: similarity options', async () => {
    const known = { ...TASK_OPTIONS['feature-extraction']!, topK: fc.integer({ min: 1, max: 4 }) };
    const property = fc.asyncProperty(optionsFor(known), async (options) => {
      const outcome = await child.request('call', {
        task: 'feature-extraction',
        dir: dir('base'),
        method: 'similarity',
        input: 'a query',
        documents: ['one', 'two', ''],
        options,
      });
      tally(outcome);
      judgeOptions(outcome, options, ['E_BAD_INPUT', 'E_ABORTED']);
    });
    await checkProperty('similarity options', property, 100, 1_500);
  });

  it.each(TASKS)('%s: pipeline() load and task options', async (task, fixture, input) => {
    // Each case loads a model: fewer runs. A call is made on what loaded, with no options of its own,
    // so options that load but break every call are found too.
    const known = { ...LOAD_OPTIONS, ...TASK_OPTIONS[task]! };
    const property = fc.asyncProperty(
      optionsFor(known, ['signal', 'foo', 'top_k', 'Device']),
      async (options) => {
        const outcome = await child.request('tryLoad', {
          how: 'pipeline',
          task,
          dir: dir(fixture),
          options,
          probe: input,
        });
        tally(outcome);
        // No CUDA here: a CUDA device is refused with E_DEVICE_UNAVAILABLE.
        judgeOptions(outcome, options, ['E_BAD_INPUT', 'E_DEVICE_UNAVAILABLE'], ['dynamicBatching']);
        if (outcome.ok) {
          const probe = (outcome.value as { probe: Outcome }).probe;
          tally(probe);
          // maxLength can be valid and still too short for the task's windows: that must be said, not thrown.
          judgeOptions(probe, options, ['E_BAD_INPUT']);
        }
      },
    );
    await checkProperty(`${task} pipeline() options`, property, 30, 2_500);
  });

  it('Model.load options', async () => {
    const known = Object.fromEntries(
      Object.entries(LOAD_OPTIONS).filter(([key]) => key !== 'dynamicBatching'),
    );
    const property = fc.asyncProperty(optionsFor(known, ['signal', 'foo', 'topK']), async (options) => {
      const outcome = await child.request('tryLoad', {
        how: 'model',
        task: '',
        dir: dir('sequence-classification'),
        options,
      });
      tally(outcome);
      judgeOptions(outcome, options, ['E_BAD_INPUT', 'E_DEVICE_UNAVAILABLE']);
      if (outcome.ok) judgeOptions((outcome.value as { probe: Outcome }).probe, options, ['E_BAD_INPUT']);
    });
    await checkProperty('Model.load options', property, 20, 2_500);
  });

  it('the child process stayed alive', () => {
    expect(child.deaths).toEqual([]);
  });
});
