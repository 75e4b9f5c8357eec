/**
 * copy and rename (within a scheme and across file:// ↔ direct://), and buckets (directories):
 * createBucket idempotence, deleteBucket's not-empty / not-found / force behaviour.
 */
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'fs';

import { S3dlioError, copy, rename } from '../../lib';
import { apiMatrix, expectSameBytes, rejectionOf, sandbox, tempFilesIn, testBytes, treeOf } from '../helpers/local';
import { useTempDir } from '../helpers/temp';

const tmp = useTempDir();

describe.each(apiMatrix())('%s', (_label, scheme, api) => {
  const box = (label = 'crb') => sandbox(tmp.path, scheme, label);

  describe('copy', () => {
    test('makes an independent, byte-identical copy (creating parent directories)', async () => {
      const b = box();
      const data = testBytes(300_001, 60);
      writeFileSync(b.path('src.bin'), data);
      await api.copy(b.uri('src.bin'), b.uri('sub/dir/dst.bin'));
      expectSameBytes(readFileSync(b.path('sub/dir/dst.bin')), data);
      expect(statSync(b.path('sub/dir/dst.bin')).ino).not.toBe(statSync(b.path('src.bin')).ino); // not a hard link
      // independent: changing or deleting the source leaves the copy as it was
      writeFileSync(b.path('src.bin'), 'changed');
      expectSameBytes(readFileSync(b.path('sub/dir/dst.bin')), data);
      await api.delete(b.uri('src.bin'));
      expectSameBytes(await api.get(b.uri('sub/dir/dst.bin')), data);
      expect(tempFilesIn(b.dir)).toEqual([]);
    });

    test('overwrites an existing destination', async () => {
      const b = box();
      writeFileSync(b.path('src'), 'new contents');
      writeFileSync(b.path('dst'), 'old contents that are longer');
      await api.copy(b.uri('src'), b.uri('dst'));
      expect(readFileSync(b.path('dst'), 'utf8')).toBe('new contents');
    });

    test('a missing source is ERR_NOT_FOUND and leaves no destination and no temp file', async () => {
      const b = box();
      const error = await rejectionOf(api.copy(b.uri('nope'), b.uri('dst')));
      expect(error).toBeInstanceOf(S3dlioError);
      expect(error).toMatchObject({ code: 'ERR_NOT_FOUND', operation: 'copy', uri: b.uri('nope') });
      expect(existsSync(b.path('dst'))).toBe(false);
      expect(tempFilesIn(b.dir)).toEqual([]);
    });

    test("a destination ending in '/' is ERR_INVALID_URI", async () => {
      const b = box();
      writeFileSync(b.path('src'), 's');
      await expect(api.copy(b.uri('src'), b.uri('dir/'))).rejects.toMatchObject({ code: 'ERR_INVALID_URI' });
      expect(treeOf(b.dir)).toEqual(['src']);
    });
  });

  describe('rename', () => {
    test('moves the object: the source is gone and the destination has the bytes', async () => {
      const b = box();
      const data = testBytes(70_000, 61);
      writeFileSync(b.path('from.bin'), data);
      const inode = statSync(b.path('from.bin')).ino;
      await api.rename(b.uri('from.bin'), b.uri('to/here.bin'));
      expect(existsSync(b.path('from.bin'))).toBe(false);
      expectSameBytes(readFileSync(b.path('to/here.bin')), data);
      // an atomic rename(2) on one filesystem keeps the inode (no copy + delete)
      expect(statSync(b.path('to/here.bin')).ino).toBe(inode);
    });

    test('replaces an existing destination atomically (like fs.renameSync)', async () => {
      const b = box();
      writeFileSync(b.path('a'), 'A');
      writeFileSync(b.path('b'), 'old B');
      await api.rename(b.uri('a'), b.uri('b'), { requireAtomic: true });
      expect(readFileSync(b.path('b'), 'utf8')).toBe('A');
      expect(treeOf(b.dir)).toEqual(['b']);
    });

    test('a missing source is ERR_NOT_FOUND', async () => {
      const b = box();
      await expect(api.rename(b.uri('none'), b.uri('x'))).rejects.toMatchObject({
        code: 'ERR_NOT_FOUND',
        operation: 'rename',
      });
      expect(existsSync(b.path('x'))).toBe(false);
    });

    test('requireAtomic must be a boolean', async () => {
      const b = box();
      writeFileSync(b.path('a'), 'A');
      await expect(
        api.rename(b.uri('a'), b.uri('b'), { requireAtomic: 1 as unknown as boolean }),
      ).rejects.toMatchObject({
        code: 'ERR_INVALID_ARG_TYPE',
      });
      expect(existsSync(b.path('a'))).toBe(true);
    });
  });

  describe('buckets', () => {
    test('createBucket creates the directory (and its parents) and is idempotent', async () => {
      const b = box();
      await api.createBucket(b.uri('bk/nested'));
      expect(statSync(b.path('bk/nested')).isDirectory()).toBe(true);
      writeFileSync(b.path('bk/nested/obj'), 'o');
      await api.createBucket(b.uri('bk/nested'));
      await api.createBucket(b.uri('bk/nested/'));
      expect(readFileSync(b.path('bk/nested/obj'), 'utf8')).toBe('o');
    });

    test('deleteBucket removes an empty bucket', async () => {
      const b = box();
      mkdirSync(b.path('empty'));
      await api.deleteBucket(b.uri('empty'));
      expect(existsSync(b.path('empty'))).toBe(false);
    });

    test('deleteBucket of a non-empty bucket is ERR_BUCKET_NOT_EMPTY and deletes nothing', async () => {
      const b = box();
      mkdirSync(b.path('full/sub'), { recursive: true });
      writeFileSync(b.path('full/sub/x'), 'x');
      const error = await rejectionOf(api.deleteBucket(b.uri('full')));
      expect(error).toBeInstanceOf(S3dlioError);
      expect(error).toMatchObject({ code: 'ERR_BUCKET_NOT_EMPTY', uri: b.uri('full'), operation: 'deleteBucket' });
      expect(error.message).toMatch(/force: true/);
      expect(readFileSync(b.path('full/sub/x'), 'utf8')).toBe('x');
    });

    test('deleteBucket { force: true } deletes the bucket and everything in it', async () => {
      const b = box();
      mkdirSync(b.path('full/sub'), { recursive: true });
      writeFileSync(b.path('full/sub/x'), 'x');
      writeFileSync(b.path('full/y'), 'y');
      await api.deleteBucket(b.uri('full'), { force: true });
      expect(existsSync(b.path('full'))).toBe(false);
    });

    test('deleteBucket of a missing bucket (or of a file) is ERR_BUCKET_NOT_FOUND', async () => {
      const b = box();
      const error = await rejectionOf(api.deleteBucket(b.uri('never')));
      expect(error).toBeInstanceOf(S3dlioError);
      expect(error).toMatchObject({ code: 'ERR_BUCKET_NOT_FOUND', uri: b.uri('never') });
      writeFileSync(b.path('afile'), 'f');
      await expect(api.deleteBucket(b.uri('afile'), { force: true })).rejects.toMatchObject({
        code: 'ERR_BUCKET_NOT_FOUND',
      });
      expect(existsSync(b.path('afile'))).toBe(true);
    });

    test('force must be a boolean', async () => {
      const b = box();
      mkdirSync(b.path('bk'));
      writeFileSync(b.path('bk/x'), 'x');
      await expect(api.deleteBucket(b.uri('bk'), { force: 'yes' as unknown as boolean })).rejects.toMatchObject({
        code: 'ERR_INVALID_ARG_TYPE',
      });
      expect(existsSync(b.path('bk/x'))).toBe(true);
    });
  });
});

