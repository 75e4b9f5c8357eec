/**
 * HDF5 through h5wasm (in a worker thread): files we write checked with the HDF5 tools (h5dump
 * shows the dataset name, type and shape; its binary export gives back the same bytes), files the
 * HDF5 tools write (h5import) read back, every element type, errors, abort, and the temporary
 * files h5wasm needs removed in every case.
 */
import { execFileSync } from 'child_process';
import { readdirSync, readFileSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import * as path from 'path';

import { encodeHdf5, HDF5_MAX_BYTES, readHdf5, S3dlioError, type NumericArray } from '../../lib';
import { stopHdf5Worker } from '../../lib/formats/hdf5';
import { REPO_ROOT } from '../helpers/child';
import { rejectionOf, testBytes } from '../helpers/local';
import { useTempDir } from '../helpers/temp';
import { hdf5Tool, sha256 } from './tools';
import { testWith } from '../helpers/tools';

const tmp = useTempDir('s3dlio-hdf5-');

/** Temporary files of this process's HDF5 calls, as hdf5.ts names them. */
function leftoverTempFiles(): string[] {
  return readdirSync(tmpdir()).filter((name) => name.startsWith(`.s3dlio-${process.pid}-`) && name.endsWith('.h5'));
}

afterEach(() => expect(leftoverTempFiles()).toEqual([]));

async function rejection(promise: Promise<unknown>): Promise<S3dlioError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(S3dlioError);
    return error as S3dlioError;
  }
  throw new Error('expected a rejection');
}

/** h5dump's binary export of one dataset (little-endian), independent of h5wasm. */
function exportedBytes(file: string, dataset: string): Buffer {
  const out = path.join(tmp.path, `${path.basename(file)}-${dataset.replace(/\//g, '_')}.bin`);
  hdf5Tool('h5dump', '-d', `/${dataset}`, '-b', 'LE', '-o', out, file);
  return readFileSync(out);
}

testWith(
  ['h5dump'],
  'a uint8 dataset: h5dump shows name, type and shape; its binary export and readHdf5 give the input back',
  async () => {
    const data = testBytes(100_000, 4);
    const bytes = await encodeHdf5({ name: 'data', data });
    const file = path.join(tmp.path, 'u8.h5');
    writeFileSync(file, bytes);
    const header = hdf5Tool('h5dump', '-H', file);
    expect(header).toContain('DATASET "data" {');
    expect(header).toContain('DATATYPE  H5T_STD_U8LE');
    expect(header).toContain('DATASPACE  SIMPLE { ( 100000 ) / ( 100000 ) }');
    expect(sha256(exportedBytes(file, 'data'))).toBe(sha256(data));
    // h5dump -d prints the values themselves too: the first ones, as text.
    const dump = hdf5Tool('h5dump', '-d', '/data', file);
    expect(dump).toContain(`(0): ${Array.from(data.subarray(0, 5)).join(', ')},`);

    const read = await readHdf5(bytes);
    expect([...read.keys()]).toEqual(['data']);
    const dataset = read.get('data')!;
    expect({ name: dataset.name, dtype: dataset.dtype, shape: dataset.shape }).toEqual({
      name: 'data',
      dtype: '|u1',
      shape: [100000],
    });
    expect(sha256(dataset.data)).toBe(sha256(data));
  },
);

const TYPES: Array<[string, NumericArray, number[], string, string]> = [
  ['i8', Int8Array.of(-128, 0, 127, 5), [4], 'H5T_STD_I8LE', '|i1'],
  ['u16', Uint16Array.of(0, 1, 65535, 300, 7, 9), [2, 3], 'H5T_STD_U16LE', '<u2'],
  ['i16', Int16Array.of(-32768, 32767), [2], 'H5T_STD_I16LE', '<i2'],
  ['u32', Uint32Array.of(4294967295, 1), [2, 1], 'H5T_STD_U32LE', '<u4'],
  ['i32', Int32Array.of(-1, 2, -3, 4, -5, 6, -7, 8), [2, 2, 2], 'H5T_STD_I32LE', '<i4'],
  ['u64', BigUint64Array.of(2n ** 64n - 1n, 0n), [2], 'H5T_STD_U64LE', '<u8'],
  ['i64', BigInt64Array.of(-(2n ** 63n), 42n, 7n), [3], 'H5T_STD_I64LE', '<i8'],
  ['f32', Float32Array.from({ length: 12 }, (_, i) => i / 4 - 1), [3, 4], 'H5T_IEEE_F32LE', '<f4'],
  ['f64', Float64Array.of(Math.PI, -Math.E, 1e300), [3], 'H5T_IEEE_F64LE', '<f8'],
  ['empty', new Uint8Array(0), [0], 'H5T_STD_U8LE', '|u1'],
];

