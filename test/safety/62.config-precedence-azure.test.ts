/**
 * az:// configuration precedence, observed on the wire through recording proxies in front of
 * Azurite: credential options (connectionString, sasToken, accountKey) before their variables,
 * across kinds too; `endpoint` before AZURE_STORAGE_ENDPOINT and before the endpoint a connection
 * string carries — for every operation.
 */
import {
  AccountSASPermissions,
  AccountSASResourceTypes,
  AccountSASServices,
  StorageSharedKeyCredential,
  generateAccountSASQueryParameters,
} from '@azure/storage-blob';

import { storeFor } from '../../lib';
import { newBucketName, requiredEnv } from '../cloud/targets';
import { withEnv } from '../helpers/env';
import { rejectionOf } from '../helpers/local';
import { type RecordingProxy, startRecordingProxy } from '../helpers/recording-proxy';
import { EVERY_OPERATION, type OperationName, runEveryOperation } from '../helpers/store-ops';
import { AZURITE_ACCOUNT, AZURITE_KEY } from '../servers/azurite';

const ACCOUNT = AZURITE_ACCOUNT;
const BASE = `az://${ACCOUNT}/`;
/** A well-formed key Azurite refuses (not the account's). */
const WRONG_KEY = Buffer.alloc(64, 7).toString('base64');

let option: RecordingProxy;
let variable: RecordingProxy;

beforeAll(async () => {
  const blobEndpoint = /BlobEndpoint=([^;]+)/.exec(requiredEnv('S3DLIO_TEST_AZURE_CONNECTION_STRING'))?.[1] ?? '';
  const target = new URL(blobEndpoint).origin;
  [option, variable] = await Promise.all([startRecordingProxy({ target }), startRecordingProxy({ target })]);
});
afterAll(() => Promise.all([option.stop(), variable.stop()]));
beforeEach(() => [option, variable].forEach((proxy) => proxy.clear()));

const connectionString = (proxy: RecordingProxy, key = AZURITE_KEY): string =>
  `DefaultEndpointsProtocol=http;AccountName=${ACCOUNT};AccountKey=${key};BlobEndpoint=${proxy.url}/${ACCOUNT};`;

/** An account SAS made with the well-known key; `hours` makes two different tokens. */
function sas(hours: number): string {
  return generateAccountSASQueryParameters(
    {
      expiresOn: new Date(Date.now() + hours * 3600_000),
      permissions: AccountSASPermissions.parse('rwdlacup'),
      resourceTypes: AccountSASResourceTypes.parse('sco').toString(),
      services: AccountSASServices.parse('b').toString(),
    },
    new StorageSharedKeyCredential(ACCOUNT, AZURITE_KEY),
  ).toString();
}

/** Runs every operation; each must send its requests to `expected`, none to the other proxy. */
async function everyOperationGoesTo(expected: RecordingProxy, options: Record<string, unknown>): Promise<void> {
  const other = expected === option ? variable : option;
  const counts: Array<[OperationName, number]> = [];
  await runEveryOperation(storeFor(BASE, { retryBaseDelayMs: 1, ...options }), {
    bucketUri: `${BASE}${newBucketName('azprec')}/`,
    schemeUri: BASE,
    partSize: 64 * 1024,
    after: (operation) => counts.push([operation, expected.requests.length]),
  });
  const silent = counts.filter(([, count], index) => count === (index === 0 ? 0 : counts[index - 1][1]));
  expect(silent.map(([operation]) => operation)).toEqual([]);
  expect(counts.map(([operation]) => operation)).toEqual([...EVERY_OPERATION]);
  expect(other.requests).toEqual([]);
}

/** The `sig` of the SAS each request carried. */
const signatures = (proxy: RecordingProxy): Set<string | null> =>
  new Set(proxy.requests.map((request) => new URLSearchParams(request.query).get('sig')));
const sigOf = (token: string): string | null => new URLSearchParams(token).get('sig');

test('options.connectionString wins over AZURE_STORAGE_CONNECTION_STRING and AZURE_STORAGE_ENDPOINT, on every operation', async () => {
  const env = { AZURE_STORAGE_CONNECTION_STRING: connectionString(variable), AZURE_STORAGE_ENDPOINT: variable.url };
  await withEnv(env, () => everyOperationGoesTo(option, { connectionString: connectionString(option) }));
});

test('AZURE_STORAGE_CONNECTION_STRING applies without options, with its own endpoint (not AZURE_STORAGE_ENDPOINT)', async () => {
  const env = { AZURE_STORAGE_CONNECTION_STRING: connectionString(variable), AZURE_STORAGE_ENDPOINT: option.url };
  await withEnv(env, () => everyOperationGoesTo(variable, {}));
});

