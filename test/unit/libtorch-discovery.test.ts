// The run-time libtorch discovery on fake libtorch folders: each rule, their order, and the
// version read from each layout (pip wheel, official C++ zip, Debian's versioned sonames).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  discoverLibtorch,
  inspectLibtorch,
  parseTorchVersion,
  RECORDED_RUNTIME_FILE,
  runtimeTag,
} from '../../lib/libtorch-discovery';

let scratch: string;
beforeEach(() => {
  scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'torch-encoders-discovery-'));
});
afterEach(() => fs.rmSync(scratch, { recursive: true, force: true }));

/** A pip wheel's torch package folder inside a venv; returns the venv. */
function fakeVenv(name: string, version: string): string {
  const venv = path.join(scratch, name);
  const torch = path.join(venv, 'lib', 'python3.11', 'site-packages', 'torch');
  fs.mkdirSync(path.join(torch, 'lib'), { recursive: true });
  fs.mkdirSync(path.join(torch, 'share', 'cmake', 'Torch'), { recursive: true });
  fs.writeFileSync(path.join(torch, 'share', 'cmake', 'Torch', 'TorchConfig.cmake'), '');
  fs.writeFileSync(path.join(torch, 'version.py'), `__version__ = '${version}'\ndebug = False\n`);
  fs.writeFileSync(path.join(torch, 'lib', 'libtorch.so'), '');
  fs.mkdirSync(path.join(venv, 'bin'));
  fs.writeFileSync(path.join(venv, 'bin', 'python'), '');
  return venv;
}

/** An official C++ zip: build-version and lib/libtorch.so. */
function fakeZip(name: string, version: string): string {
  const root = path.join(scratch, name);
  fs.mkdirSync(path.join(root, 'lib'), { recursive: true });
  fs.writeFileSync(path.join(root, 'build-version'), `${version}\n`);
  fs.writeFileSync(path.join(root, 'lib', 'libtorch.so'), '');
  return root;
}

/** An environment in which no rule but the ones a test sets can fire (no python3, no venv). */
function isolatedEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const emptyBin = path.join(scratch, 'empty-bin');
  fs.mkdirSync(emptyBin, { recursive: true });
  return { PATH: emptyBin, ...extra };
}

describe('parseTorchVersion and runtimeTag', () => {
  it.each([
    ['2.13.0+cpu', '2.13.0', 'cpu'],
    ['2.14.1+cu130', '2.14.1', 'cu130'],
    ['1.13.0a0', '1.13.0', ''],
    ['2.13.0\n', '2.13.0', ''],
  ])('reads %j', (text, version, variant) => {
    expect(parseTorchVersion(text)).toEqual({ version, variant });
  });

  it.each(['', 'torch', '2.13', 'v2.13.0'])('rejects %j', (text) => {
    expect(parseTorchVersion(text)).toBeUndefined();
  });

  it('names binaries by minor release', () => {
    expect(runtimeTag('2.13.0')).toBe('libtorch-2.13');
    expect(runtimeTag('1.13.1')).toBe('libtorch-1.13');
  });
});

describe('inspectLibtorch', () => {
  it('reads a pip wheel: version.py, torch/lib, share/cmake and the venv python', () => {
    const venv = fakeVenv('venv', '2.13.0+cpu');
    const torch = path.join(venv, 'lib', 'python3.11', 'site-packages', 'torch');
    const found = inspectLibtorch(torch, 'VIRTUAL_ENV', 'test');
    expect(found).toMatchObject({
      version: '2.13.0',
      variant: 'cpu',
      tag: 'libtorch-2.13',
      libDir: path.join(torch, 'lib'),
      library: path.join(torch, 'lib', 'libtorch.so'),
      cmakeDir: path.join(torch, 'share', 'cmake', 'Torch'),
    });
  });

  it("reads Debian's layout: the version from libtorch_cpu.so.X.Y.Z, the library from its soname link", () => {
    const lib = path.join(scratch, 'multiarch');
    fs.mkdirSync(lib);
    for (const name of ['libtorch.so.1.13', 'libtorch_cpu.so.1.13', 'libtorch_cpu.so.1.13.0']) {
      fs.writeFileSync(path.join(lib, name), '');
    }
    expect(inspectLibtorch(lib, 'Debian libtorch', lib)).toMatchObject({
      version: '1.13.0',
      tag: 'libtorch-1.13',
      libDir: lib,
      library: path.join(lib, 'libtorch.so.1.13'),
      cmakeDir: '',
    });
  });

  it('says why a folder is not a libtorch', () => {
    expect(inspectLibtorch(path.join(scratch, 'nothing'), 'TORCH_ENCODERS_LIBTORCH', 'x')).toMatch(
      /does not exist$/,
    );
    fs.mkdirSync(path.join(scratch, 'empty'));
    expect(inspectLibtorch(path.join(scratch, 'empty'), 'TORCH_ENCODERS_LIBTORCH', 'x')).toMatch(
      /holds no libtorch\.so \(looked in .*empty\/lib and .*empty\)$/,
    );
    const unversioned = path.join(scratch, 'unversioned');
    fs.mkdirSync(path.join(unversioned, 'lib'), { recursive: true });
    fs.writeFileSync(path.join(unversioned, 'lib', 'libtorch.so'), '');
    expect(inspectLibtorch(unversioned, 'TORCH_ENCODERS_LIBTORCH', 'x')).toMatch(
      /version of the libtorch in .* could not be read/,
    );
  });
});

