// Smoke tests of the other shipped demo models (tiny BERTs trained from scratch by `npm run train:demo`): they
// load through the public pipelines and give well-formed results. Their quality is reported, not asserted, in
// each model card (models/*/README.md) and models/metrics.json.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as util from 'node:util';
import {
  pipeline,
  type FeatureExtractionPipeline,
  type QuestionAnsweringPipeline,
  type TokenClassificationPipeline,
} from '../../lib';

const MODELS = path.resolve(__dirname, '../../models');
const NAMES = ['sentiment', 'ner', 'qa', 'embeddings'] as const;
const WNUT_TYPES = ['person', 'location', 'corporation', 'product', 'creative-work', 'group'];

function sizeOf(target: string): number {
  const stat = fs.statSync(target);
  if (!stat.isDirectory()) return stat.size;
  return fs.readdirSync(target).reduce((sum, name) => sum + sizeOf(path.join(target, name)), 0);
}

describe('models/ (demo models shipped in the package)', () => {
  it('holds the four model folders, each complete, and totals at most 25 MB', () => {
    for (const name of NAMES) {
      const dir = path.join(MODELS, name);
      for (const file of ['model.pt', 'config.json', 'vocab.txt', 'tokenizer_config.json', 'README.md']) {
        expect(fs.existsSync(path.join(dir, file))).toBe(true);
      }
      const card = fs.readFileSync(path.join(dir, 'README.md'), 'utf8');
      expect(card).toMatch(/trained from scratch/i);
      expect(card).toMatch(/## Held-out evaluation/);
    }
    expect(sizeOf(MODELS)).toBeLessThanOrEqual(25_000_000); // 25 MB, decimal: the stricter reading
  });

  it('all demo models share one vocabulary', () => {
    const vocab = fs.readFileSync(path.join(MODELS, 'sentiment/vocab.txt'), 'utf8');
    for (const name of NAMES)
      expect(fs.readFileSync(path.join(MODELS, name, 'vocab.txt'), 'utf8')).toBe(vocab);
  });
});

describe('models/ner', () => {
  let ner: TokenClassificationPipeline;
  beforeAll(async () => {
    ner = await pipeline('token-classification', path.join(MODELS, 'ner'), { threads: 2 });
  });
  afterAll(() => ner.dispose());

  it('has the 13 WNUT-17 BIO labels', () => {
    const labels = ner.model.config!.id2label;
    expect(labels).toHaveLength(13);
    expect(labels[0]).toBe('O');
    expect(new Set(labels)).toEqual(new Set(['O', ...WNUT_TYPES.flatMap((t) => [`B-${t}`, `I-${t}`])]));
  });

  it('gives well-formed entity groups whose offsets point into the text', async () => {
    const texts = [
      'I saw Taylor Swift in New York with my friends from Google .',
      'Just bought a new iPhone and watched Star Wars on Netflix',
    ];
    const results = await ner(texts, { aggregationStrategy: 'first' });
    expect(results).toHaveLength(2);
    results.forEach((groups, i) => {
      for (const group of groups) {
        expect(WNUT_TYPES).toContain(group.entityGroup);
        expect(group.score).toBeGreaterThan(0);
        expect(group.score).toBeLessThanOrEqual(1);
        expect(group.start).toBeLessThan(group.end);
        // The word is the decoded tokens (lower-cased, spaces normalised) of exactly that span.
        const squash = (text: string) => text.toLowerCase().replace(/\s+/g, '');
        expect(squash(group.word)).toBe(squash(texts[i]!.slice(group.start, group.end)));
      }
    });
    // Without ignored labels every token of the text comes back, each with one of the model's labels.
    const tokens = await ner(texts[0]!, { ignoreLabels: [] });
    const [encoding] = await ner.model.tokenizer!.encodeBatch([texts[0]!]);
    expect(tokens).toHaveLength(encoding!.ids.length - 2);
    for (const token of tokens) expect(ner.model.config!.id2label).toContain(token.entity);
  });
});

describe('models/qa', () => {
  let qa: QuestionAnsweringPipeline;
  beforeAll(async () => {
    qa = await pipeline('question-answering', path.join(MODELS, 'qa'), { threads: 2 });
  });
  afterAll(() => qa.dispose());

  it('returns answers that are spans of the context', async () => {
    const context =
      'The Normans were the people who in the 10th and 11th centuries gave their name to Normandy, a region in France.';
    const answers = await qa({ question: 'In what country is Normandy located?', context }, { topK: 3 });
    expect(answers.length).toBeGreaterThan(0);
    for (const answer of answers) {
      expect(answer.answer).toBe(context.slice(answer.start, answer.end));
      expect(answer.answer.length).toBeGreaterThan(0);
      expect(answer.score).toBeGreaterThan(0);
      expect(answer.score).toBeLessThanOrEqual(1);
    }
  });

  it('handles a context longer than one window', async () => {
    const context = Array.from(
      { length: 60 },
      (_, i) => `Sentence ${i} says that river ${i} flows north.`,
    ).join(' ');
    const [best] = await qa({ question: 'Which way does river 42 flow?', context });
    expect(best).toBeDefined();
    expect(best!.answer).toBe(context.slice(best!.start, best!.end));
  });
});

describe('models/embeddings', () => {
  let embed: FeatureExtractionPipeline;
  beforeAll(async () => {
    embed = await pipeline('feature-extraction', path.join(MODELS, 'embeddings'), { threads: 2 });
  });
  afterAll(() => embed.dispose());

  it('is a base model with last_hidden_state and pooler_output', async () => {
    const batch = await embed.model.encode(['a short sentence']);
    const outputs = await embed.model.forward(batch.inputs, batch.dims);
    expect(Object.keys(outputs)).toEqual(['last_hidden_state', 'pooler_output']);
    const hidden = embed.model.config!.raw.hidden_size as number;
    expect(outputs.last_hidden_state!.dims).toEqual([1, batch.dims[1], hidden]);
    expect(outputs.pooler_output!.dims).toEqual([1, hidden]);
  });

  it('gives finite, normalized sentence vectors', async () => {
    const vectors = await embed(['The food was great.', 'Terrible service, never again.'], {
      pooling: 'mean',
      normalize: true,
    });
    for (const vector of vectors) {
      expect(util.types.isFloat32Array(vector.data)).toBe(true);
      expect(vector.dims).toEqual([vector.data.length]);
      expect(vector.data.every(Number.isFinite)).toBe(true);
      const norm = Math.sqrt(vector.data.reduce((sum, x) => sum + x * x, 0));
      expect(norm).toBeCloseTo(1, 4);
    }
    const ranked = await embed.similarity('I loved it, wonderful!', [
      'Awful, I hated it.',
      'Great, I loved it.',
    ]);
    expect(ranked).toHaveLength(2);
    expect(ranked[0]!.score).toBeGreaterThanOrEqual(ranked[1]!.score);
  });
});
