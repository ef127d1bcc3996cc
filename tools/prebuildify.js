#!/usr/bin/env node
// Builds the addon for each libtorch runtime the package ships a binary for, and places each in a
// folder of its own, prebuilds/<platform>-<arch>/<tag>/ (tag: libtorch-X.Y), where lib/native.ts
// loads it by path after finding the libtorch. node-gyp-build cannot pick between two binaries of
// one platform (it ignores unknown name tags), and prebuildify cannot drive cmake-js, hence this.
//
//   node tools/prebuildify.js [--libtorch PATH ...]
//
// Default runtimes: the one discovery finds (the project venv's torch 2.13 in a set-up clone) and
// Debian's libtorch when it is installed.
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { parseArgs } = require('node:util');

const root = path.resolve(__dirname, '..');
const { discoverLibtorch, inspectLibtorch } = require(path.join(root, 'dist/lib/libtorch-discovery.js'));
const { ADDON_FILE, LOADER_FILE, MKL_OVERRIDE_FILE } = require(path.join(root, 'dist/lib/native.js'));

const { values } = parseArgs({ options: { libtorch: { type: 'string', multiple: true } } });
const DEBIAN = '/usr/lib/x86_64-linux-gnu';
const locations = values.libtorch ?? [
  discoverLibtorch(root).libDir,
  ...(typeof inspectLibtorch(DEBIAN, 'Debian libtorch', DEBIAN) === 'string' ? [] : [DEBIAN]),
];

const platformDir = path.join(root, 'prebuilds', `${process.platform}-${process.arch}`);
fs.rmSync(platformDir, { recursive: true, force: true });
const seen = new Set();
for (const location of locations) {
  const runtime = inspectLibtorch(location, 'TORCH_ENCODERS_LIBTORCH', location);
  if (typeof runtime === 'string') throw new Error(`prebuildify: ${runtime}`);
  if (seen.has(runtime.tag)) continue;
  seen.add(runtime.tag);
  execFileSync(process.execPath, [path.join(root, 'tools/build-native.js'), '--libtorch', location], {
    cwd: root,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const target = path.join(platformDir, runtime.tag);
  fs.mkdirSync(target, { recursive: true });
  for (const file of [ADDON_FILE, LOADER_FILE, MKL_OVERRIDE_FILE]) {
    fs.copyFileSync(path.join(root, 'build', runtime.tag, 'Release', file), path.join(target, file));
    execFileSync('strip', ['--strip-unneeded', path.join(target, file)]);
  }
  const size = fs
    .readdirSync(target)
    .reduce((sum, file) => sum + fs.statSync(path.join(target, file)).size, 0);
  console.log(
    `prebuilt: ${path.relative(root, target)} for libtorch ${runtime.version} (${(size / 1e6).toFixed(1)} MB)`,
  );
}
