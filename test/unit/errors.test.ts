import { TorchEncodersError, fromNativeError } from '../../lib/errors';

describe('fromNativeError', () => {
  it('keeps a known code and the message, and takes the caller stack', () => {
    const native = Object.assign(new Error('forward: the model is disposed'), { code: 'E_DISPOSED' });
    const callSite: { stack?: string } = {};
    Error.captureStackTrace(callSite);
    const error = fromNativeError(native, callSite);
    expect(error).toBeInstanceOf(TorchEncodersError);
    expect(error.code).toBe('E_DISPOSED');
    expect(error.message).toBe('forward: the model is disposed');
    expect(error.cause).toBe(native);
    expect(error.stack).toMatch(/^TorchEncodersError: forward: the model is disposed\n.*errors\.test\.ts/s);
  });

  it('maps unknown codes and non-errors to E_INTERNAL', () => {
    expect(fromNativeError(Object.assign(new Error('x'), { code: 'EWHAT' }), {}).code).toBe('E_INTERNAL');
    expect(fromNativeError('boom', {}).message).toBe('boom');
  });
});
