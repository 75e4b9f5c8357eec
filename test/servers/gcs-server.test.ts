/**
 * The in-memory GCS server (test/servers/gcs-server.ts), driven only through the official
 * @google-cloud/storage 7.x SDK: its high-level API (Storage / Bucket / File), and, for the few
 * request kinds that API never sends (uploadType=media, copyTo, resumable status query with a
 * total, session cancel), the SDK's own generic authenticated `storage.request()`; plain `fetch`
 * only where the wire itself is the point (paths the SDK would normalise, raw error bodies).
 */
import { createHash } from 'crypto';
import { gzipSync } from 'zlib';

import { ApiError, CRC32C, type File, type GetFilesOptions, Storage } from '@google-cloud/storage';

import {
  crc32c,
  crc32cToBase64,
  crc32cUpdate,
  type GcsRequestRecord,
  type GcsServer,
  startGcsServer,
} from './gcs-server';
import { testBytes } from '../helpers/local';

/** The shared deterministic test bytes (test/helpers/local.ts), as a Buffer. */
const bytes = (size: number, seed = 1): Buffer => Buffer.from(testBytes(size, seed).buffer);

const md5 = (b: Buffer): string => createHash('md5').update(b).digest('base64');
const crc = (b: Buffer): string => crc32cToBase64(crc32c(b));

/** The error a promise rejects with (fails the test if it resolves). */
async function rejectionOf(p: Promise<unknown>): Promise<ApiError> {
  try {
    await p;
  } catch (e) {
    return e as ApiError;
  }
  throw new Error('expected a rejection');
}

/** Collect a readable stream. */
async function collect(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(Buffer.from(c as Buffer));
  return Buffer.concat(chunks);
}

/** The SDK's generic authenticated request (the layer every File/Bucket method uses). */
function sdkRequest(
  storage: Storage,
  opts: Parameters<Storage['request']>[0],
): Promise<{ body: unknown; status?: number; headers: Record<string, string> }> {
  return new Promise((resolve, reject) => {
    storage.request(opts, (err, body, res) => {
      if (err) reject(err);
      else resolve({ body, status: res?.statusCode, headers: (res?.headers ?? {}) as Record<string, string> });
    });
  });
}

/** Requests logged since `from` (an index into requestLog). */
const since = (gcs: GcsServer, from: number): GcsRequestRecord[] => gcs.requestLog.slice(from);

/** Path part of a logged request target (the SDK appends `?` even with an empty query). */
const pathOf = (r: GcsRequestRecord): string => r.url.split('?')[0];

let gcs: GcsServer;
let storage: Storage;
let bucketSeq = 0;
const newBucketName = (): string => `bkt-${process.pid}-${++bucketSeq}`;

beforeAll(async () => {
  gcs = await startGcsServer();
  storage = new Storage({ apiEndpoint: gcs.url, projectId: 'test' });
});

afterAll(async () => {
  await gcs.stop();
});

describe('CRC32C', () => {
  test('check value CRC32C("123456789") = 0xE3069283', () => {
    expect(crc32c(Buffer.from('123456789'))).toBe(0xe3069283);
    expect(crc32cToBase64(0xe3069283)).toBe('4waSgw==');
    expect(crc32c(Buffer.alloc(0))).toBe(0);
    // RFC 3720 B.4 vectors: 32 bytes of zeros / of 0xFF.
    expect(crc32c(Buffer.alloc(32, 0))).toBe(0x8a9136aa);
    expect(crc32c(Buffer.alloc(32, 0xff))).toBe(0x62a8ab43);
  });

  test('incremental and matching the SDK implementation for all lengths 0..300', () => {
    const data = bytes(300, 7);
    for (let n = 0; n <= data.length; n++) {
      const part = data.subarray(0, n);
      const sdk = new CRC32C();
      sdk.update(part);
      expect(crc(part)).toBe(sdk.toString());
      const split = n >> 1;
      expect(crc32cUpdate(crc32cUpdate(0, part.subarray(0, split)), part.subarray(split))).toBe(crc32c(part));
    }
  });

  test('stored object "123456789" reports crc32c 4waSgw== and the MD5 of its bytes', async () => {
    const bucket = storage.bucket(newBucketName());
    await bucket.create();
    const file = bucket.file('check-value');
    await file.save('123456789', { resumable: false });
    const [meta] = await file.getMetadata();
    expect(meta.crc32c).toBe('4waSgw==');
    expect(meta.md5Hash).toBe(md5(Buffer.from('123456789')));
    expect(meta.size).toBe('9');
  });
});

describe('buckets', () => {
  test('create, get, exists, metadata shape', async () => {
    const name = newBucketName();
    const [bucket, created] = await storage.createBucket(name);
    expect(created as Record<string, unknown>).toMatchObject({
      kind: 'storage#bucket',
      name,
      id: name,
      metageneration: '1',
      storageClass: 'STANDARD',
    });
    expect((created as { selfLink: string }).selfLink).toBe(`${gcs.url}/storage/v1/b/${name}`);
    const [meta] = await bucket.getMetadata();
    expect(meta.name).toBe(name);
    expect(new Date(meta.timeCreated!).getTime()).not.toBeNaN();
    expect((await bucket.exists())[0]).toBe(true);
    expect((await storage.bucket(`${name}-nope`).exists())[0]).toBe(false);
  });

  test('creating an existing bucket → 409 conflict', async () => {
    const name = newBucketName();
    await storage.createBucket(name);
    const err = await rejectionOf(storage.createBucket(name));
    expect(err).toBeInstanceOf(ApiError);
    expect(err.code).toBe(409);
    expect(err.errors?.[0]).toMatchObject({ reason: 'conflict', domain: 'global' });
  });

  test.each(['ab', 'Upper', 'bad_name!', '-leading', 'trailing-', 'a'.repeat(64), '192.168.1.1', 'goog-bucket'])(
    'invalid bucket name %p → 400 invalid',
    async (name) => {
      const err = await rejectionOf(storage.createBucket(name));
      expect(err.code).toBe(400);
      expect(err.errors?.[0]).toMatchObject({ reason: 'invalid', message: `Invalid bucket name: '${name}'` });
    },
  );

  test('bucket names with _ . - and 63 characters are valid', async () => {
    for (const name of [`a_b.c-d-${process.pid}`, 'x'.repeat(63)]) {
      const [b] = await storage.createBucket(name);
      await b.delete();
    }
  });

  test('delete: empty → gone; not empty → 409 with the documented body; missing → 404', async () => {
    const name = newBucketName();
    const [bucket] = await storage.createBucket(name);
    await bucket.file('x').save('x', { resumable: false });

    const err = await rejectionOf(bucket.delete());
    expect(err.code).toBe(409);
    expect(err.message).toBe('The bucket you tried to delete is not empty.');
    expect(err.errors).toEqual([
      { message: 'The bucket you tried to delete is not empty.', domain: 'global', reason: 'conflict' },
    ]);

    await bucket.file('x').delete();
    await bucket.delete();
    expect((await bucket.exists())[0]).toBe(false);

    const missing = await rejectionOf(bucket.delete());
    expect(missing.code).toBe(404);
    expect(missing.message).toBe('The specified bucket does not exist.');
    expect(missing.errors?.[0]).toMatchObject({ reason: 'notFound' });
  });

  test('object operations on a missing bucket → 404 "The specified bucket does not exist."', async () => {
    const b = storage.bucket(`${newBucketName()}-missing`);
    const e1 = await rejectionOf(b.file('x').getMetadata());
    expect(e1.code).toBe(404);
    expect(e1.message).toBe('The specified bucket does not exist.');
    const e2 = await rejectionOf(b.file('x').save('data', { resumable: false }));
    expect(e2.code).toBe(404);
    const e3 = await rejectionOf(b.getFiles());
    expect(e3.code).toBe(404);
  });

  test('list with prefix, maxResults pages and auto-pagination', async () => {
    const prefix = `lst-${process.pid}-`;
    const names = ['c', 'a', 'e', 'b', 'd'].map((s) => `${prefix}${s}`);
    for (const n of names) await storage.createBucket(n);

    const [all] = await storage.getBuckets({ prefix });
    expect(all.map((b) => b.name)).toEqual([...names].sort());

    const [page1, next1] = await storage.getBuckets({ prefix, maxResults: 2, autoPaginate: false });
    expect(page1.map((b) => b.name)).toEqual([`${prefix}a`, `${prefix}b`]);
    expect(next1).toMatchObject({ pageToken: expect.any(String) });
    const [page2, next2] = await storage.getBuckets({ ...next1!, maxResults: 2, autoPaginate: false });
    expect(page2.map((b) => b.name)).toEqual([`${prefix}c`, `${prefix}d`]);
    const [page3, next3] = await storage.getBuckets({ ...next2!, maxResults: 2, autoPaginate: false });
    expect(page3.map((b) => b.name)).toEqual([`${prefix}e`]);
    expect(next3).toBeFalsy();

    const [none] = await storage.getBuckets({ prefix: `${prefix}zzz` });
    expect(none).toEqual([]);
  });

  test('list without a project → 400 required', async () => {
    const err = await rejectionOf(sdkRequest(storage, { uri: '/b' }));
    expect(err.code).toBe(400);
    expect(err.errors?.[0]).toMatchObject({ reason: 'required' });
  });
});

