#!/usr/bin/env node
// Builds the addon from source against a libtorch, into build/<tag>/Release (tag: libtorch-X.Y),
// where lib/native.ts looks first. The libtorch is the one the run-time discovery picks
// (lib/libtorch-discovery.ts: TORCH_ENCODERS_LIBTORCH, the venv recorded by setup, VIRTUAL_ENV,
// python3 on PATH, Debian's), so that the binary built is the one that will be loaded.
//
//   node tools/build-native.js                    build for the libtorch discovery finds
//   node tools/build-native.js --libtorch PATH    build for that libtorch (same forms as the variable)
//   node tools/build-native.js --install          npm's install step: nothing when a binary for the
//                                                 libtorch found exists (a prebuild), a build otherwise
//   node tools/build-native.js --out DIR          build into DIR (binary in DIR/Release) instead of
//                                                 build/<tag>: a variant such as the sanitizer build
//                                                 (tools/sanitizers/run.sh) beside the real one
//   node tools/build-native.js ... -- ARGS         ARGS go to cmake-js as they are, e.g. for a CUDA libtorch
//                                                 whose toolkit lacks a library: --CDCUDA_nvrtc_LIBRARY=/path
//
// Exit status: 0 built (or nothing to do), 1 the build failed, 2 usage or no libtorch to build for.
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { parseArgs } = require('node:util');

const root = path.resolve(__dirname, '..');
let discovery;
let native;
try {
  discovery = require(path.join(root, 'dist/lib/libtorch-discovery.js'));
  native = require(path.join(root, 'dist/lib/native.js'));
} catch {
  console.error('build-native: dist/lib is missing; compile the TypeScript first (npm run build:ts)');
  process.exit(2);
}

const argv = process.argv.slice(2);
const cmakeJsExtra = argv.includes('--') ? argv.slice(argv.indexOf('--') + 1) : [];
let options;
try {
  ({ values: options } = parseArgs({
    args: argv.includes('--') ? argv.slice(0, argv.indexOf('--')) : argv,
    options: {
      libtorch: { type: 'string' },
      install: { type: 'boolean', default: false },
      out: { type: 'string' },
    },
  }));
} catch (error) {
  console.error(`build-native: ${error.message}`);
  process.exit(2);
}

const env = { ...process.env };
if (options.libtorch !== undefined) env[discovery.LIBTORCH_VARIABLE] = options.libtorch;

let runtime;
try {
  runtime = discovery.discoverLibtorch(root, env);
} catch (error) {
  if (options.install) {
    // Installing before torch is: the first use says what is missing, with the fixes.
    console.warn(`torch-encoders: no libtorch found yet, nothing built.\n${error.message}`);
    process.exit(0);
  }
  console.error(`build-native: ${error.message}`);
  process.exit(2);
}

const existing = native
  .binaryFolders(root, runtime.tag)
  .find((dir) => fs.existsSync(path.join(dir, native.ADDON_FILE)));
if (options.install && existing !== undefined) {
  console.log(`torch-encoders: using ${path.relative(root, existing)} for libtorch ${runtime.version}`);
  process.exit(0);
}
if (runtime.cmakeDir === '') {
  console.error(
    `build-native: the libtorch in ${runtime.libDir} has no TorchConfig.cmake (share/cmake/Torch), so nothing can be built against it.` +
      ' Debian: apt-get install -y libtorch-dev; pip: the torch wheel has it under torch/share/cmake/Torch.',
  );
  process.exit(2);
}

const out = options.out ?? path.join('build', runtime.tag);
console.log(
  `build-native: building for libtorch ${runtime.version} (${runtime.libDir}, ${runtime.rule}) into ${out}`,
);
const cmakeJs = require.resolve('cmake-js/bin/cmake-js', { paths: [root] });
const result = spawnSync(
  process.execPath,
  [
    cmakeJs,
    'compile',
    '--out',
    out,
    `--CDTORCH_ENCODERS_LIBTORCH_CMAKE_DIR=${runtime.cmakeDir}`,
    `--CDTORCH_ENCODERS_LIBTORCH_LIB_DIR=${runtime.libDir}`,
    `--CDTORCH_ENCODERS_LIBTORCH_SOURCE=${runtime.rule}: ${runtime.source}`,
    ...cmakeJsExtra,
  ],
  { cwd: root, stdio: 'inherit', env },
);
if (result.status !== 0) {
  console.error(`build-native: the build for libtorch ${runtime.version} failed (see above)`);
  process.exit(1);
}
