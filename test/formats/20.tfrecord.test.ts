/**
 * TFRecord framing and tf.train.Example: masked CRC32C against published CRC32C vectors and a
 * record framed by hand, files checked by an independent Python reader/writer (its own bitwise
 * CRC32C), the DALI index text, random access, corruption and truncation naming the record, and
 * Example protobuf bytes derived by hand from the wire format.
 */
import { readFileSync, writeFileSync } from 'fs';
import * as path from 'path';

import {
  crc32c,
  decodeExample,
  encodeExample,
  encodeTfRecords,
  formatTfRecordIndex,
  maskedCrc32c,
  parseTfRecordIndex,
  readTfRecordAt,
  readTfRecords,
  S3dlioError,
} from '../../lib';
import { testBytes } from '../helpers/local';
import { useTempDir } from '../helpers/temp';
import { PY_TFRECORD, python, sha256 } from './tools';
import { testWith } from '../helpers/tools';

const tmp = useTempDir('s3dlio-tfrecord-');

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

function caught(fn: () => unknown): S3dlioError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(S3dlioError);
    return error as S3dlioError;
  }
  throw new Error('expected an error');
}

/** Records of assorted sizes, including an empty one. */
const RECORDS = [testBytes(100, 1), new Uint8Array(0), testBytes(3000, 2), Buffer.from('hello'), testBytes(1, 3)];

describe('masked CRC32C', () => {
  test('CRC32C vectors (RFC 3720 B.4 and the "123456789" check value)', () => {
    expect(crc32c('123456789')).toBe(0xe3069283);
    expect(crc32c(new Uint8Array(32))).toBe(0x8a9136aa);
    expect(crc32c(new Uint8Array(32).fill(0xff))).toBe(0x62a8ab43);
    expect(crc32c(Uint8Array.from({ length: 32 }, (_, i) => i))).toBe(0x46dd794e);
  });

  test('mask = rotate right by 15, plus 0xa282ead8 (mod 2^32)', () => {
    // 0xe3069283 >>> 15 = 0x0001c60d; (0xe3069283 << 17) mod 2^32 = 0x25060000; OR = 0x2507c60d;
    // + 0xa282ead8 = 0xc78ab0e5.
    expect(maskedCrc32c(Buffer.from('123456789'))).toBe(0xc78ab0e5);
    // CRC32C of nothing is 0: the mask is the delta itself.
    expect(maskedCrc32c(new Uint8Array(0))).toBe(0xa282ead8);
    // 'hello': CRC32C 0x9a71bb4c → 0x3763 | 0x76980000 = 0x76983763, + delta = 0x191c1fbb (carry dropped).
    expect(maskedCrc32c(Buffer.from('hello'))).toBe(0x191c1fbb);
  });

  test('a record framed by hand: length, masked CRC of the length bytes, data, masked CRC of the data', () => {
    // length 5 as uint64 LE; CRC32C(05 00 00 00 00 00 00 00) = 0xe4094dc0, masked 0x3e04b2ea.
    const expected = '0500000000000000' + 'eab2043e' + Buffer.from('hello').toString('hex') + 'bb1f1c19';
    const { data, index } = encodeTfRecords([Buffer.from('hello')]);
    expect(hex(data)).toBe(expected);
    expect(index).toEqual([{ offset: 0, length: 21 }]);
    // The empty record: masked CRC32C of eight zero bytes, then the bare delta.
    expect(hex(encodeTfRecords([new Uint8Array(0)]).data)).toBe('0000000000000000' + '29039807' + 'd8ea82a2');
  });
});

