/**
 * I/O threads (`ioThreads`): object bodies moved by worker threads, each with its own sockets.
 * Reads are byte-identical to the main thread's, split gets land in shared memory in place, every
 * write path (put, putMany, writer parts) stores the same bytes, failures and aborts behave as
 * they do without threads, and nothing stays running afterwards.
 */
import { types } from 'util';

import { type ObjectStore, S3dlioError } from '../../lib';
import { DataLoader } from '../../lib/loader/data-loader';
import { Dataset } from '../../lib/loader/dataset';
import { expectSameBytes, rejectionOf, testBytes } from '../helpers/local';
import { type FaultProxy, startFaultProxy } from '../servers/fault-proxy';
import { withTools } from '../helpers/tools';
import { type CloudTarget, cloudTargets, newBucketName, s3Endpoint, s3Target } from './targets';

const KiB = 1024;
const MiB = 1024 * KiB;
const ranges = { rangeThreshold: 1 * MiB, chunkSize: 256 * KiB, concurrency: 4 };
/** Stores made by a suite: their threads are stopped after it. */
const made: ObjectStore[] = [];
const threaded = (target: CloudTarget, options: Record<string, unknown> = {}): ObjectStore => {
  // Lean: the 'sdk transport' run compares these with the SDK's bytes.
  const store = target.store({ transport: 'lean', ioThreads: 2, ...ranges, ...options });
  made.push(store);
  return store;
};
afterAll(() => Promise.all(made.splice(0).map((store) => stopThreads(store))));

/** Stops a store's threads now (they would stop on their own after a few idle seconds). */
function stopThreads(store: ObjectStore): Promise<void> {
  return (store as unknown as { stopIoThreads(): Promise<void> }).stopIoThreads();
}

/** Bytes the store's threads could not place and the main thread copied, so far. */
const copied = (store: ObjectStore): number => store.stats().ioThreads!.copiedBytes;

