/**
 * The streaming writer over an in-memory part sink that records what it is asked to do: which
 * requests a write becomes (one request or parts, never both), when the stored object is checked,
 * which error later calls get after a failure or an abort, and what zstd stores for nothing.
 * Backend sinks are tested against real servers elsewhere; this pins the writer's own decisions.
 */
import { PartWriter, writerUri } from '../../lib/engine/writer';
import { rejectionOf, thrownBy } from '../helpers/local';
import type { PartSink } from '../../lib/object-store';

const URI = 'mem://bucket/object';

/** A sink keeping the object in memory and a log of every call. */
class RecordingSink implements PartSink {
  maxParts = 100;
  recyclesParts = false;
  /** The memory each part was handed in, by index. */
  readonly partBuffers: ArrayBufferLike[] = [];
  readonly minPartSize = 1;
  readonly calls: string[] = [];
  readonly parts = new Map<number, Uint8Array>();
  stored: Uint8Array | undefined;
  /** Makes uploadPart reject with this. */
  partFailure: Error | undefined;
  /** Makes storedSize answer this instead of the real size. */
  reportedSize: number | undefined;

  async uploadPart(index: number, _offset: number, bytes: Uint8Array): Promise<void> {
    this.calls.push(`uploadPart ${index} ${bytes.byteLength}`);
    this.partBuffers[index] = bytes.buffer;
    if (this.partFailure) throw this.partFailure;
    this.parts.set(index, Uint8Array.from(bytes));
  }

  async complete(totalBytes: number, parts: number): Promise<{ etag?: string }> {
    this.calls.push(`complete ${totalBytes} ${parts}`);
    this.stored = Buffer.concat([...this.parts.entries()].sort(([a], [b]) => a - b).map(([, bytes]) => bytes));
    return { etag: 'multi' };
  }

  async putWhole(bytes: Uint8Array): Promise<{ etag?: string }> {
    this.calls.push(`putWhole ${bytes.byteLength}`);
    this.stored = Uint8Array.from(bytes);
    return { etag: 'whole' };
  }

  async abort(): Promise<void> {
    this.calls.push('abort');
  }

  async storedSize(): Promise<number> {
    this.calls.push('storedSize');
    return this.reportedSize ?? this.stored?.byteLength ?? 0;
  }
}

function writer(sink: RecordingSink, options: ConstructorParameters<typeof PartWriter>[2] = {}): PartWriter {
  return new PartWriter(URI, sink, { partSize: 8, ...options });
}

describe('one request or parts', () => {
  test('less than a part is one putWhole: no part, no completion', async () => {
    const sink = new RecordingSink();
    const w = writer(sink);
    await w.write('hello');
    await expect(w.close()).resolves.toEqual({ uri: URI, bytes: 5, storedBytes: 5, parts: 1, etag: 'whole' });
    expect(sink.calls).toEqual(['putWhole 5']);
  });

  test('nothing written is a putWhole of zero bytes', async () => {
    const sink = new RecordingSink();
    await expect(writer(sink).close()).resolves.toMatchObject({ bytes: 0, parts: 1 });
    expect(sink.calls).toEqual(['putWhole 0']);
  });

  test('a full part goes out as part 0; the rest as the last part, then one completion', async () => {
    const sink = new RecordingSink();
    const w = writer(sink);
    await w.write('0123456789ab');
    await expect(w.close()).resolves.toMatchObject({ bytes: 12, parts: 2, etag: 'multi' });
    expect(sink.calls).toEqual(['uploadPart 0 8', 'uploadPart 1 4', 'complete 12 2']);
    expect(Buffer.from(sink.stored!).toString()).toBe('0123456789ab');
  });
});

