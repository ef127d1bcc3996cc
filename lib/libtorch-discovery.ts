import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { TorchEncodersError } from './errors';

/** How the libtorch in use was found, in the order the rules are tried. */
export type LibtorchRule =
  | 'TORCH_ENCODERS_LIBTORCH'
  | 'recorded by tools/setup.sh'
  | 'VIRTUAL_ENV'
  | 'python3 on PATH'
  | 'Debian libtorch';

/** A libtorch found on this machine. */
export interface LibtorchRuntime {
  /** Its version without the local suffix: '2.13.0'. */
  version: string;
  /** The local suffix of a pip build ('cpu', 'cu130'), or '' when there is none. */
  variant: string;
  /** The name of the binaries built for it: 'libtorch-2.13' (C++ ABI changes between minors). */
  tag: string;
  /** The folder holding libtorch.so, libtorch_cpu.so and libc10.so. */
  libDir: string;
  /** The libtorch.so (or Debian's libtorch.so.X.Y) that is preloaded before the addon. */
  library: string;
  /** The folder holding TorchConfig.cmake, for builds from source ('' when absent). */
  cmakeDir: string;
  /** The rule that found it and the value it read ('VIRTUAL_ENV=/path/.venv'). */
  rule: LibtorchRule;
  source: string;
  /** A Python whose `import torch` is this libtorch, when one is known (fixtures, tools). */
  python?: string;
}

/** The variable that names a libtorch explicitly. */
export const LIBTORCH_VARIABLE = 'TORCH_ENCODERS_LIBTORCH';
/** Where tools/setup.sh records the project venv's torch in a clone. */
export const RECORDED_RUNTIME_FILE = path.join('build', 'libtorch.json');
const DEBIAN_LIB_DIRS = ['/usr/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu'];

export const DISCOVERY_ORDER_TEXT = [
  `1. ${LIBTORCH_VARIABLE}: a libtorch folder (lib/libtorch.so inside), a folder holding libtorch.so, or a Python torch package folder`,
  `2. the project venv recorded by tools/setup.sh in a clone (${RECORDED_RUNTIME_FILE})`,
  '3. the torch of the active Python environment (VIRTUAL_ENV)',
  '4. the torch of `python3` on PATH',
  "5. Debian's libtorch (apt-get install libtorch-dev)",
].join('\n');

function notFound(message: string): TorchEncodersError {
  return new TorchEncodersError('E_NATIVE_LOAD', message);
}

/** Reads '2.13.0+cpu' from a version string; undefined when it is not one. */
export function parseTorchVersion(text: string): { version: string; variant: string } | undefined {
  const match = /^(\d+)\.(\d+)\.(\d+)(?:[a-z]+\d*)?(?:\+([\w.]+))?$/.exec(text.trim());
  if (!match) return undefined;
  return { version: `${match[1]}.${match[2]}.${match[3]}`, variant: match[4] ?? '' };
}

/** The binaries' folder name for a libtorch version: one per minor release. */
export function runtimeTag(version: string): string {
  const [major, minor] = version.split('.');
  return `libtorch-${major}.${minor}`;
}

