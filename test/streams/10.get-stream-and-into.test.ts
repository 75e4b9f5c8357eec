/**
 * getStream / getWebStream / getInto on all five backends: byte-identical results for sizes around
 * chunk boundaries, windows, bounded read-ahead, typed errors, and getInto writing into the
 * caller's memory (and refusing a target that is too small).
 */
import { mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import * as path from 'path';
import type { Readable } from 'stream';

import { type ObjectStore, storeFor } from '../../lib';
import { cloudTargets, newBucketName } from '../cloud/targets';
import { expectSameBytes, rejectionOf, testBytes, thrownBy } from '../helpers/local';

interface Backend {
  name: string;
  store: ObjectStore;
  base: () => string;
  setUp(): Promise<void>;
  tearDown(): Promise<void>;
}

let scratch = '';
const local = (scheme: 'file' | 'direct'): Backend => ({
  name: `${scheme}://`,
  store: storeFor(`${scheme}:///`),
  base: () => `${scheme}://${scratch}/${scheme}/`,
  setUp: async () => undefined,
  tearDown: async () => undefined,
});
const cloud: Backend[] = cloudTargets().map((target) => {
  const bucket = target.bucketUri(newBucketName('strm'));
  const store = target.store();
  return {
    name: target.name,
    store,
    base: () => bucket,
    setUp: () => store.createBucket(bucket),
    tearDown: () => store.deleteBucket(bucket, { force: true }),
  };
});

beforeAll(() => {
  scratch = mkdtempSync(path.join(tmpdir(), 's3dlio-streams-'));
});
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

async function collect(stream: Readable): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

const CHUNK = 64 * 1024;
const sizes = [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK, 5 * CHUNK + 123];

describe.each(
  [local('file'), local('direct'), ...cloud].map((backend) => [backend.name, backend] as [string, Backend]),
)('%s', (_name, backend) => {
  beforeAll(async () => {
    await backend.setUp();
    await backend.store.putMany(
      sizes.map((size) => ({ uri: `${backend.base()}s-${size}`, data: testBytes(size, size + 3) })),
    );
  });
  afterAll(() => backend.tearDown());

  test.each(sizes)('getStream of %i bytes is byte-identical (chunks of 64 KiB, prefetch 2)', async (size) => {
    const stream = backend.store.getStream(`${backend.base()}s-${size}`, { chunkSize: CHUNK, prefetch: 2 });
    expectSameBytes(await collect(stream), testBytes(size, size + 3));
  });

  test('getStream of a window (start/end inclusive), and a web ReadableStream', async () => {
    const size = 5 * CHUNK + 123;
    const bytes = testBytes(size, size + 3);
    const window = backend.store.getStream(`${backend.base()}s-${size}`, {
      chunkSize: CHUNK,
      start: 1000,
      end: 3 * CHUNK + 7,
    });
    expectSameBytes(await collect(window), bytes.subarray(1000, 3 * CHUNK + 8));
    const web = backend.store.getWebStream(`${backend.base()}s-${size}`, { chunkSize: CHUNK });
    const parts: Uint8Array[] = [];
    for await (const part of web) parts.push(part);
    expectSameBytes(Buffer.concat(parts), bytes);
  });

  test('getStream of a missing object errors with ERR_NOT_FOUND (a stream error, typed)', async () => {
    const error = await rejectionOf(collect(backend.store.getStream(`${backend.base()}missing`)));
    expect(error).toMatchObject({ code: 'ERR_NOT_FOUND', operation: 'getStream' });
  });

  test('getInto writes into the caller memory at an offset and returns the byte count', async () => {
    const size = 3 * CHUNK;
    const target = new Uint8Array(size + 100).fill(0xaa);
    expect(await backend.store.getInto(`${backend.base()}s-${size}`, target, 50)).toBe(size);
    expectSameBytes(target.subarray(50, 50 + size), testBytes(size, size + 3));
    expect(target[49]).toBe(0xaa);
    expect(target[50 + size]).toBe(0xaa);
    expect(await backend.store.getInto(`${backend.base()}s-0`, target)).toBe(0);
  });

  test('getInto refuses a target that is too small, and bad arguments', async () => {
    const target = new Uint8Array(CHUNK);
    await expect(backend.store.getInto(`${backend.base()}s-${3 * CHUNK}`, target)).rejects.toMatchObject({
      code: 'ERR_TARGET_TOO_SMALL',
    });
    await expect(backend.store.getInto(`${backend.base()}s-1`, target, CHUNK + 1)).rejects.toMatchObject({
      code: 'ERR_OUT_OF_RANGE',
    });
    await expect(backend.store.getInto(`${backend.base()}s-1`, [] as unknown as Uint8Array)).rejects.toMatchObject({
      code: 'ERR_INVALID_ARG_TYPE',
    });
  });

  test('getInto into a transferred buffer, before or during the read, is ERR_BUFFER_DETACHED naming `target`', async () => {
    const uri = `${backend.base()}s-${3 * CHUNK}`;
    const before = new Uint8Array(4 * CHUNK);
    structuredClone(before.buffer, { transfer: [before.buffer] });
    const early = await rejectionOf(backend.store.getInto(uri, before));
    expect(early).toMatchObject({ code: 'ERR_BUFFER_DETACHED', uri });
    expect(early.message).toContain('`target`');

    const during = new Uint8Array(4 * CHUNK);
    const pending = backend.store.getInto(uri, during);
    const moved = new Uint8Array(structuredClone(during.buffer, { transfer: [during.buffer] }));
    const late = await rejectionOf(pending);
    expect(late).toMatchObject({ code: 'ERR_BUFFER_DETACHED', uri });
    expect(late.message).toContain('`target`');
    expect(moved.every((byte) => byte === 0)).toBe(true); // nothing was written into memory given away
  });

  test('edges: a one-byte window, a window ending inside the last chunk, getInto at the very end of its target', async () => {
    const uri = `${backend.base()}s-${3 * CHUNK}`;
    const whole = testBytes(3 * CHUNK, 3 * CHUNK + 3);
    expectSameBytes(
      await collect(backend.store.getStream(uri, { start: 5, end: 5, chunkSize: 4 })),
      whole.subarray(5, 6),
    );
    const window = await collect(backend.store.getStream(uri, { start: 0, end: CHUNK + 2, chunkSize: CHUNK }));
    expectSameBytes(window, whole.subarray(0, CHUNK + 3));
    const target = new Uint8Array(8);
    expect(await backend.store.getInto(`${backend.base()}s-0`, target, 8)).toBe(0);
  });

  test('getInto names its bad arguments', async () => {
    const uri = `${backend.base()}s-1`;
    expect((await rejectionOf(backend.store.getInto(uri, 'bytes' as never))).message).toContain('`target`');
    expect((await rejectionOf(backend.store.getInto(uri, new Uint8Array(4), -1))).message).toContain('`offset`');
    expect((await rejectionOf(backend.store.getInto(uri, new Uint8Array(4), 5))).message).toContain(
      'an offset within the target (0 to 4)',
    );
  });

  test('getStream with a signal aborted before the first read, or end before start, fails typed', async () => {
    const uri = `${backend.base()}s-${3 * CHUNK}`;
    const aborted = await rejectionOf(collect(backend.store.getStream(uri, { signal: AbortSignal.abort() })));
    expect(aborted).toMatchObject({ code: 'ERR_ABORTED', operation: 'getStream', uri });
    const thrown = thrownBy(() => backend.store.getStream(uri, { start: 10, end: 9 }));
    expect(thrown).toMatchObject({ code: 'ERR_OUT_OF_RANGE' });
    expect(thrown.message).toMatch(/options\.start \(10\).*`options\.end`/);
  });
});

test('getStream reads 8 MiB ranges unless told otherwise (file://)', async () => {
  const MiB = 1024 * 1024;
  const uri = `file://${scratch}/default-chunks.bin`;
  const store = storeFor('file:///');
  const bytes = testBytes(20 * MiB, 5);
  await store.put(uri, bytes);
  const sizes: number[] = [];
  const parts: Buffer[] = [];
  for await (const chunk of store.getStream(uri)) {
    sizes.push((chunk as Buffer).byteLength);
    parts.push(chunk as Buffer);
  }
  expect(sizes).toEqual([8 * MiB, 8 * MiB, 4 * MiB]);
  expectSameBytes(Buffer.concat(parts), bytes);
});

test('cloud getInto writes each range straight into the target (no second buffer): RangeEngine with allocate', async () => {
  const [s3] = cloud;
  await s3.setUp();
  try {
    const size = 3 * 1024 * 1024 + 5;
    await s3.store.put(`${s3.base()}big`, testBytes(size, 9));
    const target = new Uint8Array(size);
    const n = await s3.store.getInto(`${s3.base()}big`, target, 0, {
      rangeThreshold: 1024 * 1024,
      chunkSize: 256 * 1024,
    });
    expect(n).toBe(size);
    expectSameBytes(target, testBytes(size, 9));
  } finally {
    await s3.tearDown();
  }
});
