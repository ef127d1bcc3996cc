import {
  MICRO_BATCH_OPTION_KEYS,
  forwardInMicroBatches,
  resolveMicroBatchOptions,
  type MicroBatchOptions,
} from '../batching';
import { dynamicBatcherFor, type DynamicBatchingOptions } from '../dynamic-batcher';
import type { Model, Tensor } from '../model';
import { pickOutput } from '../outputs';
import { badInput, booleanOption, checkOptionKeys, choiceOption, integerOption } from '../validate';
import { makePipeline, type PipelineHandle } from './callable';
import { asList } from './inputs';
import { cosineSimilarity, normalize, pool, type PoolingStrategy } from './pooling';

export interface FeatureExtractionOptions extends MicroBatchOptions {
  /**
   * Default: 'mean' (over real tokens, as sentence-transformers). 'cls' takes the first token,
   * 'max' the per-dimension maximum over real tokens, 'none' returns every token's vector.
   */
  pooling?: PoolingStrategy;
  /** L2-normalize each vector (for cosine similarity by dot product). Default: false. */
  normalize?: boolean;
}

export interface SimilarityResult {
  /** Index of the document in the array given. */
  index: number;
  text: string;
  /** Cosine similarity to the query, -1..1. */
  score: number;
}

export interface FeatureExtractionPipeline extends PipelineHandle<'feature-extraction'> {
  /** One vector ([hidden]) per text, or with pooling 'none' one [tokens, hidden] matrix. */
  (input: string, options?: FeatureExtractionOptions): Promise<Tensor>;
  (inputs: readonly string[], options?: FeatureExtractionOptions): Promise<Tensor[]>;
  /** Ranks `documents` by cosine similarity of their embeddings to `query`'s. Default topK: all. */
  similarity(
    query: string,
    documents: readonly string[],
    options?: { topK?: number } & Omit<FeatureExtractionOptions, 'pooling'> & {
        pooling?: Exclude<PoolingStrategy, 'none'>;
      },
  ): Promise<SimilarityResult[]>;
}

const TASK = 'feature-extraction';
export const FEATURE_EXTRACTION_OPTION_KEYS = ['pooling', 'normalize', ...MICRO_BATCH_OPTION_KEYS] as const;
const POOLINGS: readonly PoolingStrategy[] = ['mean', 'cls', 'max', 'none'];

function checkText(value: unknown, label: string): string {
  if (typeof value !== 'string') throw badInput(TASK, label, 'a string', value);
  return value;
}

function resolveOptions(options: FeatureExtractionOptions) {
  return {
    pooling: choiceOption(TASK, 'pooling', options.pooling, POOLINGS, 'mean'),
    normalized: booleanOption(TASK, 'normalize', options.normalize, false),
    batching: resolveMicroBatchOptions(TASK, options),
  };
}

export function createFeatureExtraction(
  model: Model,
  defaults: FeatureExtractionOptions = {},
  dynamicBatching?: DynamicBatchingOptions,
): FeatureExtractionPipeline {
  const tokenizer = model.tokenizer!;
  const batcher = dynamicBatcherFor(model, dynamicBatching, false);

  resolveOptions(defaults);

  async function embedList(texts: readonly string[], options: FeatureExtractionOptions): Promise<Tensor[]> {
    const { pooling, normalized, batching } = resolveOptions(options);
    const encodings = await tokenizer.encodeBatch([...texts]);
    const rows = await forwardInMicroBatches(model, encodings, tokenizer.padTokenId, {
      ...batching,
      batcher,
    });
    return rows.map((row, i) => {
      const hidden = pickOutput(row, ['last_hidden_state'], 0, TASK);
      const tokens = hidden.dims[0] ?? 1;
      const width = hidden.dims[1] ?? hidden.data.length;
      const [vector] = pool(hidden.data, [1, tokens, width], encodings[i]!.attentionMask, pooling);
      if (pooling === 'none') {
        const matrix = normalized ? normalizeRows(vector!, width) : vector!;
        return { data: matrix, dims: [matrix.length / width, width] };
      }
      return { data: normalized ? normalize(vector!) : vector!, dims: [width] };
    });
  }

  async function embed(input: string | readonly string[], options: FeatureExtractionOptions = {}) {
    checkOptionKeys(TASK, options, FEATURE_EXTRACTION_OPTION_KEYS);
    const { items, single } = asList(input, checkText);
    const results = await embedList(items, { ...defaults, ...options });
    return single ? results[0]! : results;
  }

  async function similarity(
    query: string,
    documents: readonly string[],
    options: { topK?: number } & FeatureExtractionOptions = {},
  ): Promise<SimilarityResult[]> {
    checkOptionKeys(`${TASK}.similarity`, options, ['topK', ...FEATURE_EXTRACTION_OPTION_KEYS]);
    const { topK, ...embedOptions } = options;
    if (options.pooling === 'none') {
      throw badInput(`${TASK}.similarity`, 'options.pooling', "'mean', 'cls' or 'max'", 'none');
    }
    const queryText = checkText(query, 'query');
    const { items } = asList(documents, checkText);
    const limit = integerOption(`${TASK}.similarity`, 'topK', topK, items.length, 1);
    const [queryVector, ...documentVectors] = await embedList([queryText, ...items], {
      ...defaults,
      ...embedOptions,
    });
    return documentVectors
      .map((vector, index) => ({
        index,
        text: items[index]!,
        score: cosineSimilarity(queryVector!.data, vector.data),
      }))
      .sort((a, b) => b.score - a.score || a.index - b.index)
      .slice(0, limit);
  }

  return makePipeline(TASK, model, embed as unknown as FeatureExtractionPipeline, { similarity });
}

function normalizeRows(matrix: Float32Array, width: number): Float32Array {
  const result = new Float32Array(matrix.length);
  for (let start = 0; start < matrix.length; start += width) {
    result.set(normalize(matrix.subarray(start, start + width)), start);
  }
  return result;
}
