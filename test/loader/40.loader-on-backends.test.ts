/**
 * The loader on every backend: file://, direct:// and the three cloud test servers. Exactly-once
 * coverage across ranks and epochs with the bytes intact, range mode, a backend failing
 * mid-epoch (through the fault proxy), and a process that exits on its own after a `break`.
 */
import { createHash } from 'crypto';

import { type ObjectStore, storeFor } from '../../lib';
import { DataLoader } from '../../lib/loader/data-loader';
import { Dataset } from '../../lib/loader/dataset';
import { type CloudTarget, cloudTargets, gsTarget, newBucketName, s3Endpoint, s3Target } from '../cloud/targets';
import { withTools } from '../helpers/tools';
import { runNodeScript } from '../helpers/child';
import { rejectionOf, testBytes } from '../helpers/local';
import { useTempDir } from '../helpers/temp';
import { type FaultProxy, startFaultProxy } from '../servers/fault-proxy';

const tmp = useTempDir('s3dlio-loader-backends-');
const OBJECTS = 24;
/** Object i: its own bytes, of a size that varies from 1 KiB to about 48 KiB; one larger object. */
const sizeOf = (i: number): number => (i === 7 ? 3 * 1024 * 1024 + 5 : 1024 + ((i * 7919) % 48_000));
const digest = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');
const expected = new Map<string, string>(); // key -> sha256

interface Backend {
  name: string;
  prefix: () => string;
  store: () => ObjectStore;
  setup: () => Promise<void>;
  teardown: () => Promise<void>;
}

function cloudBackend(target: CloudTarget): Backend {
  const bucket = newBucketName(`loader-${target.scheme}`);
  let store: ObjectStore;
  return {
    name: target.name,
    prefix: () => `${target.bucketUri(bucket)}data/`,
    store: () => store,
    setup: async () => {
      store = target.store();
      await store.createBucket(target.bucketUri(bucket));
    },
    teardown: () => store.deleteBucket(target.bucketUri(bucket), { force: true }),
  };
}

function localBackend(scheme: 'file' | 'direct'): Backend {
  return {
    name: `${scheme}://`,
    prefix: () => `${scheme}://${tmp.path}/${scheme}/data/`,
    store: () => storeFor(`${scheme}:///`),
    setup: async () => undefined,
    teardown: async () => undefined,
  };
}

const backends: Backend[] = [localBackend('file'), localBackend('direct'), ...cloudTargets().map(cloudBackend)];

describe.each(backends.map((backend) => [backend.name, backend] as const))('%s', (_name, backend) => {
  beforeAll(async () => {
    await backend.setup();
    const store = backend.store();
    for (let i = 0; i < OBJECTS; i++) {
      const key = `obj-${String(i).padStart(3, '0')}.bin`;
      const bytes = testBytes(sizeOf(i), i + 1);
      expected.set(key, digest(bytes));
      await store.put(`${backend.prefix()}${key}`, bytes);
    }
  });
  afterAll(() => backend.teardown());

  test('2 ranks × 2 epochs, shuffled: every object exactly once per epoch, bytes intact', async () => {
    const dataset = await Dataset.fromPrefix(backend.prefix(), { store: backend.store() });
    expect(dataset.length).toBe(OBJECTS);
    const orders: string[][] = [];
    for (const epoch of [0, 1]) {
      const seen: string[] = [];
      for (const rank of [0, 1]) {
        const loader = new DataLoader(dataset, {
          batchSize: 5,
          shuffle: true,
          seed: 7,
          rank,
          worldSize: 2,
          concurrency: 6,
        });
        loader.setEpoch(epoch);
        for await (const batch of loader) {
          for (const item of batch) {
            const key = item.uri.slice(backend.prefix().length);
            expect(item.size).toBe(item.data.byteLength);
            expect(digest(item.data)).toBe(expected.get(key));
            seen.push(key);
          }
        }
      }
      expect([...seen].sort()).toEqual([...expected.keys()].sort());
      orders.push(seen);
    }
    expect(orders[1]).not.toEqual(orders[0]);
  });

  test('objects larger than rangeThreshold are read in ranges of chunkSize, bytes intact', async () => {
    const dataset = await Dataset.fromPrefix(backend.prefix(), { store: backend.store(), pattern: /obj-00[6-8]/ });
    const loader = new DataLoader(dataset, { batchSize: 3, rangeThreshold: 256 * 1024, chunkSize: 256 * 1024 });
    for await (const batch of loader) {
      expect(batch.map((item) => digest(item.data))).toEqual(
        ['obj-006.bin', 'obj-007.bin', 'obj-008.bin'].map((key) => expected.get(key)),
      );
    }
    expect(loader.stats.bytes).toBe(sizeOf(6) + sizeOf(7) + sizeOf(8));
  });

  test('break mid-epoch: the loop ends, nothing is left in flight', async () => {
    const dataset = await Dataset.fromPrefix(backend.prefix(), { store: backend.store() });
    let batches = 0;
    for await (const batch of new DataLoader(dataset, { batchSize: 2, concurrency: 8 })) {
      expect(batch).toHaveLength(2);
      if (++batches === 2) break;
    }
    expect(batches).toBe(2);
  });
});