testWith(
  ['h5dump'],
  'every element type and several shapes in one file, checked with h5dump and read back',
  async () => {
    const bytes = await encodeHdf5(TYPES.map(([name, data, shape]) => ({ name, data, shape })));
    const file = path.join(tmp.path, 'types.h5');
    writeFileSync(file, bytes);
    const header = hdf5Tool('h5dump', '-H', file);
    const read = await readHdf5(bytes);
    for (const [name, data, shape, h5type, dtype] of TYPES) {
      const block = new RegExp(
        `DATASET "${name}" \\{\\s+DATATYPE\\s+(\\S+)\\s+DATASPACE\\s+SIMPLE \\{ \\( ([\\d, ]+) \\)`,
      );
      const match = block.exec(header);
      expect({ name, type: match?.[1], shape: match?.[2] }).toEqual({ name, type: h5type, shape: shape.join(', ') });
      if (data.length > 0)
        expect({ name, sha: sha256(exportedBytes(file, name)) }).toEqual({ name, sha: sha256(data) });
      const dataset = read.get(name)!;
      expect({ name, dtype: dataset.dtype, shape: dataset.shape, type: dataset.data.constructor.name }).toEqual({
        name,
        dtype,
        shape,
        type: data.constructor.name,
      });
      expect(sha256(dataset.data)).toBe(sha256(data));
    }
  },
);

testWith(
  ['h5import'],
  'reads files the HDF5 tools wrote (h5import): nested groups, selected datasets; big-endian is refused',
  async () => {
    const ints = path.join(tmp.path, 'ints.bin');
    const floats = path.join(tmp.path, 'floats.bin');
    writeFileSync(ints, Buffer.from(Int32Array.of(0, -1, 2, -3, 4, -5).buffer));
    writeFileSync(floats, Buffer.from(Float32Array.of(0.5, 1.5, 2.5, 3.5).buffer));
    const config = (dataset: string, cls: 'IN' | 'FP', dims: string, order: 'LE' | 'BE'): string => {
      const file = path.join(tmp.path, `${dataset.replace(/\//g, '_')}.cfg`);
      writeFileSync(
        file,
        [
          `PATH ${dataset}`,
          `INPUT-CLASS ${cls}`,
          'INPUT-SIZE 32',
          'INPUT-BYTE-ORDER LE',
          `RANK ${dims.split(' ').length}`,
          `DIMENSION-SIZES ${dims}`,
          `OUTPUT-CLASS ${cls}`,
          'OUTPUT-SIZE 32',
          cls === 'IN' ? 'OUTPUT-ARCHITECTURE STD' : 'OUTPUT-ARCHITECTURE IEEE',
          `OUTPUT-BYTE-ORDER ${order}`,
          '',
        ].join('\n'),
      );
      return file;
    };
    const file = path.join(tmp.path, 'imported.h5');
    hdf5Tool(
      'h5import',
      ints,
      '-c',
      config('train/labels', 'IN', '2 3', 'LE'),
      floats,
      '-c',
      config('weights', 'FP', '4', 'LE'),
      ints,
      '-c',
      config('be', 'IN', '6', 'BE'),
      '-o',
      file,
    );
    const bytes = readFileSync(file);
    const read = await readHdf5(bytes, { datasets: ['train/labels', '/weights'] });
    expect([...read.keys()]).toEqual(['train/labels', 'weights']);
    expect(read.get('train/labels')).toEqual({
      name: 'train/labels',
      dtype: '<i4',
      shape: [2, 3],
      data: Int32Array.of(0, -1, 2, -3, 4, -5),
    });
    expect(read.get('weights')).toEqual({
      name: 'weights',
      dtype: '<f4',
      shape: [4],
      data: Float32Array.of(0.5, 1.5, 2.5, 3.5),
    });
    const all = await rejection(readHdf5(bytes));
    expect(all.code).toBe('ERR_BAD_FORMAT');
    expect(all.message).toContain('readHdf5: dataset "be" has an unsupported type (HDF5 class 0, 4 bytes, big-endian)');
  },
);

