// The tasks TEI does not serve: token classification (NER) and extractive question answering.
// Requests take the library's option names; responses are the library's results as JSON.
import type { FastifyInstance } from 'fastify';
import type { AggregationStrategy } from '../../tasks/token-aggregation';
import type { ServerContext } from '../context';
import { ApiError } from '../errors';
import { characterCount, runInference } from '../inference-call';
import { textInputs } from '../inputs';
import { NER_BODY, QA_BODY } from '../schemas';

export function registerTaskRoutes(app: FastifyInstance, context: ServerContext): void {
  const { limits, admission, metrics } = context;

  app.post('/ner', { schema: { body: NER_BODY } }, async (request, reply) => {
    const body = request.body as {
      inputs: string | string[];
      aggregationStrategy?: AggregationStrategy;
      ignoreLabels?: string[];
      stride?: number;
      model?: string;
    };
    const served = context.models().resolve('token-classification', body.model, '/ner');
    const { items, method } = textInputs(body.inputs, limits.maxClientBatchSize);
    const what = { served, method, inputs: items.length, characters: characterCount(items) };
    const entities = await runInference(request, reply, admission, metrics, what, (call) =>
      served.pipeline(items, {
        // Whole words, as the CLI's default: never a fragment such as 'fl' of 'flew'.
        aggregationStrategy: body.aggregationStrategy ?? 'first',
        ...(body.ignoreLabels === undefined ? {} : { ignoreLabels: body.ignoreLabels }),
        ...(body.stride === undefined ? {} : { stride: body.stride }),
        ...call,
      } as Parameters<typeof served.pipeline>[1] & object),
    );
    return method === 'single' ? entities[0] : entities;
  });

  app.post('/qa', { schema: { body: QA_BODY } }, async (request, reply) => {
    const {
      question,
      context: passage,
      model,
      ...options
    } = request.body as {
      question: string;
      context: string;
      model?: string;
      [option: string]: unknown;
    };
    const served = context.models().resolve('question-answering', model, '/qa');
    if (question.trim() === '') throw new ApiError(400, 'Empty', '`question` cannot be empty', 'question');
    if (passage.trim() === '') throw new ApiError(400, 'Empty', '`context` cannot be empty', 'context');
    const known = Object.fromEntries(Object.entries(options).filter(([key]) => key in QA_BODY.properties));
    const what = {
      served,
      method: 'single' as const,
      inputs: 1,
      characters: characterCount([question, passage]),
    };
    return runInference(request, reply, admission, metrics, what, (call) =>
      served.pipeline({ question, context: passage }, { ...known, ...call }),
    );
  });
}
