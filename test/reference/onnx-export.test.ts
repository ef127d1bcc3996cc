// The ONNX files next to each fixture's model.pt carry the same weights (checked against the Python torch
// goldens of model.pt), so parity tests against transformers.js compare pre- and post-processing, not models.
// Also a smoke check of every transformers.js pipeline on the fixtures, recording what it returns; the exact
// shapes are documented at the top of test/helpers/transformers-js.ts.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { FIXTURES, maxAbsDiff, type GoldenCase, type Goldens } from '../helpers/fixtures';
import {
  runTransformersJs,
  type EntityGroup,
  type OnnxForwardResult,
  type TokenEntity,
} from '../helpers/transformers-js';

const TOLERANCE = 1e-4;

interface ManifestFolder {
  name: string;
  task: string;
  modelType: string;
  problemType: string | null;
  labels: string[] | null;
  inputNames: string[];
  files: string[];
  onnx: { file: string; inputNames: string[]; outputNames: string[]; goldenOutputNames: string[] } | null;
}

const manifest = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'manifest.json'), 'utf8')) as {
  folders: ManifestFolder[];
};
const onnxFolders = manifest.folders.filter((folder) => folder.onnx !== null);
const dir = (name: string) => path.join(FIXTURES, name);
const readGoldens = (name: string) =>
  JSON.parse(fs.readFileSync(path.join(dir(name), 'goldens.json'), 'utf8')) as Goldens;

const TEXTS = [
  'I love this movie',
  'The weather in Paris is terrible today',
  'hello',
  'Stocks fell sharply on Monday after the report',
  'Sarah Connor lives in London and works for Cyberdyne',
  'a b c d e f g',
];

describe('fixture folders', () => {
  it('every folder is a Hugging Face model directory', () => {
    expect(manifest.folders.map((folder) => folder.name)).toEqual([
      'base',
      'sequence-classification',
      'token-classification',
      'question-answering',
      'multi-label-classification',
      'regression',
      'roberta-token-classification',
    ]);
    for (const folder of manifest.folders) {
      const tokenizerFiles =
        folder.modelType === 'roberta' ? ['merges.txt', 'vocab.json'] : ['onnx/model.onnx', 'tokenizer.json'];
      expect(folder.files).toEqual(
        ['config.json', 'goldens.json', 'model.pt', 'tokenizer_config.json', ...tokenizerFiles].sort(),
      );
      for (const file of folder.files) expect(fs.existsSync(path.join(dir(folder.name), file))).toBe(true);
    }
  });
});

describe.each(onnxFolders.map((folder) => [folder.name, folder] as const))(
  '%s: onnx/model.onnx equals the TorchScript goldens',
  (name, folder) => {
    const goldens = readGoldens(name);
    let result: OnnxForwardResult;

    beforeAll(async () => {
      result = await runTransformersJs({
        task: 'onnx-forward',
        model: dir(name),
        inputs: goldens.cases.map((c: GoldenCase) => ({
          dims: c.dims,
          input_ids: c.input_ids,
          attention_mask: c.attention_mask,
          token_type_ids: c.token_type_ids,
        })),
      });
    });

    it('has the input and output names transformers.js expects', () => {
      expect(result.inputNames).toEqual(['input_ids', 'attention_mask', 'token_type_ids']);
      expect(result.outputNames).toEqual(folder.onnx!.outputNames);
      expect(folder.onnx!.goldenOutputNames).toEqual(goldens.outputNames);
    });

    it.each(goldens.cases.map((c, i) => [c.name, i] as const))('case %s within 1e-4', (_caseName, i) => {
      const c = goldens.cases[i]!;
      const outputs = result.outputs[i]!;
      folder.onnx!.outputNames.forEach((onnxName, k) => {
        const expected = c.outputs[goldens.outputNames[k]!]!;
        expect(outputs[onnxName]!.dims).toEqual(expected.dims);
        expect(maxAbsDiff(Float32Array.from(outputs[onnxName]!.data), expected.data)).toBeLessThanOrEqual(
          TOLERANCE,
        );
      });
    });
  },
);