describe.each(cloudTargets().map((target) => [target.name, target] as [string, CloudTarget]))(
  '%s: I/O threads',
  (_name, target) => {
    const plain = target.store();
    const base = target.bucketUri(newBucketName('iot'));
    const sizes = [0, 1, 1 * MiB - 1, 1 * MiB, 1 * MiB + 1, 3 * MiB + 17];
    // Multipart parts: S3 needs 5 MiB, GCS multiples of 256 KiB.
    const partSize = 5 * MiB;
    // One store for the suite: its threads start once.
    const store = threaded(target, { multipartThreshold: partSize });

    beforeAll(async () => {
      await plain.createBucket(base);
      await plain.putMany(sizes.map((size) => ({ uri: `${base}obj-${size}`, data: testBytes(size, size + 7) })));
    });
    afterAll(() => plain.deleteBucket(base, { force: true }));

    test.each(sizes)('get of %i bytes is byte-identical to the main thread', async (size) => {
      const got = await store.get(`${base}obj-${size}`);
      expectSameBytes(got, await plain.get(`${base}obj-${size}`, ranges));
      expectSameBytes(got, testBytes(size, size + 7));
    });

    test('a split get lands in shared memory; only its first range is copied there', async () => {
      const size = 3 * MiB + 17;
      const before = copied(store);
      const got = await store.get(`${base}obj-${size}`);
      expect(types.isSharedArrayBuffer(got.buffer)).toBe(true);
      expect(got.byteLength).toBe(size);
      expect(store.stats().ioThreads).toMatchObject({ threads: 2, running: 2, inFlight: 0 });
      // Every range but the first went straight into the shared buffer.
      expect(copied(store) - before).toBe(ranges.rangeThreshold);
      // V8 does not count shared memory: an ordinary buffer of the same size, never written, is
      // kept beside it so that the collector does (see internal/memory.ts).
      // A get in one request keeps the buffer the thread received it in: nothing copied.
      const small = await store.get(`${base}obj-${1 * MiB - 1}`);
      expect(types.isSharedArrayBuffer(small.buffer)).toBe(false);
      expect(copied(store) - before).toBe(ranges.rangeThreshold);
    });

    test('getInto shared memory: every range in place, the first one too', async () => {
      const size = 3 * MiB + 17;
      const before = copied(store);
      const into = new Uint8Array(new SharedArrayBuffer(size + 10));
      expect(await store.getInto(`${base}obj-${size}`, into, 0)).toBe(size);
      expectSameBytes(into.subarray(0, size), testBytes(size, size + 7));
      expect(copied(store) - before).toBe(0);
    });

    test('getMany and getRange windows are byte-identical', async () => {
      const uris = sizes.map((size) => `${base}obj-${size}`);
      const got = await store.getMany(uris, { concurrency: 8 });
      got.forEach((bytes, i) => expectSameBytes(bytes, testBytes(sizes[i], sizes[i] + 7)));
      const size = 3 * MiB + 17;
      expectSameBytes(
        await store.getRange(`${base}obj-${size}`, 100_000, 2 * MiB),
        testBytes(size, size + 7).subarray(100_000, 100_000 + 2 * MiB),
      );
    });

    test('put, putMany and a multipart writer store the same bytes', async () => {
      const shared = new Uint8Array(new SharedArrayBuffer(2 * MiB));
      shared.set(testBytes(2 * MiB, 41));
      await store.put(`${base}w/shared`, shared);
      await store.putMany([1, 2, 3].map((i) => ({ uri: `${base}w/many-${i}`, data: testBytes(i * 100 * KiB, i) })));
      const large = testBytes(2 * partSize + 123, 5);
      await store.put(`${base}w/large`, large);
      const writer = await store.createWriter(`${base}w/writer`, { partSize, concurrency: 2 });
      for (let offset = 0; offset < large.byteLength; offset += 3 * MiB) {
        await writer.write(large.subarray(offset, offset + 3 * MiB));
      }
      await writer.close();
      expectSameBytes(await plain.get(`${base}w/shared`), testBytes(2 * MiB, 41));
      for (const i of [1, 2, 3]) expectSameBytes(await plain.get(`${base}w/many-${i}`), testBytes(i * 100 * KiB, i));
      expectSameBytes(await plain.get(`${base}w/large`, ranges), large);
      expectSameBytes(await plain.get(`${base}w/writer`, ranges), large);
    });

    test('the DataLoader reads through the threads, whole objects and ranges, bytes intact', async () => {
      const dataset = await Dataset.fromPrefix(`${base}obj-`, { store });
      const loader = new DataLoader(dataset, {
        batchSize: 2,
        concurrency: 4,
        rangeThreshold: 512 * KiB,
        chunkSize: 256 * KiB,
      });
      let items = 0;
      for await (const batch of loader) {
        for (const item of batch) {
          const size = Number(item.uri.slice(`${base}obj-`.length));
          expectSameBytes(item.data, testBytes(size, size + 7));
          items++;
        }
      }
      expect(items).toBe(sizes.length);
    });

    test('a missing object is the same typed error as without threads', async () => {
      const error = await rejectionOf(store.get(`${base}missing`));
      expect(error).toBeInstanceOf(S3dlioError);
      expect((error as S3dlioError).code).toBe('ERR_NOT_FOUND');
      expect((error as S3dlioError).uri).toBe(`${base}missing`);
    });

    test('an abort mid-get rejects once every thread has let go of the buffer', async () => {
      const size = 3 * MiB + 17;
      // The abort races the get: it lands mid-get nearly always, but a loaded machine can let the
      // get finish first, which shows nothing. Such an attempt is made again (at most 20).
      let into: Uint8Array<ArrayBufferLike> = new Uint8Array(0);
      let error: unknown;
      for (let attempt = 0; attempt < 20 && error === undefined; attempt++) {
        into = new Uint8Array(new SharedArrayBuffer(size)).fill(0xaa);
        const controller = new AbortController();
        const pending = store.getInto(`${base}obj-${size}`, into, 0, { signal: controller.signal });
        setImmediate(() => controller.abort());
        error = await pending.then(
          () => undefined,
          (reason: unknown) => reason,
        );
      }
      expect(error).toMatchObject({ code: 'ERR_ABORTED' });
      expect(store.stats().ioThreads!.inFlight).toBe(0);
      // Nothing writes into the target once the call has settled.
      const settled = into.slice();
      await new Promise((resolve) => setTimeout(resolve, 300));
      expectSameBytes(into, settled);
      // The store goes on working after it.
      expectSameBytes(await store.get(`${base}obj-${size}`), testBytes(size, size + 7));
    });

    test('break out of getStream: no request left in flight', async () => {
      const size = 3 * MiB + 17;
      let chunks = 0;
      for await (const chunk of store.getStream(`${base}obj-${size}`, { chunkSize: 256 * KiB, prefetch: 4 })) {
        expect(chunk.byteLength).toBeGreaterThan(0);
        if (++chunks === 2) break;
      }
      const deadline = Date.now() + 5000;
      while (store.stats().ioThreads!.inFlight > 0 && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      expect(store.stats().ioThreads!.inFlight).toBe(0);
    });
  },
);

const s3 = withTools(['moto'], 'I/O threads against a failing s3:// endpoint (moto)');
s3.describe('s3 (moto): I/O threads and failing connections', () => {
  let proxy: FaultProxy;
  const plain = s3Target().store();
  const base = `s3://${newBucketName('iotf')}/`;
  const size = 3 * MiB + 17;
  beforeAll(async () => {
    await plain.createBucket(base);
    await plain.put(`${base}obj`, testBytes(size, 3));
  });
  afterAll(() => plain.deleteBucket(base, { force: true }));
  beforeEach(async () => {
    proxy = await startFaultProxy({ target: s3Endpoint() });
  });
  afterEach(() => proxy.stop());

  test('a body cut short on a thread is retried there, and the bytes are whole', async () => {
    const store = threaded(s3Target(), { endpoint: proxy.url });
    proxy.setRules([{ method: 'GET', times: 2, action: { type: 'reset-mid-body', bytes: 1000 } }]);
    expectSameBytes(await store.get(`${base}obj`), testBytes(size, 3));
    expect(store.stats().endpoints[0].retries).toBeGreaterThanOrEqual(2);
  });

  test('threads stopped mid-get: their requests are retried on new threads, the bytes are whole', async () => {
    const store = threaded(s3Target(), { endpoint: proxy.url });
    // Slow bodies: the get is still in flight when its threads are stopped.
    proxy.setRules([{ method: 'GET', times: 4, action: { type: 'throttle', bytesPerSecond: 2 * MiB } }]);
    const pending = store.get(`${base}obj`);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(store.stats().ioThreads!.inFlight).toBeGreaterThan(0);
    await stopThreads(store);
    expectSameBytes(await pending, testBytes(size, 3));
    expect(store.stats().endpoints[0].retries).toBeGreaterThanOrEqual(1);
    expect(store.stats().ioThreads!.running).toBeGreaterThan(0);
  });

  test('a dead endpoint is the usual typed, retryable network error', async () => {
    const store = threaded(s3Target(), { endpoint: 'http://127.0.0.1:9', maxAttempts: 2 });
    const error = (await rejectionOf(store.get(`${base}obj`))) as S3dlioError;
    expect(error.code).toBe('ERR_CONNECTION');
    expect(error.message).not.toContain('test');
  });
});

describe('the ioThreads option', () => {
  test.each([-1, 1.5, '2x', 257, true])('refuses %p', (value) => {
    expect(() => s3Target().store({ ioThreads: value })).toThrow(/an integer from 0 to 256 for `options.ioThreads`/);
  });

  test('needs the lean transport', () => {
    expect(() => s3Target().store({ ioThreads: 2, transport: 'sdk' })).toThrow(/ioThreads needs the lean transport/);
  });
});
