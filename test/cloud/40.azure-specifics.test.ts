/**
 * What only az:// has: the credential kinds (connection string, account key + endpoint, account
 * SAS, environment variables), the https://account.blob.core.windows.net URI form, container and
 * account naming rules, forced pagination, our retries instead of the SDK's (faults injected by a
 * proxy), the connection pool, proxy variables and a CA bundle on every request, token
 * credentials (a second Azurite, over HTTPS with OAuth), and authentication failures that leak no
 * key and no signature.
 */
import { randomBytes } from 'crypto';
import * as net from 'net';
import { inspect } from 'util';

import {
  AccountSASPermissions,
  AccountSASResourceTypes,
  AccountSASServices,
  SASProtocol,
  StorageSharedKeyCredential,
  generateAccountSASQueryParameters,
} from '@azure/storage-blob';

import * as s3dlio from '../../lib';
import { withEnv } from '../helpers/env';
import { startForwardProxy } from '../helpers/forward-proxy';
import { freshLibrary } from '../helpers/fresh-library';
import { expectSameBytes, rejectionOf, testBytes } from '../helpers/local';
import { startRecordingProxy } from '../helpers/recording-proxy';
import { EVERY_OPERATION, type OperationName, runEveryOperation } from '../helpers/store-ops';
import { useTempDir } from '../helpers/temp';
import { selfSignedCertificate } from '../helpers/tls';
import { AZURITE_ACCOUNT, AZURITE_KEY, startAzurite } from '../servers/azurite';
import type { ProcessServer } from '../servers/process-server';
import { type FaultProxy, startFaultProxy } from '../servers/fault-proxy';
import { azTarget, newBucketName, sdkTransportRun } from './targets';

const target = azTarget();
const store = target.store();
const container = newBucketName('az');
const base = target.bucketUri(container);
const connectionString = (): string => process.env.S3DLIO_TEST_AZURE_CONNECTION_STRING as string;
/** Azurite's blob endpoint for the account, e.g. http://127.0.0.1:41234/devstoreaccount1. */
const endpoint = (): string => /BlobEndpoint=([^;]+)/.exec(connectionString())![1].replace(/\/$/, '');
/** The same server without the account path. */
const serverUrl = (): string => new URL(endpoint()).origin;

/** An account SAS for Azurite's account, signed with its well-known key. */
function accountSas(permissions = 'rwdlac'): string {
  return generateAccountSASQueryParameters(
    {
      permissions: AccountSASPermissions.parse(permissions),
      services: AccountSASServices.parse('b').toString(),
      resourceTypes: AccountSASResourceTypes.parse('sco').toString(),
      protocol: SASProtocol.HttpsAndHttp,
      startsOn: new Date(Date.now() - 5 * 60_000),
      expiresOn: new Date(Date.now() + 60 * 60_000),
    },
    new StorageSharedKeyCredential(AZURITE_ACCOUNT, AZURITE_KEY),
  ).toString();
}

/** Everything an error shows: message, stack, fields, and the whole cause chain. */
function everythingIn(error: Error): string {
  return [
    error.message,
    error.stack,
    JSON.stringify({ ...error }),
    String(error.cause),
    (error.cause as Error | undefined)?.stack,
    inspect(error, { depth: 10 }),
  ].join('\n');
}

beforeAll(() => store.createBucket(base));
afterAll(() => store.deleteBucket(base, { force: true }));

