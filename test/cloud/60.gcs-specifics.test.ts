/**
 * What only gs:// has: the gcs:// alias, STORAGE_EMULATOR_HOST configuration, GCS bucket naming,
 * and broken downloads through the fault proxy (the SDK alone can hang on a truncated body: the
 * library must turn it into an error or a successful retry, never short data).
 */
import { OAuth2Client } from 'google-auth-library';

import * as s3dlio from '../../lib';
import { freshLibrary } from '../helpers/fresh-library';
import { expectSameBytes, rejectionOf, testBytes } from '../helpers/local';
import { type FaultProxy, startFaultProxy } from '../servers/fault-proxy';
import { type GcsServer, startGcsServer } from '../servers/gcs-server';
import { gsTarget, newBucketName, sdkTransportRun } from './targets';

const target = gsTarget();
const store = target.store();
const bucket = newBucketName('gcs');
const base = `gs://${bucket}/`;
const bytes = testBytes(2 << 20, 31);

beforeAll(async () => {
  await store.createBucket(base);
  await store.put(`${base}data.bin`, bytes);
});
afterAll(() => store.deleteBucket(base, { force: true }));

test('gcs:// is an alias of gs://, and listings keep the alias the caller used', async () => {
  const alias = `gcs://${bucket}/`;
  await store.put(`${alias}alias/obj`, 'via alias');
  expect(Buffer.from(await store.get(`${base}alias/obj`)).toString()).toBe('via alias');
  expect(await store.list(`${alias}alias/`)).toEqual([`${alias}alias/obj`]);
  expect(await store.list(`${base}alias/`)).toEqual([`${base}alias/obj`]);
});

test.each(['ab', 'UPPER', 'a..b', '-start', 'end_', 'x'.repeat(223)])(
  'invalid bucket name %j → ERR_INVALID_URI',
  async (name) => {
    const error = await rejectionOf(store.stat(`gs://${name}/key`));
    expect(error).toMatchObject({ code: 'ERR_INVALID_URI', operation: 'stat' });
  },
);

test('STORAGE_EMULATOR_HOST configures the default gs:// store of module functions', async () => {
  const saved = { ...process.env };
  process.env.STORAGE_EMULATOR_HOST = process.env.S3DLIO_TEST_GCS_ENDPOINT;
  process.env.GOOGLE_CLOUD_PROJECT = 'test';
  try {
    const lib = freshLibrary();
    await lib.put(`${base}env/obj`, 'from env');
    expect(Buffer.from(await lib.get(`${base}env/obj`)).toString()).toBe('from env');
    expect(await lib.listBuckets('gs://')).toContain(base);
  } finally {
    process.env = saved;
  }
});

describe('through the fault proxy', () => {
  let proxy: FaultProxy;
  const media = new RegExp(`/b/${bucket}/o/data\\.bin\\?.*alt=media`);
  const viaProxy = (options: Record<string, unknown> = {}) =>
    target.store({ endpoint: proxy.url, retryBaseDelayMs: 5, ...options });

  beforeAll(async () => {
    proxy = await startFaultProxy({ target: process.env.S3DLIO_TEST_GCS_ENDPOINT as string });
  });
  afterAll(() => proxy.stop());
  beforeEach(() => {
    proxy.clearRules();
    proxy.resetStats();
  });

  test('a truncated download is retried and returns every byte', async () => {
    proxy.setRules([{ method: 'GET', path: media, times: 1, action: { type: 'truncate', bytes: 65_536 } }]);
    expectSameBytes(await viaProxy({ attemptTimeoutMs: 5000 }).get(`${base}data.bin`), bytes);
    expect(proxy.stats.byType.truncate).toBe(1);
  });

  test('a download that is always truncated fails with a typed error, never short data', async () => {
    proxy.setRules([{ method: 'GET', path: media, action: { type: 'truncate', bytes: 65_536 } }]);
    const error = await rejectionOf(viaProxy({ attemptTimeoutMs: 2000, maxAttempts: 2 }).get(`${base}data.bin`));
    expect(['ERR_TRUNCATED_BODY', 'ERR_CONNECTION', 'ERR_TIMEOUT']).toContain(error.code);
  });

  test('503 and a dropped connection are retried', async () => {
    proxy.setRules([
      {
        method: 'GET',
        path: media,
        nth: 1,
        action: { type: 'status', status: 503, body: '{"error":{"code":503,"message":"busy"}}' },
      },
      { method: 'GET', path: media, nth: 2, action: { type: 'drop' } },
    ]);
    expectSameBytes(await viaProxy().get(`${base}data.bin`), bytes);
    expect(proxy.stats.faults).toBe(2);
  });
});

