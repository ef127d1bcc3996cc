import type { FastifyReply, FastifyRequest } from 'fastify';
import type { CallStats } from '../batching';
import type { Admission } from './admission';
import { ApiError, toApiError } from './errors';
import type { Method } from './inputs';
import type { ServerMetrics } from './metrics';
import type { ServedModel } from './models';

/** What a route's library call receives: the request's signal, and where the library reports its cost. */
export interface CallOptions {
  signal: AbortSignal;
  onStats: (stats: CallStats) => void;
}

export interface InferenceRequest {
  served: ServedModel;
  method: Method;
  /** Inputs of the request: each holds one of the server's permits while it runs. */
  inputs: number;
  /** Characters of the inputs (Unicode code points), for x-compute-characters. */
  characters: number;
}

/** Requests whose failure is already counted, so the error handler does not count them again. */
export const COUNTED_FAILURES = new WeakSet<FastifyRequest>();

/**
 * Runs a route's library work for one request as TEI does around its inference: admits it or
 * answers 429, aborts it when the client disconnects (its queued forwards never run), sets TEI's
 * timing headers and records the metrics.
 */
export async function runInference<T>(
  request: FastifyRequest,
  reply: FastifyReply,
  admission: Admission,
  metrics: ServerMetrics,
  what: InferenceRequest,
  work: (call: CallOptions) => Promise<T>,
): Promise<T> {
  const model = what.served.name;
  try {
    admission.take(what.inputs);
  } catch (error) {
    metrics.failed(model, 'Overloaded', false);
    COUNTED_FAILURES.add(request);
    throw error;
  }
  const started = performance.now();
  metrics.started(model, what.method);
  const controller = new AbortController();
  // 'close' on the response comes when it has been sent or when the connection went first.
  const onClose = () => {
    if (!reply.raw.writableFinished) controller.abort(new Error('the client closed the connection'));
  };
  reply.raw.once('close', onClose);
  const total: CallStats = { tokens: 0, tokenizationMs: 0, queueMs: 0, inferenceMs: 0 };
  let reported = false;
  const onStats = (stats: CallStats) => {
    reported = true;
    total.tokens += stats.tokens;
    total.tokenizationMs += stats.tokenizationMs;
    total.queueMs += stats.queueMs;
    total.inferenceMs += stats.inferenceMs;
  };
  try {
    const result = await work({ signal: controller.signal, onStats });
    const elapsedMs = performance.now() - started;
    const device = what.served.model.device;
    reply.headers({
      'x-compute-type': device.startsWith('cuda') ? 'gpu' : 'cpu',
      'x-compute-time': Math.floor(elapsedMs),
      'x-compute-characters': what.characters,
      'x-compute-tokens': total.tokens,
      'x-total-time': Math.floor(elapsedMs),
      'x-tokenization-time': Math.floor(total.tokenizationMs),
      'x-queue-time': Math.floor(total.queueMs),
      'x-inference-time': Math.floor(total.inferenceMs),
    });
    metrics.succeeded(model, what.method, elapsedMs / 1000, reported ? total : undefined);
    return result;
  } catch (error) {
    const errorType = controller.signal.aborted ? 'Dropped' : toApiError(error).apiError.errorType;
    metrics.failed(model, errorType, true);
    COUNTED_FAILURES.add(request);
    if (controller.signal.aborted) {
      // Nobody is left to read an answer; the error handler's reply goes nowhere.
      throw new ApiError(499, 'Validation', 'the client closed the connection');
    }
    throw error;
  } finally {
    reply.raw.off('close', onClose);
    admission.release(what.inputs);
  }
}

/** Unicode code points of `texts`, as TEI counts characters. */
export function characterCount(texts: readonly string[]): number {
  let count = 0;
  for (const text of texts) {
    for (let i = 0; i < text.length; i++) {
      const code = text.charCodeAt(i);
      // A surrogate pair is one character.
      if (code < 0xdc00 || code > 0xdfff) count++;
    }
  }
  return count;
}
