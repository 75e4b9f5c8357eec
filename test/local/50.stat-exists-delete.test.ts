/**
 * stat, exists, delete, deleteMany (single-store behaviour) and deletePrefix: counts, pruning of
 * emptied directories, and the refusal to work on the filesystem root.
 */
import { existsSync, mkdirSync, utimesSync, writeFileSync } from 'fs';

import { S3dlioError, deleteBucket, deletePrefix } from '../../lib';
import { apiMatrix, rejectionOf, sandbox, treeOf } from '../helpers/local';
import { useTempDir } from '../helpers/temp';

const tmp = useTempDir();

describe.each(apiMatrix())('%s', (_label, scheme, api) => {
  const box = (label = 'sed') => sandbox(tmp.path, scheme, label);

  describe('stat', () => {
    test('size, lastModified (a Date equal to the mtime) and the uri', async () => {
      const b = box();
      writeFileSync(b.path('s.bin'), Buffer.alloc(12_345, 7));
      const mtime = new Date('2021-03-04T05:06:07.000Z');
      utimesSync(b.path('s.bin'), mtime, mtime);
      const st = await api.stat(b.uri('s.bin'));
      expect(st.uri).toBe(b.uri('s.bin'));
      expect(st.size).toBe(12_345);
      // (a realm-independent Date check: fs.Stats dates come from Node's realm, not jest's)
      expect(Object.prototype.toString.call(st.lastModified)).toBe('[object Date]');
      expect(st.lastModified.getTime()).toBe(mtime.getTime());
    });

    test('an empty object has size 0', async () => {
      const b = box();
      await api.put(b.uri('e'), '');
      expect((await api.stat(b.uri('e'))).size).toBe(0);
    });

    test('missing → ERR_NOT_FOUND; directory → ERR_IS_DIRECTORY', async () => {
      const b = box();
      const missing = await rejectionOf(api.stat(b.uri('nope')));
      expect(missing).toBeInstanceOf(S3dlioError);
      expect(missing).toMatchObject({ code: 'ERR_NOT_FOUND', operation: 'stat', uri: b.uri('nope') });
      expect(missing.cause).toMatchObject({ code: 'ENOENT' });
      mkdirSync(b.path('d'));
      await expect(api.stat(b.uri('d'))).rejects.toMatchObject({ code: 'ERR_IS_DIRECTORY', operation: 'stat' });
    });
  });

  describe('exists', () => {
    test('true for an object, false for missing, for a directory, and below a file', async () => {
      const b = box();
      writeFileSync(b.path('here'), 'x');
      mkdirSync(b.path('dir'));
      expect(await api.exists(b.uri('here'))).toBe(true);
      expect(await api.exists(b.uri('not-here'))).toBe(false);
      expect(await api.exists(b.uri('dir'))).toBe(false);
      expect(await api.exists(b.uri('dir/'))).toBe(false);
      expect(await api.exists(b.uri('here/child'))).toBe(false);
      expect(await api.exists(b.uri('no/such/parent/x'))).toBe(false);
    });

    test('follows put and delete', async () => {
      const b = box();
      expect(await api.exists(b.uri('x'))).toBe(false);
      await api.put(b.uri('x'), 'x');
      expect(await api.exists(b.uri('x'))).toBe(true);
      await api.delete(b.uri('x'));
      expect(await api.exists(b.uri('x'))).toBe(false);
    });
  });

  describe('delete', () => {
    test('removes the file', async () => {
      const b = box();
      writeFileSync(b.path('d.bin'), 'x');
      await api.delete(b.uri('d.bin'));
      expect(existsSync(b.path('d.bin'))).toBe(false);
    });

    test('a missing object is ERR_NOT_FOUND with uri and operation', async () => {
      const b = box();
      const error = await rejectionOf(api.delete(b.uri('gone')));
      expect(error).toBeInstanceOf(S3dlioError);
      expect(error).toMatchObject({ code: 'ERR_NOT_FOUND', uri: b.uri('gone'), operation: 'delete' });
    });

    test('a directory is not an object: delete refuses it and it stays', async () => {
      const b = box();
      mkdirSync(b.path('dir'));
      const error = await rejectionOf(api.delete(b.uri('dir')));
      expect(error).toBeInstanceOf(S3dlioError);
      expect(existsSync(b.path('dir'))).toBe(true);
    });
  });

  describe('deleteMany (one store)', () => {
    test('deletes all and resolves to the count', async () => {
      const b = box();
      const uris = ['a', 'b', 'c/d'].map((k) => b.uri(k));
      for (const k of ['a', 'b', 'c/d']) {
        mkdirSync(b.path(k.includes('/') ? 'c' : ''), { recursive: true });
        writeFileSync(b.path(k), k);
      }
      expect(await api.deleteMany(uris)).toBe(3);
      expect(treeOf(b.dir)).toEqual(['c/']);
      expect(await api.deleteMany([])).toBe(0);
    });
  });

  describe('deletePrefix', () => {
    function populate(dir: string): void {
      mkdirSync(`${dir}/p/q/r`, { recursive: true });
      mkdirSync(`${dir}/pp`, { recursive: true });
      mkdirSync(`${dir}/other`, { recursive: true });
      for (const f of ['p/1', 'p/q/2', 'p/q/r/3', 'p.txt', 'pp/4', 'other/5', 'top']) writeFileSync(`${dir}/${f}`, f);
    }

    test('with a trailing slash: deletes everything below, returns the count, prunes emptied sub-directories', async () => {
      const b = box();
      populate(b.dir);
      expect(await api.deletePrefix(b.uri('p/'))).toBe(3);
      const left = treeOf(b.dir);
      expect(left).not.toContain('p/q/');
      expect(left).not.toContain('p/q/r/');
      expect(left.filter((x) => x.startsWith('p/') && x !== 'p/')).toEqual([]);
      expect(left).toEqual(expect.arrayContaining(['p.txt', 'pp/', 'pp/4', 'other/', 'other/5', 'top']));
      expect(await api.list(b.uri('p/'), { recursive: true })).toEqual([]);
    });

    test('without a trailing slash: S3 key-prefix semantics (p/, p.txt and pp/ all go; other/ stays)', async () => {
      const b = box();
      populate(b.dir);
      expect(await api.deletePrefix(b.uri('p'))).toBe(5);
      expect(treeOf(b.dir)).toEqual(['other/', 'other/5', 'top']);
    });

    test('a missing prefix deletes nothing and resolves to 0', async () => {
      const b = box();
      writeFileSync(b.path('keep'), 'k');
      expect(await api.deletePrefix(b.uri('absent/'))).toBe(0);
      expect(await api.deletePrefix(b.uri('zz'))).toBe(0);
      expect(treeOf(b.dir)).toEqual(['keep']);
    });

    test('removes many files (more than one internal batch)', async () => {
      const b = box();
      mkdirSync(b.path('many/x'), { recursive: true });
      for (let i = 0; i < 1010; i++) writeFileSync(b.path(`many/${i % 2 ? 'x/' : ''}${i}`), '');
      expect(await api.deletePrefix(b.uri('many/'), { concurrency: 8 })).toBe(1010);
      expect(await api.list(b.uri('many/'), { recursive: true })).toEqual([]);
      expect(existsSync(b.path('many/x'))).toBe(false);
    });

    test('concurrency is validated', async () => {
      const b = box();
      await expect(api.deletePrefix(b.uri('x/'), { concurrency: 0 })).rejects.toMatchObject({
        code: 'ERR_OUT_OF_RANGE',
      });
      await expect(api.deletePrefix(b.uri('x/'), { concurrency: '2' as unknown as number })).rejects.toMatchObject({
        code: 'ERR_INVALID_ARG_TYPE',
      });
    });
  });
});

