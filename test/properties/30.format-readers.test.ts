/**
 * Format readers on hostile input: random bytes, and valid NPY, NPZ, ZIP, TFRecord and
 * tf.train.Example files with bit flips, truncations, inserted or deleted bytes and huge declared
 * lengths, at any byte offset in memory. A reader returns a result or throws S3dlioError
 * ERR_BAD_FORMAT / ERR_CHECKSUM_MISMATCH: never another error from deep inside (a RangeError, a
 * TypeError, a stack overflow), never a hang, never an allocation of a declared size whose bytes
 * are not there. Valid files read back as written.
 */
import { crc32, deflateRawSync } from 'zlib';

import * as fc from 'fast-check';

import {
  decodeExample,
  encodeExample,
  encodeNpy,
  encodeNpz,
  encodeTfRecords,
  maskedCrc32c,
  NPY_DTYPES,
  parseNpy,
  parseTfRecordIndex,
  readNpz,
  readTfRecordAt,
  readTfRecords,
  S3dlioError,
  type ExampleFeatureInput,
  type NpyRawInput,
} from '../../lib';
import { encodeZip, readZip } from '../../lib/formats/zip';
import { runNodeJson } from '../helpers/child';
import { NPY_ITEM_SIZE } from '../helpers/npy';
import { propertyRuns } from '../helpers/properties';

const READER_ERRORS = ['ERR_BAD_FORMAT', 'ERR_CHECKSUM_MISMATCH'];

/** Runs a reader; passes when it returns or throws a reader error, fails with the error otherwise. */
function readsOrRefuses(what: string, read: () => unknown): void {
  try {
    read();
  } catch (error) {
    if (error instanceof S3dlioError && READER_ERRORS.includes(error.code)) return;
    const described = error instanceof Error ? `${error.constructor.name} ${error.message}` : String(error);
    throw new Error(`${what} threw ${described}; expected a result or ERR_BAD_FORMAT / ERR_CHECKSUM_MISMATCH`, {
      cause: error,
    });
  }
}

/** `bytes` copied to `offset` bytes into a new buffer, so readers see unaligned input too. */
function placedAt(bytes: Uint8Array, offset: number): Uint8Array {
  const out = new Uint8Array(new ArrayBuffer(offset + bytes.byteLength), offset, bytes.byteLength);
  out.set(bytes);
  return out;
}

// --- valid files -------------------------------------------------------------------------------

const npyInput: fc.Arbitrary<NpyRawInput> = fc
  .record({
    dtype: fc.constantFrom(...NPY_DTYPES),
    shape: fc.array(fc.nat(4), { maxLength: 3 }),
    fortranOrder: fc.boolean(),
  })
  .chain(({ dtype, shape, fortranOrder }) => {
    const length = shape.reduce((product, dim) => product * dim, 1) * NPY_ITEM_SIZE[dtype];
    return fc
      .uint8Array({ minLength: length, maxLength: length })
      .map((data) => ({ dtype, shape, fortranOrder, data }));
  });

const arrayName = fc.string({ unit: 'grapheme', minLength: 1, maxLength: 8 });

const npzArrays = fc.dictionary(arrayName, npyInput, { minKeys: 1, maxKeys: 3 });

const zipEntries = fc.uniqueArray(
  fc.record({
    name: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 12 }),
    data: fc.uint8Array({ maxLength: 64 }),
  }),
  { selector: (entry) => entry.name, minLength: 0, maxLength: 4 },
);

/** A one-entry archive whose entry is deflated (encodeZip only stores), as zip tools write it. */
function deflatedZip(name: string, data: Uint8Array): Uint8Array {
  const nameBytes = Buffer.from(name, 'utf8');
  const compressed = deflateRawSync(data);
  const crc = crc32(data);
  const local = Buffer.alloc(30);
  local.writeUInt32LE(0x04034b50, 0);
  local.writeUInt16LE(20, 4);
  local.writeUInt16LE(8, 8); // deflated
  local.writeUInt32LE(crc, 14);
  local.writeUInt32LE(compressed.byteLength, 18);
  local.writeUInt32LE(data.byteLength, 22);
  local.writeUInt16LE(nameBytes.byteLength, 26);
  const central = Buffer.alloc(46);
  central.writeUInt32LE(0x02014b50, 0);
  central.writeUInt16LE(20, 4);
  central.writeUInt16LE(20, 6);
  central.writeUInt16LE(8, 10);
  central.writeUInt32LE(crc, 16);
  central.writeUInt32LE(compressed.byteLength, 20);
  central.writeUInt32LE(data.byteLength, 24);
  central.writeUInt16LE(nameBytes.byteLength, 28);
  const centralOffset = local.byteLength + nameBytes.byteLength + compressed.byteLength;
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(1, 8);
  end.writeUInt16LE(1, 10);
  end.writeUInt32LE(central.byteLength + nameBytes.byteLength, 12);
  end.writeUInt32LE(centralOffset, 16);
  return Buffer.concat([local, nameBytes, compressed, central, nameBytes, end]);
}

