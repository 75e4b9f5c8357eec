/**
 * s3:// configuration precedence, observed on the wire: an endpoint in the URI, then the store
 * option, then the environment variable, then the default — for every operation. Recording
 * proxies in front of moto show where each request went, and its SigV4 credential scope shows
 * the access key id and the region it was signed with.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import * as path from 'path';

import { S3dlioError, storeFor } from '../../lib';
import { newBucketName, requiredEnv } from '../cloud/targets';
import { withEnv } from '../helpers/env';
import { rejectionOf } from '../helpers/local';
import { type RecordedRequest, type RecordingProxy, startRecordingProxy } from '../helpers/recording-proxy';
import { EVERY_OPERATION, type OperationName, runEveryOperation } from '../helpers/store-ops';
import { selfSignedCertificate } from '../helpers/tls';

const MIB = 1024 * 1024;
const OPTION_CREDENTIALS = { accessKeyId: 'OPTIONKEY', secretAccessKey: 'option-secret' };
const ENV_CREDENTIALS = { AWS_ACCESS_KEY_ID: 'ENVKEY', AWS_SECRET_ACCESS_KEY: 'env-secret' };

let option: RecordingProxy;
let variable: RecordingProxy;
let generic: RecordingProxy;
let inUri: RecordingProxy;
const proxies = (): RecordingProxy[] => [option, variable, generic, inUri];
const tmp = mkdtempSync(path.join(tmpdir(), 's3dlio-s3-precedence-'));

beforeAll(async () => {
  const target = requiredEnv('S3DLIO_TEST_S3_ENDPOINT');
  [option, variable, generic, inUri] = await Promise.all(
    Array.from({ length: 4 }, () => startRecordingProxy({ target })),
  );
});
afterAll(async () => {
  await Promise.all(proxies().map((proxy) => proxy.stop()));
  rmSync(tmp, { recursive: true, force: true });
});
beforeEach(() => proxies().forEach((proxy) => proxy.clear()));

/** Runs every operation and checks that each one sent its requests to `expected`, and only there. */
async function everyOperationGoesTo(
  expected: RecordingProxy,
  store: ReturnType<typeof storeFor>,
  bucketUri: string,
  schemeUri = 's3://',
): Promise<void> {
  const seen: Array<[OperationName, number]> = [];
  await runEveryOperation(store, {
    bucketUri,
    schemeUri,
    partSize: 5 * MIB,
    after: (operation) => seen.push([operation, expected.requests.length]),
  });
  // Each operation made at least one request there...
  const made = seen.map(([operation, count], index) => [operation, count - (index === 0 ? 0 : seen[index - 1][1])]);
  expect(made.filter(([, count]) => count === 0)).toEqual([]);
  expect(made.map(([operation]) => operation)).toEqual([...EVERY_OPERATION]);
  // ...and nothing went anywhere else.
  for (const proxy of proxies()) if (proxy !== expected) expect(proxy.requests).toEqual([]);
}

/** Uploads of object bytes (PutObject, UploadPart): PUTs of a key that are not copies. */
function uploads(proxy: RecordingProxy): RecordedRequest[] {
  return proxy.requests.filter(
    (request) => request.method === 'PUT' && /^\/[^/]+\/.+/.test(request.path) && !request.headers['x-amz-copy-source'],
  );
}

function checksumHeaders(request: RecordedRequest): string[] {
  return Object.keys(request.headers).filter((name) => name.startsWith('x-amz-checksum-'));
}

const ENV = (): Record<string, string> => ({
  AWS_ENDPOINT_URL_S3: variable.url,
  AWS_ENDPOINT_URL: generic.url,
  AWS_REGION: 'ap-south-1',
  AWS_DEFAULT_REGION: 'sa-east-1',
  ...ENV_CREDENTIALS,
  AWS_REQUEST_CHECKSUM_CALCULATION: 'WHEN_REQUIRED',
  AWS_RESPONSE_CHECKSUM_VALIDATION: 'when_required',
});