describe('parts', () => {
  test('maxParts parts fit; one byte more is ERR_TOO_MANY_PARTS, and the upload is cancelled', async () => {
    const fits = new RecordingSink();
    fits.maxParts = 2;
    const w = writer(fits);
    await w.write(new Uint8Array(16));
    await expect(w.close()).resolves.toMatchObject({ parts: 2 });

    const over = new RecordingSink();
    over.maxParts = 2;
    const w2 = writer(over);
    const error = await rejectionOf(
      (async () => {
        await w2.write(new Uint8Array(17));
        await w2.close();
      })(),
    );
    expect(error).toMatchObject({ code: 'ERR_TOO_MANY_PARTS', uri: URI });
    expect(over.calls).toContain('abort');
    expect(over.calls.filter((c) => c.startsWith('complete'))).toEqual([]);
  });

  test('a sink that recycles parts gets its earlier part memory back; one that does not never does', async () => {
    for (const recycles of [true, false]) {
      const sink = new RecordingSink();
      sink.recyclesParts = recycles;
      const w = writer(sink, { concurrency: 1 });
      for (let i = 0; i < 4; i++) await w.write(new Uint8Array(8).fill(i));
      await w.close();
      expect(sink.partBuffers).toHaveLength(4);
      expect(new Set(sink.partBuffers).size).toBe(recycles ? 1 : 4);
      expect([...sink.stored!]).toEqual([0, 1, 2, 3].flatMap((i) => Array(8).fill(i)));
    }
  });
});

describe('options, checked before anything starts', () => {
  /** A sink with these limits. */
  const limited = (limits: Partial<Pick<PartSink, 'maxPartSize' | 'partSizeMultiple'>> & { minPartSize?: number }) =>
    Object.assign(new RecordingSink(), limits);

  test.each<[string, () => PartWriter, string, RegExp]>([
    [
      'an unknown key',
      () => writer(new RecordingSink(), { partsize: 8 } as never),
      'ERR_INVALID_ARG_VALUE',
      /`partsize` in `options` of createWriter \(did you mean `partSize`\?\)/,
    ],
    ['a part size of 0', () => writer(new RecordingSink(), { partSize: 0 }), 'ERR_OUT_OF_RANGE', /`options\.partSize`/],
    [
      'a part size below the backend minimum',
      () => writer(limited({ minPartSize: 16 })),
      'ERR_OUT_OF_RANGE',
      /minimum of 16 bytes for `options\.partSize` but received 8/,
    ],
    [
      'a part size above the backend maximum',
      () => writer(limited({ maxPartSize: 7 })),
      'ERR_OUT_OF_RANGE',
      /maximum of 7 bytes for `options\.partSize` but received 8/,
    ],
    [
      'a part size larger than a Buffer can be',
      () => writer(new RecordingSink(), { partSize: 2 ** 53 - 1 }),
      'ERR_OUT_OF_RANGE',
      /an integer up to \d+ for `options\.partSize`/,
    ],
    [
      'a part size off the backend multiple',
      () => writer(limited({ partSizeMultiple: 3 })),
      'ERR_OUT_OF_RANGE',
      /a multiple of 3 bytes here for `options\.partSize` but received 8/,
    ],
    [
      'a concurrency of 0',
      () => writer(new RecordingSink(), { concurrency: 0 }),
      'ERR_OUT_OF_RANGE',
      /`options\.concurrency`/,
    ],
    [
      'an unknown compression',
      () => writer(new RecordingSink(), { compression: 'gzip' as never }),
      'ERR_INVALID_ARG_VALUE',
      /`options\.compression`/,
    ],
    [
      'a compression level of 20',
      () => writer(new RecordingSink(), { compression: 'zstd', compressionLevel: 20 }),
      'ERR_OUT_OF_RANGE',
      /`options\.compressionLevel`/,
    ],
  ])('%s: %s, named', (_label, make, code, message) => {
    const error = thrownBy(make);
    expect(error).toMatchObject({ code });
    expect(error.message).toMatch(message);
  });

  test('the limits themselves are accepted: the minimum, the maximum, a multiple', async () => {
    for (const sink of [limited({ minPartSize: 8 }), limited({ maxPartSize: 8 }), limited({ partSizeMultiple: 4 })]) {
      const w = writer(sink);
      await w.write('0123456789');
      expect(await w.close()).toMatchObject({ bytes: 10, parts: 2 });
    }
  });

  test('compressionLevel is checked without zstd too: a bad value is never ignored', () => {
    expect(() => writer(new RecordingSink(), { compressionLevel: 3 })).not.toThrow();
    expect(thrownBy(() => writer(new RecordingSink(), { compressionLevel: 0 }))).toMatchObject({
      code: 'ERR_OUT_OF_RANGE',
      message: expect.stringContaining('options.compressionLevel'),
    });
  });

  test('with zstd the object name gets .zst, once', () => {
    expect(writerUri('s3://b/k', { compression: 'zstd' })).toBe('s3://b/k.zst');
    expect(writerUri('s3://b/k.zst', { compression: 'zstd' })).toBe('s3://b/k.zst');
    expect(writerUri('s3://b/.zst/k', { compression: 'zstd' })).toBe('s3://b/.zst/k.zst');
    expect(writerUri('s3://b/k', { compression: 'none' })).toBe('s3://b/k');
    expect(writerUri('s3://b/k', undefined)).toBe('s3://b/k');
  });
});

