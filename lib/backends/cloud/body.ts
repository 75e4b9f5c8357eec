/** Collecting an HTTP response body into one Uint8Array, with its length checked. */
import { S3dlioError } from '../../errors';
import { libraryBuffer } from '../../internal/memory';
import type { BodyPlacement, ByteRange, ResponseHeaders } from '../../object-store';

/** The Range header of `range` (`bytes=first-` to the end when it has no end). */
export function rangeHeader(range: ByteRange): string {
  return `bytes=${range.start}-${range.end ?? ''}`;
}

/**
 * Asks `placement` where the body goes. If it refuses (throws: object too large, target too
 * small, another version), the body is discarded so its stream cannot fail unobserved later.
 */
export function placeBody(
  body: unknown,
  placement: BodyPlacement | undefined,
  headers: ResponseHeaders,
): Uint8Array | undefined {
  try {
    return placement?.onHeaders(headers);
  } catch (error) {
    const stream = body as { on?: (event: string, listener: () => void) => void; destroy?: () => void } | undefined;
    stream?.on?.('error', () => undefined);
    stream?.destroy?.();
    throw error;
  }
}

/**
 * Where the body of an answer read on the lean path goes: the placement's target; else, for a
 * chunked answer (no Content-Length) whose length is known from its Content-Range, memory of that
 * length, so a short body is an error rather than short data; else undefined (a buffer of its own).
 */
export function placeAnswer(
  placement: BodyPlacement | undefined,
  headers: ResponseHeaders,
  chunked: boolean,
): Uint8Array | undefined {
  const placed = placeBody(undefined, placement, headers);
  if (placed || !chunked || headers.length === undefined) return placed;
  return libraryBuffer(headers.length);
}

/**
 * Where a lean GET's body goes, from its answer's headers: the length (Content-Length, or for a
 * chunked answer its Content-Range; none when `lengthUnknown`, e.g. a transcoded body), the total
 * size, the ETag (`etag` by default) and a stored checksum, handed to {@link placeAnswer}.
 */
export function placeByAnswer(
  placement: BodyPlacement | undefined,
  answer: Record<string, string>,
  described: Pick<ResponseHeaders, 'checksum'> & { etag?: string; lengthUnknown?: boolean } = {},
): Uint8Array | undefined {
  const contentRange = answer['content-range'];
  const chunked = answer['content-length'] === undefined;
  const length = described.lengthUnknown
    ? undefined
    : chunked
      ? lengthFromContentRange(contentRange)
      : Number(answer['content-length']);
  const headers: ResponseHeaders = {
    length,
    totalSize: totalFromContentRange(contentRange) ?? length,
    etag: described.etag ?? answer.etag,
    ...(described.checksum !== undefined && { checksum: described.checksum }),
  };
  return placeAnswer(placement, headers, chunked);
}

/** `bytes 0-99/1000` → the total (1000); undefined for `*` or a missing header. */
export function totalFromContentRange(header: string | undefined): number | undefined {
  const match = header ? /\/(\d+)\s*$/.exec(header) : null;
  return match ? Number(match[1]) : undefined;
}

/**
 * `bytes 100-199/1000` → 100, the length of the span a ranged answer carries; undefined for the
 * unsatisfied form (`bytes *` and a size), a malformed or a missing header. A chunked answer has no
 * Content-Length: this is then the length its body must have.
 */
export function lengthFromContentRange(header: string | undefined): number | undefined {
  const match = header ? /^\s*bytes\s+(\d+)-(\d+)\/(?:\d+|\*)\s*$/i.exec(header) : null;
  if (!match) return undefined;
  const [first, last] = [Number(match[1]), Number(match[2])];
  return last >= first ? last - first + 1 : undefined;
}

/**
 * A response body that ended before its announced length: an error, never short data. Whether
 * the stream ended early or failed (a connection reset or closed mid-body, which SDKs report as
 * ECONNRESET, "aborted" or a premature close), every cloud reports it as this, with the stream's
 * error as `cause`.
 */
export class TruncatedBodyError extends Error {
  readonly code = 'ERR_TRUNCATED_BODY';

