import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Binding, NativeBuildInfo } from '../binding';
import { cpuInfo, type CpuInfo } from './cpu-info';
import { TorchEncodersError } from './errors';
import {
  DISCOVERY_ORDER_TEXT,
  discoverLibtorch,
  LIBTORCH_VARIABLE,
  type LibtorchRuntime,
} from './libtorch-discovery';

/** The files of one runtime's binary folder (build/<tag>/Release or prebuilds/<platform>/<tag>). */
export const ADDON_FILE = 'torch_encoders.node';
export const LOADER_FILE = 'torch_encoders_loader.node';
export const MKL_OVERRIDE_FILE = 'torch_encoders_mkl_cpu.so';
/** Set to 0 to keep MKL's own CPU-vendor check (see README, "MKL on AMD"). */
export const MKL_OVERRIDE_VARIABLE = 'TORCH_ENCODERS_MKL_OVERRIDE';
const MKL_VENDOR_SYMBOL = 'mkl_serv_intel_cpu_true';
/**
 * A folder to load the binary from instead of build/<tag>/Release and the prebuilds: a variant
 * build of the same runtime kept beside the real one, such as the sanitizer build
 * (tools/sanitizers/run.sh). Unset by default.
 */
export const BINARY_DIR_VARIABLE = 'TORCH_ENCODERS_BINARY_DIR';

interface Loader {
  preloadGlobal(file: string): string | null;
  exportsSymbol(file: string, symbol: string): boolean;
  dynamicInfo(file: string): { soname: string; needed: string[] };
  loadedFrom(symbol: string): string | null;
}

/** Whether MKL was told that this processor may take its AVX-512 paths, and why (not). */
export interface MklOverrideState {
  active: boolean;
  reason: string;
}

/** The binding with what was loaded to run it. */
export interface LoadedBinding {
  binding: Binding;
  runtime: LibtorchRuntime;
  /** The folder the addon was loaded from. */
  binaryDir: string;
  mklCpuOverride: MklOverrideState;
}

/** The package root: lib/ runs from source under ts-jest and from dist/lib/ once compiled. */
export function packageRoot(): string {
  let dir = __dirname;
  while (!fs.existsSync(path.join(dir, 'package.json'))) {
    const parent = path.dirname(dir);
    if (parent === dir) return path.resolve(__dirname, '..');
    dir = parent;
  }
  return dir;
}

/** Where a binary for `tag` may be, in the order they are tried: a source build, then a prebuild. */
export function binaryFolders(root: string, tag: string): string[] {
  return [
    path.join(root, 'build', tag, 'Release'),
    path.join(root, 'prebuilds', `${process.platform}-${process.arch}`, tag),
  ];
}

/** The runtime tags that have a binary in this package: prebuilt and built from source. */
export function availableBinaries(root: string): { prebuilt: string[]; built: string[] } {
  const tagsIn = (dir: string, inner: string) => {
    try {
      return fs
        .readdirSync(dir)
        .filter((tag) => fs.existsSync(path.join(dir, tag, inner, ADDON_FILE)))
        .sort();
    } catch {
      return [];
    }
  };
  return {
    prebuilt: tagsIn(path.join(root, 'prebuilds', `${process.platform}-${process.arch}`), ''),
    built: tagsIn(path.join(root, 'build'), 'Release'),
  };
}

function describeRuntime(runtime: LibtorchRuntime): string {
  const variant = runtime.variant ? ` (${runtime.variant})` : '';
  return `libtorch ${runtime.version}${variant} in ${runtime.libDir}, found by the rule "${runtime.rule}" (${runtime.source})`;
}

const BUILD_FIX =
  '`node node_modules/torch-encoders/tools/build-native.js` (or `npm rebuild torch-encoders` where npm runs its ' +
  'install script) builds one for the libtorch found; it needs cmake and a C++20 compiler (about a minute)';

function missingBinaryMessage(root: string, runtime: LibtorchRuntime): string {
  const { prebuilt, built } = availableBinaries(root);
  return [
    `No torch-encoders binary fits the libtorch found: ${describeRuntime(runtime)}.`,
    `Prebuilt binaries in this package: ${prebuilt.join(', ') || 'none'}; built from source here: ${built.join(', ') || 'none'} (looked for ${binaryFolders(root, runtime.tag).join(' and ')}).`,
    'Fixes:',
    `- ${BUILD_FIX};`,
    `- or run on a libtorch with a prebuilt binary: \`pip install torch==2.13.0\` in the active Python environment, or Debian's`,
    `  \`apt-get install -y libtorch-dev libopenblas0-openmp\` (1.13), and point ${LIBTORCH_VARIABLE} at it if another one is found first.`,
    'The libtorch is chosen by the first rule that finds one:',
    DISCOVERY_ORDER_TEXT,
  ].join('\n');
}

