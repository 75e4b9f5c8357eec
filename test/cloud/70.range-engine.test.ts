/**
 * RangeEngine: large gets as concurrent ranges assembled in one buffer, byte-identical, no HEAD,
 * one request for small objects, failures and aborts of one range failing the whole get, and an
 * object replaced mid-read detected instead of assembled from two versions.
 */
import { type ObjectStore, storeFor } from '../../lib';
import { DEFAULT_RANGE_THRESHOLD, defaultChunkSize } from '../../lib/engine/range-engine';
import { runNodeScript } from '../helpers/child';
import { expectSameBytes, rejectionOf, testBytes } from '../helpers/local';
import { type FaultProxy, startFaultProxy } from '../servers/fault-proxy';
import { withTools } from '../helpers/tools';
import { type CloudTarget, cloudTargets, newBucketName, s3Endpoint, s3Target } from './targets';

const KiB = 1024;
const MiB = 1024 * KiB;
// Small settings keep the data small while exercising every path of the engine.
const ranges = { rangeThreshold: 1 * MiB, chunkSize: 256 * KiB, concurrency: 4 };

describe.each(cloudTargets().map((target) => [target.name, target] as [string, CloudTarget]))(
  '%s: RangeEngine',
  (_name, target) => {
    const store = target.store();
    const base = target.bucketUri(newBucketName('rng'));
    const sizes = [0, 1, 1 * MiB - 1, 1 * MiB, 1 * MiB + 1, 1 * MiB + 256 * KiB, 3 * MiB + 17];

    beforeAll(async () => {
      await store.createBucket(base);
      await store.putMany(sizes.map((size) => ({ uri: `${base}obj-${size}`, data: testBytes(size, size + 1) })));
    });
    afterAll(() => store.deleteBucket(base, { force: true }));

    test.each(sizes)('get of %i bytes is byte-identical through the engine', async (size) => {
      expectSameBytes(await store.get(`${base}obj-${size}`, ranges), testBytes(size, size + 1));
    });

    test('getRange of a window larger than the threshold, clamped at the end', async () => {
      const size = 3 * MiB + 17;
      const bytes = testBytes(size, size + 1);
      expectSameBytes(
        await store.getRange(`${base}obj-${size}`, 100_000, 2 * MiB, ranges),
        bytes.subarray(100_000, 100_000 + 2 * MiB),
      );
      expectSameBytes(await store.getRange(`${base}obj-${size}`, 10, 10 * MiB, ranges), bytes.subarray(10));
    });

    test('store-level defaults apply, call options override them, 0 turns the engine off', async () => {
      const size = 3 * MiB + 17;
      const tuned = target.store({ rangeThreshold: 512 * KiB, chunkSize: 128 * KiB, concurrency: 8 });
      expectSameBytes(await tuned.get(`${base}obj-${size}`), testBytes(size, size + 1));
      expectSameBytes(await tuned.get(`${base}obj-${size}`, { rangeThreshold: 0 }), testBytes(size, size + 1));
      await expect(store.get(`${base}obj-1`, { rangeThreshold: -1 })).rejects.toMatchObject({
        code: 'ERR_OUT_OF_RANGE',
      });
      await expect(store.get(`${base}obj-1`, { chunkSize: 0 })).rejects.toMatchObject({ code: 'ERR_OUT_OF_RANGE' });
    });
  },
);

