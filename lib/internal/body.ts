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
  expectedLength?: number,
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

async function collect(body: AsyncIterable<Uint8Array>, expectedLength: number | undefined): Promise<Uint8Array> {
  if (expectedLength === undefined) {
    const chunks: Uint8Array[] = [];
    for await (const chunk of body) chunks.push(chunk);
    const joined = Buffer.concat(chunks);
    return new Uint8Array(joined.buffer, joined.byteOffset, joined.byteLength);
  }
  // Not zero-filled and not from the shared pool: every byte is overwritten below.
  const target = Buffer.allocUnsafeSlow(expectedLength);
  let received = 0;
  for await (const chunk of body) {
    if (received + chunk.byteLength > expectedLength) {
      throw new Error(`the response body is longer than its Content-Length (${expectedLength})`);
    }
    target.set(chunk, received);
    received += chunk.byteLength;
  }
  if (received !== expectedLength) throw new TruncatedBodyError(received, expectedLength);
  return new Uint8Array(target.buffer, target.byteOffset, expectedLength);
}
