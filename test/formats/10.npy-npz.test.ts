/**
 * NPY and NPZ: every supported dtype and shape checked against NumPy in both directions (NumPy
 * loads what we write, byte-identical to its own np.save; we read what np.save, format versions
 * 2.0/3.0, np.savez and np.savez_compressed write), zero-copy reads, corrupt and unsupported input,
 * and the ZIP limits.
 */
import { writeFileSync, readFileSync } from 'fs';
import * as path from 'path';

import { encodeNpy, encodeNpz, parseNpy, readNpz, S3dlioError, type NpyArray, type NpyInput } from '../../lib';
import { encodeZip, readZip } from '../../lib/formats/zip';
import { useTempDir } from '../helpers/temp';
import { describeWith, testWith, withTools } from '../helpers/tools';
import { python, sha256 } from './tools';

const tmp = useTempDir('s3dlio-npy-');

/** Arrays covering every dtype, scalar / empty / multi-dimensional shapes and Fortran order. */
const CASES: Array<[string, NpyInput, { shape?: number[] }?]> = [
  ['u1', Uint8Array.of(0, 1, 255, 7)],
  ['i1', Int8Array.of(-128, 0, 127)],
  ['u2', Uint16Array.of(0, 65535, 258)],
  ['i2', Int16Array.of(-32768, 32767, -2)],
  ['u4', Uint32Array.of(0, 4294967295, 16909060)],
  ['i4', Int32Array.of(-2147483648, 5)],
  ['u8', BigUint64Array.of(0n, 2n ** 64n - 1n)],
  ['i8', BigInt64Array.of(-(2n ** 63n), 42n)],
  ['f4', Float32Array.of(1.5, -0, Number.NaN, Number.POSITIVE_INFINITY)],
  ['f8', Float64Array.of(Math.PI, -1e300)],
  ['b1', { dtype: '|b1', shape: [3], data: Uint8Array.of(1, 0, 1) }],
  ['scalar', Float64Array.of(2.5), { shape: [] }],
  ['empty', new Int32Array(0)],
  ['matrix', Float32Array.from({ length: 24 }, (_, i) => i / 3), { shape: [2, 3, 4] }],
  ['fortran', { dtype: '<i4', shape: [2, 3], data: Int32Array.of(1, 4, 2, 5, 3, 6), fortranOrder: true }],
  ['big-first-axis', new Uint8Array(123456), { shape: [123456] }],
];

const EXPECTED_DTYPE: Record<string, string> = {
  scalar: '<f8',
  empty: '<i4',
  matrix: '<f4',
  fortran: '<i4',
  'big-first-axis': '|u1',
};

function dataOf(input: NpyInput): ArrayBufferView {
  return ArrayBuffer.isView(input) ? input : input.data;
}

interface NumpyView {
  dtype: string;
  shape: number[];
  sha: string;
  fortran: boolean;
}

/** What NumPy sees in each file: dtype, shape, memory-order bytes' SHA-256, Fortran flag. */
const DESCRIBE = `
def describe(a):
    return {'dtype': a.dtype.str, 'shape': list(a.shape), 'sha': hashlib.sha256(a.tobytes(order='A')).hexdigest(),
            'fortran': bool(a.flags.f_contiguous and not a.flags.c_contiguous)}
`;

