// TEI's status routes: /health (readiness), /info, /metrics (Prometheus), plus /openapi.json.
import type { FastifyInstance } from 'fastify';
import type { ServerContext } from '../context';
import { ApiError, teiErrorBody } from '../errors';
import type { ServedModel } from '../models';

/** The version this server reports as TEI's `version`: the package's. */
export interface StatusInfo {
  version: string;
}

function modelType(served: ServedModel): object {
  const config = served.model.config;
  const labels = config?.id2label ?? [];
  const id2label = Object.fromEntries(labels.map((label, id) => [String(id), label]));
  const label2id = Object.fromEntries(labels.map((label, id) => [label, id]));
  switch (served.task) {
    case 'text-classification':
    case 'token-classification':
    case 'question-answering':
      return { classifier: { id2label, label2id } };
    case 'rerank':
      return { reranker: { id2label, label2id } };
    case 'feature-extraction':
      return { embedding: { pooling: (served as ServedModel<'feature-extraction'>).pipeline.pooling } };
  }
}

export function registerStatusRoutes(app: FastifyInstance, context: ServerContext, status: StatusInfo): void {
  app.get('/health', async (_request, reply) => {
    const state = context.state();
    if (state !== 'ready') {
      const message = state === 'loading' ? 'unhealthy: loading the models' : 'unhealthy: shutting down';
      return reply.status(503).send(teiErrorBody(new ApiError(503, 'Unhealthy', message)));
    }
    return reply.status(200).send('');
  });

  app.get('/metrics', async (_request, reply) => {
    reply.type(context.metrics.registry.contentType);
    return context.metrics.registry.metrics();
  });

  app.get(
    '/info',
    { schema: { querystring: { type: 'object', properties: { model: { type: 'string' } } } } },
    async (request) => {
      const registry = context.models();
      const { model } = request.query as { model?: string };
      const served = registry.any(model, '/info');
      const { limits } = context;
      const describe = (entry: ServedModel) => ({
        name: entry.name,
        task: entry.task,
        device: entry.model.device,
        max_input_length: entry.model.tokenizer!.maxLength,
      });
      return {
        // The name, never the directory: no file path reaches a client.
        model_id: served.name,
        model_sha: null,
        model_dtype: 'float32',
        served_model_name: served.name,
        model_type: modelType(served),
        max_concurrent_requests: limits.maxConcurrentRequests,
        max_input_length: served.model.tokenizer!.maxLength,
        max_batch_tokens: limits.maxBatchTokens,
        max_batch_requests: limits.maxBatchRequests,
        max_client_batch_size: limits.maxClientBatchSize,
        auto_truncate: limits.autoTruncate,
        tokenization_workers: 1,
        version: status.version,
        sha: null,
        docker_label: null,
        // Beyond TEI: every model this server serves (TEI serves one).
        models: registry.models.map(describe),
      };
    },
  );
}
