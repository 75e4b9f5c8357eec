/**
 * The mutation score is only as honest as the jest plumbing of a mutant run
 * (scripts/mutation/): each mutant loads only the files covering it, most focused first; once a
 * test catches it, no later test or file runs; a survivor gets a time budget, after which no
 * further file is loaded. Checked in a child jest over three fixture files, as Stryker's runner
 * drives jest: in band, with the active mutant in the environment. A test or hook that hangs
 * fails once it has run far longer than its file took in the dry run.
 */
import { spawnSync } from 'child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import * as path from 'path';

import { REPO_ROOT } from '../helpers/child';

const FIXTURES = path.join(REPO_ROOT, 'test', 'tooling', 'fixtures');
const script = (name: string): string => path.join(REPO_ROOT, 'scripts', 'mutation', name);

interface Run {
  status: number | null;
  output: string;
  /** What the fixtures recorded: files loaded and tests run, in order. */
  log: string[];
  /** The runner's timing records (S3DLIO_MUTATION_TIMING). */
  timing: Array<{ mutant: string; killed: boolean; budgetCut: boolean; ran: string[]; skipped: number }>;
}

const fixture = (name: string): string => path.join(FIXTURES, `${name}.fixture.js`);

/** A file's line in the dry run's map: the mutants its tests cover, and how narrow its narrowest test covering each is. */
interface MapRecord {
  file: string;
  ms: number;
  mutants: string[];
  widths?: number[];
}

/** The dry run's map of the fixtures, as an older map without widths: each file ranks by its breadth. */
const RECORDS: MapRecord[] = [
  { file: 'second', ms: 1, mutants: ['7', '8'] },
  { file: 'other', ms: 1, mutants: ['8'] },
  { file: 'first', ms: 1, mutants: ['7'] },
];

/**
 * Runs the fixtures as a mutant run of mutant 7 (or a dry run when `mutant` is undefined). The
 * dry run's record (RECORDS unless given) says `first` covers only mutant 7 and `second` covers 7
 * and 8, so `first` is the more focused; `other` covers only mutant 8.
 */
function run(mutant: string | undefined, env: Record<string, string> = {}, records = RECORDS): Run {
  const scratch = mkdtempSync(path.join(tmpdir(), 's3dlio-mutation-runner-'));
  writeFileSync(
    path.join(scratch, '.stryker-test-files.jsonl'),
    records.map((record) => JSON.stringify({ ...record, file: fixture(record.file) })).join('\n'),
  );
  const log = path.join(scratch, 'log.txt');
  const timing = path.join(scratch, 'timing.jsonl');
  writeFileSync(log, '');
  writeFileSync(timing, '');
  const config = {
    rootDir: REPO_ROOT,
    roots: [FIXTURES],
    testMatch: ['**/*.fixture.js'],
    testEnvironment: script('test-file-map-environment.cjs'),
    filter: script('test-file-filter.cjs'),
    testSequencer: script('test-file-sequencer.cjs'),
    runner: script('test-file-runner.cjs'),
  };
  // The child runs only the mutant given here (this suite may itself run under Stryker).
  const inherited: NodeJS.ProcessEnv = { ...process.env };
  delete inherited.__STRYKER_ACTIVE_MUTANT__;
  const result = spawnSync(
    process.execPath,
    [
      path.join(REPO_ROOT, 'node_modules', 'jest', 'bin', 'jest.js'),
      '--config',
      JSON.stringify(config),
      '--runInBand',
      '--ci',
    ],
    {
      cwd: scratch,
      encoding: 'utf8',
      env: {
        ...inherited,
        FIXTURE_LOG: log,
        S3DLIO_MUTATION_TIMING: timing,
        ...(mutant === undefined ? {} : { __STRYKER_ACTIVE_MUTANT__: mutant }),
        ...env,
      },
      timeout: 120_000,
    },
  );
  return {
    status: result.status,
    output: `${result.stdout}\n${result.stderr}`,
    log: readFileSync(log, 'utf8').split('\n').filter(Boolean),
    timing: readFileSync(timing, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as Run['timing'][number]),
  };
}

test('the dry run loads every file and runs every test', () => {
  const { status, log } = run(undefined);
  expect(status).toBe(0);
  expect([...log].sort()).toEqual(
    [
      'first loaded',
      'first test 1 ran',
      'first test 2 ran',
      'second loaded',
      'second test ran',
      'other loaded',
      'other test ran',
    ].sort(),
  );
});

