/**
 * Never write outside the destination a user named. Every transfer that writes below a local root
 * (download, `get -o DIR`, recursive copy and `cp -r` into a local prefix) refuses a key that would
 * climb out and a symlink anywhere below the root (ERR_UNSAFE_PATH), never follows it, and keeps
 * working when the root itself or its ancestors are symlinks. Uploads do not follow symlinks that
 * lead out of the tree unless asked. A plain put/get of one file:// URI follows the path as the OS
 * does.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, symlinkSync, writeFileSync } from 'fs';
import * as path from 'path';

import { BatchError, configureDefaultStore, copy, download, get, put, upload } from '../../lib';
import { LocalRoot, keySegments } from '../../lib/internal/local-root';
import { runCli } from '../cli/cli';
import { newBucketName } from '../cloud/targets';
import { rejectionOf, treeOf } from '../helpers/local';
import { useTempDir } from '../helpers/temp';

const tmp = useTempDir('s3dlio-dest-');
let counter = 0;

/** A fresh case: a source prefix with objects, a destination root, and a directory outside it. */
function scene(keys: Record<string, string> = { 'a.txt': 'A', 'sub/b.txt': 'B', 'sub/deep/c.txt': 'C' }) {
  const base = path.join(tmp.path, `case-${++counter}`);
  const source = path.join(base, 'source');
  const root = path.join(base, 'root');
  const outside = path.join(base, 'outside');
  for (const [key, text] of Object.entries(keys)) {
    mkdirSync(path.dirname(path.join(source, key)), { recursive: true });
    writeFileSync(path.join(source, key), text);
  }
  mkdirSync(root, { recursive: true });
  mkdirSync(outside, { recursive: true });
  return { base, source, root, outside, sourceUri: `file://${source}/` };
}

function codes(error: unknown): string[] {
  return error instanceof BatchError ? error.errors.map((item) => item.code).sort() : [String(error)];
}

