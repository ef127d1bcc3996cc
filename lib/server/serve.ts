import type { FastifyBaseLogger } from 'fastify';
import type { Device } from '../model';
import { createApp } from './app';
import type { ServerLimits } from './context';
import { ModelRegistry, type ModelSpec } from './models';

export interface ServeOptions {
  /** Default: 8080. 0 picks a free port (see RunningServer.port). */
  port?: number;
  /** Default: '127.0.0.1'. '0.0.0.0' to accept connections from other hosts (a container). */
  host?: string;
  models: ModelSpec[];
  limits?: Partial<ServerLimits>;
  apiKey?: string;
  device?: Device;
  threads?: number;
  workers?: number;
  requestTimeoutMs?: number;
  /** Milliseconds a shutdown waits for requests in flight before it closes their connections. Default: 30000. */
  shutdownGraceMs?: number;
  version: string;
  logger?: FastifyBaseLogger;
}

export interface RunningServer {
  /** The port listened on (the one chosen when `port` was 0). */
  port: number;
  url: string;
  /** Settles when the models are loaded and warm (rejects when they cannot be loaded; the server is then closed). */
  ready: Promise<void>;
  /** Stops accepting, answers the requests in flight, disposes the models. */
  close(): Promise<void>;
}

/**
 * Starts `torch-encoders serve`: listens at once (answering 503 until ready, so probes see it
 * starting), loads and warms the models, then serves. close() is what SIGTERM and SIGINT run.
 */
export async function startServer(options: ServeOptions): Promise<RunningServer> {
  const { app, context, serve, drain } = createApp({
    version: options.version,
    ...(options.limits === undefined ? {} : { limits: options.limits }),
    ...(options.apiKey === undefined ? {} : { apiKey: options.apiKey }),
    ...(options.requestTimeoutMs === undefined ? {} : { requestTimeoutMs: options.requestTimeoutMs }),
    ...(options.logger === undefined ? {} : { logger: options.logger }),
  });
  const host = options.host ?? '127.0.0.1';
  await app.listen({ port: options.port ?? 8080, host });
  const address = app.server.address();
  const port = typeof address === 'object' && address !== null ? address.port : (options.port ?? 8080);

  let registry: ModelRegistry | undefined;
  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      drain();
      const grace = setTimeout(() => app.server.closeAllConnections(), options.shutdownGraceMs ?? 30_000);
      try {
        await app.close();
      } finally {
        clearTimeout(grace);
        await registry?.dispose();
      }
    })();
    return closing;
  };

  const ready = (async () => {
    const { limits } = context;
    try {
      registry = await ModelRegistry.load(options.models, {
        ...(options.device === undefined ? {} : { device: options.device }),
        ...(options.threads === undefined ? {} : { threads: options.threads }),
        ...(options.workers === undefined ? {} : { workers: options.workers }),
        batching: { maxBatchTokens: limits.maxBatchTokens, maxBatchSize: limits.maxBatchRequests },
        onForward: (model, rows, paddedTokens) => context.metrics.batch(model, rows, paddedTokens),
      });
      await registry.warm();
    } catch (error) {
      await close();
      throw error;
    }
    if (closing === undefined) serve(registry);
  })();
  // The caller awaits it; a failure before then must not count as unhandled.
  ready.catch(() => undefined);

  const shownHost = host.includes(':') ? `[${host}]` : host;
  return { port, url: `http://${shownHost}:${port}`, ready, close };
}
