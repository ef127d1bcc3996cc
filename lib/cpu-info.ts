import * as fs from 'node:fs';
import * as os from 'node:os';

/** The processor, as /proc/cpuinfo names it (vendor 'AuthenticAMD', 'GenuineIntel'; model). */
export interface CpuInfo {
  vendor: string;
  model: string;
  /** Whether it has AVX-512 Foundation (the 'avx512f' flag). */
  avx512: boolean;
}

/** Reads the first processor's vendor and model; empty vendor where /proc/cpuinfo is absent. */
export function cpuInfo(): CpuInfo {
  let text = '';
  try {
    text = fs.readFileSync('/proc/cpuinfo', 'utf8');
  } catch {
    // Not Linux, or /proc is not mounted: the model from Node is all there is.
  }
  const field = (name: string) => new RegExp(`^${name}\\s*:\\s*(.*)$`, 'm').exec(text)?.[1]?.trim();
  const flags = new Set((field('flags') ?? '').split(/\s+/));
  return {
    vendor: field('vendor_id') ?? '',
    model: field('model name') ?? os.cpus()[0]?.model ?? '',
    avx512: flags.has('avx512f'),
  };
}
