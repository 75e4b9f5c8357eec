/**
 * gs:// through proxies, as the variables name them: HTTP_PROXY carries every request to an
 * http:// endpoint (bodies and the SDK's own requests alike), NO_PROXY bypasses it, and an https://
 * endpoint is reached through a CONNECT tunnel with its certificate checked end to end (trusted
 * through NODE_EXTRA_CA_CERTS, gs://'s way to a private CA). Runs on both transports.
 */
import * as s3dlio from '../../lib';
import { runNodeScript } from '../helpers/child';
import { withEnv } from '../helpers/env';
import { startForwardProxy } from '../helpers/forward-proxy';
import { rejectionOf } from '../helpers/local';
import { type RecordingProxy, startRecordingProxy } from '../helpers/recording-proxy';
import { EVERY_OPERATION, type OperationName, runEveryOperation } from '../helpers/store-ops';
import { useTempDir } from '../helpers/temp';
import { selfSignedCertificate } from '../helpers/tls';
import { newBucketName } from './targets';

const tmp = useTempDir('s3dlio-gcs-proxies-');
const emulator = (): string => process.env.S3DLIO_TEST_GCS_ENDPOINT as string;
const storeAt = (endpoint: string, extra: s3dlio.StoreOptionsFor<'gs://'> = {}): s3dlio.ObjectStore =>
  s3dlio.storeFor('gs://', { endpoint, projectId: 'test', retryBaseDelayMs: 5, ...extra });

test('HTTP_PROXY carries every request to an http:// endpoint, with its credentials; NO_PROXY bypasses it', async () => {
  const credentials = `Basic ${Buffer.from('user:pa:ss').toString('base64')}`;
  const proxy = await startForwardProxy({ requireAuth: credentials });
  try {
    const origin = new URL(emulator()).origin;
    const seen: OperationName[] = [];
    await withEnv({ HTTP_PROXY: proxy.url.replace('//', '//user:pa%3Ass@'), NO_PROXY: undefined }, () =>
      runEveryOperation(storeAt(emulator(), { maxAttempts: 1 }), {
        bucketUri: `gs://${newBucketName('proxy')}/`,
        schemeUri: 'gs://',
        partSize: 256 * 1024,
        after: (operation) => seen.push(operation),
      }),
    );
    expect(seen).toEqual([...EVERY_OPERATION]);
    // Downloads, uploads (media and resumable) and the JSON API's requests all went through it.
    const through = (pattern: RegExp): boolean => proxy.seen.some((line) => pattern.test(line));
    const at = origin.replace(/[.]/g, '\\.');
    expect(through(new RegExp(`^GET ${at}/storage/v1/b/[^/]+/o/[^?]+\\?alt=media`))).toBe(true);
    expect(through(new RegExp(`^POST ${at}/upload/storage/v1/b/[^/]+/o\\?.*uploadType=(media|multipart)`))).toBe(true);
    expect(through(new RegExp(`^(POST|PUT) ${at}/upload/storage/v1/b/[^/]+/o\\?.*uploadType=resumable`))).toBe(true);
    expect(through(new RegExp(`^GET ${at}/storage/v1/b/[^/]+/o\\?`))).toBe(true); // a listing
    expect(through(new RegExp(`^DELETE ${at}/storage/v1/b/`))).toBe(true);
    expect(new Set(proxy.authorizations)).toEqual(new Set([credentials]));

    const count = proxy.seen.length;
    const bucketUri = `gs://${newBucketName('noproxy')}/`;
    await withEnv({ HTTP_PROXY: proxy.url, NO_PROXY: 'example.com,127.0.0.1' }, async () => {
      const store = storeAt(emulator());
      await store.createBucket(bucketUri);
      await store.put(`${bucketUri}obj`, 'direct');
      expect(Buffer.from(await store.get(`${bucketUri}obj`)).toString()).toBe('direct');
      await store.deleteBucket(bucketUri, { force: true });
    });
    expect(proxy.seen).toHaveLength(count);
  } finally {
    await proxy.stop();
  }
});

