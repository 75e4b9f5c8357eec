/**
 * Ranges: `getRange(uri, offset, length)` on any object gives exactly the bytes of the slice
 * (clamped at the end, as Buffer.subarray), or the documented error: a TypeError
 * (ERR_INVALID_ARG_TYPE) or RangeError (ERR_OUT_OF_RANGE) for a bad offset or length, and
 * ERR_RANGE_NOT_SATISFIABLE for an offset past the end. On file://, direct:// and gs:// (through
 * the RangeEngine with tiny thresholds and chunks). And the RangeEngine's split: its requests
 * cover the window exactly once, in order, none larger than the threshold (first) or the chunk
 * size (the rest), never more in flight than `concurrency`.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import * as path from 'path';

import * as fc from 'fast-check';

import { getRange, type ObjectStore, S3dlioError } from '../../lib';
import { readInRanges, type RangeReader } from '../../lib/engine/range-engine';
import { gsTarget, newBucketName } from '../cloud/targets';
import { expectSameBytes } from '../helpers/local';
import { propertyRuns } from '../helpers/properties';

let scratch = '';
beforeAll(() => {
  scratch = mkdtempSync(path.join(tmpdir(), 's3dlio-prop-ranges-'));
});
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** Offsets and lengths: in range, at and past the end, huge, and every kind the API refuses. */
function position(size: number): fc.Arbitrary<unknown> {
  return fc.oneof(
    { weight: 6, arbitrary: fc.integer({ min: 0, max: size + 2 }) },
    fc.constantFrom(size, size + 1, 2 ** 40, Number.MAX_SAFE_INTEGER),
    fc.constantFrom(-1, -(2 ** 40), 0.5, size - 0.5, NaN, Infinity, -Infinity, 2 ** 53, -0),
    fc.constantFrom('1', null, 1n, true, {}),
  );
}

type Outcome =
  | { bytes: Uint8Array }
  | { error: 'ERR_INVALID_ARG_TYPE' | 'ERR_OUT_OF_RANGE' | 'ERR_RANGE_NOT_SATISFIABLE'; argument?: string };

/** What getRange(offset, length) must give on `data`, by the "Ranges" rules of docs/semantics.md. */
function expected(data: Uint8Array, offset: unknown, length: unknown): Outcome {
  for (const [name, value] of [
    ['offset', offset],
    ['length', length],
  ] as const) {
    if (name === 'length' && value === undefined) continue;
    if (typeof value !== 'number') return { error: 'ERR_INVALID_ARG_TYPE', argument: name };
    if (!Number.isSafeInteger(value) || value < 0) return { error: 'ERR_OUT_OF_RANGE', argument: name };
  }
  const start = offset as number;
  if (start > data.byteLength) return { error: 'ERR_RANGE_NOT_SATISFIABLE' };
  return { bytes: data.subarray(start, length === undefined ? undefined : start + (length as number)) };
}

async function expectOutcome(read: Promise<Uint8Array>, outcome: Outcome, what: string): Promise<void> {
  let bytes: Uint8Array;
  try {
    bytes = await read;
  } catch (error) {
    if (!('error' in outcome)) throw new Error(`${what}: expected bytes, got ${String(error)}`, { cause: error });
    expect(error).toMatchObject({ code: outcome.error });
    if (outcome.error === 'ERR_INVALID_ARG_TYPE') expect(error).toBeInstanceOf(TypeError);
    else if (outcome.error === 'ERR_OUT_OF_RANGE') expect(error).toBeInstanceOf(RangeError);
    else expect(error).toBeInstanceOf(S3dlioError);
    if (outcome.argument) expect((error as Error).message).toContain(`for \`${outcome.argument}\``);
    return;
  }
  if (!('bytes' in outcome)) throw new Error(`${what}: expected ${outcome.error}, got ${bytes.byteLength} bytes`);
  expectSameBytes(bytes, outcome.bytes, what);
}

/** An object of 0 to `max` random bytes, and an (offset, length?) pair for it. */
function objectAndRange(max: number) {
  return fc
    .uint8Array({ maxLength: max })
    .chain((data) =>
      fc.tuple(
        fc.constant(data),
        position(data.byteLength),
        fc.option(position(data.byteLength), { nil: undefined, freq: 4 }),
      ),
    );
}

describe.each(['file', 'direct'] as const)(
  '%s://: getRange(offset, length) is the slice or the documented error',
  (scheme) => {
    test('any object, any offset and length', async () => {
      let n = 0;
      await fc.assert(
        fc.asyncProperty(objectAndRange(10_000), async ([data, offset, length]) => {
          const file = path.join(scratch, `${scheme}-${++n}.bin`);
          writeFileSync(file, data);
          const uri = `${scheme}://${file}`;
          const what = `getRange(${scheme}, size ${data.byteLength}, ${String(offset)}, ${String(length)})`;
          await expectOutcome(
            getRange(uri, offset as number, length as number | undefined),
            expected(data, offset, length),
            what,
          );
          rmSync(file);
        }),
        propertyRuns(150),
      );
    });
  },
);

