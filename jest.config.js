/** @type {import('jest').Config} */
module.exports = {
  preset: 'ts-jest',
  testEnvironment: '<rootDir>/test/environment.js',
  roots: ['<rootDir>/test'],
  globalSetup: '<rootDir>/test/global-setup.js',
  // Native tests share two cores; running files in parallel only adds noise to the timing checks.
  maxWorkers: 1,
  testTimeout: 60000,
};