test('options.endpoint wins over the endpoint of a connection string (option or variable), on every operation', async () => {
  await withEnv({ AZURE_STORAGE_CONNECTION_STRING: connectionString(variable) }, () =>
    everyOperationGoesTo(option, { endpoint: option.url }),
  );
  option.clear();
  await withEnv({}, async () => {
    const store = storeFor(BASE, {
      connectionString: connectionString(variable),
      endpoint: `${option.url}/${ACCOUNT}`,
    });
    expect(await store.listBuckets(BASE)).toEqual(expect.any(Array));
  });
  expect(option.requests).toHaveLength(1);
  expect(variable.requests).toEqual([]);
});

test('a connection string with another account is still refused when options.endpoint is given', async () => {
  const other = connectionString(variable).replace(`AccountName=${ACCOUNT}`, 'AccountName=otheraccount');
  const error = await withEnv({}, () =>
    rejectionOf(storeFor(BASE, { connectionString: other, endpoint: option.url }).stat(`${BASE}c-1/k`)),
  );
  expect(error).toMatchObject({ code: 'ERR_ACCESS_DENIED' });
  expect(String(error.message)).toMatch(/otheraccount/);
  expect([...option.requests, ...variable.requests]).toEqual([]);
});

test('options.sasToken and endpoint win over AZURE_STORAGE_SAS_TOKEN and AZURE_STORAGE_ENDPOINT, on every operation', async () => {
  const [mine, theirs] = [sas(1), sas(2)];
  await withEnv({ AZURE_STORAGE_SAS_TOKEN: theirs, AZURE_STORAGE_ENDPOINT: variable.url }, () =>
    everyOperationGoesTo(option, { sasToken: `?${mine}`, endpoint: option.url }),
  );
  expect(signatures(option)).toEqual(new Set([sigOf(mine)]));
});

test('AZURE_STORAGE_SAS_TOKEN and AZURE_STORAGE_ENDPOINT apply without options, on every operation', async () => {
  const theirs = sas(3);
  await withEnv({ AZURE_STORAGE_SAS_TOKEN: theirs, AZURE_STORAGE_ENDPOINT: variable.url }, () =>
    everyOperationGoesTo(variable, {}),
  );
  expect(signatures(variable)).toEqual(new Set([sigOf(theirs)]));
});

test('options.accountKey wins over AZURE_STORAGE_KEY (and is not bound to AZURE_STORAGE_ACCOUNT), on every operation', async () => {
  const env = {
    AZURE_STORAGE_KEY: WRONG_KEY,
    AZURE_STORAGE_ACCOUNT: 'otheraccount',
    AZURE_STORAGE_ENDPOINT: variable.url,
  };
  await withEnv(env, () => everyOperationGoesTo(option, { accountKey: AZURITE_KEY, endpoint: option.url }));
  expect(
    option.requests.every((request) => /^SharedKey devstoreaccount1:/.test(String(request.headers.authorization))),
  ).toBe(true);
});

test('AZURE_STORAGE_KEY applies without options; a wrong option key is used (and refused), not replaced by the variable', async () => {
  await withEnv(
    { AZURE_STORAGE_KEY: AZURITE_KEY, AZURE_STORAGE_ACCOUNT: ACCOUNT, AZURE_STORAGE_ENDPOINT: variable.url },
    async () => {
      expect(await storeFor(BASE, {}).listBuckets(BASE)).toEqual(expect.any(Array));
      const error = await rejectionOf(storeFor(BASE, { accountKey: WRONG_KEY, maxAttempts: 1 }).listBuckets(BASE));
      expect(error).toMatchObject({ code: 'ERR_ACCESS_DENIED' });
    },
  );
  expect(variable.requests).toHaveLength(2);
});

test('a credential option of one kind wins over a variable of another kind', async () => {
  const mine = sas(4);
  // accountKey (option) over AZURE_STORAGE_CONNECTION_STRING (variable, another endpoint).
  await withEnv({ AZURE_STORAGE_CONNECTION_STRING: connectionString(variable, WRONG_KEY) }, () =>
    storeFor(BASE, { accountKey: AZURITE_KEY, endpoint: option.url }).listBuckets(BASE),
  );
  // sasToken (option) over AZURE_STORAGE_KEY (variable).
  await withEnv({ AZURE_STORAGE_KEY: WRONG_KEY, AZURE_STORAGE_ENDPOINT: variable.url }, () =>
    storeFor(BASE, { sasToken: mine, endpoint: option.url }).listBuckets(BASE),
  );
  expect(
    option.requests.map((request) => [
      Boolean(request.headers.authorization),
      new URLSearchParams(request.query).get('sig'),
    ]),
  ).toEqual([
    [true, null],
    [false, sigOf(mine)],
  ]);
  expect(variable.requests).toEqual([]);
});