describe('download: a symlink below the destination is refused, never followed', () => {
  test('root/sub → a directory outside: the objects below sub fail with ERR_UNSAFE_PATH, nothing lands outside', async () => {
    const { root, outside, sourceUri } = scene();
    symlinkSync(outside, path.join(root, 'sub'));
    const result = await download(sourceUri, root, { continueOnError: true });
    expect(result.failed.map((failure) => [failure.uri.slice(sourceUri.length), failure.error.code]).sort()).toEqual([
      ['sub/b.txt', 'ERR_UNSAFE_PATH'],
      ['sub/deep/c.txt', 'ERR_UNSAFE_PATH'],
    ]);
    expect(result.failed[0].error.message).toMatch(/symbolic link/);
    expect(treeOf(outside)).toEqual([]);
    expect(readFileSync(path.join(root, 'a.txt'), 'utf8')).toBe('A');
  });

  test('without continueOnError the download rejects with a BatchError naming each refused object', async () => {
    const { root, outside, sourceUri } = scene();
    symlinkSync(outside, path.join(root, 'sub'));
    const error = await rejectionOf(download(sourceUri, root));
    expect(codes(error)).toEqual(['ERR_UNSAFE_PATH', 'ERR_UNSAFE_PATH']);
    expect(treeOf(outside)).toEqual([]);
  });

  test('a symlink deeper down (sub/deep → outside) and one that points inside the root are refused too', async () => {
    const { root, outside, sourceUri } = scene();
    mkdirSync(path.join(root, 'sub'));
    symlinkSync(outside, path.join(root, 'sub', 'deep'));
    const first = await download(sourceUri, root, { continueOnError: true });
    expect(first.failed.map((failure) => failure.error.code)).toEqual(['ERR_UNSAFE_PATH']);
    expect(treeOf(outside)).toEqual([]);

    const again = scene();
    mkdirSync(path.join(again.root, 'elsewhere'));
    symlinkSync(path.join(again.root, 'elsewhere'), path.join(again.root, 'sub'));
    const second = await download(again.sourceUri, again.root, { continueOnError: true });
    expect(second.failed.map((failure) => failure.error.code)).toEqual(['ERR_UNSAFE_PATH', 'ERR_UNSAFE_PATH']);
    expect(treeOf(path.join(again.root, 'elsewhere'))).toEqual([]);
  });

  test('a dangling symlink below the root is not followed to create its target', async () => {
    const { root, outside, sourceUri } = scene();
    symlinkSync(path.join(outside, 'made-by-us'), path.join(root, 'sub'));
    const result = await download(sourceUri, root, { continueOnError: true });
    expect(result.failed.map((failure) => failure.error.code)).toEqual(['ERR_UNSAFE_PATH', 'ERR_UNSAFE_PATH']);
    expect(treeOf(outside)).toEqual([]);
  });

  test('a file where a directory is needed is an error naming it, not a write elsewhere', async () => {
    const { root, sourceUri } = scene();
    writeFileSync(path.join(root, 'sub'), 'a file');
    const result = await download(sourceUri, root, { continueOnError: true });
    expect(result.failed.map((failure) => failure.error.code)).toEqual(['ERR_ALREADY_EXISTS', 'ERR_ALREADY_EXISTS']);
    expect(result.failed[0].error.message).toContain(path.join(root, 'sub'));
    expect(readFileSync(path.join(root, 'sub'), 'utf8')).toBe('a file');
  });

  test('an existing symlink in place of the file itself is replaced by the object; its target is untouched', async () => {
    const { root, outside, sourceUri } = scene({ 'x.txt': 'new' });
    writeFileSync(path.join(outside, 'victim.txt'), 'keep');
    symlinkSync(path.join(outside, 'victim.txt'), path.join(root, 'x.txt'));
    await download(sourceUri, root);
    expect(readFileSync(path.join(outside, 'victim.txt'), 'utf8')).toBe('keep');
    expect(readFileSync(path.join(root, 'x.txt'), 'utf8')).toBe('new');
  });

  test('the root itself and its ancestors may be symlinks: they are followed', async () => {
    const { base, sourceUri } = scene();
    const real = path.join(base, 'real-data');
    mkdirSync(path.join(real, 'dest'), { recursive: true });
    symlinkSync(real, path.join(base, 'data')); // an ancestor link, like /data -> /mnt/data
    symlinkSync(path.join(real, 'dest'), path.join(base, 'dest-link')); // the root itself a link
    await download(sourceUri, path.join(base, 'data', 'dest'));
    await download(sourceUri, path.join(base, 'dest-link'));
    expect(treeOf(path.join(real, 'dest'))).toEqual(['a.txt', 'sub/', 'sub/b.txt', 'sub/deep/', 'sub/deep/c.txt']);
  });

  test('keys that would map two objects to one file or leave the root are refused: "..", ".", "a//b", absolute', async () => {
    // download() reads through the default gs:// store: point it at the test server.
    const store = configureDefaultStore('gs://', { endpoint: process.env.S3DLIO_TEST_GCS_ENDPOINT, projectId: 'test' });
    const bucket = `gs://${newBucketName('dest')}/`;
    await store.createBucket(bucket);
    for (const key of ['p/ok.txt', 'p/a/../b.txt', 'p/./c.txt', 'p/d//e.txt', 'p//f.txt'])
      await store.put(`${bucket}${key}`, key);
    const { root, base } = scene({});
    const result = await download(`${bucket}p/`, root, { continueOnError: true });
    expect(result.failed.map((failure) => failure.error.code)).toEqual(Array(4).fill('ERR_UNSAFE_PATH'));
    expect(treeOf(base).filter((entry) => !entry.startsWith('source') && !entry.startsWith('outside'))).toEqual([
      'root/',
      'root/ok.txt',
    ]);
    await store.deleteBucket(bucket, { force: true });
  });
});

