import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Model, pipeline } from '../../lib';
import { expectError, rejection } from '../helpers/errors';
import { FIXTURES } from '../helpers/fixtures';

const CLASSIFIER = path.join(FIXTURES, 'sequence-classification');

let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'torch-encoders-pipeline-'));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('BAD CALL: pipeline()', () => {
  it('unknown task', async () => {
    expectError(
      await rejection(pipeline('summarization' as 'ner', CLASSIFIER)),
      'E_BAD_INPUT',
      "pipeline: task must be one of 'text-classification', 'sentiment-analysis', 'token-classification', 'ner', 'question-answering', 'feature-extraction', 'sentence-embeddings', 'rerank'; got the string 'summarization'",
    );
  });

  it('a model directory that does not exist', async () => {
    const missing = path.join(tmp, 'nowhere');
    expectError(
      await rejection(pipeline('ner', missing)),
      'E_MODEL_NOT_FOUND',
      `pipeline: '${missing}' is not a directory; expected a model directory with model.pt, config.json and tokenizer.json`,
    );
  });

  it('an empty model directory names every missing file', async () => {
    const empty = fs.mkdtempSync(path.join(tmp, 'empty-'));
    expectError(
      await rejection(pipeline('text-classification', empty)),
      'E_MODEL_NOT_FOUND',
      `model directory '${empty}' is missing model.pt, config.json, tokenizer.json (or vocab.txt, or vocab.json + merges.txt)`,
    );
  });

  it('a directory with a model but no tokenizer', async () => {
    const dir = fs.mkdtempSync(path.join(tmp, 'no-tokenizer-'));
    fs.copyFileSync(path.join(CLASSIFIER, 'model.pt'), path.join(dir, 'model.pt'));
    fs.copyFileSync(path.join(CLASSIFIER, 'config.json'), path.join(dir, 'config.json'));
    expectError(
      await rejection(pipeline('text-classification', dir)),
      'E_MODEL_NOT_FOUND',
      `model directory '${dir}' is missing tokenizer.json (or vocab.txt, or vocab.json + merges.txt)`,
    );
  });

  it('a config.json without model_type', async () => {
    const dir = fs.mkdtempSync(path.join(tmp, 'bad-config-'));
    for (const file of ['model.pt', 'tokenizer.json'])
      fs.copyFileSync(path.join(CLASSIFIER, file), path.join(dir, file));
    fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ id2label: { 0: 'a' } }));
    expectError(
      await rejection(pipeline('text-classification', dir)),
      'E_MODEL_LOAD',
      `config.json: missing key model_type (for example "bert", "roberta" or "distilbert") (${path.join(dir, 'config.json')})`,
    );
  });

  it('options of the wrong type or range, checked when the pipeline is made', async () => {
    expectError(
      await rejection(pipeline('text-classification', CLASSIFIER, 'fast' as unknown as object)),
      'E_BAD_INPUT',
      "pipeline: options must be an object; got the string 'fast'",
    );
    expectError(
      await rejection(pipeline('text-classification', CLASSIFIER, { topK: -1 })),
      'E_BAD_INPUT',
      'text-classification: options.topK must be an integer >= 1; got the number -1',
    );
    expectError(
      await rejection(pipeline('ner', CLASSIFIER, { aggregationStrategy: 'exact' as 'none' })),
      'E_BAD_INPUT',
      "token-classification: options.aggregationStrategy must be one of 'none', 'simple', 'first', 'average', 'max'; got the string 'exact'",
    );
    expectError(
      await rejection(pipeline('text-classification', CLASSIFIER, { pooling: 'mean' } as object)),
      'E_BAD_INPUT',
      "pipeline: unknown option 'pooling'; known options are 'device', 'threads', 'workers', 'optimize', 'outputNames', 'maxLength', 'dynamicBatching', 'topK', 'functionToApply', 'truncate', 'batchSize', 'maxBatchTokens'",
    );
    expectError(
      await rejection(pipeline('text-classification', CLASSIFIER, { maxLength: 4096 })),
      'E_BAD_INPUT',
      "Model.load: options.maxLength must be at most 128 (the model's position embeddings); got the number 4096",
    );
  });
});

