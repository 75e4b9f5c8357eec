/** Checksums computed natively (CRC32C with the CPU's instruction where it has one). */
import { createHash } from 'crypto';

import { S3dlioError, toS3dlioError } from './errors';
import * as native from './native';
import { invalidType, outOfRange, toBytes } from './validate';
import type { StoredChecksum } from './object-store';

/**
 * CRC32C (Castagnoli) of `data`, continuing from `seed` (the CRC of the bytes before it; 0 to
 * start): `crc32c(b, crc32c(a)) === crc32c(concat(a, b))`. Strings are hashed as UTF-8. This is
 * the checksum of GCS, of S3's `x-amz-checksum-crc32c`, and (masked) of TFRecord. Synchronous: it
 * runs at memory speed (the SSE4.2 or ARMv8 CRC instruction, three streams at once).
 */
export function crc32c(data: Uint8Array | ArrayBuffer | ArrayBufferView | string, seed = 0): number {
  if (typeof seed !== 'number') throw invalidType('seed', 'an unsigned 32-bit integer', seed);
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff)
    throw outOfRange('seed', 'an unsigned 32-bit integer', seed);
  try {
    return native.crc32c(toBytes(data), seed);
  } catch (error) {
    throw toS3dlioError(error, 'crc32c', ''); // a detached buffer: ERR_BUFFER_DETACHED
  }
}

/** Below this, a checksum costs less than a trip to the thread pool. */
const BACKGROUND_CRC_MIN = 1 << 20;

/**
 * CRC32C of `bytes` on the libuv pool, so that the event loop (and the checksums of other buffers)
 * go on meanwhile: for addon and shared memory, read in place. Other memory would have to be
 * copied first, which costs as much as the checksum, so it is checksummed here, as small inputs are.
 */
export async function crc32cInBackground(bytes: Uint8Array): Promise<number> {
  if (bytes.byteLength < BACKGROUND_CRC_MIN || native.memoryKind(bytes) === 'foreign')
    return native.crc32c(bytes, 0) >>> 0;
  return (await native.crc32cAsync(bytes, 0)) >>> 0;
}

/**
 * Checks `bytes` against a checksum the service stored for the whole object; throws
 * ERR_CHECKSUM_MISMATCH naming both values when they differ.
 */
export function verifyStoredChecksum(bytes: Uint8Array, stored: StoredChecksum, uri: string): void {
  const actual = stored.algorithm === 'crc32c' ? crc32cBase64(bytes) : createHash('md5').update(bytes).digest('base64');
  if (actual !== stored.base64) {
    throw new S3dlioError(
      'ERR_CHECKSUM_MISMATCH',
      `get ${uri}: the ${stored.algorithm} of the bytes read (${actual}) differs from the stored one (${stored.base64})`,
      { uri, operation: 'get' },
    );
  }
}

/** CRC32C as the services send it: the 4 bytes big-endian, base64. */
export function crc32cBase64(bytes: Uint8Array): string {
  return crc32cValueBase64(native.crc32c(bytes, 0));
}

/** A CRC32C value (e.g. one computed piece by piece with {@link crc32c}) as the services send it. */
export function crc32cValueBase64(value: number): string {
  const encoded = Buffer.alloc(4);
  encoded.writeUInt32BE(value >>> 0);
  return encoded.toString('base64');
}
