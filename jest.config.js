/** @type {import('jest').Config} */
module.exports = {
  preset: 'ts-jest',
  testEnvironment: '<rootDir>/test/environment.js',
  roots: ['<rootDir>/test'],
  // The reliability tier (teardown cycles, soak, fuzzing) runs on its own: npm run test:reliability.
  testPathIgnorePatterns: ['/node_modules/', '<rootDir>/test/reliability/'],
  globalSetup: '<rootDir>/test/global-setup.js',
  // The native tests use both cores each: files run one at a time, or they only slow each other down.
  maxWorkers: 1,
  testTimeout: 60000,
};