describe('TFRecord files', () => {
  testWith(
    ['numpy'],
    'an independent Python reader (its own CRC32C) verifies every CRC and gets the same records',
    () => {
      const file = path.join(tmp.path, 'ours.tfrecord');
      writeFileSync(file, encodeTfRecords(RECORDS).data);
      const shas = python<string[]>(
        `${PY_TFRECORD}\nprint(json.dumps([hashlib.sha256(r).hexdigest() for r in read_tfrecords(ARGS[0])]))`,
        file,
      );
      expect(shas).toEqual(RECORDS.map(sha256));
    },
  );

  testWith(['numpy'], 'reads a file the independent Python writer framed, records as zero-copy views', () => {
    const file = path.join(tmp.path, 'python.tfrecord');
    const sizes = python<number[]>(
      `${PY_TFRECORD}
records = [bytes((i * 7 + j) % 251 for j in range(n)) for i, n in enumerate([0, 1, 17, 4096, 300])]
write_tfrecords(ARGS[0], records)
print(json.dumps([len(r) for r in records]))`,
      file,
    );
    const bytes = readFileSync(file);
    const records = [...readTfRecords(bytes)];
    expect(records.map((r) => r.byteLength)).toEqual(sizes);
    records.forEach((record, i) => {
      expect(record.buffer).toBe(bytes.buffer);
      expect(Array.from(record)).toEqual(Array.from({ length: sizes[i]! }, (_, j) => (i * 7 + j) % 251));
    });
  });

  test('round trip: the records come back byte for byte, in order, as views of the file', () => {
    const { data } = encodeTfRecords(RECORDS);
    expect(data.byteLength).toBe(RECORDS.reduce((sum, r) => sum + r.byteLength + 16, 0));
    const read = [...readTfRecords(data)];
    expect(read.map(hex)).toEqual(RECORDS.map(hex));
    expect(read.every((r) => r.buffer === data.buffer)).toBe(true);
    expect([...readTfRecords(new Uint8Array(0))]).toEqual([]);
  });

  test('index: offsets and framed sizes, DALI text format, strict round trip, random access', () => {
    const { data, index } = encodeTfRecords(RECORDS);
    expect(index).toEqual([
      { offset: 0, length: 116 },
      { offset: 116, length: 16 },
      { offset: 132, length: 3016 },
      { offset: 3148, length: 21 },
      { offset: 3169, length: 17 },
    ]);
    const text = formatTfRecordIndex(index);
    expect(text).toBe('0 116\n116 16\n132 3016\n3148 21\n3169 17\n');
    expect(parseTfRecordIndex(text)).toEqual(index);
    expect(parseTfRecordIndex(text.trimEnd())).toEqual(index); // last newline optional
    expect(parseTfRecordIndex('')).toEqual([]);
    index.forEach(({ offset }, i) => {
      const record = readTfRecordAt(data, offset);
      expect(hex(record)).toBe(hex(RECORDS[i]!));
      expect(record.buffer).toBe(data.buffer);
    });
  });

  test.each([
    ['three fields', '0 116 7\n', 'line 1 is "0 116 7"'],
    ['not numbers', '0 116\nab cd\n', 'line 2 is "ab cd"'],
    ['a negative offset', '-1 20\n', 'line 1 is "-1 20"'],
    ['a blank line', '0 116\n\n116 16\n', 'line 2 is ""'],
    ['tabs', '0\t116\n', 'line 1 is "0\\t116"'],
    ['a size below the framing', '0 15\n', "line 1: size 15 is smaller than a record's 16 bytes of framing"],
    ['an unsafe integer', '9007199254740993 20\n', 'line 1 is "9007199254740993 20"'],
  ])('parseTfRecordIndex rejects %s', (_, text, message) => {
    const error = caught(() => parseTfRecordIndex(text));
    expect(error.code).toBe('ERR_BAD_FORMAT');
    expect(error.message).toContain(`parseTfRecordIndex: ${message}`);
  });

  test('a flipped data byte: records before it are yielded, then ERR_CHECKSUM_MISMATCH names record and offset', () => {
    const { data, index } = encodeTfRecords(RECORDS);
    data[index[2]!.offset + 12 + 1000] ^= 0x40;
    const yielded: Uint8Array[] = [];
    const error = caught(() => {
      for (const record of readTfRecords(data)) yielded.push(record);
    });
    expect(yielded).toHaveLength(2);
    expect(error.code).toBe('ERR_CHECKSUM_MISMATCH');
    expect(error.message).toMatch(
      /^readTfRecords: record 2 at byte offset 132: data CRC mismatch \(the CRC at byte offset 3144 does not match the 3000 data bytes at byte offset 144\): stored masked CRC32C 0x[0-9a-f]{8}, computed 0x[0-9a-f]{8}$/,
    );
    expect(caught(() => readTfRecordAt(data, 132)).message).toContain('record at byte offset 132: data CRC mismatch');
    // verify: false trusts the framing and returns the damaged bytes.
    const unchecked = [...readTfRecords(data, { verify: false })];
    expect(unchecked).toHaveLength(5);
    expect(unchecked[2]![1000]).toBe(RECORDS[2]![1000]! ^ 0x40);
  });

  test('a damaged length field fails its own CRC', () => {
    const { data, index } = encodeTfRecords(RECORDS);
    data[index[3]!.offset] = 200; // 'hello' now claims 200 bytes
    const error = caught(() => [...readTfRecords(data)]);
    expect(error.code).toBe('ERR_CHECKSUM_MISMATCH');
    expect(error.message).toContain('record 3 at byte offset 3148: length CRC mismatch');
    // Without the CRC check the bad length is caught as truncation.
    const unchecked = caught(() => [...readTfRecords(data, { verify: false })]);
    expect(unchecked.code).toBe('ERR_BAD_FORMAT');
    expect(unchecked.message).toContain('record 3 at byte offset 3148: truncated: the record declares 200 bytes');
  });

  test('truncation → ERR_BAD_FORMAT with the record number, offset and what is missing', () => {
    const { data } = encodeTfRecords(RECORDS);
    const cut = caught(() => [...readTfRecords(data.subarray(0, data.byteLength - 3))]);
    expect(cut.code).toBe('ERR_BAD_FORMAT');
    expect(cut.message).toBe(
      'readTfRecords: record 4 at byte offset 3169: truncated: the record declares 1 bytes of data (17 framed), only 14 bytes remain (the data ends at byte offset 3183)',
    );
    const inHeader = caught(() => [...readTfRecords(data.subarray(0, 3169 + 5))]);
    expect(inHeader.message).toBe(
      'readTfRecords: record 4 at byte offset 3169: truncated: the 12-byte record header needs 7 more bytes (the data ends at byte offset 3174)',
    );
  });

  test('readTfRecordAt: a wrong offset fails the CRC; an offset past the end is ERR_BAD_FORMAT', () => {
    const { data } = encodeTfRecords(RECORDS);
    expect(caught(() => readTfRecordAt(data, 117)).code).toBe('ERR_CHECKSUM_MISMATCH');
    const past = caught(() => readTfRecordAt(data, data.byteLength));
    expect(past.code).toBe('ERR_BAD_FORMAT');
    expect(past.message).toContain(`past the end of the ${data.byteLength}-byte file`);
    expect(() => readTfRecordAt(data, -1)).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }));
  });

  test('argument errors are thrown at the call, not at the first next()', () => {
    expect(() => readTfRecords('abc' as unknown as Uint8Array)).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }),
    );
    expect(() => readTfRecords(new Uint8Array(0), { verify: 'yes' as unknown as boolean })).toThrow(/options\.verify/);
    expect(() => encodeTfRecords(['x' as unknown as Uint8Array])).toThrow(/records\[0\]/);
    expect(() => formatTfRecordIndex([{ offset: 1.5, length: 16 }])).toThrow(/index\[0\]\.offset/);
  });
});

