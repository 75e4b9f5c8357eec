/** @type {import('jest').Config} */
const project = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  transform: {
    '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.test.json' }],
  },
};

module.exports = {
  projects: [
    { ...project, displayName: 'all', testMatch: ['**/*.test.ts'] },
    {
      // s3:// and gs:// bodies travel on the library's own HTTP path by default; these suites
      // run again with the SDKs' transport, the other choice of the `transport` option.
      ...project,
      displayName: 'sdk transport',
      testMatch: [
        '<rootDir>/test/contract/**/*.test.ts',
        '<rootDir>/test/cloud/**/*.test.ts',
        '<rootDir>/test/integrity/20.*.test.ts',
        '<rootDir>/test/safety/{11,51,65}.*.test.ts',
        '<rootDir>/test/streams/{20,30}.*.test.ts',
      ],
      // 80 is about the lean transport itself.
      testPathIgnorePatterns: ['/80\\.lean-transport\\.'],
      setupFiles: ['<rootDir>/test/helpers/sdk-transport.js'],
    },
  ],
  testTimeout: 60000,
  reporters: ['default', '<rootDir>/test/summary-reporter.js'],
  globalSetup: '<rootDir>/test/global-setup.ts',
  globalTeardown: '<rootDir>/test/global-teardown.ts',
  // Native jobs and child processes: keep suites in separate workers, at most 2 (2 cores).
  maxWorkers: 2,
};