describe('discoverLibtorch, in the documented order', () => {
  const packageRoot = () => path.join(scratch, 'package');
  beforeEach(() => fs.mkdirSync(packageRoot()));

  function record(venv: string): void {
    const file = path.join(packageRoot(), RECORDED_RUNTIME_FILE);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const torch = path.join(venv, 'lib', 'python3.11', 'site-packages', 'torch');
    fs.writeFileSync(file, JSON.stringify({ torch, python: path.join(venv, 'bin', 'python') }));
  }

  it('1. TORCH_ENCODERS_LIBTORCH wins over every other rule', () => {
    const zip = fakeZip('zip', '2.99.0+cpu');
    record(fakeVenv('recorded', '2.13.0+cpu'));
    const found = discoverLibtorch(
      packageRoot(),
      isolatedEnv({ TORCH_ENCODERS_LIBTORCH: zip, VIRTUAL_ENV: fakeVenv('active', '2.12.0') }),
    );
    expect(found).toMatchObject({
      version: '2.99.0',
      rule: 'TORCH_ENCODERS_LIBTORCH',
      libDir: path.join(zip, 'lib'),
    });
    expect(found.source).toBe(`TORCH_ENCODERS_LIBTORCH=${zip}`);
  });

  it('1. a TORCH_ENCODERS_LIBTORCH that leads nowhere is an error, not a reason to look further', () => {
    const missing = path.join(scratch, 'no-such-libtorch');
    expect(() => discoverLibtorch(packageRoot(), isolatedEnv({ TORCH_ENCODERS_LIBTORCH: missing }))).toThrow(
      expect.objectContaining({
        code: 'E_NATIVE_LOAD',
        message: `TORCH_ENCODERS_LIBTORCH=${missing}: ${missing} does not exist.`,
      }),
    );
  });

  it('2. the venv recorded by setup comes before an active venv, with its python', () => {
    const recorded = fakeVenv('recorded', '2.13.0+cpu');
    record(recorded);
    const found = discoverLibtorch(packageRoot(), isolatedEnv({ VIRTUAL_ENV: fakeVenv('active', '2.12.0') }));
    expect(found).toMatchObject({
      version: '2.13.0',
      rule: 'recorded by tools/setup.sh',
      python: path.join(recorded, 'bin', 'python'),
    });
  });

  it('2. a record whose torch is gone says to run setup again', () => {
    record(path.join(scratch, 'deleted-venv'));
    expect(() => discoverLibtorch(packageRoot(), isolatedEnv())).toThrow(
      expect.objectContaining({
        code: 'E_NATIVE_LOAD',
        message: expect.stringContaining('Run tools/setup.sh again'),
      }),
    );
  });

  it('3. VIRTUAL_ENV, found on disk without starting Python', () => {
    const venv = fakeVenv('active', '2.12.0');
    const found = discoverLibtorch(packageRoot(), isolatedEnv({ VIRTUAL_ENV: venv }));
    expect(found).toMatchObject({
      version: '2.12.0',
      rule: 'VIRTUAL_ENV',
      source: `VIRTUAL_ENV=${venv}`,
      python: path.join(venv, 'bin', 'python'),
    });
  });

  it('4. python3 on PATH, asked where its torch is', () => {
    const venv = fakeVenv('path-python', '2.11.0+cpu');
    const torch = path.join(venv, 'lib', 'python3.11', 'site-packages', 'torch');
    const bin = path.join(scratch, 'bin');
    fs.mkdirSync(bin);
    fs.writeFileSync(path.join(bin, 'python3'), `#!/bin/sh\necho '${torch}'\n`, { mode: 0o755 });
    const found = discoverLibtorch(packageRoot(), { PATH: bin });
    expect(found).toMatchObject({ version: '2.11.0', rule: 'python3 on PATH', python: 'python3' });
  });
});