test('input that is not HDF5, truncated, or lacks the dataset → ERR_BAD_FORMAT quoting HDF5', async () => {
  const notHdf5 = await rejection(readHdf5(Buffer.from('certainly not an HDF5 file')));
  expect(notHdf5.code).toBe('ERR_BAD_FORMAT');
  expect(notHdf5.message).toBe(
    'readHdf5: HDF5: cannot open the file: Not an HDF5 file — H5F__super_read(): file signature not found',
  );
  const good = await encodeHdf5({ name: 'data', data: testBytes(5000) });
  const truncated = await rejection(readHdf5(good.subarray(0, 3000)));
  expect(truncated.code).toBe('ERR_BAD_FORMAT');
  expect(truncated.message).toMatch(/^readHdf5: HDF5: cannot open the file: .*truncated file: eof = 3000/);
  const missing = await rejection(readHdf5(good, { datasets: ['labels'] }));
  expect(missing.message).toBe('readHdf5: no dataset "labels" in the file');
  // The worker survives failed calls.
  expect((await readHdf5(good)).get('data')!.data.byteLength).toBe(5000);
});

test('argument errors reject before any HDF5 work', async () => {
  const data = Uint8Array.of(1, 2, 3, 4);
  await expect(encodeHdf5({ name: 'a/b', data })).rejects.toThrow(/`datasets\.name`/);
  await expect(encodeHdf5({ name: '', data })).rejects.toThrow(
    expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }),
  );
  await expect(
    encodeHdf5([
      { name: 'x', data },
      { name: 'x', data },
    ]),
  ).rejects.toThrow(/`datasets\[1\]\.name`/);
  await expect(encodeHdf5({ name: 'x', data, shape: [3] })).rejects.toThrow(
    'Expected a shape of 4 elements (the length of data) for `datasets.shape` but received [3] (3 elements)',
  );
  await expect(encodeHdf5({ name: 'x', data: new Uint8ClampedArray(2) as unknown as Uint8Array })).rejects.toThrow(
    TypeError,
  );
  await expect(readHdf5('x' as unknown as Uint8Array)).rejects.toThrow(
    expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }),
  );
  // Over the h5wasm heap budget: refused before the data is copied (lazily zeroed memory).
  const huge = await rejection(encodeHdf5({ name: 'data', data: new Uint8Array(HDF5_MAX_BYTES + 1) }));
  expect(huge.code).toBe('ERR_OBJECT_TOO_LARGE');
});

test.each([
  ['null', 'ERR_INVALID_ARG_TYPE', '`datasets[0]`', null],
  ['a number', 'ERR_INVALID_ARG_TYPE', '`datasets[0]`', 42],
  ['a string', 'ERR_INVALID_ARG_TYPE', '`datasets[0]`', 'data'],
  ['the name .', 'ERR_INVALID_ARG_VALUE', '`datasets[0].name`', { name: '.', data: Uint8Array.of(1) }],
  ['the name ..', 'ERR_INVALID_ARG_VALUE', '`datasets[0].name`', { name: '..', data: Uint8Array.of(1) }],
  ['a name that is no string', 'ERR_INVALID_ARG_VALUE', '`datasets[0].name`', { name: 7, data: Uint8Array.of(1) }],
  [
    'a shape that is no array',
    'ERR_INVALID_ARG_TYPE',
    '`datasets[0].shape`',
    { name: 'x', data: Uint8Array.of(1), shape: 1 },
  ],
  [
    'a negative dimension',
    'ERR_OUT_OF_RANGE',
    '`datasets[0].shape[0]`',
    { name: 'x', data: Uint8Array.of(1), shape: [-1] },
  ],
  [
    'a fractional dimension',
    'ERR_OUT_OF_RANGE',
    '`datasets[0].shape[1]`',
    { name: 'x', data: Uint8Array.of(1), shape: [1, 0.5] },
  ],
  ['a misspelled key', 'ERR_INVALID_ARG_VALUE', 'shape', { name: 'x', data: Uint8Array.of(1), shap: [1] }],
])(
  'a dataset entry that is %s is refused with %s naming %s, before any HDF5 work',
  async (_what, code, named, entry) => {
    const error = await rejectionOf(encodeHdf5([entry as never]));
    expect(error.code).toBe(code);
    expect(error.message).toContain(named);
  },
);

