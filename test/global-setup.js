// Compiles the TypeScript and generates the fixture models of the runtime under test, with their
// Python goldens, when they are missing or stale (tools/fixtures.js).
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
  // After the TypeScript build: the fixtures follow the runtime discovery in dist/lib.
  require('../tools/fixtures.js').ensureFixtures();
};
