// AbortSignal on Model.forward and the pipelines (issue #11, item 3): an aborted call rejects at
// once with E_ABORTED (cause: the signal's reason) and its forwards still queued never run.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Model, pipeline } from '../../lib';
import { discoverLibtorch } from '../../lib/libtorch-discovery';
import { expectError, rejection } from '../helpers/errors';
import { FIXTURES } from '../helpers/fixtures';

const REPO = path.resolve(__dirname, '../..');
const CLASSIFIER = path.join(FIXTURES, 'sequence-classification');

// Counts its own forwards: each returns how many have run so far (itself included), so a forward
// that was skipped leaves no trace in the next one's count. A sequence of 512 tokens or more also
// does a few hundred milliseconds of matrix work, long enough to abort the calls queued behind it.
const COUNTER = `
import sys, torch
class Counter(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.register_buffer("calls", torch.zeros(1))
    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        self.calls.add_(1)
        if input_ids.shape[1] >= 512:
            x = torch.ones(768, 768)
            for _ in range(60):
                x = torch.tanh(x @ x / 768.0)
            self.calls.add_(x[0, 0] * 0)
        return self.calls.clone().expand(input_ids.shape[0], 1).contiguous()
torch.jit.save(torch.jit.script(Counter().eval()), sys.argv[1])
`;

let scratch: string;
let counterFile: string;
beforeAll(() => {
  scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'torch-encoders-abort-'));
  counterFile = path.join(scratch, 'counter.pt');
  fs.writeFileSync(path.join(scratch, 'make_counter.py'), COUNTER);
  execFileSync(discoverLibtorch(REPO).python!, [path.join(scratch, 'make_counter.py'), counterFile]);
}, 120_000);
afterAll(() => fs.rmSync(scratch, { recursive: true, force: true }));

const tokens = (n: number) => ({
  input_ids: new BigInt64Array(n).fill(7n),
  attention_mask: new BigInt64Array(n).fill(1n),
});

describe('Model.forward with a signal', () => {
  it('rejects at once when the signal has already aborted, with its reason as the cause', async () => {
    await using model = await Model.load(counterFile, { threads: 1 });
    const reason = new Error('the client went away');
    const error = await rejection(model.forward(tokens(4), [1, 4], { signal: AbortSignal.abort(reason) }));
    expectError(error, 'E_ABORTED', 'forward: aborted by its signal');
    expect(error.cause).toBe(reason);
    // It never reached the model: the next forward is the first.
    const { output_0 } = await model.forward(tokens(4), [1, 4]);
    expect(Array.from(output_0!.data)).toEqual([1]);
  });

  it('skips forwards aborted while queued, and rejects them before the running one ends', async () => {
    await using model = await Model.load(counterFile, { threads: 1, workers: 1 });
    const settled: string[] = [];
    const running = model.forward(tokens(512), [1, 512]).then((out) => {
      settled.push('running');
      return out;
    });
    const controller = new AbortController();
    const queued = Array.from({ length: 20 }, () =>
      model.forward(tokens(4), [1, 4], { signal: controller.signal }).then(
        () => settled.push('queued resolved'),
        (error: unknown) => {
          settled.push('queued aborted');
          return error;
        },
      ),
    );
    const after = model.forward(tokens(4), [1, 4]);
    controller.abort();
    const errors = await Promise.all(queued);
    for (const error of errors) expectError(error, 'E_ABORTED', 'forward: aborted by its signal');
    expect(settled.slice(0, 20)).toEqual(Array(20).fill('queued aborted'));
    expect(Array.from((await running).output_0!.data)).toEqual([1]);
    // Only the long forward ran before it: the 20 aborted ones never did.
    expect(Array.from((await after).output_0!.data)).toEqual([2]);
  });

  it('gives the same result as without a signal when the signal never aborts', async () => {
    await using model = await Model.load(counterFile, { threads: 1 });
    const controller = new AbortController();
    const { output_0 } = await model.forward(tokens(6), [2, 3], { signal: controller.signal });
    expect(Array.from(output_0!.data)).toEqual([1, 1]);
  });

  it.each([
    ['a string', 'stop', "the string 'stop'"],
    ['a plain object', { aborted: false }, 'an object'],
  ])('rejects %s as the signal with E_BAD_INPUT', async (_, signal, described) => {
    await using model = await Model.load(counterFile, { threads: 1 });
    const error = await rejection(model.forward(tokens(4), [1, 4], { signal } as never));
    expectError(error, 'E_BAD_INPUT', `forward: options.signal must be an AbortSignal; got ${described}`);
  });
});

describe('pipelines with a signal', () => {
  it('an already-aborted call rejects with E_ABORTED; the same call without abort equals an unsignalled one', async () => {
    await using classify = await pipeline('text-classification', CLASSIFIER);
    const reason = new Error('timeout');
    const error = await rejection(classify(['a', 'b'], { signal: AbortSignal.abort(reason) }));
    expectError(error, 'E_ABORTED', 'forward: aborted by its signal');
    expect(error.cause).toBe(reason);
    const withSignal = await classify(['good film', 'bad film'], { signal: new AbortController().signal });
    expect(withSignal).toEqual(await classify(['good film', 'bad film']));
  });

  it('a call aborted while its micro-batches are queued rejects, and the pipeline keeps serving', async () => {
    await using classify = await pipeline('text-classification', CLASSIFIER, { workers: 1, threads: 1 });
    const controller = new AbortController();
    const texts = Array.from({ length: 400 }, (_, i) => `sentence number ${i} ${'word '.repeat(i % 30)}`);
    const call = classify(texts, { signal: controller.signal, batchSize: 4 });
    setImmediate(() => controller.abort());
    expectError(await rejection(call), 'E_ABORTED', 'forward: aborted by its signal');
    expect(await classify('still here')).toHaveLength(1);
  });

  it('with dynamic batching, an aborted request leaves the others to finish with their own results', async () => {
    await using plain = await pipeline('text-classification', CLASSIFIER);
    await using batched = await pipeline('text-classification', CLASSIFIER, { dynamicBatching: true });
    const texts = Array.from({ length: 12 }, (_, i) => `request ${i} ${'x '.repeat(i)}`);
    const controllers = texts.map(() => new AbortController());
    const calls = texts.map((text, i) => batched(text, { signal: controllers[i]!.signal }));
    controllers[3]!.abort();
    controllers[7]!.abort();
    const outcomes = await Promise.allSettled(calls);
    const expected = await Promise.all(texts.map((text) => plain(text)));
    outcomes.forEach((outcome, i) => {
      if (i === 3 || i === 7) {
        expect(outcome.status).toBe('rejected');
        expectError((outcome as PromiseRejectedResult).reason, 'E_ABORTED', 'forward: aborted by its signal');
      } else {
        expect(outcome.status).toBe('fulfilled');
        const result = (outcome as PromiseFulfilledResult<{ label: string; score: number }[]>).value;
        expect(result[0]!.label).toBe(expected[i]![0]!.label);
        expect(Math.abs(result[0]!.score - expected[i]![0]!.score)).toBeLessThanOrEqual(1e-5);
      }
    });
  });
});
