// Generates the fixture models and their Python goldens when they are missing or older than the
// tools that make them. Goldens come from Python torch on the saved TorchScript, never from us.
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

module.exports = async function globalSetup() {
  const root = path.resolve(__dirname, '..');
  const manifest = path.join(root, 'test/fixtures/generated/manifest.json');
  const sources = ['tools/make_fixtures.py', 'tools/modeling.py'].map((file) => path.join(root, file));
  const newestSource = Math.max(...sources.map((file) => fs.statSync(file).mtimeMs));
  if (fs.existsSync(manifest) && fs.statSync(manifest).mtimeMs >= newestSource) return;
  execFileSync('/usr/bin/python3', ['tools/make_fixtures.py', '--out', 'test/fixtures/generated'], {
    cwd: root,
    stdio: 'inherit',
  });
};
