// TEI's inference routes, request and response as text-embeddings-inference has them
// (test/server/fixtures/tei-openapi.json), over the library's pipelines.
import type { FastifyInstance } from 'fastify';
import type { Tensor } from '../../model';
import { cosineSimilarity } from '../../tasks/pooling';
import type { ServerContext } from '../context';
import { ApiError } from '../errors';
import { characterCount, runInference } from '../inference-call';
import { checkBatchSize, predictInputs, textInputs } from '../inputs';
import { embed } from '../embedding';
import {
  DECODE_BODY,
  EMBED_ALL_BODY,
  EMBED_BODY,
  PREDICT_BODY,
  RERANK_BODY,
  SIMILARITY_BODY,
  TOKENIZE_BODY,
} from '../schemas';
import { tokenize } from '../tokens';

type TeiInput = string | (string | number | number[])[];

interface TruncationFields {
  truncate?: boolean | null;
  truncation_direction?: 'left' | 'right' | 'Left' | 'Right';
  prompt_name?: string | null;
}

/** The request's truncate, else the server's --auto-truncate; refuses what the library does not do. */
export function truncation(body: TruncationFields, autoTruncate: boolean): boolean {
  if (body.truncation_direction === 'left' || body.truncation_direction === 'Left') {
    throw new ApiError(
      422,
      'Validation',
      "`truncation_direction` 'left' is not supported: inputs are truncated on the right",
      'truncation_direction',
    );
  }
  if (body.prompt_name !== undefined && body.prompt_name !== null) {
    throw new ApiError(
      422,
      'Validation',
      '`prompt_name` is not supported: prepend the prompt to the input text',
      'prompt_name',
    );
  }
  return body.truncate ?? autoTruncate;
}

