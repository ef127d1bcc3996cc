import { MICRO_BATCH_OPTION_KEYS, type MicroBatchOptions } from '../batching';
import { forwarderFor, type DynamicBatchingOptions } from '../dynamic-batcher';
import type { OutputSpecs } from '../forwarder';
import type { Model, Tensor } from '../model';
import {
  readSentenceTransformersConfig,
  sentenceTransformersPooling,
  sentenceTransformersText,
} from '../sentence-transformers-config';
import type { Encoding } from '../tokenizer';
import { badInput, booleanOption, checkOptionKeys, choiceOption, integerOption } from '../validate';
import { makePipeline, type PipelineHandle } from './callable';
import { taskEntryPoints, type InputStream } from './entry-points';
import { asList } from './inputs';
import { encodeTruncating } from './truncation';
import { cosineSimilarity, normalize, pool, type PoolingStrategy } from './pooling';

export interface FeatureExtractionOptions extends MicroBatchOptions {
  /**
   * 'mean' averages the real tokens' vectors (as sentence-transformers), 'cls' takes the first token,
   * 'max' the per-dimension maximum over real tokens, 'none' returns every token's vector.
   * Default: the Pooling module's mode in a sentence-transformers directory (modules.json), else 'mean'.
   */
  pooling?: PoolingStrategy;
  /**
   * L2-normalize each vector (for cosine similarity by dot product). Default: true when a
   * sentence-transformers directory's modules.json ends with a Normalize module, else false.
   */
  normalize?: boolean;
  /**
   * Default: true: a text longer than the model's maxLength is cut to it. false refuses it with
   * E_INPUT_TOO_LONG instead, naming the input and its length.
   */
  truncate?: boolean;
}

export interface SimilarityResult {
  /** Index of the document in the array given. */
  index: number;
  text: string;
  /** Cosine similarity to the query, -1..1. */
  score: number;
}

