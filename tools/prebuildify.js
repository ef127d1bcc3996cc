#!/usr/bin/env node
// Builds the addon with cmake-js and places it where node-gyp-build looks for a prebuilt binary
// (prebuilds/<platform>-<arch>/), so that `npm pack` ships it and installs need no compiler.
// prebuildify itself cannot drive cmake-js, hence this script.
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const run = (command, args) => execFileSync(command, args, { cwd: root, stdio: 'inherit' });

run(process.execPath, [require.resolve('cmake-js/bin/cmake-js', { paths: [root] }), 'rebuild']);

const built = path.join(root, 'build', 'Release', 'torch_encoders.node');
const targetDir = path.join(root, 'prebuilds', `${process.platform}-${process.arch}`);
// node-gyp-build reads the tags from the name: a Node-API binary for glibc.
const target = path.join(targetDir, 'torch-encoders.napi.glibc.node');
fs.rmSync(targetDir, { recursive: true, force: true });
fs.mkdirSync(targetDir, { recursive: true });
fs.copyFileSync(built, target);
run('strip', ['--strip-unneeded', target]);
console.log(
  `prebuilt binary: ${path.relative(root, target)} (${(fs.statSync(target).size / 1e6).toFixed(1)} MB)`,
);