describe('verify', () => {
  test('off by default: the stored object is never asked about', async () => {
    const sink = new RecordingSink();
    const w = writer(sink);
    await w.write('abc');
    await w.close();
    expect(sink.calls).not.toContain('storedSize');
  });

  test('on: one size check; a difference is ERR_VERIFY_FAILED from close, and the upload is cancelled', async () => {
    const sink = new RecordingSink();
    const ok = writer(sink, { verify: true });
    await ok.write('abc');
    await ok.close();
    expect(sink.calls).toEqual(['putWhole 3', 'storedSize']);

    const lying = new RecordingSink();
    lying.reportedSize = 2;
    const w = writer(lying, { verify: true });
    await w.write('abc');
    expect(await rejectionOf(w.close())).toMatchObject({ code: 'ERR_VERIFY_FAILED', operation: 'close', uri: URI });
    expect(lying.calls).toContain('abort');
  });

  test('a verify that is not a boolean is refused by name', () => {
    expect(thrownBy(() => writer(new RecordingSink(), { verify: 'yes' as never }))).toMatchObject({
      code: 'ERR_INVALID_ARG_TYPE',
      message: expect.stringContaining('options.verify'),
    });
  });
});

describe('after a failure or an abort', () => {
  test('a failed part: the write that sent it and every later call get that failure, as write and close', async () => {
    const sink = new RecordingSink();
    sink.partFailure = Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
    const w = writer(sink, { concurrency: 1 });
    const first = await rejectionOf(w.write('0123456789'));
    expect(first).toMatchObject({ code: 'ERR_CONNECTION', errnoName: 'ECONNRESET', operation: 'write', uri: URI });
    const later = { code: 'ERR_CONNECTION', errnoName: 'ECONNRESET' };
    expect(await rejectionOf(w.write('more'))).toMatchObject({ ...later, operation: 'write' });
    expect(await rejectionOf(w.close())).toMatchObject({ ...later, operation: 'close' });
    expect(sink.calls).toContain('abort');
    expect(sink.calls.some((c) => c.startsWith('complete') || c.startsWith('putWhole'))).toBe(false);
  });

  test("the caller's abort: later calls are told the writer is closed, with no failure to report", async () => {
    const sink = new RecordingSink();
    const w = writer(sink);
    await w.write('abc');
    await w.abort();
    expect(await rejectionOf(w.write('x'))).toMatchObject({ code: 'ERR_WRITER_CLOSED', operation: 'write' });
    expect(await rejectionOf(w.close())).toMatchObject({ code: 'ERR_WRITER_CLOSED', operation: 'close' });
    expect(sink.calls).toEqual(['abort']);
  });

  test('an aborted signal: later calls are ERR_ABORTED of their own operation', async () => {
    const sink = new RecordingSink();
    const controller = new AbortController();
    const w = writer(sink, { signal: controller.signal });
    await w.write('abc');
    controller.abort(new Error('user cancelled'));
    expect(await rejectionOf(w.write('x'))).toMatchObject({ code: 'ERR_ABORTED', operation: 'write', uri: URI });
    expect(await rejectionOf(w.close())).toMatchObject({ code: 'ERR_ABORTED', operation: 'close' });
    expect(sink.calls).toEqual(['abort']);
  });
});