const tfRecords = fc.array(fc.uint8Array({ maxLength: 48 }), { maxLength: 5 });

const exampleFeature: fc.Arbitrary<ExampleFeatureInput> = fc.oneof(
  fc.array(fc.uint8Array({ maxLength: 16 }), { maxLength: 4 }).map((value) => ({ kind: 'bytes' as const, value })),
  fc
    .array(fc.float({ noNaN: true }), { maxLength: 6 })
    .map((value) => ({ kind: 'float' as const, value: Float32Array.from(value) })),
  fc
    .array(fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }), { maxLength: 6 })
    .map((value) => ({ kind: 'int64' as const, value: BigInt64Array.from(value) })),
);

const exampleFeatures = fc.dictionary(fc.string({ unit: 'grapheme', maxLength: 8 }), exampleFeature, { maxKeys: 4 });

// --- damage ------------------------------------------------------------------------------------

type Damage =
  | { kind: 'flip'; at: number; bit: number }
  | { kind: 'truncate'; at: number }
  | { kind: 'insert'; at: number; bytes: Uint8Array }
  | { kind: 'delete'; at: number; count: number }
  | { kind: 'huge'; at: number; width: 2 | 4 | 8; value: bigint };

const damage: fc.Arbitrary<Damage> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.nat(7) }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({
    kind: fc.constant('insert' as const),
    at: fc.nat(),
    bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }),
  }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), count: fc.integer({ min: 1, max: 16 }) }),
  fc.record({
    kind: fc.constant('huge' as const),
    at: fc.nat(),
    width: fc.constantFrom(2 as const, 4 as const, 8 as const),
    // Declared lengths and counts a file cannot back: 2^16-1, 2^31, 2^32-1, 2^40, 2^63, 2^64-1.
    value: fc.constantFrom(0xffffn, 2n ** 31n, 2n ** 32n - 1n, 2n ** 40n, 2n ** 63n, 2n ** 64n - 1n),
  }),
);

function damaged(bytes: Uint8Array, damages: readonly Damage[]): Uint8Array {
  let out = Buffer.from(bytes);
  for (const d of damages) {
    const at = d.at % (out.byteLength + 1);
    if (d.kind === 'flip' && out.byteLength > 0) out[d.at % out.byteLength] ^= 1 << d.bit;
    else if (d.kind === 'truncate') out = out.subarray(0, at);
    else if (d.kind === 'insert') out = Buffer.concat([out.subarray(0, at), d.bytes, out.subarray(at)]);
    else if (d.kind === 'delete') out = Buffer.concat([out.subarray(0, at), out.subarray(at + d.count)]);
    else if (d.kind === 'huge') {
      const field = Buffer.alloc(8);
      field.writeBigUInt64LE(d.value & (2n ** BigInt(8 * d.width) - 1n));
      out = Buffer.from(out);
      out.set(field.subarray(0, Math.min(d.width, out.byteLength - at)), at);
    }
  }
  return new Uint8Array(out);
}

/** A valid file with 1 to 3 kinds of damage, at any byte offset in memory. */
function damagedFile(valid: fc.Arbitrary<Uint8Array>): fc.Arbitrary<Uint8Array> {
  return fc
    .tuple(valid, fc.array(damage, { minLength: 1, maxLength: 3 }), fc.nat(7))
    .map(([bytes, damages, offset]) => placedAt(damaged(bytes, damages), offset));
}

// --- the readers -------------------------------------------------------------------------------

const validNpy = npyInput.map((array) => encodeNpy(array));
const validNpz = npzArrays.map((arrays) => encodeNpz(arrays));
const validZip = fc.oneof(
  fc.tuple(zipEntries, fc.constantFrom(1, 64)).map(([entries, align]) => encodeZip(entries, { align })),
  fc
    .tuple(fc.string({ minLength: 1, maxLength: 8 }), fc.uint8Array({ maxLength: 200 }))
    .map(([n, d]) => deflatedZip(n, d)),
);
const validTfRecord = tfRecords.map((records) => encodeTfRecords(records).data);
const validExample = exampleFeatures.map((features) => encodeExample(features));

