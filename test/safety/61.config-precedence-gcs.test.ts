/**
 * gs:// configuration precedence, observed on the wire: the store option, then the environment
 * variable, then the default, for every operation. `@google-cloud/storage` itself reads
 * STORAGE_EMULATOR_HOST and used to send every request but uploads there even when the store was
 * given another endpoint. Recording proxies in front of the GCS test server show where each
 * request went; a small OAuth token server shows which credential file was used.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'fs';
import * as http from 'http';
import type { AddressInfo } from 'net';
import { tmpdir } from 'os';
import * as path from 'path';

import * as s3dlio from '../../lib';
import { newBucketName, requiredEnv } from '../cloud/targets';
import { withEnv } from '../helpers/env';
import { rejectionOf } from '../helpers/local';
import { type RecordingProxy, startRecordingProxy } from '../helpers/recording-proxy';
import { EVERY_OPERATION, type OperationName, runEveryOperation } from '../helpers/store-ops';

let option: RecordingProxy;
let variable: RecordingProxy;
const tmp = mkdtempSync(path.join(tmpdir(), 's3dlio-gcs-precedence-'));

beforeAll(async () => {
  const target = requiredEnv('S3DLIO_TEST_GCS_ENDPOINT');
  [option, variable] = await Promise.all([startRecordingProxy({ target }), startRecordingProxy({ target })]);
});
afterAll(async () => {
  await Promise.all([option.stop(), variable.stop()]);
  rmSync(tmp, { recursive: true, force: true });
});
beforeEach(() => [option, variable].forEach((proxy) => proxy.clear()));

/** Runs every operation; each must send its requests to `expected`, none to `other`. */
async function everyOperationGoesTo(
  expected: RecordingProxy,
  other: RecordingProxy,
  store: s3dlio.ObjectStore,
): Promise<void> {
  const counts: Array<[OperationName, number]> = [];
  await runEveryOperation(store, {
    bucketUri: `gs://${newBucketName('gsprec')}/`,
    schemeUri: 'gs://',
    partSize: 256 * 1024,
    after: (operation) => counts.push([operation, expected.requests.length]),
  });
  const silent = counts.filter(([, count], index) => count === (index === 0 ? 0 : counts[index - 1][1]));
  expect(silent.map(([operation]) => operation)).toEqual([]);
  expect(counts.map(([operation]) => operation)).toEqual([...EVERY_OPERATION]);
  expect(other.requests).toEqual([]);
}

/** The `project` query parameter of the bucket insert and list requests. */
function projects(proxy: RecordingProxy): string[] {
  return proxy.requests.flatMap((request) => {
    const project = new URLSearchParams(request.query).get('project');
    return project === null ? [] : [project];
  });
}

const ENV = (): Record<string, string> => ({
  STORAGE_EMULATOR_HOST: variable.url,
  GOOGLE_CLOUD_PROJECT: 'env-project',
  GCLOUD_PROJECT: 'env-project-2',
});

test('the endpoint and projectId options win over STORAGE_EMULATOR_HOST and GOOGLE_CLOUD_PROJECT, on every operation', async () => {
  await withEnv(ENV(), () =>
    everyOperationGoesTo(
      option,
      variable,
      s3dlio.storeFor('gs://', { endpoint: option.url, projectId: 'option-project', retryBaseDelayMs: 1 }),
    ),
  );
  // Bucket create and list (twice: listBuckets, and the deleteBucket check) name the project.
  expect(new Set(projects(option))).toEqual(new Set(['option-project']));
  expect(projects(option).length).toBeGreaterThanOrEqual(2);
});

test('without options STORAGE_EMULATOR_HOST and GOOGLE_CLOUD_PROJECT apply, on every operation', async () => {
  await withEnv(ENV(), () => everyOperationGoesTo(variable, option, s3dlio.storeFor('gs://', { retryBaseDelayMs: 1 })));
  expect(new Set(projects(variable))).toEqual(new Set(['env-project']));
});

test('GCLOUD_PROJECT applies after GOOGLE_CLOUD_PROJECT; STORAGE_EMULATOR_HOST may omit the scheme', async () => {
  const host = variable.url.replace(/^http:\/\//, '');
  await withEnv({ STORAGE_EMULATOR_HOST: host, GCLOUD_PROJECT: 'second-project' }, async () => {
    await s3dlio.storeFor('gs://', {}).listBuckets('gs://');
  });
  expect(projects(variable)).toEqual(['second-project']);
});

test('configureDefaultStore options win over the variables for the module functions', async () => {
  const bucket = `gs://${newBucketName('gsdef')}/`;
  await withEnv(ENV(), async () => {
    s3dlio.configureDefaultStore('gs://', { endpoint: option.url, projectId: 'option-project' });
    await s3dlio.createBucket(bucket);
    await s3dlio.put(`${bucket}k`, 'module');
    expect(Buffer.from(await s3dlio.get(`${bucket}k`)).toString()).toBe('module');
    expect(await s3dlio.list(bucket)).toEqual([`${bucket}k`]);
    await s3dlio.deleteBucket(bucket, { force: true });
  });
  expect(option.requests.length).toBeGreaterThanOrEqual(5);
  expect(variable.requests).toEqual([]);
});

test('an endpoint option that is not a URL is refused, not replaced by STORAGE_EMULATOR_HOST', async () => {
  await withEnv(ENV(), async () => {
    for (const endpoint of ['', 'ftp://host/', 'http://h/?sig=secret'])
      expect(() => s3dlio.storeFor('gs://', { endpoint })).toThrow(
        expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }) as Error,
      );
  });
  await withEnv({ STORAGE_EMULATOR_HOST: 'ftp://host' }, async () => {
    expect(() => s3dlio.storeFor('gs://', {})).toThrow(/STORAGE_EMULATOR_HOST/);
    expect(() => s3dlio.storeFor('gs://', { endpoint: option.url })).not.toThrow();
  });
});

