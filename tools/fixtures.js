#!/usr/bin/env node
// Makes the fixture models and their goldens for the libtorch runtime this process would run on
// (lib/libtorch-discovery.ts), with that runtime's own Python torch, into
// test/fixtures/generated/<tag>/ — when they are missing or older than the tools that make them.
// Goldens come from Python torch running the saved TorchScript, never from this library.
//
//   node tools/fixtures.js            (npm run fixtures; jest's global setup calls ensureFixtures)
//   TORCH_ENCODERS_LIBTORCH=/usr/lib/x86_64-linux-gnu node tools/fixtures.js   (Debian's 1.13)
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const SOURCES = ['tools/make_fixtures.py', 'tools/modeling.py'];

/** The fixture folder of the runtime discovery picks, and the Python that makes them. */
function fixtureTarget(env = process.env) {
  const { discoverLibtorch } = require(path.join(root, 'dist/lib/libtorch-discovery.js'));
  const runtime = discoverLibtorch(root, env);
  if (runtime.python === undefined) {
    throw new Error(
      `fixtures: no Python torch is known for libtorch ${runtime.version} (${runtime.libDir}, ${runtime.rule}); ` +
        'the goldens must come from Python torch of the same version',
    );
  }
  return { runtime, dir: path.join(root, 'test/fixtures/generated', runtime.tag) };
}

/** Generates the fixtures of the current runtime unless they are up to date; returns their folder. */
function ensureFixtures(env = process.env) {
  const { runtime, dir } = fixtureTarget(env);
  const manifest = path.join(dir, 'manifest.json');
  const newestSource = Math.max(...SOURCES.map((file) => fs.statSync(path.join(root, file)).mtimeMs));
  if (fs.existsSync(manifest) && fs.statSync(manifest).mtimeMs >= newestSource) return dir;
  // Generate beside the fixtures and swap them in, so a second run at the same time (another jest,
  // a benchmark) never reads half-written model files.
  const staging = `${dir}.${process.pid}.tmp`;
  fs.rmSync(staging, { recursive: true, force: true });
  execFileSync(runtime.python, ['tools/make_fixtures.py', '--out', staging], {
    cwd: root,
    stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...env, PYTHONWARNINGS: 'ignore' },
  });
  fs.rmSync(dir, { recursive: true, force: true });
  try {
    fs.renameSync(staging, dir);
  } catch (error) {
    // Another run swapped its identical fixtures in first.
    fs.rmSync(staging, { recursive: true, force: true });
    if (!fs.existsSync(manifest)) throw error;
  }
  return dir;
}

module.exports = { ensureFixtures, fixtureTarget };

if (require.main === module) {
  console.log(`fixtures: ${path.relative(root, ensureFixtures())}`);
}
