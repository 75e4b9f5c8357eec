/** Checksums computed natively (CRC32C with the CPU's instruction where it has one). */
import * as native from './native';
import { invalidType, outOfRange, toBytes } from './validate';

/**
 * CRC32C (Castagnoli) of `data`, continuing from `seed` (the CRC of the bytes before it; 0 to
 * start): `crc32c(b, crc32c(a)) === crc32c(concat(a, b))`. Strings are hashed as UTF-8. This is
 * the checksum of GCS, of S3's `x-amz-checksum-crc32c`, and (masked) of TFRecord. Synchronous: it
 * runs at memory speed (about 10 GB/s with SSE4.2).
 */
export function crc32c(data: Uint8Array | ArrayBuffer | ArrayBufferView | string, seed = 0): number {
  const bytes = toBytes(data);
  if (typeof seed !== 'number') throw invalidType('seed', 'an unsigned 32-bit integer', seed);
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff)
    throw outOfRange('seed', 'an unsigned 32-bit integer', seed);
  return native.crc32c(bytes, seed);
}
