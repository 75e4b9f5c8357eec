/**
 * Datasets on file://: listing once, map-style access, the record formats (raw, NPY, NPZ,
 * TFRecord with and without index files), transforms, and what a bad object does.
 */
import { mkdirSync, writeFileSync } from 'fs';
import * as path from 'path';

import { encodeExample, encodeNpy, encodeNpz, encodeTfRecords, formatTfRecordIndex } from '../../lib/formats';
import { DataLoader } from '../../lib/loader/data-loader';
import { Dataset } from '../../lib/loader/dataset';
import { runNodeScript } from '../helpers/child';
import { rejectionOf, testBytes } from '../helpers/local';
import { useTempDir } from '../helpers/temp';

const tmp = useTempDir('s3dlio-datasets-');
const dir = (name: string): string => path.join(tmp.path, name);
const uri = (rel: string): string => `file://${tmp.path}/${rel}`;

/** Record r of file f: its bytes say which they are. */
const recordBytes = (f: number, r: number): Uint8Array =>
  new TextEncoder().encode(`file ${f} record ${r}`.padEnd(40 + r, '.'));

beforeAll(() => {
  mkdirSync(dir('raw/sub'), { recursive: true });
  for (let i = 0; i < 5; i++) writeFileSync(dir(`raw/item-${i}.bin`), testBytes(1000 + i, i));
  writeFileSync(dir('raw/sub/nested.bin'), testBytes(10, 99));

  mkdirSync(dir('npy'));
  for (let i = 0; i < 3; i++) writeFileSync(dir(`npy/a${i}.npy`), encodeNpy(new Float32Array([i, i + 0.5, i + 1])));
  mkdirSync(dir('npz'));
  writeFileSync(dir('npz/pair.npz'), encodeNpz({ x: new Int32Array([1, 2, 3]), y: new Uint8Array([9]) }));

  for (const [name, withIndex] of [
    ['tfr', true],
    ['tfr-noidx', false],
  ] as const) {
    mkdirSync(dir(name));
    for (let f = 0; f < 3; f++) {
      const encoded = encodeTfRecords(Array.from({ length: 4 + f }, (_, r) => recordBytes(f, r)));
      writeFileSync(dir(`${name}/part-${f}.tfrecord`), encoded.data);
      if (withIndex) writeFileSync(dir(`${name}/part-${f}.tfrecord.idx`), formatTfRecordIndex(encoded.index));
    }
  }
});

describe('Dataset.fromPrefix / fromUris', () => {
  test('lists once, recursively by default, sorted by URI; items are the objects', async () => {
    const dataset = await Dataset.fromPrefix(uri('raw/'));
    expect(dataset.length).toBe(6);
    const items = [];
    for await (const item of dataset) items.push(item);
    expect(items.map((item) => item.uri)).toEqual([...items.map((item) => item.uri)].sort());
    expect(items.map((item) => item.uri)).toContain(uri('raw/sub/nested.bin'));
    const third = await dataset.get(2);
    expect(third).toMatchObject({ uri: uri('raw/item-2.bin'), size: 1002 });
    expect(Buffer.from(third.data).equals(Buffer.from(testBytes(1002, 2)))).toBe(true);
  });

  test('recursive: false and pattern select objects', async () => {
    expect((await Dataset.fromPrefix(uri('raw/'), { recursive: false })).length).toBe(5);
    const matching = await Dataset.fromPrefix(uri('raw/'), { pattern: /item-[13]/ });
    expect([matching.source(0), matching.source(1)]).toEqual([uri('raw/item-1.bin'), uri('raw/item-3.bin')]);
  });

  test('fromUris keeps the given order', async () => {
    const dataset = await Dataset.fromUris([uri('raw/item-4.bin'), uri('raw/item-0.bin')]);
    expect((await dataset.get(0)).size).toBe(1004);
    expect((await dataset.get(1)).size).toBe(1000);
  });

  test('an empty prefix is an empty dataset, and a loader over it yields nothing', async () => {
    const dataset = await Dataset.fromPrefix(uri('nothing-here/'));
    expect(dataset.length).toBe(0);
    const batches = [];
    for await (const batch of new DataLoader(dataset)) batches.push(batch);
    expect(batches).toEqual([]);
  });

  test('get() outside the dataset, a bad format and a non-array are argument errors', async () => {
    const dataset = await Dataset.fromPrefix(uri('raw/'));
    await expect(dataset.get(6)).rejects.toThrow(/an integer in \[0, 6\) for `index`/);
    await expect(dataset.get(-1)).rejects.toThrow(RangeError);
    await expect(Dataset.fromPrefix(uri('raw/'), { format: 'parquet' } as never)).rejects.toThrow(
      /one of raw, npy, npz, tfrecord for `options\.format`/,
    );
    await expect(Dataset.fromUris('file:///x' as never)).rejects.toThrow(TypeError);
  });

  test('a missing object fails with its URI and ERR_NOT_FOUND', async () => {
    const dataset = await Dataset.fromUris([uri('raw/missing.bin')]);
    const error = await rejectionOf(dataset.get(0));
    expect(error).toMatchObject({ code: 'ERR_NOT_FOUND', uri: uri('raw/missing.bin') });
  });
});

