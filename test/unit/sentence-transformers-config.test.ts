import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  readSentenceBertConfig,
  readSentenceTransformersConfig,
  sentenceTransformersPooling,
  sentenceTransformersText,
} from '../../lib/sentence-transformers-config';
import { expectError } from '../helpers/errors';

const TRANSFORMER = { idx: 0, name: '0', path: '', type: 'sentence_transformers.models.Transformer' };
const POOLING = { idx: 1, name: '1', path: '1_Pooling', type: 'sentence_transformers.models.Pooling' };
const NORMALIZE = { idx: 2, name: '2', path: '2_Normalize', type: 'sentence_transformers.models.Normalize' };
const DENSE = { idx: 2, name: '2', path: '2_Dense', type: 'sentence_transformers.models.Dense' };
/** all-MiniLM-L6-v2's 1_Pooling/config.json. */
const MEAN_POOLING = {
  word_embedding_dimension: 384,
  pooling_mode_cls_token: false,
  pooling_mode_mean_tokens: true,
  pooling_mode_max_tokens: false,
  pooling_mode_mean_sqrt_len_tokens: false,
};

const dirs: string[] = [];
afterAll(() => dirs.forEach((dir) => fs.rmSync(dir, { recursive: true, force: true })));

/** A directory holding `files` (objects written as JSON, strings as they are). */
function directory(files: Record<string, unknown>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'st-config-'));
  dirs.push(dir);
  for (const [name, content] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    fs.writeFileSync(path.join(dir, name), typeof content === 'string' ? content : JSON.stringify(content));
  }
  return dir;
}

function stDirectory(pooling: unknown, modules: unknown[] = [TRANSFORMER, POOLING, NORMALIZE], extra = {}) {
  return directory({
    'modules.json': modules,
    '1_Pooling/config.json': pooling,
    'sentence_bert_config.json': { max_seq_length: 256, do_lower_case: false },
    ...extra,
  });
}

