import { TorchEncodersError } from '../../lib';

/** Awaits `promise` and returns its rejection; fails if it resolves. */
export async function rejection(promise: Promise<unknown>): Promise<TorchEncodersError> {
  try {
    await promise;
  } catch (error) {
    return error as TorchEncodersError;
  }
  throw new Error('expected a rejection, but the call resolved');
}

/** Asserts the error's class, code and exact message (or a pattern). */
export function expectError(error: unknown, code: string, message: string | RegExp): void {
  expect(error).toBeInstanceOf(TorchEncodersError);
  const typed = error as TorchEncodersError;
  expect(typed.name).toBe('TorchEncodersError');
  expect(typed.code).toBe(code);
  if (typeof message === 'string') expect(typed.message).toBe(message);
  else expect(typed.message).toMatch(message);
}