describe('credentials, against a GCS server that checks bearer tokens', () => {
  let server: Awaited<ReturnType<typeof startGcsServer>>;
  const goodToken = 'ya29.good-token-for-tests';
  const badToken = 'ya29.WRONG-token-s3cr3t';
  const withToken = (token: string, options: Record<string, unknown> = {}) => {
    const authClient = new OAuth2Client();
    authClient.setCredentials({ access_token: token, expiry_date: Date.now() + 3_600_000 });
    return s3dlio.storeFor('gs://', { endpoint: server.url, projectId: 'test', authClient, ...options });
  };

  beforeAll(async () => {
    server = await startGcsServer({ requireBearerToken: goodToken });
  });
  afterAll(() => server.stop());

  test('the right token works through a custom authClient', async () => {
    const store = withToken(goodToken);
    await store.createBucket('gs://auth-bucket/');
    await store.put('gs://auth-bucket/k', 'signed');
    expect(Buffer.from(await store.get('gs://auth-bucket/k')).toString()).toBe('signed');
    // A resumable upload session, every request of it with the token (on the SDK transport the
    // SDK sends a session's chunks without credentials to a custom endpoint: lean only).
    if (sdkTransportRun()) return;
    const writer = store.createWriter('gs://auth-bucket/w', { partSize: 256 * 1024 });
    await writer.write(testBytes(600_000, 3));
    await writer.close();
    expectSameBytes(await store.get('gs://auth-bucket/w'), testBytes(600_000, 3));
  });

  test('an authClient without the methods of a google-auth-library client is refused when the store is made', () => {
    for (const authClient of [{}, 'token', null, { getRequestHeaders: () => ({}), getAccessToken: () => '' }]) {
      expect(() =>
        s3dlio.storeFor('gs://', { endpoint: server.url, authClient: authClient as unknown as OAuth2Client }),
      ).toThrow(
        expect.objectContaining({
          name: 'TypeError',
          code: 'ERR_INVALID_ARG_TYPE',
          message: expect.stringContaining('`options.authClient`'),
        }),
      );
    }
  });

  test('a wrong token → ERR_ACCESS_DENIED (not retried); the token appears nowhere in the error', async () => {
    const before = server.requests;
    const error = await rejectionOf(withToken(badToken).get('gs://auth-bucket/k'));
    expect(error).toMatchObject({ code: 'ERR_ACCESS_DENIED', operation: 'get' });
    expect(server.requests - before).toBe(1);
    const everything = JSON.stringify({
      message: error.message,
      stack: error.stack,
      cause: String(error.cause),
      fields: { ...error },
    });
    expect(everything).not.toContain('WRONG-token');
  });

  test('no credentials at all → ERR_ACCESS_DENIED', async () => {
    const anonymous = s3dlio.storeFor('gs://', { endpoint: server.url, projectId: 'test' });
    await expect(anonymous.stat('gs://auth-bucket/k')).rejects.toMatchObject({ code: 'ERR_ACCESS_DENIED' });
  });
});

