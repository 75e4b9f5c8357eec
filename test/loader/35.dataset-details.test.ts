/**
 * Dataset details: option errors naming the call and the option, TFRecord files without an index
 * read by default, the caller's signal reaching every kind of read, the RangeEngine settings of
 * `readerMode: 'range'` passed to the store, and the operation a damaged record is reported under.
 */
import { mkdirSync, writeFileSync } from 'fs';
import * as path from 'path';

import { encodeTfRecords, formatTfRecordIndex, storeFor, type ObjectStore } from '../../lib';
import { Dataset } from '../../lib/loader/dataset';
import { rejectionOf } from '../helpers/local';
import { useTempDir } from '../helpers/temp';

const tmp = useTempDir('s3dlio-dataset-details-');
const uriOf = (name: string): string => `file://${path.join(tmp.path, name)}`;

function tfrecordFile(name: string, records: Uint8Array[], withIndex: boolean): void {
  const encoded = encodeTfRecords(records);
  writeFileSync(path.join(tmp.path, name), encoded.data);
  if (withIndex) writeFileSync(path.join(tmp.path, `${name}.idx`), formatTfRecordIndex(encoded.index));
}

test('option errors name the call and the option', async () => {
  expect(await rejectionOf(Dataset.fromPrefix(uriOf(''), { recursve: true } as never))).toMatchObject({
    code: 'ERR_INVALID_ARG_VALUE',
    message: expect.stringContaining('Dataset.fromPrefix'),
  });
  expect(await rejectionOf(Dataset.fromUris([uriOf('x')], { store: 42 as never }))).toMatchObject({
    code: 'ERR_INVALID_ARG_TYPE',
    message: expect.stringContaining('options.store'),
  });
});

test.each<[string, () => Promise<unknown>, string, string]>([
  ['uris that are not an array', () => Dataset.fromUris('file:///x' as never), 'ERR_INVALID_ARG_TYPE', '`uris`'],
  ['a uri that is not a string', () => Dataset.fromUris([uriOf('a'), 7 as never]), 'ERR_INVALID_ARG_TYPE', '`uris[1]`'],
  [
    'an unknown option of fromUris',
    () => Dataset.fromUris([], { formt: 'npy' } as never),
    'ERR_INVALID_ARG_VALUE',
    'of Dataset.fromUris',
  ],
  ['a prefix that is not a string', () => Dataset.fromPrefix(42 as never), 'ERR_INVALID_ARG_TYPE', '`prefixUri`'],
  [
    'recursive',
    () => Dataset.fromPrefix(uriOf(''), { recursive: 'yes' as never }),
    'ERR_INVALID_ARG_TYPE',
    'options.recursive',
  ],
  ['format', () => Dataset.fromUris([], { format: 'csv' } as never), 'ERR_INVALID_ARG_VALUE', 'options.format'],
  ['verify', () => Dataset.fromUris([], { verify: 1 } as never), 'ERR_INVALID_ARG_TYPE', 'options.verify'],
  [
    'requireIndex',
    () => Dataset.fromUris([], { requireIndex: 'no' } as never),
    'ERR_INVALID_ARG_TYPE',
    'options.requireIndex',
  ],
  // TFRecord's own options with another format (JavaScript callers: the types stop TypeScript's).
  [
    'verify of a raw dataset',
    () => Dataset.fromUris([], { verify: false } as never),
    'ERR_INVALID_ARG_VALUE',
    "`options.verify` applies to format 'tfrecord' only; this dataset's format is 'raw'",
  ],
  [
    'requireIndex of an npy dataset',
    () => Dataset.fromPrefix(uriOf(''), { format: 'npy', requireIndex: true } as never),
    'ERR_INVALID_ARG_VALUE',
    "`options.requireIndex` applies to format 'tfrecord' only; this dataset's format is 'npy'",
  ],
  ['a store without get', () => Dataset.fromUris([], { store: {} as never }), 'ERR_INVALID_ARG_TYPE', 'options.store'],
  ['a null store', () => Dataset.fromUris([], { store: null as never }), 'ERR_INVALID_ARG_TYPE', 'options.store'],
])('%s: refused, named, before any read', async (_what, call, code, named) => {
  const error = await rejectionOf(call());
  expect(error).toMatchObject({ code });
  expect(error.message).toContain(named);
});

test('map takes a function, named transform otherwise; get refuses an unknown option by the name of the call', async () => {
  writeFileSync(path.join(tmp.path, 'one.bin'), 'x');
  const dataset = await Dataset.fromUris([uriOf('one.bin')]);
  expect(() => dataset.map('upper' as never)).toThrow(/`transform`/);
  expect(await rejectionOf(dataset.get(0, { sigal: undefined } as never))).toMatchObject({
    code: 'ERR_INVALID_ARG_VALUE',
    message: expect.stringContaining('of Dataset.get'),
  });
});

