/**
 * Synthetic data: the dedup ratio measured by hashing 4 KiB blocks, the compression ratio measured
 * with deflate and zstd, incompressible data when compress = 1, seeds, streaming, bad options.
 */
import { createHash } from 'crypto';
import { deflateSync } from 'zlib';

import { compress as zstdCompress, init as zstdInit } from '@bokuweb/zstd-wasm';

import { DataGenerator, fillRandom, generateData } from '../../lib';
import { expectRatios } from '../helpers/datagen';
import { expectSameBytes } from '../helpers/local';

const MiB = 1024 * 1024;

function dedupRatio(bytes: Uint8Array): number {
  const unique = new Set<string>();
  for (let at = 0; at < bytes.byteLength; at += 4096)
    unique.add(
      createHash('sha1')
        .update(bytes.subarray(at, at + 4096))
        .digest('hex'),
    );
  return Math.ceil(bytes.byteLength / 4096) / unique.size;
}

beforeAll(() => zstdInit());

test.each([
  [1, 1],
  [2, 1],
  [4, 3],
  [3, 5],
  [1, 2],
  [8, 1.5],
])('dedup %d, compress %d: measured ratios within 10%% (dedup) and 20%% (deflate, zstd)', async (dedup, compress) => {
  const bytes = await generateData(16 * MiB, { dedup, compress, seed: 42 });
  expect(bytes.byteLength).toBe(16 * MiB);
  expect(dedupRatio(bytes) / dedup).toBeCloseTo(1, 1);
  // Compressors see one unique block at a time at most: measure on a slice of unique blocks.
  const sample = bytes.subarray(0, Math.min(4 * MiB, Math.floor(bytes.byteLength / dedup / 4096) * 4096));
  const deflated = sample.byteLength / deflateSync(sample, { level: 6 }).byteLength;
  const zstd = sample.byteLength / zstdCompress(Buffer.from(sample), 3).byteLength;
  for (const measured of [deflated, zstd]) {
    expect(measured).toBeGreaterThan(compress * 0.8);
    expect(measured).toBeLessThan(compress * 1.2 + 0.05);
  }
});

// Fractional ratios are ratios too: 1.5 must not become 1 (nor 2.5 become 2) anywhere on the way.
const FRACTIONAL: Array<[number, number]> = [
  [1.5, 1],
  [2.5, 1],
  [1, 1.5],
  [1, 2.5],
  [1.5, 2.5],
  [3.7, 1.25],
];

test.each(FRACTIONAL)(
  'fractional ratios: dedup %d, compress %d are met to the block (unique blocks) and the byte (random bytes per block)',
  async (dedup, compress) => {
    expectRatios(await generateData(8 * MiB, { dedup, compress, seed: 11 }), dedup, compress);
  },
);

test.each(FRACTIONAL)(
  'fractional ratios through DataGenerator chunks: dedup %d, compress %d',
  async (dedup, compress) => {
    const parts: Uint8Array[] = [];
    for await (const chunk of new DataGenerator(8 * MiB, { dedup, compress, seed: 12, chunkSize: 1 * MiB })) {
      parts.push(chunk);
    }
    expectRatios(Buffer.concat(parts), dedup, compress);
  },
);

test('compress = 1 is incompressible (deflate and zstd gain under 1%)', async () => {
  const bytes = await generateData(4 * MiB, { seed: 7 });
  expect(deflateSync(bytes).byteLength).toBeGreaterThan(bytes.byteLength * 0.99);
  expect(zstdCompress(Buffer.from(bytes), 3).byteLength).toBeGreaterThan(bytes.byteLength * 0.99);
});

test('the same seed gives the same bytes; no seed gives new bytes each call', async () => {
  expectSameBytes(await generateData(1 * MiB + 5, { seed: 99n }), await generateData(1 * MiB + 5, { seed: 99n }));
  const [a, b] = await Promise.all([generateData(64 * 1024), generateData(64 * 1024)]);
  expect(Buffer.from(a).equals(Buffer.from(b))).toBe(false);
});

test('DataGenerator streams any size in chunks that continue one stream (same bytes as one call)', async () => {
  const total = 5 * MiB + 123;
  const whole = await generateData(total, { seed: 5, dedup: 2, compress: 2 });
  const parts: Uint8Array[] = [];
  for await (const chunk of new DataGenerator(total, { seed: 5, dedup: 2, compress: 2, chunkSize: 1 * MiB })) {
    expect(chunk.byteLength).toBeLessThanOrEqual(1 * MiB);
    parts.push(chunk);
  }
  expectSameBytes(Buffer.concat(parts), whole);
});

test('fillRandom fills a caller buffer in place', async () => {
  const target = new Uint8Array(256 * 1024);
  await fillRandom(target, { seed: 3 });
  expectSameBytes(target, await generateData(256 * 1024, { seed: 3 }));
  expect(target.some((value) => value !== 0)).toBe(true);
});

test('bad options are precise errors', async () => {
  await expect(generateData(-1)).rejects.toMatchObject({ code: 'ERR_OUT_OF_RANGE' });
  await expect(generateData(10, { dedup: 0.5 })).rejects.toMatchObject({ code: 'ERR_OUT_OF_RANGE' });
  await expect(generateData(10, { compress: Number.NaN })).rejects.toMatchObject({ code: 'ERR_OUT_OF_RANGE' });
  await expect(generateData(10, { seed: 1.5 })).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_TYPE' });
  expect((await generateData(0)).byteLength).toBe(0);
});
