/**
 * `npm start` (dist/demo.js) on this machine, as the user running the tests and, when that is root,
 * as an unprivileged user too: it succeeds, checks every byte it reads back, shows the baselines
 * (`fs.readFile`, cold and warm) beside file:// and direct://, says how it made the cold reads cold
 * (drop_caches as root, posix_fadvise otherwise, or that it could not), and leaves nothing behind.
 */
import { spawnSync } from 'child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import * as path from 'path';

import { assertDistFresh } from '../cli/cli';
import { REPO_ROOT } from '../helpers/child';

const DEMO = path.join(REPO_ROOT, 'dist', 'demo.js');
const NOBODY = 65534;

interface DemoRun {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the demo below a fresh directory of `parent` (as `uid` when given); checks it cleaned up. */
function runDemo(parent: string, uid?: number): DemoRun {
  const dir = mkdtempSync(path.join(parent, 's3dlio-demo-test-'));
  try {
    chmodSync(dir, 0o777); // an unprivileged run writes below it
    const command =
      uid === undefined
        ? [process.execPath]
        : ['setpriv', `--reuid=${uid}`, `--regid=${uid}`, '--clear-groups', process.execPath];
    const result = spawnSync(command[0], [...command.slice(1), DEMO, dir], {
      cwd: REPO_ROOT,
      encoding: 'utf8',
      timeout: 120_000,
    });
    expect(readdirSync(dir)).toEqual([]); // the demo removed its directory
    return { status: result.status, stdout: result.stdout, stderr: result.stderr };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The table's rows as `step | cache` pairs. */
function rowsOf(stdout: string): string[] {
  const lines = stdout.split('\n');
  const start = lines.findIndex((line) => line.startsWith('step '));
  expect(start).toBeGreaterThan(0);
  const rows: string[] = [];
  for (const line of lines.slice(start + 2)) {
    if (line.trim() === '') break;
    const [step, cache] = line.split(/ {2,}/);
    rows.push(`${step} | ${/^\d/.test(cache) ? '' : cache}`);
  }
  return rows;
}

function expectCompleteRun(run: DemoRun, cold: string, direct = 'O_DIRECT'): void {
  expect({ status: run.status, stderr: run.stderr }).toEqual({ status: 0, stderr: expect.any(String) });
  expect(run.stdout).toContain(
    'verify: every byte read back (fs.readFile, file://, direct://) matches what was written',
  );
  expect(run.stdout).toContain('cleanup: deleted 257 objects');
  expect(rowsOf(run.stdout)).toEqual([
    'putMany file:// (small objects) | ',
    'put direct:// (large object) | ',
    `fs.readFile, 16 at a time (baseline) | ${cold}`,
    `getMany file:// | ${cold}`,
    `getMany direct:// | ${direct}`,
    `fs.readFile (baseline, large) | ${cold}`,
    `get file:// (large) | ${cold}`,
    `get direct:// (large) | ${direct}`,
    'fs.readFile, 16 at a time (baseline) | warm',
    'getMany file:// | warm',
    'fs.readFile (baseline, large) | warm',
    'get file:// (large) | warm',
  ]);
  expect(run.stdout).toContain('Compare direct:// with the cold rows');
}

beforeAll(() => assertDistFresh());

test('package.json: `npm start` runs dist/demo.js', () => {
  const manifest = JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as {
    scripts: Record<string, string>;
  };
  expect(manifest.scripts.start).toBe('node dist/demo.js');
});

test('on a disk filesystem: cold reads are made cold, and the demo says how', () => {
  const run = runDemo(tmpdir());
  expectCompleteRun(run, 'cold');
  expect(run.stdout).toContain('O_DIRECT: supported');
  if (process.getuid?.() === 0) {
    // As root: drop_caches, or (in a container that refuses it) the reason and the per-file way.
    expect(run.stdout).toMatch(
      /Cold reads: (before each, the files are fsynced and the page cache dropped \(echo 1 > \/proc\/sys\/vm\/drop_caches\)|root, but writing \/proc\/sys\/vm\/drop_caches failed .*posix_fadvise\(DONTNEED\))/,
    );
  } else {
    expect(run.stdout).toContain('Cold reads: not root: /proc/sys/vm/drop_caches needs root');
    expect(run.stdout).toContain('posix_fadvise(DONTNEED)');
  }
});

const asRoot = process.getuid?.() === 0 && existsSync('/usr/bin/setpriv');
(asRoot ? test : test.skip)('as an unprivileged user (root runs it again as nobody): posix_fadvise per file', () => {
  const run = runDemo(tmpdir(), NOBODY);
  expectCompleteRun(run, 'cold');
  expect(run.stdout).toContain(
    "Cold reads: not root: /proc/sys/vm/drop_caches needs root, so before each, every file is fsynced and its pages dropped with posix_fadvise(DONTNEED) (a file:// store with { pageCache: 'dontneed' })",
  );
});

// tmpfs: no O_DIRECT and no page cache to drop; the demo says its "cold" rows may be from memory.
(existsSync('/dev/shm') ? test : test.skip)(
  'on tmpfs: no cold reads possible, and the demo says what that means',
  () => {
    const run = runDemo('/dev/shm');
    expectCompleteRun(run, 'cold?', 'buffered');
    expect(run.stdout).toContain('O_DIRECT: not supported here');
    expect(run.stdout).toContain('Cold reads: none here. This filesystem cannot do O_DIRECT');
    expect(run.stdout).toContain('npm start -- /a/dir/on/disk');
  },
);
