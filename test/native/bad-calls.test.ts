import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Model, TorchEncodersError, cudaAvailable, cudaDeviceCount, type ForwardInputs } from '../../lib';
import { fixtureModel, maxAbsDiff, readGoldens } from '../helpers/fixtures';

const MODEL = fixtureModel('sequence-classification');
const TAKES = '(input_ids, attention_mask, token_type_ids)';

async function rejection(promise: Promise<unknown>): Promise<TorchEncodersError> {
  try {
    await promise;
  } catch (error) {
    return error as TorchEncodersError;
  }
  throw new Error('expected a rejection, but the call resolved');
}

function expectError(error: TorchEncodersError, code: string, message: string | RegExp): void {
  expect(error).toBeInstanceOf(TorchEncodersError);
  expect(error.name).toBe('TorchEncodersError');
  expect(error.code).toBe(code);
  if (typeof message === 'string') expect(error.message).toBe(message);
  else expect(error.message).toMatch(message);
  // Re-thrown with the caller's stack, so the test file is on it.
  expect(error.stack).toContain('bad-calls.test.ts');
}

function tokens(batch: number, seq: number): ForwardInputs {
  return {
    input_ids: BigInt64Array.from({ length: batch * seq }, (_, i) => BigInt(1000 + i)),
    attention_mask: new BigInt64Array(batch * seq).fill(1n),
  };
}

let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'torch-encoders-'));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('BAD CALL: loading', () => {
  it('missing file', async () => {
    const missing = path.join(tmp, 'nope.pt');
    expectError(
      await rejection(Model.load(missing)),
      'E_MODEL_NOT_FOUND',
      `load: no readable file at '${missing}'`,
    );
  });

  it('a file that is not TorchScript', async () => {
    const file = path.join(tmp, 'not-torchscript.pt');
    fs.writeFileSync(file, 'this is plain text, not a zip archive');
    expectError(
      await rejection(Model.load(file)),
      'E_MODEL_LOAD',
      new RegExp(
        `^load: '${file}' is not a loadable TorchScript file \\(torch.jit.save output expected\\): .+`,
      ),
    );
  });

  it('a truncated .pt', async () => {
    const file = path.join(tmp, 'truncated.pt');
    const bytes = fs.readFileSync(MODEL);
    fs.writeFileSync(file, bytes.subarray(0, Math.floor(bytes.length / 2)));
    expectError(
      await rejection(Model.load(file)),
      'E_MODEL_LOAD',
      new RegExp(`^load: '${file}' is not a loadable TorchScript file`),
    );
  });

  it('a directory without model.pt names every missing file', async () => {
    expectError(
      await rejection(Model.load(tmp)),
      'E_MODEL_NOT_FOUND',
      `model directory '${tmp}' is missing model.pt, config.json, tokenizer.json (or vocab.txt, or vocab.json + merges.txt)`,
    );
  });

  it('unknown device string', async () => {
    expectError(
      await rejection(Model.load(MODEL, { device: 'tpu' as 'cpu' })),
      'E_BAD_INPUT',
      "device: expected 'cpu', 'cuda', 'cuda:N' or 'auto', got 'tpu'",
    );
    expectError(
      await rejection(Model.load(MODEL, { device: 'cuda:x' as 'cpu' })),
      'E_BAD_INPUT',
      "device: expected 'cpu', 'cuda', 'cuda:N' or 'auto', got 'cuda:x'",
    );
  });

  it('cuda without CUDA (or a CUDA index past the last device)', async () => {
    if (cudaAvailable()) {
      const device = `cuda:${cudaDeviceCount()}` as const;
      expectError(
        await rejection(Model.load(MODEL, { device })),
        'E_DEVICE_UNAVAILABLE',
        `device: '${device}' was requested but this machine has ${cudaDeviceCount()} CUDA device(s)`,
      );
    } else {
      expectError(
        await rejection(Model.load(MODEL, { device: 'cuda' })),
        'E_DEVICE_UNAVAILABLE',
        "device: 'cuda' was requested but CUDA is not available (no CUDA-enabled libtorch, no driver or no GPU); use 'cpu' or 'auto'",
      );
    }
  });

  it('auto without CUDA works on the CPU', async () => {
    await using model = await Model.load(MODEL, { device: 'auto' });
    expect(model.device).toBe(cudaAvailable() ? 'cuda:0' : 'cpu');
    const outputs = await model.forward(tokens(1, 4), [1, 4]);
    expect(outputs.output_0!.dims).toEqual([1, 3]);
  });

  it.each([
    [{ threads: 0 }, 'loadModel: options.threads must be an integer from 1 to 1024; got the number 0'],
    [{ threads: 1.5 }, 'loadModel: options.threads must be an integer from 1 to 1024; got the number 1.5'],
    [
      { threads: 2, workers: 3 },
      'loadModel: options.workers must be an integer from 1 to options.threads (2), as each worker needs a thread of its own; got the number 3',
    ],
    [
      { threads: 2, workers: 0 },
      'loadModel: options.workers must be an integer from 1 to options.threads (2), as each worker needs a thread of its own; got the number 0',
    ],
    [
      { threads: 4, workers: '2' },
      "loadModel: options.workers must be an integer from 1 to options.threads (4), as each worker needs a thread of its own; got the string '2'",
    ],
    [{ device: 3 }, 'loadModel: options.device must be a string; got the number 3'],
    [{ optimize: 'yes' }, "loadModel: options.optimize must be a boolean; got the string 'yes'"],
    [
      { outputNames: 'logits' },
      "loadModel: options.outputNames must be an array of strings; got the string 'logits'",
    ],
  ])('bad option %j', async (options, message) => {
    expectError(await rejection(Model.load(MODEL, options as object)), 'E_BAD_INPUT', message);
  });

  it('a path that is not a string', async () => {
    expectError(
      await rejection(Model.load(42 as unknown as string)),
      'E_BAD_INPUT',
      'loadModel: path must be a non-empty string',
    );
  });
});

