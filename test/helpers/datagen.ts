/**
 * Measuring what the data generator promises, exactly, from the bytes: dedup as the number of
 * distinct 4 KiB blocks, compression as the length of each block's random prefix (the generator
 * writes `round(4096 / compress)` random bytes per block, then zeros).
 */
import { createHash } from 'crypto';

export const BLOCK = 4096;

/** Number of 4 KiB blocks (the last one may be short). */
export function blockCount(bytes: Uint8Array): number {
  return Math.ceil(bytes.byteLength / BLOCK);
}

/** Number of distinct 4 KiB blocks. */
export function uniqueBlocks(bytes: Uint8Array): number {
  const unique = new Set<string>();
  for (let at = 0; at < bytes.byteLength; at += BLOCK) {
    unique.add(
      createHash('sha1')
        .update(bytes.subarray(at, at + BLOCK))
        .digest('hex'),
    );
  }
  return unique.size;
}

/**
 * The longest run before the zero tail over all whole blocks: the random bytes per block (a
 * random prefix ends in zero bytes now and then, so the longest one is the generator's length).
 */
export function randomPrefixBytes(bytes: Uint8Array): number {
  let longest = 0;
  for (let at = 0; at + BLOCK <= bytes.byteLength; at += BLOCK) {
    let end = BLOCK;
    while (end > 0 && bytes[at + end - 1] === 0) end--;
    longest = Math.max(longest, end);
  }
  return longest;
}

/**
 * Checks that `bytes` has the dedup and compression ratios asked for, within what whole blocks and
 * whole bytes allow: the unique block count is `blocks / dedup` rounded (at most half a block
 * away), the random prefix `4096 / compress` rounded (at most half a byte away).
 */
export function expectRatios(bytes: Uint8Array, dedup: number, compress: number): void {
  expect(Math.abs(uniqueBlocks(bytes) - blockCount(bytes) / dedup)).toBeLessThanOrEqual(0.5);
  expect(Math.abs(randomPrefixBytes(bytes) - BLOCK / compress)).toBeLessThanOrEqual(0.5);
}
