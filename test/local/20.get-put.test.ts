/**
 * Whole-object reads and writes: every accepted data type, overwrite, parent creation, atomicity
 * (no temp files, no torn reads), literal keys, and the errors of get/put. Runs on file:// and
 * direct://, through the module functions and through storeFor() methods.
 */
import { readFileSync, readdirSync, writeFileSync, mkdirSync, existsSync } from 'fs';

import { S3dlioError, allocAligned, get, put, storeFor } from '../../lib';
import { apiMatrix, expectSameBytes, rejectionOf, sandbox, tempFilesIn, testBytes, treeOf } from '../helpers/local';
import { useTempDir } from '../helpers/temp';

const tmp = useTempDir();

describe.each(apiMatrix())('%s', (_label, scheme, api) => {
  const box = (label = 'rw') => sandbox(tmp.path, scheme, label);

  describe('put accepts every documented data type', () => {
    test('Uint8Array (and Buffer) round-trip byte-identically', async () => {
      const b = box();
      const data = testBytes(10_000, 3);
      await api.put(b.uri('u8.bin'), data);
      expectSameBytes(readFileSync(b.path('u8.bin')), data, 'file on disk');
      expectSameBytes(await api.get(b.uri('u8.bin')), data, 'get() result');

      await api.put(b.uri('buf.bin'), Buffer.from('buffer bytes'));
      expect(readFileSync(b.path('buf.bin'), 'utf8')).toBe('buffer bytes');
    });

    test('a Uint8Array view with a non-zero byteOffset writes only the viewed bytes', async () => {
      const b = box();
      const backing = testBytes(100, 4);
      const view = new Uint8Array(backing.buffer, 7, 50);
      await api.put(b.uri('view.bin'), view);
      expectSameBytes(readFileSync(b.path('view.bin')), backing.subarray(7, 57));
    });

    test('ArrayBuffer', async () => {
      const b = box();
      const data = testBytes(777, 5);
      const ab = new ArrayBuffer(data.length);
      new Uint8Array(ab).set(data);
      await api.put(b.uri('ab.bin'), ab);
      expectSameBytes(readFileSync(b.path('ab.bin')), data);
    });

    test('other ArrayBufferViews (Int16Array, Float64Array, DataView) write their bytes in memory order', async () => {
      const b = box();
      const i16 = new Int16Array([1, -2, 300, -32768]);
      await api.put(b.uri('i16.bin'), i16);
      expectSameBytes(readFileSync(b.path('i16.bin')), new Uint8Array(i16.buffer));

      const f64 = new Float64Array([Math.PI, -0, Infinity]);
      await api.put(b.uri('f64.bin'), f64);
      expect(readFileSync(b.path('f64.bin')).length).toBe(24);
      expectSameBytes(readFileSync(b.path('f64.bin')), new Uint8Array(f64.buffer));

      const backing = testBytes(64, 6);
      const dv = new DataView(backing.buffer, 10, 20);
      await api.put(b.uri('dv.bin'), dv);
      expectSameBytes(readFileSync(b.path('dv.bin')), backing.subarray(10, 30));
    });

    test('string is written as UTF-8', async () => {
      const b = box();
      const text = 'héllo wörld – 𝔘 ✓\n';
      await api.put(b.uri('s.txt'), text);
      expectSameBytes(readFileSync(b.path('s.txt')), Buffer.from(text, 'utf8'));
      expect(Buffer.from(await api.get(b.uri('s.txt'))).toString('utf8')).toBe(text);
    });

    test('empty data (empty string, empty Uint8Array) creates an empty object', async () => {
      const b = box();
      await api.put(b.uri('e1'), '');
      await api.put(b.uri('e2'), new Uint8Array(0));
      expect(readFileSync(b.path('e1')).length).toBe(0);
      expect(readFileSync(b.path('e2')).length).toBe(0);
      expect((await api.get(b.uri('e1'))).length).toBe(0);
    });

    test('memory from allocAligned() can be written', async () => {
      const b = box();
      const mem = allocAligned(3 * 4096);
      mem.set(testBytes(mem.length, 7));
      await api.put(b.uri('aligned.bin'), mem);
      expectSameBytes(readFileSync(b.path('aligned.bin')), mem);
    });

    test.each([
      ['a number', 42],
      ['null', null],
      ['undefined', undefined],
      ['a plain object', { length: 3 }],
      ['an array of numbers', [1, 2, 3]],
    ])('%s is rejected with TypeError ERR_INVALID_ARG_TYPE and nothing is created', async (_what, data) => {
      const b = box();
      const error = await rejectionOf(api.put(b.uri('bad.bin'), data as unknown as string));
      expect(error).toBeInstanceOf(TypeError);
      expect(error).toMatchObject({ code: 'ERR_INVALID_ARG_TYPE' });
      expect(error.message).toMatch(/^Expected a Uint8Array, ArrayBuffer or string for `data`/);
      expect(treeOf(b.dir)).toEqual([]);
    });
  });

  describe('get', () => {
    test('returns a Uint8Array with exactly the bytes of the file', async () => {
      const b = box();
      const data = testBytes(65_537, 8);
      writeFileSync(b.path('g.bin'), data);
      const got = await api.get(b.uri('g.bin'));
      expect(got).toBeInstanceOf(Uint8Array);
      expect(got.length).toBe(data.length);
      expectSameBytes(got, data);
    });

    test('reads an empty file as 0 bytes', async () => {
      const b = box();
      writeFileSync(b.path('empty'), '');
      expect((await api.get(b.uri('empty'))).length).toBe(0);
    });

    test('a missing object is ERR_NOT_FOUND with uri, operation and the native ENOENT error as cause', async () => {
      const b = box();
      const uri = b.uri('missing.bin');
      const error = await rejectionOf(api.get(uri));
      expect(error).toBeInstanceOf(S3dlioError);
      expect(error).toMatchObject({ code: 'ERR_NOT_FOUND', uri, operation: 'get' });
      expect(error.message).toContain(uri);
      expect(error.cause).toMatchObject({ code: 'ENOENT' });
    });

    test('a path below a regular file is ERR_NOT_FOUND', async () => {
      const b = box();
      writeFileSync(b.path('file'), 'x');
      await expect(api.get(b.uri('file/child'))).rejects.toMatchObject({ code: 'ERR_NOT_FOUND' });
    });

    test('a directory is ERR_IS_DIRECTORY (with and without trailing slash)', async () => {
      const b = box();
      mkdirSync(b.path('dir'));
      await expect(api.get(b.uri('dir'))).rejects.toMatchObject({ code: 'ERR_IS_DIRECTORY', operation: 'get' });
      await expect(api.get(b.uri('dir/'))).rejects.toMatchObject({ code: 'ERR_IS_DIRECTORY' });
    });
  });

  describe('put semantics', () => {
    test('overwrite replaces the whole object (a shorter object leaves no trailing old bytes)', async () => {
      const b = box();
      await api.put(b.uri('o.bin'), testBytes(10_000, 1));
      const shorter = testBytes(1_000, 2);
      await api.put(b.uri('o.bin'), shorter);
      expectSameBytes(readFileSync(b.path('o.bin')), shorter);
      const longer = testBytes(20_000, 3);
      await api.put(b.uri('o.bin'), longer);
      expectSameBytes(await api.get(b.uri('o.bin')), longer);
      expect(tempFilesIn(b.dir)).toEqual([]);
    });

    test('creates missing parent directories', async () => {
      const b = box();
      await api.put(b.uri('deep/er/still/x.bin'), 'nested');
      expect(readFileSync(b.path('deep/er/still/x.bin'), 'utf8')).toBe('nested');
    });

    test("a URI ending in '/' is ERR_INVALID_URI and creates nothing", async () => {
      const b = box();
      const error = await rejectionOf(api.put(b.uri('dir/'), 'x'));
      expect(error).toBeInstanceOf(S3dlioError);
      expect(error).toMatchObject({ code: 'ERR_INVALID_URI' });
      expect(error.message).toMatch(/cannot end with '\/'/);
      expect(treeOf(b.dir)).toEqual([]);
    });

    test('a put that fails (destination is a directory) leaves no temp file and keeps the directory', async () => {
      const b = box();
      mkdirSync(b.path('taken/inner'), { recursive: true });
      const error = await rejectionOf(api.put(b.uri('taken'), testBytes(5000)));
      expect(error).toBeInstanceOf(S3dlioError);
      expect(error).toMatchObject({ code: 'ERR_IS_DIRECTORY', operation: 'put' });
      expect(treeOf(b.dir)).toEqual(['taken/', 'taken/inner/']);
    });

    test('a put below a regular file fails, leaving no temp file anywhere', async () => {
      const b = box();
      writeFileSync(b.path('plain'), 'x');
      const error = await rejectionOf(api.put(b.uri('plain/child.bin'), 'y'));
      expect(error).toBeInstanceOf(S3dlioError);
      expect(error.operation).toBe('put');
      expect(treeOf(b.dir)).toEqual(['plain']);
    });

    test('concurrent puts to one key: the result is exactly one of the versions and no temp file remains', async () => {
      const b = box();
      const versions = Array.from({ length: 12 }, (_, i) => testBytes(40_000 + i * 513, 100 + i));
      await Promise.all(versions.map((v) => api.put(b.uri('race.bin'), v)));
      const final = readFileSync(b.path('race.bin'));
      expect(versions.some((v) => Buffer.from(v).equals(final))).toBe(true);
      expect(readdirSync(b.dir)).toEqual(['race.bin']);
    });

    test('readers never see a half-written object while it is being overwritten', async () => {
      const b = box();
      const size = 2 * 1024 * 1024 + 3;
      const one = new Uint8Array(size).fill(1);
      const two = new Uint8Array(size).fill(2);
      await api.put(b.uri('torn.bin'), one);
      const reads: Promise<Uint8Array>[] = [];
      const writes: Promise<void>[] = [];
      for (let i = 0; i < 6; i++) {
        writes.push(api.put(b.uri('torn.bin'), i % 2 ? one : two));
        reads.push(api.get(b.uri('torn.bin')));
      }
      await Promise.all(writes);
      for (const got of await Promise.all(reads)) {
        expect(got.length).toBe(size);
        const first = got[0];
        expect([1, 2]).toContain(first);
        // every byte equals the first: the read saw one complete version
        expect(got.every((x) => x === first)).toBe(true);
      }
      expect(tempFilesIn(b.dir)).toEqual([]);
    });
  });

  describe('keys are literal', () => {
    test.each([
      ['spaces', 'with space/a b.bin'],
      ['unicode', 'données/ünï 𝔘.bin'],
      ['percent', 'pct/100%25 done%2e%2e.bin'],
      ['plus', 'plus/a+b.bin'],
      ['hash', 'hash/a#b.bin'],
      ['question mark', 'q/a?b=c.bin'],
      ['leading dot (hidden file)', 'dot/.hidden'],
    ])('%s: round-trips and lands on disk under the exact name', async (_what, key) => {
      const b = box('keys');
      const data = testBytes(300, key.length);
      await api.put(b.uri(key), data);
      expect(existsSync(b.path(key))).toBe(true);
      expectSameBytes(readFileSync(b.path(key)), data);
      expectSameBytes(await api.get(b.uri(key)), data);
      expect(await api.list(b.uri(), { recursive: true })).toEqual([b.uri(key)]);
    });
  });
});

test('file:// and direct:// address the same files', async () => {
  const b = sandbox(tmp.path, 'file', 'cross');
  const data = testBytes(12_345, 9);
  await put(b.uri('x.bin'), data);
  expectSameBytes(await get(b.uri('x.bin', 'direct')), data);
  await put(b.uri('y.bin', 'direct'), data);
  expectSameBytes(await get(b.uri('y.bin')), data);
});

test('a store only takes URIs of its own scheme', async () => {
  const b = sandbox(tmp.path, 'file', 'scheme');
  writeFileSync(b.path('a'), 'a');
  const fileStore = storeFor('file:///');
  const error = await rejectionOf(fileStore.get(b.uri('a', 'direct')));
  expect(error).toMatchObject({ code: 'ERR_INVALID_URI' });
  expect(error.message).toMatch(/only takes file:\/\/ URIs/);
  await expect(storeFor('direct:///').put(b.uri('z'), 'z')).rejects.toMatchObject({ code: 'ERR_INVALID_URI' });
  expect(existsSync(b.path('z'))).toBe(false);
});
