/**
 * The NPY header byte for byte, against numpy's rule (numpy/lib/format.py, `_wrap_header`) written
 * out here from the format's specification, against headers numpy itself wrote (kept as literals,
 * so this runs without numpy), and, where numpy is installed, against numpy live for every rank
 * it allows. The rule: magic, version, a little-endian header length (2 bytes in 1.0, 4 in 2.0),
 * then the dict `{'descr': …, 'fortran_order': …, 'shape': …, }` (keys sorted, Python reprs), 21
 * minus the digits of the growth axis (the first, or the last in Fortran order) spare spaces,
 * then spaces and one `\n` so the whole header is a multiple of 64 bytes: always at least one
 * space, and a full 64 when it would otherwise end exactly on a boundary. Version 2.0 only when
 * the 1.0 length field (at most 65535) cannot hold it.
 */
import { encodeNpy, parseNpy, type NpyDtype } from '../../lib';
import { NPY_ITEM_SIZE } from '../helpers/npy';
import { testWith } from '../helpers/tools';
import { python } from './tools';

const DTYPES: NpyDtype[] = ['|b1', '|u1', '|i1', '<u2', '<i2', '<u4', '<i4', '<u8', '<i8', '<f4', '<f8'];

/** Python's repr of a tuple of ints: `()`, `(3,)`, `(2, 3)`. */
function tupleRepr(shape: readonly number[]): string {
  return shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
}

/** The header numpy writes for this array, built from the rule above (not from the library). */
function headerByRule(descr: string, fortran: boolean, shape: readonly number[]): Buffer {
  const dict = `{'descr': '${descr}', 'fortran_order': ${fortran ? 'True' : 'False'}, 'shape': ${tupleRepr(shape)}, }`;
  const growth = shape.length === 0 ? 0 : Math.max(0, 21 - String(shape[fortran ? shape.length - 1 : 0]).length);
  const text = dict + ' '.repeat(growth);
  const hlen = text.length + 1;
  for (const [version, field] of [
    [1, 2],
    [2, 4],
  ]) {
    const padlen = 64 - ((6 + 2 + field + hlen) % 64);
    if (field === 2 && hlen + padlen > 0xffff) continue;
    const prefix = Buffer.alloc(8 + field);
    Buffer.from('\x93NUMPY', 'latin1').copy(prefix);
    prefix[6] = version;
    if (field === 2) prefix.writeUInt16LE(hlen + padlen, 8);
    else prefix.writeUInt32LE(hlen + padlen, 8);
    return Buffer.concat([prefix, Buffer.from(text + ' '.repeat(padlen) + '\n', 'latin1')]);
  }
  throw new Error('unreachable');
}

/** What our encoder writes before the data of a zero-filled array of this shape. */
function ourHeader(dtype: NpyDtype, fortranOrder: boolean, shape: number[]): Buffer {
  const count = shape.reduce((product, dim) => product * dim, 1);
  const data = new Uint8Array(count * NPY_ITEM_SIZE[dtype]);
  const file = Buffer.from(encodeNpy({ dtype, shape, data, fortranOrder }));
  return file.subarray(0, file.byteLength - data.byteLength);
}

const ones = (rank: number): number[] => Array(rank).fill(1);

