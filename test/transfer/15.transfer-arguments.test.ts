/**
 * upload and download between local directories: arguments of the wrong type named, hidden files
 * and deep trees taken as they are, and a failed object reported as a BatchError of the operation
 * that failed. test/transfer/10 runs the same operations against every backend.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'fs';
import * as path from 'path';

import { download, upload } from '../../lib';
import { rejectionOf, treeOf } from '../helpers/local';
import { useTempDir } from '../helpers/temp';

const tmp = useTempDir('s3dlio-transfer-args-');

function tree(name: string, files: Record<string, string>): string {
  const root = path.join(tmp.path, name);
  for (const [relative, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(root, relative)), { recursive: true });
    writeFileSync(path.join(root, relative), text);
  }
  return root;
}

test.each([
  ['localPatterns not an array', () => upload('a/*' as never, 'file:///tmp/x/'), '`localPatterns`'],
  ['a pattern not a string', () => upload(['a/*', 7 as never], 'file:///tmp/x/'), '`localPatterns[1]`'],
  ['destPrefixUri not a string', () => upload(['a/*'], 5 as never), '`destPrefixUri`'],
])('upload with %s: ERR_INVALID_ARG_TYPE naming it', async (_what, run, named) => {
  const error = await rejectionOf(run());
  expect(error).toMatchObject({ code: 'ERR_INVALID_ARG_TYPE' });
  expect(error.message).toContain(named);
});

test('hidden files and directories are uploaded and downloaded like any other; directories are not objects', async () => {
  const source = tree('hidden', { '.env.sample': 'E', '.config/settings.json': 'S', 'data/x.bin': 'X' });
  const store = `file://${path.join(tmp.path, 'store')}/`;
  const up = await upload([`${source}/**`], store);
  expect(up).toEqual({ objects: 3, bytes: 3, failed: [] });
  const back = path.join(tmp.path, 'back');
  const down = await download(store, back);
  expect(down).toEqual({ objects: 3, bytes: 3, failed: [] });
  expect(treeOf(back)).toEqual(['.config/', '.config/settings.json', '.env.sample', 'data/', 'data/x.bin']);
  expect(readFileSync(path.join(back, '.config', 'settings.json'), 'utf8')).toBe('S');
});

test('an object that cannot be written locally fails the download as a BatchError of "download"', async () => {
  const source = tree('blocked', { 'a.txt': 'A', 'sub/b.txt': 'B' });
  const store = `file://${path.join(tmp.path, 'store-blocked')}/`;
  await upload([`${source}/**`], store);
  const back = path.join(tmp.path, 'back-blocked');
  mkdirSync(back);
  writeFileSync(path.join(back, 'sub'), 'a file where the directory should be');
  const error = await rejectionOf(download(store, back));
  expect(error).toMatchObject({ code: 'ERR_BATCH_FAILED', operation: 'download', succeeded: 1 });
  expect(error.errors.map((e: { operation: string }) => e.operation)).toEqual(['download']);
  expect(readFileSync(path.join(back, 'a.txt'), 'utf8')).toBe('A');
});

test('a destination prefix without a trailing / is a directory all the same', async () => {
  const source = tree('no-slash', { 'a.bin': 'A', 'd/b.bin': 'B' });
  const store = path.join(tmp.path, 'store-no-slash');
  await upload([`${source}/**`], `file://${store}`);
  expect(treeOf(store)).toEqual(['a.bin', 'd/', 'd/b.bin']);
});

test('a pattern that starts with a glob is relative to the working directory', async () => {
  const source = tree('cwd-glob', { 'one.bin': '1', 'two.bin': '22', 'skip.txt': 'x' });
  const store = path.join(tmp.path, 'store-cwd-glob');
  const cwd = process.cwd();
  process.chdir(source);
  try {
    expect(await upload(['*.bin'], `file://${store}/`)).toEqual({ objects: 2, bytes: 3, failed: [] });
  } finally {
    process.chdir(cwd);
  }
  expect(treeOf(store)).toEqual(['one.bin', 'two.bin']);
});

test('progress counts objects and bytes up to their totals', async () => {
  const source = tree('progress', { 'a.bin': 'AAAA', 'b.bin': 'BB', 'c.bin': 'C' });
  const reports: Array<{ objectsDone: number; objectsTotal: number; bytesDone: number; bytesTotal?: number }> = [];
  await upload([`${source}/*.bin`], `file://${path.join(tmp.path, 'store-progress')}/`, {
    concurrency: 1,
    onProgress: (p) => reports.push(p),
  });
  const objects = reports.map((r) => r.objectsDone);
  expect(objects).toEqual([...objects].sort((x, y) => x - y));
  expect(reports.at(-1)).toMatchObject({ objectsDone: 3, objectsTotal: 3, bytesDone: 7, bytesTotal: 7 });
  const down: number[] = [];
  await download(`file://${path.join(tmp.path, 'store-progress')}/`, path.join(tmp.path, 'back-progress'), {
    onProgress: (p) => down.push(p.objectsDone),
  });
  expect(down.at(-1)).toBe(3);
  expect(Math.min(...down)).toBeGreaterThanOrEqual(0);
});

test('upload { pattern } keeps only the keys it matches (relative to the pattern directory), as download does', async () => {
  const source = tree('pattern', { 'a.bin': 'A', 'b.txt': 'B', 'd/c.bin': 'C', 'd/e.txt': 'E' });
  const store = `file://${path.join(tmp.path, 'store-pattern')}/`;
  const up = await upload([`${source}/**`], store, { pattern: /^d\/|\.txt$/ });
  expect(up).toEqual({ objects: 3, bytes: 3, failed: [] });
  expect(treeOf(path.join(tmp.path, 'store-pattern'))).toEqual(['b.txt', 'd/', 'd/c.bin', 'd/e.txt']);
  const error = await rejectionOf(
    upload([`${source}/**`], `file://${path.join(tmp.path, 'never')}/`, { pattern: 7 as never, createBucket: true }),
  );
  expect(error).toMatchObject({ code: 'ERR_INVALID_ARG_TYPE' });
  expect(treeOf(tmp.path)).not.toContain('never/'); // checked before the bucket is made
});
