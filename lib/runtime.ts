import { cpuInfo, type CpuInfo } from './cpu-info';
import type { LibtorchRule } from './libtorch-discovery';
import { loadedNative, native, type MklOverrideState } from './native';

export interface BuildInfo {
  /** The libtorch version the binary was compiled against (same minor as `runtime.version`). */
  libtorch: string;
  /** The libtorch this process runs on, and the discovery rule that found it (see README). */
  runtime: {
    version: string;
    /** The pip build's local suffix ('cpu', 'cu130'), or ''. */
    variant: string;
    /** The binaries' folder name for it: 'libtorch-2.13'. */
    tag: string;
    libDir: string;
    rule: LibtorchRule;
    /** What the rule read: the variable's value, the venv, the folder. */
    source: string;
  };
  /** The folder the addon was loaded from: build/<tag>/Release (from source) or prebuilds/. */
  binaryDir: string;
  /** Whether CUDA support was compiled in. */
  cuda: boolean;
  /** Whether CUDA is usable now (CUDA build, driver and a device). */
  cudaAvailable: boolean;
  /** The BLAS libtorch multiplies through; 'reference' is the slow netlib one (see README). */
  blas: { name: 'openblas' | 'mkl' | 'blis' | 'reference' | 'unknown'; path: string };
  /** Whether MKL's CPU-vendor check is answered "Intel" on this processor (README, "MKL on AMD"). */
  mklCpuOverride: MklOverrideState;
  cpu: CpuInfo;
  /** Where the binary found libtorch: the libtorch folder of `runtime`. */
  torchLibDir: string;
  /** How the libtorch was found: `runtime.rule` and what it read. */
  torchSource: string;
  cxx11Abi: boolean;
  napiVersion: number;
}

export function libtorchVersion(): string {
  return native().libtorchVersion();
}

export function cudaAvailable(): boolean {
  return native().cudaAvailable();
}

export function cudaDeviceCount(): number {
  return native().cudaDeviceCount();
}

export function buildInfo(): BuildInfo {
  const { binding, runtime, binaryDir, mklCpuOverride } = loadedNative();
  const built = binding.buildInfo();
  return {
    libtorch: built.libtorch,
    runtime: {
      version: runtime.version,
      variant: runtime.variant,
      tag: runtime.tag,
      libDir: runtime.libDir,
      rule: runtime.rule,
      source: runtime.source,
    },
    binaryDir,
    cuda: built.cuda,
    cudaAvailable: built.cudaAvailable,
    blas: built.blas,
    mklCpuOverride,
    cpu: cpuInfo(),
    torchLibDir: runtime.libDir,
    torchSource: `${runtime.rule}: ${runtime.source}`,
    cxx11Abi: built.cxx11Abi,
    napiVersion: built.napiVersion,
  };
}
