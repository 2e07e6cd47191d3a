// Jest projects mirror the test layers of STYLE.md: unit specs beside the code
// use the in-memory runtime driver; integration tests drive the real app over a
// real SQLite file in a temporary directory.
/** @type {import('ts-jest').TsJestTransformerOptions} */
const tsJest = { tsconfig: '<rootDir>/tsconfig.json' };

const base = {
  testEnvironment: 'node',
  transform: { '^.+\\.ts$': ['ts-jest', tsJest] },
  moduleFileExtensions: ['ts', 'js', 'json'],
};

/** @type {import('jest').Config} */
module.exports = {
  reporters: ['default', '<rootDir>/server/test/summary-reporter.js'],
  projects: [
    { ...base, displayName: 'unit', testMatch: ['<rootDir>/server/src/**/*.spec.ts'] },
    { ...base, displayName: 'integration', testMatch: ['<rootDir>/server/test/integration/**/*.test.ts'] },
    // Real Docker daemon and the real runtime image: slow, so run with --runInBand (npm run test:docker).
    {
      ...base,
      displayName: 'docker',
      testMatch: ['<rootDir>/server/test/docker/**/*.test.ts'],
      // Also before: a run that was killed never reached its teardown.
      globalSetup: '<rootDir>/server/test/docker/global-teardown.ts',
      globalTeardown: '<rootDir>/server/test/docker/global-teardown.ts',
    },
  ],
};
