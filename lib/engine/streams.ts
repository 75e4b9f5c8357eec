/**
 * Streaming reads and reads into caller-supplied memory, for every backend: `getStream` (Node
 * Readable, bounded memory, any object size), its web ReadableStream twin, and the target checks
 * of `getInto`.
 */
import { Readable } from 'stream';
import type { ReadableStream } from 'stream/web';

import { CallSite, S3dlioError, abortError, relabel, toS3dlioError } from '../errors';
import { expectKnownOptions, optionKeys } from '../internal/option-keys';
import { bufferDetached, isDetached } from '../internal/memory';
import type { ObjectStore, StreamOptions } from '../object-store';
import {
  expectNonNegativeInteger,
  invalidType,
  optionalPositiveInteger,
  optionalSignal,
  outOfRange,
} from '../validate';

const STREAM_KEYS = optionKeys<StreamOptions>()({
  signal: true,
  chunkSize: true,
  prefetch: true,
  start: true,
  end: true,
});

const DEFAULT_STREAM_CHUNK = 8 * 1024 * 1024;

/**
 * A Readable of the object's bytes, made of sequential ranged reads with `prefetch` reads ahead.
 * No HEAD: a short range marks the end. Works for objects of any size (no 2 GiB buffer limit).
 * Errors and aborts destroy the stream with an S3dlioError.
 */
export function rangeStream(store: ObjectStore, uri: string, options?: StreamOptions): Readable {
  const callSite = new CallSite();
  const opts = expectKnownOptions(options, STREAM_KEYS, 'getStream');
  const signal = optionalSignal(opts.signal);
  const chunkSize = optionalPositiveInteger(opts.chunkSize, 'options.chunkSize', DEFAULT_STREAM_CHUNK);
  const prefetch = optionalPositiveInteger(opts.prefetch, 'options.prefetch', 2);
  const start = opts.start === undefined ? 0 : expectNonNegativeInteger(opts.start, 'options.start');
  const last = opts.end === undefined ? undefined : expectNonNegativeInteger(opts.end, 'options.end');
  if (last !== undefined && last < start)
    throw outOfRange('options.end', `an integer >= options.start (${start})`, last);

  const inner = new AbortController();
  const onAbort = (): void => inner.abort(signal?.reason);
  signal?.addEventListener('abort', onAbort, { once: true });
  let next = start;
  let done = false;
  const queue: Array<{ length: number; bytes: Promise<Uint8Array> }> = [];

  const fill = (): void => {
    while (!done && queue.length < prefetch + 1 && (last === undefined || next <= last)) {
      const length = last === undefined ? chunkSize : Math.min(chunkSize, last - next + 1);
      const bytes = store.getRange(uri, next, length, { signal: inner.signal });
      bytes.catch(() => undefined); // consumed in order below; later ones may be discarded
      queue.push({ length, bytes });
      next += length;
    }
  };
  const finish = (): void => {
    done = true;
    signal?.removeEventListener('abort', onAbort);
    inner.abort(); // discard reads ahead of an early end
  };

  return new Readable({
    highWaterMark: 1, // object mode off; one chunk at a time keeps memory bounded by prefetch
    read() {
      if (signal?.aborted) {
        this.destroy(callSite.attach(abortError('getStream', uri, signal.reason)));
        return;
      }
      fill();
      const head = queue.shift();
      if (!head) {
        finish();
        this.push(null);
        return;
      }
      head.bytes.then(
        (bytes) => {
          if (bytes.byteLength < head.length) finish(); // the object ended inside this range
          if (bytes.byteLength > 0) this.push(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
          if (done) {
            queue.length = 0;
            this.push(null);
          }
        },
        (error: unknown) => {
          finish();
          // Stryker disable next-line StringLiteral: relabel below names the operation again
          const classified = toS3dlioError(error, 'getStream', uri);
          const failure = signal?.aborted
            ? abortError('getStream', uri, signal.reason)
            : relabel(classified, 'getStream', uri);
          this.destroy(callSite.attach(failure));
        },
      );
    },
    destroy(error, callback) {
      finish();
      callback(error);
    },
  });
}

/** The web ReadableStream twin of `rangeStream`. */
export function rangeWebStream(store: ObjectStore, uri: string, options?: StreamOptions): ReadableStream<Uint8Array> {
  return Readable.toWeb(rangeStream(store, uri, options)) as ReadableStream<Uint8Array>;
}

/** Validates getInto's target and offset; returns the writable window of the target. */
export function intoWindow(target: unknown, offset: unknown): Uint8Array {
  if (!ArrayBuffer.isView(target)) throw invalidType('target', 'a Uint8Array (or another ArrayBufferView)', target);
  if (isDetached(target.buffer)) throw bufferDetached('target');
  const view = new Uint8Array(target.buffer, target.byteOffset, target.byteLength);
  const at = offset === undefined ? 0 : expectNonNegativeInteger(offset, 'offset');
  if (at > view.byteLength) throw outOfRange('offset', `an offset within the target (0 to ${view.byteLength})`, at);
  return view.subarray(at);
}

/** The error when an object does not fit the space getInto was given. */
export function targetTooSmall(uri: string, size: number, room: number): S3dlioError {
  return new S3dlioError(
    'ERR_TARGET_TOO_SMALL',
    `getInto ${uri}: the object has ${size} bytes but the target has room for ${room}`,
    {
      uri,
      operation: 'getInto',
    },
  );
}

/**
 * Makes sure `bytes` end up at the start of `window` (a no-op when they were read there) and
 * returns how many there are.
 */
export function placeInto(window: Uint8Array, bytes: Uint8Array, uri: string): number {
  // The target was transferred while the object was read: its memory is no longer the caller's.
  if (isDetached(window.buffer)) throw bufferDetached('target');
  if (bytes.byteLength > window.byteLength) throw targetTooSmall(uri, bytes.byteLength, window.byteLength);
  const inPlace = bytes.buffer === window.buffer && bytes.byteOffset === window.byteOffset;
  // Stryker disable next-line ConditionalExpression: copying bytes onto themselves changes nothing (a shortcut)
  if (!inPlace) window.set(bytes);
  return bytes.byteLength;
}