describe('error codes never depend on bucket or key names', () => {
  // GCS answers a missing object "No such object: <bucket>/<key>": names that contain "bucket",
  // "not empty" or a network error's wording are quoted in the message and must not change the code.
  const named = `gs://${newBucketName('bucketbucket')}/`;
  const missingBucket = `gs://${newBucketName('no-such-bucket')}/`;
  const keys = ['bucket/nope', 'no-such-bucket', 'The specified bucket does not exist.', 'socket hang up', 'not empty'];

  beforeAll(async () => {
    await store.createBucket(named);
    await store.put(`${named}present`, 'here');
  });
  afterAll(() => store.deleteBucket(named, { force: true }));

  test.each(keys)('missing key %j in a bucket named "…bucket…" → ERR_NOT_FOUND for every read', async (key) => {
    const uri = `${named}${key}`;
    for (const [operation, attempt] of [
      ['get', () => store.get(uri)],
      ['getRange', () => store.getRange(uri, 0, 10)],
      ['getRange', () => store.getRange(uri, 5)],
      ['stat', () => store.stat(uri)],
      ['delete', () => store.delete(uri)],
      ['copy', () => store.copy(uri, `${named}copy-target`)],
      ['rename', () => store.rename(uri, `${named}rename-target`)],
    ] as const) {
      await expect(attempt()).rejects.toMatchObject({ code: 'ERR_NOT_FOUND', operation });
    }
    await expect(store.exists(uri)).resolves.toBe(false);
    await expect(rejectionOf(store.getMany([`${named}present`, uri]))).resolves.toMatchObject({
      errors: [expect.objectContaining({ code: 'ERR_NOT_FOUND' })],
    });
    const stream = store.getStream(uri);
    await expect(
      (async () => {
        for await (const chunk of stream) void chunk;
      })(),
    ).rejects.toMatchObject({ code: 'ERR_NOT_FOUND' });
  });

  test('a missing key is not retried as a network failure, even when named like one', async () => {
    const server = await startGcsServer();
    try {
      const direct = s3dlio.storeFor('gs://', { endpoint: server.url, projectId: 'test', retryBaseDelayMs: 1 });
      await direct.createBucket(named);
      const before = server.requests;
      await expect(direct.get(`${named}socket hang up`)).rejects.toMatchObject({ code: 'ERR_NOT_FOUND' });
      expect(server.requests - before).toBe(1);
    } finally {
      await server.stop();
    }
  });

  test('listing a missing prefix in a bucket named "…bucket…" is empty; copy into it works', async () => {
    expect(await store.list(`${named}no-such-bucket/`)).toEqual([]);
    await store.copy(`${named}present`, `${named}bucket/copied`);
    expect(Buffer.from(await store.get(`${named}bucket/copied`)).toString()).toBe('here');
  });

  test('a bucket that really is missing → ERR_BUCKET_NOT_FOUND, whatever the key', async () => {
    for (const key of keys) {
      const uri = `${missingBucket}${key}`;
      await expect(store.get(uri)).rejects.toMatchObject({ code: 'ERR_BUCKET_NOT_FOUND', operation: 'get' });
      await expect(store.getRange(uri, 0, 10)).rejects.toMatchObject({ code: 'ERR_BUCKET_NOT_FOUND' });
      await expect(store.stat(uri)).rejects.toMatchObject({ code: 'ERR_BUCKET_NOT_FOUND', operation: 'stat' });
      await expect(store.delete(uri)).rejects.toMatchObject({ code: 'ERR_BUCKET_NOT_FOUND' });
      await expect(store.copy(`${named}present`, uri)).rejects.toMatchObject({ code: 'ERR_BUCKET_NOT_FOUND' });
    }
    await expect(store.list(`${missingBucket}bucket/`)).rejects.toMatchObject({ code: 'ERR_BUCKET_NOT_FOUND' });
  });

  test('a bucket name only the service refuses → ERR_INVALID_URI', async () => {
    // Names starting with "goog" pass the client-side rules; GCS answers 400 "Invalid bucket name".
    await expect(store.createBucket(`gs://goog-${newBucketName('x')}/`)).rejects.toMatchObject({
      code: 'ERR_INVALID_URI',
      operation: 'createBucket',
    });
  });

  test('deleting a non-empty bucket → ERR_BUCKET_NOT_EMPTY', async () => {
    await expect(store.deleteBucket(named)).rejects.toMatchObject({ code: 'ERR_BUCKET_NOT_EMPTY' });
  });
});

