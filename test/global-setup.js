// Generates the fixture models and their Python goldens when they are missing or older than the
// tools that make them. Goldens come from Python torch on the saved TorchScript, never from us.
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

/** Newest modification time of the files under `dir` whose names end with `suffix`. */
function newestUnder(dir, suffix) {
  let newest = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const file = path.join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestUnder(file, suffix));
    else if (entry.name.endsWith(suffix)) newest = Math.max(newest, fs.statSync(file).mtimeMs);
  }
  return newest;
}

// The CLI tests spawn the compiled CLI (dist/lib/cli.js): compile the TypeScript when dist is
// missing or older than any of its sources, so `npm test` works on a fresh clone.
function buildTypeScript(root) {
  const built = path.join(root, 'dist/lib/cli.js');
  const sources = Math.max(
    newestUnder(path.join(root, 'lib'), '.ts'),
    ...['binding.d.ts', 'tsconfig.json', 'tsconfig.build.json'].map(
      (file) => fs.statSync(path.join(root, file)).mtimeMs,
    ),
  );
  if (fs.existsSync(built) && fs.statSync(built).mtimeMs >= sources) return;
  const tsc = path.join(root, 'node_modules/typescript/bin/tsc');
  execFileSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' });
}

module.exports = async function globalSetup() {
  const root = path.resolve(__dirname, '..');
  buildTypeScript(root);
  const manifest = path.join(root, 'test/fixtures/generated/manifest.json');
  const sources = ['tools/make_fixtures.py', 'tools/modeling.py'].map((file) => path.join(root, file));
  const newestSource = Math.max(...sources.map((file) => fs.statSync(file).mtimeMs));
  if (fs.existsSync(manifest) && fs.statSync(manifest).mtimeMs >= newestSource) return;
  // Generate beside the fixtures and swap them in, so a second run at the same time (another jest,
  // a benchmark) never reads half-written model files.
  const target = path.join(root, 'test/fixtures/generated');
  const staging = `${target}.${process.pid}.tmp`;
  fs.rmSync(staging, { recursive: true, force: true });
  execFileSync('/usr/bin/python3', ['tools/make_fixtures.py', '--out', staging], {
    cwd: root,
    stdio: 'inherit',
  });
  fs.rmSync(target, { recursive: true, force: true });
  try {
    fs.renameSync(staging, target);
  } catch (error) {
    // Another run swapped its identical fixtures in first.
    fs.rmSync(staging, { recursive: true, force: true });
    if (!fs.existsSync(manifest)) throw error;
  }
};
