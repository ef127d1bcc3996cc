import { native } from './native';

export interface BuildInfo {
  /** The libtorch version the binary was compiled against. */
  libtorch: string;
  /** Whether CUDA support was compiled in. */
  cuda: boolean;
  /** Whether CUDA is usable now (CUDA build, driver and a device). */
  cudaAvailable: boolean;
  /** The BLAS libtorch multiplies through; 'reference' is the slow netlib one (see README). */
  blas: { name: 'openblas' | 'mkl' | 'blis' | 'reference' | 'unknown'; path: string };
  /** Where the binary finds libtorch (its RUNPATH). */
  torchLibDir: string;
  /** How the build found libtorch: LIBTORCH, Torch_DIR, system cmake config or Python torch. */
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
  return native().buildInfo();
}
