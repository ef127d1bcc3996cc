import { TorchEncodersError } from './errors';
import { badInput } from './validate';

/**
 * Checks an `options.signal` value. Duck-typed rather than instanceof: a signal made in another
 * realm (a vm context, Jest's test environment) is still a signal.
 */
export function signalOption(where: string, value: unknown): AbortSignal | undefined {
  if (value === undefined) return undefined;
  const candidate = value as Partial<AbortSignal> | null;
  if (
    typeof candidate !== 'object' ||
    candidate === null ||
    typeof candidate.aborted !== 'boolean' ||
    typeof candidate.addEventListener !== 'function' ||
    typeof candidate.removeEventListener !== 'function'
  ) {
    throw badInput(where, 'options.signal', 'an AbortSignal', value);
  }
  return value as AbortSignal;
}

/** The error of a call aborted by its signal: E_ABORTED, with the signal's reason as its cause. */
export function abortedError(where: string, signal: AbortSignal): TorchEncodersError {
  return new TorchEncodersError('E_ABORTED', `${where}: aborted by its signal`, { cause: signal.reason });
}

/** Throws E_ABORTED when `signal` has already aborted. */
export function throwIfAborted(where: string, signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw abortedError(where, signal);
}

/**
 * Settles with `promise`, or rejects with E_ABORTED the moment `signal` aborts, after calling
 * `onAbort` (which tells the work it is no longer wanted). The work's own outcome is then dropped.
 */
export function raceWithSignal<T>(
  where: string,
  promise: Promise<T>,
  signal: AbortSignal | undefined,
  onAbort: () => void = () => undefined,
): Promise<T> {
  if (signal === undefined) return promise;
  if (signal.aborted) {
    onAbort();
    promise.catch(() => undefined);
    return Promise.reject(abortedError(where, signal));
  }
  return new Promise<T>((resolve, reject) => {
    const abort = () => {
      onAbort();
      promise.catch(() => undefined);
      reject(abortedError(where, signal));
    };
    signal.addEventListener('abort', abort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', abort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', abort);
        reject(error);
      },
    );
  });
}
