import * as fs from 'node:fs';
import * as path from 'node:path';
import { types } from 'node:util';
import { Model, TorchEncodersError, type ForwardInputs } from '../../lib';
import {
  FIXTURE_NAMES,
  FIXTURES,
  fixtureModel,
  maxAbsDiff,
  readGoldens,
  type GoldenCase,
} from '../helpers/fixtures';

const TOLERANCE = 1e-5;

const arrayTypes = {
  BigInt64Array: (values: number[]) => BigInt64Array.from(values, (v) => BigInt(v)),
  Int32Array: (values: number[]) => Int32Array.from(values),
};

function inputsOf(
  c: GoldenCase,
  make: (values: number[]) => BigInt64Array | Int32Array,
  inputNames: readonly string[] = ['input_ids', 'attention_mask', 'token_type_ids'],
): ForwardInputs {
  const all = { input_ids: c.input_ids, attention_mask: c.attention_mask, token_type_ids: c.token_type_ids };
  // A RoBERTa module takes no token_type_ids: passing them would be an unknown input.
  return Object.fromEntries(
    Object.entries(all)
      .filter(([name]) => inputNames.includes(name))
      .map(([name, values]) => [name, make(values)]),
  ) as ForwardInputs;
}

// Every fixture the generator made for this runtime, not only the four the task tests use.
const ALL_FIXTURES = fs
  .readdirSync(FIXTURES, { withFileTypes: true })
  .filter((entry) => entry.isDirectory() && fs.existsSync(path.join(FIXTURES, entry.name, 'goldens.json')))
  .map((entry) => entry.name)
  .sort();

it('covers every fixture of the runtime, the four task fixtures among them', () => {
  expect(ALL_FIXTURES).toEqual(expect.arrayContaining([...FIXTURE_NAMES]));
  expect(ALL_FIXTURES.length).toBeGreaterThanOrEqual(7);
});

describe.each(ALL_FIXTURES)('%s fixture equals the Python torch goldens', (name) => {
  const goldens = readGoldens(name);
  let model: Model;

  beforeAll(async () => {
    model = await Model.load(fixtureModel(name), { threads: 2 });
  });
  afterAll(() => model.dispose());

  it('reads its input names from the forward schema', () => {
    expect(model.inputNames).toEqual(goldens.inputNames);
    expect(model.device).toBe('cpu');
  });

  describe.each(Object.entries(arrayTypes))('with %s inputs', (_, make) => {
    it.each(goldens.cases.map((c) => [c.name, c] as const))('case %s', async (_caseName, c) => {
      const outputs = await model.forward(inputsOf(c, make, goldens.inputNames), c.dims);
      expect(Object.keys(outputs)).toEqual(goldens.outputNames);
      for (const [outputName, expected] of Object.entries(c.outputs)) {
        const actual = outputs[outputName]!;
        expect(actual.dims).toEqual(expected.dims);
        expect(types.isFloat32Array(actual.data)).toBe(true);
        expect(maxAbsDiff(actual.data, expected.data)).toBeLessThanOrEqual(TOLERANCE);
      }
    });
  });

  if (goldens.inputNames.includes('token_type_ids')) {
    it('fills absent token_type_ids with zeros, as Hugging Face does', async () => {
      const c = goldens.cases.find((k) => k.token_type_ids.every((t) => t === 0));
      expect(c).toBeDefined();
      const { input_ids, attention_mask } = inputsOf(c!, arrayTypes.BigInt64Array);
      const outputs = await model.forward({ input_ids, attention_mask }, c!.dims);
      for (const [outputName, expected] of Object.entries(c!.outputs)) {
        expect(maxAbsDiff(outputs[outputName]!.data, expected.data)).toBeLessThanOrEqual(TOLERANCE);
      }
    });
  } else {
    it('rejects token_type_ids, which it does not take, naming its inputs', async () => {
      const c = goldens.cases[0]!;
      await expect(
        model.forward(
          {
            ...inputsOf(c, arrayTypes.BigInt64Array, goldens.inputNames),
            token_type_ids: new BigInt64Array(c.dims[0] * c.dims[1]),
          },
          c.dims,
        ),
      ).rejects.toMatchObject({
        code: 'E_BAD_INPUT',
        message: `forward: this model takes (${goldens.inputNames.join(', ')}), not 'token_type_ids'`,
      });
    });
  }
});

describe('optimize: freeze + optimize_for_inference at load', () => {
  it.each(FIXTURE_NAMES)('%s still equals the goldens', async (name) => {
    const goldens = readGoldens(name);
    await using model = await Model.load(fixtureModel(name), { optimize: true });
    for (const c of goldens.cases) {
      const outputs = await model.forward(inputsOf(c, arrayTypes.BigInt64Array), c.dims);
      for (const [outputName, expected] of Object.entries(c.outputs)) {
        expect(maxAbsDiff(outputs[outputName]!.data, expected.data)).toBeLessThanOrEqual(TOLERANCE);
      }
    }
  });
});

describe('output naming', () => {
  it('uses the names given at load, in the order the module returns its outputs', async () => {
    const goldens = readGoldens('question-answering');
    await using model = await Model.load(fixtureModel('question-answering'), {
      outputNames: ['start_logits', 'end_logits'],
    });
    const c = goldens.cases[0]!;
    const outputs = await model.forward(inputsOf(c, arrayTypes.Int32Array), c.dims);
    expect(Object.keys(outputs)).toEqual(['start_logits', 'end_logits']);
    expect(maxAbsDiff(outputs.start_logits!.data, c.outputs.output_0!.data)).toBeLessThanOrEqual(TOLERANCE);
    expect(maxAbsDiff(outputs.end_logits!.data, c.outputs.output_1!.data)).toBeLessThanOrEqual(TOLERANCE);
  });

  it('refuses a name map that repeats a name, at load', async () => {
    const error = await Model.load(fixtureModel('question-answering'), {
      outputNames: ['start_logits', 'start_logits'],
    }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(TorchEncodersError);
    expect(error).toMatchObject({ code: 'E_BAD_INPUT' });
    expect((error as Error).message).toBe(
      "Model.load: options.outputNames must be distinct names ('start_logits' repeats); got an array of length 2",
    );
  });

  it('rejects a name map whose length does not match the outputs', async () => {
    await using model = await Model.load(fixtureModel('question-answering'), { outputNames: ['logits'] });
    const c = readGoldens('question-answering').cases[0]!;
    const error = await model.forward(inputsOf(c, arrayTypes.Int32Array), c.dims).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(TorchEncodersError);
    expect(error).toMatchObject({ code: 'E_BAD_INPUT' });
    expect((error as Error).message).toBe(
      'forward: options.outputNames given at load has 1 names but the module returned 2 tensors',
    );
  });
});
