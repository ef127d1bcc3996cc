import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Binding, NativeBuildInfo } from '../binding';
import { TorchEncodersError } from './errors';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const nodeGypBuild = require('node-gyp-build') as (dir: string) => unknown;

/** The package root: lib/ runs from source under ts-jest and from dist/lib/ once compiled. */
function packageRoot(): string {
  let dir = __dirname;
  while (!fs.existsSync(path.join(dir, 'package.json'))) {
    const parent = path.dirname(dir);
    if (parent === dir) return path.resolve(__dirname, '..');
    dir = parent;
  }
  return dir;
}

function describeLoadFailure(root: string, cause: unknown): string {
  const reason = cause instanceof Error ? cause.message : String(cause);
  return [
    `torch-encoders could not load its native binary (searched ${path.join(root, 'prebuilds')} and ${path.join(root, 'build', 'Release')}).`,
    `Reason: ${reason.split('\n')[0]}`,
    'Likely causes and fixes:',
    '- libtorch is missing or of another version than the binary was built for ("libtorch_cpu.so: cannot open shared object file", "undefined symbol"):',
    '  on Debian 12 install it with `apt-get install -y libtorch-dev libopenblas0-openmp`; elsewhere download libtorch',
    '  (cxx11 ABI) and rebuild: `LIBTORCH=/path/to/libtorch npm rebuild torch-encoders`.',
    '- No binary was built: the install step was skipped (npm --ignore-scripts, or npm blocked install scripts).',
    '  Build it: `npm rebuild torch-encoders` (needs cmake, a C++17 compiler and libtorch).',
    '- glibc or libstdc++ too old for the prebuilt binary ("GLIBC_2.xx not found", "CXXABI_1.3.xx not found"):',
    '  build from source on this machine as above.',
    '- CUDA libtorch without a driver ("libcuda.so.1: cannot open shared object file"): install the NVIDIA driver or',
    '  use a CPU libtorch.',
  ].join('\n');
}

/** Loads the addon from `root`, or throws one E_NATIVE_LOAD error listing causes and fixes. */
export function loadBinding(root: string): Binding {
  try {
    return nodeGypBuild(root) as Binding;
  } catch (cause) {
    throw new TorchEncodersError('E_NATIVE_LOAD', describeLoadFailure(root, cause), { cause });
  }
}

let binding: Binding | undefined;
let blasWarned = false;

/** The addon of this package, loaded on first use. */
export function native(): Binding {
  if (binding === undefined) {
    binding = loadBinding(packageRoot());
    warnAboutSlowBlas(binding.buildInfo());
  }
  return binding;
}

/** Warns once per process when libtorch runs on the reference BLAS. Exported for tests. */
export function warnAboutSlowBlas(info: Pick<NativeBuildInfo, 'blas'>): void {
  if (blasWarned || info.blas.name !== 'reference') return;
  blasWarned = true;
  process.emitWarning(
    `libtorch multiplies matrices through the reference BLAS (${info.blas.path}), about 30x slower than ` +
      'OpenBLAS. Install it: `apt-get install -y libopenblas0-openmp`.',
    { code: 'TORCH_ENCODERS_REFERENCE_BLAS' },
  );
}