describe('transformers.js pipelines on the fixtures (smoke)', () => {
  it('text-classification: top_k null gives every label by descending softmax score; labels vary', async () => {
    const [all, top1] = await runTransformersJs([
      {
        task: 'text-classification',
        model: dir('sequence-classification'),
        inputs: TEXTS,
        options: { top_k: null },
      },
      { task: 'text-classification', model: dir('sequence-classification'), inputs: TEXTS },
    ]);
    // e.g. [{ label: 'positive', score: 0.95 }, { label: 'neutral', score: 0.034 }, { label: 'negative', score: 0.013 }]
    expect(all.outputs).toHaveLength(TEXTS.length);
    for (const labels of all.outputs) {
      expect(labels.map((l) => l.label).sort()).toEqual(['negative', 'neutral', 'positive']);
      expect(Object.keys(labels[0]!).sort()).toEqual(['label', 'score']);
      const scores = labels.map((l) => l.score);
      expect(scores).toEqual([...scores].sort((a, b) => b - a));
      expect(scores.reduce((a, b) => a + b)).toBeCloseTo(1, 5);
    }
    expect(new Set(all.outputs.map((labels) => labels[0]!.label)).size).toBeGreaterThan(1);
    // Default top_k 1: one label per input, the same as the first of top_k null.
    expect(top1.outputs.map((labels) => labels.length)).toEqual(TEXTS.map(() => 1));
    expect(top1.outputs.map((labels) => labels[0])).toEqual(all.outputs.map((labels) => labels[0]));
  });

  it('text-classification on multi-label uses sigmoid; on regression softmax over one logit gives 1', async () => {
    const [multi, regression] = await runTransformersJs([
      {
        task: 'text-classification',
        model: dir('multi-label-classification'),
        inputs: TEXTS,
        options: { top_k: null },
      },
      { task: 'text-classification', model: dir('regression'), inputs: TEXTS, options: { top_k: null } },
    ]);
    // e.g. [{ label: 'tech', score: 0.91 }, { label: 'politics', score: 0.69 }, { label: 'health', score: 0.47 }, ...]
    for (const labels of multi.outputs) {
      expect(labels.map((l) => l.label).sort()).toEqual(['health', 'politics', 'sports', 'tech']);
      for (const { score } of labels) expect(score > 0 && score < 1).toBe(true);
    }
    const sums = multi.outputs.map((labels) => labels.reduce((sum, l) => sum + l.score, 0));
    expect(sums.some((sum) => Math.abs(sum - 1) > 0.05)).toBe(true);
    const above = multi.outputs.map((labels) => labels.filter((l) => l.score > 0.5).length);
    expect(new Set(above).size).toBeGreaterThan(1);
    // transformers.js has no regression branch: [{ label: 'LABEL_0', score: 1 }] for every input.
    expect(regression.outputs).toEqual(TEXTS.map(() => [{ label: 'LABEL_0', score: 1 }]));
  });

  it('token-classification: none gives { entity, score, index, word } per token, simple { entity_group, score, word }', async () => {
    const [none, noneAll, simple] = await runTransformersJs([
      { task: 'token-classification', model: dir('token-classification'), inputs: TEXTS },
      {
        task: 'token-classification',
        model: dir('token-classification'),
        inputs: ['unbelievably Wolfgang tokenization'],
        options: { aggregation_strategy: 'none', ignore_labels: [] },
      },
      {
        task: 'token-classification',
        model: dir('token-classification'),
        inputs: TEXTS,
        options: { aggregation_strategy: 'simple' },
      },
    ]);
    const tokens = none.outputs as TokenEntity[][];
    expect(tokens).toHaveLength(TEXTS.length);
    for (const entities of tokens) {
      for (const entity of entities) {
        // No start/end: transformers.js gives no character offsets.
        expect(Object.keys(entity).sort()).toEqual(['entity', 'index', 'score', 'word']);
        expect(entity.entity).not.toBe('O'); // ignore_labels defaults to ['O']
      }
      const indices = entities.map((e) => e.index);
      expect(indices).toEqual([...indices].sort((a, b) => a - b));
    }
    expect(new Set(tokens.flat().map((e) => e.entity)).size).toBeGreaterThan(2);
    // With ignore_labels [] every non-special token is listed, subwords unmerged, '##' kept, [CLS] is index 0.
    const all = (noneAll.outputs as TokenEntity[][])[0]!;
    expect(all.map((e) => e.word)).toEqual([
      'un',
      '##bel',
      '##ie',
      '##va',
      '##bly',
      'wolfgang',
      'token',
      '##ization',
    ]);
    expect(all.map((e) => e.index)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    for (const entities of simple.outputs as EntityGroup[][]) {
      for (const group of entities) {
        expect(Object.keys(group).sort()).toEqual(['entity_group', 'score', 'word']);
        expect(['PER', 'LOC']).toContain(group.entity_group);
      }
    }
  });

  it('question-answering: { answer, score } without start/end; top_k n gives n answers', async () => {
    const inputs = [
      { question: 'Where do I live?', context: 'My name is Wolfgang and I live in Berlin' },
      { question: 'Who lives in London?', context: 'Sarah lives in London and works for a bank' },
    ];
    const [best, top3, none] = await runTransformersJs([
      { task: 'question-answering', model: dir('question-answering'), inputs },
      { task: 'question-answering', model: dir('question-answering'), inputs, options: { top_k: 3 } },
      { task: 'question-answering', model: dir('question-answering'), inputs, options: { top_k: null } },
    ]);
    // e.g. { answer: 'is wolfgang and i live in berlin', score: 0.442 }
    best.outputs.forEach((answers, i) => {
      expect(answers).toHaveLength(1);
      expect(Object.keys(answers[0]!).sort()).toEqual(['answer', 'score']);
      expect(inputs[i]!.context.toLowerCase()).toContain(answers[0]!.answer);
      expect(answers[0]!.answer).not.toBe('');
    });
    for (const answers of top3.outputs) {
      expect(answers).toHaveLength(3);
      const scores = answers.map((a) => a.score);
      expect(scores).toEqual([...scores].sort((a, b) => b - a));
    }
    expect(top3.outputs.map((answers) => answers[0])).toEqual(best.outputs.map((answers) => answers[0]));
    expect(none.outputs).toEqual([[], []]); // top_k null: Math.min(count, null) is 0
  });

  it('feature-extraction: mean/cls pooling give [batch, hidden]; cls equals the ONNX last_hidden_state', async () => {
    const texts = TEXTS.slice(0, 3);
    const [mean, cls, tokenized] = await runTransformersJs([
      {
        task: 'feature-extraction',
        model: dir('base'),
        inputs: texts,
        options: { pooling: 'mean', normalize: true },
      },
      { task: 'feature-extraction', model: dir('base'), inputs: texts, options: { pooling: 'cls' } },
      { task: 'tokenize', model: dir('base'), inputs: texts },
    ]);
    expect(mean.dims).toEqual([3, 32]);
    for (const row of mean.outputs as number[][]) {
      expect(Math.hypot(...row)).toBeCloseTo(1, 5);
    }
    expect(cls.dims).toEqual([3, 32]);
    const first = tokenized.outputs[0]!;
    const forward = await runTransformersJs({
      task: 'onnx-forward',
      model: dir('base'),
      inputs: [{ dims: [1, first.input_ids.length], ...first }],
    });
    const hidden = forward.outputs[0]!.last_hidden_state!;
    expect(
      maxAbsDiff(Float32Array.from((cls.outputs as number[][])[0]!), hidden.data.slice(0, 32)),
    ).toBeLessThan(1e-5);
  });

  it('tokenize: bert-base-uncased ids, pairs with token type ids', async () => {
    const [single, pair] = await runTransformersJs([
      { task: 'tokenize', model: dir('base'), inputs: ['The unwanted running'] },
      { task: 'tokenize', model: dir('question-answering'), inputs: [['Who?', 'Sarah lives']] },
    ]);
    expect(single.outputs[0]).toEqual({
      input_ids: [101, 1996, 18162, 2770, 102],
      attention_mask: [1, 1, 1, 1, 1],
      token_type_ids: [0, 0, 0, 0, 0],
      tokens: ['[CLS]', 'the', 'unwanted', 'running', '[SEP]'],
    });
    expect(pair.outputs[0]!.tokens).toEqual(['[CLS]', 'who', '?', '[SEP]', 'sarah', 'lives', '[SEP]']);
    expect(pair.outputs[0]!.token_type_ids).toEqual([0, 0, 0, 0, 1, 1, 1]);
  });

  it('reports a runner failure with its stderr', async () => {
    await expect(
      runTransformersJs({ task: 'text-classification', model: dir('no-such-model'), inputs: ['x'] }),
    ).rejects.toThrow(/exited with code 1; stderr:\n.*no-such-model has no config.json/);
  });
});