  constructor(received: number, expected: number, cause?: unknown) {
    super(
      `the response body ended after ${received} of ${expected} bytes`,
      cause === undefined ? undefined : { cause },
    );
    this.name = 'TruncatedBodyError';
  }
}

/**
 * Reads `body` into one buffer. With `expectedLength` (Content-Length) the buffer is allocated
 * once and chunks are copied straight into place; a body shorter or longer than announced throws.
 */
export async function readBody(
  body: AsyncIterable<Uint8Array>,
  expectedLength?: number | (() => number | undefined),
  signal?: AbortSignal,
  target?: () => Uint8Array | undefined,
): Promise<Uint8Array> {
  if (signal?.aborted) throw signal.reason;
  // Stop the transfer as soon as the caller aborts (or the attempt times out), and settle then
  // even if the stream never reports its destruction (some SDK streams stall on a cut body).
  const destroyable = body as { destroy?: (error?: unknown) => void };
  let onAbort = (): void => undefined;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = (): void => {
      reject(signal?.reason);
      destroyable.destroy?.(signal?.reason);
    };
  });
  // Stryker disable next-line ObjectLiteral,BooleanLiteral: a signal fires once, and the finally below removes the listener
  signal?.addEventListener('abort', onAbort, { once: true });
  const reading = collect(body, expectedLength, target);
  // Whichever loses the race must not surface as an unhandled rejection.
  reading.catch(() => undefined);
  aborted.catch(() => undefined);
  try {
    return await (signal ? Promise.race([reading, aborted]) : reading);
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
}

async function collect(
  body: AsyncIterable<Uint8Array>,
  expectedLength: number | (() => number | undefined) | undefined,
  placement: (() => Uint8Array | undefined) | undefined,
): Promise<Uint8Array> {
  const lengthNow = (): number | undefined =>
    typeof expectedLength === 'function' ? expectedLength() : expectedLength;
  let target: Uint8Array | undefined;
  let expected: number | undefined;
  const chunks: Uint8Array[] = [];
  let received = 0;
  // Set while a chunk is being placed: an error then is ours, not the stream's.
  let placing = false;
  try {
    for await (const chunk of body) {
      placing = true;
      place(chunk);
      placing = false;
    }
  } catch (error) {
    // Ours: a chunk that did not fit, or a placement refused (target too small, another version)
    // and passed to the stream by a driver that destroyed it with that error.
    if (placing || error instanceof S3dlioError) throw error;
    // Headers announced a length and the stream failed before it: the body was cut short.
    const announced = expected ?? lengthNow() ?? target?.byteLength;
    if (announced !== undefined && received < announced) throw new TruncatedBodyError(received, announced, error);
    throw error;
  }

  function place(chunk: Uint8Array): void {
    if (received === 0 && target === undefined && chunks.length === 0) {
      expected = lengthNow();
      target = placement?.();
      if (target !== undefined && expected !== undefined && target.byteLength !== expected) {
        throw new Error(`the response has ${expected} bytes where ${target.byteLength} were asked for`);
      }
      // Not zero-filled and not from the shared pool: every byte is overwritten below.
      if (target === undefined && expected !== undefined) target = Buffer.allocUnsafeSlow(expected);
    }
    if (target === undefined) {
      chunks.push(chunk);
    } else {
      if (received + chunk.byteLength > target.byteLength) {
        throw new Error(`the response body is longer than its Content-Length (${target.byteLength})`);
      }
      target.set(chunk, received);
    }
    received += chunk.byteLength;
  }

  if (received === 0 && chunks.length === 0) {
    // An empty body never ran the first-chunk step.
    expected = lengthNow();
    target = placement?.();
    if (target !== undefined && target.byteLength !== 0) throw new TruncatedBodyError(0, target.byteLength);
  }
  // Without a Content-Length (a chunked answer), the place a range was asked for sets the length:
  // a short body would otherwise leave the rest of that place unwritten.
  const announced = expected ?? target?.byteLength;
  if (announced !== undefined && received !== announced) throw new TruncatedBodyError(received, announced);
  if (target) return new Uint8Array(target.buffer, target.byteOffset, received);
  const joined = Buffer.concat(chunks);
  return new Uint8Array(joined.buffer, joined.byteOffset, joined.byteLength);
}
