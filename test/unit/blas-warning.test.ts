import { warnAboutSlowBlas } from '../../lib/native';

describe('reference BLAS warning', () => {
  it('warns once, naming the library and the fix, and never for OpenBLAS', () => {
    const emitted = jest.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    try {
      warnAboutSlowBlas({
        blas: { name: 'openblas', path: '/usr/lib/x86_64-linux-gnu/openblas-openmp/libblas.so.3' },
      });
      expect(emitted).not.toHaveBeenCalled();
      const reference = {
        blas: { name: 'reference' as const, path: '/usr/lib/x86_64-linux-gnu/blas/libblas.so.3' },
      };
      warnAboutSlowBlas(reference);
      warnAboutSlowBlas(reference);
      expect(emitted).toHaveBeenCalledTimes(1);
      const [message, options] = emitted.mock.calls[0]!;
      expect(message).toContain('/usr/lib/x86_64-linux-gnu/blas/libblas.so.3');
      expect(message).toContain('apt-get install -y libopenblas0-openmp');
      expect(options).toEqual({ code: 'TORCH_ENCODERS_REFERENCE_BLAS' });
    } finally {
      emitted.mockRestore();
    }
  });
});
