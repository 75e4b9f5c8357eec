/**
 * store.stats() by op and by error code on every backend, and the module-level stats() summed
 * over every store alive.
 */
import { stats } from '../../lib';
import { isErrorCode, type ErrorCode } from '../../lib/errors';
import { newBucketName } from '../cloud/targets';
import { storeTargets } from '../contract/targets';
import { rejectionOf, testBytes } from '../helpers/local';

describe.each(storeTargets())('%s: stats', (_name, target) => {
  const store = target.store();
  const bucket = target.bucketUri(newBucketName('st'));

  beforeAll(() => store.createBucket(bucket));
  afterAll(() => store.deleteBucket(bucket, { force: true }));

  test('each request counted once by op, with its bytes and latency; failures by code', async () => {
    const before = store.stats();
    const processBefore = stats();
    await store.put(`${bucket}a`, testBytes(1000, 1));
    await store.get(`${bucket}a`);
    await store.getRange(`${bucket}a`, 0, 10);
    await store.stat(`${bucket}a`);
    expect(await rejectionOf(store.get(`${bucket}missing`))).toMatchObject({ code: 'ERR_NOT_FOUND' });
    const after = store.stats();
    const delta = (op: string, field: 'requests' | 'errors' | 'bytes'): number =>
      (after.ops[op]?.[field] ?? 0) - (before.ops[op]?.[field] ?? 0);
    expect(delta('PUT', 'requests')).toBe(1);
    expect(delta('PUT', 'bytes')).toBe(1000);
    expect(delta('GET', 'requests')).toBe(3);
    expect(delta('GET', 'bytes')).toBe(1010);
    expect(delta('GET', 'errors')).toBe(1);
    expect(delta('STAT', 'requests')).toBeGreaterThanOrEqual(1);
    expect((after.errorsByCode.ERR_NOT_FOUND ?? 0) - (before.errorsByCode.ERR_NOT_FOUND ?? 0)).toBe(1);
    const latency = after.ops.GET.latencyMs;
    expect(latency.p50).toBeGreaterThan(0);
    expect(latency.max).toBeGreaterThanOrEqual(latency.p99);
    expect(latency.p99).toBeGreaterThanOrEqual(latency.p50);

    const processAfter = stats();
    expect(processAfter.scheme).toBe('*');
    expect(processAfter.ops.GET.requests - (processBefore.ops.GET?.requests ?? 0)).toBeGreaterThanOrEqual(3);
    expect(processAfter.errorsByCode.ERR_NOT_FOUND).toBeGreaterThanOrEqual(1);
    expect(processAfter.requests).toBeGreaterThanOrEqual(after.requests);
  });

  test('errorsByCode counts the codes the callers saw, each a documented ErrorCode (typed as one)', async () => {
    await store.put(`${bucket}exists`, 'x');
    const before = store.stats().errorsByCode;
    const seen: ErrorCode[] = [
      await rejectionOf(store.get(`${bucket}nothing`)),
      await rejectionOf(store.put(`${bucket}exists`, 'y', { overwrite: false })),
      await rejectionOf(store.stat(`${bucket}nothing`)),
    ].map((error: { code: ErrorCode }) => error.code);
    const after = store.stats().errorsByCode;
    const counted: Partial<Record<ErrorCode, number>> = {};
    for (const code of Object.keys(after).filter(isErrorCode)) {
      const delta = (after[code] ?? 0) - (before[code] ?? 0);
      if (delta > 0) counted[code] = delta;
    }
    const expected: Partial<Record<ErrorCode, number>> = {};
    for (const code of seen) expected[code] = (expected[code] ?? 0) + 1;
    expect(counted).toEqual(expected);
    expect(Object.keys(after).filter((code) => !isErrorCode(code))).toEqual([]);
    // @ts-expect-error: keyed by the documented codes, not by any string
    expect(after.ERR_UNKNOWN).toBeUndefined();
  });
});
