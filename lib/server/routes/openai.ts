// OpenAI's embeddings API (POST /v1/embeddings, also /embeddings as TEI serves it): OpenAI's request,
// response and error shapes, so its SDKs work with baseURL pointed here.
import type { FastifyInstance } from 'fastify';
import type { ServerContext } from '../context';
import { embed } from '../embedding';
import { characterCount, runInference } from '../inference-call';
import { textInputs } from '../inputs';
import { OPENAI_EMBEDDINGS_BODY } from '../schemas';

export const OPENAI_ROUTES = ['/v1/embeddings', '/embeddings'];

interface EmbeddingsBody {
  input: string | (string | number | number[])[];
  model?: string | null;
  encoding_format?: 'float' | 'base64';
  dimensions?: number | null;
}

/** OpenAI's base64: the float32 vector's bytes, little-endian as on every platform Node runs this on. */
function base64(vector: Float32Array): string {
  return Buffer.from(vector.buffer, vector.byteOffset, vector.byteLength).toString('base64');
}

export function registerOpenAiRoutes(app: FastifyInstance, context: ServerContext): void {
  const { limits, admission, metrics } = context;
  for (const url of OPENAI_ROUTES) {
    app.post(url, { schema: { body: OPENAI_EMBEDDINGS_BODY } }, async (request, reply) => {
      const body = request.body as EmbeddingsBody;
      // A name this server does not serve is an error (OpenAI's model_not_found), never another model.
      const served = context.models().resolve('feature-extraction', body.model ?? undefined, url);
      const { items, method } = textInputs(
        body.input as string | string[],
        limits.maxClientBatchSize,
        'input',
      );
      const what = { served, method, inputs: items.length, characters: characterCount(items) };
      let tokens = 0;
      const vectors = await runInference(request, reply, admission, metrics, what, (call) =>
        embed(
          served.pipeline,
          items,
          { normalize: true, dimensions: body.dimensions, truncate: limits.autoTruncate },
          {
            signal: call.signal,
            onStats: (stats) => {
              tokens += stats.tokens;
              call.onStats(stats);
            },
          },
        ),
      );
      const asBase64 = body.encoding_format === 'base64';
      return {
        object: 'list',
        data: vectors.map((vector, index) => ({
          object: 'embedding',
          embedding: asBase64 ? base64(vector) : Array.from(vector),
          index,
        })),
        model: served.name,
        usage: { prompt_tokens: tokens, total_tokens: tokens },
      };
    });
  }
}
