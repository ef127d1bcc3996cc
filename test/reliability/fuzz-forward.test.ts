// Property-based fuzzing of Model.forward (issue #11, reliability): typed arrays of every kind
// (BigInt64Array, Int32Array, Float32Array, plain arrays, DataView, ...), lengths that do not match the
// dims, views that do not start at byte 0, dims that are zero, negative, fractional, huge or of the wrong
// rank, unknown input names, token ids out of the vocabulary, several forwards at once. Each call resolves
// with outputs whose sizes match their dims, or rejects with a TorchEncodersError carrying a declared code.
// The model lives in a child process (fuzz-child.ts): the binding reading past an array, or libtorch
// aborting, ends the child and fails the test with its signal and the case.
//
// Environment: FUZZ_SEED=<int> (cases), FUZZ_RUNS=<n> (multiplies runs and time budgets), FUZZ_SHRINK=1
// (shrink a failure to a minimal case); see fuzz-harness.ts.
import * as path from 'node:path';
import fc from 'fast-check';
import { FIXTURES } from '../helpers/fixtures';
import { forwardCase, type ForwardCase } from './helpers/fuzz-arbitraries';
import {
  checkProperty,
  expectCodedRejection,
  FUZZ_SEED,
  FuzzChild,
  outcomeCounter,
  preview,
} from './helpers/fuzz-harness';
import type { Outcome } from './helpers/fuzz-child';

// A bare TorchScript file (no tokenizer) and a model directory: both take the same forward path.
const MODELS = [
  path.join(FIXTURES, 'sequence-classification', 'model.pt'),
  path.join(FIXTURES, 'token-classification'),
];

type Summary = Record<string, { dims: number[]; length: number; finite: boolean }>;

function judgeForward(outcome: Outcome, input: ForwardCase) {
  if (!outcome.ok) {
    expectCodedRejection(outcome, ['E_BAD_INPUT', 'E_FORWARD']);
    return;
  }
  const outputs = outcome.value as Summary;
  const tensors = Object.values(outputs);
  if (tensors.length === 0) throw new Error(`resolved with no outputs for ${preview(input)}`);
  const batch = (input.dims as number[])[0];
  for (const [name, { dims, length }] of Object.entries(outputs)) {
    const size = dims.reduce((a, b) => a * b, 1);
    if (size !== length || dims[0] !== batch) {
      throw new Error(
        `output ${name} has dims ${preview(dims)} and ${length} values for dims ${preview(input.dims)}`,
      );
    }
  }
}

describe(`fuzz: Model.forward with random arrays and dims (seed ${FUZZ_SEED})`, () => {
  const child = new FuzzChild();
  const { codes, tally } = outcomeCounter();

  beforeAll(async () => {
    for (const file of MODELS) await child.value('inputNames', { file });
  });

  afterAll(async () => {
    console.log(`fuzz forward: outcomes ${JSON.stringify(codes)}`);
    expect(await child.stop()).toBe(0);
  });

  it.each(MODELS)('one forward at a time: %s', async (file) => {
    const property = fc.asyncProperty(forwardCase, async (input) => {
      const outcome = await child.request('forward', { file, inputs: input.inputs, dims: input.dims });
      tally(outcome);
      judgeForward(outcome, input);
    });
    await checkProperty(`forward ${path.basename(file)}`, property, 600, 3_000);
  });

  it('up to four forwards at once on one model', async () => {
    const file = MODELS[0]!;
    const property = fc.asyncProperty(
      fc.array(forwardCase, { minLength: 2, maxLength: 4 }),
      async (inputs) => {
        const outcomes = await Promise.all(
          inputs.map((input) => child.request('forward', { file, inputs: input.inputs, dims: input.dims })),
        );
        outcomes.forEach((outcome, i) => {
          tally(outcome);
          judgeForward(outcome, inputs[i]!);
        });
      },
    );
    await checkProperty('concurrent forwards', property, 200, 2_000);
  });

  // Found by this fuzzing: an exception thrown while the binding read the caller's inputs (a getter of
  // the inputs object) came back as E_INTERNAL, "a bug in this library: please report it". It is the
  // caller's value that is wrong: E_BAD_INPUT naming `inputs`, the exception as its cause.
  it('an inputs object whose getter throws rejects with E_BAD_INPUT, not E_INTERNAL', async () => {
    const outcome = await child.request('forward', {
      file: MODELS[0]!,
      inputs: { __fuzz: 'getterThrows' },
      dims: [1, 4],
    });
    tally(outcome);
    expectCodedRejection(outcome, ['E_BAD_INPUT']);
  });

  it('the model still answers a valid forward after all that', async () => {
    const ids = { __array: 'BigInt64Array', values: [101, 7592, 2088, 102], offset: 0 };
    const mask = { __array: 'BigInt64Array', values: [1, 1, 1, 1], offset: 0 };
    for (const file of MODELS) {
      const inputs = { input_ids: ids, attention_mask: mask };
      const outcome = await child.request('forward', { file, inputs, dims: [1, 4] });
      if (!outcome.ok) throw new Error(`${file}: ${outcome.error.message}`);
      const outputs = Object.values((outcome as { value: Summary }).value);
      expect(outputs[0]!.finite).toBe(true);
    }
    expect(child.deaths).toEqual([]);
  });
});
