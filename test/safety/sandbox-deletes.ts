/**
 * Runs INSIDE the sandbox of test/helpers/sandbox.ts only (30.delete-guard.test.ts starts it
 * there): destructive deletes through the real library and the real CLI, each on fresh fixtures,
 * printing one `CASE {json}` line per case with what happened and which fixture paths survived.
 * It refuses to start anywhere else.
 */
import { spawnSync } from 'child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'fs';
import * as path from 'path';

import * as s3dlio from '../../lib';

const REPO = path.resolve(__dirname, '..', '..');

/** Paths every case checks afterwards (a refused delete leaves all of them). */
export const WATCHED = [
  '/top.txt',
  '/tmp/a/b.txt',
  '/tmp/c.txt',
  '/sandbox-data/x/y.bin',
  '/sandbox-data/x/sub/w.bin',
  '/sandbox-data/z.bin',
  '/srv/vol/f.txt',
  '/srv/vol/sub/g.txt',
  '/home/alice/notes.txt',
  '/home/alice/proj/p.txt',
  '/etc/passwd',
  '/usr/bin/env',
  `${REPO}/package.json`,
];

/** What one case did. */
export interface CaseResult {
  name: string;
  /** Library cases: the resolved value, or the rejection's code, message and details. */
  value?: unknown;
  error?: { code?: string; name?: string; message: string; succeeded?: number; errors?: string[] };
  /** CLI cases: exit code and output. */
  exit?: number | null;
  stdout?: string;
  stderr?: string;
  /** Warnings the library emitted. */
  warnings: string[];
  /** The WATCHED paths that still exist. */
  survivors: string[];
}

function assertInSandbox(): void {
  const marker = process.env.S3DLIO_SANDBOX_MARKER;
  if (!marker || !existsSync('/.s3dlio-sandbox') || readFileSync('/.s3dlio-sandbox', 'utf8') !== marker) {
    process.stderr.write('sandbox-deletes: not inside the sandbox; nothing done\n');
    process.exit(99);
  }
}

function file(target: string, text = target): void {
  mkdirSync(path.dirname(target), { recursive: true });
  writeFileSync(target, text);
}

/** Fresh fixtures (the mount points /srv/vol and /srv/mixed/busy.txt, a file, come from the setup). */
function resetFixtures(): void {
  for (const dir of ['/tmp/a', '/sandbox-data', '/home/alice', '/srv/vol/sub'])
    rmSync(dir, { recursive: true, force: true });
  for (const extra of ['/top.txt', '/tmp/c.txt', '/work/link-to-root', '/srv/vol/f.txt'])
    rmSync(extra, { force: true });
  for (const target of WATCHED.slice(0, WATCHED.indexOf('/etc/passwd'))) file(target);
  symlinkSync('/', '/work/link-to-root');
}

const warnings: string[] = [];

function survivors(): string[] {
  return WATCHED.filter((target) => existsSync(target));
}

async function library(name: string, run: () => Promise<unknown>): Promise<CaseResult> {
  resetFixtures();
  warnings.length = 0;
  const result: CaseResult = { name, warnings: [], survivors: [] };
  try {
    result.value = await run();
  } catch (caught) {
    const error = caught as Error & {
      code?: string;
      succeeded?: number;
      errors?: Array<{ uri?: string; code?: string }>;
    };
    result.error = {
      code: error.code,
      name: error.name,
      message: error.message,
      succeeded: error.succeeded,
      errors: error.errors?.map((item) => `${item.uri} ${item.code}`),
    };
  }
  // Warnings are emitted on the next tick.
  await new Promise((resolve) => setImmediate(resolve));
  result.warnings = [...warnings];
  result.survivors = survivors();
  return result;
}

function cli(name: string, args: string[], cwd = REPO): CaseResult {
  resetFixtures();
  const run = spawnSync(process.execPath, [path.join(REPO, 'bin', 's3dlio.js'), '--no-progress', ...args], {
    cwd,
    encoding: 'utf8',
  });
  return { name, exit: run.status, stdout: run.stdout, stderr: run.stderr, warnings: [], survivors: survivors() };
}

