/**
 * The error contract: S3dlioError / BatchError classes and fields, argument errors as rejected
 * promises (never synchronous throws), call-site stack traces for failures that happen in native
 * code or after an await, and URIs with credentials never leaking into errors.
 */
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'fs';
import * as path from 'path';

import * as s3dlio from '../../lib';
import { BatchError, S3dlioError, listStream, storeFor } from '../../lib';
import { callAsync, rejectionOf, sandbox } from '../helpers/local';
import { useTempDir } from '../helpers/temp';

const tmp = useTempDir();
const THIS_FILE = path.basename(__filename);

describe('error classes', () => {
  test('S3dlioError is an Error with a stable name and code', () => {
    const e = new S3dlioError('ERR_NOT_FOUND', 'msg', { uri: 'file:///x', operation: 'get', cause: 'c' });
    expect(e).toBeInstanceOf(Error);
    expect(e.name).toBe('S3dlioError');
    expect(e).toMatchObject({ code: 'ERR_NOT_FOUND', uri: 'file:///x', operation: 'get', message: 'msg', cause: 'c' });
    expect(String(e)).toBe('S3dlioError: msg');
  });

  test('BatchError is an AggregateError with code ERR_BATCH_FAILED and every item error', () => {
    const items = [
      new S3dlioError('ERR_NOT_FOUND', 'a', { uri: 'file:///a' }),
      new S3dlioError('ERR_NOT_FOUND', 'b', { uri: 'file:///b' }),
    ];
    const e = new BatchError('getMany', items, 5);
    expect(e).toBeInstanceOf(AggregateError);
    expect(e).toMatchObject({ name: 'BatchError', code: 'ERR_BATCH_FAILED', operation: 'getMany', succeeded: 5 });
    expect(e.errors).toEqual(items);
    expect(e.message).toBe('getMany: 2 of 7 items failed (first: a)');
  });
});

describe('failures carry code, uri, operation and the native cause', () => {
  test('a missing file: ERR_NOT_FOUND, message "<operation> <uri>: ...", errno/syscall, cause = native ENOENT error', async () => {
    const uri = tmp.uri('file', 'missing/object.bin');
    const error = await rejectionOf(s3dlio.get(uri));
    expect(error).toBeInstanceOf(S3dlioError);
    expect(error).toMatchObject({
      code: 'ERR_NOT_FOUND',
      uri,
      operation: 'get',
      errno: 2,
      errnoName: 'ENOENT',
      syscall: 'open',
    });
    expect(error.message.startsWith(`get ${uri}: `)).toBe(true);
    expect(error.cause).toMatchObject({
      code: 'ENOENT',
      errno: 2,
      syscall: 'open',
      path: `${tmp.path}/missing/object.bin`,
    });
  });

  test('the same from direct://', async () => {
    const uri = tmp.uri('direct', 'missing.bin');
    await expect(s3dlio.get(uri)).rejects.toMatchObject({
      code: 'ERR_NOT_FOUND',
      uri,
      operation: 'get',
      cause: { code: 'ENOENT' },
    });
  });
});

describe('an errno without a code of its own is ERR_IO, its name in errnoName', () => {
  test.each(['file', 'direct'])('%s: a symlink loop (ELOOP) read, stated and written', async (scheme) => {
    const dir = path.join(tmp.path, `loop-${scheme}`);
    mkdirSync(dir);
    symlinkSync(path.join(dir, 'b'), path.join(dir, 'a'));
    symlinkSync(path.join(dir, 'a'), path.join(dir, 'b'));
    const uri = `${scheme}://${dir}/a`;
    const store = storeFor(`${scheme}:///`, scheme === 'direct' ? { allowBufferedFallback: true } : {});
    const error = await rejectionOf(store.get(uri));
    expect(error).toBeInstanceOf(S3dlioError);
    expect(error).toMatchObject({ code: 'ERR_IO', errnoName: 'ELOOP', errno: 40, uri, operation: 'get' });
    expect(error.syscall).toEqual(expect.any(String));
    expect(error.cause).toMatchObject({ code: 'ELOOP' });
    await expect(store.stat(uri)).rejects.toMatchObject({ code: 'ERR_IO', errnoName: 'ELOOP', operation: 'stat' });
    await expect(s3dlio.get(uri)).rejects.toMatchObject({ code: 'ERR_IO', errnoName: 'ELOOP' });
  });
});