describe('two keys never land in one file: every spelling of a path is refused but the plain one', () => {
  // Keys a bucket can hold that name the same path as `p/m.txt` (or leave the root) once the
  // segments are resolved, before and after it in listing order.
  const ALIASES = ['p/a/../m.txt', 'p/./m.txt', 'p//m.txt', 'p/z/../m.txt', 'p/z/./../m.txt', 'p/m.txt/.', 'p/z/..'];
  const OTHER_UNSAFE = ['p/a\\m.txt', 'p/..\\m.txt', 'p/../m.txt', 'p/../../outside.txt'];
  let bucket: string;
  let store: ReturnType<typeof configureDefaultStore>;

  beforeAll(async () => {
    store = configureDefaultStore('gs://', { endpoint: process.env.S3DLIO_TEST_GCS_ENDPOINT, projectId: 'test' });
    bucket = `gs://${newBucketName('alias')}/`;
    await store.createBucket(bucket);
    await store.put(`${bucket}p/m.txt`, 'good');
    for (const key of [...ALIASES, ...OTHER_UNSAFE]) await store.put(`${bucket}${key}`, `evil ${key}`);
  });
  afterAll(() => store.deleteBucket(bucket, { force: true }));

  test.each([1, 8])(
    'download (concurrency %i): the plain key is written, each alias refused with ERR_UNSAFE_PATH naming it',
    async (concurrency) => {
      const { root, base } = scene({});
      const result = await download(`${bucket}p/`, root, { continueOnError: true, concurrency });
      const refused = result.failed.map((failure) => [failure.uri, failure.error.code]).sort();
      expect(refused).toEqual(
        [...ALIASES, ...OTHER_UNSAFE].map((key) => [`${bucket}${key}`, 'ERR_UNSAFE_PATH']).sort(),
      );
      expect(readFileSync(path.join(root, 'm.txt'), 'utf8')).toBe('good');
      expect(treeOf(base).filter((entry) => !entry.startsWith('source') && !entry.startsWith('outside'))).toEqual([
        'root/',
        'root/m.txt',
      ]);
    },
  );

  test('a recursive copy into a file:// prefix refuses the same keys; no alias overwrites the plain key’s file', async () => {
    const { root } = scene({});
    writeFileSync(path.join(root, 'm.txt'), 'kept');
    const error = await rejectionOf(copy(`${bucket}p/`, `file://${root}/`, { recursive: true }));
    expect(codes(error)).toEqual(Array(ALIASES.length + OTHER_UNSAFE.length).fill('ERR_UNSAFE_PATH'));
    // The plain key was copied; no alias was written over it (or anywhere else).
    expect(readFileSync(path.join(root, 'm.txt'), 'utf8')).toBe('good');
    expect(treeOf(root)).toEqual(['m.txt']);
  });

  test('the key check itself: each unsafe form refused, plain keys split into their segments', () => {
    const refuse = (relative: string) => () => keySegments('/root', relative, `gs://b/${relative}`, 'download');
    for (const relative of [
      '',
      '/',
      '/abs.txt',
      'a/',
      'a//b',
      '.',
      './a',
      'a/.',
      '..',
      '../a',
      'a/..',
      'a/../b',
      'a\\b',
      '\\',
      'a\0b',
      '\0',
    ]) {
      expect(refuse(relative)).toThrow(expect.objectContaining({ code: 'ERR_UNSAFE_PATH', uri: `gs://b/${relative}` }));
    }
    expect(keySegments('/root', 'a/b c/...', 'gs://b/x', 'download')).toEqual(['a', 'b c', '...']);
    expect(keySegments('/root', '.hidden/..x/x..', 'gs://b/x', 'download')).toEqual(['.hidden', '..x', 'x..']);
  });
});

test('by default, on Linux with /proc, files are placed through the pinned directory', async () => {
  const { root } = scene({});
  const destination = await LocalRoot.open(root);
  try {
    await destination.withPlace('x.txt', 'gs://b/x.txt', 'download', async (placed) => {
      if (process.platform === 'linux' && existsSync('/proc/self/fd/0')) {
        expect(placed.path).toMatch(/^\/proc\/self\/fd\/\d+\/x\.txt$/);
      } else {
        expect(placed.path).toBe(path.join(root, 'x.txt'));
      }
    });
  } finally {
    await destination.close();
  }
});