export interface FeatureExtractionPipeline extends PipelineHandle<'feature-extraction'> {
  /** The pooling of calls that name none: the pipeline's option, else the directory's (see FeatureExtractionOptions). */
  readonly pooling: PoolingStrategy;
  /** One vector ([hidden]) per text, or with pooling 'none' one [tokens, hidden] matrix. */
  (input: string, options?: FeatureExtractionOptions): Promise<Tensor>;
  (inputs: readonly string[], options?: FeatureExtractionOptions): Promise<Tensor[]>;
  /**
   * Embeds texts read from an iterable or async iterable, yielding each one's vector in input
   * order as it is ready; memory stays bounded whatever the input's length.
   */
  stream(inputs: InputStream<string>, options?: FeatureExtractionOptions): AsyncIterable<Tensor>;
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
export const FEATURE_EXTRACTION_OPTION_KEYS = [
  'pooling',
  'normalize',
  'truncate',
  ...MICRO_BATCH_OPTION_KEYS,
] as const;
const POOLINGS: readonly PoolingStrategy[] = ['mean', 'cls', 'max', 'none'];
const OUTPUTS: OutputSpecs = {
  hidden: { names: ['last_hidden_state'], position: 0, perToken: true },
};

function checkText(value: unknown, label: string): string {
  if (typeof value !== 'string') throw badInput(TASK, label, 'a string', value);
  return value;
}

/**
 * The defaults a model directory gives: those of its sentence-transformers files when it has them,
 * and how its texts are prepared (stripped, lowercased) before tokenization, as sentence-transformers'
 * encode does. The directory's pooling is refused at load when it cannot be reproduced and the
 * pipeline's options do not choose a pooling themselves.
 */
function directoryDefaults(model: Model, explicitPooling: boolean) {
  const dir = model.directory;
  const config = dir === undefined ? undefined : readSentenceTransformersConfig(dir);
  if (config === undefined) {
    return { pooling: 'mean' as const, normalize: false, prepare: (text: string) => text };
  }
  const { doLowerCase } = config;
  return {
    // A pooling given to the pipeline is in every call's options, so this default is then never used.
    pooling: explicitPooling ? ('mean' as const) : sentenceTransformersPooling(config, dir!),
    normalize: config.normalize,
    prepare: (text: string) => sentenceTransformersText(text, doLowerCase),
  };
}

export function createFeatureExtraction(
  model: Model,
  defaults: FeatureExtractionOptions = {},
  dynamicBatching?: DynamicBatchingOptions,
): FeatureExtractionPipeline {
  const tokenizer = model.tokenizer!;
  const fromDirectory = directoryDefaults(model, defaults.pooling !== undefined);
  const resolveOptions = (options: FeatureExtractionOptions) => ({
    pooling: choiceOption(TASK, 'pooling', options.pooling, POOLINGS, fromDirectory.pooling),
    normalized: booleanOption(TASK, 'normalize', options.normalize, fromDirectory.normalize),
    truncate: booleanOption(TASK, 'truncate', options.truncate, true),
  });
  const { prepare } = fromDirectory;
  const { call, stream } = taskEntryPoints({
    task: TASK,
    optionKeys: FEATURE_EXTRACTION_OPTION_KEYS,
    defaults,
    forwarder: forwarderFor(model, TASK, OUTPUTS, dynamicBatching),
    check: checkText,
    rowTask(options: FeatureExtractionOptions) {
      const { pooling, normalized, truncate } = resolveOptions(options);
      return {
        encode: async (texts: readonly string[], firstIndex: number) =>
          (
            await encodeTruncating(
              tokenizer,
              texts.map(prepare),
              truncate,
              TASK,
              (index) => `inputs[${firstIndex + index}]`,
            )
          ).map((encoding) => [encoding]),
        // pool() copies: the row's hidden states die with their micro-batch.
        keep: (row, encoding: Encoding): Tensor => {
          const hidden = row.hidden!;
          const tokens = hidden.dims[0] ?? 1;
          const width = hidden.dims[1] ?? hidden.data.length;
          const [vector] = pool(hidden.data, [1, tokens, width], encoding.attentionMask, pooling);
          if (pooling === 'none') {
            const matrix = normalized ? normalizeRows(vector!, width) : vector!;
            return { data: matrix, dims: [matrix.length / width, width] };
          }
          return { data: normalized ? normalize(vector!) : vector!, dims: [width] };
        },
        finish: (_text, [vector]: Tensor[]) => vector!,
      };
    },
  });

  async function similarity(
    query: string,
    documents: readonly string[],
    options: { topK?: number } & FeatureExtractionOptions = {},
  ): Promise<SimilarityResult[]> {
    checkOptionKeys(`${TASK}.similarity`, options, ['topK', ...FEATURE_EXTRACTION_OPTION_KEYS]);
    const { topK, ...embedOptions } = options;
    if ((options.pooling ?? defaults.pooling) === 'none') {
      throw badInput(`${TASK}.similarity`, 'options.pooling', "'mean', 'cls' or 'max'", 'none');
    }
    const queryText = checkText(query, 'query');
    const { items } = asList(documents, checkText);
    const limit = integerOption(`${TASK}.similarity`, 'topK', topK, items.length, 1);
    const [queryVector, ...documentVectors] = (await call([queryText, ...items], embedOptions)) as Tensor[];
    return documentVectors
      .map((vector, index) => ({
        index,
        text: items[index]!,
        score: cosineSimilarity(queryVector!.data, vector.data),
      }))
      .sort((a, b) => b.score - a.score || a.index - b.index)
      .slice(0, limit);
  }

  return makePipeline(TASK, model, call as unknown as FeatureExtractionPipeline, {
    similarity,
    stream,
    pooling: defaults.pooling ?? fromDirectory.pooling,
  });
}

function normalizeRows(matrix: Float32Array, width: number): Float32Array {
  const result = new Float32Array(matrix.length);
  for (let start = 0; start < matrix.length; start += width) {
    result.set(normalize(matrix.subarray(start, start + width)), start);
  }
  return result;
}