test('options win over every variable (endpoint, region, credentials, checksums), on every operation', async () => {
  await withEnv(ENV(), async () => {
    const store = storeFor('s3://', {
      endpoint: option.url,
      region: 'eu-west-3',
      credentials: OPTION_CREDENTIALS,
      checksums: 'WHEN_SUPPORTED',
      retryBaseDelayMs: 1,
    });
    await everyOperationGoesTo(option, store, `s3://${newBucketName('s3opt')}/`);
  });
  const scopes = option.credentialScopes();
  expect(scopes).toHaveLength(option.requests.length);
  expect(new Set(scopes.map((scope) => `${scope.accessKeyId}/${scope.region}`))).toEqual(
    new Set(['OPTIONKEY/eu-west-3']),
  );
  // WHEN_SUPPORTED (the option) over WHEN_REQUIRED (the variables): every upload carries a checksum.
  expect(uploads(option)).toHaveLength(3); // put, and the writer's two parts
  for (const request of uploads(option)) expect(checksumHeaders(request)).toContain('x-amz-checksum-crc32c');
  expect(option.requests.some((request) => request.headers['x-amz-checksum-mode'] === 'ENABLED')).toBe(true);
});

test('without options the variables apply: AWS_ENDPOINT_URL_S3, AWS_REGION, AWS_ACCESS_KEY_ID, checksums', async () => {
  await withEnv(ENV(), async () => {
    await everyOperationGoesTo(variable, storeFor('s3://', { retryBaseDelayMs: 1 }), `s3://${newBucketName('s3env')}/`);
  });
  expect(new Set(variable.credentialScopes().map((scope) => `${scope.accessKeyId}/${scope.region}`))).toEqual(
    new Set(['ENVKEY/ap-south-1']),
  );
  // WHEN_REQUIRED from the environment: no upload carries a checksum the store did not ask for.
  expect(uploads(variable)).toHaveLength(3);
  for (const request of uploads(variable)) expect(checksumHeaders(request)).toEqual([]);
  expect(variable.requests.filter((request) => request.headers['x-amz-checksum-mode'])).toEqual([]);
});

test('the generic variables apply after the specific ones: AWS_ENDPOINT_URL, AWS_DEFAULT_REGION', async () => {
  const bucket = `s3://${newBucketName('s3gen')}/`;
  await withEnv({ AWS_ENDPOINT_URL: generic.url, AWS_DEFAULT_REGION: 'sa-east-1', ...ENV_CREDENTIALS }, async () => {
    const store = storeFor('s3://', {});
    await store.createBucket(bucket);
    await store.put(`${bucket}k`, 'generic');
    expect(Buffer.from(await store.get(`${bucket}k`)).toString()).toBe('generic');
    await store.deleteBucket(bucket, { force: true });
  });
  expect(generic.requests.length).toBeGreaterThanOrEqual(4);
  expect(new Set(generic.credentialScopes().map((scope) => scope.region))).toEqual(new Set(['sa-east-1']));
  expect([option, variable, inUri].flatMap((proxy) => proxy.requests)).toEqual([]);
});

test('nothing set: region us-east-1, request checksums on, and no credentials is ERR_ACCESS_DENIED', async () => {
  const bucket = `s3://${newBucketName('s3def')}/`;
  await withEnv({}, async () => {
    const store = storeFor('s3://', { endpoint: option.url, credentials: OPTION_CREDENTIALS });
    await store.createBucket(bucket);
    await store.put(`${bucket}k`, 'default');
    await store.deleteBucket(bucket, { force: true });
  });
  expect(new Set(option.credentialScopes().map((scope) => scope.region))).toEqual(new Set(['us-east-1']));
  for (const request of uploads(option)) expect(checksumHeaders(request)).toContain('x-amz-checksum-crc32c');
  // No option, no variable, no profile, no instance metadata: the SDK's chain finds nothing.
  await withEnv(
    {
      AWS_EC2_METADATA_DISABLED: 'true',
      AWS_CONFIG_FILE: path.join(tmp, 'none'),
      AWS_SHARED_CREDENTIALS_FILE: path.join(tmp, 'none'),
    },
    async () => {
      const error = await rejectionOf(
        storeFor('s3://', { endpoint: option.url, maxAttempts: 1 }).put(`${bucket}k`, 'x'),
      );
      expect(error).toMatchObject({ code: 'ERR_ACCESS_DENIED', operation: 'put' });
    },
  );
});

