// One jest run for every level: unit specs sit next to the code (*.spec.ts), integration and
// end-to-end suites live in test/. Real Redis and Postgres come from test/global-setup.ts.
/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  rootDir: __dirname,
  testMatch: ['<rootDir>/{apps,libs,scripts}/**/*.spec.ts', '<rootDir>/test/**/*.test.ts'],
  transform: { '^.+\\.(t|j|mj|cj)s$': '<rootDir>/test/jest-transform.js' },
  transformIgnorePatterns: [],
  moduleNameMapper: {
    // generated Prisma client imports its siblings as './x.js'
    '^(\\.{1,2}/.*)\\.js$': '$1',
    '^@herald/(core|db|queue|config|channels|sandbox|dev-services|observability|client)$': '<rootDir>/libs/$1/src',
  },
  globalSetup: '<rootDir>/test/global-setup.ts',
  globalTeardown: '<rootDir>/test/global-teardown.ts',
  setupFiles: ['reflect-metadata'],
  testTimeout: 60000,
  maxWorkers: 2,
};
