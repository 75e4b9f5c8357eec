/**
 * Create-only writes (`overwrite: false`) on every backend: an object already there is left as it
 * is and the write fails with ERR_ALREADY_EXISTS, whichever path the bytes take (one request, a
 * multipart upload, a streaming writer), and of writers racing to create one object exactly one
 * wins, its bytes whole.
 */
import * as s3dlio from '../../lib';
import { expectSameBytes, rejectionOf, testBytes } from '../helpers/local';
import { useTempDir } from '../helpers/temp';
import { newBucketName } from '../cloud/targets';
import { storeTargets } from './targets';

const MiB = 1024 * 1024;

describe.each(storeTargets())('%s: create-only writes', (_name, target) => {
  const store = target.store();
  const base = target.bucketUri(newBucketName('co'));
  const original = testBytes(1000, 1);

  beforeAll(() => store.createBucket(base));
  afterAll(() => store.deleteBucket(base, { force: true }));

  /** What is below the bucket, the objects a failed write could have left included. */
  const contents = async (): Promise<string[]> => (await store.list(base, { recursive: true })).sort();

  test('put creates an absent object, then refuses to replace it and leaves it as it was', async () => {
    const uri = `${base}put/one.bin`;
    await store.put(uri, original, { overwrite: false });
    expectSameBytes(await store.get(uri), original);
    const error = await rejectionOf(store.put(uri, testBytes(2000, 2), { overwrite: false }));
    expect(error).toMatchObject({ code: 'ERR_ALREADY_EXISTS', uri, operation: 'put' });
    expectSameBytes(await store.get(uri), original);
    // The default still replaces.
    await store.put(uri, 'replaced');
    expect(Buffer.from(await store.get(uri)).toString()).toBe('replaced');
  });

  test('putMany with overwrite false writes the absent items and fails the present ones, each left as it was', async () => {
    const present = `${base}many/present.bin`;
    await store.put(present, original);
    const items = [0, 1, 2].map((index) => ({ uri: `${base}many/new-${index}.bin`, data: testBytes(500, 20 + index) }));
    const error = await rejectionOf(
      store.putMany([...items, { uri: present, data: testBytes(700, 30) }], { overwrite: false }),
    );
    expect(error).toMatchObject({ code: 'ERR_BATCH_FAILED', operation: 'putMany' });
    expect((error as unknown as { errors: unknown[] }).errors).toEqual([
      expect.objectContaining({ code: 'ERR_ALREADY_EXISTS', uri: present }),
    ]);
    expectSameBytes(await store.get(present), original);
    for (const item of items) expectSameBytes(await store.get(item.uri), item.data);
    // The default replaces; a wrong type is refused before anything is written.
    await store.putMany([{ uri: present, data: 'replaced' }]);
    expect(Buffer.from(await store.get(present)).toString()).toBe('replaced');
    expect(await rejectionOf(store.putMany(items, { overwrite: 'no' as never }))).toMatchObject({
      code: 'ERR_INVALID_ARG_TYPE',
    });
  });

  test('a put large enough to go up in parts is create-only too', async () => {
    const uri = `${base}put/large.bin`;
    await store.put(uri, original);
    const large = testBytes(6 * MiB, 3);
    const options = { overwrite: false, multipartThreshold: 5 * MiB, partSize: 5 * MiB };
    const error = await rejectionOf(store.put(uri, large, options));
    expect(error).toMatchObject({ code: 'ERR_ALREADY_EXISTS', uri });
    expectSameBytes(await store.get(uri), original);
    const fresh = `${base}put/large-new.bin`;
    await store.put(fresh, large, options);
    expectSameBytes(await store.get(fresh), large);
  });

  test.each([
    ['in one request', 1000],
    ['in parts', 5 * MiB + 1000],
  ])('a streaming writer %s fails by close, the object unchanged and nothing staged left', async (_how, size) => {
    const uri = `${base}writer/${size}.bin`;
    await store.put(uri, original);
    const before = await contents();
    const writer = store.createWriter(uri, { overwrite: false, partSize: 5 * MiB });
    // A service that checks at the first part (GCS) fails the write; the others fail close.
    const error = await rejectionOf(writer.write(testBytes(size, 4)).then(() => writer.close()));
    expect(error).toMatchObject({ code: 'ERR_ALREADY_EXISTS', uri });
    expectSameBytes(await store.get(uri), original);
    expect(await contents()).toEqual(before);
  });

  test('of writers racing to create one object exactly one wins, and its bytes are stored whole', async () => {
    const uri = `${base}race/object.bin`;
    const payloads = [0, 1, 2, 3].map((seed) => testBytes(64 * 1024 + seed, 10 + seed));
    const outcomes = await Promise.allSettled(
      payloads.map(async (bytes, index) => {
        if (index % 2 === 0) return store.put(uri, bytes, { overwrite: false });
        const writer = store.createWriter(uri, { overwrite: false });
        await writer.write(bytes);
        await writer.close();
      }),
    );
    const winners = outcomes.flatMap((outcome, index) => (outcome.status === 'fulfilled' ? [index] : []));
    expect(winners).toHaveLength(1);
    for (const outcome of outcomes) {
      if (outcome.status === 'rejected') expect(outcome.reason).toMatchObject({ code: 'ERR_ALREADY_EXISTS', uri });
    }
    expectSameBytes(await store.get(uri), payloads[winners[0]]);
    expect(await contents()).toContain(uri);
  });

  test('a value that is not a boolean is refused before anything is written', async () => {
    const uri = `${base}bad/option.bin`;
    const error = await rejectionOf(store.put(uri, original, { overwrite: 'no' as unknown as boolean }));
    expect(error).toMatchObject({ code: 'ERR_INVALID_ARG_TYPE' });
    expect(() => store.createWriter(uri, { overwrite: 1 as unknown as boolean })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }),
    );
    expect(await store.exists(uri)).toBe(false);
  });
});

describe('the module-level putMany', () => {
  const tmp = useTempDir('s3dlio-create-only-');

  test('passes overwrite false to the store of every scheme in the batch', async () => {
    const present = [`file://${tmp.path}/a.bin`, `direct://${tmp.path}/b.bin`];
    for (const uri of present) await s3dlio.put(uri, 'kept');
    const fresh = `file://${tmp.path}/c.bin`;
    const error = await rejectionOf(
      s3dlio.putMany(
        [...present, fresh].map((uri) => ({ uri, data: 'new' })),
        { overwrite: false },
      ),
    );
    expect(error).toMatchObject({ code: 'ERR_BATCH_FAILED', operation: 'putMany' });
    expect(
      (error as unknown as { errors: Array<{ code: string; uri: string }> }).errors.map((e) => [e.code, e.uri]).sort(),
    ).toEqual(present.map((uri) => ['ERR_ALREADY_EXISTS', uri]).sort());
    for (const uri of present) expect(Buffer.from(await s3dlio.get(uri)).toString()).toBe('kept');
    expect(Buffer.from(await s3dlio.get(fresh)).toString()).toBe('new');
    expect(await rejectionOf(s3dlio.putMany([], { overwrit: false } as never))).toMatchObject({
      code: 'ERR_INVALID_ARG_VALUE',
      message: expect.stringContaining('did you mean `overwrite`'),
    });
  });
});
