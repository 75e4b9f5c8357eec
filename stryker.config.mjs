// Mutation testing with StrykerJS: `npm run test:mutation` (see README, "Mutation testing").
// Run through scripts/mutation/run.js, which starts the test servers once for every mutant run.

import scopes from './scripts/mutation/scopes.cjs';

export const { SCORED, REPORTED } = scopes;

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  packageManager: 'npm',
  testRunner: 'jest',
  jest: {
    configFile: 'jest.config.js',
    config: {
      // Left out: suites that test the package or the native boundary from child processes and
      // take minutes in band (per-test coverage cannot see a child's coverage, so they would
      // only lengthen every run): packaging (npm pack + install), the missing-tools fixture (a
      // child jest), native memory under GC (6 min in band), zero-copy RSS, reads paused by the
      // native test hook and addon memory release (each in a child of its own), and the tests of
      // this mutation tooling (a child jest over fixtures; they cover no mutant).
      testPathIgnorePatterns: [
        '/node_modules/',
        '/test/package/',
        '/test/safety/70\\.',
        '/test/safety/10\\.native-memory',
        '/test/local/99\\.zero-copy-rss',
        '/test/safety/14\\.',
        '/test/safety/15\\.',
        '/test/tooling/',
      ],
      // Relative: Stryker resolves it from the sandbox (and wraps it with its own).
      testEnvironment: './scripts/mutation/test-file-map-environment.cjs',
      filter: '<rootDir>/scripts/mutation/test-file-filter.cjs',
      // The most focused covering file first; once a test kills the mutant, the environment skips
      // the file's later tests and the runner does not load the files after it.
      testSequencer: '<rootDir>/scripts/mutation/test-file-sequencer.cjs',
      runner: '<rootDir>/scripts/mutation/test-file-runner.cjs',
    },
    // Every test file imports lib/ as a whole, so "related tests" would be all of them; the
    // environment and filter below load only the files whose tests cover the mutant instead.
    enableFindRelatedTests: false,
  },
  // Our checker types the mutant's own file (scripts/mutation/file-type-checker.mjs says why);
  // S3DLIO_MUTATION_CHECKER=stryker selects @stryker-mutator/typescript-checker instead.
  checkers: [process.env.S3DLIO_MUTATION_CHECKER === 'stryker' ? 'typescript' : 'typescript-file'],
  tsconfigFile: 'tsconfig.json',
  typescriptChecker: { prioritizePerformanceOverAccuracy: true },
  // The CLI tests run dist/ in child processes; the instrumented build there sees the active
  // mutant through the environment.
  buildCommand: 'node scripts/mutation/build-sandbox.js',
  mutate: [...SCORED, ...REPORTED],
  plugins: [
    '@stryker-mutator/*',
    './scripts/mutation/error-message-ignorer.mjs',
    './scripts/mutation/file-type-checker.mjs',
    './scripts/mutation/live-reporter.mjs',
  ],
  ignorers: ['error-messages'],
  ignoreStatic: true,
  coverageAnalysis: 'perTest',
  incremental: true,
  incrementalFile: 'reports/mutation/incremental.json',
  concurrency: 3,
  timeoutMS: 5000,
  timeoutFactor: 2,
  dryRunTimeoutMinutes: 30,
  ignorePatterns: ['dist', 'reports', 'bench/results', 'coverage', '*.tgz'],
  reporters: ['clear-text', 'progress', 'html', 'json', 'live'],
  htmlReporter: { fileName: 'reports/mutation/index.html' },
  jsonReporter: { fileName: 'reports/mutation/report.json' },
  thresholds: { high: 90, low: 80, break: null },
  tempDirName: '.stryker-tmp',
};
