/**
 * A response body shorter than what was announced is an error (ERR_TRUNCATED_BODY), never short
 * data, whatever announced it: the Content-Length, or the exact place a range was asked for when
 * the answer has no Content-Length (chunked). First the body reader on its own, with streams that
 * end cleanly (which a socket cut mid-body never does: the HTTP client reports that earlier), then
 * end to end against a server that answers ranges with chunked bodies.
 */
import { createServer, type Server } from 'http';
import type { AddressInfo } from 'net';
import { Readable } from 'stream';

import { storeFor } from '../../lib';
import { S3dlioError } from '../../lib/errors';
import {
  TruncatedBodyError,
  lengthFromContentRange,
  readBody,
  totalFromContentRange,
} from '../../lib/backends/cloud/body';
import { expectSameBytes, rejectionOf, testBytes } from '../helpers/local';

/** A stream that yields `chunks` and then ends cleanly (or fails with `error`). */
function bodyOf(chunks: Uint8Array[], error?: Error): AsyncIterable<Uint8Array> {
  return (async function* () {
    for (const chunk of chunks) yield chunk;
    if (error) throw error;
  })();
}

const bytes = (length: number, seed = 1): Uint8Array => testBytes(length, seed);

describe('readBody: the length a body must have', () => {
  test('a body that ends cleanly before its Content-Length: ERR_TRUNCATED_BODY naming both lengths', async () => {
    for (const [sent, announced] of [
      [0, 1],
      [99, 100],
      [1, 1000],
    ]) {
      const error = await rejectionOf(readBody(bodyOf(sent ? [bytes(sent)] : []), announced));
      expect(error).toBeInstanceOf(TruncatedBodyError);
      expect(error).toMatchObject({ code: 'ERR_TRUNCATED_BODY' });
      expect(error.message).toBe(`the response body ended after ${sent} of ${announced} bytes`);
    }
  });

  test('the length may be known only once the headers are in (a function), checked the same way', async () => {
    let length: number | undefined;
    const body = (async function* () {
      length = 300; // the driver learns it from the response, before the first chunk
      yield bytes(100);
      yield bytes(100);
    })();
    await expect(readBody(body, () => length)).rejects.toMatchObject({
      code: 'ERR_TRUNCATED_BODY',
      message: 'the response body ended after 200 of 300 bytes',
    });
  });

  test('a body longer than its Content-Length is an error too, not a short body', async () => {
    const error = await rejectionOf(readBody(bodyOf([bytes(60), bytes(60)]), 100));
    expect(error).not.toBeInstanceOf(TruncatedBodyError);
    expect(error.message).toMatch(/longer than its Content-Length \(100\)/);
    const oneChunk = await rejectionOf(readBody(bodyOf([bytes(10)]), 5));
    expect(oneChunk).not.toBeInstanceOf(TruncatedBodyError);
    expect(oneChunk.message).toContain('longer than its Content-Length (5)');
  });

  test('a library error from the stream passes through as it is, even before the announced length', async () => {
    const ours = new S3dlioError('ERR_TARGET_TOO_SMALL', 'getInto: no room');
    expect(await rejectionOf(readBody(bodyOf([bytes(2)], ours), 5))).toBe(ours);
  });

  test('a stream that fails before the announced length: ERR_TRUNCATED_BODY with the stream’s error as cause', async () => {
    const reset = Object.assign(new Error('aborted'), { code: 'ECONNRESET' });
    const error = await rejectionOf(readBody(bodyOf([bytes(10)], reset), 50));
    expect(error).toMatchObject({
      code: 'ERR_TRUNCATED_BODY',
      message: 'the response body ended after 10 of 50 bytes',
    });
    expect(error.cause).toBe(reset);
  });

  test('exactly the announced length, in any number of chunks: every byte, in order', async () => {
    const data = bytes(1000, 7);
    const chunks = [data.subarray(0, 1), data.subarray(1, 500), data.subarray(500, 500), data.subarray(500)];
    expectSameBytes(await readBody(bodyOf(chunks), 1000), data);
    expectSameBytes(await readBody(bodyOf([]), 0), new Uint8Array(0));
  });

  test('no length announced and no place given: whatever arrives is the body', async () => {
    const data = bytes(333, 3);
    expectSameBytes(await readBody(bodyOf([data.subarray(0, 100), data.subarray(100)])), data);
  });
});