withTools(['moto'], 'a backend failing mid-epoch').describe(
  'a backend failing mid-epoch (S3 through the fault proxy)',
  () => {
    let proxy: FaultProxy;
    const target = s3Target();
    const bucket = newBucketName('loader-faults');
    const direct = target.store();
    beforeAll(async () => {
      proxy = await startFaultProxy({ target: s3Endpoint() });
      await direct.createBucket(`s3://${bucket}/`);
      for (let i = 0; i < 20; i++)
        await direct.put(`s3://${bucket}/d/o${String(i).padStart(2, '0')}`, testBytes(2000, i));
    });
    afterAll(async () => {
      await direct.deleteBucket(`s3://${bucket}/`, { force: true });
      await proxy.stop();
    });

    const viaProxy = (): ObjectStore => target.store({ endpoint: proxy.url, maxAttempts: 2, retryBaseDelayMs: 5 });

    test('an object that keeps failing fails the iteration with its URI, code and cause', async () => {
      const dataset = await Dataset.fromPrefix(`s3://${bucket}/d/`, { store: viaProxy() });
      proxy.setRules([
        { method: 'GET', path: new RegExp(`^/${bucket}/d/o13`), action: { type: 'status', status: 500 } },
      ]);
      const error = await rejectionOf(
        (async () => {
          for await (const batch of new DataLoader(dataset, { batchSize: 4 })) void batch;
        })(),
      );
      expect(error.uri).toBe(`s3://${bucket}/d/o13`);
      expect(error.code).toBe('ERR_SERVER');
      expect(proxy.stats.byType.status).toBe(2); // both attempts reached the server
    });

    test("onError 'skip': the epoch completes without it, and stats name it", async () => {
      const dataset = await Dataset.fromPrefix(`s3://${bucket}/d/`, { store: viaProxy() });
      proxy.setRules([
        { method: 'GET', path: new RegExp(`^/${bucket}/d/o0[37]`), action: { type: 'status', status: 500 } },
      ]);
      const loader = new DataLoader(dataset, { batchSize: 4, onError: 'skip' });
      const seen: string[] = [];
      for await (const batch of loader) seen.push(...batch.map((item) => item.uri.slice(-3)));
      expect(seen).toHaveLength(18);
      expect(seen).not.toContain('o03');
      expect(loader.stats.skipped).toBe(2);
      expect(loader.stats.errors.map((e) => [e.uri.slice(-3), e.code])).toEqual([
        ['o03', 'ERR_SERVER'],
        ['o07', 'ERR_SERVER'],
      ]);
    });
  },
);

describe('no leaked handles: a process that breaks out of a loader exits on its own', () => {
  test.each([
    ['file://', () => `file://${tmp.path}/file/data/`, {}],
    [
      'gs://',
      () => `${gsTarget().bucketUri('loader-exit')}data/`,
      { endpoint: process.env.S3DLIO_TEST_GCS_ENDPOINT, projectId: 'test' },
    ],
    [
      'gs:// with I/O threads',
      () => `${gsTarget().bucketUri('loader-exit-threads')}data/`,
      { endpoint: process.env.S3DLIO_TEST_GCS_ENDPOINT, projectId: 'test', transport: 'lean', ioThreads: 2 },
    ],
  ])('%s', async (_label, prefix, storeOptions) => {
    const result = await runNodeScript(
      `(async () => {
        const { Dataset, DataLoader, storeFor } = require(LIB);
        const store = storeFor(ARGS.prefix, ARGS.storeOptions);
        if (ARGS.prefix.startsWith('gs://')) {
          await store.createBucket(ARGS.prefix.replace(/data\\/$/, ''));
          for (let i = 0; i < 40; i++) await store.put(ARGS.prefix + 'o' + i, new Uint8Array(10000).fill(i));
        }
        const dataset = await Dataset.fromPrefix(ARGS.prefix, { store });
        let n = 0;
        for await (const batch of new DataLoader(dataset, { batchSize: 4, concurrency: 32 })) if (++n === 2) break;
        if (ARGS.prefix.startsWith('gs://')) await store.deleteBucket(ARGS.prefix.replace(/data\\/$/, ''), { force: true });
        console.log('RESULT done ' + n);
        // No process.exit: the process must end by itself, with no handle left open (an idle
        // I/O thread that still held it would stop only after its idle time, 5 s).
        setTimeout(() => console.log('RESULT still running'), 3000).unref();
      })();`,
      { prefix: prefix(), storeOptions },
    );
    expect(result.stderr).not.toMatch(/Error|Warning/); // incl. MaxListenersExceededWarning (32 fetches)
    expect(result.stdout).toContain('RESULT done 2');
    expect(result.stdout).not.toContain('still running');
    expect(result.code).toBe(0);
  });
});