describe('NPY', () => {
  testWith(['numpy'], 'NumPy loads every array we encode, and re-saving it with np.save gives the same bytes', () => {
    const files = CASES.map(([name, input, options]) => {
      const file = path.join(tmp.path, `${name}.npy`);
      writeFileSync(file, encodeNpy(input, options));
      return file;
    });
    const seen = python<Array<NumpyView & { sameBytes: boolean }>>(
      `${DESCRIBE}
import io
out = []
for p in ARGS:
    a = np.load(p)
    buf = io.BytesIO()
    np.save(buf, a)
    out.append(dict(describe(a), sameBytes=buf.getvalue() == open(p, 'rb').read()))
print(json.dumps(out))`,
      ...files,
    );
    CASES.forEach(([name, input, options], i) => {
      const view = seen[i]!;
      const dtype = EXPECTED_DTYPE[name] ?? (name === 'b1' ? '|b1' : name.endsWith('1') ? `|${name}` : `<${name}`);
      expect({ name, ...view }).toEqual({
        name,
        dtype,
        shape: options?.shape ?? (ArrayBuffer.isView(input) ? [(input as Uint8Array).length] : input.shape),
        sha: sha256(dataOf(input)),
        fortran: name === 'fortran',
        sameBytes: true,
      });
    });
  });

  test('the data starts at a multiple of 64 and the header ends with spaces and a newline', () => {
    for (const [, input, options] of CASES) {
      const bytes = encodeNpy(input, options);
      const dataOffset = 10 + Buffer.from(bytes).readUInt16LE(8);
      expect(dataOffset % 64).toBe(0);
      expect(bytes.byteLength - dataOffset).toBe(dataOf(input).byteLength);
      expect(bytes[dataOffset - 1]).toBe(0x0a);
      expect(bytes[dataOffset - 2]).toBe(0x20);
    }
    // The exact header of a tiny array, as numpy writes it (21 - len('3') spare spaces, then padding).
    const header = Buffer.from(encodeNpy(Uint8Array.of(1, 2, 3)).subarray(0, 128)).toString('latin1');
    expect(header.slice(0, 10)).toBe('\x93NUMPY\x01\x00\x76\x00');
    expect(header.slice(10).trimEnd()).toBe("{'descr': '|u1', 'fortran_order': False, 'shape': (3,), }");
  });

  testWith(
    ['numpy'],
    'parses what NumPy writes: every dtype, bool, Fortran order, format versions 1.0, 2.0 and 3.0',
    () => {
      const made = python<Array<NumpyView & { file: string; version: string }>>(
        `${DESCRIBE}
arrays = {
  'u1': np.arange(250, dtype='u1'), 'i1': np.arange(-5, 5, dtype='i1'), 'u2': np.array([0, 65535], 'u2'),
  'i2': np.array([-3, 3], 'i2'), 'u4': np.array([7, 2**32 - 1], 'u4'), 'i4': np.arange(-6, 6, dtype='i4').reshape(3, 4),
  'u8': np.array([2**64 - 1], 'u8'), 'i8': np.array([-2**63, 2**62], 'i8'), 'f4': np.linspace(0, 1, 7, dtype='f4'),
  'f8': np.array([[1.0, 2.0], [3.0, np.inf]]), 'b1': np.array([True, False, True]),
  'scalar': np.float32(3.25).reshape(()), 'fortran': np.asfortranarray(np.arange(6, dtype='<f8').reshape(2, 3)),
}
out = []
for version in [None, (2, 0), (3, 0)]:
    for name, a in arrays.items():
        p = '%s/np-%s-%s.npy' % (ARGS[0], name, version)
        with open(p, 'wb') as f:
            np.lib.format.write_array(f, a, version=version)
        out.append(dict(describe(a), file=p, version=str(version)))
print(json.dumps(out))`,
        tmp.path,
      );
      expect(made).toHaveLength(39);
      for (const expected of made) {
        const array = parseNpy(readFileSync(expected.file));
        expect({
          file: expected.file,
          dtype: array.dtype,
          shape: array.shape,
          sha: sha256(array.data),
          fortran: array.fortranOrder,
        }).toEqual({
          file: expected.file,
          dtype: expected.dtype,
          shape: expected.shape,
          sha: expected.sha,
          fortran: expected.fortran,
        });
      }
    },
  );

  test('typed array per dtype: <i8 → BigInt64Array, |b1 → Uint8Array, <f4 → Float32Array', () => {
    expect(parseNpy(encodeNpy(BigInt64Array.of(-1n))).data).toEqual(BigInt64Array.of(-1n));
    expect(parseNpy(encodeNpy({ dtype: '|b1', shape: [2], data: Uint8Array.of(1, 0) })).data).toEqual(
      Uint8Array.of(1, 0),
    );
    const floats = parseNpy(encodeNpy(Float32Array.of(0.5, 2)));
    expect(floats.data).toBeInstanceOf(Float32Array);
    expect(Array.from(floats.data as Float32Array)).toEqual([0.5, 2]);
  });

  test('zero copy: the data is a view of the input when aligned, one copy when not', () => {
    const bytes = encodeNpy(Float64Array.of(1, 2, 3));
    const parsed = parseNpy(bytes);
    expect(parsed.data.buffer).toBe(bytes.buffer);
    expect(parsed.data.byteOffset).toBe(128);
    (parsed.data as Float64Array)[0] = 42;
    expect(new Float64Array(bytes.buffer, 128, 1)[0]).toBe(42);

    // The same file one byte into a buffer: 8-byte elements cannot be viewed there.
    const shifted = new Uint8Array(bytes.byteLength + 1).subarray(1);
    shifted.set(bytes);
    const copied = parseNpy(shifted);
    expect(copied.data.buffer).not.toBe(shifted.buffer);
    expect(Array.from(copied.data as Float64Array)).toEqual([42, 2, 3]);
    // A Buffer's slice() is a view, not a copy: the copy must not alias the input.
    const buffer = Buffer.alloc(bytes.byteLength + 1).subarray(1);
    buffer.set(bytes);
    const fromBuffer = parseNpy(buffer);
    buffer.fill(0);
    expect(Array.from(fromBuffer.data as Float64Array)).toEqual([42, 2, 3]);
    // One-byte elements are always views.
    const u8 = new Uint8Array(200).subarray(3);
    u8.set(encodeNpy(Uint8Array.of(9, 8)));
    expect(parseNpy(u8.subarray(0, 130)).data.buffer).toBe(u8.buffer);
  });

  test('a parsed array encodes back to the same bytes', () => {
    for (const [, input, options] of CASES) {
      const bytes = encodeNpy(input, options);
      expect(Buffer.from(encodeNpy(parseNpy(bytes))).equals(Buffer.from(bytes))).toBe(true);
    }
  });

  describeWith(['numpy'], 'corrupt and unsupported files → ERR_BAD_FORMAT saying what is wrong', () => {
    const good = encodeNpy(Int32Array.of(1, 2, 3));
    let fromNumpy: Record<string, string> = {};
    beforeAll(() => {
      fromNumpy = python<Record<string, string>>(
        `
files = {}
def save(name, a, **kw):
    files[name] = '%s/bad-%s.npy' % (ARGS[0], name)
    np.save(files[name], a, **kw)
save('big-endian', np.arange(3, dtype='>i4'))
save('object', np.array([1, 'a'], dtype=object), allow_pickle=True)
save('structured', np.zeros(2, dtype=[('a', '<i4'), ('b', '<f4')]))
save('float16', np.zeros(2, dtype='<f2'))
save('complex', np.zeros(2, dtype='<c8'))
print(json.dumps(files))`,
        tmp.path,
      );
    });

    test.each<[string, () => Uint8Array, RegExp]>([
      [
        'shorter than the preamble',
        () => good.subarray(0, 5),
        /truncated: 5 bytes is shorter than the 10-byte NPY preamble/,
      ],
      ['truncated header', () => good.subarray(0, 40), /truncated header: it declares 118 bytes but only 30 follow/],
      [
        'truncated data',
        () => good.subarray(0, good.byteLength - 1),
        /truncated data: shape \(3\) of <i4 needs 12 bytes, only 11/,
      ],
      ['trailing bytes', () => Buffer.concat([good, Buffer.alloc(2)]), /2 unexpected bytes after the 12 bytes/],
      ['no magic', () => Buffer.from('PK\x03\x04 not numpy at all'), /not an NPY file/],
      [
        'unknown version',
        () => Buffer.concat([good.subarray(0, 6), Buffer.of(4, 0), good.subarray(8)]),
        /version 4\.0/,
      ],
      [
        'header that is not a dict',
        () => {
          const copy = Buffer.from(good);
          copy.write('[', 10, 'latin1');
          return copy;
        },
        /bad header/,
      ],
      [
        'big-endian dtype (NumPy file)',
        () => readFileSync(fromNumpy['big-endian']!),
        /big-endian dtype >i4 is not supported/,
      ],
      ['object dtype (NumPy file)', () => readFileSync(fromNumpy.object!), /object arrays \(dtype \|O\)/],
      ['structured dtype (NumPy file)', () => readFileSync(fromNumpy.structured!), /structured dtypes/],
      ['float16 (NumPy file)', () => readFileSync(fromNumpy.float16!), /dtype <f2 is not supported/],
      ['complex64 (NumPy file)', () => readFileSync(fromNumpy.complex!), /dtype <c8 is not supported/],
    ])('%s', (_, bytes, message) => {
      let error: unknown;
      try {
        parseNpy(bytes());
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(S3dlioError);
      expect(error).toMatchObject({ code: 'ERR_BAD_FORMAT', message: expect.stringMatching(/^parseNpy: /) });
      expect((error as Error).message).toMatch(message);
    });
  });

  test('argument errors name the argument and what was expected', () => {
    expect(() => encodeNpy(new Float32Array(6), { shape: [4] })).toThrow(
      expect.objectContaining({
        code: 'ERR_INVALID_ARG_VALUE',
        message:
          'Expected a shape of 6 elements (the length of `array`) for `options.shape` but received [4] (4 elements)',
      }),
    );
    expect(() => encodeNpy({ dtype: '<f4', shape: [2, 3], data: new Uint8Array(20) })).toThrow(
      /Expected 24 bytes \(shape \[2, 3\] of <f4\) for `array.data` but received 20 bytes$/,
    );
    expect(() => encodeNpy({ dtype: 'f4' as '<f4', shape: [1], data: new Uint8Array(4) })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE', message: expect.stringContaining('one of |b1, |u1') }),
    );
    expect(() => encodeNpy({ dtype: '<f4', shape: [-1], data: new Uint8Array(4) })).toThrow(
      expect.objectContaining({ code: 'ERR_OUT_OF_RANGE', message: expect.stringContaining('array.shape[0]') }),
    );
    expect(() => encodeNpy('text' as unknown as Uint8Array)).toThrow(TypeError);
    expect(() => parseNpy('text' as unknown as Uint8Array)).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }),
    );
  });
});

