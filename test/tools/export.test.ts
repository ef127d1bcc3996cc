// The Node round trip of tools/export.py: tiny random Hugging Face checkpoints (BERT, RoBERTa,
// DistilBERT, two or more heads each, pytorch_model.bin and model.safetensors) are written by
// tools/hf_checkpoint.py and exported by tools/export.py; the library loads each export, tokenizes
// texts with the export's own tokenizer and runs them. The reference is independent of both the
// exporter and the library: Python runs the EAGER tools/modeling.py model, loaded straight from
// the checkpoint, on the token ids Node produced. float32 exports must match it within 1e-5;
// int8 exports within the exporter's relative bound (tools/export.py INT8_MAX_RELATIVE_RMS, whose
// measurements are documented there), and within 1e-5 of Python torch running the same int8 file
// (so Node computes what the exporter checked); bf16 exports likewise with BF16_MAX_RELATIVE_RMS. The
// Python tools run with the project venv's Python (torch 2.x, transformers). Every task pipeline runs on the exports and its
// results are checked against the eager outputs (float32) or for well-formedness (int8).
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { types, promisify } from 'node:util';
import { Model, pipeline, type Tensor } from '../../lib';
import { referenceSoftmax } from '../helpers/math';
import { runTransformersJs } from '../helpers/transformers-js';
import { ROOT, venvPython } from '../helpers/venv-python';

const run = promisify(execFile);
const PYTHON = venvPython();
const FP32_TOLERANCE = 1e-5;
/** The exporter's bounds vs float32, read from its source so the two cannot drift apart. */
const bound = (name: string) =>
  Number(
    new RegExp(`^${name} = ([0-9.]+)$`, 'm').exec(
      fs.readFileSync(path.join(ROOT, 'tools/export_checks.py'), 'utf8'),
    )![1],
  );
const INT8_MAX_RELATIVE_RMS = bound('INT8_MAX_RELATIVE_RMS');
const BF16_MAX_RELATIVE_RMS = bound('BF16_MAX_RELATIVE_RMS');

type ModelType = 'bert' | 'roberta' | 'distilbert';
type HfTask = 'base' | 'sequence-classification' | 'token-classification' | 'question-answering';

interface Export {
  /** Export directory name. */
  name: string;
  /** Checkpoint directory name (several exports may share one). */
  checkpoint: string;
  modelType: ModelType;
  task: HfTask;
  labels?: string[];
  weights?: 'bin' | 'safetensors';
  int8?: boolean;
  bf16?: boolean;
  onnx?: boolean;
}

const SENTIMENT = ['negative', 'neutral', 'positive'];
const NER = ['O', 'B-PER', 'I-PER', 'B-LOC', 'I-LOC'];
const EXPORTS: Export[] = [
  {
    name: 'bert-seq',
    checkpoint: 'bert-seq',
    modelType: 'bert',
    task: 'sequence-classification',
    labels: SENTIMENT,
    onnx: true,
  },
  {
    name: 'bert-qa',
    checkpoint: 'bert-qa',
    modelType: 'bert',
    task: 'question-answering',
    weights: 'safetensors',
  },
  { name: 'bert-base', checkpoint: 'bert-base', modelType: 'bert', task: 'base' },
  { name: 'bert-base-int8', checkpoint: 'bert-base', modelType: 'bert', task: 'base', int8: true },
  { name: 'bert-base-bf16', checkpoint: 'bert-base', modelType: 'bert', task: 'base', bf16: true },
  {
    name: 'roberta-ner',
    checkpoint: 'roberta-ner',
    modelType: 'roberta',
    task: 'token-classification',
    labels: NER,
    weights: 'safetensors',
  },
  { name: 'roberta-base', checkpoint: 'roberta-base', modelType: 'roberta', task: 'base' },
  { name: 'distilbert-qa', checkpoint: 'distilbert-qa', modelType: 'distilbert', task: 'question-answering' },
  {
    name: 'distilbert-seq-int8',
    checkpoint: 'distilbert-seq',
    modelType: 'distilbert',
    task: 'sequence-classification',
    labels: SENTIMENT,
    int8: true,
  },
];

const TEXTS = [
  'I love this movie',
  'Sarah Connor lives in London and works for Cyberdyne Systems',
  'hello',
  'The weather in Paris is terrible today, and the trains are late again.',
];
const QA = [
  {
    question: 'Where does Sarah live?',
    context: 'Sarah Connor lives in London and works for Cyberdyne Systems.',
  },
  {
    question: 'What is late?',
    context: 'The weather in Paris is terrible today, and the trains are late again.',
  },
];

