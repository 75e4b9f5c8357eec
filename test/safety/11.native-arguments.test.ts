/**
 * Every C++ entry point checks its own arguments (native/args.h): lib/native.ts passes valid input,
 * but a mistake there, or code reaching the addon directly, must get a JS TypeError/RangeError with
 * a code — never a crash, a hang, a silently defaulted option or an empty write. These tests call
 * the raw addon functions (the very module lib/native.ts loaded, without its typed wrappers) with
 * wrong input, and check that nothing was queued: no file, no temporary file.
 */
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'fs';

import * as native from '../../lib/native';
import { allocAligned, fillRandom, generateData, getMany, storeFor } from '../../lib';
import { useTempDir } from '../helpers/temp';

const tmp = useTempDir('s3dlio-safety-args-');

// The raw functions, any argument allowed: the very binary lib/native.ts loaded.
type Loose = (...args: unknown[]) => unknown;
const raw = require(native.ADDON_PATH) as Record<string, Loose>;

interface Expected {
  name: 'TypeError' | 'RangeError' | 'Error';
  code: string;
  message?: RegExp;
}
const TYPE = (message?: RegExp): Expected => ({ name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE', message });
const RANGE = (message?: RegExp): Expected => ({ name: 'RangeError', code: 'ERR_OUT_OF_RANGE', message });
const VALUE = (message?: RegExp): Expected => ({ name: 'RangeError', code: 'ERR_INVALID_ARG_VALUE', message });

/** Calls `fn(...args)`: it must throw synchronously, as described. */
function expectThrow(fn: string, args: unknown[], expected: Expected): void {
  let thrown: unknown;
  let returned: unknown;
  try {
    returned = raw[fn](...args);
  } catch (error) {
    thrown = error;
  }
  if (thrown === undefined) {
    // A promise means a job was queued: exactly what must not happen.
    (returned as Promise<unknown> | undefined)?.catch?.(() => undefined);
    throw new Error(`${fn}(${describeArgs(args)}) did not throw (returned ${String(returned)})`);
  }
  const error = thrown as Error & { code?: string };
  expect({ name: error.name, code: error.code }).toEqual({ name: expected.name, code: expected.code });
  if (expected.message) expect(error.message).toMatch(expected.message);
}

function describeArgs(args: unknown[]): string {
  return args
    .map((arg) => (typeof arg === 'string' ? JSON.stringify(arg) : Object.prototype.toString.call(arg)))
    .join(', ');
}

function detachedView(size = 16): Uint8Array {
  const buffer = new ArrayBuffer(size);
  const view = new Uint8Array(buffer);
  structuredClone(buffer, { transfer: [buffer] });
  return view;
}

const notShared = new Int32Array(1);
const sharedFlag = new Int32Array(new SharedArrayBuffer(4));

// Option values each numeric field must refuse, with the error they get.
const BAD_NUMBERS: Array<[unknown, Expected]> = [
  ['1', TYPE()],
  [null, TYPE()],
  [true, TYPE()],
  [10n, TYPE()],
  [Number.NaN, RANGE()],
  [Number.POSITIVE_INFINITY, RANGE()],
  [1.5, RANGE()],
  [2 ** 64, RANGE()],
];

describe('readFile / readFiles', () => {
  const file = (): string => `${tmp.path}/read.bin`;
  beforeAll(() => writeFileSync(file(), 'hello'));

  test.each([
    [[], TYPE(/readFile takes 2 to 3 arguments but received 0/)],
    [['/x', {}, undefined, 'extra'], TYPE(/takes 2 to 3 arguments but received 4/)],
    [[42, {}], TYPE(/`path`/)],
    [['', {}], VALUE(/`path`/)],
    [['/tmp/a\0b', {}], VALUE(/NUL/)],
    [['/x', null], TYPE(/`options`/)],
    [['/x', []], TYPE(/`options`/)],
    [['/x', 'direct'], TYPE(/`options`/)],
    [['/x', {}, notShared], TYPE(/SharedArrayBuffer/)],
    [['/x', {}, new Float64Array(new SharedArrayBuffer(8))], TYPE(/cancelFlag/)],
    [['/x', {}, new Int32Array(new SharedArrayBuffer(0))], VALUE(/cancelFlag/)],
    [['/x', {}, 1], TYPE(/cancelFlag/)],
    [['/x', { direct: 'yes' }], TYPE(/options\.direct/)],
    [['/x', { alignment: 3 }], VALUE(/options\.alignment/)],
    [['/x', { alignment: 2 ** 21 }], RANGE(/options\.alignment/)],
    [['/x', { cacheMode: 5 }], RANGE(/options\.cacheMode/)],
    [['/x', { cacheMode: -1 }], RANGE(/options\.cacheMode/)],
    [['/x', { offset: -1 }], RANGE(/options\.offset/)],
    [['/x', { offset: 2 ** 53 }], RANGE(/options\.offset/)],
    [['/x', { length: -2 }], RANGE(/options\.length/)],
    [['/x', { chunkSize: 0 }], RANGE(/options\.chunkSize/)],
    [['/x', { chunkSize: 2 ** 31 }], RANGE(/options\.chunkSize/)],
    [['/x', { maxLength: -5 }], RANGE(/options\.maxLength/)],
    [['/x', { directThreads: 0 }], RANGE(/options\.directThreads/)],
    [['/x', { directThreads: 257 }], RANGE(/options\.directThreads/)],
  ])('readFile(%p) throws', (args, expected) => {
    expectThrow('readFile', args as unknown[], expected);
  });

  test.each(BAD_NUMBERS)('readFile option chunkSize = %p is refused, never defaulted', (value, expected) => {
    expectThrow('readFile', [file(), { chunkSize: value }], expected);
  });

  test.each([
    [['/x'], TYPE(/2 to 3 arguments/)],
    [['/x', {}], TYPE(/`paths`/)],
    [[['/x', 7], {}], TYPE(/paths\[1\]/)],
    [[['/x', ''], {}], VALUE(/paths\[1\]/)],
    [[['/x'], { threads: 0 }], RANGE(/options\.threads/)],
    [[['/x'], { threads: 257 }], RANGE(/from 1 to 256 for `options.threads`/)],
    [[['/x'], { threads: 1e9 }], RANGE(/options\.threads/)],
    [[['/x'], { threads: '4' }], TYPE(/options\.threads/)],
    [[['/x'], {}, notShared], TYPE(/cancelFlag/)],
  ])('readFiles(%p) throws', (args, expected) => {
    expectThrow('readFiles', args as unknown[], expected);
  });

  test('a sparse paths array claiming 2^32 - 1 elements is a TypeError, not an allocation that aborts', () => {
    const sparse: string[] = [];
    sparse.length = 2 ** 32 - 1;
    expectThrow('readFiles', [sparse, {}], TYPE(/paths\[0\]/));
  });

  test('an option getter that throws is reported, and nothing is queued', () => {
    const options = Object.defineProperty({}, 'chunkSize', {
      get() {
        throw new Error('getter failed');
      },
    });
    expect(() => raw.readFile(file(), options)).toThrow('getter failed');
  });

  test('valid calls still work, including the limits', async () => {
    const result = (await raw.readFile(file(), {
      chunkSize: 2 ** 30,
      directThreads: 256,
      alignment: 0,
      offset: 1,
      length: -1,
      maxLength: 100,
    })) as native.NativeReadResult;
    expect(Buffer.from(result.buffer, result.byteOffset, result.length).toString()).toBe('ello');
    const many = (await raw.readFiles([file()], { threads: 256 }, sharedFlag)) as native.NativeReadResult[];
    expect(many[0].length).toBe(5);
  });
});

describe('writeFile / copyFile: a refused call writes nothing', () => {
  const dir = (): string => `${tmp.path}/writes`;
  beforeAll(() => mkdirSync(dir(), { recursive: true }));
  afterEach(() => {
    // No object, no temporary file: nothing was queued.
    expect(readdirSync(dir())).toEqual([]);
  });

  test.each([
    [[], TYPE(/3 to 4 arguments/)],
    [['OBJ', 'text', {}], TYPE(/`data`/)],
    [['OBJ', new ArrayBuffer(4), {}], TYPE(/`data`/)],
    [['OBJ', new Float32Array(4), {}], TYPE(/`data`/)],
    [['OBJ', new DataView(new ArrayBuffer(4)), {}], TYPE(/`data`/)],
    [['OBJ', new Uint8Array(4), null], TYPE(/`options`/)],
    [['OBJ', new Uint8Array(4), { fsync: 1 }], TYPE(/options\.fsync/)],
    [['OBJ', new Uint8Array(4), { direct: null }], TYPE(/options\.direct/)],
    [['OBJ', new Uint8Array(4), { chunkSize: -1 }], RANGE(/options\.chunkSize/)],
    [['OBJ', new Uint8Array(4), { chunkSize: 0.5 }], RANGE(/options\.chunkSize/)],
    [['OBJ', new Uint8Array(4), { alignment: 1000 }], VALUE(/options\.alignment/)],
    [['OBJ', new Uint8Array(4), {}, notShared], TYPE(/cancelFlag/)],
    [['OBJ\0', new Uint8Array(4), {}], VALUE(/NUL/)],
  ])('writeFile(%p) throws', (args, expected) => {
    const list = [...(args as unknown[])];
    if (typeof list[0] === 'string') list[0] = `${dir()}/${list[0]}`;
    expectThrow('writeFile', list, expected);
  });

  test('a detached view is refused with ERR_BUFFER_DETACHED, not written as 0 bytes', () => {
    expectThrow('writeFile', [`${dir()}/obj`, detachedView(), {}], {
      name: 'Error',
      code: 'ERR_BUFFER_DETACHED',
    });
  });

  test('an option getter that detaches the data buffer cannot make the job write freed memory', () => {
    const buffer = new ArrayBuffer(1 << 20);
    const options = Object.defineProperty({}, 'chunkSize', {
      get() {
        structuredClone(buffer, { transfer: [buffer] });
        return 4096;
      },
    });
    // The bytes are resolved after every option was read: they are seen detached.
    expectThrow('writeFile', [`${dir()}/obj`, new Uint8Array(buffer), options], {
      name: 'Error',
      code: 'ERR_BUFFER_DETACHED',
    });
  });

  test.each([
    [[], TYPE(/3 to 4 arguments/)],
    [['/etc/hostname', 5, {}], TYPE(/`destination`/)],
    [['/etc/hostname', 'OBJ', { fsync: 'no' }], TYPE(/options\.fsync/)],
    [['/etc/hostname', 'OBJ', { maxLength: -2 }], RANGE(/options\.maxLength/)],
    [['/etc/hostname', 'OBJ', {}, notShared], TYPE(/cancelFlag/)],
  ])('copyFile(%p) throws', (args, expected) => {
    const list = [...(args as unknown[])];
    if (typeof list[1] === 'string') list[1] = `${dir()}/${list[1]}`;
    expectThrow('copyFile', list, expected);
  });
});

describe('data generation, memory, checksums, probes', () => {
  test.each([
    ['generateData', [], TYPE(/2 arguments/)],
    ['generateData', [-1, {}], RANGE(/`size`/)],
    ['generateData', [2 ** 53, {}], RANGE(/`size`/)],
    ['generateData', ['8', {}], TYPE(/`size`/)],
    ['generateData', [8, { threads: 0 }], RANGE(/options\.threads/)],
    ['generateData', [8, { threads: 257 }], RANGE(/options\.threads/)],
    ['generateData', [8, { dedup: 0.5 }], RANGE(/options\.dedup/)],
    ['generateData', [8, { compress: Number.NaN }], RANGE(/options\.compress/)],
    ['generateData', [8, { seedHigh: 2 ** 32 }], RANGE(/options\.seedHigh/)],
    ['generateData', [8, { seedLow: -1 }], RANGE(/options\.seedLow/)],
    ['generateData', [8, { startOffset: 100 }], VALUE(/options\.startOffset/)],
    ['generateData', [8, { totalSize: 'x' }], TYPE(/options\.totalSize/)],
    ['fillData', [new Float64Array(2), {}], TYPE(/`target`/)],
    ['fillData', [new Uint8Array(8), { threads: 300 }], RANGE(/options\.threads/)],
    ['fillData', [new Uint8Array(8)], TYPE(/2 arguments/)],
    ['allocAligned', [0, 4096], RANGE(/`size`/)],
    ['allocAligned', [-1, 4096], RANGE(/`size`/)],
    ['allocAligned', [2 ** 53, 4096], RANGE(/`size`/)],
    ['allocAligned', [16, 3], VALUE(/`alignment`/)],
    ['allocAligned', [16, 2 ** 21], RANGE(/`alignment`/)],
    ['allocAligned', [16], TYPE(/2 arguments/)],
    ['crc32c', ['text', 0], TYPE(/`data`/)],
    ['crc32c', [new Uint8Array(1), -1], RANGE(/`seed`/)],
    ['crc32c', [new Uint8Array(1), 2 ** 32], RANGE(/`seed`/)],
    ['crc32cPortable', [new Uint8Array(1)], TYPE(/2 arguments/)],
    ['crc32cAsync', [new ArrayBuffer(4), 0], TYPE(/`data`/)],
    ['crc32cAsync', [new Uint8Array(1), -1], RANGE(/`seed`/)],
    ['crc32cAsync', [new Uint8Array(1)], TYPE(/2 arguments/)],
    ['memoryKind', [new ArrayBuffer(1)], TYPE(/`view`/)],
    ['directIoInfo', [''], VALUE(/`path`/)],
    ['directIoInfo', [], TYPE(/takes 1 argument but/)],
    ['buildInfo', [1], TYPE(/0 arguments/)],
  ])('%s(%p) throws', (fn, args, expected) => {
    expectThrow(fn, args, expected);
  });

  test('fillData, crc32c and crc32cAsync refuse a detached view (ERR_BUFFER_DETACHED), not treat it as empty', () => {
    const detached = { name: 'Error' as const, code: 'ERR_BUFFER_DETACHED' };
    expectThrow('fillData', [detachedView(), {}], detached);
    expectThrow('crc32c', [detachedView(), 0], detached);
    expectThrow('crc32cAsync', [detachedView(), 0], detached);
  });

  test('memoryKind tells addon, shared and ordinary memory apart', () => {
    expect(native.memoryKind(new Uint8Array(native.allocAligned(64, 64)))).toBe('addon');
    expect(native.memoryKind(new Uint8Array(native.allocAligned(8192, 4096), 100, 50))).toBe('addon');
    expect(native.memoryKind(new Uint8Array(new SharedArrayBuffer(8)))).toBe('shared');
    expect(native.memoryKind(Buffer.alloc(1000))).toBe('foreign');
  });
});

describe('the public API caps and checks what reaches the addon', () => {
  test('sizes above buffer.constants.MAX_LENGTH are RangeError ERR_OUT_OF_RANGE before any allocation', async () => {
    const huge = 2 ** 40;
    expect(() => allocAligned(huge)).toThrow(expect.objectContaining({ name: 'RangeError', code: 'ERR_OUT_OF_RANGE' }));
    await expect(generateData(huge)).rejects.toMatchObject({ name: 'RangeError', code: 'ERR_OUT_OF_RANGE' });
  });

  test('datagen threads are capped at 256: more is a RangeError, not 10,000 threads', async () => {
    await expect(generateData(4096, { threads: 10_000 })).rejects.toMatchObject({ code: 'ERR_OUT_OF_RANGE' });
    await expect(fillRandom(new Uint8Array(4096), { threads: 257 })).rejects.toMatchObject({
      code: 'ERR_OUT_OF_RANGE',
    });
    expect((await generateData(4096, { threads: 256 })).byteLength).toBe(4096);
  });

  test('getMany with a huge concurrency reads with at most 256 native threads', async () => {
    const file = `${tmp.path}/many.bin`;
    writeFileSync(file, 'x');
    const results = await getMany([`file://${file}`, `file://${file}`], { concurrency: 1_000_000 });
    expect(results.map((r) => r.byteLength)).toEqual([1, 1]);
  });

  test('a store chunkSize above 1 GiB is refused when the store is made', () => {
    expect(() => storeFor('file:///', { chunkSize: 2 ** 31 })).toThrow(
      expect.objectContaining({ name: 'RangeError', code: 'ERR_OUT_OF_RANGE' }),
    );
    expect(() => storeFor('direct:///', { chunkSize: 2 ** 40 })).toThrow(
      expect.objectContaining({ name: 'RangeError', code: 'ERR_OUT_OF_RANGE' }),
    );
  });

  test('a writer part larger than buffer.constants.MAX_LENGTH is refused before any allocation', () => {
    for (const scheme of ['file', 'direct']) {
      expect(() => storeFor(`${scheme}:///`).createWriter(`${scheme}://${tmp.path}/w`, { partSize: 2 ** 40 })).toThrow(
        expect.objectContaining({ name: 'RangeError', code: 'ERR_OUT_OF_RANGE' }),
      );
    }
  });

  test('no file appeared anywhere from the refused calls', () => {
    expect(existsSync(`${tmp.path}/writes/OBJ`)).toBe(false);
  });
});