describe('BAD CALL: exports for another device', () => {
  it('a float16 export on the CPU is refused at load, naming the fix', async () => {
    const dir = fs.mkdtempSync(path.join(tmp, 'fp16-'));
    for (const file of ['model.pt', 'config.json', 'tokenizer.json']) {
      fs.copyFileSync(path.join(CLASSIFIER, file), path.join(dir, file));
    }
    const metadata = { format: 1, task: 'sequence-classification', torchVersion: '1.13.0', maxLength: 128 };
    fs.writeFileSync(
      path.join(dir, 'torch-encoders.json'),
      JSON.stringify({ ...metadata, inputNames: ['input_ids'], outputNames: ['logits'], dtype: 'float16' }),
    );
    expectError(
      await rejection(Model.load(dir, { device: 'cpu' })),
      'E_DEVICE_UNAVAILABLE',
      `Model.load: '${dir}' holds float16 weights, which libtorch runs on CUDA only; load it with device 'cuda' or export it without --dtype fp16`,
    );
  });
});

describe('manual API', () => {
  it('Model.load(dir) encodes texts and pairs into padded inputs and runs forward', async () => {
    await using model = await Model.load(CLASSIFIER);
    expect(model.config!.modelType).toBe('bert');
    expect(model.config!.id2label).toEqual(['negative', 'neutral', 'positive']);
    const batch = await model.encode(['unwanted running', { text: 'the', textPair: 'running' }, '']);
    // [CLS] unwanted running [SEP] | [CLS] the [SEP] running [SEP] | [CLS] [SEP], padded to 5.
    expect(batch.dims).toEqual([3, 5]);
    expect(Array.from(batch.inputs.input_ids, Number)).toEqual([
      101, 18162, 2770, 102, 0, 101, 1996, 102, 2770, 102, 101, 102, 0, 0, 0,
    ]);
    expect(Array.from(batch.inputs.attention_mask!, Number)).toEqual([
      1, 1, 1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0,
    ]);
    expect(Array.from(batch.inputs.token_type_ids!, Number)).toEqual([
      0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0,
    ]);
    const outputs = await model.forward(batch.inputs, batch.dims);
    expect(outputs.output_0!.dims).toEqual([3, 3]);
  });

  it('workers default to one per thread for a model as small as the fixtures, on the CPU; options win', async () => {
    await using small = await Model.load(CLASSIFIER, { threads: 2 });
    expect([small.workers, small.threads]).toEqual([2, 2]);
    await using chosen = await Model.load(CLASSIFIER, { threads: 2, workers: 1 });
    expect([chosen.workers, chosen.threads]).toEqual([1, 2]);
    // A bare file has no config.json to size the model from.
    await using bare = await Model.load(path.join(CLASSIFIER, 'model.pt'), { threads: 2 });
    expect([bare.workers, bare.threads]).toEqual([1, 2]);
    // The same weights with BERT-base's sizes in config.json: one forward at a time, with every thread.
    const large = path.join(tmp, 'large-config');
    fs.cpSync(CLASSIFIER, large, { recursive: true });
    const config = JSON.parse(fs.readFileSync(path.join(large, 'config.json'), 'utf8'));
    const sizes = { hidden_size: 768, num_hidden_layers: 12, intermediate_size: 3072 };
    fs.writeFileSync(path.join(large, 'config.json'), JSON.stringify({ ...config, ...sizes }));
    await using base = await Model.load(large, { threads: 2 });
    expect([base.workers, base.threads]).toEqual([1, 2]);
  });

  it('a bare TorchScript file runs forward but cannot encode', async () => {
    await using model = await Model.load(path.join(CLASSIFIER, 'model.pt'));
    expect(model.config).toBeUndefined();
    expectError(
      await rejection(model.encode('hello')),
      'E_BAD_INPUT',
      'encode: this model was loaded from a bare TorchScript file; load its model directory (model.pt, config.json, tokenizer) to encode text',
    );
  });
});

describe('BAD FILE: a tokenizer that parses but cannot encode', () => {
  it('is refused at load with E_MODEL_LOAD naming the directory, not at every call with E_INTERNAL', async () => {
    const dir = path.join(tmp, 'empty-vocabulary');
    fs.cpSync(CLASSIFIER, dir, { recursive: true });
    const file = path.join(dir, 'tokenizer.json');
    const tokenizer = JSON.parse(fs.readFileSync(file, 'utf8')) as { model: { vocab: unknown } };
    // Found by test/reliability/fuzz-files.test.ts: no vocabulary, so no unknown token either.
    tokenizer.model.vocab = [];
    fs.writeFileSync(file, JSON.stringify(tokenizer));
    expectError(
      await rejection(pipeline('text-classification', dir)),
      'E_MODEL_LOAD',
      /empty-vocabulary': its tokenizer cannot encode text \(.*unk.*\); check tokenizer.json/,
    );
  });
});