describe('URI forms and naming rules (no network)', () => {
  test('https://account.blob.core.windows.net/container/key parses to az with account, container, key', () => {
    expect(s3dlio.parseUri('https://myaccount.blob.core.windows.net/data/train/a b.bin')).toMatchObject({
      scheme: 'az',
      account: 'myaccount',
      bucket: 'data',
      key: 'train/a b.bin',
    });
    expect(s3dlio.parseUri('az://myaccount/data/train/x')).toMatchObject({
      scheme: 'az',
      account: 'myaccount',
      bucket: 'data',
      key: 'train/x',
    });
    expect(s3dlio.storeFor('https://myaccount.blob.core.windows.net/data/').scheme).toBe('az');
  });

  test.each(['ab', 'UPPER', 'under_score', 'a--b', '-start', 'end-', 'dot.ted', 'x'.repeat(64)])(
    'invalid container name %j → ERR_INVALID_URI',
    async (name) => {
      const error = await rejectionOf(store.get(`az://${AZURITE_ACCOUNT}/${name}/key`));
      expect(error).toMatchObject({ code: 'ERR_INVALID_URI' });
      expect(error.message).toMatch(/not a valid Azure container name/);
    },
  );

  test('valid edge cases of container names parse', async () => {
    for (const name of ['abc', 'a-b-c', '0ab', 'x'.repeat(63), '$root']) {
      await expect(store.exists(`az://${AZURITE_ACCOUNT}/${name}/no-such-key`)).resolves.toBe(false);
    }
  });

  test('a missing container or account, or an invalid account name, is ERR_INVALID_URI', async () => {
    await expect(store.put(`az://${AZURITE_ACCOUNT}/`, 'x')).rejects.toMatchObject({
      code: 'ERR_INVALID_URI',
      message: expect.stringMatching(/missing the container/),
    });
    await expect(store.list(`az://${AZURITE_ACCOUNT}`)).rejects.toMatchObject({ code: 'ERR_INVALID_URI' });
    await expect(store.get('az:///cont/key')).rejects.toMatchObject({ code: 'ERR_INVALID_URI' });
    await expect(store.get('az://Bad_Account/cont/key')).rejects.toMatchObject({
      code: 'ERR_INVALID_URI',
      message: expect.stringMatching(/storage account name/),
    });
    expect(() => store.listStream('s3://bucket/')).toThrow(/only takes az:\/\/ URIs/);
  });

  test('a pasted SAS URL is refused without repeating its signature', async () => {
    const signature = 'c2VjcmV0c2lnbmF0dXJlc2VjcmV0c2lnbmF0dXJl';
    const uri = `https://myaccount.blob.core.windows.net/data/key.bin?sv=2022-11-02&sig=${signature}`;
    const error = await rejectionOf(store.get(uri));
    expect(error).toMatchObject({ code: 'ERR_INVALID_URI' });
    expect(error.message).toMatch(/options\.sasToken/);
    expect(everythingIn(error)).not.toContain(signature);
    const containerSas = `https://myaccount.blob.core.windows.net/data?sp=rl&sig=${signature}`;
    const listing = await rejectionOf(store.list(containerSas));
    expect(listing).toMatchObject({ code: 'ERR_INVALID_URI', message: expect.stringMatching(/a SAS URL/) });
    expect(everythingIn(listing)).not.toContain(signature);
  });

  test('options are checked when the store is made; secrets are never echoed', () => {
    expect(() => target.store({ pageSize: 0 })).toThrow(/options\.pageSize/);
    expect(() => target.store({ pageSize: 5001 })).toThrow(/from 1 to 5000/);
    expect(() => s3dlio.storeFor('az://acct/', { endpoint: 'ftp://x' })).toThrow(/options\.endpoint/);
    const secret = 12345678901234;
    let thrown: unknown;
    try {
      s3dlio.storeFor('az://acct/', { accountKey: secret as unknown as string });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toMatchObject({ name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' });
    expect(String((thrown as Error).message)).not.toContain(String(secret));
  });
});

describe('credentials', () => {
  test('account key + endpoint option (StorageSharedKeyCredential)', async () => {
    const keyed = s3dlio.storeFor('az://devstoreaccount1/', { accountKey: AZURITE_KEY, endpoint: endpoint() });
    const bytes = testBytes(20_000, 21);
    await keyed.put(`${base}key/obj.bin`, bytes);
    expectSameBytes(await keyed.get(`${base}key/obj.bin`), bytes);
    expectSameBytes(await store.get(`${base}key/obj.bin`), bytes);
    expect(await keyed.list(`${base}key/`)).toEqual([`${base}key/obj.bin`]);
  });

  test('an emulator endpoint without a path gets /<account> appended', async () => {
    const keyed = s3dlio.storeFor('az://devstoreaccount1/', { accountKey: AZURITE_KEY, endpoint: serverUrl() });
    await keyed.put(`${base}pathless/obj`, 'pathless');
    expect(Buffer.from(await store.get(`${base}pathless/obj`)).toString()).toBe('pathless');
  });

  test('account SAS (generateAccountSasQueryParameters): objects, listing, copy, containers', async () => {
    const sas = accountSas();
    const signed = s3dlio.storeFor('az://devstoreaccount1/', { sasToken: `?${sas}`, endpoint: endpoint() });
    const bytes = testBytes(30_000, 22);
    await signed.put(`${base}sas/a.bin`, bytes);
    expectSameBytes(await signed.get(`${base}sas/a.bin`), bytes);
    expectSameBytes(await signed.getRange(`${base}sas/a.bin`, 100, 50), bytes.subarray(100, 150));
    await signed.copy(`${base}sas/a.bin`, `${base}sas/b.bin`);
    expect(await signed.list(`${base}sas/`)).toEqual([`${base}sas/a.bin`, `${base}sas/b.bin`]);
    expect((await signed.stat(`${base}sas/b.bin`)).size).toBe(30_000);
    expect(await signed.deletePrefix(`${base}sas/`)).toBe(2);

    const other = target.bucketUri(newBucketName('sas'));
    await signed.createBucket(other);
    expect(await signed.listBuckets('az://devstoreaccount1')).toContain(other);
    await signed.deleteBucket(other);
    expect(await signed.listBuckets('az://devstoreaccount1/')).not.toContain(other);
  });

  test('a store shows no secret when inspected, even after use', async () => {
    const sas = accountSas();
    const signed = s3dlio.storeFor('az://devstoreaccount1/', { sasToken: sas, endpoint: endpoint() });
    const keyed = s3dlio.storeFor('az://devstoreaccount1/', { accountKey: AZURITE_KEY, endpoint: endpoint() });
    await signed.put(`${base}inspect/a`, 'x');
    await keyed.get(`${base}inspect/a`);
    await store.get(`${base}inspect/a`);
    const sig = /(?:^|&)sig=([^&]+)/.exec(sas)![1];
    for (const shown of [signed, keyed, store].map((item) => inspect(item, { depth: Infinity, showHidden: true }))) {
      expect(shown).not.toContain(sig);
      expect(shown).not.toContain(decodeURIComponent(sig));
      expect(shown).not.toContain(AZURITE_KEY);
      expect(shown).not.toContain(AZURITE_KEY.slice(0, 20));
    }
  });

  test('a read-only SAS can read but not write: ERR_ACCESS_DENIED', async () => {
    await store.put(`${base}ro/obj`, 'read me');
    const readOnly = s3dlio.storeFor('az://devstoreaccount1/', { sasToken: accountSas('rl'), endpoint: endpoint() });
    expect(Buffer.from(await readOnly.get(`${base}ro/obj`)).toString()).toBe('read me');
    await expect(readOnly.put(`${base}ro/new`, 'x')).rejects.toMatchObject({ code: 'ERR_ACCESS_DENIED' });
  });

  test('a malformed connection string is ERR_INVALID_ARG_VALUE and is not repeated', async () => {
    const malformed = 'AccountName=devstoreaccount1;AccountKey=c2VjcmV0LWtleS1tYXRlcmlhbA==';
    const bad = s3dlio.storeFor('az://devstoreaccount1/', { connectionString: malformed });
    const error = await rejectionOf(bad.get(`${base}ro/obj`));
    expect(error).toMatchObject({ code: 'ERR_INVALID_ARG_VALUE', operation: 'get' });
    expect(error.message).toMatch(/cannot configure the Azure client \(connection-string\)/);
    expect(everythingIn(error)).not.toContain('c2VjcmV0LWtleS1tYXRlcmlhbA');
  });

  test('a connection string serves only its own account', async () => {
    const error = await rejectionOf(store.get('az://otheraccount/cont/key'));
    expect(error).toMatchObject({ code: 'ERR_ACCESS_DENIED', operation: 'get' });
    expect(error.message).toMatch(/connection string is for account "devstoreaccount1", not "otheraccount"/);
  });

  test('without any credential, DefaultAzureCredential is asked (and says why it cannot help)', async () => {
    const saved = { ...process.env };
    for (const name of Object.keys(process.env)) if (name.startsWith('AZURE_')) delete process.env[name];
    try {
      const fallback = s3dlio.storeFor('az://nosuchaccount000/', { maxAttempts: 1 });
      const error = await rejectionOf(fallback.get('az://nosuchaccount000/cont/key'));
      // No identity anywhere (CI): ERR_ACCESS_DENIED with a hint. A developer signed in with
      // `az login` gets a token and then fails to resolve the made-up account instead.
      expect(['ERR_ACCESS_DENIED', 'ERR_CONNECTION']).toContain(error.code);
      if (error.code === 'ERR_ACCESS_DENIED') expect(error.message).toMatch(/AZURE_STORAGE_CONNECTION_STRING/);
    } finally {
      process.env = saved;
    }
  }, 30_000);
});

describe('authentication failures leak no secret', () => {
  test('wrong account key → ERR_ACCESS_DENIED; the key appears nowhere in the error', async () => {
    const wrongKey = randomBytes(64).toString('base64');
    const denied = s3dlio.storeFor('az://devstoreaccount1/', {
      accountKey: wrongKey,
      endpoint: endpoint(),
      maxAttempts: 1,
    });
    for (const attempt of [() => denied.get(`${base}ro/obj`), () => denied.stat(`${base}ro/obj`)]) {
      const error = await rejectionOf(attempt());
      expect(error).toMatchObject({ code: 'ERR_ACCESS_DENIED' });
      // Azure says AuthenticationFailed, Azurite AuthorizationFailure: both are ERR_ACCESS_DENIED.
      expect(error.cause).toMatchObject({ statusCode: 403, code: expect.stringMatching(/^Auth/) });
      expect(error.cause).not.toHaveProperty('request');
      expect(error.cause).not.toHaveProperty('response');
      const everything = everythingIn(error);
      expect(everything).not.toContain(wrongKey);
      expect(everything).not.toMatch(/SharedKey [^\s]*:/);
    }
  });

  test('wrong key in a connection string → ERR_ACCESS_DENIED; the key appears nowhere', async () => {
    const wrongKey = randomBytes(64).toString('base64');
    const denied = s3dlio.storeFor('az://devstoreaccount1/', {
      connectionString: connectionString().replace(/AccountKey=[^;]+/, `AccountKey=${wrongKey}`),
      maxAttempts: 1,
    });
    const error = await rejectionOf(denied.put(`${base}denied`, 'x'));
    expect(error).toMatchObject({ code: 'ERR_ACCESS_DENIED', operation: 'put' });
    expect(everythingIn(error)).not.toContain(wrongKey);
  });

  test('a tampered SAS → ERR_ACCESS_DENIED; no sig= value appears anywhere', async () => {
    const sas = accountSas();
    const sig = /(?:^|&)sig=([^&]+)/.exec(sas)![1];
    const forged = decodeURIComponent(sig).replace(/^./, (c) => (c === 'A' ? 'B' : 'A'));
    const tampered = sas.replace(`sig=${sig}`, `sig=${encodeURIComponent(forged)}`);
    const denied = s3dlio.storeFor('az://devstoreaccount1/', {
      sasToken: tampered,
      endpoint: endpoint(),
      maxAttempts: 1,
    });
    for (const attempt of [
      () => denied.get(`${base}ro/obj`),
      () => denied.list(`${base}ro/`),
      () => denied.listBuckets('az://devstoreaccount1/'),
    ]) {
      const error = await rejectionOf(attempt());
      expect(error).toMatchObject({ code: 'ERR_ACCESS_DENIED' });
      const everything = everythingIn(error);
      for (const secret of [sig, forged, encodeURIComponent(forged)]) expect(everything).not.toContain(secret);
      expect(everything).not.toMatch(/sig=(?!REDACTED)[^&\s"']+/);
    }
  });
});

test('pagination: pageSize forces many List Blobs pages (300 keys, pages of 7)', async () => {
  // > 5,000 keys would only re-test the same continuation token at 17x the run time.
  const paged = target.store({ pageSize: 7 });
  const uris = Array.from({ length: 300 }, (_, index) => `${base}paged/${String(index).padStart(4, '0')}.bin`);
  await paged.putMany(
    uris.map((uri) => ({ uri, data: new Uint8Array([index(uri)]) })),
    { concurrency: 32 },
  );
  expect(await paged.list(`${base}paged/`, { recursive: true })).toEqual(uris);
  expect(await paged.list(`${base}paged/00`)).toEqual(uris.slice(0, 100));
  // Delimiter mode: prefixes and keys interleave across pages.
  await paged.putMany(
    ['paged/dir-a/x', 'paged/dir-b/y', 'paged/dir-c/z'].map((key) => ({ uri: `${base}${key}`, data: 'd' })),
  );
  const shallow = await paged.list(`${base}paged/`);
  expect(shallow).toHaveLength(303);
  expect(shallow.filter((uri) => uri.endsWith('/'))).toEqual(['a', 'b', 'c'].map((l) => `${base}paged/dir-${l}/`));
  expect(await paged.deletePrefix(`${base}paged/`)).toBe(303);
  expect(await paged.list(`${base}paged/`, { recursive: true })).toEqual([]);
}, 60_000);

function index(uri: string): number {
  return Number(/(\d+)\.bin$/.exec(uri)![1]) % 256;
}

test('server-side copy of keys that need encoding (source and destination)', async () => {
  const bytes = testBytes(5000, 41);
  for (const key of ['cp/a b?c=1&d%25#e ü', 'cp/plus+sign', 'cp/𝔘/deep/name']) {
    await store.put(`${base}${key}`, bytes);
    await store.copy(`${base}${key}`, `${base}${key} (copy)`);
    expectSameBytes(await store.get(`${base}${key} (copy)`), bytes);
  }
  await expect(store.copy(`${base}cp/none`, `${target.bucketUri(newBucketName('none'))}x`)).rejects.toMatchObject({
    code: expect.stringMatching(/^ERR_(BUCKET_)?NOT_FOUND$/),
  });
});

test("https URIs work (here through the connection string's endpoint); listings answer in the form given", async () => {
  const https = s3dlio.storeFor('https://devstoreaccount1.blob.core.windows.net/', {
    connectionString: connectionString(),
  });
  const httpsBase = `https://devstoreaccount1.blob.core.windows.net/${container}/`;
  await https.put(`${httpsBase}form/a.txt`, 'via https form');
  expect(Buffer.from(await store.get(`${base}form/a.txt`)).toString()).toBe('via https form');
  expect(await https.list(`${httpsBase}form/`)).toEqual([`${httpsBase}form/a.txt`]);
  expect(await store.list(`${base}form/`)).toEqual([`${base}form/a.txt`]);
  expect(await https.listBuckets('https://devstoreaccount1.blob.core.windows.net')).toContain(httpsBase);
  // A copy between the two forms of one account is still a server-side copy.
  await https.copy(`${httpsBase}form/a.txt`, `${base}form/b.txt`);
  expect(Buffer.from(await store.get(`${base}form/b.txt`)).toString()).toBe('via https form');
});

describe('module functions configured from the environment', () => {
  // The default store of a scheme is made once per module instance, on first use, and reads the
  // environment then: each case loads a fresh copy of the library after setting the variables.
  let saved: NodeJS.ProcessEnv;
  beforeEach(() => {
    saved = { ...process.env };
    for (const name of Object.keys(process.env)) if (name.startsWith('AZURE_')) delete process.env[name];
  });
  afterEach(() => {
    process.env = saved;
  });

  test('AZURE_STORAGE_CONNECTION_STRING', async () => {
    process.env.AZURE_STORAGE_CONNECTION_STRING = connectionString();
    const lib = freshLibrary();
    await lib.put(`${base}env/cs`, 'from env');
    expect(Buffer.from(await lib.get(`${base}env/cs`)).toString()).toBe('from env');
    expect(await lib.list(`${base}env/`)).toEqual([`${base}env/cs`]);
    expect(await lib.listBuckets('az://devstoreaccount1')).toContain(base);
    // Made once: later changes of the environment do not reach the existing default store.
    delete process.env.AZURE_STORAGE_CONNECTION_STRING;
    expect(await lib.exists(`${base}env/cs`)).toBe(true);
  });

  test('AZURE_STORAGE_ACCOUNT + AZURE_STORAGE_KEY + AZURE_STORAGE_ENDPOINT', async () => {
    Object.assign(process.env, {
      AZURE_STORAGE_ACCOUNT: AZURITE_ACCOUNT,
      AZURE_STORAGE_KEY: AZURITE_KEY,
      AZURE_STORAGE_ENDPOINT: endpoint(),
    });
    const lib = freshLibrary();
    await lib.put(`${base}env/key`, 'key from env');
    expect(Buffer.from(await lib.get(`${base}env/key`)).toString()).toBe('key from env');
    // The key belongs to AZURE_STORAGE_ACCOUNT: another account is refused with a clear message.
    await expect(lib.get('az://someotheraccount/cont/key')).rejects.toMatchObject({
      code: 'ERR_ACCESS_DENIED',
      message: expect.stringMatching(/AZURE_STORAGE_KEY is the key of account "devstoreaccount1"/),
    });
  });

  test('AZURE_STORAGE_SAS_TOKEN + AZURE_STORAGE_ENDPOINT; options win over the environment', async () => {
    Object.assign(process.env, { AZURE_STORAGE_SAS_TOKEN: accountSas(), AZURE_STORAGE_ENDPOINT: endpoint() });
    const lib = freshLibrary();
    await lib.put(`${base}env/sas`, 'sas from env');
    expect(Buffer.from(await lib.get(`${base}env/sas`)).toString()).toBe('sas from env');
    // An explicit option beats every variable (here a bad key from the environment).
    process.env.AZURE_STORAGE_CONNECTION_STRING = connectionString().replace(/AccountKey=[^;]+/, 'AccountKey=AAAA');
    const explicit = lib.storeFor('az://devstoreaccount1/', { accountKey: AZURITE_KEY, maxAttempts: 1 });
    expect(Buffer.from(await explicit.get(`${base}env/sas`)).toString()).toBe('sas from env');
  });
});

describe('retries are ours, not the SDK’s (faults injected by a proxy)', () => {
  let proxy: FaultProxy;
  const bytes = testBytes(256 * 1024, 31);
  const through = (extra: Record<string, unknown> = {}) =>
    s3dlio.storeFor('az://devstoreaccount1/', {
      accountKey: AZURITE_KEY,
      endpoint: `${proxy.url}/${AZURITE_ACCOUNT}`,
      retryBaseDelayMs: 5,
      ...extra,
    });
  const blobPath = new RegExp(`/${container}/faults/obj$`);

  beforeAll(async () => {
    proxy = await startFaultProxy({ target: serverUrl() });
    await store.put(`${base}faults/obj`, bytes);
  });
  afterAll(() => proxy?.stop());
  beforeEach(() => {
    proxy.clearRules();
    proxy.resetStats();
  });

  test('503 ServerBusy is retried (one request per attempt), then succeeds', async () => {
    proxy.setRules([
      {
        method: 'GET',
        path: blobPath,
        nth: 1,
        action: {
          type: 'status',
          status: 503,
          headers: { 'x-ms-error-code': 'ServerBusy', 'content-type': 'application/xml' },
          body: '<?xml version="1.0" encoding="utf-8"?><Error><Code>ServerBusy</Code><Message>busy</Message></Error>',
        },
      },
    ]);
    expectSameBytes(await through().get(`${base}faults/obj`), bytes);
    expect(proxy.stats.requests).toBe(2);
  });

  test('503 on every attempt → ERR_THROTTLED after maxAttempts requests, no more', async () => {
    proxy.setRules([
      {
        method: 'GET',
        path: blobPath,
        action: { type: 'status', status: 503, headers: { 'x-ms-error-code': 'ServerBusy' } },
      },
    ]);
    const error = await rejectionOf(through({ maxAttempts: 3 }).get(`${base}faults/obj`));
    expect(error).toMatchObject({ code: 'ERR_THROTTLED' });
    expect(proxy.stats.requests).toBe(3);
  });

  test.each(['truncate', 'reset-mid-body'] as const)(
    'a body cut short (%s) is an error, retried by a new whole request',
    async (type) => {
      const action = type === 'truncate' ? { type, bytes: 1000 } : { type };
      proxy.setRules([{ method: 'GET', path: blobPath, nth: 1, action }]);
      expectSameBytes(await through().get(`${base}faults/obj`), bytes);
      expect(proxy.stats.requests).toBe(2);

      proxy.setRules([{ method: 'GET', path: blobPath, action }]);
      proxy.resetStats();
      const error = await rejectionOf(through({ maxAttempts: 1 }).get(`${base}faults/obj`));
      expect(error).toMatchObject({ code: 'ERR_TRUNCATED_BODY', operation: 'get' });
      expect(error.message).toMatch(/the response body ended after \d+ of 262144 bytes/);
      expect(proxy.stats.requests).toBe(1);
    },
  );

  test('an attempt that outlives attemptTimeoutMs is cancelled and retried', async () => {
    proxy.setRules([{ method: 'GET', path: blobPath, nth: 1, action: { type: 'delay', ms: 1500 } }]);
    const started = Date.now();
    expectSameBytes(await through({ attemptTimeoutMs: 300 }).get(`${base}faults/obj`), bytes);
    expect(Date.now() - started).toBeLessThan(1400);
    expect(proxy.stats.requests).toBe(2);
    proxy.setRules([{ method: 'GET', path: blobPath, action: { type: 'delay', ms: 1500 } }]);
    await expect(through({ attemptTimeoutMs: 200, maxAttempts: 2 }).get(`${base}faults/obj`)).rejects.toMatchObject({
      code: 'ERR_TIMEOUT',
    });
  });

  test('a dropped connection on a HEAD is retried', async () => {
    proxy.setRules([{ method: 'HEAD', path: blobPath, nth: 1, action: { type: 'drop' } }]);
    expect((await through().stat(`${base}faults/obj`)).size).toBe(bytes.byteLength);
    expect(proxy.stats.requests).toBe(2);
  });
});

test('the connection pool: keep-alive reuse, at most maxSockets connections', async () => {
  // A TCP relay in front of Azurite counts the connections the store opens.
  let connections = 0;
  const sockets = new Set<net.Socket>();
  const upstream = new URL(serverUrl());
  const relay = net.createServer((socket) => {
    connections++;
    const out = net.connect(Number(upstream.port), upstream.hostname);
    sockets.add(socket).add(out);
    socket.pipe(out).pipe(socket);
    const close = (): void => {
      socket.destroy();
      out.destroy();
    };
    socket.on('error', close).on('close', close);
    out.on('error', close).on('close', close);
  });
  await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', resolve));
  const port = (relay.address() as net.AddressInfo).port;
  try {
    const pooled = s3dlio.storeFor('az://devstoreaccount1/', {
      accountKey: AZURITE_KEY,
      endpoint: `http://127.0.0.1:${port}/${AZURITE_ACCOUNT}`,
      maxSockets: 3,
    });
    await store.put(`${base}pool/obj`, 'pooled');
    for (let i = 0; i < 5; i++) await pooled.get(`${base}pool/obj`);
    expect(connections).toBe(1);
    const uris = Array.from({ length: 40 }, () => `${base}pool/obj`);
    await pooled.getMany(uris, { concurrency: 16 });
    expect(connections).toBeLessThanOrEqual(3);
  } finally {
    // The store's keep-alive sockets would hold the relay open.
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => relay.close(() => resolve()));
  }
});

describe('proxies and a CA bundle (every request: bodies and the SDK’s own)', () => {
  const tmp = useTempDir('s3dlio-az-tls-');
  /** A store of Azurite's account, reached at `server` (a proxy or TLS front in front of Azurite). */
  const storeAt = (server: string, options: Record<string, unknown> = {}): s3dlio.ObjectStore =>
    s3dlio.storeFor('az://devstoreaccount1/', {
      accountKey: AZURITE_KEY,
      endpoint: `${server}/${AZURITE_ACCOUNT}`,
      maxAttempts: 1,
      ...options,
    });

  test('HTTP_PROXY carries every request to an http:// endpoint, with its credentials; NO_PROXY bypasses it', async () => {
    const proxy = await startForwardProxy({ requireAuth: `Basic ${Buffer.from('user:pa:ss').toString('base64')}` });
    try {
      const seen: OperationName[] = [];
      await withEnv({ HTTP_PROXY: proxy.url.replace('//', '//user:pa%3Ass@') }, () =>
        runEveryOperation(storeAt(serverUrl()), {
          bucketUri: `az://devstoreaccount1/${newBucketName('proxy')}/`,
          schemeUri: 'az://devstoreaccount1/',
          partSize: 1024 * 1024,
          after: (operation) => seen.push(operation),
        }),
      );
      expect(seen).toEqual([...EVERY_OPERATION]);
      // Lean bodies as absolute-form requests, the SDK's requests through tunnels: all to Azurite.
      const port = new URL(serverUrl()).port;
      expect(proxy.seen.length).toBeGreaterThan(0);
      for (const line of proxy.seen) {
        expect(line).toMatch(new RegExp(`^(CONNECT 127\\.0\\.0\\.1:${port}|[A-Z]+ http://127\\.0\\.0\\.1:${port}/)`));
      }
      expect(proxy.seen).toContain(`CONNECT 127.0.0.1:${port}`);
      if (!sdkTransportRun()) {
        expect(proxy.seen.some((line) => line.startsWith(`PUT http://127.0.0.1:${port}/`))).toBe(true);
        expect(proxy.seen.some((line) => line.startsWith(`GET http://127.0.0.1:${port}/`))).toBe(true);
      }
      const count = proxy.seen.length;
      await withEnv({ HTTP_PROXY: proxy.url, NO_PROXY: 'example.com,127.0.0.1' }, async () => {
        const direct = storeAt(serverUrl());
        await direct.put(`${base}no-proxy/obj`, 'direct');
        expect(Buffer.from(await direct.get(`${base}no-proxy/obj`)).toString()).toBe('direct');
        expect(await direct.list(`${base}no-proxy/`)).toEqual([`${base}no-proxy/obj`]);
      });
      expect(proxy.seen).toHaveLength(count);
    } finally {
      await proxy.stop();
    }
  });

  test('HTTPS_PROXY to an https:// endpoint with caBundle: tunnelled (CONNECT), verified end to end; another CA is refused', async () => {
    const other = selfSignedCertificate(tmp.path, 'other').certFile;
    const pair = selfSignedCertificate(tmp.path, 'front');
    const front = await startRecordingProxy({ target: serverUrl(), tls: pair });
    const proxy = await startForwardProxy();
    try {
      const port = new URL(front.url).port;
      await withEnv({ HTTPS_PROXY: proxy.url }, async () => {
        const seen: OperationName[] = [];
        await runEveryOperation(storeAt(front.url, { caBundle: pair.certFile }), {
          bucketUri: `az://devstoreaccount1/${newBucketName('tunnel')}/`,
          schemeUri: 'az://devstoreaccount1/',
          partSize: 1024 * 1024,
          after: (operation) => seen.push(operation),
        });
        expect(seen).toEqual([...EVERY_OPERATION]);
        const untrusted = storeAt(front.url, { caBundle: other });
        expect((await rejectionOf(untrusted.get(`${base}x`))).message).toMatch(/certificate/i);
        expect((await rejectionOf(untrusted.list(base))).message).toMatch(/certificate/i);
      });
      expect(new Set(proxy.seen)).toEqual(new Set([`CONNECT 127.0.0.1:${port}`]));
      // Without the bundle (and without NODE_EXTRA_CA_CERTS) the self-signed front is refused.
      expect((await rejectionOf(storeAt(front.url).get(`${base}x`))).message).toMatch(/certificate/i);
    } finally {
      await proxy.stop();
      await front.stop();
    }
  });

  test('an unreadable caBundle is refused when the store is made, by path', () => {
    expect(() => storeAt(serverUrl(), { caBundle: '/nonexistent/ca.pem' })).toThrow(
      /Cannot read the CA bundle \/nonexistent\/ca\.pem/,
    );
  });
});

describe('a token credential (options.credential): bearer tokens, asked for and renewed', () => {
  const tmp = useTempDir('s3dlio-az-oauth-');
  let server: ProcessServer;
  let cert = '';
  beforeAll(async () => {
    const pair = selfSignedCertificate(tmp.path, 'azurite');
    cert = pair.certFile;
    server = await startAzurite({ tls: { certFile: pair.certFile, keyFile: `${tmp.path}/azurite.key` }, oauth: true });
  });
  afterAll(() => server?.stop());

  /** A token Azurite's basic OAuth takes (issuer, audience, lifetime; no signature check). */
  function token(lifetimeSeconds: number): string {
    const now = Math.floor(Date.now() / 1000);
    const part = (value: object): string => Buffer.from(JSON.stringify(value)).toString('base64url');
    const claims = {
      aud: 'https://storage.azure.com',
      iss: 'https://sts.windows.net/ab1f708d-50f6-404c-a006-d71b2ac7a606/',
      iat: now - 60,
      nbf: now - 60,
      exp: now + lifetimeSeconds,
    };
    return `${part({ typ: 'JWT', alg: 'RS256' })}.${part(claims)}.c2lnbmF0dXJl`;
  }

  /** A credential whose tokens live `lifetimeSeconds`; it counts what it is asked. */
  function credential(lifetimeSeconds: number): s3dlio.StoreOptionsFor<'az://'>['credential'] & { scopes: string[] } {
    const scopes: string[] = [];
    return {
      scopes,
      getToken: async (scope: string | string[]) => {
        scopes.push(String(scope));
        return { token: token(lifetimeSeconds), expiresOnTimestamp: Date.now() + lifetimeSeconds * 1000 };
      },
    };
  }

  test('every operation with bearer tokens; one token serves many requests; the scope is Azure Storage’s', async () => {
    const given = credential(3600);
    const store = s3dlio.storeFor('az://devstoreaccount1/', {
      credential: given,
      endpoint: `${server.url}/${AZURITE_ACCOUNT}`,
      caBundle: cert,
      maxAttempts: 1,
    });
    const seen: OperationName[] = [];
    await runEveryOperation(store, {
      bucketUri: `az://devstoreaccount1/${newBucketName('oauth')}/`,
      schemeUri: 'az://devstoreaccount1/',
      partSize: 1024 * 1024,
      after: (operation) => seen.push(operation),
    });
    expect(seen).toEqual([...EVERY_OPERATION]);
    expect(new Set(given.scopes)).toEqual(new Set(['https://storage.azure.com/.default']));
    // The lean path and the SDK each keep their token: far fewer asks than requests.
    expect(given.scopes.length).toBeLessThanOrEqual(4);
    // An account key given too wins (the options' order): the credential is not asked.
    const unused = credential(3600);
    const keyed = s3dlio.storeFor('az://devstoreaccount1/', {
      accountKey: AZURITE_KEY,
      credential: unused,
      endpoint: `${server.url}/${AZURITE_ACCOUNT}`,
      caBundle: cert,
    });
    expect(await keyed.listBuckets('az://devstoreaccount1/')).toEqual(expect.any(Array));
    expect(unused.scopes).toEqual([]);
  });

  test('a token about to expire is asked for again; an expired one is refused by the server', async () => {
    const bucketUri = `az://devstoreaccount1/${newBucketName('oauth')}/`;
    const admin = s3dlio.storeFor('az://devstoreaccount1/', {
      credential: credential(3600),
      endpoint: `${server.url}/${AZURITE_ACCOUNT}`,
      caBundle: cert,
    });
    await admin.createBucket(bucketUri);
    await admin.put(`${bucketUri}obj`, 'tok');
    // Tokens of 60 s are within the renewal margin: every lean request asks again.
    const short = credential(60);
    const store = s3dlio.storeFor('az://devstoreaccount1/', {
      credential: short,
      endpoint: `${server.url}/${AZURITE_ACCOUNT}`,
      caBundle: cert,
      transport: 'lean',
    });
    for (let i = 0; i < 3; i++) expect(Buffer.from(await store.get(`${bucketUri}obj`)).toString()).toBe('tok');
    expect(short.scopes).toHaveLength(3);
    const expired = s3dlio.storeFor('az://devstoreaccount1/', {
      credential: credential(-120),
      endpoint: `${server.url}/${AZURITE_ACCOUNT}`,
      caBundle: cert,
      maxAttempts: 1,
    });
    expect(await rejectionOf(expired.get(`${bucketUri}obj`))).toMatchObject({ code: 'ERR_ACCESS_DENIED' });
    await admin.deleteBucket(bucketUri, { force: true });
  });

  test('a bearer token never goes over plain http; a credential without getToken is refused', async () => {
    const plain = s3dlio.storeFor('az://devstoreaccount1/', {
      credential: credential(3600),
      endpoint: endpoint(),
      maxAttempts: 1,
    });
    expect((await rejectionOf(plain.get(`${base}x`))).message).toMatch(/not permitted/i);
    expect(() =>
      s3dlio.storeFor('az://devstoreaccount1/', { credential: { token: 'x' } as never, endpoint: endpoint() }),
    ).toThrow(/getToken/);
  });
});
