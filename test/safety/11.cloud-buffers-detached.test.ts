/**
 * Buffers that vanish mid-call, on the cloud stores (the local ones are test/safety/10): a caller
 * detaches the ArrayBuffer of a put, before the call or while its body is sent, and the memory is
 * collected. The put either stores exactly the original bytes or rejects with ERR_BUFFER_DETACHED
 * and stores nothing (no object, no pending multipart upload). Run on both transports: the SDK
 * transport sends a private copy, the lean one the caller's memory itself.
 */
import { type Outcome, GC, PRELUDE, expectSafe } from '../helpers/detach';
import { runNodeJson } from '../helpers/child';
import { azTarget, gsTarget, newBucketName, s3StoreOptions, s3Target, sdkTransportRun } from '../cloud/targets';

// Child processes that fill, copy and collect tens of MiB, on a shared two-core machine.
jest.setTimeout(240_000);

describe('s3:// put (moto)', () => {
  const target = s3Target();
  const bucket = newBucketName('detach');
  const store = target.store();

  beforeAll(() => store.createBucket(target.bucketUri(bucket)));
  afterAll(() => store.deleteBucket(target.bucketUri(bucket), { force: true }));

  test('single PUT and multipart: the exact bytes, or ERR_BUFFER_DETACHED with no object and no pending upload', async () => {
    const script = `${PRELUDE}
      const { S3Client, ListMultipartUploadsCommand } = require('@aws-sdk/client-s3');
      (async () => {
        const { options, bucket } = ARGS;
        const store = s3dlio.storeFor('s3://', options);
        const client = new S3Client({ endpoint: options.endpoint, region: options.region, credentials: options.credentials, forcePathStyle: true });
        const pending = async () => (await client.send(new ListMultipartUploadsCommand({ Bucket: bucket }))).Uploads ?? [];
        const state = async (uri, sha) => {
          try { return { exists: true, same: digest(await store.get(uri)) === sha, temps: [] }; }
          catch (error) { if (error.code !== 'ERR_NOT_FOUND') throw error; return { exists: false, same: false, temps: [] }; }
        };
        const out = [];
        const putOptions = { multipartThreshold: 8 * 1024 * 1024, partSize: 5 * 1024 * 1024, concurrency: 1 };
        for (const [label, size, when] of [['single', 6 * 1024 * 1024, 'running'], ['single', 6 * 1024 * 1024, 'before'], ['multipart', 24 * 1024 * 1024, 'running'], ['multipart', 24 * 1024 * 1024, 'after-first-part']]) {
          const input = makeInput('buffer', size);
          const uri = 's3://' + bucket + '/' + label + '-' + when;
          let detached = false;
          if (when === 'before') detached = transfer(input);
          const promise = store.put(uri, input.data, putOptions);
          promise.catch(() => undefined);
          if (when === 'running') detached = transfer(input);
          if (when === 'after-first-part') {
            while ((await pending()).length === 0) await new Promise((r) => setTimeout(r, 2));
            detached = transfer(input);
          }
          collectAndReuse(size);
          const outcome = await settle(label + ' ' + when, promise, uri, input.sha, detached, state);
          out.push({ ...outcome, pendingUploads: (await pending()).length });
        }
        console.log('RESULT ' + JSON.stringify(out));
      })();`;
    const outcomes = await runNodeJson<Array<Outcome & { pendingUploads: number }>>(
      script,
      { options: s3StoreOptions(), bucket },
      GC,
    );
    expect(outcomes).toHaveLength(4);
    for (const outcome of outcomes) {
      expect(outcome.detached).toBe(true);
      expectSafe(outcome);
      expect(outcome.pendingUploads).toBe(0);
    }
    // The SDK transport sends a copy made before put() returns: a transfer after the call changes
    // nothing. The lean transport sends the caller's memory itself: transferred before it went
    // out, the put is refused.
    expect(outcomes[0]).toMatchObject(
      sdkTransportRun() ? { ok: true, same: true } : { ok: false, code: 'ERR_BUFFER_DETACHED', exists: false },
    );
    // Detached before the call, or before the writer took any part: refused.
    expect(outcomes.slice(1, 3).map((o) => o.code)).toEqual(['ERR_BUFFER_DETACHED', 'ERR_BUFFER_DETACHED']);
  });
});

/** az:// and gs://: the scheme URI and store options a child process makes its store with. */
const OTHER_CLOUDS = [
  {
    target: azTarget,
    schemeUri: 'az://devstoreaccount1/',
    options: () => ({ connectionString: process.env.S3DLIO_TEST_AZURE_CONNECTION_STRING }),
  },
  {
    target: gsTarget,
    schemeUri: 'gs://',
    options: () => ({ endpoint: process.env.S3DLIO_TEST_GCS_ENDPOINT, projectId: 'test' }),
  },
];

describe.each(OTHER_CLOUDS)('$schemeUri put', ({ target: targetOf, schemeUri, options }) => {
  const target = targetOf();
  const bucket = newBucketName('detach');
  const store = target.store();

  beforeAll(() => store.createBucket(target.bucketUri(bucket)));
  afterAll(() => store.deleteBucket(target.bucketUri(bucket), { force: true }));

  test('one request and a multipart write: the exact bytes, or ERR_BUFFER_DETACHED and no object', async () => {
    const script = `${PRELUDE}
      (async () => {
        const { schemeUri, options, base } = ARGS;
        const store = s3dlio.storeFor(schemeUri, options);
        const state = async (uri, sha) => {
          try { return { exists: true, same: digest(await store.get(uri)) === sha, temps: [] }; }
          catch (error) { if (error.code !== 'ERR_NOT_FOUND') throw error; return { exists: false, same: false, temps: [] }; }
        };
        const out = [];
        const putOptions = { multipartThreshold: 8 * 1024 * 1024, partSize: 4 * 1024 * 1024, concurrency: 1 };
        for (const [label, size, when] of [['single', 6 * 1024 * 1024, 'running'], ['single', 6 * 1024 * 1024, 'before'], ['parts', 20 * 1024 * 1024, 'running']]) {
          const input = makeInput('buffer', size);
          const uri = base + label + '-' + when;
          let detached = false;
          if (when === 'before') detached = transfer(input);
          const promise = store.put(uri, input.data, putOptions);
          promise.catch(() => undefined);
          if (when === 'running') detached = transfer(input);
          collectAndReuse(size);
          out.push(await settle(label + ' ' + when, promise, uri, input.sha, detached, state));
        }
        console.log('RESULT ' + JSON.stringify(out));
      })();`;
    const outcomes = await runNodeJson<Outcome[]>(
      script,
      { schemeUri, options: options(), base: target.bucketUri(bucket) },
      GC,
    );
    expect(outcomes).toHaveLength(3);
    for (const outcome of outcomes) {
      expect(outcome.detached).toBe(true);
      expectSafe(outcome);
    }
    // The SDK transport sends a copy made before put() returns; the lean one sends the caller's
    // memory itself, so a transfer before it went out refuses the put.
    expect(outcomes[0]).toMatchObject(
      sdkTransportRun() ? { ok: true, same: true } : { ok: false, code: 'ERR_BUFFER_DETACHED', exists: false },
    );
    expect(outcomes[1]).toMatchObject({ code: 'ERR_BUFFER_DETACHED' });
  });
});