describe('record formats', () => {
  test('npy: items carry the array, a view of the object bytes (no copy)', async () => {
    const dataset = await Dataset.fromPrefix(uri('npy/'), { format: 'npy' });
    const item = await dataset.get(1);
    expect(item.array.dtype).toBe('<f4');
    expect(item.array.shape).toEqual([3]);
    expect(Array.from(item.array.data as Float32Array)).toEqual([1, 1.5, 2]);
    expect(item.array.data.buffer).toBe(item.data.buffer);
  });

  test('npz: items carry every array by name', async () => {
    const [item] = await collect(await Dataset.fromPrefix(uri('npz/'), { format: 'npz' }));
    expect([...item.arrays.keys()].sort()).toEqual(['x', 'y']);
    expect(Array.from((item.arrays.get('x')?.data ?? []) as Int32Array)).toEqual([1, 2, 3]);
  });

  test('npy: a file that is not NPY fails with ERR_BAD_FORMAT and its URI', async () => {
    const dataset = await Dataset.fromUris([uri('raw/item-0.bin')], { format: 'npy' });
    const error = await rejectionOf(dataset.get(0));
    expect(error).toMatchObject({ code: 'ERR_BAD_FORMAT', uri: uri('raw/item-0.bin') });
  });

  test('tfrecord with .idx files: one item per record, random access by index, .idx not items', async () => {
    const dataset = await Dataset.fromPrefix(uri('tfr/'), { format: 'tfrecord' });
    expect(dataset.length).toBe(4 + 5 + 6);
    const last = await dataset.get(14);
    expect(last).toMatchObject({ uri: uri('tfr/part-2.tfrecord'), record: 5 });
    expect(new TextDecoder().decode(last.data)).toBe(new TextDecoder().decode(recordBytes(2, 5)));
    const items = await collect(dataset);
    expect(items.map((item) => `${item.uri.slice(-11)}#${item.record}`)).toEqual(
      [0, 1, 2].flatMap((f) => Array.from({ length: 4 + f }, (_, r) => `-${f}.tfrecord#${r}`)),
    );
  });

  test('tfrecord records holding tf.train.Example protos come back byte-exact', async () => {
    mkdirSync(dir('tfr-ex'));
    const examples = [0, 1, 2].map((i) => encodeExample({ label: [i], data: testBytes(100, i) }));
    const encoded = encodeTfRecords(examples);
    writeFileSync(dir('tfr-ex/ex.tfrecord'), encoded.data);
    writeFileSync(dir('tfr-ex/ex.tfrecord.idx'), formatTfRecordIndex(encoded.index));
    const items = await collect(await Dataset.fromPrefix(uri('tfr-ex/'), { format: 'tfrecord' }));
    items.forEach((item, i) => expect(Buffer.from(item.data).equals(Buffer.from(examples[i]))).toBe(true));
  });

  test('tfrecord: a corrupted record fails with ERR_CHECKSUM_MISMATCH and its URI', async () => {
    mkdirSync(dir('tfr-bad'));
    const encoded = encodeTfRecords([recordBytes(0, 0), recordBytes(0, 1)]);
    encoded.data[encoded.index[1].offset + 14] ^= 0xff; // a data byte of record 1
    writeFileSync(dir('tfr-bad/bad.tfrecord'), encoded.data);
    writeFileSync(dir('tfr-bad/bad.tfrecord.idx'), formatTfRecordIndex(encoded.index));
    const dataset = await Dataset.fromPrefix(uri('tfr-bad/'), { format: 'tfrecord' });
    await expect(dataset.get(0)).resolves.toBeDefined();
    const error = await rejectionOf(dataset.get(1));
    expect(error).toMatchObject({ code: 'ERR_CHECKSUM_MISMATCH', uri: uri('tfr-bad/bad.tfrecord') });
    const unchecked = await Dataset.fromPrefix(uri('tfr-bad/'), { format: 'tfrecord', verify: false });
    await expect(unchecked.get(1)).resolves.toBeDefined();
  });

  test('tfrecord: an index that does not match its file fails with ERR_BAD_FORMAT (stale index)', async () => {
    mkdirSync(dir('tfr-stale'));
    const encoded = encodeTfRecords([recordBytes(0, 0), recordBytes(0, 1)]);
    writeFileSync(dir('tfr-stale/s.tfrecord'), encoded.data.subarray(0, encoded.index[1].offset + 5));
    writeFileSync(dir('tfr-stale/s.tfrecord.idx'), formatTfRecordIndex(encoded.index));
    const dataset = await Dataset.fromPrefix(uri('tfr-stale/'), { format: 'tfrecord' });
    const error = await rejectionOf(dataset.get(1));
    expect(error).toMatchObject({ code: 'ERR_BAD_FORMAT', uri: uri('tfr-stale/s.tfrecord') });
  });

  test('tfrecord without .idx: requireIndex refuses; otherwise the files are scanned, with one warning', async () => {
    const refused = await rejectionOf(
      Dataset.fromPrefix(uri('tfr-noidx/'), { format: 'tfrecord', requireIndex: true }),
    );
    expect(refused.code).toBe('ERR_NOT_FOUND');
    expect(refused.message).toMatch(/3 TFRecord file\(s\) have no \.idx index/);

    // In a process of its own: the warning is once per process.
    const result = await runNodeScript(
      `(async () => {
        const { Dataset } = require(LIB);
        let warnings = 0;
        process.on('warning', (w) => { if (w.code === 'S3DLIO_TFRECORD_NO_INDEX') warnings++; });
        const a = await Dataset.fromPrefix(ARGS.prefix, { format: 'tfrecord' });
        const b = await Dataset.fromPrefix(ARGS.prefix, { format: 'tfrecord' });
        const last = await a.get(a.length - 1);
        await new Promise((r) => setImmediate(r));
        console.log('RESULT ' + JSON.stringify({ lengths: [a.length, b.length], record: last.record, warnings }));
      })();`,
      { prefix: uri('tfr-noidx/') },
    );
    const line = result.stdout.split('\n').find((l) => l.startsWith('RESULT '));
    expect(JSON.parse((line ?? 'RESULT null').slice(7))).toEqual({ lengths: [15, 15], record: 5, warnings: 1 });
    expect(result.stderr).toContain('S3DLIO_TFRECORD_NO_INDEX');
  });
});