function loadFailureMessage(binary: string, runtime: LibtorchRuntime, reason: string): string {
  return [
    `torch-encoders could not load its native binary ${binary} on ${describeRuntime(runtime)}.`,
    `Reason: ${reason.split('\n')[0]}`,
    'Likely causes and fixes:',
    '- the binary was built for another libtorch than the one loaded ("undefined symbol"): rebuild it with',
    `  ${BUILD_FIX}, or set ${LIBTORCH_VARIABLE} to the libtorch it was built for;`,
    '- the libtorch is incomplete ("cannot open shared object file"): reinstall it (pip install --force-reinstall torch),',
    '  or on Debian `apt-get install -y libtorch-dev libopenblas0-openmp`;',
    '- glibc or libstdc++ too old for the prebuilt binary ("GLIBC_2.xx not found", "CXXABI_1.3.xx not found"):',
    '  build from source on this machine as above;',
    '- a CUDA libtorch without a driver ("libcuda.so.1: cannot open shared object file"): install the NVIDIA driver or',
    '  use a CPU libtorch.',
  ].join('\n');
}

function loadError(message: string, cause?: unknown): TorchEncodersError {
  return new TorchEncodersError('E_NATIVE_LOAD', message, cause === undefined ? {} : { cause });
}

/** Loads a Node addon by absolute path, as require() would, without require's module cache. */
function loadAddon<T>(file: string): T {
  const module = { exports: {} as T };
  process.dlopen(module, file, os.constants.dlopen.RTLD_NOW);
  return module.exports;
}

/** The libtorch_cpu library next to the runtime's libtorch (Debian's carries a version suffix). */
function libtorchCpu(runtime: LibtorchRuntime): string | undefined {
  const names = fs.readdirSync(runtime.libDir).filter((name) => /^libtorch_cpu\.so(\.\d+)*$/.test(name));
  return names.length > 0 ? path.join(runtime.libDir, names.sort()[0]!) : undefined;
}

/**
 * Decides whether to answer MKL's CPU-vendor check with "Intel": only where the libtorch's MKL
 * asks it (its libtorch_cpu exports the symbol), on a processor that is not Intel's (where MKL
 * takes its best path anyway) and has AVX-512 (the path the check withholds; on AVX2-only AMD
 * processors sgemm measured the same either way, 166 and 168 GFLOP/s), unless the user opted out.
 */
export function decideMklOverride(
  runtime: LibtorchRuntime,
  exportsVendorCheck: (file: string) => boolean,
  env: NodeJS.ProcessEnv = process.env,
  cpu: Pick<CpuInfo, 'vendor' | 'avx512'> = cpuInfo(),
): MklOverrideState {
  if (env[MKL_OVERRIDE_VARIABLE] === '0') {
    return { active: false, reason: `off: ${MKL_OVERRIDE_VARIABLE}=0` };
  }
  const cpuLibrary = libtorchCpu(runtime);
  if (cpuLibrary === undefined || !exportsVendorCheck(cpuLibrary)) {
    return { active: false, reason: 'not applicable: this libtorch does not multiply through MKL' };
  }
  if (cpu.vendor === 'GenuineIntel') {
    return { active: false, reason: 'not needed: MKL takes its AVX-512 paths on Intel processors' };
  }
  if (!cpu.avx512) {
    return { active: false, reason: 'not needed: this processor has no AVX-512 for MKL to withhold' };
  }
  return {
    active: true,
    reason: `on: MKL may take its AVX-512 paths on this ${cpu.vendor || 'non-Intel'} processor (${MKL_OVERRIDE_VARIABLE}=0 turns this off)`,
  };
}

/**
 * The libtorch sonames the addon links that the runtime does not provide under that soname (read,
 * not loaded). A soname the preloaded libtorch does not answer to would be searched for, found
 * through the RUNPATH or the system folders, and bring a second libtorch in.
 */
function foreignTorchLibraries(loader: Loader, addonFile: string, runtime: LibtorchRuntime): string[] {
  try {
    return loader.dynamicInfo(addonFile).needed.filter((soname) => {
      if (!/^lib(torch|c10)(_\w+)?\.so/.test(soname)) return false;
      const provider = path.join(runtime.libDir, soname);
      return !fs.existsSync(provider) || loader.dynamicInfo(provider).soname !== soname;
    });
  } catch (cause) {
    throw loadError(loadFailureMessage(addonFile, runtime, String(cause)), cause);
  }
}