interface Reference {
  eager: Record<string, { dims: number[]; data: number[] }>;
  /** Python torch running the exported model.pt on the same ids. */
  torchscript: Record<string, { dims: number[]; data: number[] }>;
}

let tmp: string;
const dir = (name: string) => path.join(tmp, 'exports', name);
const models = new Map<string, Model>();
const nodeOutputs = new Map<string, Record<string, Tensor>>();
const references = new Map<string, Reference>();
const encodedIds = new Map<
  string,
  { dims: number[]; input_ids: number[]; attention_mask: number[]; token_type_ids?: number[] }
>();

function inputsOf(spec: Export): string[] | { text: string; textPair: string }[] {
  return spec.task === 'question-answering'
    ? QA.map(({ question, context }) => ({ text: question, textPair: context }))
    : TEXTS;
}

async function python(args: string[]): Promise<string> {
  const { stdout } = await run(PYTHON, args, { cwd: ROOT, maxBuffer: 64 * 1024 * 1024 });
  return stdout;
}

/** Runs `tasks` at most `limit` at a time (the exports share two cores). */
async function inPool<T>(items: readonly T[], limit: number, task: (item: T) => Promise<unknown>) {
  const queue = [...items];
  await Promise.all(
    Array.from({ length: limit }, async () => {
      for (let item = queue.shift(); item !== undefined; item = queue.shift()) await task(item);
    }),
  );
}

function maxAbsDiff(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  expect(actual.length).toBe(expected.length);
  let max = 0;
  for (let i = 0; i < expected.length; i++) max = Math.max(max, Math.abs(actual[i]! - expected[i]!));
  return max;
}

function relativeRms(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  expect(actual.length).toBe(expected.length);
  let diff = 0;
  let norm = 0;
  for (let i = 0; i < expected.length; i++) {
    diff += (actual[i]! - expected[i]!) ** 2;
    norm += expected[i]! ** 2;
  }
  return Math.sqrt(diff / norm);
}

/** Row `row` of a [batch, ...] tensor given as dims and flat data. */
function rowOf(tensor: { dims: number[]; data: ArrayLike<number> }, row: number): number[] {
  const size = tensor.dims.slice(1).reduce((a, b) => a * b, 1);
  return Array.from(tensor.data).slice(row * size, (row + 1) * size);
}

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'torch-encoders-export-'));
  const checkpoints = [...new Map(EXPORTS.map((spec) => [spec.checkpoint, spec])).values()];
  const spec = checkpoints.map((item, seed) => ({
    dir: path.join(tmp, 'checkpoints', item.checkpoint),
    modelType: item.modelType,
    task: item.task,
    seed: 500 + seed,
    labels: item.labels,
    weights: item.weights ?? 'bin',
  }));
  fs.writeFileSync(path.join(tmp, 'spec.json'), JSON.stringify(spec));
  await python(['tools/hf_checkpoint.py', 'write', path.join(tmp, 'spec.json')]);

  await inPool(EXPORTS, 2, (item) =>
    python([
      'tools/export.py',
      path.join(tmp, 'checkpoints', item.checkpoint),
      dir(item.name),
      '--task',
      item.task,
      ...(item.int8 ? ['--quantize', 'int8'] : []),
      ...(item.bf16 ? ['--dtype', 'bf16'] : []),
      ...(item.onnx ? ['--onnx'] : []),
    ]),
  );

  // Node tokenizes with each export's own tokenizer and runs the export.
  const requests = [];
  for (const item of EXPORTS) {
    const model = await Model.load(dir(item.name), { threads: 2 });
    models.set(item.name, model);
    const batch = await model.encode(inputsOf(item));
    nodeOutputs.set(item.name, await model.forward(batch.inputs, batch.dims));
    const ids = {
      dims: [...batch.dims],
      ...Object.fromEntries(
        Object.entries(batch.inputs).map(([name, values]) => [name, Array.from(values!, Number)]),
      ),
    } as { dims: number[]; input_ids: number[]; attention_mask: number[]; token_type_ids?: number[] };
    encodedIds.set(item.name, ids);
    requests.push({
      name: item.name,
      checkpoint: path.join(tmp, 'checkpoints', item.checkpoint),
      task: item.task,
      torchscript: path.join(dir(item.name), 'model.pt'),
      batches: [ids],
    });
  }
  // Python: the eager model straight from the checkpoint, and the exported file, on Node's ids.
  fs.writeFileSync(path.join(tmp, 'requests.json'), JSON.stringify(requests));
  await python([
    'tools/hf_checkpoint.py',
    'eager',
    path.join(tmp, 'requests.json'),
    path.join(tmp, 'eager.json'),
  ]);
  const results = JSON.parse(fs.readFileSync(path.join(tmp, 'eager.json'), 'utf8')) as {
    name: string;
    batches: Reference[];
  }[];
  for (const result of results) references.set(result.name, result.batches[0]!);
}, 180_000);