test('AWS_PROFILE credentials apply without the option; options.credentials wins over them', async () => {
  const credentialsFile = path.join(tmp, 'credentials');
  writeFileSync(credentialsFile, '[custom]\naws_access_key_id = PROFILEKEY\naws_secret_access_key = profile-secret\n');
  const bucket = `s3://${newBucketName('s3prof')}/`;
  const env = {
    AWS_PROFILE: 'custom',
    AWS_SHARED_CREDENTIALS_FILE: credentialsFile,
    AWS_CONFIG_FILE: path.join(tmp, 'no-config'),
    AWS_EC2_METADATA_DISABLED: 'true',
  };
  await withEnv(env, async () => {
    await storeFor('s3://', { endpoint: option.url }).createBucket(bucket);
    await storeFor('s3://', { endpoint: option.url, credentials: OPTION_CREDENTIALS }).put(`${bucket}k`, 'x');
    await storeFor('s3://', { endpoint: option.url, credentials: OPTION_CREDENTIALS }).deleteBucket(bucket, {
      force: true,
    });
  });
  const keys = option.credentialScopes().map((scope) => scope.accessKeyId);
  expect(keys[0]).toBe('PROFILEKEY');
  expect(new Set(keys.slice(1))).toEqual(new Set(['OPTIONKEY']));
});

test('an endpoint written in the URI wins over the option and the variables, on every operation', async () => {
  await withEnv(ENV(), async () => {
    const store = storeFor('s3://', { endpoint: option.url, credentials: OPTION_CREDENTIALS, retryBaseDelayMs: 1 });
    const host = `127.0.0.1:${inUri.port}`;
    await everyOperationGoesTo(inUri, store, `s3://${host}/${newBucketName('s3uri')}/`, `s3://${host}/`);
  });
});

test("variables about AWS's own endpoints (FIPS, dual-stack, adaptive retries) do not break a given endpoint", async () => {
  const env = { AWS_USE_FIPS_ENDPOINT: 'true', AWS_USE_DUALSTACK_ENDPOINT: 'true', AWS_RETRY_MODE: 'adaptive' };
  const name = newBucketName('s3fips');
  const bucket = `s3://${name}/`;
  const host = `127.0.0.1:${inUri.port}`;
  await withEnv({ ...env, ...ENV_CREDENTIALS }, async () => {
    // The SDK refused both with "A custom endpoint cannot be combined with FIPS" (or dual-stack).
    const byOption = storeFor('s3://', { endpoint: option.url, maxAttempts: 1 });
    await byOption.createBucket(bucket);
    await byOption.put(`${bucket}k`, 'fips');
    expect(await byOption.list(bucket)).toEqual([`${bucket}k`]);
    const byUri = storeFor('s3://', { maxAttempts: 1 });
    expect(await byUri.listBuckets(`s3://${host}/`)).toContain(`s3://${host}/${name}/`);
    await byOption.deleteBucket(bucket, { force: true });
  });
  expect(option.requests.length).toBeGreaterThanOrEqual(4);
  expect(inUri.requests).toHaveLength(1);
});

