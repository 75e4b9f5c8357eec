/**
 * The object API on every backend (mem://, file://, direct://, and the clouds against real local
 * servers): round trips, literal keys, range semantics, typed errors.
 */
import { S3dlioError } from '../../lib';
import { expectSameBytes, rejectionOf, testBytes } from '../helpers/local';
import { newBucketName } from '../cloud/targets';
import { storeTargets } from './targets';

describe.each(storeTargets())('%s: objects', (_name, target) => {
  const store = target.store();
  const bucket = newBucketName('obj');
  const base = target.bucketUri(bucket);

  beforeAll(() => store.createBucket(base));
  afterAll(() => store.deleteBucket(base, { force: true }));

  test('createBucket is idempotent', async () => {
    await expect(store.createBucket(base)).resolves.toBeUndefined();
  });

  test('put then get round-trips bytes of every accepted type', async () => {
    const bytes = testBytes(300_000, 7);
    await store.put(`${base}types/u8`, bytes);
    await store.put(`${base}types/ab`, bytes.slice().buffer);
    await store.put(`${base}types/text`, 'héllo wörld');
    expectSameBytes(await store.get(`${base}types/u8`), bytes);
    expectSameBytes(await store.get(`${base}types/ab`), bytes);
    expect(Buffer.from(await store.get(`${base}types/text`)).toString('utf8')).toBe('héllo wörld');
  });

  test('an empty object round-trips', async () => {
    await store.put(`${base}empty`, new Uint8Array(0));
    expect((await store.get(`${base}empty`)).byteLength).toBe(0);
    expect((await store.stat(`${base}empty`)).size).toBe(0);
  });

  test.each(['a b/c d.bin', 'données/ünï 𝔘.bin', 'plus+sign', 'per%25cent%', 'hash#frag', 'q?x=1&y=2', 'a/b/c/deep'])(
    'key %j round-trips and lists back literally',
    async (key) => {
      const bytes = testBytes(1000, key.length);
      await store.put(`${base}keys/${key}`, bytes);
      expectSameBytes(await store.get(`${base}keys/${key}`), bytes);
      expect(await store.list(`${base}keys/`, { recursive: true })).toContain(`${base}keys/${key}`);
    },
  );

  describe('getRange', () => {
    const uri = `${base}range.bin`;
    const bytes = testBytes(10_000, 3);
    beforeAll(() => store.put(uri, bytes));

    test('a range inside the object', async () => {
      expectSameBytes(await store.getRange(uri, 1234, 4321), bytes.subarray(1234, 1234 + 4321));
    });
    test('no length reads to the end', async () => {
      expectSameBytes(await store.getRange(uri, 9000), bytes.subarray(9000));
    });
    test('a range past the end is clamped', async () => {
      expectSameBytes(await store.getRange(uri, 9990, 1_000_000), bytes.subarray(9990));
    });
    test('offset === size gives 0 bytes', async () => {
      expect((await store.getRange(uri, 10_000)).byteLength).toBe(0);
      expect((await store.getRange(uri, 10_000, 5)).byteLength).toBe(0);
    });
    test('length 0 gives 0 bytes', async () => {
      expect((await store.getRange(uri, 10, 0)).byteLength).toBe(0);
    });
    test('offset > size is ERR_RANGE_NOT_SATISFIABLE', async () => {
      await expect(store.getRange(uri, 10_001, 1)).rejects.toMatchObject({ code: 'ERR_RANGE_NOT_SATISFIABLE', uri });
      await expect(store.getRange(uri, 20_000)).rejects.toMatchObject({ code: 'ERR_RANGE_NOT_SATISFIABLE' });
    });
    test('a 0-length range of a missing object is ERR_NOT_FOUND', async () => {
      await expect(store.getRange(`${base}nope`, 0, 0)).rejects.toMatchObject({ code: 'ERR_NOT_FOUND' });
    });
    test('ranges of an empty object', async () => {
      await store.put(`${base}empty-range`, new Uint8Array(0));
      expect((await store.getRange(`${base}empty-range`, 0)).byteLength).toBe(0);
      await expect(store.getRange(`${base}empty-range`, 1, 1)).rejects.toMatchObject({
        code: 'ERR_RANGE_NOT_SATISFIABLE',
      });
    });
    test('negative and fractional offsets are RangeErrors', async () => {
      await expect(store.getRange(uri, -1, 1)).rejects.toMatchObject({
        name: 'RangeError',
        code: 'ERR_OUT_OF_RANGE',
      });
      await expect(store.getRange(uri, 1.5, 1)).rejects.toMatchObject({ code: 'ERR_OUT_OF_RANGE' });
    });
  });

  test('stat reports size, modification time and etag; exists tells objects apart', async () => {
    await store.put(`${base}stat.bin`, testBytes(4321));
    const stat = await store.stat(`${base}stat.bin`);
    expect(stat).toMatchObject({ uri: `${base}stat.bin`, size: 4321 });
    expect(stat.lastModified).toBeInstanceOf(Date);
    expect(Math.abs(stat.lastModified.getTime() - Date.now())).toBeLessThan(10 * 60_000);
    expect(typeof stat.etag).toBe(target.traits.etags ? 'string' : 'undefined');
    expect(await store.exists(`${base}stat.bin`)).toBe(true);
    expect(await store.exists(`${base}stat.bin.missing`)).toBe(false);
  });

  test('a missing key is ERR_NOT_FOUND with the uri, the operation and a sanitized cause', async () => {
    const uri = `${base}missing/key`;
    const error = await rejectionOf(store.get(uri));
    expect(error).toBeInstanceOf(S3dlioError);
    expect(error).toMatchObject({ code: 'ERR_NOT_FOUND', uri, operation: 'get' });
    if (target.traits.notFoundCause) expect(error.cause).toMatchObject(target.traits.notFoundCause);
    else expect(error.cause).toBeUndefined();
    await expect(store.stat(uri)).rejects.toMatchObject({ code: 'ERR_NOT_FOUND' });
    await expect(store.delete(uri)).rejects.toMatchObject({ code: 'ERR_NOT_FOUND' });
  });

  test('a missing bucket is ERR_BUCKET_NOT_FOUND, or made by the first write where buckets are directories', async () => {
    const missing = target.bucketUri(newBucketName('none'));
    await expect(store.deleteBucket(missing)).rejects.toMatchObject({ code: 'ERR_BUCKET_NOT_FOUND' });
    if (target.traits.bucketsOnWrite) {
      await expect(store.get(`${missing}key`)).rejects.toMatchObject({ code: 'ERR_NOT_FOUND' });
      await store.put(`${missing}key`, 'x');
      expect(await store.listBuckets(target.schemeUri)).toContain(missing);
      await store.deleteBucket(missing, { force: true });
      return;
    }
    await expect(store.get(`${missing}key`)).rejects.toMatchObject({ code: 'ERR_BUCKET_NOT_FOUND' });
    await expect(store.put(`${missing}key`, 'x')).rejects.toMatchObject({ code: 'ERR_BUCKET_NOT_FOUND' });
    expect(await store.listBuckets(target.schemeUri)).not.toContain(missing);
  });

  test('a URI without a key, or ending with "/", is not an object', async () => {
    await expect(store.put(base, 'x')).rejects.toMatchObject({ code: 'ERR_INVALID_URI' });
    await expect(store.put(`${base}dir/`, 'x')).rejects.toMatchObject({ code: 'ERR_INVALID_URI' });
  });

  test('copy is a server-side copy; rename moves; both keep the bytes', async () => {
    const bytes = testBytes(50_000, 9);
    await store.put(`${base}cp/src`, bytes);
    await store.copy(`${base}cp/src`, `${base}cp/ünï copy`);
    expectSameBytes(await store.get(`${base}cp/ünï copy`), bytes);
    await store.rename(`${base}cp/ünï copy`, `${base}cp/moved`);
    expect(await store.exists(`${base}cp/ünï copy`)).toBe(false);
    expectSameBytes(await store.get(`${base}cp/moved`), bytes);
    const atomic = store.rename(`${base}cp/moved`, `${base}cp/x`, { requireAtomic: true });
    if (target.traits.atomicRename) {
      await atomic;
      await store.rename(`${base}cp/x`, `${base}cp/moved`);
    } else {
      await expect(atomic).rejects.toMatchObject({ code: 'ERR_CROSS_DEVICE' });
    }
    expectSameBytes(await store.get(`${base}cp/moved`), bytes);
    await expect(store.copy(`${base}cp/none`, `${base}cp/y`)).rejects.toMatchObject({ code: 'ERR_NOT_FOUND' });
  });

  test('an aborted signal rejects with ERR_ABORTED and writes nothing', async () => {
    const controller = new AbortController();
    controller.abort(new Error('stop'));
    const error = await rejectionOf(store.put(`${base}aborted`, 'x', { signal: controller.signal }));
    expect(error).toMatchObject({ code: 'ERR_ABORTED' });
    expect(error.cause).toBe(controller.signal.reason);
    expect(await store.exists(`${base}aborted`)).toBe(false);
  });

  test('aborting a get in flight rejects with ERR_ABORTED (a get already done keeps its bytes)', async () => {
    const bytes = testBytes(8 << 20, 5);
    await store.put(`${base}big`, bytes);
    const controller = new AbortController();
    const pending = store.get(`${base}big`, { signal: controller.signal });
    // At the next turn of the event loop: the request is under way, and no network answer of
    // 8 MiB can be complete yet (a timer of a few ms could lose the race on a fast machine).
    setImmediate(() => controller.abort(new Error('changed my mind')));
    const outcome = await pending.then(
      (value) => ({ value }),
      (error: unknown) => ({ error }),
    );
    if ('error' in outcome) expect(outcome.error).toMatchObject({ code: 'ERR_ABORTED' });
    else {
      // Only a store without a network in between may finish first; then the bytes are whole.
      expect(target.traits.fastGets).toBe(true);
      expectSameBytes(outcome.value, bytes);
    }
  });
});
