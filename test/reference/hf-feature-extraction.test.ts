// feature-extraction (pooling 'none': every token's vector) against transformers' own pipeline on
// models/embeddings, for every single text of test/reference/texts.json: each token vector's norm, the mean
// of the token vectors, and whole rows for a varied handful. Goldens: test/reference/goldens/
// feature-extraction.json (npm run goldens:hf).
import * as path from 'node:path';
import { pipeline, type FeatureExtractionPipeline, type Tensor } from '../../lib';
import { float32FromBase64, loadGolden, loadTexts, ROOT, TOLERANCE } from './hf-goldens';

interface Case {
  id: string;
  max_length: number;
  dims: [number, number];
  norms: string;
  mean: string;
  rows?: number[];
  vectors?: string;
}

/** Largest difference relative to max(1, |expected|): hidden-state elements are of order 1. */
function worst(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  expect(actual.length).toBe(expected.length);
  let max = 0;
  for (let i = 0; i < expected.length; i++) {
    const e = expected[i]!;
    max = Math.max(max, Math.abs(actual[i]! - e) / Math.max(1, Math.abs(e)));
  }
  return max;
}

function rowNorms(data: Float32Array, width: number): Float64Array {
  const out = new Float64Array(data.length / width);
  for (let r = 0; r < out.length; r++) {
    let sum = 0;
    for (let c = 0; c < width; c++) sum += data[r * width + c]! ** 2;
    out[r] = Math.sqrt(sum);
  }
  return out;
}

function columnMeans(data: Float32Array, width: number): Float64Array {
  const out = new Float64Array(width);
  const rows = data.length / width;
  for (let r = 0; r < rows; r++) for (let c = 0; c < width; c++) out[c]! += data[r * width + c]! / rows;
  return out;
}

describe('feature-extraction against transformers 4.57 pipeline (models/embeddings)', () => {
  const texts = loadTexts();
  let golden: ReturnType<typeof loadGolden<Case[]>>;

  const textOf = (id: string): string => {
    const item = texts.get(id);
    if (item === undefined) throw new Error(`the golden names text ${id}, which texts.json lacks`);
    return item.text;
  };
  let embed: FeatureExtractionPipeline;
  /** One case per text: at the library's limit (max_seq_length) for texts longer than it. */
  let cases: Case[];
  let ours: Tensor[];
  beforeAll(async () => {
    golden = loadGolden<Case[]>('feature-extraction');
    // normalize false: the directory's sentence-transformers modules would otherwise normalize by default.
    embed = await pipeline('feature-extraction', path.join(ROOT, golden.meta.model), {
      pooling: 'none',
      normalize: false,
    });
    const maxSeqLength = golden.max_seq_length as number;
    cases = golden.cases.filter((c) => c.dims[0] < maxSeqLength || c.max_length === maxSeqLength);
    ours = await embed(cases.map(({ id }) => textOf(id)));
  }, 120_000);
  afterAll(() => embed?.dispose());

  it('token vectors: norms, means and whole rows to 1e-4 (truncated at max_seq_length where longer)', () => {
    expect(new Set(cases.map((c) => c.id)).size).toBe(cases.length);
    expect(cases.some((c) => c.dims[0] === golden.max_seq_length)).toBe(true);
    let fullRows = 0;
    cases.forEach((c, i) => {
      const { data, dims } = ours[i]!;
      const where = `${c.id} (max_length ${c.max_length})`;
      expect({ where, dims }).toEqual({ where, dims: c.dims });
      const width = c.dims[1];
      const errors = {
        where,
        norms: worst(rowNorms(data, width), float32FromBase64(c.norms)),
        mean: worst(columnMeans(data, width), float32FromBase64(c.mean)),
        rows: 0,
      };
      if (c.rows !== undefined) {
        const picked = new Float32Array(c.rows.length * width);
        c.rows.forEach((r, k) => picked.set(data.subarray(r * width, (r + 1) * width), k * width));
        errors.rows = worst(picked, float32FromBase64(c.vectors!));
        fullRows += c.rows.length;
      }
      if (Math.max(errors.norms, errors.mean, errors.rows) > TOLERANCE) {
        throw new Error(`${JSON.stringify(errors)}: more than ${TOLERANCE} from transformers`);
      }
    });
    expect(fullRows).toBeGreaterThan(100);
  });

  it(
    "deviation (sentence-transformers' rule): a text longer than sentence_bert_config.json's max_seq_length " +
      "(256) is truncated there, where transformers' pipeline truncates at the tokenizer's model_max_length (512)",
    () => {
      const maxSeqLength = golden.max_seq_length as number;
      const modelMaxLength = golden.model_max_length as number;
      const long = golden.cases.filter((c) => c.max_length === modelMaxLength && c.dims[0] > maxSeqLength);
      expect(long.length).toBeGreaterThan(0);
      for (const c of long) {
        expect(c.dims[0]).toBe(modelMaxLength);
        const mine = ours[cases.findIndex((kept) => kept.id === c.id)]!;
        expect({ id: c.id, dims: mine.dims }).toEqual({ id: c.id, dims: [maxSeqLength, c.dims[1]] });
      }
    },
  );
});
