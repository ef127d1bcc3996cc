import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { CallStats } from '../batching';
import type { ErrorType } from './errors';

/** TEI's buckets (router/src/prometheus.rs): durations 1e-5 × 1.5^k s for k = 1..35 (15 µs to 14.6 s). */
const DURATION_BUCKETS = Array.from({ length: 35 }, (_, k) => 1e-5 * 1.5 ** (k + 1));
const powersOfTwo = (last: number) => Array.from({ length: last + 1 }, (_, k) => 2 ** k);
const SIZE_BUCKETS = powersOfTwo(12);
const TOKEN_BUCKETS = powersOfTwo(20);

/** te_request_failure's `err` values, as TEI names its failures (batch_size is counted as validation). */
const FAILURE_LABELS: Record<ErrorType | 'Dropped', string> = {
  Validation: 'validation',
  Empty: 'validation',
  Tokenizer: 'tokenization',
  Overloaded: 'overloaded',
  Backend: 'inference',
  Unhealthy: 'unhealthy',
  NotFound: 'model_type',
  Unauthorized: 'unauthorized',
  Dropped: 'dropped',
};

/**
 * The server's Prometheus metrics, under TEI's names (text-embeddings-inference's router and core),
 * so TEI dashboards and alerts work unchanged. Every series also carries `model`, since one
 * process serves several. Its own registry: two servers in one process do not share counters.
 */
export class ServerMetrics {
  readonly registry = new Registry();
  readonly #requestCount: Counter<'method' | 'model'>;
  readonly #requestSuccess: Counter<'method' | 'model'>;
  readonly #requestFailure: Counter<'err' | 'model'>;
  readonly #requestDuration: Histogram<'model'>;
  readonly #tokenizationDuration: Histogram<'model'>;
  readonly #queueDuration: Histogram<'model'>;
  readonly #inferenceDuration: Histogram<'model'>;
  readonly #inputLength: Histogram<'model'>;
  readonly #batchSize: Histogram<'model'>;
  readonly #batchTokens: Histogram<'model'>;
  readonly #queueSize: Gauge<'model'>;

  /** `maxInputLength` bounds te_request_input_length's buckets, as TEI's. */
  constructor(maxInputLength = 2 ** 19) {
    const registers = [this.registry];
    this.#requestCount = new Counter({
      name: 'te_request_count',
      help: 'Requests received',
      labelNames: ['method', 'model'],
      registers,
    });
    this.#requestSuccess = new Counter({
      name: 'te_request_success',
      help: 'Requests answered with a result',
      labelNames: ['method', 'model'],
      registers,
    });
    this.#requestFailure = new Counter({
      name: 'te_request_failure',
      help: 'Requests answered with an error, by error type',
      labelNames: ['err', 'model'],
      registers,
    });
    const histogram = (name: string, help: string, buckets: number[]) =>
      new Histogram({ name, help, labelNames: ['model'], buckets, registers });
    this.#requestDuration = histogram('te_request_duration', 'Request duration, seconds', DURATION_BUCKETS);
    this.#tokenizationDuration = histogram(
      'te_request_tokenization_duration',
      'Time a request spent tokenizing, seconds',
      DURATION_BUCKETS,
    );
    this.#queueDuration = histogram(
      'te_request_queue_duration',
      'Time a request waited for its first forward, seconds',
      DURATION_BUCKETS,
    );
    this.#inferenceDuration = histogram(
      'te_request_inference_duration',
      'Time from a request’s first forward to its last, seconds',
      DURATION_BUCKETS,
    );
    this.#inputLength = histogram(
      'te_request_input_length',
      'Tokens of a request',
      powersOfTwo(19).filter((bucket) => bucket <= Math.max(1, maxInputLength)),
    );
    this.#batchSize = histogram('te_batch_next_size', 'Rows of each forward the batcher ran', SIZE_BUCKETS);
    this.#batchTokens = histogram(
      'te_batch_next_tokens',
      'Padded tokens of each forward the batcher ran',
      TOKEN_BUCKETS,
    );
    this.#queueSize = new Gauge({
      name: 'te_queue_size',
      help: 'Requests admitted and not yet answered',
      labelNames: ['model'],
      registers,
    });
  }

  /** A request for `model` admitted; `method` is TEI's: 'single' for one input, 'batch' for several. */
  started(model: string, method: 'single' | 'batch'): void {
    this.#requestCount.inc({ method, model });
    this.#queueSize.inc({ model });
  }

  succeeded(model: string, method: 'single' | 'batch', seconds: number, stats: CallStats | undefined): void {
    this.#requestSuccess.inc({ method, model });
    this.#requestDuration.observe({ model }, seconds);
    if (stats !== undefined) {
      this.#tokenizationDuration.observe({ model }, stats.tokenizationMs / 1000);
      this.#queueDuration.observe({ model }, stats.queueMs / 1000);
      this.#inferenceDuration.observe({ model }, stats.inferenceMs / 1000);
      this.#inputLength.observe({ model }, stats.tokens);
    }
    this.#queueSize.dec({ model });
  }

  /** A failed request; `model` is '' when it failed before naming one. Dropped: its client went away. */
  failed(model: string, errorType: ErrorType | 'Dropped', admitted: boolean): void {
    this.#requestFailure.inc({ err: FAILURE_LABELS[errorType], model });
    if (admitted) this.#queueSize.dec({ model });
  }

  /** A forward the dynamic batcher of `model` ran. */
  batch(model: string, rows: number, paddedTokens: number): void {
    this.#batchSize.observe({ model }, rows);
    this.#batchTokens.observe({ model }, paddedTokens);
  }
}