function loadError(run: () => unknown): Error {
  try {
    run();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a throw');
}

describe('readSentenceTransformersConfig', () => {
  it('a directory without modules.json is not a sentence-transformers directory', () => {
    expect(
      readSentenceTransformersConfig(directory({ 'sentence_bert_config.json': { max_seq_length: 8 } })),
    ).toBe(undefined);
  });

  it("reads all-MiniLM-L6-v2's files: mean pooling, Normalize, max_seq_length 256", () => {
    const dir = stDirectory(MEAN_POOLING);
    const config = readSentenceTransformersConfig(dir)!;
    expect(config).toEqual({
      poolingModes: ['mean'],
      normalize: true,
      maxSeqLength: 256,
      doLowerCase: false,
      otherModules: [],
      defaultPromptName: undefined,
    });
    expect(sentenceTransformersPooling(config, dir)).toBe('mean');
  });

  it('no Normalize module: normalize false; no sentence_bert_config.json: no max_seq_length', () => {
    const dir = directory({
      'modules.json': [TRANSFORMER, POOLING],
      '1_Pooling/config.json': MEAN_POOLING,
    });
    expect(readSentenceTransformersConfig(dir)).toMatchObject({
      normalize: false,
      maxSeqLength: undefined,
      doLowerCase: false,
    });
  });

  it.each([
    [{ pooling_mode_cls_token: true, pooling_mode_mean_tokens: false }, 'cls'],
    [{ pooling_mode_max_tokens: true, pooling_mode_mean_tokens: false }, 'max'],
    // Absent keys take Pooling's constructor defaults: mean on, the others off.
    [{}, 'mean'],
    // pooling_mode (a string, any case) overrides the flags, as Pooling(pooling_mode=...) does.
    [{ pooling_mode: 'CLS', pooling_mode_mean_tokens: true }, 'cls'],
  ])('pooling config %j gives %s', (flags, expected) => {
    const dir = stDirectory({ word_embedding_dimension: 32, ...flags });
    const config = readSentenceTransformersConfig(dir)!;
    expect(config.poolingModes).toEqual([expected]);
    expect(sentenceTransformersPooling(config, dir)).toBe(expected);
  });

  it("accepts the module-qualified type names ('sentence_transformers.models.Pooling.Pooling')", () => {
    const dir = stDirectory(MEAN_POOLING, [
      { ...TRANSFORMER, type: 'sentence_transformers.models.Transformer.Transformer' },
      { ...POOLING, type: 'sentence_transformers.models.Pooling.Pooling' },
      { ...NORMALIZE, type: 'sentence_transformers.models.Normalize.Normalize' },
    ]);
    expect(readSentenceTransformersConfig(dir)).toMatchObject({ poolingModes: ['mean'], normalize: true });
  });

  describe('malformed files: E_MODEL_LOAD naming the file and the field', () => {
    it.each<[string, Record<string, unknown>, RegExp]>([
      ['modules.json not JSON', { 'modules.json': '[{' }, /^modules\.json: not valid JSON: /],
      [
        'modules.json an object',
        { 'modules.json': { type: 'x' } },
        /^modules\.json: expected a non-empty array of modules; got an object \(/,
      ],
      [
        'modules.json empty',
        { 'modules.json': [] },
        /^modules\.json: expected a non-empty array of modules; got an array of length 0/,
      ],
      [
        'a module without type',
        { 'modules.json': [TRANSFORMER, { path: '1_Pooling' }] },
        /^modules\.json: \[1\]\.type must be a string; got undefined/,
      ],
      [
        'a module that is not an object',
        { 'modules.json': [TRANSFORMER, 'pooling'] },
        /^modules\.json: \[1\] must be an object \{ type, path \}; got the string 'pooling'/,
      ],
      [
        'Pooling without path',
        { 'modules.json': [TRANSFORMER, { type: POOLING.type }] },
        /^modules\.json: \[1\]\.path must be a string; got undefined/,
      ],
      [
        'no Transformer first',
        { 'modules.json': [POOLING, TRANSFORMER] },
        /^modules\.json: \[0\]\.type must be sentence_transformers\.models\.Transformer .*got 'sentence_transformers\.models\.Pooling'/,
      ],
      [
        'no Pooling module',
        { 'modules.json': [TRANSFORMER, NORMALIZE] },
        /^modules\.json: no sentence_transformers\.models\.Pooling module after the Transformer/,
      ],
      [
        'the Pooling config.json missing',
        { 'modules.json': [TRANSFORMER, POOLING] },
        /^1_Pooling\/config\.json: missing: modules\.json lists a Pooling module at '1_Pooling' \(/,
      ],
      [
        'the Pooling config.json not JSON',
        { 'modules.json': [TRANSFORMER, POOLING], '1_Pooling/config.json': 'nope' },
        /^1_Pooling\/config\.json: not valid JSON: /,
      ],
      [
        'word_embedding_dimension missing',
        {
          'modules.json': [TRANSFORMER, POOLING],
          '1_Pooling/config.json': { pooling_mode_mean_tokens: true },
        },
        /^1_Pooling\/config\.json: word_embedding_dimension must be a positive integer; got undefined/,
      ],
      [
        'a pooling flag that is not a boolean',
        {
          'modules.json': [TRANSFORMER, POOLING],
          '1_Pooling/config.json': { word_embedding_dimension: 8, pooling_mode_mean_tokens: 'yes' },
        },
        /^1_Pooling\/config\.json: pooling_mode_mean_tokens must be true or false; got the string 'yes'/,
      ],
      [
        'every pooling flag false',
        {
          'modules.json': [TRANSFORMER, POOLING],
          '1_Pooling/config.json': { word_embedding_dimension: 8, pooling_mode_mean_tokens: false },
        },
        /^1_Pooling\/config\.json: no pooling mode is true \(expected one of pooling_mode_cls_token, /,
      ],
      [
        'an unknown pooling_mode',
        {
          'modules.json': [TRANSFORMER, POOLING],
          '1_Pooling/config.json': { word_embedding_dimension: 8, pooling_mode: 'sum' },
        },
        /^1_Pooling\/config\.json: pooling_mode must be one of 'cls', 'mean', 'max', .*; got the string 'sum'/,
      ],
      [
        'max_seq_length a string',
        {
          'modules.json': [TRANSFORMER, POOLING],
          '1_Pooling/config.json': MEAN_POOLING,
          'sentence_bert_config.json': { max_seq_length: '256' },
        },
        /^sentence_bert_config\.json: max_seq_length must be an integer >= 2 or null; got the string '256'/,
      ],
      [
        'do_lower_case not a boolean',
        {
          'modules.json': [TRANSFORMER, POOLING],
          '1_Pooling/config.json': MEAN_POOLING,
          'sentence_bert_config.json': { max_seq_length: 256, do_lower_case: 1 },
        },
        /^sentence_bert_config\.json: do_lower_case must be true or false; got the number 1/,
      ],
      [
        'default_prompt_name not a string',
        {
          'modules.json': [TRANSFORMER, POOLING],
          '1_Pooling/config.json': MEAN_POOLING,
          'config_sentence_transformers.json': { default_prompt_name: 3 },
        },
        /^config_sentence_transformers\.json: default_prompt_name must be a string or null; got the number 3/,
      ],
    ])('%s', (_, files, message) => {
      const dir = directory(files);
      const error = loadError(() => readSentenceTransformersConfig(dir));
      expectError(error, 'E_MODEL_LOAD', message);
      // The full path, so the user can open the file.
      expect(error.message).toContain(dir);
    });
  });

  describe('chains torch-encoders cannot reproduce: E_MODEL_LOAD at load, with the way out', () => {
    it.each<[string, unknown, unknown[], Record<string, unknown>, RegExp]>([
      [
        'mean_sqrt_len_tokens',
        {
          word_embedding_dimension: 8,
          pooling_mode_mean_tokens: false,
          pooling_mode_mean_sqrt_len_tokens: true,
        },
        [TRANSFORMER, POOLING],
        {},
        /its Pooling module uses 'mean_sqrt_len_tokens' pooling, which torch-encoders does not implement \(it has 'mean', 'cls', 'max'\)/,
      ],
      [
        'weightedmean',
        { word_embedding_dimension: 8, pooling_mode: 'weightedmean' },
        [TRANSFORMER, POOLING],
        {},
        /uses 'weightedmean' pooling/,
      ],
      [
        'lasttoken',
        { word_embedding_dimension: 8, pooling_mode_mean_tokens: false, pooling_mode_lasttoken: true },
        [TRANSFORMER, POOLING, NORMALIZE],
        {},
        /uses 'lasttoken' pooling/,
      ],
      [
        'two modes concatenated',
        { word_embedding_dimension: 8, pooling_mode_cls_token: true },
        [TRANSFORMER, POOLING],
        {},
        /its Pooling module concatenates cls \+ mean pooling/,
      ],
      [
        'a Dense module',
        MEAN_POOLING,
        [TRANSFORMER, POOLING, DENSE, { ...NORMALIZE, idx: 3 }],
        {},
        /modules\.json has modules it does not run: sentence_transformers\.models\.Dense, sentence_transformers\.models\.Normalize/,
      ],
      [
        'a default prompt',
        MEAN_POOLING,
        [TRANSFORMER, POOLING],
        {
          'config_sentence_transformers.json': {
            prompts: { query: 'query: ' },
            default_prompt_name: 'query',
          },
        },
        /config_sentence_transformers\.json sets default_prompt_name 'query', a prompt sentence-transformers prepends/,
      ],
    ])('%s', (_, pooling, modules, extra, message) => {
      const dir = stDirectory(pooling, modules, extra);
      const config = readSentenceTransformersConfig(dir)!;
      const error = loadError(() => sentenceTransformersPooling(config, dir));
      expectError(error, 'E_MODEL_LOAD', message);
      expect(error.message).toContain(`'${dir}' is a sentence-transformers directory whose embeddings`);
      expect(error.message).toMatch(/Pass the pooling option \('mean', 'cls', 'max' or 'none'\)/);
    });
  });
});

describe('readSentenceBertConfig', () => {
  it('absent file, null max_seq_length, and the values given', () => {
    expect(readSentenceBertConfig(directory({}))).toBe(undefined);
    expect(
      readSentenceBertConfig(directory({ 'sentence_bert_config.json': { max_seq_length: null } })),
    ).toEqual({
      maxSeqLength: undefined,
      doLowerCase: false,
    });
    expect(
      readSentenceBertConfig(
        directory({ 'sentence_bert_config.json': { max_seq_length: 128, do_lower_case: true } }),
      ),
    ).toEqual({ maxSeqLength: 128, doLowerCase: true });
  });

  it.each([1, 2.5, -3, 'x'])('refuses max_seq_length %j', (value) => {
    const dir = directory({ 'sentence_bert_config.json': { max_seq_length: value } });
    expectError(
      loadError(() => readSentenceBertConfig(dir)),
      'E_MODEL_LOAD',
      /^sentence_bert_config\.json: max_seq_length must be an integer >= 2 or null; got /,
    );
  });

  it('refuses a file that is not a JSON object', () => {
    const dir = directory({ 'sentence_bert_config.json': '[256]' });
    expectError(
      loadError(() => readSentenceBertConfig(dir)),
      'E_MODEL_LOAD',
      /^sentence_bert_config\.json: expected a JSON object; got an array of length 1/,
    );
  });
});

describe('sentenceTransformersText', () => {
  it("strips as Python's str.strip(), not JavaScript's trim()", () => {
    expect(sentenceTransformersText(' \t\n\u3000 text  with  inner  spaces \u00a0\r', false)).toBe(
      'text  with  inner  spaces',
    );
    // Python's whitespace that trim() keeps, and trim()'s U+FEFF that Python keeps.
    expect(sentenceTransformersText('\u001c\u001f\u0085x\u0085\u001d', false)).toBe('x');
    expect(sentenceTransformersText('\ufeffx\ufeff', false)).toBe('\ufeffx\ufeff');
    expect(sentenceTransformersText('   ', false)).toBe('');
  });

  it('lowercases after stripping when do_lower_case', () => {
    expect(sentenceTransformersText('  Crème BRÛLÉE ΟΔΟΣ ', true)).toBe('crème brûlée οδος');
    expect(sentenceTransformersText('  Crème BRÛLÉE ', false)).toBe('Crème BRÛLÉE');
  });
});