describe('headers numpy wrote (np.save, numpy 2.4), kept as literals', () => {
  // [descr, fortran_order, shape, total header bytes, the 10-byte preamble, the dict as written]
  const NUMPY: Array<[NpyDtype, boolean, number[], number, string, string]> = [
    [
      '|u1',
      false,
      ones(15),
      192,
      '\x93NUMPY\x01\x00\xb6\x00',
      "{'descr': '|u1', 'fortran_order': False, 'shape': (1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1), }",
    ],
    [
      '|i1',
      false,
      ones(14),
      128,
      '\x93NUMPY\x01\x00v\x00',
      "{'descr': '|i1', 'fortran_order': False, 'shape': (1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1), }",
    ],
    [
      '<i8',
      false,
      ones(64),
      320,
      '\x93NUMPY\x01\x006\x01',
      `{'descr': '<i8', 'fortran_order': False, 'shape': (${ones(64).join(', ')}), }`,
    ],
    ['<f8', false, [], 128, '\x93NUMPY\x01\x00v\x00', "{'descr': '<f8', 'fortran_order': False, 'shape': (), }"],
    ['|b1', false, [0], 128, '\x93NUMPY\x01\x00v\x00', "{'descr': '|b1', 'fortran_order': False, 'shape': (0,), }"],
    ['<i4', true, [2, 3], 128, '\x93NUMPY\x01\x00v\x00', "{'descr': '<i4', 'fortran_order': True, 'shape': (2, 3), }"],
    [
      '<u2',
      false,
      [0, 1e15],
      128,
      '\x93NUMPY\x01\x00v\x00',
      "{'descr': '<u2', 'fortran_order': False, 'shape': (0, 1000000000000000), }",
    ],
    [
      '<u8',
      false,
      [1234567890123456, 0],
      128,
      '\x93NUMPY\x01\x00v\x00',
      "{'descr': '<u8', 'fortran_order': False, 'shape': (1234567890123456, 0), }",
    ],
  ];

  test.each(NUMPY)('%s fortran=%p, shape %j', (dtype, fortran, shape, total, preamble, dict) => {
    const header = ourHeader(dtype, fortran, shape);
    const expected = Buffer.concat([
      Buffer.from(preamble, 'latin1'),
      Buffer.from(dict.padEnd(total - 11, ' ') + '\n', 'latin1'),
    ]);
    expect(header.byteLength).toBe(total);
    expect(header.toString('latin1')).toBe(expected.toString('latin1'));
    // The rule written out above agrees with numpy too.
    expect(headerByRule(dtype, fortran, shape).toString('latin1')).toBe(expected.toString('latin1'));
  });
});

