/**
 * createWriter on all five backends: exact bytes for sizes around part boundaries, nothing visible
 * before close, abort and failures leave nothing behind (no object, no temp file, no multipart
 * upload), the Writable adapter, verify; and the writer's own rules (backpressure window, part
 * limit) against a recording sink.
 */
import { mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import * as path from 'path';
import { Readable } from 'stream';
import { pipeline } from 'stream/promises';

import { type ObjectStore, type ObjectWriter, crc32c, storeFor } from '../../lib';
import { PartWriter } from '../../lib/engine/writer';
import { cloudTargets, newBucketName, s3Target, stagedUploads } from '../cloud/targets';
import { expectSameBytes, rejectionOf, tempFilesIn, testBytes } from '../helpers/local';
import { describeWith, testWith } from '../helpers/tools';
import type { PartSink } from '../../lib/object-store';

interface Backend {
  name: string;
  store: ObjectStore;
  partSize: number;
  base: () => string;
  setUp(): Promise<void>;
  tearDown(): Promise<void>;
  leftovers(): Promise<string[]>;
}

const KiB = 1024;
const MiB = 1024 * KiB;
let scratch = '';

const local = (scheme: 'file' | 'direct'): Backend => ({
  name: `${scheme}://`,
  store: storeFor(`${scheme}:///`),
  partSize: 256 * KiB,
  base: () => `${scheme}://${scratch}/${scheme}/`,
  setUp: async () => undefined,
  tearDown: async () => undefined,
  leftovers: async () => tempFilesIn(path.join(scratch, scheme)),
});

const cloud: Backend[] = cloudTargets().map((target) => {
  const bucket = newBucketName('wr');
  const bucketUri = target.bucketUri(bucket);
  const store = target.store();
  return {
    name: target.name,
    store,
    // S3 refuses parts below 5 MiB (but the last).
    partSize: target.scheme === 's3' ? 5 * MiB : 256 * KiB,
    base: () => bucketUri,
    setUp: () => store.createBucket(bucketUri),
    tearDown: () => store.deleteBucket(bucketUri, { force: true }),
    leftovers: async () => {
      if (target.scheme !== 's3') return [];
      return stagedUploads(bucket);
    },
  };
});

beforeAll(() => {
  scratch = mkdtempSync(path.join(tmpdir(), 's3dlio-writer-'));
});
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

async function writeInPieces(writer: ObjectWriter, bytes: Uint8Array, piece = 100_003): Promise<void> {
  for (let at = 0; at < bytes.byteLength; at += piece) await writer.write(bytes.subarray(at, at + piece));
}

describe.each(
  [local('file'), local('direct'), ...cloud].map((backend) => [backend.name, backend] as [string, Backend]),
)('%s', (_name, backend) => {
  const P = backend.partSize;
  beforeAll(() => backend.setUp());
  afterAll(() => backend.tearDown());

  test.each([0, 1, 4095, 4097, P - 1, P, P + 1, 3 * P + 17])(
    '%i bytes written in odd pieces come back identical',
    async (size) => {
      const uri = `${backend.base()}w-${size}.bin`;
      const bytes = testBytes(size, size + 5);
      const writer = backend.store.createWriter(uri, { partSize: P, concurrency: 3, verify: true });
      await writeInPieces(writer, bytes);
      const result = await writer.close();
      expect(result).toMatchObject({ bytes: size, parts: Math.max(1, Math.ceil(size / P)) });
      expectSameBytes(await backend.store.get(uri), bytes);
      expect(await backend.leftovers()).toEqual([]);
    },
  );

  test('nothing is visible before close; abort leaves no object, temp file or upload', async () => {
    const uri = `${backend.base()}aborted.bin`;
    const writer = backend.store.createWriter(uri, { partSize: P });
    await writeInPieces(writer, testBytes(2 * P + 5, 1));
    expect(await backend.store.exists(uri)).toBe(false);
    await writer.abort();
    expect(await backend.store.exists(uri)).toBe(false);
    expect(await backend.leftovers()).toEqual([]);
    await expect(writer.write('more')).rejects.toMatchObject({ code: 'ERR_WRITER_CLOSED' });
  });

  test('the signal aborts: close rejects with ERR_ABORTED and nothing becomes visible', async () => {
    const uri = `${backend.base()}signalled.bin`;
    const controller = new AbortController();
    const writer = backend.store.createWriter(uri, { partSize: P, signal: controller.signal });
    await writeInPieces(writer, testBytes(P + 7, 2));
    controller.abort(new Error('user stop'));
    const error = await rejectionOf(writer.close());
    expect(error).toMatchObject({ code: 'ERR_ABORTED' });
    expect(await backend.store.exists(uri)).toBe(false);
    expect(await backend.leftovers()).toEqual([]);
  });

  test('the Writable adapter works with stream.pipeline', async () => {
    const uri = `${backend.base()}piped.bin`;
    const bytes = testBytes(2 * P + 333, 3);
    const writer = backend.store.createWriter(uri, { partSize: P });
    await pipeline(
      Readable.from([bytes.subarray(0, 1000), bytes.subarray(1000, P + 10), bytes.subarray(P + 10)]),
      writer.toWritable(),
    );
    expectSameBytes(await backend.store.get(uri), bytes);
  });
});

describe('writer rules, against a recording sink', () => {
  function recordingSink(options: { maxParts?: number; delayMs?: number } = {}) {
    const log = { inFlight: 0, maxInFlight: 0, parts: [] as number[], aborted: false, completed: false };
    const sink: PartSink = {
      maxParts: options.maxParts ?? 1000,
      minPartSize: 1,
      uploadPart: async (index) => {
        log.inFlight++;
        log.maxInFlight = Math.max(log.maxInFlight, log.inFlight);
        await new Promise((resolve) => setTimeout(resolve, options.delayMs ?? 5));
        log.inFlight--;
        log.parts.push(index);
      },
      complete: async () => {
        log.completed = true;
        return {};
      },
      putWhole: async () => ({}),
      abort: async () => {
        log.aborted = true;
      },
      storedSize: async () => 0,
    };
    return { sink, log };
  }

  test('at most `concurrency` parts are in flight: write() waits (bounded memory)', async () => {
    const { sink, log } = recordingSink({ delayMs: 20 });
    const writer = new PartWriter('mem://x', sink, { partSize: 10, concurrency: 3 });
    await writer.write(new Uint8Array(10 * 12));
    await writer.close();
    expect(log.maxInFlight).toBe(3);
    expect(log.parts.sort((a, b) => a - b)).toEqual(Array.from({ length: 12 }, (_, index) => index));
  });

  test('verify compares the stored CRC32C with the bytes written: a mismatch is ERR_VERIFY_FAILED', async () => {
    const { sink } = recordingSink();
    const data = new Uint8Array(25).fill(9);
    const right = Buffer.alloc(4);
    right.writeUInt32BE(crc32c(data));
    const honest = new PartWriter(
      'mem://x',
      {
        ...sink,
        storedSize: async () => 25,
        storedChecksum: async () => ({ algorithm: 'crc32c', base64: right.toString('base64') }),
      },
      { partSize: 10, verify: true },
    );
    await honest.write(data);
    await expect(honest.close()).resolves.toMatchObject({ bytes: 25 });
    const lying = new PartWriter(
      'mem://x',
      {
        ...sink,
        storedSize: async () => 25,
        storedChecksum: async () => ({ algorithm: 'crc32c', base64: 'AAAAAA==' }),
      },
      { partSize: 10, verify: true },
    );
    await lying.write(data);
    await expect(lying.close()).rejects.toMatchObject({ code: 'ERR_VERIFY_FAILED' });
  });

  test('verify compares the stored size with the bytes written: short or long by any amount is ERR_VERIFY_FAILED', async () => {
    const { sink } = recordingSink();
    // Short by a whole part is what a "successful" complete that lost a part looks like.
    for (const stored of [15, 24, 26, 0]) {
      const writer = new PartWriter(
        'mem://x',
        { ...sink, storedSize: async () => stored },
        { partSize: 10, verify: true },
      );
      await writer.write(new Uint8Array(25).fill(3));
      const error = await rejectionOf(writer.close());
      expect({ stored, code: error.code }).toEqual({ stored, code: 'ERR_VERIFY_FAILED' });
      expect(error.message).toContain(`25 bytes were written but the stored object has ${stored}`);
    }
    const exact = new PartWriter('mem://x', { ...sink, storedSize: async () => 25 }, { partSize: 10, verify: true });
    await exact.write(new Uint8Array(25));
    await expect(exact.close()).resolves.toMatchObject({ bytes: 25, storedBytes: 25 });
  });

  test('part accounting: every byte in exactly one part, at its offset, partSize each but the last, none empty', async () => {
    for (const sizes of [[7, 13, 1, 29], [10, 10, 10], [31], [9, 1, 1]]) {
      const parts: Array<{ index: number; offset: number; bytes: Uint8Array }> = [];
      const completed: Array<[number, number]> = [];
      const { sink } = recordingSink();
      const writer = new PartWriter(
        'mem://x',
        {
          ...sink,
          uploadPart: async (index, offset, bytes) => void parts.push({ index, offset, bytes: bytes.slice() }),
          complete: async (total, count) => {
            completed.push([total, count]);
            return {};
          },
        },
        { partSize: 10, concurrency: 2 },
      );
      const input = Buffer.concat(sizes.map((size, n) => Buffer.alloc(size, n + 1)));
      let at = 0;
      for (const size of sizes) {
        await writer.write(input.subarray(at, at + size));
        at += size;
      }
      const result = await writer.close();
      parts.sort((a, b) => a.index - b.index);
      const label = sizes.join('+');
      expect({ label, bytes: result.bytes, storedBytes: result.storedBytes }).toEqual({
        label,
        bytes: input.byteLength,
        storedBytes: input.byteLength,
      });
      if (parts.length === 0) {
        expect({ label, parts: result.parts }).toEqual({ label, parts: 1 }); // one whole put
        continue;
      }
      expect({ label, indexes: parts.map((part) => part.index) }).toEqual({ label, indexes: parts.map((_, i) => i) });
      expect({ label, offsets: parts.map((part) => part.offset) }).toEqual({
        label,
        offsets: parts.map((_, i) => i * 10),
      });
      const lengths = parts.map((part) => part.bytes.byteLength);
      expect({ label, full: lengths.slice(0, -1).every((length) => length === 10), last: lengths.at(-1)! > 0 }).toEqual(
        {
          label,
          full: true,
          last: true,
        },
      );
      expect(Buffer.concat(parts.map((part) => part.bytes)).equals(input)).toBe(true);
      expect({ label, completed, parts: result.parts }).toEqual({
        label,
        completed: [[input.byteLength, parts.length]],
        parts: parts.length,
      });
    }
  });

  test('exactly maxParts parts are allowed; one byte more is ERR_TOO_MANY_PARTS', async () => {
    const fits = recordingSink({ maxParts: 3 });
    const full = new PartWriter('mem://x', fits.sink, { partSize: 10 });
    await full.write(new Uint8Array(30));
    await expect(full.close()).resolves.toMatchObject({ parts: 3, bytes: 30 });
    const over = recordingSink({ maxParts: 3 });
    const writer = new PartWriter('mem://x', over.sink, { partSize: 10 });
    const error = await rejectionOf(
      (async () => {
        await writer.write(new Uint8Array(31));
        await writer.close();
      })(),
    );
    expect(error).toMatchObject({ code: 'ERR_TOO_MANY_PARTS' });
    expect(over.log.completed).toBe(false);
  });

  test('going past the backend part limit fails before the extra part, and aborts the upload', async () => {
    const { sink, log } = recordingSink({ maxParts: 3 });
    const writer = new PartWriter('mem://x', sink, { partSize: 10, concurrency: 2 });
    const error = await rejectionOf(writer.write(new Uint8Array(45)));
    expect(error).toMatchObject({ code: 'ERR_TOO_MANY_PARTS' });
    expect(log.aborted).toBe(true);
    expect(log.completed).toBe(false);
  });
});

describe.each(cloud.map((backend) => [backend.name, backend] as [string, Backend]))(
  '%s: put above multipartThreshold',
  (_name, backend) => {
    beforeAll(() => backend.setUp());
    afterAll(() => backend.tearDown());

    test('goes up in parts, byte-identical, nothing staged left over', async () => {
      const uri = `${backend.base()}big-put.bin`;
      const bytes = testBytes(11 * MiB + 3, 44);
      await backend.store.put(uri, bytes, { multipartThreshold: 6 * MiB, partSize: 5 * MiB, concurrency: 2 });
      expectSameBytes(await backend.store.get(uri), bytes);
      expect(await backend.leftovers()).toEqual([]);
    });
  },
);

testWith(
  ['moto'],
  'a cross-scheme copy is streamed through a writer (file:// → s3://, s3:// → direct://)',
  async () => {
    const s3 = cloud.find((backend) => backend.name.startsWith('s3')) as Backend;
    await s3.setUp();
    // Module functions use the default s3:// store, configured from the environment at first use.
    const saved = { ...process.env };
    Object.assign(process.env, {
      AWS_ENDPOINT_URL: process.env.S3DLIO_TEST_S3_ENDPOINT,
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
      AWS_REGION: 'us-east-1',
    });
    try {
      const bytes = testBytes(3 * MiB + 11, 45);
      const source = `file://${scratch}/xcopy/src.bin`;
      await storeFor('file:///').put(source, bytes);
      const { copy, get } = await import('../../lib');
      await copy(source, `${s3.base()}copied.bin`);
      await copy(`${s3.base()}copied.bin`, `direct://${scratch}/xcopy/back.bin`);
      expectSameBytes(await get(`direct://${scratch}/xcopy/back.bin`), bytes);
      await expect(copy(`${s3.base()}missing.bin`, `file://${scratch}/xcopy/none.bin`)).rejects.toMatchObject({
        code: 'ERR_NOT_FOUND',
        operation: 'copy',
      });
      expect(tempFilesIn(path.join(scratch, 'xcopy'))).toEqual([]);
    } finally {
      process.env = saved;
      await s3.tearDown();
    }
  },
);

describeWith(['zstd'], 'zstd compression (one frame per part, a .zst that the zstd CLI reads)', () => {
  test.each([local('file'), ...cloud.slice(0, 1)].map((backend) => [backend.name, backend] as [string, Backend]))(
    '%s: `.zst` appended, smaller when compressible, `zstd -d` gives back every byte',
    async (_name, backend) => {
      await backend.setUp();
      try {
        const { execFileSync } = await import('child_process');
        // Compressible: long runs of a few patterns.
        const bytes = new Uint8Array(3 * backend.partSize + 1234).map((_, index) => (index >> 10) % 7);
        const writer = backend.store.createWriter(`${backend.base()}data.bin`, {
          partSize: backend.partSize,
          compression: 'zstd',
        });
        await writeInPieces(writer, bytes);
        const result = await writer.close();
        expect(result.uri).toBe(`${backend.base()}data.bin.zst`);
        expect(result.bytes).toBe(bytes.byteLength);
        expect(result.storedBytes).toBeLessThan(bytes.byteLength / 10);
        const stored = await backend.store.get(result.uri);
        expect(stored.byteLength).toBe(result.storedBytes);
        // An independent decoder: the zstd command-line tool (Debian package `zstd`).
        const decoded = execFileSync('zstd', ['-d', '-c'], { input: stored, maxBuffer: 256 * 1024 * 1024 });
        expectSameBytes(decoded, bytes);
      } finally {
        await backend.tearDown();
      }
    },
  );

  test('part sizes outside a backend limits are refused up front (S3: 5 MiB to 5 GiB)', () => {
    // Refused before any request: no server is needed.
    const s3 = s3Target().store();
    expect(() => s3.createWriter('s3://some-bucket/x', { partSize: 4 * MiB })).toThrow(/below this backend's minimum/);
    expect(() => s3.createWriter('s3://some-bucket/x', { partSize: 6 * 1024 * MiB })).toThrow(
      /above this backend's maximum/,
    );
    expect(() => storeFor('direct:///').createWriter(`direct://${scratch}/x`, { partSize: 4097 })).toThrow(
      /multiple of 4096/,
    );
  });

  test('compression options are validated', () => {
    const store = storeFor('file:///');
    expect(() => store.createWriter(`file://${scratch}/x`, { compression: 'lz4' as 'zstd' })).toThrow(/none, zstd/);
    expect(() => store.createWriter(`file://${scratch}/x`, { compression: 'zstd', compressionLevel: 30 })).toThrow(
      /1 to 19/,
    );
  });
});
