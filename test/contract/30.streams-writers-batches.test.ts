/**
 * Streams, reads into caller memory, the RangeEngine, streaming writers, batches and deletePrefix:
 * provided once by the base store, so the same on every backend.
 */
import { Readable } from 'stream';

import { BatchError } from '../../lib';
import { expectSameBytes, rejectionOf, testBytes } from '../helpers/local';
import { newBucketName } from '../cloud/targets';
import { storeTargets } from './targets';

const MiB = 1024 * 1024;

async function collect(stream: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of stream) chunks.push(chunk);
  return Buffer.concat(chunks);
}

describe.each(storeTargets())('%s: streams, writers and batches', (_name, target) => {
  const store = target.store();
  const base = target.bucketUri(newBucketName('sw'));
  const bytes = testBytes(3 * MiB + 123, 11);

  beforeAll(async () => {
    await store.createBucket(base);
    await store.put(`${base}obj.bin`, bytes);
  });
  afterAll(() => store.deleteBucket(base, { force: true }));

  test('getStream and getWebStream give the bytes, whole or a window, in chunks of chunkSize', async () => {
    expectSameBytes(await collect(store.getStream(`${base}obj.bin`, { chunkSize: MiB })), bytes);
    const window = await collect(store.getStream(`${base}obj.bin`, { start: 1000, end: 2 * MiB, chunkSize: MiB }));
    expectSameBytes(window, bytes.subarray(1000, 2 * MiB + 1));
    const web = Readable.fromWeb(store.getWebStream(`${base}obj.bin`, { chunkSize: MiB }));
    expectSameBytes(await collect(web), bytes);
  });

  test('the RangeEngine assembles the same bytes from concurrent ranges', async () => {
    const options = { rangeThreshold: MiB, chunkSize: 512 * 1024, concurrency: 3 };
    expectSameBytes(await store.get(`${base}obj.bin`, options), bytes);
    expectSameBytes(await store.getRange(`${base}obj.bin`, 100, 2 * MiB, options), bytes.subarray(100, 100 + 2 * MiB));
  });

  test('getInto writes the object at an offset of the caller memory and refuses a target too small', async () => {
    const target = new Uint8Array(bytes.byteLength + 10);
    expect(await store.getInto(`${base}obj.bin`, target, 10)).toBe(bytes.byteLength);
    expectSameBytes(target.subarray(10), bytes);
    const error = await rejectionOf(store.getInto(`${base}obj.bin`, new Uint8Array(bytes.byteLength - 1)));
    expect(error).toMatchObject({ code: 'ERR_TARGET_TOO_SMALL', uri: `${base}obj.bin`, operation: 'getInto' });
  });

  test('a streaming writer in parts: nothing visible before close, then the exact bytes', async () => {
    const uri = `${base}written.bin`;
    const content = testBytes(11 * MiB, 12);
    const writer = store.createWriter(uri, { partSize: 5 * MiB, concurrency: 2 });
    await writer.write(content.subarray(0, 6 * MiB));
    expect(await store.exists(uri)).toBe(false);
    await writer.write(content.subarray(6 * MiB));
    expect(await writer.close()).toMatchObject({ uri, bytes: content.byteLength, parts: 3 });
    expectSameBytes(await store.get(uri), content);
  });

  test('an aborted writer leaves no object', async () => {
    const uri = `${base}aborted.bin`;
    const writer = store.createWriter(uri, { partSize: 5 * MiB });
    await writer.write(testBytes(6 * MiB, 13));
    await writer.abort();
    expect(await store.exists(uri)).toBe(false);
  });

  test('putMany then getMany keep input order; a missing item fails the batch listing it', async () => {
    const items = [3, 1, 2].map((n) => ({ uri: `${base}many/${n}`, data: testBytes(1000 * n, n) }));
    await store.putMany(items, { concurrency: 2 });
    const got = await store.getMany(items.map((item) => item.uri));
    got.forEach((value, index) => expectSameBytes(value, items[index].data as Uint8Array));
    const error = await rejectionOf(store.getMany([items[0].uri, `${base}many/none`]));
    expect(error).toBeInstanceOf(BatchError);
    expect(error.errors).toEqual([expect.objectContaining({ code: 'ERR_NOT_FOUND', uri: `${base}many/none` })]);
  });

  test('deletePrefix deletes the matching objects below a prefix, reporting each, and nothing else', async () => {
    for (const key of ['dp/a.txt', 'dp/b.bin', 'dp/sub/c.txt', 'dpx/d.txt']) await store.put(`${base}${key}`, key);
    const deleted: string[] = [];
    const count = await store.deletePrefix(`${base}dp/`, { pattern: /\.txt$/, onDeleted: (uri) => deleted.push(uri) });
    expect(count).toBe(2);
    expect(deleted.sort()).toEqual([`${base}dp/a.txt`, `${base}dp/sub/c.txt`]);
    expect(await store.list(`${base}dp`, { recursive: true })).toEqual([`${base}dp/b.bin`, `${base}dpx/d.txt`]);
  });

  test('a prefix is not an object: exists is false for it, and stat of a missing key is ERR_NOT_FOUND', async () => {
    await store.put(`${base}dir/inner`, 'x');
    expect(await store.exists(`${base}dir`)).toBe(false);
    await expect(store.stat(`${base}dir/none`)).rejects.toMatchObject({ code: 'ERR_NOT_FOUND' });
  });
});