async function main(): Promise<void> {
  assertInSandbox();
  process.on('warning', (warning: Error & { code?: string }) => warnings.push(`${warning.code}: ${warning.message}`));
  const allow = { allowProtectedPaths: true };
  const cases: Array<() => CaseResult | Promise<CaseResult>> = [
    () => cli('cli rm -r file:///', ['rm', '-r', 'file:///']),
    () => cli('cli rm -r -p tmp file:///', ['rm', '-r', '-p', '^tmp/', 'file:///']),
    () => cli('cli rm -r file:///t', ['rm', '-r', 'file:///t']),
    () => cli('cli rm -r file:///work/link-to-root/', ['rm', '-r', 'file:///work/link-to-root/']),
    () => cli('cli rm -r a parent of the cwd', ['rm', '-r', 'file:///sandbox-data/x/'], '/sandbox-data/x/sub'),
    () =>
      cli('cli delete-bucket -f the cwd', ['delete-bucket', '-f', 'file:///sandbox-data/x/sub'], '/sandbox-data/x/sub'),
    () => cli('cli delete-bucket -f file:///tmp', ['delete-bucket', '-f', 'file:///tmp']),
    () => cli('cli delete-bucket -f file:///', ['delete-bucket', '-f', 'file:///']),
    () => cli('cli rm -r --allow-protected-paths file:///t', ['rm', '-r', '--allow-protected-paths', 'file:///t']),
    () =>
      cli('cli delete-bucket -f --allow-protected-paths file:///sandbox-data', [
        'delete-bucket',
        '-f',
        '--allow-protected-paths',
        'file:///sandbox-data',
      ]),
    () => cli('cli rm -r file:///srv/mixed/', ['rm', '-r', 'file:///srv/mixed/']),
    () => library('deletePrefix file:///t', () => s3dlio.deletePrefix('file:///t')),
    () => library('deletePrefix direct:///t', () => s3dlio.deletePrefix('direct:///t')),
    () => library('deletePrefix file:///t allowed', () => s3dlio.deletePrefix('file:///t', allow)),
    () => library('deletePrefix file:////', () => s3dlio.deletePrefix('file:////')),
    () => library('deleteBucket file:///tmp force', () => s3dlio.deleteBucket('file:///tmp', { force: true })),
    () => library('deleteBucket file:///tmp', () => s3dlio.deleteBucket('file:///tmp')),
    () =>
      library('deleteBucket file:///work/link-to-root/ force', () =>
        s3dlio.deleteBucket('file:///work/link-to-root/', { force: true }),
      ),
    () =>
      library('deleteBucket file:///sandbox-data force allowed', () =>
        s3dlio.deleteBucket('file:///sandbox-data', { force: true, ...allow }),
      ),
    () => library('deletePrefix file:///srv/vol/', () => s3dlio.deletePrefix('file:///srv/vol/')),
    () => library('deletePrefix file:///srv/v', () => s3dlio.deletePrefix('file:///srv/v')),
    () => library('deletePrefix file:///srv/vol/sub/', () => s3dlio.deletePrefix('file:///srv/vol/sub/')),
    () => library('deletePrefix file:///home/alice/', () => s3dlio.deletePrefix('file:///home/alice/')),
    () => library('deletePrefix file:///home/alice/proj/', () => s3dlio.deletePrefix('file:///home/alice/proj/')),
    () => library('deletePrefix file:///home/al', () => s3dlio.deletePrefix('file:///home/al')),
    () => library('deletePrefix cwd name prefix', () => s3dlio.deletePrefix(`file://${REPO.slice(0, -2)}`)),
    () => library('deletePrefix file:///srv/mixed/', () => s3dlio.deletePrefix('file:///srv/mixed/')),
    () => library('delete file:///', () => s3dlio.delete('file:///')),
    () => library('deleteMany file:///tmp/c.txt', () => s3dlio.deleteMany(['file:///tmp/c.txt'])),
  ];
  for (const run of cases) process.stdout.write(`CASE ${JSON.stringify(await run())}\n`);
}

if (require.main === module) {
  main().catch((error: unknown) => {
    process.stderr.write(`sandbox-deletes: ${error instanceof Error ? error.stack : String(error)}\n`);
    process.exit(1);
  });
}