/** NPY preambles in front of header text made of the characters a header has, nested at random. */
const npyLike = fc
  .tuple(
    fc.constantFrom(1, 2, 3),
    fc.oneof(
      fc.string({ unit: fc.constantFrom(...`{}()[]'":, -0123456789TrueFalsNoL<|>biuf8\n`.split('')), maxLength: 120 }),
      // Deep enough to overflow the stack of a parser that recurses without a bound.
      fc
        .tuple(fc.integer({ min: 0, max: 20_000 }), fc.constantFrom('[', '(', '{'))
        .map(([depth, open]) => `{'shape': ${open.repeat(depth)}`),
    ),
    fc.uint8Array({ maxLength: 32 }),
  )
  .map(([major, header, data]) => {
    const text = Buffer.from(header, major === 3 ? 'utf8' : 'latin1');
    const lengthBytes = major === 1 ? 2 : 4;
    const preamble = Buffer.alloc(8 + lengthBytes);
    preamble.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, major, 0]);
    if (lengthBytes === 2) preamble.writeUInt16LE(text.byteLength, 8);
    else preamble.writeUInt32LE(text.byteLength, 8);
    return new Uint8Array(Buffer.concat([preamble, text, data]));
  });

const READERS: Array<[string, fc.Arbitrary<Uint8Array>, (bytes: Uint8Array) => unknown]> = [
  ['parseNpy', validNpy, (bytes) => parseNpy(bytes)],
  ['readNpz', validNpz, (bytes) => readNpz(bytes)],
  ['readNpz (verify: false)', validNpz, (bytes) => readNpz(bytes, { verify: false })],
  ['readZip', validZip, (bytes) => readZip(bytes)],
  ['readZip (verify: false)', validZip, (bytes) => readZip(bytes, { verify: false })],
  ['readTfRecords', validTfRecord, (bytes) => Array.from(readTfRecords(bytes))],
  ['readTfRecords (verify: false)', validTfRecord, (bytes) => Array.from(readTfRecords(bytes, { verify: false }))],
  ['decodeExample', validExample, (bytes) => decodeExample(bytes)],
];

describe.each(READERS)('%s', (name, valid, read) => {
  test('random bytes: a result or a reader error, nothing else', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 256 }), fc.nat(7), (bytes, offset) => {
        readsOrRefuses(name, () => read(placedAt(bytes, offset)));
      }),
      propertyRuns(300),
    );
  });

  test('damaged valid files: a result or a reader error, nothing else', () => {
    fc.assert(
      fc.property(damagedFile(valid), (bytes) => readsOrRefuses(name, () => read(bytes))),
      propertyRuns(500),
    );
  });
});

test('parseNpy of NPY preambles before header-like text (any nesting), damaged or not', () => {
  fc.assert(
    fc.property(fc.oneof(npyLike, damagedFile(npyLike)), (bytes) => readsOrRefuses('parseNpy', () => parseNpy(bytes))),
    propertyRuns(300),
  );
});

test('readTfRecordAt at any offset of a damaged file: a record or a reader error', () => {
  fc.assert(
    fc.property(damagedFile(validTfRecord), fc.nat(600), fc.boolean(), (bytes, offset, verify) => {
      readsOrRefuses('readTfRecordAt', () => readTfRecordAt(bytes, offset, { verify }));
    }),
    propertyRuns(300),
  );
});

test('parseTfRecordIndex of any text: entries or ERR_BAD_FORMAT', () => {
  const indexText = fc.oneof(
    fc.string({ unit: 'binary', maxLength: 80 }),
    fc.string({ unit: fc.constantFrom(...'0123456789 \n-+.e'.split('')), maxLength: 80 }),
  );
  fc.assert(
    fc.property(indexText, (text) => readsOrRefuses('parseTfRecordIndex', () => parseTfRecordIndex(text))),
    propertyRuns(300),
  );
});