describe('gs://: getRange through the RangeEngine (tiny thresholds and chunks)', () => {
  const target = gsTarget();
  let store: ObjectStore;
  const bucket = `gs://${newBucketName('prop-ranges')}/`;
  beforeAll(async () => {
    store = target.store();
    await store.createBucket(bucket);
  });
  afterAll(() => store.deleteBucket(bucket, { force: true }));

  test('any object, any offset and length, any split', async () => {
    let n = 0;
    const split = fc.record({
      rangeThreshold: fc.integer({ min: 1, max: 600 }),
      chunkSize: fc.integer({ min: 1, max: 300 }),
      concurrency: fc.integer({ min: 1, max: 4 }),
    });
    await fc.assert(
      fc.asyncProperty(objectAndRange(2_000), split, async ([data, offset, length], ranges) => {
        const uri = `${bucket}object-${++n}`;
        await store.put(uri, data);
        const what = `getRange(gs, size ${data.byteLength}, ${String(offset)}, ${String(length)}, ${JSON.stringify(ranges)})`;
        await expectOutcome(
          store.getRange(uri, offset as number, length as number | undefined, ranges),
          expected(data, offset, length),
          what,
        );
      }),
      propertyRuns(25),
    );
  });
});

describe('RangeEngine: how a window is split', () => {
  /**
   * A reader over `data` that answers as a service does (a range past the end is clamped, the
   * object's size comes with the headers) and records the ranges asked for (clamped to the end,
   * as served) and how many were in flight at once.
   */
  function recordingReader(data: Uint8Array) {
    const served: Array<{ start: number; end: number }> = [];
    let inFlight = 0;
    let maxInFlight = 0;
    const read: RangeReader = async (range, placement) => {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      const end = Math.min(range.end, data.byteLength - 1);
      served.push({ start: range.start, end }); // in the order the ranges are asked for
      try {
        await new Promise((resolve) => setImmediate(resolve)); // let the other ranges start
        const bytes = data.subarray(range.start, end + 1);
        const target = placement.onHeaders({ length: bytes.byteLength, totalSize: data.byteLength });
        if (!target) return bytes.slice();
        if (target.byteLength !== bytes.byteLength) {
          throw new Error(
            `range ${range.start}-${end}: a target of ${target.byteLength} bytes for ${bytes.byteLength}`,
          );
        }
        target.set(bytes);
        return target;
      } finally {
        inFlight--;
      }
    };
    return { read, served, maxInFlight: () => maxInFlight };
  }

  test('the ranges cover [start, end] exactly once, in order, each within its limit; the bytes are the slice', async () => {
    const window = fc
      .integer({ min: 1, max: 3000 })
      .chain((size) =>
        fc.tuple(
          fc.constant(size),
          fc.integer({ min: 0, max: size - 1 }),
          fc.option(fc.integer({ min: 0, max: size + 100 }), { nil: undefined }),
        ),
      );
    const split = fc.record({
      rangeThreshold: fc.integer({ min: 1, max: 1000 }),
      chunkSize: fc.option(fc.integer({ min: 1, max: 400 }), { nil: undefined }),
      concurrency: fc.option(fc.integer({ min: 1, max: 6 }), { nil: undefined }),
    });
    await fc.assert(
      fc.asyncProperty(window, split, async ([size, start, endOffset], options) => {
        const data = Uint8Array.from({ length: size }, (_, i) => (i * 131 + 7) % 251);
        const end = endOffset === undefined ? undefined : start + endOffset;
        const reader = recordingReader(data);
        const bytes = await readInRanges(reader.read, { start, end }, options, undefined, 'mem://object');
        const last = Math.min(end ?? size - 1, size - 1);
        expectSameBytes(bytes, data.subarray(start, last + 1), 'assembled window');

        const { served } = reader;
        // In order, back to back, from start to the window's last byte: each byte once.
        expect(served[0]!.start).toBe(start);
        for (let i = 1; i < served.length; i++) expect(served[i]!.start).toBe(served[i - 1]!.end + 1);
        expect(served[served.length - 1]!.end).toBe(last);
        // The first request asks for the threshold; the others for at most a chunk each.
        expect(served[0]!.end - served[0]!.start + 1).toBeLessThanOrEqual(options.rangeThreshold);
        const chunkSize = options.chunkSize ?? 4 * 1024 * 1024;
        for (const range of served.slice(1)) expect(range.end - range.start + 1).toBeLessThanOrEqual(chunkSize);
        expect(served).toHaveLength(1 + Math.ceil(Math.max(0, last - start + 1 - options.rangeThreshold) / chunkSize));
        // The first request and at most `concurrency` others at once.
        expect(reader.maxInFlight()).toBeLessThanOrEqual(1 + (options.concurrency ?? 32));
      }),
      propertyRuns(300),
    );
  });
});
