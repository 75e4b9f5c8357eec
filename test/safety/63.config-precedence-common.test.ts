/**
 * The settings every cloud store shares (docs/configuration.md, "Retries and timeouts") and their S3DLIO_*
 * variables: the option wins, the variable applies alone, else the default — on s3://, az:// and
 * gs://. Attempts, timeouts and pool sizes are watched on the wire (a recording proxy that answers
 * 503, never answers, or counts connections); backoff and connect timeouts cannot be seen there
 * without timing, so their resolution is checked directly (test/cloud/05.settings.test.ts).
 */
import type { ObjectStore } from '../../lib';
import { type CloudTarget, azTarget, gsTarget, newBucketName, requiredEnv, s3Target } from '../cloud/targets';
import { withEnv } from '../helpers/env';
import { rejectionOf } from '../helpers/local';
import { type RecordingProxy, startRecordingProxy } from '../helpers/recording-proxy';

/** Each target with the address of its real server (the proxy forwards there). */
const targets: Array<[CloudTarget, () => string]> = [
  [s3Target(), () => requiredEnv('S3DLIO_TEST_S3_ENDPOINT')],
  [
    azTarget(),
    () => new URL(/BlobEndpoint=([^;]+)/.exec(requiredEnv('S3DLIO_TEST_AZURE_CONNECTION_STRING'))![1]).origin,
  ],
  [gsTarget(), () => requiredEnv('S3DLIO_TEST_GCS_ENDPOINT')],
];

describe.each(targets.map(([target, server]) => [target.name, target, server] as const))(
  '%s',
  (_name, target, server) => {
    let proxy: RecordingProxy;
    /** A store of this target whose requests go through the proxy. */
    let throughProxy: (options?: Record<string, unknown>) => ObjectStore;
    const bucketUri = target.bucketUri(newBucketName('common'));

    beforeAll(async () => {
      proxy = await startRecordingProxy({
        target: server(),
        // Any request for these keys: a 503 (retried), or no answer at all (timed out).
        intercept: (request) =>
          request.path.includes('retry-me')
            ? { status: 503, body: '', headers: { 'x-ms-error-code': 'ServerBusy' } }
            : request.path.includes('hang-me')
              ? 'hang'
              : undefined,
      });
      throughProxy = (options = {}) => {
        if (target.scheme !== 'az') return target.store({ endpoint: proxy.url, retryBaseDelayMs: 1, ...options });
        const viaProxy = requiredEnv('S3DLIO_TEST_AZURE_CONNECTION_STRING').replace(
          /BlobEndpoint=[^;]+/,
          `BlobEndpoint=${proxy.url}/devstoreaccount1`,
        );
        return target.store({ connectionString: viaProxy, retryBaseDelayMs: 1, ...options });
      };
      await throughProxy().createBucket(bucketUri);
    });
    afterAll(async () => {
      await throughProxy().deleteBucket(bucketUri, { force: true });
      await proxy.stop();
    });
    beforeEach(() => proxy.clear());

    const attemptsOf = async (options: Record<string, unknown>, env: Record<string, string>): Promise<number> => {
      proxy.clear();
      const error = await withEnv(env, () => rejectionOf(throughProxy(options).stat(`${bucketUri}retry-me`)));
      expect(error).toMatchObject({ operation: 'stat' });
      return proxy.requests.length;
    };

    test('maxAttempts wins over S3DLIO_MAX_ATTEMPTS, which applies alone; the default is 4', async () => {
      expect(await attemptsOf({ maxAttempts: 2 }, { S3DLIO_MAX_ATTEMPTS: '5' })).toBe(2);
      expect(await attemptsOf({}, { S3DLIO_MAX_ATTEMPTS: '3' })).toBe(3);
      expect(await attemptsOf({}, {})).toBe(4);
      // A broken variable does not matter when the option is given.
      expect(await attemptsOf({ maxAttempts: 1 }, { S3DLIO_MAX_ATTEMPTS: 'many' })).toBe(1);
    });

    test('attemptTimeoutMs wins over S3DLIO_ATTEMPT_TIMEOUT_MS, which applies alone', async () => {
      const hung = (options: Record<string, unknown>, env: Record<string, string>) =>
        withEnv(env, () => rejectionOf(throughProxy({ maxAttempts: 1, ...options }).stat(`${bucketUri}hang-me`)));
      // With the variable's ten minutes, this test would time out instead.
      expect(await hung({ attemptTimeoutMs: 300 }, { S3DLIO_ATTEMPT_TIMEOUT_MS: '600000' })).toMatchObject({
        code: 'ERR_TIMEOUT',
      });
      expect(await hung({}, { S3DLIO_ATTEMPT_TIMEOUT_MS: '300' })).toMatchObject({ code: 'ERR_TIMEOUT' });
    });

    if (target.scheme !== 'gs') {
      test('maxSockets wins over S3DLIO_MAX_SOCKETS, which applies alone (connections seen by the server)', async () => {
        const uris = Array.from({ length: 12 }, (_, index) => `${bucketUri}pool/${index}`);
        await throughProxy().putMany(uris.map((uri) => ({ uri, data: 'x' })));
        const peak = async (options: Record<string, unknown>, env: Record<string, string>): Promise<number> => {
          proxy.clear();
          // The connections of the store itself: no proxy in between.
          await withEnv(
            { ...env, HTTPS_PROXY: undefined, HTTP_PROXY: undefined, https_proxy: undefined, http_proxy: undefined },
            () => throughProxy(options).getMany(uris, { concurrency: 12 }),
          );
          return proxy.connections.peak;
        };
        expect(await peak({ maxSockets: 2 }, { S3DLIO_MAX_SOCKETS: '64' })).toBeLessThanOrEqual(2);
        expect(await peak({}, { S3DLIO_MAX_SOCKETS: '2' })).toBeLessThanOrEqual(2);
        // The control: with room for all twelve, more than two connections are opened.
        expect(await peak({ maxSockets: 12 }, { S3DLIO_MAX_SOCKETS: '2' })).toBeGreaterThan(2);
      });
    }
  },
);

describe('a store made with an option ignores the variable', () => {
  test.each(targets.map(([target]) => [target.name, target] as const))(
    '%s: a store made with an option is unaffected by an invalid variable',
    async (_name, target) => {
      await withEnv(
        {
          S3DLIO_MAX_ATTEMPTS: 'x',
          S3DLIO_RETRY_BASE_MS: 'x',
          S3DLIO_ATTEMPT_TIMEOUT_MS: 'x',
          S3DLIO_CONNECT_TIMEOUT_MS: 'x',
          S3DLIO_MAX_SOCKETS: 'x',
        },
        async () => {
          expect(() => target.store({ maxAttempts: 2 })).toThrow(/S3DLIO_/);
          const store = target.store({
            maxAttempts: 2,
            retryBaseDelayMs: 1,
            attemptTimeoutMs: 5000,
            connectTimeoutMs: 5000,
            maxSockets: 4,
          });
          const bucket = target.bucketUri(newBucketName('envx'));
          await store.createBucket(bucket);
          await store.put(`${bucket}k`, 'v');
          expect(Buffer.from(await store.get(`${bucket}k`)).toString()).toBe('v');
          await store.deleteBucket(bucket, { force: true });
        },
      );
    },
  );
});
