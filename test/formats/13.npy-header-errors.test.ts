/**
 * NPY headers that are not what numpy writes, each refused with ERR_BAD_FORMAT and a message that
 * says what is wrong: escapes in strings, a missing colon, nesting that is deep versus merely
 * long, dtypes we do not read, and shapes whose size overflows.
 */
import { encodeNpy, parseNpy } from '../../lib';
import { thrownBy } from '../helpers/local';

/** An NPY 1.0 file with this header text (padded as numpy pads it) and `data`. */
function npyWithHeader(dict: string, data = new Uint8Array(0)): Uint8Array {
  let header = `${dict} `;
  while ((10 + header.length + 1) % 64 !== 0) header += ' ';
  header += '\n';
  const out = Buffer.alloc(10 + header.length + data.length);
  out.write('\x93NUMPY', 0, 'latin1');
  out[6] = 1;
  out[7] = 0;
  out.writeUInt16LE(header.length, 8);
  out.write(header, 10, 'latin1');
  out.set(data, 10 + header.length);
  return new Uint8Array(out);
}

function failure(dict: string, data?: Uint8Array<ArrayBuffer>): Error & { code?: string } {
  return thrownBy(() => parseNpy(npyWithHeader(dict, data)));
}

test('the helper writes what parseNpy reads', () => {
  const array = parseNpy(
    npyWithHeader(
      "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }",
      Buffer.from(Float32Array.of(1, 2).buffer),
    ),
  );
  expect(array.data).toEqual(Float32Array.of(1, 2));
});

test.each([
  ['an escape inside a string', "{'descr': '<f\\x34', 'fortran_order': False, 'shape': (1,), }", 'escaped characters'],
  ['a missing colon', "{'descr' '<f4', 'fortran_order': False, 'shape': (1,), }", 'expected ":"'],
  ['a tuple without its closing parenthesis', "{'descr': '<f4', 'fortran_order': False, 'shape': (1, }", 'expected'],
  ['a big-endian dtype', "{'descr': '>f4', 'fortran_order': False, 'shape': (1,), }", "astype('<f4')"],
  ['an unknown dtype', "{'descr': '<c8', 'fortran_order': False, 'shape': (1,), }", 'supported: |b1'],
  ['a negative dimension', "{'descr': '<f4', 'fortran_order': False, 'shape': (2, -1), }", "'shape' is not a tuple"],
  [
    'a fractional dimension (no float is a dimension)',
    "{'descr': '<f4', 'fortran_order': False, 'shape': (1.5,), }",
    'expected "," or ")"',
  ],
  ['a dimension that is a string', "{'descr': '<f4', 'fortran_order': False, 'shape': ('1',), }", "'shape' is not"],
  ['a shape that is no tuple', "{'descr': '<f4', 'fortran_order': False, 'shape': 3, }", "'shape' is not a tuple"],
  ['fortran_order that is no boolean', "{'descr': '<f4', 'fortran_order': 0, 'shape': (1,), }", "'fortran_order'"],
  [
    'a shape whose size is not a safe integer',
    "{'descr': '<f8', 'fortran_order': False, 'shape': (4294967296, 4294967296), }",
    'too large',
  ],
])('%s is ERR_BAD_FORMAT saying so', (_what, dict, says) => {
  const error = failure(dict);
  expect(error).toMatchObject({ code: 'ERR_BAD_FORMAT' });
  expect(error.message).toContain(says);
});

test('nesting: 40 tuples side by side are long, not deep; 40 levels deep are refused as deep', () => {
  const wide = `{'descr': [${Array.from({ length: 40 }, (_, i) => `('f${i}', '<f4')`).join(', ')}], 'fortran_order': False, 'shape': (1,), }`;
  const wideError = failure(wide);
  expect(wideError).toMatchObject({ code: 'ERR_BAD_FORMAT' });
  expect(wideError.message).not.toContain('nested deeper');
  const deep = `{'descr': ${'['.repeat(40)}${']'.repeat(40)}, 'fortran_order': False, 'shape': (1,), }`;
  expect(failure(deep).message).toContain('nested deeper than 32');
});

describe('the prefix and the keys', () => {
  const good = npyWithHeader("{'descr': '|u1', 'fortran_order': False, 'shape': (1,), }", Uint8Array.of(7));

  test('one wrong byte of the magic string is not NPY', () => {
    for (const at of [0, 3, 5]) {
      const bad = Uint8Array.from(good);
      bad[at] ^= 0x20;
      expect(thrownBy(() => parseNpy(bad))).toMatchObject({
        code: 'ERR_BAD_FORMAT',
        message: expect.stringContaining('not an NPY file'),
      });
    }
  });

  test.each([
    [1, 1],
    [0, 0],
    [4, 0],
    [0, 1],
  ])('format version %i.%i is refused', (major, minor) => {
    const bad = Uint8Array.from(good);
    bad[6] = major;
    bad[7] = minor;
    expect(thrownBy(() => parseNpy(bad))).toMatchObject({
      message: expect.stringContaining(`unsupported NPY format version ${major}.${minor}`),
    });
  });

  test.each(['descr', 'fortran_order', 'shape'])('a header without %s says so', (key) => {
    const entries = { descr: "'|u1'", fortran_order: 'False', shape: '(1,)' } as Record<string, string>;
    delete entries[key];
    const dict = `{${Object.entries(entries)
      .map(([k, v]) => `'${k}': ${v}`)
      .join(', ')}, }`;
    expect(failure(dict, Uint8Array.of(7)).message).toContain(`no '${key}' key`);
  });

  test('one-byte types are read whatever their byte-order mark; wider ones only little-endian', () => {
    for (const descr of ['|u1', '<u1', '=u1', '>u1', '|i1', '<b1']) {
      const array = parseNpy(
        npyWithHeader(`{'descr': '${descr}', 'fortran_order': False, 'shape': (1,), }`, Uint8Array.of(1)),
      );
      expect(array.dtype).toBe(`|${descr[1]}1`);
    }
    expect(parseNpy(npyWithHeader("{'descr': '<f4', 'fortran_order': False, 'shape': (0,), }")).dtype).toBe('<f4');
    for (const descr of ['x<f4', '<f4x', '|f4', '<b8', '<f1']) {
      expect(failure(`{'descr': '${descr}', 'fortran_order': False, 'shape': (0,), }`)).toMatchObject({
        code: 'ERR_BAD_FORMAT',
        message: expect.stringContaining('not supported'),
      });
    }
  });

  test('a literal the header grammar does not know is refused, not skipped', () => {
    expect(failure("{'descr': '<f4', 'fortran_order': Maybe, 'shape': (1,), }")).toMatchObject({
      code: 'ERR_BAD_FORMAT',
    });
    expect(failure("{'descr': '<f4', 'fortran_order': xFalse, 'shape': (1,), }")).toMatchObject({
      code: 'ERR_BAD_FORMAT',
    });
  });
});

