// Loading the native binary: what a user sees when the libtorch found has no binary, when a binary
// cannot be loaded, and which processors get MKL's vendor check answered.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { TorchEncodersError } from '../../lib/errors';
import type { LibtorchRuntime } from '../../lib/libtorch-discovery';
import { decideMklOverride, loadBinding } from '../../lib/native';

let scratch: string;
beforeEach(() => {
  scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'torch-encoders-load-'));
});
afterEach(() => fs.rmSync(scratch, { recursive: true, force: true }));

/** An official-zip-shaped libtorch of `version` whose libtorch.so is not a real library. */
function fakeLibtorch(version: string): string {
  const root = path.join(scratch, `libtorch-${version}`);
  fs.mkdirSync(path.join(root, 'lib'), { recursive: true });
  fs.writeFileSync(path.join(root, 'build-version'), `${version}+cpu\n`);
  fs.writeFileSync(path.join(root, 'lib', 'libtorch.so'), '');
  fs.writeFileSync(path.join(root, 'lib', 'libtorch_cpu.so'), '');
  return root;
}

function thrownBy(run: () => unknown): TorchEncodersError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(TorchEncodersError);
    return error as TorchEncodersError;
  }
  throw new Error('expected a throw');
}

describe('loading the native binary', () => {
  it('names the libtorch found, its rule, the binaries there are and the fixes when none fits', () => {
    const libtorch = fakeLibtorch('2.99.0');
    const root = path.join(scratch, 'package');
    fs.mkdirSync(path.join(root, 'prebuilds', `${process.platform}-${process.arch}`, 'libtorch-2.13'), {
      recursive: true,
    });
    fs.writeFileSync(
      path.join(
        root,
        'prebuilds',
        `${process.platform}-${process.arch}`,
        'libtorch-2.13',
        'torch_encoders.node',
      ),
      '',
    );
    const error = thrownBy(() => loadBinding(root, { TORCH_ENCODERS_LIBTORCH: libtorch, PATH: '' }));
    expect(error.code).toBe('E_NATIVE_LOAD');
    expect(error.message).toContain(
      `No torch-encoders binary fits the libtorch found: libtorch 2.99.0 (cpu) in ${path.join(libtorch, 'lib')}, found by the rule "TORCH_ENCODERS_LIBTORCH" (TORCH_ENCODERS_LIBTORCH=${libtorch}).`,
    );
    expect(error.message).toContain(
      'Prebuilt binaries in this package: libtorch-2.13; built from source here: none',
    );
    expect(error.message).toContain('tools/build-native.js');
    expect(error.message).toContain('pip install torch==2.13.0');
    expect(error.message).toContain('apt-get install -y libtorch-dev libopenblas0-openmp');
    expect(error.message).toContain('1. TORCH_ENCODERS_LIBTORCH');
    expect(error.message).toContain("5. Debian's libtorch");
  });

  it('reports a binary that exists but cannot be loaded, with the causes and fixes', () => {
    const libtorch = fakeLibtorch('2.98.0');
    const root = path.join(scratch, 'package');
    const binaries = path.join(root, 'build', 'libtorch-2.98', 'Release');
    fs.mkdirSync(binaries, { recursive: true });
    fs.writeFileSync(path.join(binaries, 'torch_encoders.node'), 'not an ELF file');
    fs.writeFileSync(path.join(binaries, 'torch_encoders_loader.node'), 'not an ELF file');
    const error = thrownBy(() => loadBinding(root, { TORCH_ENCODERS_LIBTORCH: libtorch, PATH: '' }));
    expect(error.code).toBe('E_NATIVE_LOAD');
    expect(error.message).toMatch(
      /could not load its native binary .*torch_encoders_loader\.node on libtorch 2\.98\.0 \(cpu\)/,
    );
    expect(error.message).toMatch(
      /Reason: Error: .*torch_encoders_loader\.node: (file too short|invalid ELF header)/,
    );
    expect(error.message).toContain('GLIBC_2.xx not found');
    expect(error.message).toContain('libcuda.so.1');
  });
});

describe('MKL vendor check override', () => {
  const mklRuntime = (): LibtorchRuntime => {
    const lib = path.join(scratch, 'lib');
    fs.mkdirSync(lib, { recursive: true });
    fs.writeFileSync(path.join(lib, 'libtorch_cpu.so'), '');
    return {
      version: '2.13.0',
      variant: 'cpu',
      tag: 'libtorch-2.13',
      libDir: lib,
      library: path.join(lib, 'libtorch.so'),
      cmakeDir: '',
      rule: 'VIRTUAL_ENV',
      source: 'test',
    };
  };
  const amdAvx512 = { vendor: 'AuthenticAMD', avx512: true };
  const exportsIt = () => true;

  it('is on for an MKL libtorch on an AMD processor with AVX-512', () => {
    expect(decideMklOverride(mklRuntime(), exportsIt, {}, amdAvx512)).toMatchObject({ active: true });
  });

  it.each([
    [
      'the user opted out',
      { TORCH_ENCODERS_MKL_OVERRIDE: '0' },
      amdAvx512,
      exportsIt,
      /^off: TORCH_ENCODERS_MKL_OVERRIDE=0$/,
    ],
    [
      'libtorch has no MKL',
      {},
      amdAvx512,
      () => false,
      /^not applicable: this libtorch does not multiply through MKL$/,
    ],
    [
      'the processor is Intel',
      {},
      { vendor: 'GenuineIntel', avx512: true },
      exportsIt,
      /^not needed: .*Intel/,
    ],
    [
      'there is no AVX-512',
      {},
      { vendor: 'AuthenticAMD', avx512: false },
      exportsIt,
      /^not needed: .*no AVX-512/,
    ],
  ])('is off when %s', (_, env, cpu, exports, reason) => {
    const state = decideMklOverride(mklRuntime(), exports, env, cpu);
    expect(state.active).toBe(false);
    expect(state.reason).toMatch(reason);
  });
});
