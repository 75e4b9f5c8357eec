/**
 * The Quick start must pass on a fresh machine: a test that needs a tool from outside npm (h5dump,
 * the zstd CLI, NumPy, moto, the AWS CLI) is skipped where the tool is missing, and the run ends
 * with a loud list naming each skipped test and the command that installs its tool; with
 * S3DLIO_REQUIRE_TOOLS=1 (CI, which installs the tools) the same test fails instead of skipping.
 * Checked by running a small fixture suite in a child jest on a PATH that holds only `node`.
 */
import { spawnSync } from 'child_process';
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import * as path from 'path';

import { REPO_ROOT } from '../helpers/child';

function runFixture(env: Record<string, string>): { status: number | null; output: string } {
  const scratch = mkdtempSync(path.join(tmpdir(), 's3dlio-tools-'));
  const skipLog = path.join(scratch, 'skipped.tsv');
  writeFileSync(skipLog, '');
  // A PATH that holds only `node`: h5dump, zstd and python3 cannot be found, whatever is installed.
  const bin = path.join(scratch, 'bin');
  mkdirSync(bin);
  symlinkSync(process.execPath, path.join(bin, 'node'));
  const config = {
    rootDir: REPO_ROOT,
    roots: ['<rootDir>/test/safety/fixtures'],
    testMatch: ['**/needs-tools.fixture.ts'],
    transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.test.json' }] },
    reporters: ['default', '<rootDir>/test/summary-reporter.js'],
  };
  const result = spawnSync(
    process.execPath,
    [path.join(REPO_ROOT, 'node_modules', 'jest', 'bin', 'jest.js'), '--config', JSON.stringify(config), '--ci'],
    {
      cwd: REPO_ROOT,
      encoding: 'utf8',
      env: {
        HOME: process.env.HOME ?? '/root',
        PATH: bin,
        S3DLIO_TEST_SKIP_LOG: skipLog,
        ...env,
      },
      timeout: 120_000,
    },
  );
  return { status: result.status, output: `${result.stdout}\n${result.stderr}` };
}

test('a missing tool skips its tests, and the run ends listing them with the install commands', () => {
  const { status, output } = runFixture({});
  expect({ status, output }).toMatchObject({ status: 0 });
  expect(output).toMatch(/SKIPPED: these tests need tools that are not installed/);
  expect(output).toContain('h5dump (install: apt-get install -y hdf5-tools)');
  expect(output).toContain('zstd (install: apt-get install -y zstd)');
  expect(output).toContain('numpy (install: pip install numpy)');
  expect(output).toContain('a check that reads a file with h5dump');
  expect(output).toMatch(/^1 passed, 0 failed, 3 skipped$/m);
});

test('with S3DLIO_REQUIRE_TOOLS=1 (CI) a missing tool fails the test, naming the install command', () => {
  const { status, output } = runFixture({ S3DLIO_REQUIRE_TOOLS: '1' });
  expect(status).not.toBe(0);
  expect(output).not.toMatch(/SKIPPED/);
  expect(output).toContain('h5dump is not installed: install it with `apt-get install -y hdf5-tools`');
  expect(output).toMatch(/^1 passed, 3 failed, 0 skipped$/m);
});
