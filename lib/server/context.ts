import type { Admission } from './admission';
import type { ServerMetrics } from './metrics';
import type { ModelRegistry } from './models';

/** The limits of `torch-encoders serve`, TEI's by name and default. */
export interface ServerLimits {
  /** --max-concurrent-requests: inputs in flight before requests are refused with 429. Default: 512. */
  maxConcurrentRequests: number;
  /** --max-batch-tokens: padded tokens of one shared forward. Default: 16384. */
  maxBatchTokens: number;
  /** --max-batch-requests: rows of one shared forward. Default: 64. */
  maxBatchRequests: number;
  /** --max-client-batch-size: inputs of one request. Default: 32. */
  maxClientBatchSize: number;
  /** --payload-limit: bytes of a request body. Default: 2,000,000. */
  payloadLimit: number;
  /** --auto-truncate: cut inputs longer than the model takes, for requests that do not set truncate. Default: true. */
  autoTruncate: boolean;
}

export const DEFAULT_LIMITS: ServerLimits = {
  maxConcurrentRequests: 512,
  maxBatchTokens: 16384,
  maxBatchRequests: 64,
  maxClientBatchSize: 32,
  payloadLimit: 2_000_000,
  autoTruncate: true,
};

/** What the routes share. `models()` throws 503 until the models are loaded and warm. */
export interface ServerContext {
  limits: ServerLimits;
  admission: Admission;
  metrics: ServerMetrics;
  models(): ModelRegistry;
  /** 'loading' until the models are ready; 'draining' once a shutdown has begun. */
  state(): 'loading' | 'ready' | 'draining';
}