describe('tf.train.Example', () => {
  test('encodes to the bytes derived by hand from the protobuf wire format', () => {
    // 'a' → bytes_list ['x']:  BytesList  0a 01 78           Feature 0a 03 <BytesList>
    //   entry: key 0a 01 61, value 12 05 <Feature>                      → 10 bytes
    // 'b' → int64_list [1, -1]: packed varints 01 | ff ff ff ff ff ff ff ff ff 01 (11 bytes)
    //   Int64List 0a 0b <11>; Feature 1a 0d <13>; entry 0a 01 62 12 0f <15>  → 20 bytes
    // 'c' → float_list [1.0]: packed 00 00 80 3f; FloatList 0a 04 <4>; Feature 12 06 <6>
    //   entry 0a 01 63 12 08 <8>                                          → 13 bytes
    // Features: 0a 0a <entry a> 0a 14 <entry b> 0a 0d <entry c> = 49 bytes; Example: 0a 31 <49>.
    const expected = [
      '0a31',
      '0a0a' + '0a0161' + '1205' + '0a03' + '0a0178',
      '0a14' + '0a0162' + '120f' + '1a0d' + '0a0b' + '01' + 'ffffffffffffffffff01',
      '0a0d' + '0a0163' + '1208' + '1206' + '0a04' + '0000803f',
    ].join('');
    const bytes = encodeExample({ a: Buffer.from('x'), b: [1, -1], c: Float32Array.of(1) });
    expect(hex(bytes)).toBe(expected);
    // bigint and BigInt64Array inputs encode the same int64 list.
    expect(hex(encodeExample({ a: Buffer.from('x'), b: [1n, -1n], c: Float32Array.of(1) }))).toBe(expected);
    expect(hex(encodeExample({ a: [Buffer.from('x')], b: BigInt64Array.of(1n, -1n), c: Float32Array.of(1) }))).toBe(
      expected,
    );
    expect(hex(encodeExample({}))).toBe('0a00');
  });

  test('round trip of every kind, with zero-copy bytes values', () => {
    const image = testBytes(5000, 9);
    const bytes = encodeExample({
      image,
      names: [Buffer.from('cat'), new Uint8Array(0), Buffer.from('dög')],
      label: [0, 7, -3, Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER],
      big: [-(2n ** 63n), 2n ** 63n - 1n],
      scores: Float32Array.of(0.5, -1.25, Number.POSITIVE_INFINITY),
      empty: { kind: 'float', value: new Float32Array(0) },
      none: { kind: 'int64', value: new BigInt64Array(0) },
      nobytes: { kind: 'bytes', value: [] },
    });
    const decoded = decodeExample(bytes);
    expect([...decoded.keys()]).toEqual(['image', 'names', 'label', 'big', 'scores', 'empty', 'none', 'nobytes']);
    const imageFeature = decoded.get('image')!;
    expect(imageFeature.kind).toBe('bytes');
    const imageValue = (imageFeature.value as Uint8Array[])[0]!;
    expect(hex(imageValue)).toBe(hex(image));
    expect(imageValue.buffer).toBe(bytes.buffer);
    expect(decoded.get('names')).toEqual({
      kind: 'bytes',
      value: [Buffer.from('cat'), new Uint8Array(0), Buffer.from('dög')].map((b) => new Uint8Array(b)),
    });
    expect(decoded.get('label')).toEqual({
      kind: 'int64',
      value: BigInt64Array.of(0n, 7n, -3n, BigInt(Number.MAX_SAFE_INTEGER), BigInt(Number.MIN_SAFE_INTEGER)),
    });
    expect(decoded.get('big')).toEqual({ kind: 'int64', value: BigInt64Array.of(-(2n ** 63n), 2n ** 63n - 1n) });
    expect(decoded.get('scores')).toEqual({ kind: 'float', value: Float32Array.of(0.5, -1.25, Infinity) });
    expect(decoded.get('empty')).toEqual({ kind: 'float', value: new Float32Array(0) });
    expect(decoded.get('none')).toEqual({ kind: 'int64', value: new BigInt64Array(0) });
    expect(decoded.get('nobytes')).toEqual({ kind: 'bytes', value: [] });
  });

  test('decodes what other encoders may write: unpacked lists, unknown fields, repeated keys and fields', () => {
    // Feature 'n': int64_list written unpacked (08 05, 08 7f) then float_list unpacked (0d <f32>):
    // the later oneof member wins. Feature 'b' given twice: the last entry wins.
    // An unknown field 9 (varint) in Example and an unknown field 7 (fixed32) in the entry are skipped.
    const int64Unpacked = '1a04' + '0805' + '087f'; // 6 bytes
    const floatUnpacked = '1205' + '0d' + '0000c03f'; // 1.5; 7 bytes
    const entryN = '0a016e' + '3d00000000' + '120d' + int64Unpacked + floatUnpacked; // 3 + 5 + 2 + 13 = 23
    const entryB1 = '0a0162' + '1205' + '0a03' + '0a0131'; // 10
    const entryB2 = '0a0162' + '1205' + '0a03' + '0a0132';
    const features = '0a17' + entryN + '0a0a' + entryB1 + '0a0a' + entryB2; // 25 + 12 + 12 = 49
    const decoded = decodeExample(Buffer.from('4801' + '0a31' + features, 'hex'));
    expect([...decoded.keys()]).toEqual(['n', 'b']);
    expect(decoded.get('n')).toEqual({ kind: 'float', value: Float32Array.of(1.5) });
    expect(decoded.get('b')).toEqual({ kind: 'bytes', value: [new Uint8Array(Buffer.from('2'))] });
    // Two int64_list messages in one Feature (one packed, one not) merge: [1, 2].
    const twoLists = Buffer.from('0a10' + '0a0e' + '0a0178' + '1209' + '1a03' + '0a0101' + '1a02' + '0802', 'hex');
    expect(decodeExample(twoLists).get('x')).toEqual({ kind: 'int64', value: BigInt64Array.of(1n, 2n) });
  });

  test.each([
    ['a truncated message', '0a31' + '0a0a', /truncated field: 49 bytes declared, 2 left at byte 2/],
    ['a truncated varint', '0a01' + '80', /truncated varint at byte 3/],
    ['a wrong wire type for Example.features', '0801', /Example\.features has wire type 0/],
    ['an end-group wire type in an unknown field', '14', /unsupported wire type 4/],
    [
      'a feature without a list',
      '0a07' + '0a05' + '0a0161' + '1200',
      /feature "a" has no bytes_list, float_list or int64_list/,
    ],
    [
      'packed floats of 3 bytes',
      '0a0e' + '0a0c' + '0a0161' + '1207' + '1205' + '0a03' + '000000',
      /packed floats of 3 bytes \(not a multiple of 4\)/,
    ],
  ])('malformed protobuf → ERR_BAD_FORMAT: %s', (_, bytesHex, message) => {
    const error = caught(() => decodeExample(Buffer.from(bytesHex, 'hex')));
    expect(error.code).toBe('ERR_BAD_FORMAT');
    expect(error.message).toMatch(/^decodeExample: /);
    expect(error.message).toMatch(message);
  });

  test('argument errors: an empty [] (kind unknown), unsafe numbers, out-of-range bigints, other types', () => {
    expect(() => encodeExample({ x: [] })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
    expect(() => encodeExample({ x: [] })).toThrow(/give an empty one as \{ kind/);
    expect(() => encodeExample({ x: [1, 2 ** 53] })).toThrow(/features\["x"\]\[1\]/);
    expect(() => encodeExample({ x: [2n ** 63n] })).toThrow(/64-bit signed integer/);
    expect(() => encodeExample({ x: Float64Array.of(1) as unknown as Float32Array })).toThrow(TypeError);
    expect(() => encodeExample({ x: { kind: 'text', value: [] } as unknown as Uint8Array })).toThrow(
      /features\["x"\]\.kind/,
    );
  });
});
