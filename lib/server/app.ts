import { timingSafeEqual, createHash } from 'node:crypto';
import Fastify, {
  LogController,
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
} from 'fastify';
import swagger from '@fastify/swagger';
import { Admission } from './admission';
import { DEFAULT_LIMITS, type ServerContext, type ServerLimits } from './context';
import { ApiError, openAiErrorBody, teiErrorBody, toApiError } from './errors';
import { COUNTED_FAILURES } from './inference-call';
import { ServerMetrics } from './metrics';
import type { ModelRegistry } from './models';
import { OPENAI_ROUTES, registerOpenAiRoutes } from './routes/openai';
import { registerStatusRoutes } from './routes/status';
import { registerTaskRoutes } from './routes/tasks';
import { registerTeiRoutes } from './routes/tei';

export interface AppOptions {
  limits?: Partial<ServerLimits>;
  /** Bearer token every route but /health and /metrics requires. Default: none. */
  apiKey?: string;
  /** Milliseconds a client has to send a whole request before it is answered 408. Default: 30000. */
  requestTimeoutMs?: number;
  /** The package version, reported by /info. */
  version: string;
  /** Default: none. */
  logger?: FastifyBaseLogger;
}

/** The Fastify app and what drives its state: the models once loaded, and the shutdown. */
export interface App {
  app: FastifyInstance;
  context: ServerContext;
  /** Makes the app ready with these models (loaded and warm): /health answers 200 from then on. */
  serve(models: ModelRegistry): void;
  /** /health answers 503 from now on, so load balancers stop sending requests. */
  drain(): void;
}

/** Routes open without the API key: probes and scrapers. */
const PUBLIC_ROUTES = new Set(['/health', '/metrics']);

function sameSecret(given: string, expected: string): boolean {
  // Hashes first, so the comparison takes the same time whatever the lengths.
  const digest = (value: string) => createHash('sha256').update(value).digest();
  return timingSafeEqual(digest(given), digest(expected));
}

function isOpenAiRoute(request: FastifyRequest): boolean {
  return OPENAI_ROUTES.includes(request.routeOptions.url ?? request.url.split('?')[0]!);
}

/**
 * Builds the server's Fastify app: TEI's routes, OpenAI's embeddings, /ner and /qa, over models
 * set later with `serve` (the app answers 503 until then, so it can listen while they load).
 */
