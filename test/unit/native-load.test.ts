import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { TorchEncodersError } from '../../lib/errors';
import { loadBinding } from '../../lib/native';

describe('loading the native binary', () => {
  it('fails with one E_NATIVE_LOAD error listing causes and fixes, not MODULE_NOT_FOUND', () => {
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'torch-encoders-empty-'));
    try {
      let thrown: unknown;
      try {
        loadBinding(empty);
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeInstanceOf(TorchEncodersError);
      const error = thrown as TorchEncodersError;
      expect(error.code).toBe('E_NATIVE_LOAD');
      expect(error.message).toContain(
        `torch-encoders could not load its native binary (searched ${path.join(empty, 'prebuilds')}`,
      );
      expect(error.message).toContain('Reason: No native build was found');
      expect(error.message).toContain('apt-get install -y libtorch-dev libopenblas0-openmp');
      expect(error.message).toContain('LIBTORCH=/path/to/libtorch npm rebuild torch-encoders');
      expect(error.message).toContain('GLIBC_2.xx not found');
      expect(error.message).toContain('libcuda.so.1');
    } finally {
      fs.rmSync(empty, { recursive: true, force: true });
    }
  });

  it('reports a binary that exists but cannot be loaded', () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'torch-encoders-broken-'));
    try {
      fs.mkdirSync(path.join(root, 'build', 'Release'), { recursive: true });
      fs.writeFileSync(path.join(root, 'build', 'Release', 'torch_encoders.node'), 'not an ELF file');
      expect(() => loadBinding(root)).toThrow(
        expect.objectContaining({
          code: 'E_NATIVE_LOAD',
          message: expect.stringMatching(
            /Reason: Error: .*torch_encoders\.node: (file too short|invalid ELF header)/,
          ),
        }),
      );
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });
});
