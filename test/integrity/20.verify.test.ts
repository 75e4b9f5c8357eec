/**
 * get(uri, { verify: true }) on every cloud: the bytes are checked against the checksum the service
 * stored (S3 CRC32C written by our put, GCS CRC32C, Azure Content-MD5), so a byte flipped in flight
 * is ERR_CHECKSUM_MISMATCH instead of silently wrong data.
 */
import { storeFor } from '../../lib';
import { cloudTargets, newBucketName } from '../cloud/targets';
import { expectSameBytes, rejectionOf, testBytes } from '../helpers/local';
import { type FaultProxy, startFaultProxy } from '../servers/fault-proxy';

const endpoints: Record<string, () => string> = {
  s3: () => process.env.S3DLIO_TEST_S3_ENDPOINT as string,
  gs: () => process.env.S3DLIO_TEST_GCS_ENDPOINT as string,
};

describe.each(
  cloudTargets()
    .filter((target) => target.scheme in endpoints)
    .map((target) => [target.name, target] as const),
)('%s', (_name, target) => {
  const store = target.store();
  const base = target.bucketUri(newBucketName('vfy'));
  const bytes = testBytes(3 * 1024 * 1024 + 7, 61);
  let proxy: FaultProxy;

  beforeAll(async () => {
    proxy = await startFaultProxy({ target: endpoints[target.scheme]() });
    await store.createBucket(base);
    await store.put(`${base}obj.bin`, bytes);
  });
  afterAll(async () => {
    await store.deleteBucket(base, { force: true });
    await proxy.stop();
  });

  const viaProxy = () =>
    target.scheme === 's3'
      ? storeFor('s3://', {
          endpoint: proxy.url,
          region: 'us-east-1',
          credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
          maxAttempts: 1,
        })
      : storeFor('gs://', { endpoint: proxy.url, projectId: 'test', maxAttempts: 1 });

  test('verify passes on intact bytes, through the RangeEngine too', async () => {
    proxy.clearRules();
    expectSameBytes(await viaProxy().get(`${base}obj.bin`, { verify: true }), bytes);
    expectSameBytes(
      await viaProxy().get(`${base}obj.bin`, { verify: true, rangeThreshold: 1024 * 1024, chunkSize: 256 * 1024 }),
      bytes,
    );
  });

  test('a byte flipped in flight is ERR_CHECKSUM_MISMATCH with verify (one range or many)', async () => {
    proxy.setRules([{ method: 'GET', action: { type: 'corrupt', at: 1000 } }]);
    for (const options of [{}, { rangeThreshold: 1024 * 1024, chunkSize: 256 * 1024 }]) {
      const error = await rejectionOf(viaProxy().get(`${base}obj.bin`, { verify: true, ...options }));
      expect(error).toMatchObject({ code: 'ERR_CHECKSUM_MISMATCH', uri: `${base}obj.bin` });
    }
    proxy.clearRules();
  });
});
