/**
 * direct:// specifics: exact sizes for unaligned writes, writes from aligned and unaligned memory,
 * directIoInfo, allocAligned, and tmpfs (/dev/shm), where O_DIRECT must be refused with
 * ERR_DIRECT_IO_UNSUPPORTED unless a store opts into the buffered fallback (warning once).
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'fs';
import * as path from 'path';

import {
  BatchError,
  DirectStore,
  S3dlioError,
  allocAligned,
  buildInfo,
  directIoInfo,
  get,
  getRange,
  put,
  putMany,
  storeFor,
} from '../../lib';
import { runNodeJson } from '../helpers/child';
import { expectSameBytes, rejectionOf, sandbox, testBytes } from '../helpers/local';
import { useTempDir } from '../helpers/temp';

const tmp = useTempDir();
const MiB = 1024 * 1024;
const SIZES = [0, 1, 511, 512, 513, 4095, 4096, 4097, MiB + 3];

describe('direct:// writes produce files of exactly the written size, byte-identical', () => {
  test.each(SIZES)('%i bytes from ordinary JS memory', async (size) => {
    const b = sandbox(tmp.path, 'direct', 'size');
    const data = testBytes(size, size + 1);
    await put(b.uri('x.bin'), data);
    expect(statSync(b.path('x.bin')).size).toBe(size);
    expectSameBytes(readFileSync(b.path('x.bin')), data, `file written by direct:// put (${size} bytes)`);
    expectSameBytes(await get(b.uri('x.bin')), data, `direct:// get (${size} bytes)`);
    expect(readdirSync(b.dir)).toEqual(['x.bin']);
  });

  test.each(SIZES.filter((s) => s > 0))('%i bytes from allocAligned() memory', async (size) => {
    const b = sandbox(tmp.path, 'direct', 'aligned');
    const mem = allocAligned(size);
    mem.set(testBytes(size, size + 2));
    await put(b.uri('x.bin'), mem);
    expect(statSync(b.path('x.bin')).size).toBe(size);
    expectSameBytes(readFileSync(b.path('x.bin')), mem);
  });

  test('from a view at an odd offset into aligned memory (misaligned source pointer)', async () => {
    const b = sandbox(tmp.path, 'direct', 'misaligned');
    const mem = allocAligned(3 * 4096 + 64);
    mem.set(testBytes(mem.length, 9));
    const view = mem.subarray(1, 1 + 2 * 4096 + 7);
    await put(b.uri('x.bin'), view);
    expectSameBytes(readFileSync(b.path('x.bin')), view);
  });

  test('with a small chunkSize (many aligned chunks plus an unaligned tail)', async () => {
    const b = sandbox(tmp.path, 'direct', 'chunks');
    const store = new DirectStore({ chunkSize: 8192 });
    const data = testBytes(5 * 8192 + 4097, 10);
    await store.put(b.uri('x.bin'), data);
    expectSameBytes(readFileSync(b.path('x.bin')), data);
    expectSameBytes(await store.get(b.uri('x.bin')), data);
  });

  test('overwriting a large object with a small unaligned one leaves exactly the small one', async () => {
    const b = sandbox(tmp.path, 'direct', 'shrink');
    await put(b.uri('x.bin'), testBytes(MiB, 11));
    const small = testBytes(513, 12);
    await put(b.uri('x.bin'), small);
    expectSameBytes(readFileSync(b.path('x.bin')), small);
  });

  test('a direct:// write is readable through file:// and vice versa', async () => {
    const b = sandbox(tmp.path, 'direct', 'interop');
    const data = testBytes(4097, 13);
    await put(b.uri('d.bin'), data);
    expectSameBytes(await get(b.uri('d.bin', 'file')), data);
    expectSameBytes(await getRange(b.uri('d.bin'), 4095, 2), data.subarray(4095, 4097));
  });
});

describe('allocAligned', () => {
  test('returns zero-filled memory of the requested size', () => {
    const mem = allocAligned(10_000, 512);
    expect(mem).toBeInstanceOf(Uint8Array);
    expect(mem.length).toBe(10_000);
    expect(mem.every((x) => x === 0)).toBe(true);
    expect(allocAligned(1).length).toBe(1);
  });

  test.each([
    ['size 0', () => allocAligned(0), RangeError],
    ['size -1', () => allocAligned(-1), RangeError],
    ['size 1.5', () => allocAligned(1.5), RangeError],
    ['size "8"', () => allocAligned('8' as unknown as number), TypeError],
    ['alignment 3 (not a power of two)', () => allocAligned(8, 3), RangeError],
    ['alignment 2 MiB (too large)', () => allocAligned(8, 2 * MiB), RangeError],
  ])('%s is refused', (_what, call, type) => {
    expect(call).toThrow(type);
  });
});

describe('directIoInfo and buildInfo', () => {
  test('buildInfo reports O_DIRECT support on this Linux build', () => {
    const info = buildInfo();
    expect(info.directIo).toBe(true);
    expect(typeof info.sourceHash).toBe('string');
  });

  test.each(['direct:///tmp', 'file:///tmp'])('%s: supported, with power-of-two alignments', async (uri) => {
    const info = await directIoInfo(uri);
    expect(info.supported).toBe(true);
    for (const a of [info.memoryAlignment, info.offsetAlignment]) {
      expect(a).toBeGreaterThan(0);
      expect(a & (a - 1)).toBe(0);
    }
    expect(info.reason).toBeUndefined();
  });

  test('on a regular file and on a directory of the ext4 test dir: supported, and the probe leaves no file behind', async () => {
    const b = sandbox(tmp.path, 'direct', 'probe');
    writeFileSync(b.path('probe-file'), 'x');
    expect((await directIoInfo(b.uri('probe-file'))).supported).toBe(true);
    expect((await directIoInfo(b.uri())).supported).toBe(true);
    expect(readdirSync(b.dir)).toEqual(['probe-file']);
  });

  test('/dev/shm (tmpfs): not supported, with a reason', async () => {
    const info = await directIoInfo('direct:///dev/shm');
    expect(info.supported).toBe(false);
    expect(info.reason).toMatch(/tmpfs/);
  });

  test('a missing path is ERR_NOT_FOUND; a cloud URI is ERR_INVALID_URI', async () => {
    await expect(directIoInfo(tmp.uri('direct', 'no/such/thing'))).rejects.toMatchObject({ code: 'ERR_NOT_FOUND' });
    await expect(directIoInfo('s3://bucket/key')).rejects.toMatchObject({ code: 'ERR_INVALID_URI' });
  });
});

describe('direct:// on tmpfs (/dev/shm)', () => {
  let shm = '';
  beforeAll(() => {
    shm = mkdtempSync('/dev/shm/s3dlio-test-');
    writeFileSync(path.join(shm, 'existing.bin'), testBytes(5000, 14));
  });
  afterAll(() => {
    if (shm) rmSync(shm, { recursive: true, force: true });
  });

  test('get rejects with ERR_DIRECT_IO_UNSUPPORTED naming the path', async () => {
    const uri = `direct://${shm}/existing.bin`;
    const error = await rejectionOf(get(uri));
    expect(error).toBeInstanceOf(S3dlioError);
    expect(error).toMatchObject({ code: 'ERR_DIRECT_IO_UNSUPPORTED', uri, operation: 'get' });
    expect(error.message).toContain(`${shm}/existing.bin`);
    await expect(getRange(uri, 1, 10)).rejects.toMatchObject({ code: 'ERR_DIRECT_IO_UNSUPPORTED' });
  });

  test('put rejects with ERR_DIRECT_IO_UNSUPPORTED naming the path, and leaves no object and no temp file', async () => {
    const uri = `direct://${shm}/new.bin`;
    const error = await rejectionOf(put(uri, testBytes(10_000, 15)));
    expect(error).toBeInstanceOf(S3dlioError);
    expect(error).toMatchObject({ code: 'ERR_DIRECT_IO_UNSUPPORTED', uri, operation: 'put' });
    expect(error.message).toContain(`${shm}/new.bin`);
    expect(readdirSync(shm)).toEqual(['existing.bin']);
  });

  test('putMany reports ERR_DIRECT_IO_UNSUPPORTED for every item and writes nothing', async () => {
    const error = await rejectionOf(
      putMany([
        { uri: `direct://${shm}/a`, data: 'a' },
        { uri: `direct://${shm}/b`, data: 'b' },
      ]),
    );
    expect(error).toBeInstanceOf(BatchError);
    expect((error as BatchError).errors.map((e) => e.code)).toEqual([
      'ERR_DIRECT_IO_UNSUPPORTED',
      'ERR_DIRECT_IO_UNSUPPORTED',
    ]);
    expect(readdirSync(shm)).toEqual(['existing.bin']);
  });

  test('file:// works there (the refusal is specific to O_DIRECT)', async () => {
    await put(`file://${shm}/buffered.bin`, 'ok');
    expect(Buffer.from(await get(`file://${shm}/buffered.bin`)).toString()).toBe('ok');
    rmSync(`${shm}/buffered.bin`);
  });

  test('storeFor(uri, { allowBufferedFallback: true }): get and put succeed', async () => {
    const store = storeFor(`direct://${shm}/`, { allowBufferedFallback: true });
    expect(store).toBeInstanceOf(DirectStore);
    const data = testBytes(7777, 16);
    await store.put(`direct://${shm}/fallback.bin`, data);
    expectSameBytes(readFileSync(`${shm}/fallback.bin`), data);
    expectSameBytes(await store.get(`direct://${shm}/existing.bin`), testBytes(5000, 14));
    rmSync(`${shm}/fallback.bin`, { force: true });
  });

  test('allowBufferedFallback must be a boolean', () => {
    expect(() => storeFor('direct:///dev/shm/', { allowBufferedFallback: 1 as unknown as boolean })).toThrow(TypeError);
  });

  test('in a fresh process: fallback works and emits exactly ONE S3DLIO_DIRECT_IO_FALLBACK warning for many calls', async () => {
    // The warning is emitted once per process, so this needs a process of its own.
    const result = await runNodeJson<{
      warnings: Array<{ name: string; code: string; message: string }>;
      roundTrip: boolean;
      strictCode: string;
      sizes: number[];
    }>(
      `
      const s = require(LIB);
      const warnings = [];
      process.on('warning', (w) => warnings.push({ name: w.name, code: w.code, message: w.message }));
      (async () => {
        const dir = ARGS.dir;
        const store = s.storeFor('direct://' + dir + '/', { allowBufferedFallback: true });
        const data = new Uint8Array(5000).map((_, i) => (i * 7) & 255);
        await store.put('direct://' + dir + '/w1.bin', data);
        await store.put('direct://' + dir + '/w2.bin', 'second');
        const back = await store.get('direct://' + dir + '/w1.bin');
        const range = await store.getRange('direct://' + dir + '/w1.bin', 1, 100);
        const many = await store.getMany(['direct://' + dir + '/w1.bin', 'direct://' + dir + '/w2.bin']);
        const other = s.storeFor('direct://' + dir + '/', { allowBufferedFallback: true });
        await other.get('direct://' + dir + '/w2.bin');
        const strict = await s.get('direct://' + dir + '/w1.bin').catch((e) => e);
        await new Promise((r) => setImmediate(r)); // warnings are emitted on process.nextTick
        console.log('RESULT ' + JSON.stringify({
          warnings,
          roundTrip: Buffer.from(back).equals(Buffer.from(data)) && Buffer.from(range).equals(Buffer.from(data.subarray(1, 101))),
          strictCode: strict && strict.code,
          sizes: many.map((x) => x.length),
        }));
      })().catch((e) => { console.error(e); process.exit(1); });
      `,
      { dir: shm },
    );
    expect(result.roundTrip).toBe(true);
    expect(result.sizes).toEqual([5000, 6]);
    expect(result.strictCode).toBe('ERR_DIRECT_IO_UNSUPPORTED'); // the default store does not fall back
    const fallbackWarnings = result.warnings.filter((w) => w.code === 'S3DLIO_DIRECT_IO_FALLBACK');
    expect(fallbackWarnings).toHaveLength(1);
    expect(fallbackWarnings[0].message).toContain(shm);
    expect(fallbackWarnings[0].message).toMatch(/allowBufferedFallback/);
    expect(readdirSync(shm).filter((n) => n.startsWith('.'))).toEqual([]);
  });
});
