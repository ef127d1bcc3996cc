import type { FeatureExtractionPipeline } from '../tasks/feature-extraction';
import { normalize as l2Normalize } from '../tasks/pooling';
import { ApiError } from './errors';
import type { CallOptions } from './inference-call';

export interface EmbedSettings {
  normalize: boolean;
  /** Keep the first `dimensions` of each vector (Matryoshka), before normalizing, as TEI. */
  dimensions: number | null | undefined;
  truncate: boolean;
}

/** One pooled vector per text, through the pipeline's own pooling (the model directory's). */
export async function embed(
  pipeline: FeatureExtractionPipeline,
  texts: readonly string[],
  settings: EmbedSettings,
  call: CallOptions,
): Promise<Float32Array[]> {
  const { dimensions, truncate } = settings;
  if (dimensions === undefined || dimensions === null) {
    const vectors = await pipeline(texts, { normalize: settings.normalize, truncate, ...call });
    return vectors.map((vector) => vector.data);
  }
  if (dimensions <= 0) throw new ApiError(422, 'Validation', '`dimensions` should be positive', 'dimensions');
  const vectors = await pipeline(texts, { normalize: false, truncate, ...call });
  const width = vectors[0]?.data.length ?? 0;
  if (dimensions > width) {
    throw new ApiError(
      422,
      'Validation',
      `\`dimensions\` should be smaller than the maximum embedding dimension (${width}); got ${dimensions}`,
      'dimensions',
    );
  }
  return vectors.map((vector) => {
    const kept = vector.data.slice(0, dimensions);
    return settings.normalize ? l2Normalize(kept) : kept;
  });
}