describe('the filesystem root is refused', () => {
  // Safety net for these tests: the signal is aborted right after the call, so even if the guard
  // regressed the implementation would stop before deleting anything (it checks the signal before
  // each unlink). The assertions still require the guard's own error, not ERR_ABORTED.
  async function guardedDeletePrefix(uri: string): Promise<unknown> {
    const controller = new AbortController();
    const promise = deletePrefix(uri, { signal: controller.signal });
    controller.abort(new Error('test safety net'));
    return rejectionOf(promise);
  }

  test.each(['file:///', 'direct:///'])('deletePrefix(%j) → S3dlioError ERR_PROTECTED_PATH', async (uri) => {
    const error = await guardedDeletePrefix(uri);
    expect(error).toBeInstanceOf(S3dlioError);
    expect(error).toMatchObject({ code: 'ERR_PROTECTED_PATH', operation: 'deletePrefix', uri });
    expect((error as Error).message).toMatch(/everything in \/, the filesystem root/);
  });

  test.each(['file:////', 'direct:////', 'file://///'])(
    'deletePrefix(%j), the root spelled with extra slashes, is refused too',
    async (uri) => {
      const error = await guardedDeletePrefix(uri);
      expect(error).toMatchObject({ code: 'ERR_PROTECTED_PATH' });
    },
  );

  test.each(['file:///', 'file:////'])(
    'deleteBucket(%j) is refused (no force: nothing could be removed anyway)',
    async (uri) => {
      const error = await rejectionOf(deleteBucket(uri));
      expect(error).toMatchObject({ code: 'ERR_PROTECTED_PATH', operation: 'deleteBucket' });
      expect((error as Error).message).toMatch(/the filesystem root/);
    },
  );
});
