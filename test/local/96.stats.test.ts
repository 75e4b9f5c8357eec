/**
 * stats() of local and in-memory stores: each I/O is one request, counted with its bytes, its
 * failure and its latency; there are no endpoints. A snapshot never changes afterwards.
 */
import * as s3dlio from '../../lib';
import { rejectionOf, SCHEMES, sandbox, testBytes } from '../helpers/local';
import { useTempDir } from '../helpers/temp';

const tmp = useTempDir('s3dlio-stats-');

/** A store of its own (storeFor without options gives the shared default store of the scheme). */
function freshStore(scheme: 'file' | 'direct' | 'mem'): s3dlio.ObjectStore {
  if (scheme === 'file') return new s3dlio.FileStore();
  if (scheme === 'direct') return new s3dlio.DirectStore();
  return new s3dlio.MemoryStore();
}

describe.each([...SCHEMES, 'mem'] as const)('%s://', (scheme) => {
  test('puts, gets, a range, a failure: requests, bytes, errors and latency', async () => {
    const store = freshStore(scheme);
    const root = scheme === 'mem' ? 'mem://stats-bucket/' : sandbox(tmp.path, scheme, 'stats').uri('');
    if (scheme === 'mem') await store.createBucket(root);
    const before = store.stats();
    expect(before.requests).toBe(scheme === 'mem' ? 1 : 0); // the bucket of mem://
    expect(before).toMatchObject({
      scheme,
      errors: 0,
      bytesIn: 0,
      bytesOut: 0,
      inFlight: 0,
      endpoints: [],
    });
    const bytes = testBytes(10_000, 5);
    await store.put(`${root}a.bin`, bytes);
    expect((await store.get(`${root}a.bin`)).byteLength).toBe(10_000);
    expect((await store.getRange(`${root}a.bin`, 100, 50)).byteLength).toBe(50);
    await rejectionOf(store.get(`${root}missing.bin`));
    const stats = store.stats();
    expect(stats).toMatchObject({
      requests: before.requests + 4,
      errors: 1,
      retries: 0,
      bytesOut: 10_000,
      bytesIn: 10_050,
      inFlight: 0,
      endpoints: [],
    });
    expect(stats.latencyMs.max).toBeGreaterThan(0);
    expect(stats.latencyMs.p50).toBeLessThanOrEqual(stats.latencyMs.max);
    // A snapshot: what comes later is in the next one only.
    await store.get(`${root}a.bin`);
    expect(stats.requests).toBe(before.requests + 4);
    expect(store.stats().requests).toBe(before.requests + 5);
  });

  test('each store counts its own requests', async () => {
    const one = freshStore(scheme);
    const two = freshStore(scheme);
    const root = scheme === 'mem' ? 'mem://stats-own/' : sandbox(tmp.path, scheme, 'own').uri('');
    if (scheme === 'mem') {
      await one.createBucket(root);
      await two.createBucket(root);
    }
    await one.put(`${root}x`, 'x');
    expect(two.stats().bytesOut).toBe(0);
    expect(one.stats().bytesOut).toBe(1);
  });
});