test('a mutant run loads only the covering files, the most focused first', () => {
  const { status, log, timing } = run('7');
  expect(status).toBe(0);
  expect(log).toEqual(['first loaded', 'first test 1 ran', 'first test 2 ran', 'second loaded', 'second test ran']);
  expect(timing).toMatchObject([{ mutant: '7', killed: false, budgetCut: false, skipped: 0 }]);
  expect(timing[0].ran).toEqual(['test/tooling/fixtures/first.fixture.js', 'test/tooling/fixtures/second.fixture.js']);
});

test('a file whose narrowest test covering the mutant covers fewer mutants runs first, however many the file covers', () => {
  // `second` holds a unit test of mutant 7 (it covers only that one); `first`'s test covering 7 drives the whole library.
  const { log } = run('7', {}, [
    { file: 'second', ms: 1, mutants: ['7', '8'], widths: [1, 2] },
    { file: 'other', ms: 1, mutants: ['8'], widths: [2] },
    { file: 'first', ms: 1, mutants: ['7'], widths: [40] },
  ]);
  expect(log).toEqual(['second loaded', 'second test ran', 'first loaded', 'first test 1 ran', 'first test 2 ran']);
});

test('at most S3DLIO_MUTATION_MAX_FILES covering files, the most focused', () => {
  expect(run('7', { S3DLIO_MUTATION_MAX_FILES: '1' }).log).toEqual([
    'first loaded',
    'first test 1 ran',
    'first test 2 ran',
  ]);
});

test('once a test catches the mutant, no later test of its file runs and no later file loads', () => {
  const { status, output, log, timing } = run('7', { FIXTURE_FIRST_FAILS: '1' });
  expect(status).toBe(1); // the caught mutant: a failing test is what Stryker counts as killed
  expect(log).toEqual(['first loaded', 'first test 1 ran']);
  expect(output).toMatch(/Tests: +1 failed, 2 skipped, 3 total/);
  expect(timing).toMatchObject([{ mutant: '7', killed: true, budgetCut: false, skipped: 1 }]);
});

test('a mutant that has had its time budget starts no further test and loads no further file, and the record says the budget cut it', () => {
  const { status, output, log, timing } = run('7', { FIXTURE_FIRST_MS: '300', S3DLIO_MUTATION_BUDGET_MS: '200' });
  expect(status).toBe(0);
  expect(log).toEqual(['first loaded', 'first test 1 ran']); // the test under way ends
  expect(output).toMatch(/Tests: +2 skipped, 1 passed, 3 total/);
  expect(timing).toMatchObject([{ mutant: '7', killed: false, budgetCut: true, skipped: 1 }]);
});

test('a budget spent before any test ran still lets one test run: a mutant no test ran for is no survivor', () => {
  const { status, log, timing } = run('7', { S3DLIO_MUTATION_BUDGET_MS: '1' });
  expect(status).toBe(0);
  expect(log).toEqual(['first loaded', 'first test 1 ran']);
  expect(timing).toMatchObject([{ mutant: '7', killed: false, budgetCut: true, skipped: 1 }]);
});

test('a test that hangs under the mutant fails after 5 s plus four times the dry-run time of its file, not 60 s', () => {
  const { status, output, log, timing } = run('7', { FIXTURE_FIRST_HANGS: '1' });
  expect(status).toBe(1);
  expect(output).toContain('Exceeded timeout of 5004 ms'); // the dry run recorded 1 ms for the file
  expect(timing).toMatchObject([{ mutant: '7', killed: true, skipped: 1 }]);
  expect(log).toEqual(['first loaded']);
});

test('a hook that hangs under the mutant fails the same way, failing the tests it was to prepare', () => {
  const { status, output, log, timing } = run('7', { FIXTURE_BEFORE_ALL_HANGS: '1' });
  expect(status).toBe(1);
  expect(output).toContain('Exceeded timeout of 5004 ms');
  expect(timing).toMatchObject([{ mutant: '7', killed: true, skipped: 1 }]);
  expect(log).toEqual(['first loaded']);
});

test('S3DLIO_MUTATION_BUDGET_MS=0 lifts the budget', () => {
  const { log } = run('7', { FIXTURE_FIRST_MS: '300', S3DLIO_MUTATION_BUDGET_MS: '0' });
  expect(log).toContain('second test ran');
});

test.each(['-1', '1.5', 'ten'])('a budget of %s is refused with the variable named', (budget) => {
  const { status, output } = run('7', { S3DLIO_MUTATION_BUDGET_MS: budget });
  expect(status).not.toBe(0);
  expect(output).toContain(`S3DLIO_MUTATION_BUDGET_MS must be a non-negative integer, got "${budget}"`);
});