describe('readBody: a body placed where its range was asked for', () => {
  test('without a Content-Length, the place sets the length: a shorter body is ERR_TRUNCATED_BODY', async () => {
    for (const sent of [0, 1, 99]) {
      const place = new Uint8Array(100);
      const error = await rejectionOf(readBody(bodyOf(sent ? [bytes(sent)] : []), undefined, undefined, () => place));
      expect(error).toMatchObject({
        code: 'ERR_TRUNCATED_BODY',
        message: `the response body ended after ${sent} of 100 bytes`,
      });
    }
  });

  test('a body that fills its place is written there, no copy', async () => {
    const place = new Uint8Array(300);
    const data = bytes(100, 5);
    const result = await readBody(bodyOf([data]), undefined, undefined, () => place.subarray(100, 200));
    expect(result.buffer).toBe(place.buffer);
    expect(result.byteOffset).toBe(100);
    expectSameBytes(result, data);
    expectSameBytes(place.subarray(100, 200), data);
  });

  test('a longer body, or a Content-Length other than the place, is refused', async () => {
    await expect(readBody(bodyOf([bytes(101)]), undefined, undefined, () => new Uint8Array(100))).rejects.toThrow(
      /longer than its Content-Length \(100\)/,
    );
    await expect(readBody(bodyOf([bytes(90)]), 90, undefined, () => new Uint8Array(100))).rejects.toThrow(
      'the response has 90 bytes where 100 were asked for',
    );
    await expect(readBody(bodyOf([bytes(1)]), 1, undefined, () => new Uint8Array(2))).rejects.toThrow(
      'the response has 1 bytes where 2 were asked for',
    );
  });

  test('the place is asked for once, whatever the number of chunks', async () => {
    const data = bytes(300, 9);
    const places: Uint8Array[] = [];
    const place = (): Uint8Array => {
      places.push(new Uint8Array(300));
      return places[places.length - 1];
    };
    const result = await readBody(
      bodyOf([data.subarray(0, 100), data.subarray(100, 200), data.subarray(200)]),
      300,
      undefined,
      place,
    );
    expect(places).toHaveLength(1);
    expect(result.buffer).toBe(places[0].buffer);
    expectSameBytes(result, data);
  });

  test('an empty place and an empty body: zero bytes, no error', async () => {
    const place = new Uint8Array(0);
    expect((await readBody(bodyOf([]), undefined, undefined, () => place)).byteLength).toBe(0);
    expect((await readBody(bodyOf([]), 0, undefined, () => place)).byteLength).toBe(0);
  });

  test('without a Content-Length, a stream failing short of its place is ERR_TRUNCATED_BODY with the failure as cause', async () => {
    const reset = Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
    const error = await rejectionOf(
      readBody(bodyOf([bytes(30)], reset), undefined, undefined, () => new Uint8Array(100)),
    );
    expect(error).toMatchObject({
      code: 'ERR_TRUNCATED_BODY',
      message: 'the response body ended after 30 of 100 bytes',
    });
    expect(error.cause).toBe(reset);
  });

  test('a stream failing before its first chunk, with a length announced: ERR_TRUNCATED_BODY after 0 bytes', async () => {
    const reset = Object.assign(new Error('aborted'), { code: 'ECONNRESET' });
    const error = await rejectionOf(readBody(bodyOf([], reset), 10));
    expect(error).toMatchObject({ code: 'ERR_TRUNCATED_BODY', message: 'the response body ended after 0 of 10 bytes' });
    // Without any length known, the failure is the stream's own.
    expect(await rejectionOf(readBody(bodyOf([bytes(3)], reset)))).toBe(reset);
  });

  test('the error is named for what it is, and has a cause only when there was one', async () => {
    const error = new TruncatedBodyError(1, 2);
    expect(error.name).toBe('TruncatedBodyError');
    expect('cause' in error).toBe(false);
    expect(new TruncatedBodyError(1, 2, 'why').cause).toBe('why');
  });

  test('an aborted signal stops the read with its reason', async () => {
    const controller = new AbortController();
    const reason = new Error('stop');
    const stalled = new Readable({ read: () => undefined });
    stalled.push(bytes(10));
    const pending = readBody(stalled, 100, controller.signal);
    controller.abort(reason);
    await expect(pending).rejects.toBe(reason);
    expect(stalled.destroyed).toBe(true);
  });
});

describe('Content-Range: the object size a ranged answer announces', () => {
  test.each<[string | undefined, number | undefined]>([
    ['bytes 0-99/1000', 1000],
    ['bytes 900-999/1000', 1000],
    ['bytes 0-0/1', 1],
    ['bytes */1000', 1000],
    ['bytes 0-99/1000 ', 1000],
    ['bytes 0-99/*', undefined],
    ['', undefined],
    [undefined, undefined],
    ['bytes 0-99/1000x', undefined],
    ['bytes 0-99/12345678901', 12345678901],
    ['bytes 0-99/1000  ', 1000],
    ['bytes 0-99/1000 x', undefined],
    ['bytes 0-99/', undefined],
  ])('%p → %p', (header, total) => {
    expect(totalFromContentRange(header)).toBe(total);
  });

  test.each<[string | undefined, number | undefined]>([
    ['bytes 0-99/1000', 100],
    ['bytes 900-999/1000', 100],
    ['bytes 5-5/10', 1],
    ['bytes 0-99/*', 100],
    [' bytes 0-99/1000 ', 100],
    ['bytes */1000', undefined],
    ['bytes 99-0/1000', undefined],
    ['bytes 0-99', undefined],
    ['', undefined],
    [undefined, undefined],
    ['bytes 100-199/*', 100],
    ['  bytes   0-0/1  ', 1],
    ['BYTES 5-14/20', 10],
    ['bytes 1000000-1999999/5000000', 1000000],
    ['xbytes 100-199/1000', undefined],
    ['bytes 100-199/1000x', undefined],
    ['bytes 200-199/1000', undefined],
  ])('the span of %p is %p bytes', (header, length) => {
    expect(lengthFromContentRange(header)).toBe(length);
  });
});

