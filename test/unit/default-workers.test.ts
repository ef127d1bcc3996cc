import * as fs from 'node:fs';
import * as path from 'node:path';
import { SMALL_MODEL_FLOPS_PER_TOKEN, defaultWorkers, encoderFlopsPerToken } from '../../lib/default-workers';
import type { ModelConfig } from '../../lib/model-config';

function config(raw: Record<string, unknown>): ModelConfig {
  return {
    modelType: String(raw.model_type ?? 'bert'),
    id2label: [],
    problemType: undefined,
    maxPositionEmbeddings: undefined,
    padTokenId: undefined,
    raw,
  };
}

const DEMO = config({ hidden_size: 128, num_hidden_layers: 2, intermediate_size: 512 });
const BERT_MINI = config({ hidden_size: 256, num_hidden_layers: 4, intermediate_size: 1024 });
const BERT_BASE = config({ hidden_size: 768, num_hidden_layers: 12, intermediate_size: 3072 });

describe('encoderFlopsPerToken', () => {
  it('counts the attention projections and the feed-forward of every layer, 2 FLOPs a multiply-add', () => {
    // 2 x 12 x (4 x 768^2 + 2 x 768 x 3072): the figure bench/lib/flops.js uses for BERT-base's linear layers.
    expect(encoderFlopsPerToken(BERT_BASE)).toBe(169_869_312);
    expect(encoderFlopsPerToken(DEMO)).toBe(786_432);
  });

  it("reads DistilBERT's names for the sizes", () => {
    const distil = config({ model_type: 'distilbert', dim: 768, n_layers: 6, hidden_dim: 3072 });
    expect(encoderFlopsPerToken(distil)).toBe(169_869_312 / 2);
  });

  it('is undefined when a size is missing or not a positive integer', () => {
    expect(encoderFlopsPerToken(config({ hidden_size: 128, num_hidden_layers: 2 }))).toBeUndefined();
    expect(
      encoderFlopsPerToken(config({ hidden_size: '128', num_hidden_layers: 2, intermediate_size: 512 })),
    ).toBeUndefined();
    expect(
      encoderFlopsPerToken(config({ hidden_size: 128, num_hidden_layers: 0, intermediate_size: 512 })),
    ).toBeUndefined();
  });
});

describe('defaultWorkers', () => {
  it('gives models as small as the demo ones a worker per thread on the CPU', () => {
    expect(encoderFlopsPerToken(DEMO)!).toBeLessThanOrEqual(SMALL_MODEL_FLOPS_PER_TOKEN);
    expect(defaultWorkers(DEMO, 2, () => false)).toBe(2);
    expect(defaultWorkers(DEMO, 8, () => false)).toBe(8);
  });

  it('keeps one forward at a time, with every thread, for models that use a second thread', () => {
    expect(defaultWorkers(BERT_MINI, 2, () => false)).toBe(1);
    expect(defaultWorkers(BERT_BASE, 8, () => false)).toBe(1);
  });

  it('keeps one on CUDA, for a bare TorchScript file, and for a config without sizes', () => {
    expect(defaultWorkers(DEMO, 2, () => true)).toBe(1);
    expect(defaultWorkers(undefined, 2, () => false)).toBe(1);
    expect(defaultWorkers(config({ model_type: 'bert' }), 2, () => false)).toBe(1);
  });

  it('asks whether the model is on CUDA only for a small model', () => {
    const onCuda = jest.fn(() => false);
    defaultWorkers(BERT_BASE, 2, onCuda);
    defaultWorkers(undefined, 2, onCuda);
    expect(onCuda).not.toHaveBeenCalled();
    defaultWorkers(DEMO, 2, onCuda);
    expect(onCuda).toHaveBeenCalledTimes(1);
  });

  it('gives the demo models (all-MiniLM-L6-v2, 6 layers x 384) one worker with every thread', () => {
    const models = path.join(__dirname, '..', '..', 'models');
    const names = fs
      .readdirSync(models)
      .filter((name) => fs.existsSync(path.join(models, name, 'config.json')));
    expect(names.length).toBeGreaterThanOrEqual(5);
    for (const name of names) {
      const raw = JSON.parse(fs.readFileSync(path.join(models, name, 'config.json'), 'utf8'));
      expect([name, defaultWorkers(config(raw), 2, () => false)]).toEqual([name, 1]);
    }
  });
});
