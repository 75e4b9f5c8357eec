/**
 * RangeEngine: one large object fetched as concurrent ranged GETs, assembled in place in one
 * preallocated buffer (no per-range buffers, no concatenation). The first request asks for the
 * first `rangeThreshold` bytes, so objects up to the threshold cost exactly one request and the
 * first response's Content-Range tells the size: no HEAD is ever paid. As soon as those headers
 * arrive the remaining ranges start, while the first body is still streaming.
 */
import { constants as bufferConstants } from 'buffer';
import { setMaxListeners } from 'events';

import { S3dlioError, abortError } from '../errors';
import { libraryBuffer } from '../internal/memory';
import { expectNonNegativeInteger, optionalPositiveInteger } from '../validate';
import type { BodyPlacement, ByteRange, ResponseHeaders } from '../object-store';

/** How a get is split. */
export interface RangeOptions {
  /** Only objects (or windows) larger than this are split (default 32 MiB). */
  rangeThreshold: number;
  /** Bytes per range (default 8 MiB for objects of 256 MiB and more, 4 MiB below). */
  chunkSize?: number;
  /** Ranges in flight (default: one per chunk, at most 32). */
  concurrency?: number;
  /**
   * Where the bytes go once the size is known (default: a new buffer). When given, even an object
   * below the threshold is read straight into it (getInto).
   */
  allocate?: (size: number) => Uint8Array;
  /**
   * Where `allocate(size)` would put `size` bytes, when it can tell beforehand (a caller's
   * buffer): the first request then names its place before it leaves (see BodyPlacement.into).
   */
  placeOf?: (size: number) => Uint8Array | undefined;
  /**
   * Memory for a read that is split (default: a new buffer); unlike `allocate`, an object read
   * in one request keeps the buffer it arrived in.
   */
  allocateSplit?: (size: number) => Uint8Array;
  /** Told the first response's headers (size, etag, stored checksum). */
  onFirstHeaders?: (headers: ResponseHeaders) => void;
  /** Ask for the stored checksum with the first request. */
  wantsChecksum?: boolean;
}

/** Defaults of the RangeEngine for cloud backends. */
export const DEFAULT_RANGE_THRESHOLD = 32 * 1024 * 1024;
const LARGE_OBJECT = 256 * 1024 * 1024;
const MAX_CONCURRENCY = 32;

/** One ranged read of the object, retried by the caller's policy, aborted by `signal`. */
export type RangeReader = (
  range: { start: number; end: number },
  placement: BodyPlacement,
  signal: AbortSignal,
) => Promise<Uint8Array>;

/** The RangeEngine fields of a call's options (`get`, `getRange`, store defaults). */
export type RangeSettings = Partial<Pick<RangeOptions, 'rangeThreshold' | 'chunkSize' | 'concurrency'>>;

/**
 * Range settings of one call, validated: the call's options, then `defaults` (the store's), then
 * `fallbackThreshold` for the threshold (0 = engine off).
 */
export function rangeOptionsFrom(
  options: RangeSettings,
  defaults: RangeSettings,
  fallbackThreshold: number,
): RangeOptions {
  const threshold = options.rangeThreshold ?? defaults.rangeThreshold ?? fallbackThreshold;
  return {
    rangeThreshold: expectNonNegativeInteger(threshold, 'options.rangeThreshold'),
    chunkSize: optionalPositiveInteger(options.chunkSize ?? defaults.chunkSize, 'options.chunkSize', 0) || undefined,
    concurrency:
      optionalPositiveInteger(options.concurrency ?? defaults.concurrency, 'options.concurrency', 0) || undefined,
  };
}

/** Default chunk size for an object of `size` bytes. */
export function defaultChunkSize(size: number): number {
  return size >= LARGE_OBJECT ? 8 * 1024 * 1024 : 4 * 1024 * 1024;
}

/**
 * The first real failure of a split read. Ranges cancelled because of it (or because the caller
 * aborted) fail too, with an abort; those are never the failure reported.
 */
class FirstFailure {
  private first: { error: unknown } | undefined;

  constructor(private readonly controller: AbortController) {}

  /** Records `error` unless a failure (or an abort) came first, and cancels every range. */
  add(error: unknown): void {
    if (!this.first && !this.controller.signal.aborted) this.first = { error };
    this.controller.abort(this.first?.error ?? error);
  }

  /** Whether a real failure was recorded. */
  get recorded(): boolean {
    return this.first !== undefined;
  }

  /** Whether a range has failed (or the read was cancelled): no new range should start. */
  get failed(): boolean {
    return this.first !== undefined || this.controller.signal.aborted;
  }

  /** The error the read rejects with: the first real failure, else `fallback` (an abort). */
  error(fallback: unknown): unknown {
    return this.first ? this.first.error : fallback;
  }
}

/**
 * Reads `window` of an object through `read`, splitting it when it is larger than
 * `options.rangeThreshold`. The result is byte-identical to one GET of the window (clamped to the
 * object's end). A failed range fails the whole read with its own error; every other range in
 * flight is cancelled (their cancellations are not reported), and so are all of them when `signal`
 * fires, which makes the read reject with that abort.
 */