afterAll(async () => {
  for (const model of models.values()) await model.dispose();
  if (tmp !== undefined) fs.rmSync(tmp, { recursive: true, force: true });
});

describe('tools/export.py output through the library', () => {
  it.each(EXPORTS.map((item) => [item.name, item] as const))(
    '%s: metadata, inputs and raw outputs match the eager model',
    (_name, item) => {
      const model = models.get(item.name)!;
      const metadata = model.exportMetadata!;
      expect(metadata).toEqual(
        JSON.parse(fs.readFileSync(path.join(dir(item.name), 'torch-encoders.json'), 'utf8')),
      );
      expect(metadata.dtype).toBe(item.int8 ? 'qint8' : item.bf16 ? 'bfloat16' : 'float32');
      expect(metadata.attention).toBe('sdpa');
      expect(metadata.task).toBe(item.task);
      expect(metadata.maxLength).toBe(128);
      expect(model.inputNames).toEqual(metadata.inputNames);
      expect(metadata.inputNames).toEqual(
        item.modelType === 'bert'
          ? ['input_ids', 'attention_mask', 'token_type_ids']
          : ['input_ids', 'attention_mask'],
      );
      const outputs = nodeOutputs.get(item.name)!;
      const reference = references.get(item.name)!;
      expect(Object.keys(outputs)).toEqual(metadata.outputNames);
      expect(Object.keys(reference.eager)).toEqual(metadata.outputNames);
      for (const name of metadata.outputNames) {
        const output = outputs[name]!;
        expect(types.isFloat32Array(output.data)).toBe(true);
        expect(output.dims).toEqual(reference.eager[name]!.dims);
        if (item.int8 || item.bf16) {
          // Quantized or bfloat16: near the float32 model, and what Python torch computes with the same
          // file (bfloat16 outputs converted to float32 by the addon, exactly).
          const limit = item.int8 ? INT8_MAX_RELATIVE_RMS : BF16_MAX_RELATIVE_RMS;
          expect(relativeRms(output.data, reference.eager[name]!.data)).toBeLessThan(limit);
          expect(relativeRms(output.data, reference.eager[name]!.data)).toBeGreaterThan(1e-4);
          expect(maxAbsDiff(output.data, reference.torchscript[name]!.data)).toBeLessThanOrEqual(
            FP32_TOLERANCE,
          );
        } else {
          expect(maxAbsDiff(output.data, reference.eager[name]!.data)).toBeLessThanOrEqual(FP32_TOLERANCE);
        }
      }
    },
  );

  it('text-classification pipelines: softmax of the eager logits (float32), well-formed (int8)', async () => {
    for (const name of ['bert-seq', 'distilbert-seq-int8']) {
      const model = models.get(name)!;
      const classify = await pipeline('text-classification', dir(name), { threads: 2 });
      try {
        const results = await classify(TEXTS, { topK: null });
        const logits = await classify(TEXTS, { topK: null, functionToApply: 'none' });
        const eager = references.get(name)!.eager.logits!;
        TEXTS.forEach((_, row) => {
          const result = results[row]!;
          expect(result.map((entry) => entry.label).sort()).toEqual([...SENTIMENT].sort());
          for (let i = 1; i < result.length; i++)
            expect(result[i - 1]!.score).toBeGreaterThanOrEqual(result[i]!.score);
          expect(result.reduce((sum, entry) => sum + entry.score, 0)).toBeCloseTo(1, 5);
          const raw = SENTIMENT.map((label) => logits[row]!.find((entry) => entry.label === label)!.score);
          if (name.endsWith('int8')) {
            // Dynamic quantization scales activations per batch, so a row's logits depend on its batch
            // mates: compare with the float32 model, within the int8 bound.
            expect(relativeRms(raw, rowOf(eager, row))).toBeLessThan(INT8_MAX_RELATIVE_RMS);
          } else {
            expect(maxAbsDiff(raw, rowOf(eager, row))).toBeLessThanOrEqual(FP32_TOLERANCE);
            const expected = referenceSoftmax(rowOf(eager, row));
            for (const entry of result) {
              expect(Math.abs(entry.score - expected[SENTIMENT.indexOf(entry.label)]!)).toBeLessThanOrEqual(
                1e-6,
              );
            }
          }
        });
        expect(model.config!.id2label).toEqual(SENTIMENT);
      } finally {
        await classify.dispose();
      }
    }
  });

  it('token-classification pipeline: every token scored as the eager logits say', async () => {
    const ner = await pipeline('token-classification', dir('roberta-ner'), { threads: 2 });
    try {
      const eager = references.get('roberta-ner')!.eager.logits!;
      const results = await ner(TEXTS, { ignoreLabels: [] });
      const encoded = await models.get('roberta-ner')!.encode(TEXTS);
      TEXTS.forEach((text, row) => {
        const encoding = encoded.encodings[row]!;
        const realTokens = encoding.specialTokensMask.filter((flag) => flag === 0).length;
        expect(results[row]).toHaveLength(realTokens);
        for (const entity of results[row]!) {
          const logits = rowOf(eager, row).slice(entity.index * NER.length, (entity.index + 1) * NER.length);
          const probabilities = referenceSoftmax(logits);
          const best = probabilities.indexOf(Math.max(...probabilities));
          expect(entity.entity).toBe(NER[best]);
          expect(Math.abs(entity.score - probabilities[best]!)).toBeLessThanOrEqual(1e-5);
          expect(0 <= entity.start && entity.start < entity.end && entity.end <= text.length).toBe(true);
        }
      });
      const groups = await ner(TEXTS[1]!, { aggregationStrategy: 'simple', ignoreLabels: [] });
      for (const group of groups) {
        expect(NER.map((label) => label.replace(/^[BI]-/, ''))).toContain(group.entityGroup);
        expect(group.score).toBeGreaterThan(0);
        expect(group.score).toBeLessThanOrEqual(1);
      }
    } finally {
      await ner.dispose();
    }
  });

  it('question-answering pipelines: answers are spans of the context', async () => {
    for (const name of ['bert-qa', 'distilbert-qa']) {
      const qa = await pipeline('question-answering', dir(name), { threads: 2 });
      try {
        const answers = await qa(QA, { topK: 3 });
        QA.forEach(({ context }, i) => {
          expect(answers[i]!.length).toBeGreaterThan(0);
          expect(answers[i]!.length).toBeLessThanOrEqual(3);
          for (const answer of answers[i]!) {
            expect(answer.answer).toBe(context.slice(answer.start, answer.end));
            expect(answer.score).toBeGreaterThan(0);
            expect(answer.score).toBeLessThanOrEqual(1);
          }
          for (let k = 1; k < answers[i]!.length; k++) {
            expect(answers[i]![k - 1]!.score).toBeGreaterThanOrEqual(answers[i]![k]!.score);
          }
        });
      } finally {
        await qa.dispose();
      }
    }
  });

  it('feature-extraction pipelines: pooled eager hidden states (float32), near them (int8)', async () => {
    for (const name of ['roberta-base', 'bert-base', 'bert-base-int8']) {
      const embed = await pipeline('feature-extraction', dir(name), { threads: 2 });
      try {
        const hidden = references.get(name)!.eager.last_hidden_state!;
        const [, seq, width] = hidden.dims as [number, number, number];
        const mask = encodedIds.get(name)!.attention_mask;
        const mean = await embed(TEXTS);
        const cls = await embed(TEXTS, { pooling: 'cls', normalize: true });
        TEXTS.forEach((_, row) => {
          const rows = rowOf(hidden, row);
          const expectedMean = new Array<number>(width).fill(0);
          let count = 0;
          for (let t = 0; t < seq; t++) {
            if (mask[row * seq + t] !== 1) continue;
            count++;
            for (let d = 0; d < width; d++) expectedMean[d]! += rows[t * width + d]!;
          }
          for (let d = 0; d < width; d++) expectedMean[d]! /= count;
          expect(mean[row]!.dims).toEqual([width]);
          expect(types.isFloat32Array(mean[row]!.data)).toBe(true);
          const norm = Math.hypot(...cls[row]!.data);
          expect(norm).toBeCloseTo(1, 5);
          if (name.endsWith('int8')) {
            expect(relativeRms(mean[row]!.data, expectedMean)).toBeLessThan(INT8_MAX_RELATIVE_RMS);
          } else {
            expect(maxAbsDiff(mean[row]!.data, expectedMean)).toBeLessThanOrEqual(FP32_TOLERANCE);
            const first = rows.slice(0, width);
            const firstNorm = Math.hypot(...first);
            expect(
              maxAbsDiff(
                cls[row]!.data,
                first.map((v) => v / firstNorm),
              ),
            ).toBeLessThanOrEqual(FP32_TOLERANCE);
          }
        });
      } finally {
        await embed.dispose();
      }
    }
  });

  it('--onnx: onnx/model.onnx runs in onnxruntime-node and in transformers.js like model.pt', async () => {
    const ids = encodedIds.get('bert-seq')!;
    const eager = references.get('bert-seq')!.eager.logits!;
    const [forward, classified] = await runTransformersJs([
      { task: 'onnx-forward', model: dir('bert-seq'), inputs: [ids] },
      { task: 'text-classification', model: dir('bert-seq'), inputs: TEXTS, options: { top_k: null } },
    ] as const);
    expect(forward.inputNames).toEqual(['input_ids', 'attention_mask', 'token_type_ids']);
    expect(forward.outputNames).toEqual(['logits']);
    expect(maxAbsDiff(forward.outputs[0]!.logits!.data, eager.data)).toBeLessThanOrEqual(1e-4);
    TEXTS.forEach((_, row) => {
      const expected = referenceSoftmax(rowOf(eager, row));
      for (const { label, score } of classified.outputs[row]!) {
        expect(Math.abs(score - expected[SENTIMENT.indexOf(label)]!)).toBeLessThanOrEqual(1e-4);
      }
    });
  }, 60_000);
});