test('a shape with a dimension that is not a non-negative safe integer names that dimension', () => {
  for (const dim of [-1, 1.5, 2 ** 53]) {
    expect(thrownBy(() => encodeNpy(new Uint8Array(0), { shape: [0, dim] }))).toMatchObject({
      code: 'ERR_OUT_OF_RANGE',
      message: expect.stringContaining('shape[1]'),
    });
  }
});

test('an argument error carries its code as an own, enumerable property, as Node’s errors do', () => {
  const error = thrownBy(() => encodeNpy(Float32Array.of(1, 2), { shape: [3] }));
  expect(error).toBeInstanceOf(RangeError);
  expect(Object.keys(error)).toContain('code');
  expect({ ...error }).toMatchObject({ code: 'ERR_INVALID_ARG_VALUE' });
});

/** An NPY file of format version `major`.0 (2.0 and 3.0: a 4-byte header length; 3.0: UTF-8). */
function npyVersion(major: number, dict: string, data: Uint8Array): Uint8Array {
  const lengthBytes = major === 1 ? 2 : 4;
  const encoding = major === 3 ? 'utf8' : 'latin1';
  let header = `${dict} `;
  while ((8 + lengthBytes + Buffer.byteLength(header, encoding) + 1) % 64 !== 0) header += ' ';
  header += '\n';
  const headerBytes = Buffer.from(header, encoding);
  const preamble = Buffer.alloc(8 + lengthBytes);
  preamble.write('\x93NUMPY', 0, 'latin1');
  preamble[6] = major;
  if (lengthBytes === 2) preamble.writeUInt16LE(headerBytes.length, 8);
  else preamble.writeUInt32LE(headerBytes.length, 8);
  return new Uint8Array(Buffer.concat([preamble, headerBytes, data]));
}

describe('format versions', () => {
  const dict = "{'descr': '<u2', 'fortran_order': False, 'shape': (2,), }";
  const data = new Uint8Array(Uint16Array.of(513, 7).buffer);

  test.each([1, 2, 3])('version %i.0 reads', (major) => {
    expect(parseNpy(npyVersion(major, dict, data)).data).toEqual(Uint16Array.of(513, 7));
  });

  test('version 3.0 headers are UTF-8, and error offsets count its bytes', () => {
    const bad = "{'descr': '<u2', 'fortran_order': False, 'shape': (2,), 'é': ?}";
    const error = thrownBy(() => parseNpy(npyVersion(3, bad, data)));
    expect(error).toMatchObject({ code: 'ERR_BAD_FORMAT' });
    // Offsets in messages are bytes of the file: é is one character but two bytes.
    const at = bad.indexOf('?');
    expect(error.message).toContain(`at byte ${12 + Buffer.byteLength(bad.slice(0, at))}`);
    expect(Buffer.byteLength(bad.slice(0, at))).toBe(at + 1);
  });

  test.each([
    [0, 'unsupported NPY format version 0.0'],
    [4, 'unsupported NPY format version 4.0'],
  ])('version %i.0 is refused', (major, says) => {
    const bytes = npyVersion(1, dict, data);
    bytes[6] = major;
    expect(thrownBy(() => parseNpy(bytes)).message).toContain(says);
  });

  test('a minor version other than 0 is refused', () => {
    const bytes = npyVersion(1, dict, data);
    bytes[7] = 1;
    expect(thrownBy(() => parseNpy(bytes)).message).toContain('unsupported NPY format version 1.1');
  });

  test.each([
    [1, 9, 'shorter than the 10-byte NPY preamble'],
    [2, 11, 'shorter than the 12-byte NPY preamble'],
    [3, 10, 'shorter than the 12-byte NPY preamble'],
  ])('version %i.0 cut to %i bytes is truncated', (major, length, says) => {
    const error = thrownBy(() => parseNpy(npyVersion(major, dict, data).subarray(0, length)));
    expect(error).toMatchObject({ code: 'ERR_BAD_FORMAT' });
    expect(error.message).toContain(says);
  });

  test("Python 2's long integers in the shape, (2L,), read as numbers", () => {
    const old = "{'descr': '<u2', 'fortran_order': False, 'shape': (2L,), }";
    expect(parseNpy(npyVersion(1, old, data)).shape).toEqual([2]);
  });
});