describe('objects', () => {
  let bucketName: string;
  let bucket: ReturnType<Storage['bucket']>;
  beforeAll(async () => {
    bucketName = newBucketName();
    [bucket] = await storage.createBucket(bucketName);
  });

  describe('uploads', () => {
    test('small save with resumable:false is one multipart/related upload; metadata complete', async () => {
      const data = bytes(1000, 2);
      const from = gcs.requestLog.length;
      const file = bucket.file('multi/part.bin');
      await file.save(data, {
        resumable: false,
        metadata: { contentType: 'application/x-test', cacheControl: 'no-cache', metadata: { owner: 'me', n: '1' } },
      });
      const log = since(gcs, from);
      expect(log).toHaveLength(1);
      expect(log[0].method).toBe('POST');
      expect(log[0].url).toMatch(/^\/upload\/storage\/v1\/b\/[^/]+\/o\?/);
      expect(log[0].url).toContain('uploadType=multipart');
      expect(log[0].requestHeaders['content-type']).toMatch(/^multipart\/related; boundary=/);

      const [m] = await file.getMetadata();
      expect(m).toMatchObject({
        kind: 'storage#object',
        name: 'multi/part.bin',
        bucket: bucketName,
        id: `${bucketName}/multi/part.bin/${m.generation}`,
        selfLink: `${gcs.url}/storage/v1/b/${bucketName}/o/multi%2Fpart.bin`,
        mediaLink: `${gcs.url}/download/storage/v1/b/${bucketName}/o/multi%2Fpart.bin?generation=${m.generation}&alt=media`,
        metageneration: '1',
        contentType: 'application/x-test',
        cacheControl: 'no-cache',
        size: '1000',
        md5Hash: md5(data),
        crc32c: crc(data),
        storageClass: 'STANDARD',
        metadata: { owner: 'me', n: '1' },
      });
      expect(m.generation).toMatch(/^\d+$/);
      expect(typeof m.etag).toBe('string');
      expect(m.timeCreated).toBe(m.updated);
      expect(new Date(m.timeCreated!).toISOString()).toBe(m.timeCreated);
      expect((await file.download())[0].equals(data)).toBe(true);
    });

    test('generations increase on every write', async () => {
      const file = bucket.file('gen');
      const gens: bigint[] = [];
      for (let i = 0; i < 4; i++) {
        await file.save(`v${i}`, { resumable: false });
        gens.push(BigInt((await file.getMetadata())[0].generation!));
      }
      for (let i = 1; i < gens.length; i++) expect(gens[i] > gens[i - 1]).toBe(true);
    });

    test('uploadType=media (SDK generic request): body is the object, Content-Type kept', async () => {
      const data = bytes(3000, 3);
      const { body } = await sdkRequest(storage, {
        method: 'POST',
        uri: `${gcs.url}/upload/storage/v1/b/${bucketName}/o`,
        qs: { uploadType: 'media', name: 'media upload+x.bin' },
        headers: { 'Content-Type': 'image/png' },
        body: data,
      });
      expect(body).toMatchObject({
        name: 'media upload+x.bin',
        size: '3000',
        contentType: 'image/png',
        md5Hash: md5(data),
      });
      const [got] = await bucket.file('media upload+x.bin').download();
      expect(got.equals(data)).toBe(true);
    });

    test('X-Goog-Hash on an upload is verified (SDK generic request, uploadType=media)', async () => {
      const data = Buffer.from('hash me');
      const upload = (hash: string): Promise<unknown> =>
        sdkRequest(storage, {
          method: 'POST',
          uri: `${gcs.url}/upload/storage/v1/b/${bucketName}/o`,
          qs: { uploadType: 'media', name: 'x-goog-hash' },
          headers: { 'Content-Type': 'text/plain', 'X-Goog-Hash': hash },
          body: data,
        });
      const bad = await rejectionOf(upload(`crc32c=${crc(Buffer.from('other'))},md5=${md5(data)}`));
      expect(bad.code).toBe(400);
      expect((await bucket.file('x-goog-hash').exists())[0]).toBe(false);
      await upload(`crc32c=${crc(data)},md5=${md5(data)}`);
      expect((await bucket.file('x-goog-hash').download())[0].equals(data)).toBe(true);
    });

    test('checksums declared by the client are verified: wrong md5Hash / crc32c → 400, nothing stored', async () => {
      const file = bucket.file('bad-hash');
      const e1 = await rejectionOf(
        file.save('payload', { resumable: false, metadata: { md5Hash: md5(Buffer.from('other')) } }),
      );
      expect(e1.code).toBe(400);
      expect(e1.message).toMatch(/^Provided MD5 hash ".*" doesn't match calculated MD5 hash/);
      const e2 = await rejectionOf(file.save('payload', { resumable: false, metadata: { crc32c: 'AAAAAA==' } }));
      expect(e2.code).toBe(400);
      expect(e2.message).toMatch(/^Provided CRC32C "AAAAAA==" doesn't match calculated CRC32C/);
      expect((await file.exists())[0]).toBe(false);
      await file.save('payload', { resumable: false, metadata: { crc32c: crc(Buffer.from('payload')) } });
      expect((await file.exists())[0]).toBe(true);
    });

    test('resumable save without chunkSize: one session, one PUT `bytes 0-*/*`', async () => {
      const data = bytes(700_000, 4);
      const from = gcs.requestLog.length;
      const file = bucket.file('resumable/single');
      await file.save(data, { resumable: true });
      const log = since(gcs, from);
      expect(log.map((r) => [r.method, r.status])).toEqual([
        ['POST', 200],
        ['PUT', 200],
      ]);
      expect(log[0].url).toContain('uploadType=resumable');
      expect(String(log[0].responseHeaders.location)).toMatch(/[?&]upload_id=[\w-]+/);
      expect(log[1].requestHeaders['content-range']).toBe('bytes 0-*/*');
      const [m] = await file.getMetadata();
      expect(m.size).toBe(String(data.length));
      expect(m.crc32c).toBe(crc(data));
      expect(gcs.activeUploads).toBe(0);
    });

    test('resumable save with chunkSize 256 KiB: 308 + Range after each chunk, final chunk has the total', async () => {
      const Q = 256 * 1024;
      const data = bytes(4 * Q + 123, 5);
      const from = gcs.requestLog.length;
      const file = bucket.file('resumable/chunked.bin');
      await file.save(data, { resumable: true, chunkSize: Q, metadata: { contentType: 'application/x-chunks' } });
      const puts = since(gcs, from).filter((r) => r.method === 'PUT');
      expect(puts.map((r) => [r.requestHeaders['content-range'], r.status, r.responseHeaders.range])).toEqual([
        [`bytes 0-${Q - 1}/*`, 308, `bytes=0-${Q - 1}`],
        [`bytes ${Q}-${2 * Q - 1}/*`, 308, `bytes=0-${2 * Q - 1}`],
        [`bytes ${2 * Q}-${3 * Q - 1}/*`, 308, `bytes=0-${3 * Q - 1}`],
        [`bytes ${3 * Q}-${4 * Q - 1}/*`, 308, `bytes=0-${4 * Q - 1}`],
        [`bytes ${4 * Q}-${4 * Q + 122}/${4 * Q + 123}`, 200, undefined],
      ]);
      const [m] = await file.getMetadata();
      expect(m).toMatchObject({
        size: String(data.length),
        md5Hash: md5(data),
        crc32c: crc(data),
        contentType: 'application/x-chunks',
      });
      expect((await file.download())[0].equals(data)).toBe(true);
    });

    test('chunks that are not 256 KiB multiples: only whole multiples persist, the SDK re-sends the rest', async () => {
      const Q = 256 * 1024;
      const chunkSize = Q + 1000;
      const data = bytes(3 * Q + 10, 6);
      const from = gcs.requestLog.length;
      const file = bucket.file('resumable/odd-chunks');
      await file.save(data, { resumable: true, chunkSize });
      const puts = since(gcs, from).filter((r) => r.method === 'PUT');
      expect(puts[0].requestHeaders['content-range']).toBe(`bytes 0-${chunkSize - 1}/*`);
      expect(puts[0].responseHeaders.range).toBe(`bytes=0-${Q - 1}`);
      expect(puts[1].requestHeaders['content-range']).toMatch(new RegExp(`^bytes ${Q}-`));
      expect(puts[puts.length - 1].status).toBe(200);
      expect((await file.download())[0].equals(data)).toBe(true);
    });

    test('interrupted resumable upload resumed with the session URI: status query `bytes */*`, then the rest', async () => {
      const Q = 256 * 1024;
      const data = bytes(2 * Q + 5000, 8);
      const file = bucket.file('resumable/resumed');
      const [uri] = await file.createResumableUpload();
      expect(uri).toMatch(new RegExp(`^${gcs.url}/upload/storage/v1/b/${bucketName}/o\\?.*upload_id=`));

      // First part: two full chunks, session left open (isPartialUpload).
      await new Promise<void>((resolve, reject) => {
        const ws = file.createWriteStream({ uri, chunkSize: Q, isPartialUpload: true, validation: false });
        ws.on('error', reject).on('finish', resolve);
        ws.end(data.subarray(0, 2 * Q));
      });
      expect((await file.exists())[0]).toBe(false);
      expect(gcs.activeUploads).toBeGreaterThan(0);

      // Resume: the SDK asks the server how far it got and skips that much of its input.
      const from = gcs.requestLog.length;
      await new Promise<void>((resolve, reject) => {
        const ws = file.createWriteStream({ uri, chunkSize: Q });
        ws.on('error', reject).on('finish', resolve);
        ws.end(data);
      });
      const log = since(gcs, from);
      expect(log[0].requestHeaders['content-range']).toBe('bytes */*');
      expect(log[0].status).toBe(308);
      expect(log[0].responseHeaders.range).toBe(`bytes=0-${2 * Q - 1}`);
      expect(log[1].requestHeaders['content-range']).toBe(`bytes ${2 * Q}-${data.length - 1}/${data.length}`);
      expect(log[1].status).toBe(200);
      const [m] = await file.getMetadata();
      expect(m.crc32c).toBe(crc(data));
      expect((await file.download())[0].equals(data)).toBe(true);
    });

    test('status query on a fresh session: 308 without Range; `bytes */N` finalises when N bytes are there', async () => {
      const Q = 256 * 1024;
      const data = bytes(Q, 9);
      const file = bucket.file('resumable/status');
      const [uri] = await file.createResumableUpload();

      const fresh = await rejectionOf(
        sdkRequest(storage, { method: 'PUT', uri, headers: { 'Content-Range': 'bytes */*', 'Content-Length': '0' } }),
      );
      expect(fresh.code).toBe(308); // not 2xx, so the generic request path reports it as an error
      expect(gcs.requestLog[gcs.requestLog.length - 1].responseHeaders.range).toBeUndefined();

      await new Promise<void>((resolve, reject) => {
        const ws = file.createWriteStream({ uri, chunkSize: Q, isPartialUpload: true, validation: false });
        ws.on('error', reject).on('finish', resolve);
        ws.end(data);
      });
      const done = await sdkRequest(storage, {
        method: 'PUT',
        uri,
        headers: { 'Content-Range': `bytes */${Q}`, 'Content-Length': '0' },
      });
      expect(done.status).toBe(200);
      expect(done.body).toMatchObject({ name: 'resumable/status', size: String(Q), crc32c: crc(data) });
      // A finished session keeps answering with the object.
      const again = await sdkRequest(storage, { method: 'PUT', uri, headers: { 'Content-Range': 'bytes */*' } });
      expect(again.body).toMatchObject({ name: 'resumable/status', size: String(Q) });
    });

    test('cancelling a session (DELETE on its URI) → 499, then the session is gone (404)', async () => {
      const file = bucket.file('resumable/cancelled');
      const [uri] = await file.createResumableUpload();
      const cancelled = await rejectionOf(sdkRequest(storage, { method: 'DELETE', uri }));
      expect(cancelled.code).toBe(499);
      const gone = await rejectionOf(
        sdkRequest(storage, { method: 'PUT', uri, headers: { 'Content-Range': 'bytes */*' } }),
      );
      expect(gone.code).toBe(404);
      expect((await file.exists())[0]).toBe(false);
    });

    test.each([
      ['multipart', false],
      ['resumable', true],
    ])('ifGenerationMatch=0 (%s): creates once, then 412 conditionNotMet', async (_label, resumable) => {
      const file = bucket.file(`create-only-${String(resumable)}`);
      await file.save('first', { resumable, preconditionOpts: { ifGenerationMatch: 0 } });
      const err = await rejectionOf(file.save('second', { resumable, preconditionOpts: { ifGenerationMatch: 0 } }));
      // Multipart: ApiError.code; resumable: the session POST fails and the SDK passes on gaxios' error (.status).
      const { code, status } = err as { code?: number; status?: number };
      expect(code ?? status).toBe(412);
      expect((await file.download())[0].toString()).toBe('first');
    });

    test('ifGenerationMatch=<current> overwrites; a stale generation → 412', async () => {
      const file = bucket.file('cas');
      await file.save('v1', { resumable: false });
      const [{ generation }] = await file.getMetadata();
      await file.save('v2', { resumable: false, preconditionOpts: { ifGenerationMatch: Number(generation) } });
      const err = await rejectionOf(
        file.save('v3', { resumable: false, preconditionOpts: { ifGenerationMatch: Number(generation) } }),
      );
      expect(err.code).toBe(412);
      expect(err.errors?.[0]).toMatchObject({ reason: 'conditionNotMet' });
      expect((await file.download())[0].toString()).toBe('v2');
    });

    test('empty object', async () => {
      const file = bucket.file('empty');
      await file.save(Buffer.alloc(0), { resumable: false });
      const [m] = await file.getMetadata();
      expect(m).toMatchObject({ size: '0', crc32c: 'AAAAAA==', md5Hash: '1B2M2Y8AsgTpgAmY7PhCfg==' });
      expect((await file.download())[0].length).toBe(0);
    });

    test('gzip: true stores contentEncoding gzip; download decompresses and still validates', async () => {
      const text = Buffer.from('compressible '.repeat(2000));
      const file = bucket.file('gz.txt');
      await file.save(text, { resumable: false, gzip: true });
      const [m] = await file.getMetadata();
      expect(m.contentEncoding).toBe('gzip');
      expect(Number(m.size)).toBeLessThan(text.length);
      const [got] = await file.download();
      expect(got.equals(text)).toBe(true);
      expect(gzipSync(text).length).toBeGreaterThan(0);
    });
  });

  describe('downloads', () => {
    const data = bytes(100_000, 10);
    let file: File;
    beforeAll(async () => {
      file = bucket.file('dl/data.bin');
      await file.save(data, { resumable: false });
    });

    test('full download validates crc32c (default) and md5 from x-goog-hash', async () => {
      const from = gcs.requestLog.length;
      expect((await file.download())[0].equals(data)).toBe(true);
      expect((await file.download({ validation: 'md5' }))[0].equals(data)).toBe(true);
      const get = since(gcs, from)[0];
      expect(get.url).toBe(`/storage/v1/b/${bucketName}/o/dl%2Fdata.bin?alt=media`);
      expect(get.status).toBe(200);
      expect(get.responseHeaders).toMatchObject({
        'x-goog-hash': `crc32c=${crc(data)},md5=${md5(data)}`,
        'x-goog-stored-content-encoding': 'identity',
        'x-goog-stored-content-length': String(data.length),
        'content-length': String(data.length),
      });
    });

    test.each([
      [0, 0],
      [0, 99],
      [1234, 5678],
      [99_999, 99_999],
      [50_000, 10_000_000],
    ])('download({ start: %i, end: %i }) → 206 with exactly those bytes', async (start, end) => {
      const from = gcs.requestLog.length;
      const [got] = await file.download({ start, end });
      expect(got.equals(data.subarray(start, end + 1))).toBe(true);
      const r = since(gcs, from)[0];
      expect(r.requestHeaders.range).toBe(`bytes=${start}-${end}`);
      expect(r.status).toBe(206);
      expect(r.responseHeaders['content-range']).toBe(
        `bytes ${start}-${Math.min(end, data.length - 1)}/${data.length}`,
      );
    });

    test('createReadStream: open-ended start, end only, and tail (end < 0)', async () => {
      expect((await collect(file.createReadStream({ start: 99_000 }))).equals(data.subarray(99_000))).toBe(true);
      expect((await collect(file.createReadStream({ end: 9 }))).equals(data.subarray(0, 10))).toBe(true);
      const from = gcs.requestLog.length;
      expect((await collect(file.createReadStream({ end: -10 }))).equals(data.subarray(-10))).toBe(true);
      expect(since(gcs, from)[0].requestHeaders.range).toBe('bytes=-10');
      expect((await collect(file.createReadStream({ start: 0 }))).equals(data)).toBe(true);
    });

    test('unsatisfiable range → 416, its message as plain text', async () => {
      const err = await rejectionOf(file.download({ start: data.length, end: data.length + 10 }));
      expect(err.code).toBe(416);
      expect(err.message).toBe('The requested range cannot be satisfied.');
      const r = gcs.requestLog[gcs.requestLog.length - 1];
      expect(r.responseHeaders['content-range']).toBe(`bytes */${data.length}`);
      expect(r.responseHeaders['content-type']).toBe('text/html; charset=UTF-8');
    });

    test('missing object → 404 ApiError for download, getMetadata and exists() false', async () => {
      const missing = bucket.file('dl/missing');
      const e1 = await rejectionOf(missing.download());
      expect(e1.code).toBe(404);
      // A download's error body is the message in plain text: no JSON, no reason.
      expect(e1.message).toBe(`No such object: ${bucketName}/dl/missing`);
      expect(e1.errors).toEqual([]);
      const e2 = await rejectionOf(missing.getMetadata());
      expect(e2.code).toBe(404);
      expect(e2.message).toBe(`No such object: ${bucketName}/dl/missing`);
      expect(e2.errors).toEqual([
        { message: `No such object: ${bucketName}/dl/missing`, domain: 'global', reason: 'notFound' },
      ]);
      expect((await missing.exists())[0]).toBe(false);
    });

    test('specific generation: current one reads, another one is 404', async () => {
      const [{ generation }] = await file.getMetadata();
      const [got] = await bucket.file('dl/data.bin', { generation: Number(generation) }).download();
      expect(got.equals(data)).toBe(true);
      const err = await rejectionOf(bucket.file('dl/data.bin', { generation: 1 }).download());
      expect(err.code).toBe(404);
    });

    test('mediaLink (/download/storage/v1/…) serves the bytes too', async () => {
      const [m] = await file.getMetadata();
      expect(m.mediaLink).toMatch(/\/download\/storage\/v1\//);
      const { body, status } = await sdkRequest(storage, { uri: m.mediaLink!, encoding: null } as Parameters<
        Storage['request']
      >[0]);
      expect(status).toBe(200);
      expect(body).toBeDefined();
    });
  });

  describe('listing', () => {
    let lb: ReturnType<Storage['bucket']>;
    const names = [
      'a.txt',
      'dir/x.txt',
      'dir/y.txt',
      'dir/sub/z.txt',
      'dir2/q.txt',
      'e/1',
      'e/2',
      'e/3',
      'f.txt',
      'g/h/i/j.txt',
    ];
    beforeAll(async () => {
      [lb] = await storage.createBucket(newBucketName());
      await Promise.all(names.map((n) => lb.file(n).save(n, { resumable: false })));
    });

    const filesOf = (files: File[]): string[] => files.map((f) => f.name);

    test('all objects in lexicographic order, with metadata', async () => {
      const [files] = await lb.getFiles();
      expect(filesOf(files)).toEqual([...names].sort());
      expect(files[0].metadata).toMatchObject({ kind: 'storage#object', name: 'a.txt', size: '5' });
    });

    test('prefix', async () => {
      const [files] = await lb.getFiles({ prefix: 'dir/' });
      expect(filesOf(files)).toEqual(['dir/sub/z.txt', 'dir/x.txt', 'dir/y.txt']);
    });

    test('delimiter rolls names up into prefixes', async () => {
      const [files, , resp] = await lb.getFiles({ delimiter: '/', autoPaginate: false });
      expect(filesOf(files)).toEqual(['a.txt', 'f.txt']);
      expect((resp as { prefixes?: string[] }).prefixes).toEqual(['dir/', 'dir2/', 'e/', 'g/']);
      const [sub, , subResp] = await lb.getFiles({ prefix: 'dir/', delimiter: '/', autoPaginate: false });
      expect(filesOf(sub)).toEqual(['dir/x.txt', 'dir/y.txt']);
      expect((subResp as { prefixes?: string[] }).prefixes).toEqual(['dir/sub/']);
    });

    test('maxResults pages with nextQuery; prefixes count toward the page', async () => {
      const seen: string[] = [];
      let query: Record<string, unknown> | null = { delimiter: '/', maxResults: 2, autoPaginate: false };
      let pages = 0;
      while (query) {
        const [files, next, resp]: [File[], Record<string, unknown> | null, unknown] = (await lb.getFiles(
          query,
        )) as unknown as [File[], Record<string, unknown> | null, unknown];
        const prefixes = (resp as { prefixes?: string[] }).prefixes ?? [];
        expect(files.length + prefixes.length).toBeLessThanOrEqual(2);
        seen.push(...filesOf(files), ...prefixes);
        query = next;
        pages++;
      }
      expect(pages).toBe(3);
      expect(seen.sort()).toEqual(['a.txt', 'dir/', 'dir2/', 'e/', 'f.txt', 'g/']);
    });

    test('startOffset / endOffset / matchGlob', async () => {
      const [range] = await lb.getFiles({ startOffset: 'dir/x', endOffset: 'e/3' });
      expect(filesOf(range)).toEqual(['dir/x.txt', 'dir/y.txt', 'dir2/q.txt', 'e/1', 'e/2']);
      const [glob] = await lb.getFiles({ matchGlob: '**/*.txt' });
      expect(filesOf(glob)).toEqual(names.filter((n) => n.endsWith('.txt')).sort());
      const [glob2] = await lb.getFiles({ matchGlob: 'dir*/*.txt' });
      expect(filesOf(glob2)).toEqual(['dir/x.txt', 'dir/y.txt', 'dir2/q.txt']);
      const [glob3] = await lb.getFiles({ matchGlob: 'e/[12]' });
      expect(filesOf(glob3)).toEqual(['e/1', 'e/2']);
      const [glob4] = await lb.getFiles({ matchGlob: '{a,f}.txt' });
      expect(filesOf(glob4)).toEqual(['a.txt', 'f.txt']);
    });

    test('includeTrailingDelimiter also returns objects named like a prefix', async () => {
      const [tb] = await storage.createBucket(newBucketName());
      await Promise.all(['p/', 'p/a', 'q'].map((n) => tb.file(n).save(n, { resumable: false })));
      const [plain, , r1] = await tb.getFiles({ delimiter: '/', autoPaginate: false });
      expect(filesOf(plain)).toEqual(['q']);
      expect((r1 as { prefixes?: string[] }).prefixes).toEqual(['p/']);
      const [withTrailing, , r2] = await tb.getFiles({
        delimiter: '/',
        includeTrailingDelimiter: true,
        autoPaginate: false,
      });
      expect(filesOf(withTrailing)).toEqual(['p/', 'q']);
      expect((r2 as { prefixes?: string[] }).prefixes).toEqual(['p/']);
    });

    test('empty result and missing prefix', async () => {
      const [files, next] = await lb.getFiles({ prefix: 'nothing/', autoPaginate: false });
      expect(files).toEqual([]);
      expect(next).toBeFalsy();
    });

    test('auto-pagination follows nextPageToken across > 3 pages (server page cap 3)', async () => {
      const small = await startGcsServer({ maxListPageSize: 3 });
      try {
        const s2 = new Storage({ apiEndpoint: small.url, projectId: 'test' });
        const [b2] = await s2.createBucket('paged');
        const many = Array.from({ length: 11 }, (_, i) => `obj-${String(i).padStart(2, '0')}`);
        await Promise.all(many.map((n) => b2.file(n).save(n, { resumable: false })));
        const from = small.requestLog.length;
        const [files] = await b2.getFiles();
        expect(filesOf(files)).toEqual(many);
        const lists = since(small, from).filter((r) => r.method === 'GET');
        expect(lists).toHaveLength(4);
        expect(lists.slice(1).every((r) => r.url.includes('pageToken='))).toBe(true);

        // The same through the stream API, and for buckets.
        const streamed: string[] = [];
        for await (const f of b2.getFilesStream()) streamed.push((f as File).name);
        expect(streamed).toEqual(many);
        for (const n of ['pb-1', 'pb-2', 'pb-3', 'pb-4', 'pb-5', 'pb-6', 'pb-7']) await s2.createBucket(n);
        const [buckets] = await s2.getBuckets({ prefix: 'pb-' });
        expect(buckets.map((b) => b.name)).toEqual(['pb-1', 'pb-2', 'pb-3', 'pb-4', 'pb-5', 'pb-6', 'pb-7']);
      } finally {
        await small.stop();
      }
    });
  });

  describe('delete, copy, rewrite, move, compose, patch', () => {
    test('delete: existing → gone; missing → 404 ApiError; ignoreNotFound', async () => {
      const file = bucket.file('del/me');
      await file.save('x', { resumable: false });
      await file.delete();
      expect((await file.exists())[0]).toBe(false);
      const err = await rejectionOf(file.delete());
      expect(err).toBeInstanceOf(ApiError);
      expect(err.code).toBe(404);
      expect(err.message).toBe(`No such object: ${bucketName}/del/me`);
      await file.delete({ ignoreNotFound: true });
    });

    test('delete with a stale ifGenerationMatch → 412', async () => {
      const file = bucket.file('del/cas');
      await file.save('x', { resumable: false });
      const err = await rejectionOf(file.delete({ ifGenerationMatch: 1 }));
      expect(err.code).toBe(412);
      expect((await file.exists())[0]).toBe(true);
    });

    test('copy (rewriteTo): same bytes and hashes, new generation, done in one call', async () => {
      const data = bytes(5000, 11);
      const src = bucket.file('cp/src');
      await src.save(data, { resumable: false, metadata: { contentType: 'text/x-src', metadata: { k: 'v' } } });
      const from = gcs.requestLog.length;
      const [dst, resp] = await src.copy('cp/dst');
      const log = since(gcs, from);
      expect(log).toHaveLength(1);
      expect(pathOf(log[0])).toBe(`/storage/v1/b/${bucketName}/o/cp%2Fsrc/rewriteTo/b/${bucketName}/o/cp%2Fdst`);
      expect(resp).toMatchObject({
        kind: 'storage#rewriteResponse',
        done: true,
        totalBytesRewritten: '5000',
        objectSize: '5000',
      });
      const [sm] = await src.getMetadata();
      const [dm] = await dst.getMetadata();
      expect(dm).toMatchObject({
        size: '5000',
        md5Hash: sm.md5Hash,
        crc32c: sm.crc32c,
        contentType: 'text/x-src',
        metadata: { k: 'v' },
      });
      expect(BigInt(dm.generation!) > BigInt(sm.generation!)).toBe(true);
      expect((await dst.download())[0].equals(data)).toBe(true);
    });

    test('copy to another bucket with metadata override', async () => {
      const [other] = await storage.createBucket(newBucketName());
      const src = bucket.file('cp/src2');
      await src.save('hello', { resumable: false });
      const [dst] = await src.copy(other.file('there'), { contentType: 'text/plain', metadata: { copied: 'yes' } });
      const [dm] = await dst.getMetadata();
      expect(dm).toMatchObject({
        bucket: other.name,
        name: 'there',
        contentType: 'text/plain',
        metadata: { copied: 'yes' },
      });
      expect((await dst.download())[0].toString()).toBe('hello');
    });

    test('copy of a missing source → 404; into a missing bucket → 404', async () => {
      const e1 = await rejectionOf(bucket.file('cp/none').copy('cp/x'));
      expect(e1.code).toBe(404);
      const src = bucket.file('cp/src3');
      await src.save('x', { resumable: false });
      const e2 = await rejectionOf(src.copy(storage.bucket(`${newBucketName()}-nope`).file('x')));
      expect(e2.code).toBe(404);
    });

    test('copyTo (SDK generic request) answers the object resource', async () => {
      const src = bucket.file('cp/legacy');
      await src.save('legacy', { resumable: false });
      const { body } = await sdkRequest(storage, {
        method: 'POST',
        uri: `/b/${bucketName}/o/${encodeURIComponent('cp/legacy')}/copyTo/b/${bucketName}/o/${encodeURIComponent('cp/legacy copy')}`,
        json: {},
      });
      expect(body).toMatchObject({ kind: 'storage#object', name: 'cp/legacy copy', size: '6' });
      expect((await bucket.file('cp/legacy copy').download())[0].toString()).toBe('legacy');
    });

    test('rename (copy + delete) and moveFileAtomic (moveTo)', async () => {
      const a = bucket.file('mv/a');
      await a.save('move me', { resumable: false });
      await a.rename('mv/b');
      const b = bucket.file('mv/b');
      expect((await a.exists())[0]).toBe(false);
      expect((await b.download())[0].toString()).toBe('move me');

      const from = gcs.requestLog.length;
      await b.moveFileAtomic('mv/c');
      const c = bucket.file('mv/c');
      expect(pathOf(since(gcs, from)[0])).toBe(`/storage/v1/b/${bucketName}/o/mv%2Fb/moveTo/o/mv%2Fc`);
      expect((await b.exists())[0]).toBe(false);
      expect((await c.download())[0].toString()).toBe('move me');
    });

    test('combine (compose): concatenation, crc32c, componentCount, no md5Hash; nested compose sums counts', async () => {
      const parts = [bytes(1000, 21), bytes(2000, 22), bytes(3000, 23)];
      const files = parts.map((_, i) => bucket.file(`cmp/part-${i}`));
      await Promise.all(files.map((f, i) => f.save(parts[i], { resumable: false })));
      const from = gcs.requestLog.length;
      const [combined] = await bucket.combine(files, 'cmp/all.bin');
      expect(pathOf(since(gcs, from)[0])).toBe(`/storage/v1/b/${bucketName}/o/cmp%2Fall.bin/compose`);
      const all = Buffer.concat(parts);
      const [m] = await combined.getMetadata();
      expect(m).toMatchObject({ size: String(all.length), crc32c: crc(all), componentCount: 3 });
      expect(m.md5Hash).toBeUndefined();
      expect((await combined.download())[0].equals(all)).toBe(true); // crc32c validation
      const md5Err = await rejectionOf(combined.download({ validation: 'md5' }));
      expect((md5Err as unknown as { code: string }).code).toBe('MD5_NOT_AVAILABLE');

      const [nested] = await bucket.combine([combined, files[0]], 'cmp/nested');
      const [nm] = await nested.getMetadata();
      expect(nm.componentCount).toBe(4);
      expect((await nested.download())[0].equals(Buffer.concat([all, parts[0]]))).toBe(true);
    });

    test('compose with a missing source → 404; more than 32 sources → 400', async () => {
      const e1 = await rejectionOf(bucket.combine(['cmp/part-0', 'cmp/nope'], 'cmp/bad'));
      expect(e1.code).toBe(404);
      const e2 = await rejectionOf(bucket.combine(Array(33).fill('cmp/part-0') as string[], 'cmp/bad'));
      expect(e2.code).toBe(400);
    });

    test('setMetadata (PATCH) merges custom metadata and bumps metageneration', async () => {
      const file = bucket.file('patch/me');
      await file.save('x', { resumable: false, metadata: { metadata: { a: '1', b: '2' } } });
      const [m] = await file.setMetadata({ contentType: 'text/x-patched', metadata: { b: null, c: '3' } });
      expect(m).toMatchObject({ contentType: 'text/x-patched', metageneration: '2', metadata: { a: '1', c: '3' } });
      expect(m.metadata).not.toHaveProperty('b');
    });
  });

  describe('object names', () => {
    const NAMES = [
      'with space.txt',
      'plus+sign',
      'percent%41literal',
      '100%',
      'hash#tag',
      'question?mark=1&x=2',
      'deep/dir/ structure /file',
      'ünïcödé/日本語/🙂.bin',
      'trailing/',
      'quote\'"<>|\\',
      '~!@$^*()[]{};:,',
      ' leading space',
    ];

    test.each(NAMES)('%p round-trips: upload, metadata, download, list, copy, delete', async (name) => {
      const data = Buffer.from(`content of ${name}`);
      const file = bucket.file(name);
      for (const resumable of [false, true]) {
        await file.save(data, { resumable });
        const [m] = await file.getMetadata();
        expect(m.name).toBe(name);
        expect(m.id).toBe(`${bucketName}/${name}/${m.generation}`);
        expect(m.selfLink).toBe(`${gcs.url}/storage/v1/b/${bucketName}/o/${encodeURIComponent(name)}`);
        expect((await file.download())[0].equals(data)).toBe(true);
      }
      const [listed] = await bucket.getFiles({ prefix: name });
      expect(listed.map((f) => f.name)).toContain(name);
      const [copy] = await file.copy(`${name}.copy`);
      expect((await copy.getMetadata())[0].name).toBe(`${name}.copy`);
      await copy.delete();
      await file.delete();
      expect((await file.exists())[0]).toBe(false);
    });

    test('the request path carries the name encoded exactly once', async () => {
      const name = 'a%2Fb c+d';
      const file = bucket.file(name);
      await file.save('x', { resumable: false });
      const from = gcs.requestLog.length;
      await file.getMetadata();
      expect(pathOf(since(gcs, from)[0])).toBe(`/storage/v1/b/${bucketName}/o/a%252Fb%20c%2Bd`);
      // and a different object from the one literally named "a/b c+d"
      expect((await bucket.file('a/b c+d').exists())[0]).toBe(false);
    });

    test('invalid names: empty after decoding / too long → 400', async () => {
      const e = await rejectionOf(bucket.file('x'.repeat(1025)).save('x', { resumable: false }));
      expect(e.code).toBe(400);
    });
  });
});

describe('server handle', () => {
  test('requests counts every request; unknown routes are 404 in the JSON error shape', async () => {
    const before = gcs.requests;
    const err = await rejectionOf(sdkRequest(storage, { uri: '/nothing/here' }));
    expect(err.code).toBe(404);
    expect(err.errors?.[0]).toMatchObject({ domain: 'global', reason: 'notFound' });
    expect(gcs.requests).toBe(before + 1);
  });

  test('STORAGE_EMULATOR_HOST recipe works too (JSON API without /storage/v1)', async () => {
    const prev = process.env.STORAGE_EMULATOR_HOST;
    process.env.STORAGE_EMULATOR_HOST = gcs.url;
    try {
      const s = new Storage({ projectId: 'test' });
      const [b] = await s.createBucket(newBucketName());
      await b.file('env/x').save('via env', { resumable: false });
      expect((await b.file('env/x').download())[0].toString()).toBe('via env');
      expect(gcs.requestLog[gcs.requestLog.length - 1].url).toBe(`/b/${b.name}/o/env%2Fx?alt=media`);
    } finally {
      if (prev === undefined) delete process.env.STORAGE_EMULATOR_HOST;
      else process.env.STORAGE_EMULATOR_HOST = prev;
    }
  });

  test('reset() empties the store', async () => {
    const other = await startGcsServer();
    try {
      const s = new Storage({ apiEndpoint: other.url, projectId: 'test' });
      await s.createBucket('to-reset');
      other.reset();
      expect((await s.bucket('to-reset').exists())[0]).toBe(false);
      expect(other.requestLog.length).toBe(1);
    } finally {
      await other.stop();
    }
  });
});

/** A plain HTTP request to a server, outside any SDK: status, headers and body text. */
async function raw(
  server: GcsServer,
  path: string,
  init: RequestInit = {},
): Promise<{ status: number; type: string | null; text: string; headers: Headers }> {
  const response = await fetch(`${server.url}${path}`, init);
  return {
    status: response.status,
    type: response.headers.get('content-type'),
    text: await response.text(),
    headers: response.headers,
  };
}

describe('as strict as GCS', () => {
  let bucketName: string;
  let bucket: ReturnType<Storage['bucket']>;
  beforeAll(async () => {
    bucketName = newBucketName();
    [bucket] = await storage.createBucket(bucketName);
  });

  describe('media download errors are plain text, JSON API errors JSON', () => {
    test.each([
      ['alt=media', (b: string, o: string) => `/storage/v1/b/${b}/o/${o}?alt=media`],
      ['/download/', (b: string, o: string) => `/download/storage/v1/b/${b}/o/${o}?alt=media`],
    ])('%s: missing object and missing bucket', async (_label, path) => {
      const object = await raw(gcs, path(bucketName, 'no%2Fsuch'));
      expect(object).toMatchObject({
        status: 404,
        type: 'text/html; charset=UTF-8',
        text: `No such object: ${bucketName}/no/such`,
      });
      const missingBucket = await raw(gcs, path('no-such-bucket-x', 'k'));
      expect(missingBucket).toMatchObject({
        status: 404,
        type: 'text/html; charset=UTF-8',
        text: 'The specified bucket does not exist.',
      });
      const metadata = await raw(gcs, `/storage/v1/b/${bucketName}/o/no%2Fsuch`);
      expect(metadata.type).toBe('application/json; charset=UTF-8');
      expect(JSON.parse(metadata.text)).toMatchObject({ error: { code: 404, errors: [{ reason: 'notFound' }] } });
    });
  });

  describe('rewrite takes several calls with a rewriteToken', () => {
    const data = bytes(100_000, 21);
    let src: File;
    beforeAll(async () => {
      src = bucket.file('rw/src');
      await src.save(data, { resumable: false });
    });
    const rewritePath = (to: string): string =>
      `/storage/v1/b/${bucketName}/o/rw%2Fsrc/rewriteTo/b/${bucketName}/o/${encodeURIComponent(to)}`;
    const rewrite = (to: string, query = ''): Promise<Awaited<ReturnType<typeof raw>>> =>
      raw(gcs, `${rewritePath(to)}${query}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{}',
      });

    test('the SDK copy follows the token: 32 KiB per call by default, the destination appears at the last', async () => {
      const from = gcs.requestLog.length;
      const [dst, resp] = await src.copy('rw/dst');
      const calls = since(gcs, from).filter((r) => pathOf(r).includes('/rewriteTo/'));
      expect(calls).toHaveLength(Math.ceil(data.length / 32_768));
      expect(calls[0].url).not.toContain('rewriteToken=');
      expect(calls.slice(1).every((r) => r.url.includes('rewriteToken='))).toBe(true);
      expect(resp).toMatchObject({ done: true, totalBytesRewritten: String(data.length) });
      expect((await dst.download())[0].equals(data)).toBe(true);
    });

    test('done:false answers carry progress and a token; the destination does not exist before the end', async () => {
      const first = JSON.parse((await rewrite('rw/partial')).text) as Record<string, unknown>;
      expect(first).toMatchObject({
        kind: 'storage#rewriteResponse',
        done: false,
        totalBytesRewritten: '32768',
        objectSize: String(data.length),
        rewriteToken: expect.any(String),
      });
      expect(first.resource).toBeUndefined();
      expect((await bucket.file('rw/partial').exists())[0]).toBe(false);
      // The generation read first is the one copied, even if the source changes meanwhile.
      await bucket.file('rw/src-changing').save(data, { resumable: false });
      let body = first;
      while (body.done !== true) {
        const next = await rewrite('rw/partial', `?rewriteToken=${encodeURIComponent(String(body.rewriteToken))}`);
        expect(next.status).toBe(200);
        body = JSON.parse(next.text) as Record<string, unknown>;
      }
      expect(body).toMatchObject({ totalBytesRewritten: String(data.length), resource: { name: 'rw/partial' } });
      expect((await bucket.file('rw/partial').download())[0].equals(data)).toBe(true);
    });

    test('a copy that changes its source mid-way still copies the generation it started from', async () => {
      const changing = bucket.file('rw/changing');
      await changing.save(data, { resumable: false });
      const path = `/storage/v1/b/${bucketName}/o/rw%2Fchanging/rewriteTo/b/${bucketName}/o/rw%2Fchanged`;
      const post = (query = '') =>
        raw(gcs, `${path}${query}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
      let body = JSON.parse((await post()).text) as Record<string, unknown>;
      await changing.save('overwritten', { resumable: false });
      while (body.done !== true) {
        body = JSON.parse((await post(`?rewriteToken=${encodeURIComponent(String(body.rewriteToken))}`)).text);
      }
      expect((await bucket.file('rw/changed').download())[0].equals(data)).toBe(true);
    });

    test('a bogus token, or one for another destination → 400 invalid', async () => {
      const bogus = await rewrite('rw/x', '?rewriteToken=not-a-token');
      expect(bogus.status).toBe(400);
      expect(JSON.parse(bogus.text)).toMatchObject({ error: { errors: [{ reason: 'invalid' }] } });
      const started = JSON.parse((await rewrite('rw/y')).text) as { rewriteToken: string };
      const elsewhere = await rewrite('rw/z', `?rewriteToken=${encodeURIComponent(started.rewriteToken)}`);
      expect(elsewhere.status).toBe(400);
      expect((await bucket.file('rw/z').exists())[0]).toBe(false);
    });

    test('maxBytesRewrittenPerCall must be a multiple of 1 MiB; it caps a call', async () => {
      for (const value of ['1000', '0', '1572864', 'x']) {
        expect((await rewrite('rw/m', `?maxBytesRewrittenPerCall=${value}`)).status).toBe(400);
      }
      const big = await startGcsServer({ rewriteBytesPerCall: 8 << 20 });
      try {
        const s2 = new Storage({ apiEndpoint: big.url, projectId: 'test' });
        const [b2] = await s2.createBucket('big-rewrite');
        const payload = bytes(3 << 20, 5);
        await b2.file('src').save(payload, { resumable: false });
        const from = big.requestLog.length;
        await b2.file('src').copy('one-call');
        expect(since(big, from)).toHaveLength(1);
        const path =
          '/storage/v1/b/big-rewrite/o/src/rewriteTo/b/big-rewrite/o/capped?maxBytesRewrittenPerCall=1048576';
        const progress: string[] = [];
        let body: Record<string, unknown> = {};
        while (body.done !== true) {
          const token = body.rewriteToken ? `&rewriteToken=${encodeURIComponent(String(body.rewriteToken))}` : '';
          body = JSON.parse((await raw(big, `${path}${token}`, { method: 'POST' })).text) as Record<string, unknown>;
          progress.push(String(body.totalBytesRewritten));
        }
        expect(progress).toEqual([String(1 << 20), String(2 << 20), String(3 << 20)]);
        expect((await b2.file('capped').download())[0].equals(payload)).toBe(true);
      } finally {
        await big.stop();
      }
    });
  });

  test('any range of an empty object → 416 with Content-Range bytes */0; no range → 200 empty', async () => {
    await bucket.file('empty').save(Buffer.alloc(0), { resumable: false });
    for (const range of ['bytes=0-', 'bytes=0-0', 'bytes=0-99', 'bytes=-1', 'bytes=5-']) {
      const answer = await raw(gcs, `/storage/v1/b/${bucketName}/o/empty?alt=media`, { headers: { range } });
      expect({ range, status: answer.status, contentRange: answer.headers.get('content-range') }).toEqual({
        range,
        status: 416,
        contentRange: 'bytes */0',
      });
    }
    const whole = await raw(gcs, `/storage/v1/b/${bucketName}/o/empty?alt=media`);
    expect(whole).toMatchObject({ status: 200, text: '' });
    expect((await bucket.file('empty').download())[0].length).toBe(0);
  });

  test('object names are exact: a trailing / in the path does not reach the object without it', async () => {
    await bucket.file('e').save('plain e', { resumable: false });
    for (const path of [`/storage/v1/b/${bucketName}/o/e/`, `/storage/v1/b/${bucketName}/o/e/?alt=media`]) {
      expect((await raw(gcs, path)).status).toBe(404);
    }
    expect((await raw(gcs, `/storage/v1/b/${bucketName}/o/e/`, { method: 'DELETE' })).status).toBe(404);
    expect((await bucket.file('e').exists())[0]).toBe(true);
    await bucket.file('e/').save('e with a slash', { resumable: false });
    expect((await bucket.file('e/').download())[0].toString()).toBe('e with a slash');
    expect((await bucket.file('e').download())[0].toString()).toBe('plain e');
  });

  describe('list pages can be short: a page looks at 50 names at most', () => {
    let lb: ReturnType<Storage['bucket']>;
    const deep = Array.from({ length: 120 }, (_, i) => `d/${String(i).padStart(3, '0')}`);
    const flat = Array.from({ length: 70 }, (_, i) => `f-${String(i).padStart(3, '0')}`);
    beforeAll(async () => {
      [lb] = await storage.createBucket(newBucketName());
      for (let i = 0; i < deep.length + flat.length; i += 40) {
        await Promise.all(
          [...deep, ...flat, 'z'].slice(i, i + 40).map((n) => lb.file(n).save(n, { resumable: false })),
        );
      }
    });

    test('a page holds fewer entries than maxResults and still has a nextPageToken', async () => {
      const [files, next] = await lb.getFiles({ autoPaginate: false, maxResults: 1000, prefix: 'f-' });
      expect(files.map((f) => f.name)).toEqual(flat.slice(0, 50));
      expect(next).toMatchObject({ pageToken: expect.any(String) });
    });

    test('a prefix that rolls up many names ends its page', async () => {
      const [files, next, response] = await lb.getFiles({ autoPaginate: false, maxResults: 1000, delimiter: '/' });
      expect(files).toEqual([]);
      expect((response as { prefixes?: string[] }).prefixes).toEqual(['d/']);
      expect(next).toMatchObject({ pageToken: expect.any(String) });
    });

    test('following the tokens returns every name exactly once, with and without a delimiter', async () => {
      // (With maxResults the SDK fetches one page only: that is its limit, not a page size.)
      const [all] = await lb.getFiles();
      expect(all.map((f) => f.name)).toEqual([...deep, ...flat, 'z']);
      const names: string[] = [];
      const prefixes: string[] = [];
      let query: GetFilesOptions | null = { autoPaginate: false, maxResults: 1000, delimiter: '/' };
      while (query) {
        const [files, next, response]: [File[], GetFilesOptions | null, unknown] = await lb.getFiles(query);
        names.push(...files.map((f) => f.name));
        prefixes.push(...((response as { prefixes?: string[] }).prefixes ?? []));
        query = next;
      }
      expect(prefixes).toEqual(['d/']);
      expect(names).toEqual([...flat, 'z']);
    });
  });

  describe('generation preconditions are int64 values', () => {
    let file: File;
    let generation: string;
    beforeAll(async () => {
      file = bucket.file('pre/obj');
      await file.save('v1', { resumable: false });
      generation = String((await file.getMetadata())[0].generation);
    });
    const metadataPath = () => `/storage/v1/b/${bucketName}/o/pre%2Fobj`;

    test('leading zeros name the same number', async () => {
      for (const query of [
        `ifGenerationMatch=00${generation}`,
        'ifMetagenerationMatch=01',
        `generation=0${generation}`,
        'ifGenerationNotMatch=01',
        'ifMetagenerationNotMatch=002',
      ]) {
        expect({ query, status: (await raw(gcs, `${metadataPath()}?${query}`)).status }).toEqual({
          query,
          status: 200,
        });
      }
      expect((await raw(gcs, `${metadataPath()}?ifMetagenerationNotMatch=0001`)).status).toBe(304);
      expect((await raw(gcs, `${metadataPath()}?ifGenerationMatch=0${Number(generation) + 1}`)).status).toBe(412);
    });

    test.each(['abc', '1.5', '', '0x10', '99999999999999999999'])(
      '%j is a 400 invalid, not a mismatch',
      async (value) => {
        for (const name of [
          'ifGenerationMatch',
          'ifGenerationNotMatch',
          'ifMetagenerationMatch',
          'ifMetagenerationNotMatch',
        ]) {
          const answer = await raw(gcs, `${metadataPath()}?${name}=${value}`);
          expect({ name, status: answer.status }).toEqual({ name, status: 400 });
          expect(JSON.parse(answer.text)).toMatchObject({ error: { errors: [{ reason: 'invalid' }] } });
        }
      },
    );

    test('writes and deletes read them the same way', async () => {
      const upload = await raw(
        gcs,
        `/upload/storage/v1/b/${bucketName}/o?uploadType=media&name=pre%2Fobj&ifGenerationMatch=0${generation}`,
        { method: 'POST', body: 'v2' },
      );
      expect(upload.status).toBe(200);
      const now = (JSON.parse(upload.text) as { generation: string }).generation;
      expect((await raw(gcs, `${metadataPath()}?ifGenerationMatch=x`, { method: 'DELETE' })).status).toBe(400);
      expect((await raw(gcs, `${metadataPath()}?ifGenerationMatch=0${now}`, { method: 'DELETE' })).status).toBe(204);
    });
  });
});