describe('HTTPS_PROXY to an https:// endpoint (a TLS front of the GCS server with a self-signed certificate)', () => {
  // Named by a host name, as real endpoints are (with an IP address, the GCS SDK's resumable
  // uploads check the certificate against "localhost" through a proxy, and fail), that only the
  // proxy can resolve: a request that went around it would fail.
  const HOST = 'gcs.s3dlio.test';
  let front: RecordingProxy;
  let frontUrl = '';
  let cert = '';
  beforeAll(async () => {
    const pair = selfSignedCertificate(tmp.path, 'front', HOST);
    cert = pair.certFile;
    front = await startRecordingProxy({ target: emulator(), tls: pair });
    frontUrl = front.url.replace('127.0.0.1', HOST);
  });
  afterAll(() => front?.stop());

  // NODE_EXTRA_CA_CERTS is read when a process starts: the store runs in a child of its own.
  const SCRIPT = `
    const s3dlio = require(LIB);
    (async () => {
      const store = s3dlio.storeFor('gs://', { endpoint: ARGS.endpoint, projectId: 'test', maxAttempts: 1 });
      const base = ARGS.bucketUri;
      const bytes = Buffer.alloc(600 * 1024, 7);
      const done = [];
      await store.createBucket(base); done.push('createBucket');
      await store.put(base + 'a.bin', bytes); done.push('put');
      const back = await store.get(base + 'a.bin'); done.push(Buffer.compare(Buffer.from(back), bytes) === 0 ? 'get' : 'get: bytes differ');
      const writer = await store.createWriter(base + 'w.bin', { partSize: 256 * 1024 });
      await writer.write(bytes); await writer.close(); done.push('writer');
      done.push('list ' + (await store.list(base)).length);
      await store.deleteBucket(base, { force: true }); done.push('deleteBucket');
      process.stdout.write(JSON.stringify(done));
    })().catch((error) => { process.stdout.write(JSON.stringify({ code: error.code, message: error.message })); });
  `;

  test('every request is tunnelled (CONNECT) and TLS is verified end to end', async () => {
    const proxy = await startForwardProxy({ hosts: { [HOST]: '127.0.0.1' } });
    try {
      const args = { endpoint: frontUrl, bucketUri: `gs://${newBucketName('tunnel')}/` };
      const env = { HTTPS_PROXY: proxy.url, HTTP_PROXY: undefined, NO_PROXY: undefined };
      const trusted = await runNodeScript(SCRIPT, args, [], { env: { ...env, NODE_EXTRA_CA_CERTS: cert } });
      expect({ stdout: trusted.stdout, stderr: trusted.stderr }).toEqual({
        stdout: JSON.stringify(['createBucket', 'put', 'get', 'writer', 'list 2', 'deleteBucket']),
        stderr: '',
      });
      expect(new Set(proxy.seen)).toEqual(new Set([`CONNECT ${new URL(frontUrl).host}`]));
      expect(front.requests.length).toBeGreaterThanOrEqual(6);
      // Through the tunnel, the server's certificate is still checked: without the CA it is refused.
      const untrusted = await runNodeScript(SCRIPT, args, [], { env: { ...env, NODE_EXTRA_CA_CERTS: undefined } });
      expect(JSON.parse(untrusted.stdout)).toMatchObject({ message: expect.stringMatching(/certificate/i) });
    } finally {
      await proxy.stop();
    }
  });

  test('caBundle is refused with the way to trust a private CA instead', async () => {
    const error = await rejectionOf((async () => storeAt(frontUrl, { caBundle: cert } as never))());
    expect(error).toMatchObject({
      code: 'ERR_INVALID_ARG_VALUE',
      message: expect.stringContaining('NODE_EXTRA_CA_CERTS'),
    });
  });
});