describe('end to end: an S3-speaking server answering ranges with chunked bodies', () => {
  const object = testBytes(256 * 1024, 31);
  let server: Server;
  let endpoint: string;
  /** Bytes left out of the range that starts at this offset (no Content-Length says so). */
  let shortAt: { start: number; missing: number } | undefined;
  /** Answer every GET with the whole object (200, Content-Length), as a server without range support. */
  let ignoreRange = false;
  let gets = 0;

  beforeAll(async () => {
    server = createServer((req, res) => {
      if (req.method !== 'GET' || req.url?.split('?')[0] !== '/bucket/obj.bin') {
        res.writeHead(404, { 'Content-Type': 'application/xml' }).end('<Error><Code>NoSuchKey</Code></Error>');
        return;
      }
      gets++;
      if (ignoreRange) {
        res.writeHead(200, { 'Content-Length': object.byteLength, ETag: '"v1"' }).end(Buffer.from(object));
        return;
      }
      const range = /^bytes=(\d+)-(\d*)$/.exec(String(req.headers.range ?? ''));
      const start = range ? Number(range[1]) : 0;
      const end = range && range[2] ? Math.min(Number(range[2]), object.byteLength - 1) : object.byteLength - 1;
      const missing = shortAt?.start === start ? shortAt.missing : 0;
      // No Content-Length: Node sends the body chunked, and only Content-Range tells its size.
      res.writeHead(range ? 206 : 200, {
        'Content-Type': 'application/octet-stream',
        ETag: '"v1"',
        ...(range && { 'Content-Range': `bytes ${start}-${end}/${object.byteLength}` }),
      });
      res.end(Buffer.from(object.subarray(start, end + 1 - missing)));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const store = () =>
    storeFor('s3://', {
      endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
      retryBaseDelayMs: 1,
      maxAttempts: 2,
    });
  const split = { rangeThreshold: 64 * 1024, chunkSize: 64 * 1024, concurrency: 2 };

  test('whole bodies: the object is read in ranges and comes back whole', async () => {
    shortAt = undefined;
    expectSameBytes(await store().get('s3://bucket/obj.bin', split), object);
    expectSameBytes(
      await store().getRange('s3://bucket/obj.bin', 1000, 200_000, split),
      object.subarray(1000, 201_000),
    );
  });

  test.each([
    ['a middle range one byte short', 128 * 1024, 1],
    ['the last range half missing', 192 * 1024, 32 * 1024],
    ['the first range short', 0, 10],
  ])('%s: ERR_TRUNCATED_BODY after the retries, never short or unwritten data', async (_label, start, missing) => {
    shortAt = { start, missing };
    gets = 0;
    const error = await rejectionOf(store().get('s3://bucket/obj.bin', split));
    expect(error).toMatchObject({ code: 'ERR_TRUNCATED_BODY', operation: 'get' });
    expect(error.message).toMatch(/ended after \d+ of \d+ bytes/);
    expect(gets).toBeGreaterThanOrEqual(2); // the short range was tried again
    const into = new Uint8Array(object.byteLength);
    await expect(store().getInto('s3://bucket/obj.bin', into, 0, split)).rejects.toMatchObject({
      code: 'ERR_TRUNCATED_BODY',
    });
  });

  test('one ranged GET (no RangeEngine) answered chunked and short: ERR_TRUNCATED_BODY, from its Content-Range', async () => {
    shortAt = { start: 1000, missing: 1 };
    await expect(store().getRange('s3://bucket/obj.bin', 1000, 5000, { rangeThreshold: 0 })).rejects.toMatchObject({
      code: 'ERR_TRUNCATED_BODY',
      message: expect.stringMatching(/ended after 4999 of 5000 bytes/),
    });
    shortAt = undefined;
    expectSameBytes(
      await store().getRange('s3://bucket/obj.bin', 1000, 5000, { rangeThreshold: 0 }),
      object.subarray(1000, 6000),
    );
  });

  test('a server that ignores Range (200 and the whole object): an error, never the wrong bytes in place', async () => {
    shortAt = undefined;
    ignoreRange = true;
    try {
      for (const read of [
        () => store().get('s3://bucket/obj.bin', split),
        () => store().getRange('s3://bucket/obj.bin', 1000, 200_000, split),
        () => store().getInto('s3://bucket/obj.bin', new Uint8Array(object.byteLength), 0, split),
      ]) {
        const error = await rejectionOf(read());
        expect(error).toMatchObject({ code: 'ERR_CLOUD' });
        expect(error.message).toMatch(/the response has 262144 bytes where 65536 were asked for/);
      }
      // Without ranges, the whole object is what was asked for.
      expectSameBytes(await store().get('s3://bucket/obj.bin', { rangeThreshold: 0 }), object);
    } finally {
      ignoreRange = false;
    }
  });
});
