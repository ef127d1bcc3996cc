/**
 * The fast tier, `npm run test:fast`: the edit loop. Unit tests, the native binding and the task
 * pipelines on the generated fixtures; no Python, no benchmark, no test that spawns a CLI per case.
 * It needs the built addon and fixtures that already exist (`npm run fixtures` or `npm test` makes
 * them); it does not make them, since that runs Python torch. `npm test` runs every file, this tier
 * included; `npm run test:reliability` runs test/reliability.
 *
 * Measured on 2026-12-01 on a quiet machine (load average 1.7): 29 files, 517 tests, 52 s wall
 * (66 s before token-classification.test.ts, which now spawns its Hugging Face reference in Python,
 * was left out); at load average 9-15 it took 134 s.
 * Left out, with each file's time in one run of all candidates at load average 14-18:
 *   spawn Python        test/native/forward-arguments, test/native/worker-teardown,
 *                       test/tasks/cancellation, test/tasks/text-classification and
 *                       token-classification (their Python references), test/tools/*,
 *                       test/bench/* (prepares models in Python)
 *   slow, not Python    test/cli/cli.test.ts (104 s: a CLI process per case),
 *                       test/reference/* (parity 37 s, onnx-export 33 s: transformers.js)
 * A new file here that spawns Python belongs in testPathIgnorePatterns below.
 * @type {import('jest').Config}
 */
const fs = require('node:fs');
const path = require('node:path');
const base = require('./jest.config.js');

// The fixtures tools/fixtures.js would make for this runtime, and the files they are made from:
// missing or stale fixtures stop the run with the command that makes them.
const FIXTURE_SOURCES = ['tools/make_fixtures.py', 'tools/modeling.py'];
function checkFixtures() {
  if (!fs.existsSync(path.join(__dirname, 'dist/lib/libtorch-discovery.js'))) {
    throw new Error('test:fast: dist/lib is missing; run `npm run build:ts` (or `npm test`) first');
  }
  const { dir } = require('./tools/fixtures.js').fixtureTarget();
  const manifest = path.join(dir, 'manifest.json');
  const newest = Math.max(...FIXTURE_SOURCES.map((file) => fs.statSync(path.join(__dirname, file)).mtimeMs));
  if (!fs.existsSync(manifest) || fs.statSync(manifest).mtimeMs < newest) {
    throw new Error(
      `test:fast: the fixtures in ${path.relative(__dirname, dir)} are missing or older than ` +
        `${FIXTURE_SOURCES.join(' / ')}; make them with \`npm run fixtures\` (Python torch), then rerun`,
    );
  }
}
checkFixtures();
// test/demo runs the demo models, which setup builds (tools/build_demo_models.py).
if (!fs.existsSync(path.join(__dirname, 'models/sentiment/model.pt'))) {
  throw new Error('test:fast: the demo models are not built; run `npm run build:demo-models`, then rerun');
}

module.exports = {
  ...base,
  // No globalSetup: the full tier's compiles dist and makes fixtures with Python when stale.
  globalSetup: undefined,
  testMatch: [
    '<rootDir>/test/unit/**/*.test.ts',
    '<rootDir>/test/native/**/*.test.ts',
    '<rootDir>/test/tasks/**/*.test.ts',
    '<rootDir>/test/demo/**/*.test.ts',
    '<rootDir>/test/cli/cli-inputs.test.ts',
  ],
  testPathIgnorePatterns: [
    ...base.testPathIgnorePatterns,
    '<rootDir>/test/native/forward-arguments.test.ts',
    '<rootDir>/test/native/worker-teardown.test.ts',
    '<rootDir>/test/tasks/cancellation.test.ts',
    '<rootDir>/test/tasks/text-classification.test.ts',
    '<rootDir>/test/tasks/token-classification.test.ts',
    '<rootDir>/test/tasks/rerank.test.ts',
  ],
};