describe('bad arguments reject; nothing throws synchronously', () => {
  const uri = () => tmp.uri('file', 'args.bin');
  const NOT_A_STRING = 42 as unknown as string;
  const BAD_OPTIONS = 'fast' as unknown as object;
  const calls: Array<[string, () => Promise<unknown>, () => Promise<unknown>]> = [
    ['get', () => s3dlio.get(NOT_A_STRING), () => s3dlio.get(uri(), BAD_OPTIONS)],
    ['getRange', () => s3dlio.getRange(NOT_A_STRING, 0), () => s3dlio.getRange(uri(), 0, 1, BAD_OPTIONS)],
    ['put', () => s3dlio.put(NOT_A_STRING, 'x'), () => s3dlio.put(uri(), 'x', BAD_OPTIONS)],
    ['list', () => s3dlio.list(NOT_A_STRING), () => s3dlio.list(uri(), BAD_OPTIONS)],
    ['stat', () => s3dlio.stat(NOT_A_STRING), () => s3dlio.stat(uri(), BAD_OPTIONS)],
    ['exists', () => s3dlio.exists(NOT_A_STRING), () => s3dlio.exists(uri(), BAD_OPTIONS)],
    ['delete', () => s3dlio.delete(NOT_A_STRING), () => s3dlio.delete(uri(), BAD_OPTIONS)],
    ['deleteObject', () => s3dlio.deleteObject(NOT_A_STRING), () => s3dlio.deleteObject(uri(), BAD_OPTIONS)],
    ['deletePrefix', () => s3dlio.deletePrefix(NOT_A_STRING), () => s3dlio.deletePrefix(uri(), BAD_OPTIONS)],
    ['deleteMany', () => s3dlio.deleteMany([NOT_A_STRING]), () => s3dlio.deleteMany([uri()], BAD_OPTIONS)],
    ['copy', () => s3dlio.copy(NOT_A_STRING, uri()), () => s3dlio.copy(uri(), uri(), BAD_OPTIONS)],
    ['rename', () => s3dlio.rename(NOT_A_STRING, uri()), () => s3dlio.rename(uri(), uri(), BAD_OPTIONS)],
    ['createBucket', () => s3dlio.createBucket(NOT_A_STRING), () => s3dlio.createBucket(uri(), BAD_OPTIONS)],
    ['deleteBucket', () => s3dlio.deleteBucket(NOT_A_STRING), () => s3dlio.deleteBucket(uri(), BAD_OPTIONS)],
    ['getMany', () => s3dlio.getMany([NOT_A_STRING]), () => s3dlio.getMany([uri()], BAD_OPTIONS)],
    [
      'putMany',
      () => s3dlio.putMany([{ uri: NOT_A_STRING, data: 'x' }]),
      () => s3dlio.putMany([{ uri: uri(), data: 'x' }], BAD_OPTIONS),
    ],
    ['directIoInfo', () => s3dlio.directIoInfo(NOT_A_STRING), () => s3dlio.directIoInfo(uri(), BAD_OPTIONS)],
  ];

  test.each(calls)(
    '%s: a non-string URI → rejected TypeError ERR_INVALID_ARG_TYPE "Expected a string for `…` but received 42 of type number"',
    async (_name, call) => {
      const error = await rejectionOf(callAsync(call));
      expect(error).toBeInstanceOf(TypeError);
      expect(error).toMatchObject({ code: 'ERR_INVALID_ARG_TYPE' });
      expect(error.message).toMatch(/^Expected a string for `[\w.[\]]+` but received 42 of type number$/);
    },
  );

  test.each(calls)(
    '%s: options that are not an object → rejected TypeError ERR_INVALID_ARG_TYPE',
    async (_name, _bad, call) => {
      const error = await rejectionOf(callAsync(call));
      expect(error).toBeInstanceOf(TypeError);
      expect(error).toMatchObject({
        code: 'ERR_INVALID_ARG_TYPE',
        message: 'Expected an object for `options` but received "fast" of type string',
      });
    },
  );

  test('the module functions get the precise message for `uri`', async () => {
    await expect(s3dlio.get(NOT_A_STRING)).rejects.toThrow(
      'Expected a string for `uri` but received 42 of type number',
    );
  });

  test('listStream and storeFor validate synchronously (they do not return promises)', () => {
    expect(() => listStream(NOT_A_STRING)).toThrow(
      new TypeError('Expected a string for `uri` but received 42 of type number'),
    );
    expect(() => storeFor(NOT_A_STRING)).toThrow(TypeError);
    expect(() => storeFor('file:///', BAD_OPTIONS)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));
    expect(() => storeFor('file:///', { pageCache: 'sometimes' as never })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }),
    );
    expect(() => storeFor('file:///', { chunkSize: 0 })).toThrow(RangeError);
    expect(() => storeFor('direct:///', { fsync: 'no' as unknown as boolean })).toThrow(TypeError);
  });
});

