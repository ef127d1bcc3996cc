/** @type {import('jest').Config} */
module.exports = {
  preset: 'ts-jest',
  testEnvironment: '<rootDir>/test/environment.js',
  roots: ['<rootDir>/test'],
  // The reliability tier (teardown cycles, soak, fuzzing) runs on its own: npm run test:reliability.
  testPathIgnorePatterns: ['/node_modules/', '<rootDir>/test/reliability/'],
  globalSetup: '<rootDir>/test/global-setup.js',
  // Native tests share two cores; running files in parallel only adds noise to the timing checks.
  maxWorkers: 1,
  testTimeout: 60000,
};