withTools(['moto'], 's3 (moto) behind the fault proxy').describe(
  's3 (moto) behind the fault proxy: requests, failures, aborts',
  () => {
    let proxy: FaultProxy;
    let store: ObjectStore;
    const direct = s3Target().store();
    const bucket = newBucketName('rngf');
    const size = 3 * MiB + 17;
    const uri = `s3://${bucket}/big.bin`;
    const bytes = testBytes(size, 77);
    const objectPath = new RegExp(`^/${bucket}/big\\.bin`);

    beforeAll(async () => {
      proxy = await startFaultProxy({ target: s3Endpoint() });
      store = storeFor('s3://', {
        endpoint: proxy.url,
        region: 'us-east-1',
        credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
        retryBaseDelayMs: 5,
        ...ranges,
      });
      await direct.createBucket(`s3://${bucket}/`);
      await direct.put(uri, bytes);
      await direct.put(`s3://${bucket}/small.bin`, bytes.subarray(0, 1000));
    });
    afterAll(async () => {
      await direct.deleteBucket(`s3://${bucket}/`, { force: true });
      await proxy.stop();
    });
    beforeEach(() => {
      proxy.setRules([
        { name: 'head', method: 'HEAD', action: { type: 'delay', ms: 0 } },
        { name: 'get', method: 'GET', path: objectPath, action: { type: 'delay', ms: 0 } },
      ]);
      proxy.resetStats();
    });

    test('no HEAD: the first range tells the size; 1 + ceil((size - threshold) / chunk) GETs', async () => {
      expectSameBytes(await store.get(uri), bytes);
      expect(proxy.stats.byRule.head ?? 0).toBe(0);
      expect(proxy.stats.byRule.get).toBe(1 + Math.ceil((size - ranges.rangeThreshold) / ranges.chunkSize));
    });

    test('the documented defaults: split above 32 MiB into 4 MiB ranges (8 MiB from 256 MiB on)', async () => {
      const big = `s3://${bucket}/defaults.bin`;
      const content = testBytes(40 * MiB, 78);
      await direct.put(big, content);
      const plain = storeFor('s3://', {
        endpoint: proxy.url,
        region: 'us-east-1',
        credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
      });
      proxy.setRules([
        {
          name: 'get',
          method: 'GET',
          path: new RegExp(`^/${bucket}/defaults\\.bin`),
          action: { type: 'delay', ms: 0 },
        },
      ]);
      expectSameBytes(await plain.get(big), content);
      expect(proxy.stats.byRule.get).toBe(1 + Math.ceil((40 * MiB - DEFAULT_RANGE_THRESHOLD) / (4 * MiB)));
      expect(DEFAULT_RANGE_THRESHOLD).toBe(32 * MiB);
      // An object of 256 MiB would make this test slow; the size rule itself, at its edge:
      expect(defaultChunkSize(256 * MiB - 1)).toBe(4 * MiB);
      expect(defaultChunkSize(256 * MiB)).toBe(8 * MiB);
      await direct.delete(big);
    });

    test.each([
      ['get', (at: string, options: object) => store.get(at, options)],
      [
        'getInto',
        async (at: string, options: object) => {
          const target = new Uint8Array(40 * MiB);
          await store.getInto(at, target, 0, options);
          return target;
        },
      ],
    ])(
      "%s obeys the range settings: they split the read, and the call's rangeThreshold 0 is one request",
      async (name, read) => {
        // Larger than the default threshold (32 MiB): 0 must not fall back to it.
        const big = `s3://${bucket}/settings-${name}.bin`;
        const content = testBytes(40 * MiB, 79);
        await direct.put(big, content);
        proxy.setRules([
          { name: 'get', method: 'GET', path: new RegExp(`^/${bucket}/settings-`), action: { type: 'delay', ms: 0 } },
        ]);
        // The store's threshold with the call's chunk size (few ranges: moto reads the whole object for each).
        expectSameBytes(await read(big, { chunkSize: 8 * MiB }), content);
        expect(proxy.stats.byRule.get).toBe(1 + Math.ceil((40 * MiB - ranges.rangeThreshold) / (8 * MiB)));
        proxy.resetStats();
        expectSameBytes(await read(big, { rangeThreshold: 0 }), content);
        expect(proxy.stats.byRule.get).toBe(1);
        await direct.delete(big);
      },
    );

    test('an object below the threshold costs exactly one request', async () => {
      expectSameBytes(await store.get(`s3://${bucket}/small.bin`), bytes.subarray(0, 1000));
      expect(proxy.stats.requests).toBe(1);
    });

    test('a failed range is retried on its own; the result is still byte-identical', async () => {
      proxy.setRules([{ method: 'GET', path: objectPath, nth: 4, action: { type: 'status', status: 503 } }]);
      expectSameBytes(await store.get(uri), bytes);
      expect(proxy.stats.faults).toBe(1);
    });

    test('a range that keeps failing fails the whole get with its cause', async () => {
      proxy.setRules([
        { method: 'GET', path: objectPath, nth: 1, action: { type: 'delay', ms: 0 } },
        { method: 'GET', path: objectPath, action: { type: 'drop' } },
      ]);
      const error = await rejectionOf(store.get(uri, { concurrency: 2 }));
      expect(error).toMatchObject({ code: 'ERR_CONNECTION', operation: 'get', uri });
    });

    test('aborting cancels every range in flight with ERR_ABORTED', async () => {
      proxy.setRules([{ method: 'GET', path: objectPath, action: { type: 'delay', ms: 400 } }]);
      const controller = new AbortController();
      const pending = store.get(uri, { signal: controller.signal });
      setTimeout(() => controller.abort(new Error('stop')), 600);
      const started = Date.now();
      await expect(pending).rejects.toMatchObject({ code: 'ERR_ABORTED' });
      expect(Date.now() - started).toBeLessThan(5000);
    });

    test('32 ranges in flight under one caller signal trip no MaxListeners warning', async () => {
      // Slow answers keep every range (with its retry and timeout listeners) in flight at once. A
      // plain Node child process: jest's sandbox does not see process warnings.
      proxy.setRules([{ method: 'GET', path: objectPath, action: { type: 'delay', ms: 100 } }]);
      const child = await runNodeScript(
        `const s = require(LIB);
       const warnings = [];
       process.on('warning', (w) => warnings.push(w.name));
       (async () => {
         const store = s.storeFor('s3://', { endpoint: ARGS.endpoint, region: 'us-east-1', credentials: { accessKeyId: 't', secretAccessKey: 't' } });
         const bytes = await store.get(ARGS.uri, { signal: new AbortController().signal, rangeThreshold: 1 << 20, chunkSize: 64 << 10, concurrency: 32 });
         await new Promise((resolve) => setTimeout(resolve, 50));
         console.log(JSON.stringify({ length: bytes.byteLength, warnings: warnings.filter((name) => name === 'MaxListenersExceededWarning') }));
       })().catch((error) => { console.error(error); process.exit(1); });`,
        { endpoint: proxy.url, uri },
      );
      expect(child.code).toBe(0);
      expect(JSON.parse(child.stdout.trim().split('\n').at(-1) as string)).toEqual({ length: size, warnings: [] });
    });

    test('an object replaced during the read is ERR_CHANGED_DURING_READ, never a mix of versions', async () => {
      const other = `s3://${bucket}/changing.bin`;
      await direct.put(other, bytes);
      const path = new RegExp(`^/${bucket}/changing\\.bin`);
      // The first range answers at once; the others wait while a new version is written.
      proxy.setRules([
        { method: 'GET', path, nth: 1, action: { type: 'delay', ms: 0 } },
        { method: 'GET', path, action: { type: 'delay', ms: 500 } },
      ]);
      const pending = rejectionOf(store.get(other));
      await new Promise((resolve) => setTimeout(resolve, 150));
      await direct.put(other, testBytes(size, 78));
      expect(await pending).toMatchObject({ code: 'ERR_CHANGED_DURING_READ', uri: other });
    });
  },
);