// Both ways of placing a file: through directory descriptors (Linux) and by path checks (macOS and
// systems without /proc), each held to the same rules.
describe.each([
  ['pinned by descriptor', true],
  ['checked by path', false],
])('LocalRoot.place, %s', (_how, pin) => {
  test('missing directories are made; the file lands at root/key', async () => {
    const { root } = scene({});
    const destination = await LocalRoot.open(root, pin);
    await destination.withPlace('a/b/c/x.txt', 'gs://b/a/b/c/x.txt', 'download', async (placed) => {
      expect(placed.displayPath).toBe(path.join(root, 'a', 'b', 'c', 'x.txt'));
      await put(`file://${placed.path}`, 'X');
    });
    await destination.withPlace('a/b/y.txt', 'gs://b/a/b/y.txt', 'download', async (placed) => {
      await put(`file://${placed.path}`, 'Y'); // existing directories are used as they are
    });
    await destination.close();
    expect(treeOf(root)).toEqual(['a/', 'a/b/', 'a/b/c/', 'a/b/c/x.txt', 'a/b/y.txt']);
    expect(readFileSync(path.join(root, 'a', 'b', 'c', 'x.txt'), 'utf8')).toBe('X');
  });

  test.each([
    ['a symlink to a directory outside', 'ERR_UNSAFE_PATH', 'sub/deep/x.txt', 'sub'],
    ['a symlink deeper down', 'ERR_UNSAFE_PATH', 'a/link/x.txt', 'a/link'],
    ['a dangling symlink', 'ERR_UNSAFE_PATH', 'gone/x.txt', 'gone'],
    ['a file where a directory is needed', 'ERR_ALREADY_EXISTS', 'file.txt/x.txt', 'file.txt'],
  ])('%s is refused with %s naming it; nothing is written outside', async (_what, code, key, blocker) => {
    const { root, outside } = scene({});
    mkdirSync(path.join(root, 'a'), { recursive: true });
    if (blocker === 'file.txt') writeFileSync(path.join(root, blocker), 'not a directory');
    else if (blocker === 'gone') symlinkSync(path.join(outside, 'made-by-us'), path.join(root, blocker));
    else symlinkSync(outside, path.join(root, blocker));
    const destination = await LocalRoot.open(root, pin);
    const error = await rejectionOf(destination.place(key, `gs://b/${key}`, 'download'));
    await destination.close();
    expect(error).toMatchObject({ code, uri: `gs://b/${key}`, operation: 'download' });
    expect(error.message).toContain(path.join(root, blocker));
    expect(error.message).not.toContain('/proc/self/fd');
    expect(treeOf(outside)).toEqual([]);
  });

  test("placements racing to make the same missing directories all succeed: the loser of each mkdir uses the winner's", async () => {
    const { root } = scene({});
    const destination = await LocalRoot.open(root, pin);
    const keys = Array.from({ length: 8 }, (_, i) => `d/e/f/k${i}.txt`);
    await Promise.all(
      keys.map((key) =>
        destination.withPlace(key, `gs://b/${key}`, 'download', (placed) => put(`file://${placed.path}`, key)),
      ),
    );
    await destination.close();
    expect(treeOf(root)).toEqual(['d/', 'd/e/', 'd/e/f/', ...keys.sort()]);
    for (const key of keys) expect(readFileSync(path.join(root, key), 'utf8')).toBe(key);
  });

  test('an error other than a missing directory is passed on, not taken as "make it"', async () => {
    const { root } = scene({});
    const destination = await LocalRoot.open(root, pin);
    const tooLong = 'n'.repeat(300); // longer than any file name may be (NAME_MAX 255)
    await expect(destination.place(`${tooLong}/a/x.txt`, 'gs://b/long', 'download')).rejects.toMatchObject({
      code: 'ENAMETOOLONG',
    });
    await destination.close();
    expect(treeOf(root)).toEqual([]);
  });
});

describe('the placement cannot be raced: a directory swapped for a symlink after the check', () => {
  test('writes through the pinned parent land in the directory that was checked, not at the symlink target', async () => {
    if (process.platform !== 'linux') return; // pinning needs /proc/self/fd; elsewhere lstat checks apply
    const { root, outside } = scene({});
    const destination = await LocalRoot.open(root);
    const placed = await destination.place('a/b/x.txt', 'file:///source/a/b/x.txt', 'download');
    // The attacker's move: the checked directory is moved away and replaced by a symlink.
    renameSync(path.join(root, 'a'), path.join(root, 'a-moved'));
    symlinkSync(outside, path.join(root, 'a'));
    await put(`file://${placed.path}`, 'through the pin');
    await placed.release();
    await destination.close();
    expect(treeOf(outside)).toEqual([]);
    expect(readFileSync(path.join(root, 'a-moved', 'b', 'x.txt'), 'utf8')).toBe('through the pin');
  });
});

