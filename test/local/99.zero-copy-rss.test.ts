/**
 * Zero-copy proof: reading a 512 MiB object raises the process's peak RSS by about the object's
 * size, not twice that — the bytes go from the read syscall into memory that JS then views, with
 * no second copy. Each scheme is measured in a fresh child process (plain Node, lib/ compiled on
 * the fly) so nothing else in the jest worker disturbs the measurement.
 */
import { closeSync, openSync, rmSync, statSync, writeSync } from 'fs';
import * as path from 'path';

import { runNodeJson } from '../helpers/child';
import { SCHEMES } from '../helpers/local';
import { useTempDir } from '../helpers/temp';

const tmp = useTempDir('s3dlio-rss-');
const MiB = 1024 * 1024;
const SIZE = 512 * MiB;

/** Byte at `position` of the test file: a pattern, except each MiB starts with its index (u32 LE). */
function patternByte(position: number): number {
  return (position * 31 + 7) & 0xff;
}

interface Measurement {
  before: number;
  after: number;
  length: number;
  arrayBufferBytes: number;
  spots: number[];
  chunkIndexes: number[];
  externalBufferFallbacks: number;
}

const CHILD = `
  const s = require(LIB);
  (async () => {
    // Warm up: addon loaded, thread pool started, one small read done; then take the baseline.
    await s.get(ARGS.small);
    const before = process.resourceUsage().maxRSS;
    const bytes = await s.get(ARGS.uri);
    const after = process.resourceUsage().maxRSS;
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    console.log('RESULT ' + JSON.stringify({
      before,
      after,
      length: bytes.length,
      arrayBufferBytes: bytes.buffer.byteLength,
      spots: ARGS.spots.map((p) => bytes[p]),
      chunkIndexes: ARGS.chunks.map((k) => view.getUint32(k * ARGS.MiB, true)),
      externalBufferFallbacks: s.buildInfo().externalBufferFallbacks,
    }));
  })().catch((e) => { console.error(e); process.exit(1); });
`;

let file = '';
let small = '';

beforeAll(() => {
  // Written in 1 MiB chunks from one reused buffer: the parent never holds 512 MiB.
  file = path.join(tmp.path, 'big-512MiB.bin');
  small = path.join(tmp.path, 'small.bin');
  const chunk = Buffer.alloc(MiB);
  for (let j = 0; j < MiB; j++) chunk[j] = patternByte(j); // MiB is a multiple of 256: same pattern in every chunk
  const fd = openSync(file, 'w');
  try {
    for (let k = 0; k < SIZE / MiB; k++) {
      chunk.writeUInt32LE(k, 0);
      writeSync(fd, chunk, 0, MiB, k * MiB);
    }
  } finally {
    closeSync(fd);
  }
  const smallFd = openSync(small, 'w');
  writeSync(smallFd, chunk, 0, 8192);
  closeSync(smallFd);
  expect(statSync(file).size).toBe(SIZE);
});

afterAll(() => {
  if (file) rmSync(file, { force: true });
});

test.each(SCHEMES)('%s:// get() of 512 MiB raises peak RSS by less than 1.2 × 512 MiB', async (scheme) => {
  const spots = [5, 1000, 300 * MiB + 12_345, SIZE - 1];
  const chunks = [0, 1, 255, 511];
  const m = await runNodeJson<Measurement>(CHILD, {
    uri: `${scheme}://${file}`,
    small: `${scheme}://${small}`,
    spots,
    chunks,
    MiB,
  });
  expect(m.length).toBe(SIZE);
  expect(m.spots).toEqual(spots.map(patternByte));
  expect(m.chunkIndexes).toEqual(chunks);
  // The ArrayBuffer is the object's own memory (not a slice of something bigger or a second buffer).
  expect(m.arrayBufferBytes).toBe(SIZE);
  expect(m.externalBufferFallbacks).toBe(0);
  const growthBytes = (m.after - m.before) * 1024; // maxRSS is in KiB
  const limit = 1.2 * SIZE;
  if (growthBytes >= limit) {
    throw new Error(
      `${scheme}:// get of 512 MiB raised peak RSS by ${(growthBytes / MiB).toFixed(1)} MiB ` +
        `(limit ${(limit / MiB).toFixed(1)} MiB; baseline ${(m.before / 1024).toFixed(1)} MiB): the bytes were copied`,
    );
  }
  expect(growthBytes).toBeLessThan(limit);
});
