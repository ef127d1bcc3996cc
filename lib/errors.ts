/** Stable codes of every error this library throws. */
export type ErrorCode =
  /** An argument of the wrong type, shape or range. */
  | 'E_BAD_INPUT'
  /** A text longer than the model's maxLength in a call made with truncate: false. */
  | 'E_INPUT_TOO_LONG'
  /** No model file or directory at the given path. */
  | 'E_MODEL_NOT_FOUND'
  /** The file is not a loadable TorchScript module. */
  | 'E_MODEL_LOAD'
  /** The requested device does not exist on this machine. */
  | 'E_DEVICE_UNAVAILABLE'
  /** libtorch failed while running the module. */
  | 'E_FORWARD'
  /** The model was disposed. */
  | 'E_DISPOSED'
  /** The native binary could not be loaded. */
  | 'E_NATIVE_LOAD'
  /** The caller's AbortSignal aborted the call; `cause` is the signal's reason. */
  | 'E_ABORTED'
  /** A bug in this library: please report it. */
  | 'E_INTERNAL';

const KNOWN_CODES = new Set<string>([
  'E_BAD_INPUT',
  'E_INPUT_TOO_LONG',
  'E_MODEL_NOT_FOUND',
  'E_MODEL_LOAD',
  'E_DEVICE_UNAVAILABLE',
  'E_FORWARD',
  'E_DISPOSED',
  'E_NATIVE_LOAD',
  'E_ABORTED',
  'E_INTERNAL',
]);

export class TorchEncodersError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TorchEncodersError';
    this.code = code;
  }
}

/**
 * Rewraps an error rejected by the addon as a TorchEncodersError whose stack is the caller's
 * (`callSite`, captured before the await), since the native rejection has no JS frames.
 */
export function fromNativeError(error: unknown, callSite: { stack?: string }): TorchEncodersError {
  const nativeCode = (error as { code?: unknown } | null)?.code;
  const code: ErrorCode =
    typeof nativeCode === 'string' && KNOWN_CODES.has(nativeCode) ? (nativeCode as ErrorCode) : 'E_INTERNAL';
  // Not instanceof: the addon's errors come from the main realm, and Jest runs tests in another.
  const nativeMessage = (error as { message?: unknown } | null)?.message;
  const message = typeof nativeMessage === 'string' ? nativeMessage : String(error);
  const wrapped = new TorchEncodersError(code, message, { cause: error });
  const frames = callSite.stack?.split('\n').slice(1).join('\n');
  if (frames) wrapped.stack = `${wrapped.name}: ${message}\n${frames}`;
  return wrapped;
}

/** An error's message, or the thrown value as a string when it is not an Error. */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
