// A model directory with sentence-transformers files gives the feature-extraction pipeline its defaults:
// pooling from the Pooling module's config, normalize from a Normalize module, truncation from
// sentence_bert_config.json's max_seq_length. Checked on copies of the BERT base fixture against the same
// fixture without those files, with the options spelled out. (test/reference/sentence-transformers.test.ts
// compares the demo embeddings model with sentence-transformers itself.)
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pipeline, type FeatureExtractionPipeline } from '../../lib';
import { expectError, rejection } from '../helpers/errors';
import { FIXTURES } from '../helpers/fixtures';

const BASE = path.join(FIXTURES, 'base');
const TEXTS = [
  'The cat sat on the mat.',
  'ok',
  'Crème brûlée 🍕 東京',
  'a longer sentence that goes on for a while so that it is the longest one in the batch by far',
];
const LONG = Array.from({ length: 60 }, (_, i) => `word${i}`).join(' ');

const TRANSFORMER = { idx: 0, name: '0', path: '', type: 'sentence_transformers.models.Transformer' };
const POOLING = { idx: 1, name: '1', path: '1_Pooling', type: 'sentence_transformers.models.Pooling' };
const NORMALIZE = { idx: 2, name: '2', path: '2_Normalize', type: 'sentence_transformers.models.Normalize' };

const dirs: string[] = [];
afterAll(() => dirs.forEach((dir) => fs.rmSync(dir, { recursive: true, force: true })));

/** The base fixture plus sentence-transformers files. */
function stDirectory(options: {
  modules?: unknown;
  pooling?: Record<string, unknown>;
  maxSeqLength?: number;
}): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'st-fixture-'));
  dirs.push(dir);
  for (const file of ['model.pt', 'config.json', 'tokenizer.json', 'tokenizer_config.json']) {
    fs.copyFileSync(path.join(BASE, file), path.join(dir, file));
  }
  const write = (file: string, content: unknown) => {
    fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    fs.writeFileSync(path.join(dir, file), JSON.stringify(content));
  };
  write('modules.json', options.modules ?? [TRANSFORMER, POOLING, NORMALIZE]);
  write('1_Pooling/config.json', {
    word_embedding_dimension: 32,
    pooling_mode_cls_token: false,
    pooling_mode_mean_tokens: true,
    pooling_mode_max_tokens: false,
    ...options.pooling,
  });
  if (options.maxSeqLength !== undefined) {
    write('sentence_bert_config.json', { max_seq_length: options.maxSeqLength, do_lower_case: false });
  }
  return dir;
}

function expectSameVectors(actual: { data: Float32Array }[], expected: { data: Float32Array }[]): void {
  expect(actual).toHaveLength(expected.length);
  actual.forEach((vector, i) => {
    expect(vector.data.length).toBe(expected[i]!.data.length);
    vector.data.forEach((v, k) => expect(Math.abs(v - expected[i]!.data[k]!)).toBeLessThanOrEqual(1e-6));
  });
}

const norm = (data: Float32Array) => Math.hypot(...data);