function readIfExists(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

/** The version a libtorch folder declares, from the first source that has one. */
function versionOf(root: string, libDir: string): { version: string; variant: string } | undefined {
  // A pip wheel's torch/version.py.
  const versionPy = readIfExists(path.join(root, 'version.py'));
  const pyMatch = versionPy && /^__version__\s*=\s*['"]([^'"]+)['"]/m.exec(versionPy);
  if (pyMatch) return parseTorchVersion(pyMatch[1]!);
  // The official C++ zip's build-version.
  const buildVersion = readIfExists(path.join(root, 'build-version'));
  if (buildVersion) return parseTorchVersion(buildVersion);
  // Headers: include/torch/version.h.
  const header = readIfExists(path.join(root, 'include', 'torch', 'version.h'));
  const headerMatch = header && /#define TORCH_VERSION "([^"]+)"/.exec(header);
  if (headerMatch) return parseTorchVersion(headerMatch[1]!);
  // Debian: libtorch_cpu.so.1.13.0, the real file behind the soname links.
  for (const name of fs.readdirSync(libDir)) {
    const soMatch = /^libtorch_cpu\.so\.(\d+\.\d+\.\d+)$/.exec(name);
    if (soMatch) return parseTorchVersion(soMatch[1]!);
  }
  return undefined;
}

/** libtorch.so, else the newest versioned libtorch.so.X.Y (Debian's runtime package has no link). */
function libtorchLibrary(libDir: string): string | undefined {
  if (fs.existsSync(path.join(libDir, 'libtorch.so'))) return path.join(libDir, 'libtorch.so');
  let entries: string[];
  try {
    entries = fs.readdirSync(libDir);
  } catch {
    return undefined;
  }
  const versioned = entries.filter((name) => /^libtorch\.so\.\d+\.\d+$/.test(name)).sort();
  return versioned.length > 0 ? path.join(libDir, versioned[versioned.length - 1]!) : undefined;
}

/**
 * Describes the libtorch at `location` (a libtorch root, a lib folder or a Python torch package),
 * or returns a sentence saying why it is not one.
 */
export function inspectLibtorch(
  location: string,
  rule: LibtorchRule,
  source: string,
  python?: string,
): LibtorchRuntime | string {
  const resolved = path.resolve(location);
  if (!fs.existsSync(resolved)) return `${resolved} does not exist`;
  const candidates = [path.join(resolved, 'lib'), resolved];
  const libDir = candidates.find((dir) => libtorchLibrary(dir) !== undefined);
  if (libDir === undefined) {
    return `${resolved} holds no libtorch.so (looked in ${candidates.join(' and ')})`;
  }
  // Debian's headers (libtorch-dev) sit under /usr/include, not beside its lib folder.
  const root = DEBIAN_LIB_DIRS.includes(libDir)
    ? '/usr'
    : libDir === resolved
      ? path.dirname(resolved)
      : resolved;
  const parsed = versionOf(root, libDir);
  if (parsed === undefined) return `the version of the libtorch in ${libDir} could not be read`;
  const cmakeDir = [path.join(root, 'share', 'cmake', 'Torch'), path.join(libDir, 'cmake', 'Torch')].find(
    (dir) => fs.existsSync(path.join(dir, 'TorchConfig.cmake')),
  );
  return {
    ...parsed,
    tag: runtimeTag(parsed.version),
    libDir,
    library: libtorchLibrary(libDir)!,
    cmakeDir: cmakeDir ?? '',
    rule,
    source,
    ...(python !== undefined ? { python } : {}),
  };
}

/** The torch package folder of a virtual environment, found on disk without starting Python. */
function venvTorch(venv: string): string | undefined {
  const libRoot = path.join(venv, 'lib');
  let entries: string[];
  try {
    entries = fs.readdirSync(libRoot);
  } catch {
    return undefined;
  }
  for (const entry of entries
    .filter((name) => name.startsWith('python'))
    .sort()
    .reverse()) {
    const torch = path.join(libRoot, entry, 'site-packages', 'torch');
    if (fs.existsSync(path.join(torch, 'lib'))) return torch;
  }
  return undefined;
}

/**
 * The torch package folder of `python3` on PATH, or undefined. `importlib.util.find_spec` does not
 * import torch (14 ms against 1.3 s for `import torch`).
 */
function pathPythonTorch(env: NodeJS.ProcessEnv): string | undefined {
  const result = spawnSync(
    'python3',
    [
      '-c',
      "import importlib.util as u; s = u.find_spec('torch'); print(s.submodule_search_locations[0] if s and s.submodule_search_locations else '')",
    ],
    { encoding: 'utf8', timeout: 10_000, stdio: ['ignore', 'pipe', 'ignore'], env },
  );
  const location = result.status === 0 ? result.stdout.trim() : '';
  return location !== '' ? location : undefined;
}

function debianPython(version: string): string | undefined {
  const debianTorch = readIfExists('/usr/lib/python3/dist-packages/torch/version.py');
  const match = debianTorch && /^__version__\s*=\s*['"](\d+\.\d+)/m.exec(debianTorch);
  return match && version.startsWith(`${match[1]}.`) ? '/usr/bin/python3' : undefined;
}

/** The project venv recorded by tools/setup.sh, if this package folder has one. */
function recordedRuntime(packageRoot: string): { torch: string; python: string } | undefined {
  const text = readIfExists(path.join(packageRoot, RECORDED_RUNTIME_FILE));
  if (text === undefined) return undefined;
  const record = JSON.parse(text) as { torch?: unknown; python?: unknown };
  if (typeof record.torch !== 'string' || typeof record.python !== 'string') {
    throw notFound(
      `${path.join(packageRoot, RECORDED_RUNTIME_FILE)} should hold { torch, python } paths; run tools/setup.sh again`,
    );
  }
  return { torch: record.torch, python: record.python };
}

const cache = new Map<string, LibtorchRuntime>();

/**
 * Finds the libtorch this process should run on, trying the rules of DISCOVERY_ORDER_TEXT in
 * order. A rule that names a libtorch explicitly (the variable, the record) and does not lead to
 * one is an error rather than a reason to fall through to another libtorch. Throws
 * TorchEncodersError E_NATIVE_LOAD when no rule finds one.
 */
export function discoverLibtorch(packageRoot: string, env: NodeJS.ProcessEnv = process.env): LibtorchRuntime {
  const key = `${packageRoot}\0${env[LIBTORCH_VARIABLE] ?? ''}\0${env.VIRTUAL_ENV ?? ''}\0${env.PATH ?? ''}`;
  const cached = cache.get(key);
  if (cached !== undefined) return cached;
  const found = discoverUncached(packageRoot, env);
  cache.set(key, found);
  return found;
}

function discoverUncached(packageRoot: string, env: NodeJS.ProcessEnv): LibtorchRuntime {
  const explicit = env[LIBTORCH_VARIABLE];
  if (explicit !== undefined && explicit !== '') {
    const found = inspectLibtorch(explicit, 'TORCH_ENCODERS_LIBTORCH', `${LIBTORCH_VARIABLE}=${explicit}`);
    if (typeof found === 'string') throw notFound(`${LIBTORCH_VARIABLE}=${explicit}: ${found}.`);
    return { ...found, ...withPython(found) };
  }

  const recorded = recordedRuntime(packageRoot);
  if (recorded !== undefined) {
    const found = inspectLibtorch(
      recorded.torch,
      'recorded by tools/setup.sh',
      path.join(packageRoot, RECORDED_RUNTIME_FILE),
      recorded.python,
    );
    if (typeof found === 'string') {
      throw notFound(
        `tools/setup.sh recorded the project venv's torch (${path.join(packageRoot, RECORDED_RUNTIME_FILE)}), but ${found}. Run tools/setup.sh again, or name a libtorch with ${LIBTORCH_VARIABLE}.`,
      );
    }
    return found;
  }

  const venv = env.VIRTUAL_ENV;
  if (venv !== undefined && venv !== '') {
    const torch = venvTorch(venv);
    if (torch !== undefined) {
      const found = inspectLibtorch(
        torch,
        'VIRTUAL_ENV',
        `VIRTUAL_ENV=${venv}`,
        path.join(venv, 'bin', 'python'),
      );
      if (typeof found !== 'string') return found;
    }
  }

  const pathTorch = pathPythonTorch(env);
  if (pathTorch !== undefined) {
    const found = inspectLibtorch(pathTorch, 'python3 on PATH', `python3 on PATH: ${pathTorch}`);
    if (typeof found !== 'string') return { ...found, python: 'python3' };
  }

  for (const dir of DEBIAN_LIB_DIRS) {
    const found = inspectLibtorch(dir, 'Debian libtorch', dir);
    if (typeof found !== 'string') return { ...found, ...withPython(found) };
  }

  throw notFound(
    [
      'torch-encoders found no libtorch. It looks, in this order, for:',
      DISCOVERY_ORDER_TEXT,
      'Install one: `pip install torch==2.13.0` in your Python environment (then activate it, or set',
      `${LIBTORCH_VARIABLE} to its torch folder), or on Debian/Ubuntu \`apt-get install -y libtorch-dev libopenblas0-openmp\`.`,
    ].join('\n'),
  );
}

function withPython(found: LibtorchRuntime): { python?: string } {
  const python = debianPython(found.version);
  if (python !== undefined && found.libDir.startsWith('/usr/lib/')) return { python };
  if (path.basename(path.dirname(found.libDir)) === 'torch') {
    // A pip torch: its venv's python is three levels above site-packages/torch.
    const venvPython = path.resolve(found.libDir, '..', '..', '..', '..', '..', 'bin', 'python');
    if (fs.existsSync(venvPython)) return { python: venvPython };
  }
  return {};
}
