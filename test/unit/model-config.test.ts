import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { maxSequenceLength, readModelConfig } from '../../lib/model-config';
import { expectError } from '../helpers/errors';

function withConfig(config: unknown): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'torch-encoders-config-'));
  fs.writeFileSync(
    path.join(dir, 'config.json'),
    typeof config === 'string' ? config : JSON.stringify(config),
  );
  return dir;
}

describe('readModelConfig', () => {
  it('reads labels by id, problem type and limits', () => {
    const config = readModelConfig(
      withConfig({
        model_type: 'bert',
        id2label: { 1: 'pos', 0: 'neg' },
        problem_type: 'single_label_classification',
        max_position_embeddings: 512,
        pad_token_id: 0,
      }),
    );
    expect(config.id2label).toEqual(['neg', 'pos']);
    expect(config.problemType).toBe('single_label_classification');
    expect(maxSequenceLength(config)).toBe(512);
  });

  it('names labels LABEL_i from num_labels when id2label is absent, as Hugging Face does', () => {
    expect(readModelConfig(withConfig({ model_type: 'bert', num_labels: 2 })).id2label).toEqual([
      'LABEL_0',
      'LABEL_1',
    ]);
  });

  it('leaves RoBERTa two positions short (positions start after the padding index)', () => {
    const config = readModelConfig(
      withConfig({ model_type: 'roberta', max_position_embeddings: 514, pad_token_id: 1 }),
    );
    expect(maxSequenceLength(config)).toBe(512);
  });

  it.each([
    ['{ not json', /^config.json: not valid JSON: .+ \(.+config.json\)$/],
    [
      { id2label: {} },
      /^config.json: missing key model_type \(for example "bert", "roberta" or "distilbert"\)/,
    ],
    [{ model_type: 'bert', id2label: { 0: 'a', 2: 'c' } }, /^config.json: id2label has no label for id 1/],
    [{ model_type: 'bert', problem_type: 'ranking' }, /^config.json: unknown problem_type "ranking"/],
  ])('malformed config %p', (config, message) => {
    let error: unknown;
    try {
      readModelConfig(withConfig(config));
    } catch (caught) {
      error = caught;
    }
    expectError(error, 'E_MODEL_LOAD', message);
  });

  it('a directory without config.json', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'torch-encoders-config-'));
    expect(() => readModelConfig(dir)).toThrow(
      expect.objectContaining({
        code: 'E_MODEL_NOT_FOUND',
        message: `model directory '${dir}' has no readable config.json (a Hugging Face config with at least model_type)`,
      }),
    );
  });
});