describe('keyFilename / GOOGLE_APPLICATION_CREDENTIALS, with a local OAuth token endpoint', () => {
  let tokens: http.Server;
  /** The client id of each token request the token endpoint answered. */
  const tokenRequests: string[] = [];
  const keyFile = (name: string): string => path.join(tmp, `${name}.json`);

  beforeAll(async () => {
    tokens = http.createServer((request, response) => {
      // `Authorization: Basic base64(client_id:client_secret)`, as RFC 6749 says.
      const basic = /^Basic (.+)$/.exec(request.headers.authorization ?? '')?.[1] ?? '';
      const client = Buffer.from(basic, 'base64').toString().split(':')[0];
      tokenRequests.push(client);
      request.resume();
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ access_token: `token-of-${client}`, expires_in: 3600, token_type: 'Bearer' }));
    });
    await new Promise<void>((resolve) => tokens.listen(0, '127.0.0.1', resolve));
    const { port } = tokens.address() as AddressInfo;
    // Credential files google-auth-library reads whole: their token endpoint is this server.
    for (const client of ['option-client', 'env-client']) {
      writeFileSync(
        keyFile(client),
        JSON.stringify({
          type: 'external_account_authorized_user',
          audience: '//iam.googleapis.com/locations/global/workforcePools/pool/providers/provider',
          client_id: client,
          client_secret: 'secret',
          refresh_token: 'refresh',
          token_url: `http://127.0.0.1:${port}/token`,
        }),
      );
    }
  });
  afterAll(() => new Promise<void>((resolve) => tokens.close(() => resolve())));
  beforeEach(() => (tokenRequests.length = 0));

  test('keyFilename wins over GOOGLE_APPLICATION_CREDENTIALS and authenticates every request to the endpoint', async () => {
    await withEnv({ ...ENV(), GOOGLE_APPLICATION_CREDENTIALS: keyFile('env-client') }, () =>
      everyOperationGoesTo(
        option,
        variable,
        s3dlio.storeFor('gs://', { endpoint: option.url, projectId: 'p', keyFilename: keyFile('option-client') }),
      ),
    );
    // Every request carries the option's credential, but the bytes sent to a resumable session:
    // its URI (upload_id) is the authorization there, as GCS documents.
    const toSession = (query: string): boolean => new URLSearchParams(query).has('upload_id');
    const authorizations = option.requests
      .filter((request) => !toSession(request.query))
      .map((request) => request.headers.authorization);
    expect(authorizations.length).toBeGreaterThan(EVERY_OPERATION.length);
    expect(new Set(authorizations)).toEqual(new Set(['Bearer token-of-option-client']));
    // The session itself was created with it (the SDK's own path would not have sent it).
    expect(
      option.requests.filter(
        (request) => request.method === 'POST' && new URLSearchParams(request.query).get('uploadType') === 'resumable',
      ),
    ).toEqual([
      expect.objectContaining({ headers: expect.objectContaining({ authorization: 'Bearer token-of-option-client' }) }),
    ]);
    expect(new Set(tokenRequests)).toEqual(new Set(['option-client']));
  });

  test('GOOGLE_APPLICATION_CREDENTIALS applies without the option; it is not sent to a custom endpoint', async () => {
    const deadProxy = 'http://127.0.0.1:1';
    // Google's own endpoint: the token request (local) shows which file was read; the storage
    // request goes to a dead proxy, so nothing leaves this machine.
    const env = { GOOGLE_APPLICATION_CREDENTIALS: keyFile('env-client'), GOOGLE_CLOUD_PROJECT: 'p' };
    await withEnv({ ...env, HTTPS_PROXY: deadProxy, NO_PROXY: '127.0.0.1' }, async () => {
      const error = await rejectionOf(s3dlio.storeFor('gs://', { maxAttempts: 1 }).stat('gs://bucket/key'));
      expect(error).toMatchObject({ code: 'ERR_CONNECTION' });
      const withOption = s3dlio.storeFor('gs://', { maxAttempts: 1, keyFilename: keyFile('option-client') });
      await rejectionOf(withOption.stat('gs://bucket/key'));
    });
    expect(tokenRequests).toEqual(['env-client', 'option-client']);
    // Google's endpoint named as the option, over an emulator in STORAGE_EMULATOR_HOST: requests
    // are authenticated (the SDK would take any endpoint but its own default as an emulator).
    tokenRequests.length = 0;
    await withEnv(
      { ...env, STORAGE_EMULATOR_HOST: variable.url, HTTPS_PROXY: deadProxy, NO_PROXY: '127.0.0.1' },
      async () => {
        const google = s3dlio.storeFor('gs://', { endpoint: 'https://storage.googleapis.com', maxAttempts: 1 });
        expect(await rejectionOf(google.stat('gs://bucket/key'))).toMatchObject({ code: 'ERR_CONNECTION' });
      },
    );
    expect(tokenRequests).toEqual(['env-client']);
    expect(variable.requests).toEqual([]);
    // An emulator endpoint with credentials only in the environment: requests go unauthenticated.
    tokenRequests.length = 0;
    await withEnv(env, () => s3dlio.storeFor('gs://', { endpoint: option.url }).listBuckets('gs://'));
    expect(option.requests.map((request) => request.headers.authorization)).toEqual([undefined]);
    expect(tokenRequests).toEqual([]);
  });
});