describe('across schemes (module functions)', () => {
  test('copy file:// → direct:// and direct:// → file:// produce identical bytes', async () => {
    const b = sandbox(tmp.path, 'file', 'xscheme');
    const data = testBytes(1024 * 1024 + 3, 62);
    writeFileSync(b.path('src.bin'), data);
    await copy(b.uri('src.bin', 'file'), b.uri('d/copy.bin', 'direct'));
    expectSameBytes(readFileSync(b.path('d/copy.bin')), data);
    await copy(b.uri('d/copy.bin', 'direct'), b.uri('back.bin', 'file'));
    expectSameBytes(readFileSync(b.path('back.bin')), data);
    expect(readFileSync(b.path('src.bin')).length).toBe(data.length);
    expect(tempFilesIn(b.dir)).toEqual([]);
  });

  test('rename across schemes without requireAtomic moves the bytes (copy + delete)', async () => {
    const b = sandbox(tmp.path, 'file', 'xscheme');
    const data = testBytes(5000, 63);
    writeFileSync(b.path('a.bin'), data);
    await rename(b.uri('a.bin', 'file'), b.uri('b.bin', 'direct'));
    expect(existsSync(b.path('a.bin'))).toBe(false);
    expectSameBytes(readFileSync(b.path('b.bin')), data);
  });

  test('rename across schemes with { requireAtomic: true } is ERR_CROSS_DEVICE and changes nothing', async () => {
    const b = sandbox(tmp.path, 'file', 'xscheme');
    writeFileSync(b.path('a.bin'), 'a');
    const error = await rejectionOf(rename(b.uri('a.bin', 'file'), b.uri('b.bin', 'direct'), { requireAtomic: true }));
    expect(error).toBeInstanceOf(S3dlioError);
    expect(error).toMatchObject({ code: 'ERR_CROSS_DEVICE', operation: 'rename', uri: b.uri('a.bin', 'file') });
    expect(treeOf(b.dir)).toEqual(['a.bin']);
  });

  test('copy from a missing cross-scheme source is ERR_NOT_FOUND and creates nothing', async () => {
    const b = sandbox(tmp.path, 'file', 'xscheme');
    await expect(copy(b.uri('none', 'direct'), b.uri('x', 'file'))).rejects.toMatchObject({
      code: 'ERR_NOT_FOUND',
      operation: 'copy',
    });
    expect(treeOf(b.dir)).toEqual([]);
  });
});
