/**
 * Retries, timeouts and broken responses, proven through a fault-injecting proxy in front of the
 * real S3 test server: transient failures are retried with backoff and succeed; persistent ones
 * surface as typed errors after the configured attempts; a truncated body is an error, never
 * short data.
 */
import { mkdtempSync, readdirSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import * as path from 'path';

import { type ObjectStore, configureDefaultStore, download, storeFor } from '../../lib';
import { expectSameBytes, rejectionOf, testBytes } from '../helpers/local';
import { type FaultProxy, SLOW_DOWN_BODY, startFaultProxy } from '../servers/fault-proxy';
import { withTools } from '../helpers/tools';
import { newBucketName, s3Endpoint, s3Target } from './targets';

// The whole suite runs against moto (skipped loudly without it).
const s3 = withTools(['moto'], 'retries and faults (S3 through the fault proxy)');
let proxy: FaultProxy;
const direct = s3Target().store();
const bucket = newBucketName('faults');
const objectPath = new RegExp(`^/${bucket}/data\\.bin`);
const bytes = testBytes(3 << 20, 21);

function viaProxy(options: Record<string, unknown> = {}): ObjectStore {
  return storeFor('s3://', {
    endpoint: proxy.url,
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    retryBaseDelayMs: 5,
    ...options,
  });
}

beforeAll(async () => {
  proxy = await startFaultProxy({ target: s3Endpoint() });
  await direct.createBucket(`s3://${bucket}/`);
  await direct.put(`s3://${bucket}/data.bin`, bytes);
});
afterAll(async () => {
  await direct.deleteBucket(`s3://${bucket}/`, { force: true });
  await proxy.stop();
});
beforeEach(() => {
  proxy.clearRules();
  proxy.resetStats();
});

s3.test('503 SlowDown twice, then success: the get is retried and returns every byte', async () => {
  proxy.setRules([
    { method: 'GET', path: objectPath, times: 2, action: { type: 'status', status: 503, body: SLOW_DOWN_BODY } },
  ]);
  expectSameBytes(await viaProxy().get(`s3://${bucket}/data.bin`), bytes);
  expect(proxy.stats.byType.status).toBe(2);
});

s3.test('429 and 500 are retried too', async () => {
  proxy.setRules([
    { method: 'GET', path: objectPath, nth: 1, action: { type: 'status', status: 429 } },
    { method: 'GET', path: objectPath, nth: 2, action: { type: 'status', status: 500 } },
  ]);
  expectSameBytes(await viaProxy().get(`s3://${bucket}/data.bin`), bytes);
  expect(proxy.stats.faults).toBe(2);
});

s3.test('persistent throttling → ERR_THROTTLED after exactly maxAttempts attempts', async () => {
  proxy.setRules([{ method: 'GET', path: objectPath, action: { type: 'status', status: 503, body: SLOW_DOWN_BODY } }]);
  const error = await rejectionOf(viaProxy({ maxAttempts: 3 }).get(`s3://${bucket}/data.bin`));
  expect(error).toMatchObject({ code: 'ERR_THROTTLED', operation: 'get' });
  expect(proxy.stats.requests).toBe(3);
});

s3.test('a dropped connection is retried (ECONNRESET), and reported as ERR_CONNECTION when it persists', async () => {
  proxy.setRules([{ method: 'GET', path: objectPath, times: 1, action: { type: 'drop' } }]);
  expectSameBytes(await viaProxy().get(`s3://${bucket}/data.bin`), bytes);
  proxy.setRules([{ method: 'GET', path: objectPath, action: { type: 'drop' } }]);
  await expect(viaProxy({ maxAttempts: 2 }).get(`s3://${bucket}/data.bin`)).rejects.toMatchObject({
    code: 'ERR_CONNECTION',
  });
});

s3.test('a body truncated mid-transfer is never returned as short data: retried, then ERR_TRUNCATED_BODY', async () => {
  proxy.setRules([{ method: 'GET', path: objectPath, times: 1, action: { type: 'truncate', bytes: 100_000 } }]);
  expectSameBytes(await viaProxy().get(`s3://${bucket}/data.bin`), bytes);
  expect(proxy.stats.byType.truncate).toBe(1);
  proxy.setRules([{ method: 'GET', path: objectPath, action: { type: 'truncate', bytes: 100_000 } }]);
  const error = await rejectionOf(viaProxy({ maxAttempts: 2 }).get(`s3://${bucket}/data.bin`));
  expect(error).toMatchObject({ code: 'ERR_TRUNCATED_BODY', operation: 'get' });
});

s3.test(
  'a download whose body is cut every time fails with ERR_TRUNCATED_BODY and leaves no file, whole or part',
  async () => {
    // download() uses the default s3:// store: this file's (jest gives each file its own modules).
    configureDefaultStore('s3://', {
      endpoint: proxy.url,
      region: 'us-east-1',
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
      retryBaseDelayMs: 5,
      maxAttempts: 2,
    });
    const into = mkdtempSync(path.join(tmpdir(), 's3dlio-cut-download-'));
    try {
      proxy.setRules([{ method: 'GET', path: objectPath, action: { type: 'truncate', bytes: 100_000 } }]);
      const error = await rejectionOf(download(`s3://${bucket}/`, into));
      expect(error).toMatchObject({ code: 'ERR_BATCH_FAILED', operation: 'download', succeeded: 0 });
      expect((error as AggregateError).errors).toMatchObject([
        { code: 'ERR_TRUNCATED_BODY', uri: `s3://${bucket}/data.bin` },
      ]);
      expect(proxy.stats.byType.truncate).toBeGreaterThanOrEqual(2); // retried, then given up
      expect(readdirSync(into, { recursive: true })).toEqual([]);
    } finally {
      rmSync(into, { recursive: true, force: true });
    }
  },
);

s3.test('a connection reset mid-body of a range request is retried', async () => {
  proxy.setRules([{ method: 'GET', path: objectPath, times: 1, action: { type: 'reset-mid-body', bytes: 1000 } }]);
  expectSameBytes(await viaProxy().getRange(`s3://${bucket}/data.bin`, 5000, 200_000), bytes.subarray(5000, 205_000));
});

s3.test(
  'an attempt slower than attemptTimeoutMs times out, is retried, and gives ERR_TIMEOUT when all are slow',
  async () => {
    proxy.setRules([{ method: 'GET', path: objectPath, times: 1, action: { type: 'delay', ms: 1500 } }]);
    expectSameBytes(await viaProxy({ attemptTimeoutMs: 400 }).get(`s3://${bucket}/data.bin`), bytes);
    proxy.setRules([{ method: 'GET', path: objectPath, action: { type: 'delay', ms: 1500 } }]);
    await expect(
      viaProxy({ attemptTimeoutMs: 300, maxAttempts: 2 }).get(`s3://${bucket}/data.bin`),
    ).rejects.toMatchObject({
      code: 'ERR_TIMEOUT',
    });
  },
);

s3.test('4xx answers are not retried (a missing key costs one request)', async () => {
  await expect(viaProxy().get(`s3://${bucket}/missing.bin`)).rejects.toMatchObject({ code: 'ERR_NOT_FOUND' });
  expect(proxy.stats.requests).toBe(1);
});

s3.test('the caller aborting during backoff stops the retries with ERR_ABORTED', async () => {
  proxy.setRules([{ method: 'GET', path: objectPath, action: { type: 'status', status: 503, body: SLOW_DOWN_BODY } }]);
  const controller = new AbortController();
  const pending = viaProxy({ maxAttempts: 50, retryBaseDelayMs: 200 }).get(`s3://${bucket}/data.bin`, {
    signal: controller.signal,
  });
  setTimeout(() => controller.abort(new Error('enough')), 300);
  await expect(pending).rejects.toMatchObject({ code: 'ERR_ABORTED' });
  expect(proxy.stats.requests).toBeLessThan(10);
});