describe('BAD CALL: forward', () => {
  let model: Model;
  beforeAll(async () => {
    model = await Model.load(MODEL, { threads: 1 });
  });
  afterAll(() => model.dispose());

  it('wrong typed array type', async () => {
    const inputs = { ...tokens(1, 4), input_ids: new Float32Array(4) } as unknown as ForwardInputs;
    expectError(
      await rejection(model.forward(inputs, [1, 4])),
      'E_BAD_INPUT',
      'forward: inputs.input_ids must be a BigInt64Array or Int32Array; got Float32Array',
    );
    const plain = { ...tokens(1, 4), attention_mask: [1, 1, 1, 1] } as unknown as ForwardInputs;
    expectError(
      await rejection(model.forward(plain, [1, 4])),
      'E_BAD_INPUT',
      'forward: inputs.attention_mask must be a BigInt64Array or Int32Array; got an Array',
    );
  });

  it('dims not matching the data length', async () => {
    expectError(
      await rejection(model.forward(tokens(2, 4), [2, 5])),
      'E_BAD_INPUT',
      'forward: inputs.input_ids has 8 elements but dims [2, 5] need 10',
    );
  });

  it.each([
    [[-1, 8], 'forward: dims[0] must be a positive integer; got the number -1'],
    [[1, 0], 'forward: dims[1] must be a positive integer; got the number 0'],
    [[2, 4.5], 'forward: dims[1] must be a positive integer; got the number 4.5'],
    [[2, NaN], 'forward: dims[1] must be a positive integer; got the number NaN'],
    [['2', 4], "forward: dims[0] must be a positive integer; got the string '2'"],
    [[8], 'forward: dims must be [batch, seq], an array of 2 positive integers; got an array of length 1'],
    [null, 'forward: dims must be [batch, seq], an array of 2 positive integers; got null'],
  ])('bad dims %j', async (dims, message) => {
    expectError(
      await rejection(model.forward(tokens(2, 4), dims as [number, number])),
      'E_BAD_INPUT',
      message,
    );
  });

  it('missing input', async () => {
    const { input_ids } = tokens(1, 4);
    expectError(
      await rejection(model.forward({ input_ids }, [1, 4])),
      'E_BAD_INPUT',
      `forward: missing input 'attention_mask'; this model takes ${TAKES}`,
    );
  });

  it('an input the model does not take', async () => {
    const inputs = { ...tokens(1, 4), pixel_values: new BigInt64Array(4) };
    expectError(
      await rejection(model.forward(inputs, [1, 4])),
      'E_BAD_INPUT',
      `forward: this model takes ${TAKES}, not 'pixel_values'`,
    );
  });

  it('inputs that are not an object', async () => {
    expectError(
      await rejection(model.forward(new BigInt64Array(4) as unknown as ForwardInputs, [1, 4])),
      'E_BAD_INPUT',
      'forward: inputs must be an object of typed arrays keyed by input name ({ input_ids, attention_mask }); got BigInt64Array',
    );
  });

  it('a token id outside the vocabulary fails in libtorch without killing the process', async () => {
    const inputs = tokens(1, 4);
    inputs.input_ids[0] = 10_000_000n;
    expectError(
      await rejection(model.forward(inputs, [1, 4])),
      'E_FORWARD',
      /^forward: .*index out of range/s,
    );
    // and the model still works afterwards
    expect((await model.forward(tokens(1, 4), [1, 4])).output_0!.dims).toEqual([1, 3]);
  });
});