export function createApp(options: AppOptions): App {
  const limits: ServerLimits = { ...DEFAULT_LIMITS, ...options.limits };
  const requestTimeout = options.requestTimeoutMs ?? 30_000;
  const app = Fastify({
    http: {
      // Node times a request out only if its headers' limit is within the whole request's, and
      // checks every connectionsCheckingInterval (30 s by default): a slow client is cut at about
      // the timeout, not half a minute later, and a trickled body is cut at all.
      headersTimeout: Math.min(60_000, requestTimeout),
      connectionsCheckingInterval: Math.min(1000, Math.max(100, Math.floor(requestTimeout / 4))),
    },
    // Errors Node's HTTP parser raises before a request exists (a bad header, a timeout): TEI's
    // body too, then the connection closes.
    clientErrorHandler: (error: NodeJS.ErrnoException, socket) => {
      if (error.code === 'ECONNRESET' || socket.destroyed) return;
      const [status, reason] =
        error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
          ? [408, 'Request Timeout']
          : error.code === 'HPE_HEADER_OVERFLOW'
            ? [431, 'Request Header Fields Too Large']
            : [400, 'Bad Request'];
      const message =
        status === 408
          ? 'the request was not received in time'
          : status === 431
            ? 'the request headers are too large'
            : 'the request is not valid HTTP';
      const body = JSON.stringify(teiErrorBody(new ApiError(status, 'Validation', message)));
      socket.end(
        `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
      );
    },
    // A URL that cannot be decoded, and other errors Fastify raises before routing.
    frameworkErrors: (error, _request, reply) => {
      const message =
        error.code === 'FST_ERR_BAD_URL' ? 'the request URL is not valid' : 'the request is not valid';
      // Typed loosely: frameworkErrors' reply is generic over the route's reply types, which it has none of.
      void (reply as unknown as FastifyReply)
        .status(400)
        .send(teiErrorBody(new ApiError(400, 'Validation', message)));
    },
    ...(options.logger === undefined ? { logger: false } : { loggerInstance: options.logger }),
    // A line per request would cost more than a short request itself; the metrics count them.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: limits.payloadLimit,
    requestTimeout,
    // On close: idle keep-alive connections end at once; requests in flight are answered first.
    forceCloseConnections: 'idle',
    return503OnClosing: true,
    ajv: {
      // Types as sent: no coercion of "1" to 1 or removal of fields the schema does not name.
      customOptions: { coerceTypes: false, removeAdditional: false, useDefaults: false, allErrors: false },
    },
  });
  // Only JSON: Fastify also parses text/plain by default, which TEI answers with 415.
  app.removeContentTypeParser('text/plain');
  let registry: ModelRegistry | undefined;
  let state: 'loading' | 'ready' | 'draining' = 'loading';
  const context: ServerContext = {
    limits,
    admission: new Admission(limits.maxConcurrentRequests),
    metrics: new ServerMetrics(),
    models() {
      if (state === 'loading' || registry === undefined) {
        throw new ApiError(
          503,
          'Unhealthy',
          'the models are loading; /health answers 200 when they are ready',
        );
      }
      return registry;
    },
    state: () => state,
  };

  void app.register(swagger, {
    openapi: {
      info: {
        title: 'torch-encoders serve',
        description: "Text-embeddings-inference's API, OpenAI's embeddings, and NER and extractive QA",
        version: options.version,
      },
    },
  });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  if (options.apiKey !== undefined) {
    const apiKey = options.apiKey;
    app.addHook('onRequest', async (request) => {
      if (PUBLIC_ROUTES.has(request.url.split('?')[0]!)) return;
      const header = request.headers.authorization;
      const token = typeof header === 'string' && header.startsWith('Bearer ') ? header.slice(7) : undefined;
      if (token === undefined || !sameSecret(token, apiKey)) {
        throw new ApiError(
          401,
          'Unauthorized',
          'a valid API key is required: send Authorization: Bearer <key>',
        );
      }
    });
  }

  // While draining, every answer closes its connection: a keep-alive client answered then would
  // otherwise hold the shutdown until --shutdown-grace.
  app.addHook('onSend', async (_request, reply) => {
    if (state === 'draining') void reply.header('connection', 'close');
  });

  app.setErrorHandler((error, request, reply) => {
    const { apiError, internal } = toApiError(error);
    if (internal) request.log.error({ err: error }, `${request.method} ${request.url} failed`);
    if (!COUNTED_FAILURES.has(request)) context.metrics.failed('', apiError.errorType, false);
    if (reply.raw.destroyed) return;
    void reply
      .status(apiError.status)
      .send(isOpenAiRoute(request) ? openAiErrorBody(apiError) : teiErrorBody(apiError));
  });
  app.setNotFoundHandler((request, reply) => {
    const apiError = new ApiError(
      404,
      'NotFound',
      `no route ${request.method} ${request.url.split('?')[0]!.slice(0, 200)}`,
    );
    context.metrics.failed('', 'NotFound', false);
    void reply.status(404).send(teiErrorBody(apiError));
  });

  // In a plugin registered after the OpenAPI one, so that it sees the routes being added.
  void app.register(async (routes) => {
    registerStatusRoutes(routes, context, { version: options.version });
    registerTeiRoutes(routes, context);
    registerOpenAiRoutes(routes, context);
    registerTaskRoutes(routes, context);
  });

  return {
    app,
    context,
    serve(models) {
      registry = models;
      state = 'ready';
    },
    drain() {
      state = 'draining';
    },
  };
}
