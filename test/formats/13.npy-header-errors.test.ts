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