test('a TFRecord prefix: index files beside their data are not items; an .idx with no data file beside it is', async () => {
  const dir = path.join(tmp.path, 'with-indexes');
  mkdirSync(dir);
  const encoded = encodeTfRecords([Uint8Array.of(1)]);
  writeFileSync(path.join(dir, 'a.tfrecord'), encoded.data);
  writeFileSync(path.join(dir, 'a.tfrecord.idx'), formatTfRecordIndex(encoded.index));
  writeFileSync(path.join(dir, 'lone.idx'), encoded.data); // a TFRecord file that happens to end in .idx
  const dataset = await Dataset.fromPrefix(`file://${dir}/`, { format: 'tfrecord' });
  expect(dataset.source(0)).toBe(`file://${dir}/a.tfrecord`);
  expect(dataset.length).toBe(2);
  expect(dataset.source(1)).toBe(`file://${dir}/lone.idx`);
  // Raw datasets keep every object.
  expect((await Dataset.fromPrefix(`file://${dir}/`)).length).toBe(3);
});

test('a TFRecord file without an index is indexed by reading it (by default); requireIndex refuses it', async () => {
  tfrecordFile('no-index.tfrecord', [Uint8Array.of(1), Uint8Array.of(2, 2)], false);
  const dataset = await Dataset.fromUris([uriOf('no-index.tfrecord')], { format: 'tfrecord' });
  expect(dataset.length).toBe(2);
  expect([...(await dataset.get(1)).data]).toEqual([2, 2]);
  expect(
    await rejectionOf(Dataset.fromUris([uriOf('no-index.tfrecord')], { format: 'tfrecord', requireIndex: true })),
  ).toMatchObject({ code: 'ERR_NOT_FOUND', uri: `${uriOf('no-index.tfrecord')}.idx` });
});

test("the caller's signal reaches every kind of read", async () => {
  writeFileSync(path.join(tmp.path, 'raw.bin'), 'raw bytes');
  tfrecordFile('indexed.tfrecord', [Uint8Array.of(9)], true);
  const aborted = AbortSignal.abort(new Error('stop'));
  const raw = await Dataset.fromUris([uriOf('raw.bin')]);
  const records = await Dataset.fromUris([uriOf('indexed.tfrecord')], { format: 'tfrecord' });
  for (const fetch of [
    () => raw.get(0, { signal: aborted }),
    () => raw.get(0, { signal: aborted, rangeThreshold: 4, chunkSize: 4 }),
    () => records.get(0, { signal: aborted }),
  ]) {
    expect(await rejectionOf(fetch())).toMatchObject({ code: 'ERR_ABORTED' });
  }
});

test('rangeThreshold and chunkSize reach the store as given; without them the store decides', async () => {
  writeFileSync(path.join(tmp.path, 'ranged.bin'), 'x'.repeat(100));
  const real = storeFor(uriOf('ranged.bin'));
  const calls: unknown[] = [];
  const recording = new Proxy(real, {
    get(target, property, receiver) {
      if (property === 'get') {
        return (uri: string, options?: Record<string, unknown>) => {
          calls.push({ rangeThreshold: options?.rangeThreshold, chunkSize: options?.chunkSize });
          return target.get(uri, options);
        };
      }
      return Reflect.get(target, property, receiver) as unknown;
    },
  }) as ObjectStore;
  const dataset = await Dataset.fromUris([uriOf('ranged.bin')], { store: recording });
  expect((await dataset.get(0, { rangeThreshold: 16, chunkSize: 16 })).data.byteLength).toBe(100);
  expect((await dataset.get(0)).data.byteLength).toBe(100);
  expect(calls).toEqual([
    { rangeThreshold: 16, chunkSize: 16 },
    { rangeThreshold: undefined, chunkSize: undefined },
  ]);
});

test('a damaged record is reported by Dataset.get', async () => {
  const encoded = encodeTfRecords([Uint8Array.of(1, 2, 3)]);
  encoded.data[12] ^= 0xff;
  writeFileSync(path.join(tmp.path, 'damaged.tfrecord'), encoded.data);
  writeFileSync(path.join(tmp.path, 'damaged.tfrecord.idx'), formatTfRecordIndex(encoded.index));
  const dataset = await Dataset.fromUris([uriOf('damaged.tfrecord')], { format: 'tfrecord' });
  expect(await rejectionOf(dataset.get(0))).toMatchObject({
    code: 'ERR_CHECKSUM_MISMATCH',
    message: expect.stringContaining('Dataset.get'),
  });
});