describe('the rule, over every rank numpy allows, every dtype and both orders', () => {
  test('ranks 0–64 of ones: the exact bytes, a multiple of 64, newline-terminated, version 1.0', () => {
    for (const dtype of DTYPES) {
      for (const fortran of [false, true]) {
        for (let rank = 0; rank <= 64; rank++) {
          const shape = ones(rank);
          const header = ourHeader(dtype, fortran, shape);
          const label = `${dtype} fortran=${fortran} rank ${rank}`;
          expect({ label, header: header.toString('latin1') }).toEqual({
            label,
            header: headerByRule(dtype, fortran, shape).toString('latin1'),
          });
          expect({ label, aligned: header.byteLength % 64, last: header[header.byteLength - 1] }).toEqual({
            label,
            aligned: 0,
            last: 0x0a,
          });
          expect({ label, length: header.readUInt16LE(8) }).toEqual({ label, length: header.byteLength - 10 });
        }
      }
    }
  });

  test('the growth axis is the first in C order and the last in Fortran order (where it moves the padding)', () => {
    // Empty arrays, so any dimension fits: 1 to 15 digits on one axis, 1 on the other.
    let boundaries = 0;
    for (let rank = 2; rank <= 30; rank++) {
      for (let digits = 1; digits <= 15; digits++) {
        const big = Number('9'.repeat(digits));
        for (const fortran of [false, true]) {
          for (const shape of [
            [big, ...ones(rank - 2), 0],
            [0, ...ones(rank - 2), big],
          ]) {
            const header = ourHeader('<f8', fortran, shape);
            const expected = headerByRule('<f8', fortran, shape);
            expect(header.toString('latin1')).toBe(expected.toString('latin1'));
            // Where the other axis would give another length, this case tells the two apart.
            const otherAxis = headerByRule('<f8', !fortran, shape).length - expected.length;
            if (otherAxis !== 0) boundaries++;
          }
        }
      }
    }
    expect(boundaries).toBeGreaterThan(0);
  });

  test('a header ending exactly on a 64-byte boundary still gets 64 bytes of padding (numpy: padlen is never 0)', () => {
    // Rank r of ones: preamble + dict + 20 spare spaces + newline; where that sum is a multiple of
    // 64, the header is one block longer than the sum.
    let found = 0;
    for (let rank = 2; rank <= 64; rank++) {
      const base = headerByRule('|u1', false, ones(rank)).length;
      const unpadded =
        10 + `{'descr': '|u1', 'fortran_order': False, 'shape': ${tupleRepr(ones(rank))}, }`.length + 20 + 1;
      if (unpadded % 64 !== 0) continue;
      found++;
      expect(base).toBe(unpadded + 64);
      expect(ourHeader('|u1', false, ones(rank)).byteLength).toBe(unpadded + 64);
    }
    expect(found).toBeGreaterThan(0);
  });

  test('version 2.0 (4-byte length) exactly when the header does not fit 1.0’s 65535 bytes', () => {
    // numpy writes these shapes with version 2.0 (rank 21818) and the one below with 1.0 (rank 21817).
    const fits = ourHeader('|u1', false, ones(21817));
    expect([fits.byteLength, fits[6], fits[7], fits.readUInt16LE(8)]).toEqual([65536, 1, 0, 65526]);
    expect(fits.toString('latin1')).toBe(headerByRule('|u1', false, ones(21817)).toString('latin1'));
    const big = ourHeader('|u1', false, ones(21818));
    expect([big.byteLength, big[6], big[7], big.readUInt32LE(8)]).toEqual([65600, 2, 0, 65588]);
    expect(big.toString('latin1')).toBe(headerByRule('|u1', false, ones(21818)).toString('latin1'));
    expect(big[big.byteLength - 1]).toBe(0x0a);
    // …and what we write in 2.0 reads back.
    const file = encodeNpy({ dtype: '|u1', shape: ones(21818), data: Uint8Array.of(7) });
    const parsed = parseNpy(file);
    expect(parsed.shape).toEqual(ones(21818));
    expect([...parsed.data]).toEqual([7]);
  });

  testWith(['numpy'], 'numpy’s own header writer gives the same bytes for every case above', () => {
    const cases: Array<[NpyDtype, boolean, number[]]> = [];
    for (const dtype of DTYPES) for (let rank = 0; rank <= 64; rank++) cases.push([dtype, rank % 2 === 1, ones(rank)]);
    for (let rank = 2; rank <= 30; rank += 3)
      for (const fortran of [false, true]) {
        cases.push(['<f8', fortran, [99999999, ...ones(rank - 2), 0]]);
        cases.push(['<f8', fortran, [0, ...ones(rank - 2), 99999999]]);
      }
    cases.push(['|u1', false, ones(21817)], ['|u1', false, ones(21818)]);
    // Sent as [descr, fortran, first dimension, ones between, last dimension]: the shapes are long.
    const compact = cases.map(([dtype, fortran, shape]) =>
      shape.length === 0 ? [dtype, fortran, null, 0, null] : [dtype, fortran, shape[0], shape.length - 2, shape.at(-1)],
    );
    const numpy = python<string[]>(
      `import io, warnings
import numpy.lib.format as F
warnings.simplefilter('ignore')
out = []
for descr, fortran, first, middle, last in json.loads(ARGS[0]):
    shape = () if first is None else (first,) if middle < 0 else (first,) + (1,) * middle + (last,)
    d = {'descr': descr, 'fortran_order': fortran, 'shape': shape}
    f = io.BytesIO()
    try:
        F.write_array_header_1_0(f, d)
    except ValueError:
        f = io.BytesIO()
        F.write_array_header_2_0(f, d)
    out.append(f.getvalue().hex())
print(json.dumps(out))`,
      JSON.stringify(compact),
    );
    cases.forEach(([dtype, fortran, shape], index) => {
      const label = `${dtype} fortran=${fortran} rank ${shape.length}`;
      expect({ label, header: ourHeader(dtype, fortran, shape).toString('hex') }).toEqual({
        label,
        header: numpy[index],
      });
    });
  });
});

