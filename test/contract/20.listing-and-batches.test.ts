/** Listing (recursive, delimiter, pattern, pagination), batches and bucket operations on every backend. */
import { BatchError } from '../../lib';
import { expectSameBytes, rejectionOf, testBytes } from '../helpers/local';
import { newBucketName } from '../cloud/targets';
import { storeTargets } from './targets';

describe.each(storeTargets())('%s: listing and batches', (_name, target) => {
  // Small pages so a few hundred keys already span several pages on every cloud.
  const store = target.store(target.smallPages);
  const bucket = newBucketName('list');
  const base = target.bucketUri(bucket);
  const keys = ['a/1.bin', 'a/2.npz', 'a/sub/3.bin', 'ab.txt', 'b/4.bin', 'top.bin'];

  beforeAll(async () => {
    await store.createBucket(base);
    await store.putMany(keys.map((key, index) => ({ uri: `${base}${key}`, data: testBytes(100 + index, index) })));
  });
  afterAll(() => store.deleteBucket(base, { force: true }));

  test('recursive listing returns every object as a full URI, sorted', async () => {
    expect(await store.list(base, { recursive: true })).toEqual(keys.map((key) => `${base}${key}`).sort());
  });

  test('non-recursive listing returns objects and common prefixes ending with "/"', async () => {
    expect(await store.list(base)).toEqual([`${base}a/`, `${base}ab.txt`, `${base}b/`, `${base}top.bin`]);
    expect(await store.list(`${base}a/`)).toEqual([`${base}a/1.bin`, `${base}a/2.npz`, `${base}a/sub/`]);
  });

  test('a prefix without a trailing slash is a key prefix', async () => {
    expect(await store.list(`${base}a`, { recursive: true })).toEqual(
      ['a/1.bin', 'a/2.npz', 'a/sub/3.bin', 'ab.txt'].map((key) => `${base}${key}`),
    );
  });

  test('pattern (RegExp or string) matches the path relative to the prefix', async () => {
    expect(await store.list(`${base}a/`, { recursive: true, pattern: /\.bin$/ })).toEqual([
      `${base}a/1.bin`,
      `${base}a/sub/3.bin`,
    ]);
    expect(await store.list(base, { recursive: true, pattern: '^[ab]/\\d' })).toEqual(
      ['a/1.bin', 'a/2.npz', 'b/4.bin'].map((key) => `${base}${key}`),
    );
  });

  test('an empty prefix lists nothing', async () => {
    expect(await store.list(`${base}nothing-here/`, { recursive: true })).toEqual([]);
  });

  test('listStream pages through a listing far past one page without holding it', async () => {
    const many = Array.from({ length: 260 }, (_, index) => `${base}many/${String(index).padStart(4, '0')}`);
    await store.putMany(
      many.map((uri) => ({ uri, data: 'x' })),
      { concurrency: 16 },
    );
    const seen: string[] = [];
    for await (const uri of store.listStream(`${base}many/`, { recursive: true })) seen.push(uri);
    expect(seen.sort()).toEqual(many);
    expect(await store.deletePrefix(`${base}many/`)).toBe(260);
    expect(await store.list(`${base}many/`, { recursive: true })).toEqual([]);
  });

  test('getMany returns input order; failures are all listed in a BatchError', async () => {
    const uris = [`${base}top.bin`, `${base}a/1.bin`, `${base}b/4.bin`];
    const results = await store.getMany(uris, { concurrency: 2 });
    expectSameBytes(results[0], testBytes(105, 5));
    expectSameBytes(results[1], testBytes(100, 0));
    const error = await rejectionOf(store.getMany([`${base}top.bin`, `${base}x1`, `${base}x2`]));
    expect(error).toBeInstanceOf(BatchError);
    expect(error.code).toBe('ERR_BATCH_FAILED');
    expect(error.errors.map((item: { uri: string; code: string }) => [item.uri, item.code])).toEqual([
      [`${base}x1`, 'ERR_NOT_FOUND'],
      [`${base}x2`, 'ERR_NOT_FOUND'],
    ]);
  });

  test('deleteMany deletes each URI and resolves to the count', async () => {
    const uris = ['d/1', 'd/2', 'd/3'].map((key) => `${base}${key}`);
    await store.putMany(uris.map((uri) => ({ uri, data: 'x' })));
    expect(await store.deleteMany(uris)).toBe(3);
    expect(await store.list(`${base}d/`, { recursive: true })).toEqual([]);
  });

  test('deleteBucket refuses a non-empty bucket unless forced; listBuckets sees buckets', async () => {
    const other = target.bucketUri(newBucketName('bkt'));
    await store.createBucket(other);
    await store.put(`${other}k`, 'v');
    expect(await store.listBuckets(target.schemeUri)).toContain(other);
    await expect(store.deleteBucket(other)).rejects.toMatchObject({ code: 'ERR_BUCKET_NOT_EMPTY' });
    await store.deleteBucket(other, { force: true });
    expect(await store.listBuckets(target.schemeUri)).not.toContain(other);
  });
});