describe('toWritable', () => {
  test('destroyed with an error: the upload is aborted, then the stream reports that error and closes', async () => {
    const sink = new RecordingSink();
    const w = writer(sink);
    const stream = w.toWritable();
    await new Promise<void>((resolve) => stream.write(Buffer.from('abc'), () => resolve()));
    const failure = new Error('source failed');
    const seen = new Promise<unknown>((resolve) => stream.once('error', resolve));
    const closed = new Promise<void>((resolve) => stream.once('close', () => resolve()));
    stream.destroy(failure);
    expect(await seen).toBe(failure);
    await closed;
    expect(sink.calls).toEqual(['abort']);
    expect(await rejectionOf(w.close())).toMatchObject({ code: 'ERR_WRITER_CLOSED' });
  });
});

describe('zstd', () => {
  test('nothing written stores nothing: no empty frame', async () => {
    const sink = new RecordingSink();
    await expect(writer(sink, { compression: 'zstd' }).close()).resolves.toMatchObject({ bytes: 0, storedBytes: 0 });
    expect(sink.calls).toEqual(['putWhole 0']);
  });

  test('input of exactly one frame is that one frame: nothing more at close', async () => {
    const sink = new RecordingSink();
    const w = new PartWriter(URI, sink, { partSize: 64, compression: 'zstd' });
    const input = new Uint8Array(64).fill(1);
    await w.write(input);
    const result = await w.close();
    const zstd = require('@bokuweb/zstd-wasm') as typeof import('@bokuweb/zstd-wasm');
    await zstd.init();
    expect(Buffer.from(sink.stored!)).toEqual(Buffer.from(zstd.compress(input, 3)));
    expect(result.storedBytes).toBe(sink.stored!.byteLength);
  });
});

describe('parts taken from the caller’s buffer (a sink that sends caller memory as it is)', () => {
  /** A sink that guards caller memory, whose uploads end only when `release()` is called. */
  class BorrowingSink extends RecordingSink {
    readonly sendsCallerMemory = true;
    private releases: Array<() => void> = [];

    override async uploadPart(index: number, offset: number, bytes: Uint8Array): Promise<void> {
      await new Promise<void>((resolve) => this.releases.push(resolve));
      return super.uploadPart(index, offset, bytes);
    }

    release(): void {
      for (const release of this.releases.splice(0)) release();
    }
  }

  test('whole parts go as slices of the chunk (no copy), the tail as a copy; write waits for the slices', async () => {
    const sink = new BorrowingSink();
    const w = writer(sink, { concurrency: 4 });
    const chunk = new TextEncoder().encode('0123456789abcdefXYZ');
    let written = false;
    const write = w.write(chunk).then(() => (written = true));
    await new Promise((resolve) => setImmediate(resolve));
    // Two whole parts are out, borrowed; the write cannot end before they are uploaded.
    expect(written).toBe(false);
    sink.release();
    await write;
    expect(sink.partBuffers.slice(0, 2)).toEqual([chunk.buffer, chunk.buffer]);
    const closing = w.close();
    await new Promise((resolve) => setImmediate(resolve));
    sink.release();
    await expect(closing).resolves.toMatchObject({ bytes: 19, parts: 3 });
    expect(sink.partBuffers[2]).not.toBe(chunk.buffer);
    expect(Buffer.from(sink.stored!).toString()).toBe('0123456789abcdefXYZ');
  });

  test('without the flag every part is a copy and write returns while parts upload', async () => {
    const sink = new RecordingSink();
    const w = writer(sink, { concurrency: 4 });
    const chunk = new TextEncoder().encode('0123456789abcdef');
    await w.write(chunk);
    await w.close();
    expect(sink.partBuffers.every((buffer) => buffer !== chunk.buffer)).toBe(true);
  });
});
