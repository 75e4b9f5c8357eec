/**
 * What `npm run test:mutation -- …` hands to Stryker (scripts/mutation/run.js): `--scope` and
 * `--sample` become a `--mutate` list; everything else passes through untouched.
 */
import * as path from 'path';

import { REPO_ROOT } from '../helpers/child';

const { strykerArguments } = require(path.join(REPO_ROOT, 'scripts/mutation/run.js')) as {
  strykerArguments(args: string[]): string[];
};
const { isScored } = require(path.join(REPO_ROOT, 'scripts/mutation/scopes.cjs')) as {
  isScored(file: string): boolean;
};

/** The `--mutate` value of a Stryker argument list, split into its specs. */
function mutated(args: string[]): string[] {
  const at = args.indexOf('--mutate');
  expect(at).not.toBe(-1);
  return args[at + 1].split(',');
}

beforeEach(() => {
  jest.spyOn(console, 'log').mockImplementation(() => undefined);
});

afterEach(() => {
  jest.restoreAllMocks();
});

test('arguments without --scope or --sample pass through unchanged', () => {
  expect(strykerArguments(['--force', '--mutate', 'lib/uri.ts'])).toEqual(['--force', '--mutate', 'lib/uri.ts']);
});

test('--scope names the globs of its folders, and the other arguments follow', () => {
  const scored = strykerArguments(['--scope', 'scored', '--force']);
  expect(mutated(scored)).toContain('lib/formats/**/*.ts');
  expect(mutated(scored)).toContain('lib/uri.ts');
  expect(mutated(scored)).toContain('lib/backends/cloud/retry.ts');
  expect(mutated(scored)).not.toContain('lib/backends/**/*.ts');
  expect(scored.slice(2)).toEqual(['--force']);
  // The cloud plumbing under lib/backends is scored, so the reported scope leaves it out.
  const backends = mutated(strykerArguments(['--scope', 'backends']));
  expect(backends[0]).toBe('lib/backends/**/*.ts');
  expect(backends).toContain('!lib/backends/cloud/retry.ts');
  expect(backends.filter((glob) => !glob.startsWith('!'))).toEqual(['lib/backends/**/*.ts']);
});

test('--sample draws lines of the scored scope, or of the scope --scope names, the same for the same seed', () => {
  const scored = mutated(strykerArguments(['--sample', '0.1', '--seed', '4']));
  expect(scored.length).toBeGreaterThan(0);
  expect(scored.every((spec) => /^lib\/.*\.ts:(\d+)-\1$/.test(spec) && isScored(spec.split(':')[0]))).toBe(true);

  const backends = mutated(strykerArguments(['--scope', 'backends', '--sample', '0.1', '--seed', '4', '--force']));
  expect(backends.length).toBeGreaterThan(0);
  expect(backends.every((spec) => /^lib\/backends\/.*\.ts:(\d+)-\1$/.test(spec))).toBe(true);
  expect(backends.some((spec) => isScored(spec.split(':')[0]))).toBe(false);
  expect(mutated(strykerArguments(['--scope', 'backends', '--sample', '0.1', '--seed', '4']))).toEqual(backends);
  expect(mutated(strykerArguments(['--scope', 'backends', '--sample', '0.1', '--seed', '5']))).not.toEqual(backends);
  // A larger fraction draws more lines.
  expect(mutated(strykerArguments(['--scope', 'backends', '--sample', '0.5', '--seed', '4'])).length).toBeGreaterThan(
    backends.length,
  );
});

test.each([
  [['--scope', 'everything'], /--scope takes scored or backends, got "everything"/],
  [['--seed', '3'], /--seed goes with --sample/],
  [['--force', '--sample'], /--sample takes a value/],
  [['--sample', '0'], /--sample takes a fraction in \(0, 1\]/],
  [['--sample', '1.5'], /--sample takes a fraction in \(0, 1\]/],
])('%j is refused: %s', (args, message) => {
  expect(() => strykerArguments(args)).toThrow(message);
});
