import * as os from 'node:os';
import { availableBinaries, packageRoot } from '../native';

/** `torch-encoders info`: the libtorch in use, how it was found, the binary, CUDA, BLAS, threads. */
export async function info(options: { json?: boolean }, version: string): Promise<void> {
  const runtime = await import('../runtime');
  const build = runtime.buildInfo();
  const cudaAvailable = runtime.cudaAvailable();
  const facts = {
    version,
    libtorch: runtime.libtorchVersion(),
    runtime: build.runtime,
    binaryDir: build.binaryDir,
    binaries: availableBinaries(packageRoot()),
    cuda: {
      compiled: build.cuda,
      available: cudaAvailable,
      deviceCount: cudaAvailable ? runtime.cudaDeviceCount() : 0,
    },
    blas: build.blas,
    mklCpuOverride: build.mklCpuOverride,
    cpu: build.cpu,
    defaultThreads: os.availableParallelism(),
    torchLibDir: build.torchLibDir,
    torchSource: build.torchSource,
    cxx11Abi: build.cxx11Abi,
    napiVersion: build.napiVersion,
    node: process.version,
  };
  if (options.json) {
    process.stdout.write(JSON.stringify(facts) + '\n');
    return;
  }
  const cuda = !facts.cuda.compiled
    ? 'not compiled in (CPU-only build)'
    : facts.cuda.available
      ? `compiled in, available, ${facts.cuda.deviceCount} device(s)`
      : 'compiled in, not available (no driver or no device)';
  const blasNote =
    facts.blas.name === 'reference' ? ' (slow reference BLAS: apt-get install -y libopenblas0-openmp)' : '';
  const variant = facts.runtime.variant ? ` (${facts.runtime.variant})` : '';
  const list = (tags: string[]) => (tags.length > 0 ? tags.join(', ') : 'none');
  process.stdout.write(
    [
      `torch-encoders ${facts.version}`,
      `libtorch:        ${facts.libtorch} (${facts.torchLibDir})`,
      `runtime:         libtorch ${facts.runtime.version}${variant}, found by the rule "${facts.runtime.rule}" (${facts.runtime.source})`,
      `binary:          ${facts.binaryDir}`,
      `binaries:        prebuilt ${list(facts.binaries.prebuilt)}; built here ${list(facts.binaries.built)}`,
      `CUDA:            ${cuda}`,
      `BLAS:            ${facts.blas.name} (${facts.blas.path || 'linked into libtorch'})${blasNote}`,
      `MKL vendor check: ${facts.mklCpuOverride.reason}`,
      `CPU:             ${facts.cpu.model} (${facts.cpu.vendor}, AVX-512: ${facts.cpu.avx512 ? 'yes' : 'no'})`,
      `default threads: ${facts.defaultThreads}`,
      `node:            ${facts.node} (N-API ${facts.napiVersion})`,
      '',
    ].join('\n'),
  );
}
