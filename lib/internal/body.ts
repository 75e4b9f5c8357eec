/** Collecting an HTTP response body into one Uint8Array, with its length checked. */

/** A response body that ended before its announced length: an error, never short data. */
export class TruncatedBodyError extends Error {
  readonly code = 'ERR_TRUNCATED_BODY';

  constructor(received: number, expected: number) {
    super(`the response body ended after ${received} of ${expected} bytes`);
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
): Promise<Uint8Array> {
  // Stop the transfer as soon as the caller aborts (or the attempt times out).
  const destroyable = body as { destroy?: (error?: unknown) => void };
  const onAbort = (): void => destroyable.destroy?.(signal?.reason);
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    if (signal?.aborted) throw signal.reason;
    return await collect(body, expectedLength);
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
}

/**
 * `expectedLength` may be a function: some SDK streams only learn the length from the response
 * headers once reading has started, always before the first body chunk.
 */
async function collect(
  body: AsyncIterable<Uint8Array>,
  expectedLength: number | (() => number | undefined) | undefined,
): Promise<Uint8Array> {
  const lengthNow = (): number | undefined =>
    typeof expectedLength === 'function' ? expectedLength() : expectedLength;
  let target: Buffer | undefined;
  let expected: number | undefined;
  const chunks: Uint8Array[] = [];
  let received = 0;
  for await (const chunk of body) {
    if (received === 0 && target === undefined && chunks.length === 0) {
      expected = lengthNow();
      // Not zero-filled and not from the shared pool: every byte is overwritten below.
      if (expected !== undefined) target = Buffer.allocUnsafeSlow(expected);
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
  expected ??= lengthNow();
  if (expected !== undefined && received !== expected) throw new TruncatedBodyError(received, expected);
  if (target) return new Uint8Array(target.buffer, target.byteOffset, received);
  const joined = Buffer.concat(chunks);
  return new Uint8Array(joined.buffer, joined.byteOffset, joined.byteLength);
}