test('an option is used even when it is wrong: a bad endpoint option is refused, not replaced by the variable', async () => {
  await withEnv(ENV(), async () => {
    expect(() => storeFor('s3://', { endpoint: 'not a url' })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }) as Error,
    );
    const error = await rejectionOf(
      storeFor('s3://', { endpoint: 'http://127.0.0.1:1', maxAttempts: 1 }).stat('s3://bucket/key'),
    );
    // The request went to the option's (dead) endpoint, not to the variable's.
    expect(error).toBeInstanceOf(S3dlioError);
    expect(String(error.message)).toMatch(/ECONNREFUSED 127\.0\.0\.1:1\b/);
  });
  expect(variable.requests).toEqual([]);
});

test('an empty variable counts as unset; an invalid checksum variable is refused unless the option is given', async () => {
  await withEnv(
    { AWS_ENDPOINT_URL_S3: '', AWS_ENDPOINT_URL: variable.url, AWS_REGION: '', ...ENV_CREDENTIALS },
    async () => {
      await storeFor('s3://', {}).listBuckets('s3://');
    },
  );
  expect(variable.requests).toHaveLength(1);
  expect(variable.credentialScopes()[0].region).toBe('us-east-1');
  await withEnv({ AWS_REQUEST_CHECKSUM_CALCULATION: 'sometimes' }, async () => {
    expect(() => storeFor('s3://', {})).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }) as Error);
    expect(() => storeFor('s3://', { checksums: 'WHEN_REQUIRED' })).not.toThrow();
  });
});

describe('caBundle / AWS_CA_BUNDLE, through a TLS proxy with a self-signed certificate', () => {
  let tls: RecordingProxy;
  const good = path.join(tmp, 'good.pem');
  const other = path.join(tmp, 'other.pem');

  beforeAll(async () => {
    const server = selfSignedCertificate(tmp, 'good');
    selfSignedCertificate(tmp, 'other');
    tls = await startRecordingProxy({ target: requiredEnv('S3DLIO_TEST_S3_ENDPOINT'), tls: server });
  });
  afterAll(() => tls.stop());
  beforeEach(() => tls.clear());

  const tlsStore = (options: Record<string, unknown> = {}) =>
    storeFor('s3://', { endpoint: tls.url, credentials: OPTION_CREDENTIALS, maxAttempts: 1, ...options });

  test('the option wins over the variable, on every operation', async () => {
    await withEnv({ AWS_CA_BUNDLE: other }, async () => {
      const seen: OperationName[] = [];
      await runEveryOperation(tlsStore({ caBundle: good }), {
        bucketUri: `s3://${newBucketName('s3tls')}/`,
        schemeUri: 's3://',
        partSize: 5 * MIB,
        after: (operation) => seen.push(operation),
      });
      expect(seen).toEqual([...EVERY_OPERATION]);
    });
    expect(tls.requests.length).toBeGreaterThan(EVERY_OPERATION.length);
  });

  test('the variable applies without the option; neither trusts the self-signed certificate', async () => {
    await withEnv({ AWS_CA_BUNDLE: good }, () => tlsStore().listBuckets('s3://'));
    expect(tls.requests).toHaveLength(1);
    for (const env of [{ AWS_CA_BUNDLE: other }, {}]) {
      const error = await withEnv(env, () => rejectionOf(tlsStore().listBuckets('s3://')));
      expect(error).toBeInstanceOf(S3dlioError);
      expect(String((error as Error).message)).toMatch(/certificate/i);
    }
    expect(tls.requests).toHaveLength(1);
  });

  test('a missing bundle file: the option is refused even when the variable is good; a bad variable is never read when the option is given', async () => {
    await withEnv({ AWS_CA_BUNDLE: good }, async () => {
      expect(() => tlsStore({ caBundle: path.join(tmp, 'missing.pem') })).toThrow(
        expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }) as Error,
      );
    });
    await withEnv({ AWS_CA_BUNDLE: path.join(tmp, 'missing.pem') }, () =>
      tlsStore({ caBundle: good }).listBuckets('s3://'),
    );
    expect(tls.requests).toHaveLength(1);
  });
});
