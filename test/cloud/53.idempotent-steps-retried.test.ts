/**
 * Every idempotent step of every operation is retried: the first request of each operation is
 * answered 503 by the fault proxy, and the operation still succeeds, on each cloud. The steps
 * that must never be repeated (S3 CompleteMultipartUpload, Azure's block-list commit, a GCS
 * resumable session and its chunks) are left alone here; test/cloud/52 pins that they are sent once.
 */
import { type ObjectStore, storeFor } from '../../lib';
import { EVERY_OPERATION, type OperationName, runEveryOperation } from '../helpers/store-ops';
import { AZURITE_ACCOUNT, AZURITE_KEY } from '../servers/azurite';
import { type FaultProxy, type FaultRule, SLOW_DOWN_BODY, startFaultProxy } from '../servers/fault-proxy';
import { type CloudTarget, cloudTargets, newBucketName } from './targets';

const upstream: Record<CloudTarget['scheme'], () => string> = {
  s3: () => process.env.S3DLIO_TEST_S3_ENDPOINT as string,
  gs: () => process.env.S3DLIO_TEST_GCS_ENDPOINT as string,
  az: () => new URL(/BlobEndpoint=([^;]+)/.exec(process.env.S3DLIO_TEST_AZURE_CONNECTION_STRING as string)![1]).origin,
};

/** The requests of steps that are not retried (see the file comment). */
const NOT_IDEMPOTENT = /^(?!.*(?:[?&]uploadId=|[?&]upload_id=|uploadType=resumable|comp=blocklist))/;

function viaProxy(scheme: CloudTarget['scheme'], proxy: FaultProxy): ObjectStore {
  const common = { maxAttempts: 2, retryBaseDelayMs: 1 };
  if (scheme === 's3') {
    return storeFor('s3://', {
      endpoint: proxy.url,
      region: 'us-east-1',
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
      ...common,
    });
  }
  if (scheme === 'az') {
    return storeFor(`az://${AZURITE_ACCOUNT}/`, {
      endpoint: `${proxy.url}/${AZURITE_ACCOUNT}`,
      accountKey: AZURITE_KEY,
      ...common,
    });
  }
  return storeFor('gs://', { endpoint: proxy.url, projectId: 'test', ...common });
}

describe.each(cloudTargets().map((target) => [target.name, target] as [string, CloudTarget]))('%s', (_name, target) => {
  let proxy: FaultProxy;
  beforeAll(async () => {
    proxy = await startFaultProxy({ target: upstream[target.scheme]() });
  });
  afterAll(() => proxy.stop());

  test('the first request of every operation answered 503: each is retried and succeeds', async () => {
    // Armed again before each operation: its first (idempotent) request fails once.
    const firstFails: FaultRule = {
      name: 'first',
      path: NOT_IDEMPOTENT,
      nth: 1,
      action: { type: 'status', status: 503, body: SLOW_DOWN_BODY },
    };
    const faulted: Partial<Record<OperationName, number>> = {};
    proxy.setRules([firstFails]);
    proxy.resetStats();
    await runEveryOperation(viaProxy(target.scheme, proxy), {
      bucketUri: target.bucketUri(newBucketName('retried')),
      schemeUri: target.schemeUri,
      partSize: target.scheme === 's3' ? 5 << 20 : 256 << 10,
      after: (operation) => {
        faulted[operation] = proxy.stats.byRule.first ?? 0;
        proxy.resetStats();
        proxy.setRules([firstFails]);
      },
    });
    // A GCS writer makes only requests that are never retried (its session and chunks).
    const expected = Object.fromEntries(EVERY_OPERATION.map((operation) => [operation, 1]));
    if (target.scheme === 'gs') expected['createWriter (multipart)'] = 0;
    expect(faulted).toEqual(expected);
  }, 120_000);
});