/**
 * Finds the libtorch to run on (lib/libtorch-discovery.ts), the binary built for its version,
 * preloads that libtorch by absolute path into the global scope (so the addon binds it, not
 * whichever libtorch the system search path finds) and loads the addon. Throws one
 * TorchEncodersError E_NATIVE_LOAD naming what was found, what is missing and the fixes.
 */
export function loadBinding(root: string, env: NodeJS.ProcessEnv = process.env): LoadedBinding {
  const runtime = discoverLibtorch(root, env);
  const explicitDir = env[BINARY_DIR_VARIABLE] ? path.resolve(env[BINARY_DIR_VARIABLE]) : undefined;
  if (explicitDir !== undefined && !fs.existsSync(path.join(explicitDir, ADDON_FILE))) {
    throw loadError(`${BINARY_DIR_VARIABLE}=${explicitDir} holds no ${ADDON_FILE}`);
  }
  const binaryDir =
    explicitDir ?? binaryFolders(root, runtime.tag).find((dir) => fs.existsSync(path.join(dir, ADDON_FILE)));
  if (binaryDir === undefined) throw loadError(missingBinaryMessage(root, runtime));
  const addonFile = path.join(binaryDir, ADDON_FILE);

  let loader: Loader;
  try {
    loader = loadAddon<Loader>(path.join(binaryDir, LOADER_FILE));
  } catch (cause) {
    throw loadError(loadFailureMessage(path.join(binaryDir, LOADER_FILE), runtime, String(cause)), cause);
  }

  let mklCpuOverride = decideMklOverride(
    runtime,
    (file) => {
      try {
        return loader.exportsSymbol(file, MKL_VENDOR_SYMBOL);
      } catch {
        return false;
      }
    },
    env,
  );
  if (mklCpuOverride.active) {
    // Loaded before libtorch: the first definition in the global scope is the one MKL binds.
    const failure = loader.preloadGlobal(path.join(binaryDir, MKL_OVERRIDE_FILE));
    if (failure !== null) mklCpuOverride = { active: false, reason: `failed to load: ${failure}` };
  }

  const failure = loader.preloadGlobal(runtime.library);
  if (failure !== null) throw loadError(loadFailureMessage(runtime.library, runtime, failure));

  const foreign = foreignTorchLibraries(loader, addonFile, runtime);
  if (foreign.length > 0) {
    // Loading it would bring a second libtorch into the process, whose initializers crash beside
    // the first (a bus error, measured): refuse before dlopen.
    throw loadError(
      loadFailureMessage(
        addonFile,
        runtime,
        `the binary links ${foreign.join(', ')}, which the libtorch found does not have: it was built for another libtorch`,
      ),
    );
  }

  let binding: Binding;
  try {
    binding = loadAddon<Binding>(addonFile);
  } catch (cause) {
    throw loadError(loadFailureMessage(addonFile, runtime, String(cause)), cause);
  }
  const compiled = binding.libtorchVersion();
  if (!compiled.startsWith(`${runtime.version.split('.').slice(0, 2).join('.')}.`)) {
    throw loadError(
      loadFailureMessage(
        addonFile,
        runtime,
        `the binary was compiled against libtorch ${compiled}, not ${runtime.version}`,
      ),
    );
  }
  if (mklCpuOverride.active) {
    // Another copy of the symbol loaded earlier (another MKL user in this process) would win.
    const provider = loader.loadedFrom(MKL_VENDOR_SYMBOL);
    if (provider === null || path.basename(provider) !== MKL_OVERRIDE_FILE) {
      mklCpuOverride = {
        active: false,
        reason: `not in effect: ${MKL_VENDOR_SYMBOL} resolves to ${provider ?? 'nothing'}`,
      };
    }
  }
  return { binding, runtime, binaryDir, mklCpuOverride };
}

let loaded: LoadedBinding | undefined;
let blasWarned = false;

/** The addon of this package with what was loaded to run it, loaded on first use. */
export function loadedNative(): LoadedBinding {
  if (loaded === undefined) {
    loaded = loadBinding(packageRoot());
    warnAboutSlowBlas(loaded.binding.buildInfo());
  }
  return loaded;
}

/** The addon of this package, loaded on first use. */
export function native(): Binding {
  return loadedNative().binding;
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