test('a dataset over HDF5_MAX_BYTES is refused before it is read (a sparse chunked file, 1 MiB on disk)', async () => {
  // Made by h5wasm in a plain Node process: a chunked dataset resized past the limit, never written.
  const file = path.join(tmp.path, 'sparse.h5');
  execFileSync(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      `import * as h5 from 'h5wasm/node';
await h5.ready;
const f = new h5.File(${JSON.stringify(file)}, 'w');
f.create_dataset({ name: 'small', data: Uint8Array.of(1, 2) });
f.create_dataset({ name: 'huge', data: new Uint8Array(1), shape: [1], maxshape: [null], chunks: [1 << 20] })
  .resize([${HDF5_MAX_BYTES + 1}]);
f.close();`,
    ],
    { cwd: REPO_ROOT },
  );
  const bytes = readFileSync(file);
  expect(bytes.byteLength).toBeLessThan(2 << 20);
  const error = await rejection(readHdf5(bytes));
  expect(error.code).toBe('ERR_OBJECT_TOO_LARGE');
  expect(error.message).toBe(
    'readHdf5: dataset "huge" holds 1,073,741,825 bytes; h5wasm (a 2 GiB WebAssembly heap) reads at most 1,073,741,824 per dataset',
  );
  expect((await readHdf5(bytes, { datasets: ['small'] })).get('small')!.data).toEqual(Uint8Array.of(1, 2));
});

test('abort: before the call nothing starts; during it the result is dropped and the temp file removed', async () => {
  const before = new AbortController();
  before.abort(new Error('stop'));
  const early = await rejection(encodeHdf5({ name: 'data', data: testBytes(10) }, { signal: before.signal }));
  expect(early.code).toBe('ERR_ABORTED');
  expect((early.cause as Error).message).toBe('stop');

  const during = new AbortController();
  const pending = encodeHdf5({ name: 'data', data: testBytes(4 << 20) }, { signal: during.signal });
  during.abort();
  expect((await rejection(pending)).code).toBe('ERR_ABORTED');
  // afterEach checks that no temporary file is left.
});

test('concurrent calls are queued to the one worker and each gets its own file', async () => {
  const inputs = Array.from({ length: 6 }, (_, i) => testBytes(10_000 + i * 1000, i + 10));
  const files = await Promise.all(inputs.map((data) => encodeHdf5({ name: 'data', data })));
  const read = await Promise.all(files.map((bytes) => readHdf5(bytes)));
  read.forEach((datasets, i) => expect(sha256(datasets.get('data')!.data)).toBe(sha256(inputs[i]!)));
});

test('a worker that dies fails its pending calls with ERR_NATIVE, not those of its replacement', async () => {
  const pending = encodeHdf5({ name: 'data', data: testBytes(8 << 20) });
  const stopping = stopHdf5Worker();
  // Started before the old worker's exit event: runs in a new worker and must not be failed by it.
  const next = encodeHdf5({ name: 'data', data: Uint8Array.of(5) });
  await stopping;
  const error = await rejection(pending);
  expect(error.code).toBe('ERR_NATIVE');
  expect(error.message).toMatch(/^encodeHdf5: the HDF5 worker exited \(code \d+\)$/);
  expect((await readHdf5(await next)).get('data')!.data).toEqual(Uint8Array.of(5));
});