describe('BAD CALL: lifecycle', () => {
  it('forward after dispose', async () => {
    const model = await Model.load(MODEL);
    await model.dispose();
    expect(model.disposed).toBe(true);
    expectError(
      await rejection(model.forward(tokens(1, 4), [1, 4])),
      'E_DISPOSED',
      'forward: the model is disposed',
    );
  });

  it('dispose twice: the second call is a no-op returning the same promise, the model stays disposed', async () => {
    const model = await Model.load(MODEL);
    const first = model.dispose();
    const second = model.dispose();
    expect(second).toBe(first);
    await expect(second).resolves.toBeUndefined();
    await expect(model.dispose()).resolves.toBeUndefined();
    expectError(
      await rejection(model.forward(tokens(1, 4), [1, 4])),
      'E_DISPOSED',
      'forward: the model is disposed',
    );
  });

  it('dispose during a forward: accepted forwards finish with correct outputs, later ones are refused', async () => {
    const goldens = readGoldens('sequence-classification');
    const c = goldens.cases.find((k) => k.dims[1] >= 33)!;
    const model = await Model.load(MODEL, { threads: 1 });
    const inputs = {
      input_ids: BigInt64Array.from(c.input_ids, BigInt),
      attention_mask: BigInt64Array.from(c.attention_mask, BigInt),
      token_type_ids: BigInt64Array.from(c.token_type_ids, BigInt),
    };
    const inFlight = Array.from({ length: 20 }, () => model.forward(inputs, c.dims));
    const disposed = model.dispose();
    const refused = rejection(model.forward(inputs, c.dims));
    for (const outputs of await Promise.all(inFlight)) {
      expect(maxAbsDiff(outputs.output_0!.data, c.outputs.output_0!.data)).toBeLessThanOrEqual(1e-5);
    }
    await expect(disposed).resolves.toBeUndefined();
    expectError(await refused, 'E_DISPOSED', 'forward: the model is disposed');
  });

  it('dispose with several workers runs after every accepted forward has settled', async () => {
    const goldens = readGoldens('sequence-classification');
    const c = goldens.cases.find((k) => k.dims[1] >= 33)!;
    const model = await Model.load(MODEL, { threads: 2, workers: 2 });
    const inputs = {
      input_ids: BigInt64Array.from(c.input_ids, BigInt),
      attention_mask: BigInt64Array.from(c.attention_mask, BigInt),
      token_type_ids: BigInt64Array.from(c.token_type_ids, BigInt),
    };
    const settled: string[] = [];
    const inFlight = Array.from({ length: 20 }, (_, i) =>
      model.forward(inputs, c.dims).then((outputs) => {
        settled.push(`forward ${i}`);
        return outputs;
      }),
    );
    const disposed = model.dispose().then(() => settled.push('dispose'));
    for (const outputs of await Promise.all(inFlight)) {
      expect(maxAbsDiff(outputs.output_0!.data, c.outputs.output_0!.data)).toBeLessThanOrEqual(1e-5);
    }
    await disposed;
    expect(settled).toHaveLength(21);
    expect(settled.at(-1)).toBe('dispose');
    expect(model.disposed).toBe(true);
  });

  it('outputs stay readable after the model is disposed (they own their memory)', async () => {
    const model = await Model.load(MODEL);
    const outputs = await model.forward(tokens(1, 4), [1, 4]);
    const copy = Array.from(outputs.output_0!.data);
    await model.dispose();
    global.gc?.();
    expect(Array.from(outputs.output_0!.data)).toEqual(copy);
  });
});

describe("arguments whose reading throws (the caller's getters and proxies)", () => {
  it('rejects with E_BAD_INPUT naming inputs or dims, the exception as its cause, not E_INTERNAL', async () => {
    await using model = await Model.load(MODEL);
    const thrown = new Error('getter of the caller');
    const inputs = { ...tokens(1, 4) };
    Object.defineProperty(inputs, 'token_type_ids', {
      enumerable: true,
      get() {
        throw thrown;
      },
    });
    let error = await rejection(model.forward(inputs, [1, 4]));
    expectError(error, 'E_BAD_INPUT', /forward: reading inputs threw \(getter of the caller\)/);
    expect(error.cause).toBe(thrown);

    const dims = new Proxy([1, 4], {
      get(target, key) {
        if (key === '0') throw thrown;
        return Reflect.get(target, key) as unknown;
      },
    });
    error = await rejection(model.forward(tokens(1, 4), dims as unknown as [number, number]));
    expectError(error, 'E_BAD_INPUT', /forward: reading dims threw/);
    expect(error.cause).toBe(thrown);
    // The model is unharmed.
    expect(Object.keys(await model.forward(tokens(1, 4), [1, 4])).length).toBeGreaterThan(0);
  });
});