describe('NPZ', () => {
  const arrays: Record<string, NpyInput> = {
    images: { dtype: '|u1', shape: [2, 4, 4], data: Uint8Array.from({ length: 32 }, (_, i) => i * 7) },
    labels: BigInt64Array.of(3n, -1n),
    weights: Float32Array.of(0.25, 0.5, 0.75),
    mask: { dtype: '|b1', shape: [3], data: Uint8Array.of(0, 1, 1) },
  };

  testWith(
    ['numpy'],
    'NumPy loads what encodeNpz writes; Python zipfile finds every CRC-32 right and every entry stored',
    () => {
      const file = path.join(tmp.path, 'ours.npz');
      writeFileSync(file, encodeNpz(arrays));
      const seen = python<{
        arrays: Record<string, NumpyView>;
        bad: string | null;
        methods: number[];
        names: string[];
      }>(
        `${DESCRIBE}
import zipfile
z = np.load(ARGS[0])
with zipfile.ZipFile(ARGS[0]) as f:
    bad = f.testzip()
    methods = [i.compress_type for i in f.infolist()]
    names = f.namelist()
print(json.dumps({'arrays': {k: describe(z[k]) for k in z.files}, 'bad': bad, 'methods': methods, 'names': names}))`,
        file,
      );
      expect(seen.bad).toBeNull();
      expect(seen.methods).toEqual([0, 0, 0, 0]);
      expect(seen.names).toEqual(['images.npy', 'labels.npy', 'weights.npy', 'mask.npy']);
      expect(seen.arrays).toEqual({
        images: { dtype: '|u1', shape: [2, 4, 4], sha: sha256(dataOf(arrays.images!)), fortran: false },
        labels: { dtype: '<i8', shape: [2], sha: sha256(dataOf(arrays.labels!)), fortran: false },
        weights: { dtype: '<f4', shape: [3], sha: sha256(dataOf(arrays.weights!)), fortran: false },
        mask: { dtype: '|b1', shape: [3], sha: sha256(dataOf(arrays.mask!)), fortran: false },
      });
    },
  );

  withTools(['numpy'], 'reads what np.savez writes').test.each(['savez', 'savez_compressed'])(
    'reads what np.%s writes, with the same bytes',
    (writer) => {
      const file = path.join(tmp.path, `${writer}.npz`);
      const expected = python<Record<string, NumpyView>>(
        `${DESCRIBE}
rng = np.random.default_rng(5)
arrays = {'x': rng.integers(0, 255, 100000, dtype='u1'), 'y': rng.normal(size=(30, 7)).astype('<f4'),
          'z': np.arange(-4, 4, dtype='<i8'), 'empty': np.zeros(0, dtype='<u2')}
np.${writer}(ARGS[0], **arrays)
print(json.dumps({k: describe(v) for k, v in arrays.items()}))`,
        file,
      );
      const bytes = readFileSync(file);
      const read = readNpz(bytes);
      expect([...read.keys()].sort()).toEqual(Object.keys(expected).sort());
      for (const [name, view] of Object.entries(expected)) {
        const array = read.get(name)!;
        expect({ name, dtype: array.dtype, shape: array.shape, sha: sha256(array.data) }).toEqual({
          name,
          dtype: view.dtype,
          shape: view.shape,
          sha: view.sha,
        });
      }
      const methods = readZip(bytes).map((e) => e.method);
      expect(methods).toEqual(Array(4).fill(writer === 'savez' ? 'stored' : 'deflated'));
    },
  );

  testWith(['numpy'], 'empty arrays: the CRC-32 of a chunk without memory continues the previous one', () => {
    // zlib.crc32(new Uint8Array(0), crc) returns 0 instead of crc (no backing store).
    const archive = encodeNpz({ empty: new Uint8Array(0), after: Uint8Array.of(1) });
    const file = path.join(tmp.path, 'empty.npz');
    writeFileSync(file, archive);
    expect(
      python<string | null>('import zipfile\nprint(json.dumps(zipfile.ZipFile(ARGS[0]).testzip()))', file),
    ).toBeNull();
    expect(readNpz(archive).get('empty')!.shape).toEqual([0]);
  });

  test('our archives read back without copying: 64-byte aligned views of the archive', () => {
    const archive = encodeNpz(arrays);
    const read = readNpz(archive);
    for (const [name, array] of read) {
      expect({ name, same: array.data.buffer === archive.buffer }).toEqual({ name, same: true });
      expect(array.data.byteOffset % 64).toBe(0);
    }
    const labels = read.get('labels') as NpyArray;
    expect(labels.data).toEqual(BigInt64Array.of(3n, -1n));
    expect(read.get('images')!.shape).toEqual([2, 4, 4]);
  });

  testWith(
    ['numpy'],
    'a flipped data byte fails the CRC-32 (ours and Python zipfile agree); verify: false reads it anyway',
    () => {
      const archive = encodeNpz({ x: Float64Array.of(1, 2, 3) });
      const x = readNpz(archive).get('x')!;
      const at = x.data.byteOffset + 8; // the second element's first byte
      archive[at] ^= 0x01;
      const file = path.join(tmp.path, 'bad-crc.npz');
      writeFileSync(file, archive);
      expect(python<string | null>('import zipfile\nprint(json.dumps(zipfile.ZipFile(ARGS[0]).testzip()))', file)).toBe(
        'x.npy',
      );
      expect(() => readNpz(archive)).toThrow(
        expect.objectContaining({
          code: 'ERR_CHECKSUM_MISMATCH',
          message: expect.stringMatching(
            /^readNpz: entry "x\.npy" \(data at byte offset \d+\): CRC-32 of the data is 0x[0-9a-f]{8}, the archive records/,
          ),
        }),
      );
      expect((readNpz(archive, { verify: false }).get('x')!.data as Float64Array)[1]).not.toBe(2);
    },
  );

  testWith(['numpy'], 'truncated or foreign archives → ERR_BAD_FORMAT', () => {
    const archive = encodeNpz({ x: Uint8Array.of(1) });
    expect(() => readNpz(archive.subarray(0, archive.byteLength - 5))).toThrow(
      expect.objectContaining({
        code: 'ERR_BAD_FORMAT',
        message: expect.stringContaining('no end-of-central-directory'),
      }),
    );
    expect(() => readNpz(new Uint8Array(10))).toThrow(/shorter than a ZIP end record/);
    const file = path.join(tmp.path, 'text.zip');
    python(`import zipfile\nzipfile.ZipFile(ARGS[0], 'w').writestr('readme.txt', 'hi')\nprint(1)`, file);
    expect(() => readNpz(readFileSync(file))).toThrow(/member "readme\.txt" is not an \.npy array/);
    // An entry whose .npy is corrupt names the array.
    const broken = encodeZip([{ name: 'a.npy', data: Buffer.from('\x93NUMPY\x01\x00') }]);
    expect(() => readNpz(broken)).toThrow(/^readNpz "a": truncated/);
  });

  test('ZIP limits without ZIP64: 65,535 entries pass, 65,536 and over 4 GiB are ERR_OBJECT_TOO_LARGE', () => {
    const entries = Array.from({ length: 65535 }, (_, i) => ({ name: `${i}`, data: new Uint8Array(0) }));
    const archive = encodeZip(entries, { align: 1 });
    expect(readZip(archive)).toHaveLength(65535);
    expect(() => encodeZip([...entries, { name: 'one-more', data: new Uint8Array(0) }])).toThrow(
      expect.objectContaining({ code: 'ERR_OBJECT_TOO_LARGE', message: expect.stringContaining('65,536 entries') }),
    );
    // 4.5 GiB of views of one lazily zeroed 1.5 GiB buffer: refused before anything is copied.
    const big = new Uint8Array(1.5 * 1024 ** 3);
    expect(() => encodeZip([{ name: 'big', data: [big, big, big] }])).toThrow(
      expect.objectContaining({ code: 'ERR_OBJECT_TOO_LARGE', message: expect.stringContaining('limited to 4 GiB') }),
    );
  });

  test('argument errors: duplicate or empty names, non-array values', () => {
    expect(() => encodeNpz({ '': Uint8Array.of(1) })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }),
    );
    expect(() => encodeNpz({ a: [1, 2] as unknown as Uint8Array })).toThrow(/arrays\["a"\]/);
    expect(() =>
      encodeZip([
        { name: 'a', data: new Uint8Array(1) },
        { name: 'a', data: new Uint8Array(1) },
      ]),
    ).toThrow(/entries\[1\]\.name/);
    expect(() => encodeZip([], { align: 3 })).toThrow(/power of two/);
  });
});
