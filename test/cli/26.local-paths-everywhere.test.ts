/**
 * Every command that takes a URI also takes a plain local path (relative or absolute), as cp, sync
 * and mv do: the path means its file:// URI. A command that names one object but meets a
 * directory, or a prefix ending in `/`, is a usage error with the -r hint.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'fs';
import * as path from 'path';

import { useTempDir } from '../helpers/temp';
import { runCli, runCliOk } from './cli';

const tmp = useTempDir('s3dlio-cli-paths-');

/** A fresh directory with two small files, and its name relative to the temp dir. */
function tree(name: string): string {
  const dir = path.join(tmp.path, name);
  mkdirSync(path.join(dir, 'sub'), { recursive: true });
  writeFileSync(path.join(dir, 'a.txt'), 'alpha');
  writeFileSync(path.join(dir, 'sub', 'b c.txt'), 'bravo!');
  return dir;
}

test.each([
  ['relative', (dir: string) => path.relative(tmp.path, dir)],
  ['absolute', (dir: string) => dir],
])('ls, du, stat, cat, get -o and rm take a %s local path', async (_kind, spell) => {
  const dir = tree(`t-${_kind}`);
  const cwd = tmp.path;
  const listed = await runCliOk(['ls', '-r', `${spell(dir)}/`], { cwd });
  expect(listed.stdout.trim().split('\n').sort()).toEqual([`file://${dir}/a.txt`, `file://${dir}/sub/b c.txt`]);
  const du = await runCliOk(['du', '--json', spell(dir)], { cwd });
  expect(JSON.parse(du.stdout.trim())).toMatchObject({ objects: 2, bytes: 11 });
  const stat = await runCliOk(['--json', 'stat', path.join(spell(dir), 'a.txt')], { cwd });
  expect(JSON.parse(stat.stdout.trim())).toMatchObject({ size: 5 });
  expect((await runCliOk(['cat', path.join(spell(dir), 'sub', 'b c.txt')], { cwd })).stdout).toBe('bravo!');
  await runCliOk(['get', path.join(spell(dir), 'a.txt'), '-o', path.join(dir, 'copy.txt')], { cwd });
  expect(readFileSync(path.join(dir, 'copy.txt'), 'utf8')).toBe('alpha');
  await runCliOk(['rm', path.join(spell(dir), 'a.txt')], { cwd });
  expect(existsSync(path.join(dir, 'a.txt'))).toBe(false);
  await runCliOk(['rm', '-r', spell(dir)], { cwd });
  expect(existsSync(path.join(dir, 'sub', 'b c.txt'))).toBe(false);
});

test('put, create-bucket and checkpoint take local paths too', async () => {
  const cwd = tmp.path;
  await runCliOk(['create-bucket', 'made'], { cwd });
  await runCliOk(['put', 'made/data/', '-n', '3', '-s', '1k'], { cwd });
  const listed = await runCliOk(['ls', 'made/data/'], { cwd });
  expect(listed.stdout.trim().split('\n')).toHaveLength(3);
  const none = await runCli(['checkpoint', 'ls', 'made/ckpt'], { cwd });
  expect(none.stderr).not.toMatch(/Invalid URI/);
});

test.each([
  ['rm', 'a directory', (dir: string) => ['rm', dir], /is a directory: add -r \(--recursive\) to delete it/],
  ['rm', 'a prefix ending in /', (dir: string) => ['rm', `file://${dir}/`], /ends with \/\): add -r/],
  ['get', 'a directory', (dir: string) => ['get', dir], /is a directory: add -r \(--recursive\) to get it/],
  ['cat', 'a directory', (dir: string) => ['cat', dir], /is a directory: add -r/],
])('%s of %s without -r is a usage error with the -r hint, and deletes nothing', async (_cmd, _what, args, message) => {
  const dir = tree(`hint-${_cmd}-${_what.replace(/\W/g, '')}`);
  const result = await runCli(args(dir));
  expect(result.code).toBe(2);
  expect(result.stderr).toMatch(message);
  expect(readFileSync(path.join(dir, 'a.txt'), 'utf8')).toBe('alpha');
});

test('a word that is neither a URI nor an existing path is a missing file, named as typed', async () => {
  const result = await runCli(['stat', 'no-such-thing.bin'], { cwd: tmp.path });
  expect(result.code).toBe(1);
  expect(result.stderr).toContain(path.join(tmp.path, 'no-such-thing.bin'));
  expect(result.stderr).toMatch(/ERR_NOT_FOUND/);
});
