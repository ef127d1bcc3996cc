/**
 * The reliability tier (issue #11): teardown cycles, the soak, load/dispose cycles, fuzzing.
 * `npm run test:reliability` runs it, then the sanitizer stage (tools/sanitizers/run.sh).
 * @type {import('jest').Config}
 */
module.exports = {
  preset: 'ts-jest',
  testEnvironment: '<rootDir>/test/environment.js',
  roots: ['<rootDir>/test/reliability'],
  testMatch: ['**/*.test.ts'],
  globalSetup: '<rootDir>/test/global-setup.js',
  // Each file measures RSS or drives the cores flat out: one at a time, or they distort each other.
  maxWorkers: 1,
  // Files set their own limits per test; this is the fallback for anything that does not.
  testTimeout: 300_000,
};
