/**
 * The RangeEngine on its own, over an object held in memory: the same contract a cloud backend's
 * ranged GET fulfils (headers first, then the body into the place the engine gives). Exact bytes,
 * the ranges asked for, concurrency, a version that changes mid-read, failures and aborts.
 * test/cloud/70 runs the engine against the real servers.
 */
import { type RangeOptions, type RangeReader, rangeOptionsFrom, readInRanges } from '../../lib/engine/range-engine';
import { expectSameBytes, rejectionOf, testBytes, thrownBy } from '../helpers/local';
import type { ResponseHeaders } from '../../lib/object-store';

interface MemoryObject {
  read: RangeReader;
  /** Every range asked for, in order. */
  ranges: Array<{ start: number; end: number }>;
  /** The most reads in flight at once. */
  peak: number;
}

/**
 * A reader of `bytes`. `headersFor(n)` may change what the n-th response (0-based) says;
 * `failAt` makes the n-th read fail; each read waits `delayMs` (aborts end the wait).
 */
function memoryObject(
  bytes: Uint8Array,
  behaviour: { headersFor?: (n: number) => Partial<ResponseHeaders>; failAt?: number; delayMs?: number } = {},
): MemoryObject {
  const object: MemoryObject = { ranges: [], peak: 0, read: async () => new Uint8Array() };
  let inFlight = 0;
  object.read = async (range, placement, signal) => {
    const n = object.ranges.push({ ...range }) - 1;
    object.peak = Math.max(object.peak, ++inFlight);
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(resolve, behaviour.delayMs ?? 1);
        signal.addEventListener('abort', () => {
          clearTimeout(timer);
          reject(signal.reason);
        });
      });
      if (n === behaviour.failAt) throw Object.assign(new Error(`range ${n} failed`), { code: 'ERR_SERVER' });
      const body = bytes.subarray(range.start, Math.min(range.end, bytes.length - 1) + 1);
      const headers = { length: body.length, totalSize: bytes.length, etag: '"v1"', ...behaviour.headersFor?.(n) };
      const target = placement.onHeaders(headers);
      if (!target) return Uint8Array.from(body);
      expect(target.byteLength).toBe(body.length); // the engine gives the exact place of this body
      target.set(body);
      return target;
    } finally {
      inFlight--;
    }
  };
  return object;
}

const KiB = 1024;
const split: RangeOptions = { rangeThreshold: 64 * KiB, chunkSize: 16 * KiB, concurrency: 3 };

describe('bytes and requests', () => {
  test.each([1, 64 * KiB - 1, 64 * KiB, 64 * KiB + 1, 80 * KiB, 80 * KiB + 1, 200 * KiB + 7])(
    '%i bytes: byte-identical; the first range is the threshold, then contiguous chunks to the end',
    async (size) => {
      const bytes = testBytes(size, size);
      const object = memoryObject(bytes);
      expectSameBytes(await readInRanges(object.read, { start: 0 }, split, undefined, 'mem://o'), bytes);
      expect(object.ranges[0]).toEqual({ start: 0, end: 64 * KiB - 1 });
      const rest = object.ranges.slice(1).sort((a, b) => a.start - b.start);
      expect(rest.length).toBe(Math.max(0, Math.ceil((size - 64 * KiB) / (16 * KiB))));
      let next = 64 * KiB;
      for (const range of rest) {
        expect(range.start).toBe(next);
        expect(range.end).toBe(Math.min(next + 16 * KiB, size) - 1);
        next = range.end + 1;
      }
    },
  );

  test('a window: from its start, clamped to the end of the object', async () => {
    const bytes = testBytes(300 * KiB, 3);
    const object = memoryObject(bytes);
    const got = await readInRanges(object.read, { start: 1000, end: 10_000 * KiB }, split, undefined, 'mem://o');
    expectSameBytes(got, bytes.subarray(1000));
    expect(object.ranges[0]).toEqual({ start: 1000, end: 1000 + 64 * KiB - 1 });
    const inner = await readInRanges(memoryObject(bytes).read, { start: 5, end: 99_999 }, split, undefined, 'mem://o');
    expectSameBytes(inner, bytes.subarray(5, 100_000));
  });

  test('without chunkSize, ranges are 4 MiB; without concurrency, every range is in flight at once', async () => {
    const MiB = 1024 * KiB;
    const bytes = testBytes(1 * MiB + 14 * MiB + 5, 4);
    const object = memoryObject(bytes, { delayMs: 20 });
    const got = await readInRanges(object.read, { start: 0 }, { rangeThreshold: 1 * MiB }, undefined, 'mem://o');
    expectSameBytes(got, bytes);
    expect(object.ranges.slice(1).map((r) => r.end - r.start + 1)).toEqual([4 * MiB, 4 * MiB, 4 * MiB, 2 * MiB + 5]);
    expect(object.peak).toBe(1 + 4); // the first range is still in flight when the rest start
  });

  test('concurrency bounds the ranges in flight, and is used in full', async () => {
    const object = memoryObject(testBytes(64 * KiB + 10 * 16 * KiB, 5), { delayMs: 20 });
    await readInRanges(object.read, { start: 0 }, split, undefined, 'mem://o');
    expect(object.peak).toBe(1 + 3); // the first range, then `concurrency` more
  });

  test('with allocate, even an object below the threshold lands in the memory it gives', async () => {
    const bytes = testBytes(1000, 6);
    let given: Uint8Array | undefined;
    const allocate = (size: number) => (given = new Uint8Array(size));
    const got = await readInRanges(memoryObject(bytes).read, { start: 0 }, { ...split, allocate }, undefined, 'x');
    expect(got).toBe(given);
    expectSameBytes(got, bytes);
  });

  test('the first response headers are reported once', async () => {
    const seen: ResponseHeaders[] = [];
    const options = { ...split, onFirstHeaders: (h: ResponseHeaders) => seen.push(h) };
    await readInRanges(memoryObject(testBytes(100 * KiB, 7)).read, { start: 0 }, options, undefined, 'x');
    expect(seen).toEqual([{ length: 64 * KiB, totalSize: 100 * KiB, etag: '"v1"' }]);
  });
});