test('tfrecord without .idx: a truncated file fails the scan with ERR_BAD_FORMAT and its URI', async () => {
  mkdirSync(dir('tfr-cut'));
  const encoded = encodeTfRecords([recordBytes(0, 0), recordBytes(0, 1)]);
  writeFileSync(dir('tfr-cut/cut.tfrecord'), encoded.data.subarray(0, encoded.data.byteLength - 3));
  const error = await rejectionOf(Dataset.fromPrefix(uri('tfr-cut/'), { format: 'tfrecord' }));
  expect(error).toMatchObject({ code: 'ERR_BAD_FORMAT', uri: uri('tfr-cut/cut.tfrecord') });
  expect(error.message).toMatch(/record 1 at byte offset \d+: truncated/);
});

describe('transforms', () => {
  test('map() runs a sync or async transform on each item, in the loader pool too', async () => {
    const dataset = (await Dataset.fromPrefix(uri('raw/'), { recursive: false })).map(async (item, index) => {
      await new Promise((resolve) => setTimeout(resolve, 1));
      return { index, first: item.data[0], size: item.size };
    });
    const sizes = (await collect(dataset)).map((item) => item.size);
    expect(sizes).toEqual([1000, 1001, 1002, 1003, 1004]);
    const batches = [];
    for await (const batch of new DataLoader(
      dataset.map((item) => item.size * 2),
      { batchSize: 2 },
    ))
      batches.push(batch);
    expect(batches).toEqual([[2000, 2002], [2004, 2006], [2008]]);
  });

  test('a transform that throws fails the loader with ERR_ITEM_FAILED naming the object', async () => {
    const dataset = (await Dataset.fromPrefix(uri('raw/'), { recursive: false })).map((item) => {
      if (item.uri.endsWith('item-3.bin')) throw new Error('cannot decode');
      return item;
    });
    const error = await rejectionOf(collectBatches(new DataLoader(dataset, { batchSize: 2 })));
    expect(error).toMatchObject({ code: 'ERR_ITEM_FAILED', uri: uri('raw/item-3.bin') });
    expect(error.cause.message).toBe('cannot decode');
  });
});

async function collect<T>(dataset: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of dataset) out.push(item);
  return out;
}

async function collectBatches<T>(loader: DataLoader<T>): Promise<T[][]> {
  const out: T[][] = [];
  for await (const batch of loader) out.push(batch);
  return out;
}