export function registerTeiRoutes(app: FastifyInstance, context: ServerContext): void {
  const { limits, admission, metrics } = context;

  app.post('/embed', { schema: { body: EMBED_BODY } }, async (request, reply) => {
    const body = request.body as TruncationFields & {
      inputs: TeiInput;
      normalize?: boolean;
      dimensions?: number | null;
      model?: string;
    };
    const served = context.models().resolve('feature-extraction', body.model, '/embed');
    const truncate = truncation(body, limits.autoTruncate);
    const { items, method } = textInputs(body.inputs as string | string[], limits.maxClientBatchSize);
    const what = { served, method, inputs: items.length, characters: characterCount(items) };
    const vectors = await runInference(request, reply, admission, metrics, what, (call) =>
      embed(
        served.pipeline,
        items,
        { normalize: body.normalize ?? true, dimensions: body.dimensions, truncate },
        call,
      ),
    );
    return vectors.map((vector) => Array.from(vector));
  });

  app.post('/embed_all', { schema: { body: EMBED_ALL_BODY } }, async (request, reply) => {
    const body = request.body as TruncationFields & { inputs: TeiInput; model?: string };
    const served = context.models().resolve('feature-extraction', body.model, '/embed_all');
    const truncate = truncation(body, limits.autoTruncate);
    const { items, method } = textInputs(body.inputs as string | string[], limits.maxClientBatchSize);
    const what = { served, method, inputs: items.length, characters: characterCount(items) };
    const matrices = await runInference(request, reply, admission, metrics, what, (call) =>
      served.pipeline(items, { pooling: 'none', normalize: false, truncate, ...call }),
    );
    return matrices.map(({ data, dims }: Tensor) => {
      const width = dims[1]!;
      const rows: number[][] = [];
      for (let start = 0; start < data.length; start += width)
        rows.push(Array.from(data.subarray(start, start + width)));
      return rows;
    });
  });

  app.post('/predict', { schema: { body: PREDICT_BODY } }, async (request, reply) => {
    const body = request.body as TruncationFields & {
      inputs: string | (string | string[])[];
      raw_scores?: boolean;
      model?: string;
    };
    const served = context.models().resolve('text-classification', body.model, '/predict');
    const truncate = truncation(body, limits.autoTruncate);
    const { items, method } = predictInputs(body.inputs, limits.maxClientBatchSize);
    const texts = items.flatMap((item) => (typeof item === 'string' ? [item] : [item.text, item.textPair]));
    const what = { served, method, inputs: items.length, characters: characterCount(texts) };
    const labels = await runInference(request, reply, admission, metrics, what, (call) =>
      served.pipeline(items, {
        // Every label, best first, as TEI answers.
        topK: null,
        ...(body.raw_scores === true ? { functionToApply: 'none' as const } : {}),
        truncate,
        ...call,
      }),
    );
    return method === 'single' ? labels[0] : labels;
  });

  app.post('/rerank', { schema: { body: RERANK_BODY } }, async (request, reply) => {
    const body = request.body as TruncationFields & {
      query: string;
      texts: string[];
      raw_scores?: boolean;
      return_text?: boolean;
      model?: string;
    };
    const served = context.models().resolve('rerank', body.model, '/rerank');
    const truncate = truncation(body, limits.autoTruncate);
    if (body.query === '') throw new ApiError(400, 'Empty', '`query` cannot be empty', 'query');
    if (body.texts.length === 0) throw new ApiError(400, 'Empty', '`texts` cannot be empty', 'texts');
    checkBatchSize(body.texts.length, limits.maxClientBatchSize, 'texts');
    const what = {
      served,
      method: 'batch' as const,
      inputs: body.texts.length,
      characters: characterCount(body.texts) + characterCount([body.query]) * body.texts.length,
    };
    const ranked = await runInference(request, reply, admission, metrics, what, (call) =>
      served.pipeline(body.query, body.texts, {
        scores: body.raw_scores === true ? 'raw' : 'sigmoid',
        truncate,
        ...call,
      }),
    );
    return ranked.map(({ index, score, document }) =>
      body.return_text === true ? { index, score, text: document } : { index, score },
    );
  });

  app.post('/similarity', { schema: { body: SIMILARITY_BODY } }, async (request, reply) => {
    const body = request.body as {
      inputs: { source_sentence: string; sentences: string[] };
      parameters?: TruncationFields | null;
      model?: string;
    };
    const served = context.models().resolve('feature-extraction', body.model, '/similarity');
    const truncate = truncation(body.parameters ?? {}, limits.autoTruncate);
    const { source_sentence: source, sentences } = body.inputs;
    if (sentences.length === 0) {
      throw new ApiError(400, 'Empty', '`inputs.sentences` cannot be empty', 'inputs.sentences');
    }
    // TEI counts the source sentence against the batch limit too.
    checkBatchSize(sentences.length + 1, limits.maxClientBatchSize, 'inputs.sentences');
    const { items } = textInputs([source, ...sentences], limits.maxClientBatchSize, 'inputs');
    const what = {
      served,
      method: 'batch' as const,
      inputs: items.length,
      characters: characterCount(items),
    };
    const [sourceVector, ...vectors] = await runInference(request, reply, admission, metrics, what, (call) =>
      embed(served.pipeline, items, { normalize: false, dimensions: undefined, truncate }, call),
    );
    return vectors.map((vector) => cosineSimilarity(sourceVector!, vector));
  });

  app.post('/tokenize', { schema: { body: TOKENIZE_BODY } }, async (request) => {
    const body = request.body as {
      inputs: string | string[];
      add_special_tokens?: boolean;
      prompt_name?: string | null;
      model?: string;
    };
    truncation({ prompt_name: body.prompt_name }, true);
    const served = context.models().any(body.model, '/tokenize');
    const { items: texts } = textInputs(body.inputs, limits.maxClientBatchSize);
    return tokenize(served.model.tokenizer!, texts, body.add_special_tokens ?? true);
  });

  app.post('/decode', { schema: { body: DECODE_BODY } }, async (request) => {
    const body = request.body as {
      ids: number[] | number[][];
      skip_special_tokens?: boolean;
      model?: string;
    };
    const served = context.models().any(body.model, '/decode');
    const batch =
      body.ids.length > 0 && Array.isArray(body.ids[0]) ? (body.ids as number[][]) : [body.ids as number[]];
    if (batch.length === 0 || batch.some((ids) => ids.length === 0)) {
      throw new ApiError(400, 'Empty', '`ids` cannot be empty', 'ids');
    }
    checkBatchSize(batch.length, limits.maxClientBatchSize, 'ids');
    const tokenizer = served.model.tokenizer!;
    return Promise.all(batch.map((ids) => tokenizer.decode(ids, body.skip_special_tokens ?? true)));
  });
}
