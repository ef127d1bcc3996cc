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
