// Embeddings parity with sentence-transformers itself: `pipeline('feature-extraction', 'models/embeddings')` with
// no pooling options must give what `SentenceTransformer('models/embeddings').encode(texts)` gives (Transformer ->
// Pooling (mean) -> Normalize, truncation at sentence_bert_config.json's max_seq_length 256), computed at test time
// in the project venv on the same directory's model.safetensors, so it holds whatever weights the directory has
// (tools/build_demo_models.py rebuilds it). Our side runs model.pt on libtorch; theirs the HF weights in Python
// torch: the comparison covers the export, the tokenizer, truncation, pooling and normalisation together.
import * as path from 'node:path';
import { pipeline, type FeatureExtractionPipeline } from '../../lib';
import { ROOT, runVenvPythonJson } from '../helpers/venv-python';

const MODEL = path.join(ROOT, 'models', 'embeddings');

const LONG =
  'The history of the printing press begins in the fifteenth century, when movable metal type made books cheap ' +
  'enough for merchants, students and clerks to own. ' +
  Array.from(
    { length: 30 },
    (_, i) =>
      `Chapter ${i + 1} describes how workshop number ${i * 7 + 3} in a different city copied the design, ` +
      'changed the ink and sold pamphlets.',
  ).join(' ');

const TEXTS = [
  'ok',
  '',
  'A man is playing a guitar on stage.',
  'Crème brûlée, naïve café, São Paulo and Zürich: accents everywhere.',
  '東京は日本の首都です。北京是中国的首都。서울은 한국의 수도입니다.',
  'Pizza night 🍕🎉 with friends 👩‍👩‍👧 and a 🐈',
  '   padded with spaces, tabs and a newline\t\n',
  LONG,
  'Short again.',
];

const QUERY = 'Where can I eat good pizza tonight?';
const DOCUMENTS = [
  'The pizzeria on the corner bakes in a wood-fired oven until midnight.',
  'Quarterly revenue grew by four percent.',
  'Pizza night 🍕🎉 with friends 👩‍👩‍👧 and a 🐈',
  LONG,
  '東京は日本の首都です。',
];

interface Reference {
  maxSeqLength: number;
  /** Tokens of each text before truncation, special tokens included. */
  tokenCounts: number[];
  embeddings: number[][];
  /** util.cos_sim(encode(QUERY), encode(DOCUMENTS)). */
  similarities: number[];
}

const SCRIPT = `
import json, sys
import torch
from sentence_transformers import SentenceTransformer, util
payload = json.load(sys.stdin)
torch.set_num_threads(1)
model = SentenceTransformer(payload['model'], device='cpu')
texts = payload['texts']
embeddings = model.encode(texts, convert_to_tensor=True)
query = model.encode(payload['query'], convert_to_tensor=True)
documents = model.encode(payload['documents'], convert_to_tensor=True)
counts = [len(model.tokenizer(text.strip())['input_ids']) for text in texts]
print(json.dumps({
  'maxSeqLength': model.max_seq_length,
  'tokenCounts': counts,
  'embeddings': embeddings.tolist(),
  'similarities': util.cos_sim(query, documents)[0].tolist(),
}))
`;

/** Cosine of two float vectors, in float64. */
function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let dot = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i]! * b[i]!;
    aa += a[i]! * a[i]!;
    bb += b[i]! * b[i]!;
  }
  return dot / Math.sqrt(aa * bb);
}

function maxAbsDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i]! - b[i]!));
  return max;
}

const MIN_COSINE = 0.99999;
/** Elementwise, on unit vectors of 384 values whose typical magnitude is 0.05. */
const MAX_ABS = 2e-5;

describe('feature-extraction parity with sentence-transformers (models/embeddings)', () => {
  let reference: Reference;
  let embed: FeatureExtractionPipeline;
  beforeAll(async () => {
    reference = runVenvPythonJson<Reference>(SCRIPT, {
      model: MODEL,
      texts: TEXTS,
      query: QUERY,
      documents: DOCUMENTS,
    });
    embed = await pipeline('feature-extraction', MODEL, { threads: 2 });
  }, 120_000);
  afterAll(() => embed?.dispose());

  it('the texts cover truncation: the long one is past max_seq_length 256', () => {
    expect(reference.maxSeqLength).toBe(256);
    expect(reference.tokenCounts[TEXTS.indexOf(LONG)]).toBeGreaterThan(300);
    expect(embed.model.tokenizer!.maxLength).toBe(256);
  });

  it('with no options, a batch of very different lengths embeds as SentenceTransformer.encode', async () => {
    const ours = await embed(TEXTS);
    const worst = { cosine: 1, abs: 0 };
    TEXTS.forEach((text, i) => {
      const theirs = reference.embeddings[i]!;
      expect(ours[i]!.dims).toEqual([theirs.length]);
      const similarity = cosine(ours[i]!.data, theirs);
      const difference = maxAbsDifference(ours[i]!.data, theirs);
      worst.cosine = Math.min(worst.cosine, similarity);
      worst.abs = Math.max(worst.abs, difference);
      if (similarity < MIN_COSINE || difference > MAX_ABS) {
        throw new Error(
          `text ${i} ${JSON.stringify(text.slice(0, 40))}: cosine ${similarity}, max |diff| ${difference}`,
        );
      }
    });
    // The figure the README quotes; printed so a rebuild of the model can be re-measured.
    console.log(
      `sentence-transformers parity: min cosine ${worst.cosine}, max |diff| ${worst.abs.toExponential(2)}`,
    );
  });

  it('similarity() scores as util.cos_sim and ranks by it', async () => {
    const ranked = await embed.similarity(QUERY, DOCUMENTS);
    expect(ranked).toHaveLength(DOCUMENTS.length);
    let worst = 0;
    for (const { index, text, score } of ranked) {
      expect(text).toBe(DOCUMENTS[index]);
      worst = Math.max(worst, Math.abs(score - reference.similarities[index]!));
    }
    console.log(`similarity() against util.cos_sim: max |diff| ${worst.toExponential(2)}`);
    expect(worst).toBeLessThanOrEqual(1e-5);
    const expectedOrder = reference.similarities
      .map((score, index) => ({ score, index }))
      .sort((a, b) => b.score - a.score)
      .map(({ index }) => index);
    // Adjacent scores closer than the tolerance could swap; these texts are far apart.
    expect(ranked.map(({ index }) => index)).toEqual(expectedOrder);
  });
});