describe('an object replaced during the read', () => {
  test.each([
    ['another etag', { etag: '"v2"' }],
    ['another size', { totalSize: 1 }],
  ])('a later range with %s is ERR_CHANGED_DURING_READ', async (_what, change) => {
    const object = memoryObject(testBytes(200 * KiB, 8), { headersFor: (n) => (n === 2 ? change : {}) });
    const error = await rejectionOf(readInRanges(object.read, { start: 0 }, split, undefined, 'mem://o'));
    expect(error).toMatchObject({ code: 'ERR_CHANGED_DURING_READ', uri: 'mem://o', operation: 'get' });
  });

  test('a range whose answer names no etag (or no size) is not taken as another version', async () => {
    const bytes = testBytes(200 * KiB, 9);
    const object = memoryObject(bytes, {
      headersFor: (n) => (n === 2 ? { etag: undefined } : n === 3 ? { totalSize: undefined } : {}),
    });
    expectSameBytes(await readInRanges(object.read, { start: 0 }, split, undefined, 'mem://o'), bytes);
    const unversioned = memoryObject(bytes, { headersFor: (n) => (n === 0 ? { etag: undefined } : { etag: '"v9"' }) });
    expectSameBytes(await readInRanges(unversioned.read, { start: 0 }, split, undefined, 'mem://o'), bytes);
  });
});

describe('failures and aborts', () => {
  test('a failed range fails the read with its own error; no range starts after it', async () => {
    const object = memoryObject(testBytes(64 * KiB + 20 * 16 * KiB, 10), { failAt: 2, delayMs: 5 });
    const error = await rejectionOf(readInRanges(object.read, { start: 0 }, split, undefined, 'mem://o'));
    expect(error.message).toBe('range 2 failed');
    expect(object.ranges.length).toBeLessThan(21);
  });

  test('a failed first range fails the read with its error', async () => {
    const object = memoryObject(testBytes(200 * KiB, 11), { failAt: 0 });
    const error = await rejectionOf(readInRanges(object.read, { start: 0 }, split, undefined, 'mem://o'));
    expect(error.message).toBe('range 0 failed');
  });

  test('the caller aborting is ERR_ABORTED for the read, before or during it', async () => {
    const bytes = testBytes(200 * KiB, 12);
    const before = await rejectionOf(
      readInRanges(memoryObject(bytes).read, { start: 0 }, split, AbortSignal.abort(new Error('no')), 'mem://o'),
    );
    expect(before).toMatchObject({ code: 'ERR_ABORTED', uri: 'mem://o', operation: 'get' });
    const controller = new AbortController();
    const slow = memoryObject(bytes, { delayMs: 200 });
    const pending = readInRanges(slow.read, { start: 0 }, split, controller.signal, 'mem://o');
    setTimeout(() => controller.abort(new Error('stop')), 20);
    expect(await rejectionOf(pending)).toMatchObject({ code: 'ERR_ABORTED', operation: 'get' });
  });
});

describe('range settings of a call: its options, then the store’s, then the fallback threshold', () => {
  test('each setting is taken from the first place that gives it', () => {
    expect(rangeOptionsFrom({}, {}, 7)).toEqual({ rangeThreshold: 7, chunkSize: undefined, concurrency: undefined });
    expect(rangeOptionsFrom({}, { rangeThreshold: 5, chunkSize: 64, concurrency: 3 }, 7)).toEqual({
      rangeThreshold: 5,
      chunkSize: 64,
      concurrency: 3,
    });
    expect(
      rangeOptionsFrom(
        { rangeThreshold: 0, chunkSize: 16, concurrency: 2 },
        { rangeThreshold: 5, chunkSize: 64, concurrency: 3 },
        7,
      ),
    ).toEqual({ rangeThreshold: 0, chunkSize: 16, concurrency: 2 });
    expect(rangeOptionsFrom({ chunkSize: 16, concurrency: 2 }, {}, 7)).toEqual({
      rangeThreshold: 7,
      chunkSize: 16,
      concurrency: 2,
    });
  });

  test.each<[string, Parameters<typeof rangeOptionsFrom>[0], string]>([
    ['rangeThreshold', { rangeThreshold: -1 }, 'options.rangeThreshold'],
    ['chunkSize', { chunkSize: 0 }, 'options.chunkSize'],
    ['concurrency', { concurrency: 1.5 }, 'options.concurrency'],
  ])('a bad %s is refused by its name', (_name, options, named) => {
    expect(thrownBy(() => rangeOptionsFrom(options, {}, 7)).message).toContain(`\`${named}\``);
  });
});