describe('valid files read back as written, wherever they sit in memory', () => {
  const plain = (array: {
    dtype: string;
    shape: readonly number[];
    fortranOrder?: boolean;
    data: ArrayBufferView;
  }) => ({
    dtype: array.dtype,
    shape: [...array.shape],
    fortranOrder: array.fortranOrder ?? false,
    data: Buffer.from(array.data.buffer, array.data.byteOffset, array.data.byteLength).toString('hex'),
  });

  test('NPY', () => {
    fc.assert(
      fc.property(npyInput, fc.nat(7), (array, offset) => {
        expect(plain(parseNpy(placedAt(encodeNpy(array), offset)))).toEqual(plain(array));
      }),
      propertyRuns(200),
    );
  });

  test('NPZ', () => {
    fc.assert(
      fc.property(npzArrays, fc.nat(7), (arrays, offset) => {
        const read = readNpz(placedAt(encodeNpz(arrays), offset));
        expect([...read.keys()].sort()).toEqual(Object.keys(arrays).sort());
        for (const [key, array] of read) expect(plain(array)).toEqual(plain(arrays[key]!));
      }),
      propertyRuns(100),
    );
  });

  test('ZIP, stored and deflated', () => {
    const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');
    fc.assert(
      fc.property(zipEntries, fc.constantFrom(1, 64), fc.nat(7), (entries, align, offset) => {
        const read = readZip(placedAt(encodeZip(entries, { align }), offset));
        expect(read.map((entry) => [entry.name, hex(entry.data)])).toEqual(entries.map((e) => [e.name, hex(e.data)]));
      }),
      propertyRuns(100),
    );
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 8 }), fc.uint8Array({ maxLength: 300 }), (name, data) => {
        const [entry] = readZip(deflatedZip(name, data));
        expect([entry!.name, entry!.method, hex(entry!.data)]).toEqual([name, 'deflated', hex(data)]);
      }),
      propertyRuns(50),
    );
  });

  test('TFRecord', () => {
    fc.assert(
      fc.property(tfRecords, fc.nat(7), (records, offset) => {
        const { data, index } = encodeTfRecords(records);
        const placed = placedAt(data, offset);
        const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');
        expect(Array.from(readTfRecords(placed), hex)).toEqual(records.map(hex));
        expect(index.map((entry) => hex(readTfRecordAt(placed, entry.offset)))).toEqual(records.map(hex));
      }),
      propertyRuns(100),
    );
  });

  test('tf.train.Example', () => {
    fc.assert(
      fc.property(exampleFeatures, fc.nat(7), (features, offset) => {
        const decoded = decodeExample(placedAt(encodeExample(features), offset));
        expect(new Map([...decoded].map(([key, feature]) => [key, normalised(feature)]))).toEqual(
          new Map(Object.entries(features).map(([key, feature]) => [key, normalised(feature as never)])),
        );
      }),
      propertyRuns(100),
    );
  });
});

/** A feature as plain values (typed-array views and copies compare alike). */
function normalised(feature: { kind: string; value: Iterable<unknown> }): unknown {
  return { kind: feature.kind, value: Array.from(feature.value, (v) => (v instanceof Uint8Array ? Array.from(v) : v)) };
}

// --- regressions the properties found, and declared sizes ----------------------------------------

/** A `.npy` file with `header` as its header text (format 1.0) and `data` after it. */
function npyWithHeader(header: string, data = new Uint8Array(0)): Uint8Array {
  const text = Buffer.from(header, 'latin1');
  const preamble = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, 0, 0]);
  preamble.writeUInt16LE(text.byteLength, 8);
  return new Uint8Array(Buffer.concat([preamble, text, data]));
}

function readerError(read: () => unknown): S3dlioError {
  try {
    read();
  } catch (error) {
    if (error instanceof S3dlioError) return error;
    throw error;
  }
  throw new Error('expected the reader to throw');
}