export async function readInRanges(
  read: RangeReader,
  window: ByteRange,
  options: RangeOptions,
  signal: AbortSignal | undefined,
  uri: string,
): Promise<Uint8Array> {
  const controller = new AbortController();
  // Up to `concurrency` ranges, each with its retries and timeouts, listen to this signal.
  setMaxListeners(0, controller.signal);
  const onAbort = (): void => controller.abort(signal?.reason);
  if (signal?.aborted) onAbort();
  signal?.addEventListener('abort', onAbort, { once: true });
  const failures = new FirstFailure(controller);

  const firstEnd = window.start + options.rangeThreshold - 1;
  const first = { start: window.start, end: window.end === undefined ? firstEnd : Math.min(window.end, firstEnd) };
  const firstLength = first.end - first.start + 1;
  let whole: Uint8Array | undefined;
  let rest: Promise<void> | undefined;

  const placement: BodyPlacement = {
    wantsChecksum: options.wantsChecksum,
    into: options.placeOf?.(firstLength),
    onHeaders(headers: ResponseHeaders): Uint8Array | undefined {
      options.onFirstHeaders?.(headers);
      // A retried first request lands in the same place; the plan is made once.
      if (whole) return whole.subarray(0, Math.min(firstLength, whole.byteLength));
      if (headers.totalSize === undefined) return undefined;
      const end = Math.min(window.end ?? headers.totalSize - 1, headers.totalSize - 1);
      const wanted = Math.max(0, end - window.start + 1);
      if (wanted <= firstLength && !options.allocate) return undefined;
      if (wanted > bufferConstants.MAX_LENGTH) {
        throw new S3dlioError(
          'ERR_OBJECT_TOO_LARGE',
          `get ${uri}: ${wanted} bytes do not fit in one buffer (limit ${bufferConstants.MAX_LENGTH}); read it with getStream or getRange windows`,
          { uri, operation: 'get' },
        );
      }
      // Not zero-filled: every byte is written by exactly one range.
      whole = (options.allocate ?? options.allocateSplit ?? libraryBuffer)(wanted);
      // Stryker disable next-line ConditionalExpression,EqualityOperator: with nothing past the first range, readRest has no range to read
      if (wanted > firstLength) {
        const version = { totalSize: headers.totalSize, etag: headers.etag };
        rest = readRest(
          read,
          whole,
          window.start,
          first.end + 1,
          end,
          options,
          controller.signal,
          failures,
          version,
          uri,
        );
        // Without a handler here, a failure before the first body ends would look unhandled.
        rest.catch(() => undefined);
      }
      return whole.subarray(0, Math.min(firstLength, wanted));
    },
  };

  try {
    const head = await read(first, placement, controller.signal);
    if (!whole) return head;
    await rest;
    return whole;
  } catch (error) {
    failures.add(error);
    // Every range has settled before the read rejects: none writes into the buffer afterwards.
    await rest?.catch(() => undefined);
    // Without a real failure first, the caller aborted: reported as such, not as a raw reason.
    if (!failures.recorded && signal?.aborted) throw abortError('get', uri, signal.reason);
    throw failures.error(error);
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
}

async function readRest(
  read: RangeReader,
  whole: Uint8Array,
  base: number,
  from: number,
  to: number,
  options: RangeOptions,
  signal: AbortSignal,
  failures: FirstFailure,
  version: ResponseHeaders,
  uri: string,
): Promise<void> {
  const chunkSize = options.chunkSize ?? defaultChunkSize(whole.byteLength);
  const ranges: Array<{ start: number; end: number }> = [];
  for (let start = from; start <= to; start += chunkSize)
    ranges.push({ start, end: Math.min(start + chunkSize - 1, to) });
  const concurrency = Math.max(1, Math.min(options.concurrency ?? MAX_CONCURRENCY, ranges.length));
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < ranges.length && !failures.failed) {
      const range = ranges[next++];
      const target = whole.subarray(range.start - base, range.end - base + 1);
      try {
        await read(
          range,
          { onHeaders: (headers) => sameVersion(headers, version, uri) && target, into: target },
          signal,
        );
      } catch (error) {
        failures.add(error); // cancels the siblings at once
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  // Ranges were left unread: the buffer is incomplete, whatever stopped them.
  if (failures.failed) throw failures.error(signal.reason);
}

/**
 * Every range must come from the object version the first response described: an object replaced
 * during the read would otherwise be assembled from two versions without anyone noticing.
 */
function sameVersion(headers: ResponseHeaders, first: ResponseHeaders, uri: string): true {
  const sizeChanged = headers.totalSize !== undefined && headers.totalSize !== first.totalSize;
  const etagChanged = headers.etag !== undefined && first.etag !== undefined && headers.etag !== first.etag;
  if (sizeChanged || etagChanged) {
    throw new S3dlioError(
      'ERR_CHANGED_DURING_READ',
      `get ${uri}: the object was replaced while its ranges were being read`,
      {
        uri,
        operation: 'get',
      },
    );
  }
  return true;
}
