/**
 * getStream's engine on its own, over a store whose getRange serves an object from memory:
 * option checks naming the option, read-ahead bounded by `prefetch`, the caller's abort reaching
 * the reads in flight, and a short range ending the stream. test/streams/10 streams from every
 * backend.
 */
import type { Readable } from 'stream';

import { S3dlioError, type ObjectStore } from '../../lib';
import { placeInto, rangeStream } from '../../lib/engine/streams';
import { expectSameBytes, rejectionOf, testBytes, thrownBy } from '../helpers/local';

interface MemoryStore {
  store: ObjectStore;
  /** Signals of the getRange calls, in order. */
  signals: AbortSignal[];
  peak: number;
}

function memoryStore(bytes: Uint8Array, delayMs = 2): MemoryStore {
  const state: MemoryStore = { store: {} as ObjectStore, signals: [], peak: 0 };
  let inFlight = 0;
  const getRange = async (_uri: string, offset: number, length: number, options: { signal: AbortSignal }) => {
    state.signals.push(options.signal);
    state.peak = Math.max(state.peak, ++inFlight);
    try {
      // The stream's reads share one signal: each read removes its listener when it is done, as
      // the stores do (leaving them would pile up past Node's MaxListeners warning).
      await new Promise<void>((resolve, reject) => {
        const onAbort = (): void => {
          clearTimeout(timer);
          reject(options.signal.reason);
        };
        const timer = setTimeout(() => {
          options.signal.removeEventListener('abort', onAbort);
          resolve();
        }, delayMs);
        options.signal.addEventListener('abort', onAbort, { once: true });
      });
      return bytes.slice(offset, offset + length);
    } finally {
      inFlight--;
    }
  };
  state.store = { getRange } as unknown as ObjectStore;
  return state;
}

async function collect(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

test.each([
  [{ chunkSize: 0 }, 'ERR_OUT_OF_RANGE', '`options.chunkSize`'],
  [{ prefetch: 0 }, 'ERR_OUT_OF_RANGE', '`options.prefetch`'],
  [{ start: -1 }, 'ERR_OUT_OF_RANGE', '`options.start`'],
  [{ end: 1.5 }, 'ERR_OUT_OF_RANGE', '`options.end`'],
  [{ chunksize: 10 }, 'ERR_INVALID_ARG_VALUE', 'of getStream (did you mean `chunkSize`?)'],
])('options %p: %s naming %s', (options, code, named) => {
  const error = thrownBy(() => rangeStream(memoryStore(new Uint8Array(10)).store, 'mem://o', options as never));
  expect(error).toMatchObject({ code });
  expect(error.message).toContain(named);
});

test.each([1, 2, 4])('prefetch %i: at most prefetch + 1 reads in flight, the bytes in order', async (prefetch) => {
  const bytes = testBytes(10_000, 1);
  const memory = memoryStore(bytes, 5);
  const stream = rangeStream(memory.store, 'mem://o', { chunkSize: 1000, prefetch });
  expectSameBytes(await collect(stream), bytes);
  expect(memory.peak).toBe(prefetch + 1);
});

test('a range shorter than asked ends the stream: no read past the end', async () => {
  const bytes = testBytes(2500, 2);
  const memory = memoryStore(bytes);
  expectSameBytes(await collect(rangeStream(memory.store, 'mem://o', { chunkSize: 1000, prefetch: 1 })), bytes);
  expect(memory.signals.length).toBeLessThanOrEqual(4); // 3 ranges, at most one read ahead discarded
});

test('the caller aborting mid-stream fails it with ERR_ABORTED and aborts the reads in flight', async () => {
  const memory = memoryStore(testBytes(100_000, 3), 30);
  const controller = new AbortController();
  const stream = rangeStream(memory.store, 'mem://o', { chunkSize: 1000, prefetch: 3, signal: controller.signal });
  const pending = rejectionOf(collect(stream));
  const abortedAtOnce = new Promise<boolean[]>((resolve) =>
    setTimeout(() => {
      controller.abort(new Error('stop'));
      // At once, not when the reads would have ended or the consumer next pulls.
      resolve(memory.signals.map((signal) => signal.aborted));
    }, 45),
  );
  const atOnce = await abortedAtOnce;
  expect(atOnce.length).toBeGreaterThan(1);
  expect(atOnce.every(Boolean)).toBe(true);
  expect(await pending).toMatchObject({ code: 'ERR_ABORTED', operation: 'getStream', uri: 'mem://o' });
});

test('a read that fails ends the stream with the storage error, relabelled as getStream of the URI', async () => {
  const missing = new S3dlioError('ERR_NOT_FOUND', 'getRange mem://o: no such object', {
    uri: 'mem://o',
    operation: 'getRange',
  });
  const store = { getRange: () => Promise.reject(missing) } as unknown as ObjectStore;
  const error = await rejectionOf(collect(rangeStream(store, 'mem://o')));
  expect(error).toMatchObject({ code: 'ERR_NOT_FOUND', operation: 'getStream', uri: 'mem://o' });
  expect(error.cause).toBe(missing);
});

test('getInto placement: a target too small is ERR_TARGET_TOO_SMALL of getInto; bytes read in place are not copied', () => {
  const target = new Uint8Array(4);
  expect(thrownBy(() => placeInto(target, new Uint8Array(5), 'mem://o'))).toMatchObject({
    code: 'ERR_TARGET_TOO_SMALL',
    operation: 'getInto',
    uri: 'mem://o',
  });
  expect(placeInto(target, Uint8Array.of(1, 2), 'mem://o')).toBe(2);
  expect([...target]).toEqual([1, 2, 0, 0]);
  expect(placeInto(target.subarray(1), target.subarray(1, 3), 'mem://o')).toBe(2);
  expect([...target]).toEqual([1, 2, 0, 0]);
});