describe('every transfer into a local root applies the same rule', () => {
  test('copy({ recursive }) into file:// and direct:// prefixes', async () => {
    for (const scheme of ['file', 'direct'] as const) {
      const { root, outside, sourceUri } = scene();
      symlinkSync(outside, path.join(root, 'sub'));
      const error = await rejectionOf(copy(sourceUri, `${scheme}://${root}/`, { recursive: true }));
      expect(codes(error)).toEqual(['ERR_UNSAFE_PATH', 'ERR_UNSAFE_PATH']);
      expect(error.errors[0].message).toContain(path.join(root, 'sub'));
      expect(error.errors[0].message).not.toContain('/proc/self/fd');
      expect(treeOf(outside)).toEqual([]);
      expect(readFileSync(path.join(root, 'a.txt'), 'utf8')).toBe('A');
    }
  });

  test('CLI: download, get -r -o, get -o (one object) and cp -r', async () => {
    const { root, outside, sourceUri, source } = scene();
    symlinkSync(outside, path.join(root, 'sub'));
    for (const args of [
      ['download', sourceUri, root],
      ['get', '-r', sourceUri, '-o', root],
      ['cp', '-r', sourceUri, `file://${root}/`],
    ]) {
      const result = await runCli(args);
      expect({ args, code: result.code }).toEqual({ args, code: 1 });
      expect(result.stderr).toMatch(/ERR_UNSAFE_PATH/);
      expect(result.stderr).not.toMatch(/\/proc\/self\/fd/);
      expect(treeOf(outside)).toEqual([]);
    }
    // One object into a directory whose name below the root is a symlink: -o names the root.
    const one = await runCli(['get', `file://${source}/a.txt`, '-o', path.join(root, 'sub')]);
    expect(one.code).toBe(0); // -o itself may be a symlink (the named root)
    expect(readFileSync(path.join(outside, 'a.txt'), 'utf8')).toBe('A');
  });
});

describe('upload does not follow symlinks that lead out of the tree unless asked', () => {
  test('a file link and a directory link leading outside are refused (listed), links inside are followed', async () => {
    const { base, outside } = scene({});
    const tree = path.join(base, 'tree');
    mkdirSync(path.join(tree, 'sub'), { recursive: true });
    writeFileSync(path.join(tree, 'a.txt'), 'A');
    writeFileSync(path.join(outside, 'secret.txt'), 'secret');
    symlinkSync(path.join(outside, 'secret.txt'), path.join(tree, 'leak.txt'));
    symlinkSync(outside, path.join(tree, 'leakdir'));
    symlinkSync(path.join(tree, 'a.txt'), path.join(tree, 'sub', 'alias.txt'));
    const destination = `file://${base}/up/`;
    const result = await upload([`${tree}/**`], destination, { continueOnError: true });
    expect(result.failed.map((failure) => [failure.uri.slice(destination.length), failure.error.code]).sort()).toEqual([
      ['leak.txt', 'ERR_UNSAFE_PATH'],
      ['leakdir/secret.txt', 'ERR_UNSAFE_PATH'],
    ]);
    expect(result.failed[0].error.message).toMatch(/followSymlinks/);
    expect(treeOf(path.join(base, 'up'))).toEqual(['a.txt', 'sub/', 'sub/alias.txt']);

    const followed = await upload([`${tree}/**`], `file://${base}/up2/`, { followSymlinks: true });
    expect(followed.failed).toEqual([]);
    expect(readFileSync(path.join(base, 'up2', 'leak.txt'), 'utf8')).toBe('secret');
  });
});

describe('a plain put/get of one file:// URI follows the path as the OS does', () => {
  test('through a symlinked directory', async () => {
    const { base, outside } = scene({});
    symlinkSync(outside, path.join(base, 'link'));
    await put(`file://${base}/link/x.txt`, 'via link');
    expect(readFileSync(path.join(outside, 'x.txt'), 'utf8')).toBe('via link');
    expect(Buffer.from(await get(`file://${base}/link/x.txt`)).toString()).toBe('via link');
  });
});