describe('stack traces point at the caller, even when the failure happened in native code', () => {
  // Each call is made synchronously from this file and its rejection collected with .then()
  // (rejectionOf), never awaited: so this file can only appear in the stack if the library captured
  // the caller's frames itself, not through V8's async stack traces.
  let shm = '';
  let box: ReturnType<typeof sandbox>;
  beforeAll(() => {
    shm = mkdtempSync('/dev/shm/s3dlio-stack-');
    box = sandbox(tmp.path, 'file', 'stack');
    writeFileSync(box.path('abc'), 'abc');
    mkdirSync(box.path('dir'));
    mkdirSync(box.path('full'));
    writeFileSync(box.path('full/f'), 'x');
  });
  afterAll(() => {
    if (shm) rmSync(shm, { recursive: true, force: true });
  });

  function expectCallerStack(error: unknown): void {
    expect(error).toBeInstanceOf(Error);
    const stack = String((error as Error).stack);
    expect(stack.startsWith(`${(error as Error).name}: ${(error as Error).message}`)).toBe(true);
    expect(stack).toContain(THIS_FILE);
  }

  test.each<[string, () => Promise<unknown>]>([
    ['get of a missing file (native open)', () => s3dlio.get(box.uri('nope'))],
    ['direct:// get of a missing file', () => s3dlio.get(box.uri('nope', 'direct'))],
    ['getRange past the end (native)', () => s3dlio.getRange(box.uri('abc'), 10)],
    ['put onto a directory (native rename)', () => s3dlio.put(box.uri('dir'), 'x')],
    ['direct:// put on tmpfs (native ERR_DIRECT_IO_UNSUPPORTED)', () => s3dlio.put(`direct://${shm}/x`, 'x')],
    ['stat of a missing file (fs.promises)', () => s3dlio.stat(box.uri('nope'))],
    ['delete of a missing file', () => s3dlio.delete(box.uri('nope', 'direct'))],
    ['copy of a missing file', () => s3dlio.copy(box.uri('nope'), box.uri('nope2'))],
    ['cross-scheme copy of a missing file', () => s3dlio.copy(box.uri('nope'), box.uri('nope2', 'direct'))],
    [
      'cross-scheme rename with requireAtomic',
      () => s3dlio.rename(box.uri('abc'), box.uri('b', 'direct'), { requireAtomic: true }),
    ],
    ['deleteBucket of a non-empty bucket', () => s3dlio.deleteBucket(box.uri('full'))],
    ['deleteBucket of a missing bucket', () => s3dlio.deleteBucket(box.uri('no-bucket'))],
    [
      'putMany with a failing item (BatchError)',
      () =>
        s3dlio.putMany([
          { uri: box.uri('ok'), data: 'x' },
          { uri: box.uri('dir'), data: 'x' },
        ]),
    ],
    [
      'deleteMany with missing items across schemes (BatchError)',
      () => s3dlio.deleteMany([box.uri('n1'), box.uri('n2', 'direct')]),
    ],
    ['directIoInfo of a missing path', () => s3dlio.directIoInfo(box.uri('nope', 'direct'))],
    ['an invalid URI', () => s3dlio.get('ftp://x/y')],
    ['an already-aborted signal', () => s3dlio.get(box.uri('abc'), { signal: AbortSignal.abort() })],
    ['a bad argument', () => s3dlio.getRange(box.uri('abc'), -1)],
    ['a native failure from a store method', () => storeFor('direct:///').get(box.uri('nope', 'direct'))],
  ])('%s', (_what, call) => rejectionOf(call()).then(expectCallerStack));

  test('a failure during listStream iteration', () => {
    const iterator = listStream(box.uri(), { signal: AbortSignal.abort() })[Symbol.asyncIterator]();
    return rejectionOf(iterator.next()).then(expectCallerStack);
  });

  test('control: the raw native error (the cause) has no frame of this file', async () => {
    const error = await rejectionOf(s3dlio.get(box.uri('nope')));
    expect(String(error.cause?.stack ?? '')).not.toContain(THIS_FILE);
  });
});

describe('errors never contain credentials from the URI', () => {
  test('S3dlioError redacts user:password@ from its message and its uri field', () => {
    const uri = 's3://AKIDEXAMPLE:s3cr3tK3y@bucket/key';
    const error = new S3dlioError('ERR_ACCESS_DENIED', `get ${uri}: denied`, { uri, operation: 'get' });
    expect(error.uri).toBe('s3://bucket/key');
    expect(error.message).toBe('get s3://bucket/key: denied');
    expect(String(error.stack)).not.toContain('s3cr3tK3y');
  });

  test.each([
    'ftp://user:s3cr3tK3y@host/file',
    'file://user:s3cr3tK3y@host/x',
    'direct://user:s3cr3tK3y@/x',
    's3://AKIDEXAMPLE:s3cr3tK3y@bucket/key',
    'gs://user:s3cr3tK3y@bucket/key',
    'az://user:s3cr3tK3y@account/container/key',
  ])('a failing operation on %s does not echo the credentials', async (uri) => {
    const error = await rejectionOf(s3dlio.get(uri));
    expect(error).toBeInstanceOf(S3dlioError);
    expect(error.message).not.toContain('s3cr3tK3y');
    expect(String(error.uri ?? '')).not.toContain('s3cr3tK3y');
    expect(String(error.stack)).not.toContain('s3cr3tK3y');
  });
});
