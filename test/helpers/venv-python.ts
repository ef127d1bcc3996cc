import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

/** The repository root. */
export const ROOT = path.resolve(__dirname, '../..');

/**
 * The project venv's Python (.venv/bin/python: torch 2.x and transformers, made by tools/setup.sh),
 * which the Python tools run with. Throws, naming the fix, when the venv is missing.
 */
export function venvPython(): string {
  const python = path.join(ROOT, '.venv', 'bin', 'python');
  if (!fs.existsSync(python)) {
    throw new Error(`${python} does not exist: run tools/setup.sh to create the project venv`);
  }
  return python;
}

/** Debian's python3 with its python3-torch (libtorch 1.13), the project's second runtime. */
export const DEBIAN_PYTHON = '/usr/bin/python3';

/**
 * Runs `script` with the venv's Python (offline, quiet), `payload` as JSON on its stdin, and
 * returns its stdout parsed as JSON; throws with the end of its stderr when it fails.
 */
export function runVenvPythonJson<T>(script: string, payload: unknown, maxBufferMiB = 16): T {
  const result = spawnSync(venvPython(), ['-c', script], {
    cwd: ROOT,
    input: JSON.stringify(payload),
    encoding: 'utf8',
    env: { ...process.env, HF_HUB_OFFLINE: '1', TRANSFORMERS_VERBOSITY: 'error', PYTHONWARNINGS: 'ignore' },
    maxBuffer: maxBufferMiB * 2 ** 20,
  });
  if (result.status !== 0) {
    throw new Error(`the Python reference exited ${result.status}:\n${result.stderr.slice(-4000)}`);
  }
  return JSON.parse(result.stdout) as T;
}