// The same checkpoint exported with each attention, loaded by a child Node process on Debian's
// libtorch 1.13 (selected with TORCH_ENCODERS_LIBTORCH): the eager export runs and matches the eager
// model; the SDPA export fails with E_MODEL_LOAD naming the op, the exporting torch and the fix.
describe('--attention on libtorch 1.13', () => {
  const DEBIAN_LIBTORCH = '/usr/lib/x86_64-linux-gnu';
  const CHILD = `
    const { Model } = require(${JSON.stringify(path.join(ROOT, 'dist/lib/index.js'))});
    Model.load(process.argv[1], { threads: 1 })
      .then(async (model) => {
        const batch = await model.encode(JSON.parse(process.argv[2]));
        const out = await model.forward(batch.inputs, batch.dims);
        console.log(JSON.stringify({ ok: Array.from(out.logits.data), ids: Array.from(batch.inputs.input_ids, Number), dims: batch.dims }));
        await model.dispose();
      })
      .catch((error) => console.log(JSON.stringify({ code: error.code, message: error.message })));
  `;

  async function loadOnDebian(directory: string) {
    const { stdout } = await run(process.execPath, ['-e', CHILD, directory, JSON.stringify(TEXTS)], {
      env: { ...process.env, TORCH_ENCODERS_LIBTORCH: DEBIAN_LIBTORCH },
      maxBuffer: 16 * 1024 * 1024,
    });
    return JSON.parse(stdout.trim().split('\n').pop()!) as {
      ok?: number[];
      ids?: number[];
      dims?: number[];
      code?: string;
      message?: string;
    };
  }

  it('eager loads and matches the eager model; sdpa fails with E_MODEL_LOAD naming op, exporter and fix', async () => {
    const checkpoint = path.join(tmp, 'checkpoints', 'bert-seq');
    for (const attention of ['eager', 'sdpa']) {
      await python([
        'tools/export.py',
        checkpoint,
        dir(`bert-seq-${attention}`),
        '--task',
        'sequence-classification',
        '--attention',
        attention,
      ]);
    }
    const eager = await loadOnDebian(dir('bert-seq-eager'));
    expect(eager.code).toBeUndefined();
    // Same ids as the library's own tokenization in this process, so the eager reference applies.
    expect(eager.ids).toEqual(encodedIds.get('bert-seq')!.input_ids);
    expect(maxAbsDiff(eager.ok!, references.get('bert-seq')!.eager.logits!.data)).toBeLessThanOrEqual(
      FP32_TOLERANCE,
    );

    const sdpa = await loadOnDebian(dir('bert-seq-sdpa'));
    const exporter = JSON.parse(
      fs.readFileSync(path.join(dir('bert-seq-sdpa'), 'torch-encoders.json'), 'utf8'),
    ) as { torchVersion: string };
    expect(sdpa.code).toBe('E_MODEL_LOAD');
    expect(sdpa.message).toContain('needs the operator aten::scaled_dot_product_attention');
    expect(sdpa.message).toContain(`exported by torch ${exporter.torchVersion} with sdpa attention`);
    expect(sdpa.message).toContain('--attention eager');
    expect(sdpa.message).toContain('1.13');
  }, 120_000);
});