describe('reading the other header fields', () => {
  /** A version 1.0 file with this dict and `data`, padded by the rule. */
  function file(dict: string, data: Uint8Array, version = 1): Uint8Array {
    const field = version === 1 ? 2 : 4;
    const hlen = dict.length + 1;
    const padlen = 64 - ((8 + field + hlen) % 64);
    const prefix = Buffer.alloc(8 + field);
    Buffer.from('\x93NUMPY', 'latin1').copy(prefix);
    prefix[6] = version;
    if (field === 2) prefix.writeUInt16LE(hlen + padlen, 8);
    else prefix.writeUInt32LE(hlen + padlen, 8);
    const encoding = version === 3 ? 'utf8' : 'latin1';
    return Buffer.concat([prefix, Buffer.from(dict + ' '.repeat(padlen) + '\n', encoding), data]);
  }
  const dict = (descr: string, fortran: string, shape: string) =>
    `{'descr': '${descr}', 'fortran_order': ${fortran}, 'shape': ${shape}, }`;

  test('fortran_order True is read as true and False as false; the data is not reordered', () => {
    const data = Uint8Array.of(1, 0, 0, 0, 4, 0, 0, 0, 2, 0, 0, 0, 5, 0, 0, 0, 3, 0, 0, 0, 6, 0, 0, 0);
    const fortran = parseNpy(file(dict('<i4', 'True', '(2, 3)'), data));
    expect([fortran.fortranOrder, fortran.shape, [...fortran.data]]).toEqual([true, [2, 3], [1, 4, 2, 5, 3, 6]]);
    const c = parseNpy(file(dict('<i4', 'False', '(2, 3)'), data));
    expect([c.fortranOrder, [...c.data]]).toEqual([false, [1, 4, 2, 5, 3, 6]]);
    // And written back with the flag it was read with.
    expect(Buffer.from(encodeNpy(fortran)).subarray(10, 60).toString('latin1')).toContain("'fortran_order': True");
    expect(() => parseNpy(file(dict('<i4', '1', '(2, 3)'), data))).toThrow(/'fortran_order' is not True or False/);
  });

  test('descr byte order: little-endian multi-byte types read; big-endian and native (=) refused', () => {
    const two = Uint8Array.of(1, 2, 3, 4);
    expect([...parseNpy(file(dict('<u2', 'False', '(2,)'), two)).data]).toEqual([0x0201, 0x0403]);
    for (const descr of ['>u2', '=u2', '|u2']) {
      expect(() => parseNpy(file(dict(descr, 'False', '(2,)'), two))).toThrow(
        expect.objectContaining({ code: 'ERR_BAD_FORMAT' }),
      );
    }
    expect(() => parseNpy(file(dict('>f8', 'False', '(1,)'), new Uint8Array(8)))).toThrow(/big-endian dtype >f8/);
  });

  test('one-byte types carry no byte order: any mark reads as |', () => {
    for (const mark of ['|', '<', '>', '=']) {
      expect(parseNpy(file(dict(`${mark}u1`, 'False', '(2,)'), Uint8Array.of(9, 8))).dtype).toBe('|u1');
      expect(parseNpy(file(dict(`${mark}i1`, 'False', '(1,)'), Uint8Array.of(255))).dtype).toBe('|i1');
      expect(parseNpy(file(dict(`${mark}b1`, 'False', '(1,)'), Uint8Array.of(1))).dtype).toBe('|b1');
    }
  });

  test('versions 2.0 and 3.0 read their 4-byte header length; 3.0 is UTF-8', () => {
    const data = Uint8Array.of(5, 6, 7);
    for (const version of [2, 3]) {
      const parsed = parseNpy(file(dict('|u1', 'False', '(3,)'), data, version));
      expect([parsed.dtype, parsed.shape, [...parsed.data]]).toEqual(['|u1', [3], [5, 6, 7]]);
    }
    expect(() => parseNpy(file(dict('|u1', 'False', '(3,)'), data, 4))).toThrow(/unsupported NPY format version 4\.0/);
  });
});