describe('against a server as strict as GCS, watching the wire', () => {
  let server: GcsServer;
  let strict: s3dlio.ObjectStore;
  const root = 'gs://strict-bucket/';
  const requestsSince = (from: number) => server.requestLog.slice(from);

  beforeAll(async () => {
    server = await startGcsServer();
    strict = s3dlio.storeFor('gs://', { endpoint: server.url, projectId: 'test', retryBaseDelayMs: 1 });
    await strict.createBucket(root);
  });
  afterAll(() => server.stop());

  test('a writer is one resumable session: 256 KiB-aligned chunks, then a final request with the total and CRC32C', async () => {
    // Parts of 300 KiB (not a multiple of 256 KiB) and writes of odd sizes: what does not end on
    // a boundary is carried to the next request.
    const data = testBytes(1_300_000, 43);
    const from = server.requestLog.length;
    const writer = strict.createWriter(`${root}resumable/obj`, { partSize: 300 * 1024 });
    for (let offset = 0; offset < data.byteLength; offset += 170_001) {
      await writer.write(data.subarray(offset, Math.min(offset + 170_001, data.byteLength)));
    }
    await writer.close();
    expectSameBytes(await strict.get(`${root}resumable/obj`, { verify: true }), data);
    const uploads = requestsSince(from).filter((r) => r.url.startsWith('/upload/'));
    const ranges = uploads.map((r) => r.requestHeaders['content-range']).filter((r) => r !== undefined);
    if (!sdkTransportRun()) {
      expect(uploads[0].url).toContain('uploadType=resumable');
      expect(ranges.length).toBeGreaterThan(2);
      for (const range of ranges.slice(0, -1)) {
        const [, start, end] = /^bytes (\d+)-(\d+)\/\*$/.exec(String(range))!;
        expect(Number(start) % (256 * 1024)).toBe(0);
        expect((Number(end) + 1) % (256 * 1024)).toBe(0);
      }
      expect(ranges[ranges.length - 1]).toMatch(new RegExp(`/${data.byteLength}$`));
      const last = uploads[uploads.length - 1];
      expect(String(last.requestHeaders['x-goog-hash'])).toMatch(/^crc32c=/);
    }
    // A writer closed with nothing written leaves an empty object.
    const empty = strict.createWriter(`${root}resumable/empty`, { partSize: 300 * 1024 });
    await empty.close();
    expect((await strict.get(`${root}resumable/empty`)).byteLength).toBe(0);
    expect(server.activeUploads).toBe(0);
  });

  test('an aborted writer leaves no object and no open session', async () => {
    const writer = strict.createWriter(`${root}resumable/aborted`, { partSize: 256 * 1024 });
    await writer.write(testBytes(700_000, 44));
    await writer.abort();
    expect(await strict.exists(`${root}resumable/aborted`)).toBe(false);
    // The lean path cancels the session; the SDK's stream is only dropped (the session expires).
    if (!sdkTransportRun()) expect(server.activeUploads).toBe(0);
  });

  test('copy and rename follow rewrite tokens until done', async () => {
    const data = testBytes(200_000, 41);
    await strict.put(`${root}cp/src`, data);
    const from = server.requestLog.length;
    await strict.copy(`${root}cp/src`, `${root}cp/dst`);
    const rewrites = requestsSince(from).filter((r) => r.url.includes('/rewriteTo/'));
    expect(rewrites.length).toBeGreaterThan(1);
    expect(rewrites.slice(1).every((r) => r.url.includes('rewriteToken='))).toBe(true);
    expectSameBytes(await strict.get(`${root}cp/dst`), data);
    await strict.rename(`${root}cp/dst`, `${root}cp/moved`);
    expectSameBytes(await strict.get(`${root}cp/moved`), data);
    expect(await strict.exists(`${root}cp/dst`)).toBe(false);
  });

  test('listing follows short pages and returns every name exactly once', async () => {
    const deep = Array.from({ length: 130 }, (_, i) => `ls/many/${String(i).padStart(3, '0')}`);
    const flat = Array.from({ length: 60 }, (_, i) => `ls/top-${String(i).padStart(3, '0')}`);
    await strict.putMany([...deep, ...flat].map((key) => ({ uri: `${root}${key}`, data: key })));
    const from = server.requestLog.length;
    expect(await strict.list(`${root}ls/`, { recursive: true })).toEqual([...deep, ...flat].map((k) => `${root}${k}`));
    const pages = requestsSince(from).filter((r) => r.method === 'GET' && /\/o\?/.test(r.url));
    // 190 names, 1000 asked per page: only short pages make this more than one request.
    expect(pages.length).toBeGreaterThan(1);
    expect(await strict.list(`${root}ls/`)).toEqual([`${root}ls/many/`, ...flat.map((k) => `${root}${k}`)]);
  });

  test('an empty object reads as empty though GCS answers its ranges 416', async () => {
    const uri = `${root}empty`;
    await strict.put(uri, new Uint8Array(0));
    const from = server.requestLog.length;
    expect((await strict.getRange(uri, 0)).byteLength).toBe(0);
    expect((await strict.getRange(uri, 0, 10)).byteLength).toBe(0);
    expect(
      requestsSince(from).some((r) => r.status === 416 && r.responseHeaders['content-range'] === 'bytes */0'),
    ).toBe(true);
    expect((await strict.get(uri)).byteLength).toBe(0);
    expect(await strict.getInto(uri, new Uint8Array(4))).toBe(0);
    const chunks: Uint8Array[] = [];
    for await (const chunk of strict.getStream(uri)) chunks.push(chunk as Uint8Array);
    expect(Buffer.concat(chunks).length).toBe(0);
    await expect(strict.getRange(uri, 1, 1)).rejects.toMatchObject({ code: 'ERR_RANGE_NOT_SATISFIABLE' });
  });

  test('a download error in plain text keeps its message and code', async () => {
    const from = server.requestLog.length;
    const error = await rejectionOf(strict.get(`${root}no/such`));
    expect(error).toMatchObject({ code: 'ERR_NOT_FOUND', operation: 'get' });
    expect(error.message).toContain('No such object: strict-bucket/no/such (HTTP 404)');
    expect(requestsSince(from).map((r) => r.responseHeaders['content-type'])).toEqual(['text/html; charset=UTF-8']);
  });
});
