/**
 * The filesystem helpers under file:// and direct://, checked directly: temporary names within
 * NAME_MAX whatever the script, listings that show directories as prefixes and skip what is not a
 * file, symlinks resolved with a trailing `/` kept (but never `//`), and pruning that removes only
 * empty directories.
 */
import { execFileSync } from 'child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import * as path from 'path';

import {
  isTempName,
  pruneEmptyDirectories,
  resolvePath,
  tempPathFor,
  walkPrefix,
  type WalkEntry,
} from '../../lib/backends/local/paths';
import { treeOf } from '../helpers/local';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 's3dlio-paths-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

async function walk(prefix: string, recursive: boolean): Promise<WalkEntry[]> {
  const out: WalkEntry[] = [];
  for await (const entry of walkPrefix(prefix, recursive)) out.push(entry);
  return out.sort((a, b) => a.path.localeCompare(b.path));
}

describe('temporary names', () => {
  test.each([
    ['ASCII', 'n'.repeat(255)],
    ['two-byte', 'é'.repeat(127)],
    ['three-byte', '日'.repeat(85)],
    ['four-byte', '😀'.repeat(63)],
  ])('a %s name of up to 255 bytes gets a temporary name within 255 bytes, cut between characters', (_what, name) => {
    const temp = path.basename(tempPathFor(path.join(dir, name)));
    expect(Buffer.byteLength(temp)).toBeLessThanOrEqual(255);
    expect(isTempName(temp)).toBe(true);
    const kept = temp.slice(1, temp.indexOf('.s3dlio-'));
    expect(name.startsWith(kept)).toBe(true);
    expect(Buffer.byteLength(kept)).toBeGreaterThan(150);
    // It can be created: the filesystem agrees about the length.
    writeFileSync(path.join(dir, temp), '');
  });
});

describe('walkPrefix', () => {
  beforeEach(() => {
    mkdirSync(path.join(dir, 'sub/deeper'), { recursive: true });
    writeFileSync(path.join(dir, 'a.txt'), 'a');
    writeFileSync(path.join(dir, 'sub/b.txt'), 'b');
    writeFileSync(path.join(dir, 'sub/deeper/c.txt'), 'c');
    execFileSync('mkfifo', [path.join(dir, 'pipe')]);
    execFileSync('mkfifo', [path.join(dir, 'sub/pipe')]);
  });

  test('one level: files, and directories as prefixes ending in /; no FIFO', async () => {
    expect(await walk(`${dir}/`, false)).toEqual([
      { path: `${dir}/a.txt`, directory: false },
      { path: `${dir}/sub/`, directory: true },
    ]);
  });

  test('symlinks: followed to files, listed but not descended into as directories, skipped when dangling', async () => {
    symlinkSync(path.join(dir, 'a.txt'), path.join(dir, 'link-file'));
    symlinkSync(path.join(dir, 'sub'), path.join(dir, 'link-dir'));
    symlinkSync(path.join(dir, 'nothing-here'), path.join(dir, 'link-dangling'));
    symlinkSync(dir, path.join(dir, 'sub/link-cycle')); // back up: walking it would never end
    expect(await walk(`${dir}/`, false)).toEqual([
      { path: `${dir}/a.txt`, directory: false },
      { path: `${dir}/link-dir/`, directory: true },
      { path: `${dir}/link-file`, directory: false },
      { path: `${dir}/sub/`, directory: true },
    ]);
    expect(await walk(`${dir}/`, true)).toEqual([
      { path: `${dir}/a.txt`, directory: false },
      { path: `${dir}/link-file`, directory: false },
      { path: `${dir}/sub/b.txt`, directory: false },
      { path: `${dir}/sub/deeper/c.txt`, directory: false },
    ]);
  });

  test('recursive: every file below, no directory entries, no FIFO', async () => {
    expect(await walk(`${dir}/`, true)).toEqual([
      { path: `${dir}/a.txt`, directory: false },
      { path: `${dir}/sub/b.txt`, directory: false },
      { path: `${dir}/sub/deeper/c.txt`, directory: false },
    ]);
  });
});

describe('resolvePath', () => {
  test('a trailing / is kept on a resolved directory, but a link to / resolves to /, not //', async () => {
    mkdirSync(path.join(dir, 'real'));
    symlinkSync(path.join(dir, 'real'), path.join(dir, 'link'));
    symlinkSync('/', path.join(dir, 'root'));
    expect(await resolvePath(path.join(dir, 'link') + '/')).toBe(path.join(dir, 'real') + '/');
    expect(await resolvePath(path.join(dir, 'link'))).toBe(path.join(dir, 'real'));
    expect(await resolvePath(path.join(dir, 'root') + '/')).toBe('/');
    expect(await resolvePath(path.join(dir, 'root'))).toBe('/');
    expect(await resolvePath(path.join(dir, 'link/missing/x') + '/')).toBe(path.join(dir, 'real/missing/x') + '/');
  });

  test('a link loop or a file in the way resolves no further: the rest of the path is kept as given', async () => {
    symlinkSync(path.join(dir, 'loop-b'), path.join(dir, 'loop-a'));
    symlinkSync(path.join(dir, 'loop-a'), path.join(dir, 'loop-b'));
    writeFileSync(path.join(dir, 'file'), 'f');
    mkdirSync(path.join(dir, 'real'));
    symlinkSync(path.join(dir, 'real'), path.join(dir, 'link'));
    expect(await resolvePath(path.join(dir, 'link/loop-x'))).toBe(path.join(dir, 'real/loop-x'));
    expect(await resolvePath(path.join(dir, 'loop-a/x'))).toBe(path.join(dir, 'loop-a/x'));
    expect(await resolvePath(path.join(dir, 'file/below/x'))).toBe(path.join(dir, 'file/below/x'));
  });

  test('any other failure is passed on, not taken as a missing component', async () => {
    await expect(resolvePath(path.join(dir, 'n'.repeat(300), 'x'))).rejects.toMatchObject({ code: 'ENAMETOOLONG' });
  });
});

describe('pruneEmptyDirectories', () => {
  test('removes empty directories under the prefix, keeps files, non-empty ones and names outside the prefix', async () => {
    mkdirSync(path.join(dir, 'data/empty/emptier'), { recursive: true });
    mkdirSync(path.join(dir, 'data/full'), { recursive: true });
    mkdirSync(path.join(dir, 'other/empty'), { recursive: true });
    writeFileSync(path.join(dir, 'data/full/f'), 'f');
    writeFileSync(path.join(dir, 'data-file'), 'x');
    await pruneEmptyDirectories(path.join(dir, 'data'));
    expect(treeOf(dir).filter((p) => p.startsWith('data'))).toEqual([
      'data-file',
      'data/',
      'data/full/',
      'data/full/f',
    ]);
    expect(treeOf(dir)).toContain('other/empty/');
  });

  test('a prefix that does not exist, or runs through a file, has nothing to prune', async () => {
    writeFileSync(path.join(dir, 'file'), 'f');
    await expect(pruneEmptyDirectories(path.join(dir, 'missing/data'))).resolves.toBeUndefined();
    await expect(pruneEmptyDirectories(path.join(dir, 'file/data'))).resolves.toBeUndefined();
    expect(treeOf(dir)).toEqual(['file']);
  });
});