describe('regressions', () => {
  test('an NPY header nested thousands of levels deep is ERR_BAD_FORMAT, not a stack overflow', () => {
    for (const open of ['[', '(', '{']) {
      const error = readerError(() => parseNpy(npyWithHeader(`{'shape': ${open.repeat(20_000)}`)));
      expect(error.code).toBe('ERR_BAD_FORMAT');
      expect(error.message).toMatch(/nested deeper than 32 levels/);
    }
    // NumPy's own headers nest three levels (a structured descr); those still parse as far as the dtype.
    const structured = readerError(() =>
      parseNpy(npyWithHeader("{'descr': [('a', '<f4', (2, 3))], 'fortran_order': False, 'shape': (1,), }")),
    );
    expect(structured.message).toMatch(/structured dtypes/);
  });

  test('a Feature whose list is repeated 50,000 times decodes every value, joined once (no quadratic hang)', async () => {
    // Merging at each repetition copied everything decoded so far: over a minute of CPU for this 250 KB
    // input. It runs in a child process killed after 30 s, so a regression fails instead of hanging.
    const counts = await runNodeJson<Record<string, [number, boolean]>>(
      `const { decodeExample } = require(LIB + '/formats/example');
       const field = (tag, payload) => {
         const length = [];
         let n = payload.byteLength;
         for (; n >= 128; n = Math.floor(n / 128)) length.push((n % 128) | 128);
         return Buffer.concat([Buffer.from([tag, ...length, n]), payload]);
       };
       const repeated = (list, times) => {
         const entry = Buffer.concat([Buffer.from([0x0a, 0x01, 0x6b]), field(0x12, Buffer.concat(Array(times).fill(list)))]);
         return decodeExample(field(0x0a, field(0x0a, entry))).get('k');
       };
       const bytes = repeated(Buffer.from([0x0a, 0x03, 0x0a, 0x01, 0x76]), 50000); // bytes_list { "v" }
       const floats = repeated(Buffer.from([0x12, 0x05, 0x0d, 0, 0, 0xc0, 0x3f]), 50000); // float_list { 1.5 }
       const ints = repeated(Buffer.from([0x1a, 0x02, 0x08, 0x07]), 50000); // int64_list { 7 }
       console.log('RESULT ' + JSON.stringify({
         bytes: [bytes.value.length, bytes.value.every((v) => v.length === 1 && v[0] === 0x76)],
         float: [floats.value.length, floats.value.every((v) => v === 1.5)],
         int64: [ints.value.length, ints.value.every((v) => v === 7n)],
       }));`,
      null,
      [],
      { killAfterMs: 30_000 },
    );
    expect(counts).toEqual({ bytes: [50_000, true], float: [50_000, true], int64: [50_000, true] });
  });
});

describe('huge declared sizes fail at once, before anything of that size is allocated', () => {
  /** The reader's error, and how much ArrayBuffer memory grew while it ran. */
  function failsWithout(read: () => unknown): { code: string; grewBy: number } {
    const before = process.memoryUsage().arrayBuffers;
    const error = readerError(read);
    return { code: error.code, grewBy: process.memoryUsage().arrayBuffers - before };
  }
  const SMALL = 16 * 1024 * 1024; // far below any declared size here

  test('NPY: a shape of 2^40 elements', () => {
    const result = failsWithout(() =>
      parseNpy(npyWithHeader("{'descr': '<f8', 'fortran_order': False, 'shape': (1099511627776,), }")),
    );
    expect(result.code).toBe('ERR_BAD_FORMAT');
    expect(result.grewBy).toBeLessThan(SMALL);
  });

  test('TFRecord: a record declaring 2^40 bytes (with a valid length CRC)', () => {
    const bytes = Buffer.from(encodeTfRecords([new Uint8Array(4)]).data);
    bytes.writeBigUInt64LE(2n ** 40n, 0);
    // A matching length CRC: the reader trusts the length and must check it against the bytes.
    bytes.writeUInt32LE(maskedCrc32c(bytes.subarray(0, 8)), 8);
    const result = failsWithout(() => Array.from(readTfRecords(bytes)));
    expect(result.code).toBe('ERR_BAD_FORMAT');
    expect(result.grewBy).toBeLessThan(SMALL);
  });

  test('ZIP: entries declaring 4 GiB, stored and deflated', () => {
    const stored = Buffer.from(encodeZip([{ name: 'a', data: new Uint8Array(8) }], { align: 1 }));
    const centralAt = stored.readUInt32LE(stored.byteLength - 6);
    stored.writeUInt32LE(0xfffffffe, centralAt + 20);
    stored.writeUInt32LE(0xfffffffe, centralAt + 24);
    const deflated = Buffer.from(deflatedZip('a', new Uint8Array(8)));
    const deflatedCentralAt = deflated.readUInt32LE(deflated.byteLength - 6);
    deflated.writeUInt32LE(0xfffffffe, deflatedCentralAt + 24); // uncompressed size
    for (const bytes of [stored, deflated]) {
      const result = failsWithout(() => readZip(bytes));
      expect(result.code).toBe('ERR_BAD_FORMAT');
      expect(result.grewBy).toBeLessThan(SMALL);
    }
  });

  test('tf.train.Example: a field declaring 2^40 bytes', () => {
    const lengthVarint = [0x80, 0x80, 0x80, 0x80, 0x80, 0x20]; // 2^40
    const result = failsWithout(() => decodeExample(Uint8Array.from([0x0a, ...lengthVarint, 0x0a])));
    expect(result.code).toBe('ERR_BAD_FORMAT');
    expect(result.grewBy).toBeLessThan(SMALL);
  });
});