describe('feature-extraction defaults from a sentence-transformers directory', () => {
  let plain: FeatureExtractionPipeline;
  beforeAll(async () => {
    plain = await pipeline('feature-extraction', BASE, { threads: 2 });
  });
  afterAll(() => plain.dispose());

  it('a directory without the files keeps mean pooling, not normalized', async () => {
    const vector = await plain(TEXTS[0]!);
    expectSameVectors([vector], [await plain(TEXTS[0]!, { pooling: 'mean', normalize: false })]);
    expect(Math.abs(norm(vector.data) - 1)).toBeGreaterThan(0.01);
  });

  it('mean pooling + Normalize: unit vectors, as { pooling: mean, normalize: true }', async () => {
    await using embed = await pipeline('feature-extraction', stDirectory({}), { threads: 2 });
    const ours = await embed(TEXTS);
    expectSameVectors(ours, await plain(TEXTS, { pooling: 'mean', normalize: true }));
    ours.forEach(({ data }) => expect(norm(data)).toBeCloseTo(1, 5));
  });

  it.each(['cls', 'max'] as const)(
    "'%s' pooling from 1_Pooling/config.json, without Normalize",
    async (mode) => {
      const flag = mode === 'cls' ? 'pooling_mode_cls_token' : 'pooling_mode_max_tokens';
      const dir = stDirectory({
        modules: [TRANSFORMER, POOLING],
        pooling: { pooling_mode_mean_tokens: false, [flag]: true },
      });
      await using embed = await pipeline('feature-extraction', dir, { threads: 2 });
      // What the pipeline says it uses (the server's /info reports it).
      expect(embed.pooling).toBe(mode);
      const expected = await plain(TEXTS, { pooling: mode, normalize: false });
      expectSameVectors(await embed(TEXTS), expected);
      // The pooling differs from the mean, so a default left at 'mean' fails the line above.
      expect(Math.abs(expected[0]!.data[0]! - (await plain(TEXTS[0]!)).data[0]!)).toBeGreaterThan(1e-4);
      // stream() and similarity() take the same defaults.
      const streamed = [];
      for await (const vector of embed.stream(TEXTS)) streamed.push(vector);
      expectSameVectors(streamed, expected);
      const ranked = await embed.similarity(TEXTS[0]!, TEXTS.slice(1));
      const query = expected[0]!.data;
      for (const { index, score } of ranked) {
        const document = expected[index + 1]!.data;
        const cosine =
          query.reduce((sum, v, k) => sum + v * document[k]!, 0) / (norm(query) * norm(document));
        expect(Math.abs(score - cosine)).toBeLessThanOrEqual(1e-6);
      }
    },
  );

  it("explicit options win over the directory's, per call and per pipeline", async () => {
    const dir = stDirectory({});
    await using embed = await pipeline('feature-extraction', dir, { threads: 2 });
    expectSameVectors(
      [await embed(TEXTS[0]!, { normalize: false })],
      [await plain(TEXTS[0]!, { pooling: 'mean', normalize: false })],
    );
    expectSameVectors(
      [await embed(TEXTS[0]!, { pooling: 'cls' })],
      [await plain(TEXTS[0]!, { pooling: 'cls', normalize: true })],
    );
    await using maxPooled = await pipeline('feature-extraction', dir, { threads: 2, pooling: 'max' });
    expect(maxPooled.pooling).toBe('max');
    expectSameVectors(
      [await maxPooled(TEXTS[0]!)],
      [await plain(TEXTS[0]!, { pooling: 'max', normalize: true })],
    );
  });

  it("max_seq_length truncates as sentence-transformers; a load option maxLength wins; capped by the model's positions", async () => {
    await using short = await pipeline('feature-extraction', stDirectory({ maxSeqLength: 16 }), {
      threads: 2,
    });
    expect(short.model.tokenizer!.maxLength).toBe(16);
    await using truncated = await pipeline('feature-extraction', BASE, { threads: 2, maxLength: 16 });
    expectSameVectors([await short(LONG)], [await truncated(LONG, { normalize: true })]);
    // Truncation changed the vector: the text is longer than 16 tokens.
    const whole = await plain(LONG, { normalize: true });
    expect(Math.abs(whole.data[0]! - (await short(LONG)).data[0]!)).toBeGreaterThan(1e-4);

    await using explicit = await pipeline('feature-extraction', stDirectory({ maxSeqLength: 16 }), {
      threads: 2,
      maxLength: 40,
    });
    expect(explicit.model.tokenizer!.maxLength).toBe(40);
    // The fixture's max_position_embeddings is 128.
    await using capped = await pipeline('feature-extraction', stDirectory({ maxSeqLength: 1000 }), {
      threads: 2,
    });
    expect(capped.model.tokenizer!.maxLength).toBe(128);
  });

  describe('BAD CALL', () => {
    it('a pooling the library does not have is refused at load, unless the pipeline chooses one', async () => {
      const dir = stDirectory({ pooling: { pooling_mode_mean_tokens: false, pooling_mode_lasttoken: true } });
      expectError(
        await rejection(pipeline('feature-extraction', dir, { threads: 2 })),
        'E_MODEL_LOAD',
        `'${dir}' is a sentence-transformers directory whose embeddings torch-encoders cannot reproduce: its Pooling module uses 'lasttoken' pooling, which torch-encoders does not implement (it has 'mean', 'cls', 'max'). Pass the pooling option ('mean', 'cls', 'max' or 'none') to use the encoder's hidden states with that pooling instead`,
      );
      await using chosen = await pipeline('feature-extraction', dir, { threads: 2, pooling: 'cls' });
      expectSameVectors(
        [await chosen(TEXTS[0]!)],
        [await plain(TEXTS[0]!, { pooling: 'cls', normalize: true })],
      );
    });

    it('a malformed Pooling config is refused at load, naming the file and the field', async () => {
      const dir = stDirectory({ pooling: { pooling_mode_mean_tokens: 1 } });
      expectError(
        await rejection(pipeline('feature-extraction', dir, { threads: 2, pooling: 'mean' })),
        'E_MODEL_LOAD',
        `1_Pooling/config.json: pooling_mode_mean_tokens must be true or false; got the number 1 (${path.join(dir, '1_Pooling', 'config.json')})`,
      );
    });
  });
});
