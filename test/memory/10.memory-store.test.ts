/**
 * What mem:// adds to the contract every backend keeps (test/contract): its memory is its own
 * (inputs copied in, results copied out, nothing shared between stores made with options), a
 * bound on the bytes it holds, and streaming writers that leave nothing behind until close.
 */
import { MemoryStore, type ObjectStore, createBucket, get, put, storeFor } from '../../lib';
import { expectSameBytes, rejectionOf, testBytes, thrownBy } from '../helpers/local';

const fresh = (options = {}): ObjectStore => storeFor('mem://', options);

async function withBucket(store: ObjectStore, bucket = 'b'): Promise<ObjectStore> {
  await store.createBucket(`mem://${bucket}`);
  return store;
}

test('storeFor with options makes a separate store; without, the shared default the module API uses', async () => {
  await createBucket('mem://shared');
  await put('mem://shared/k', 'default store');
  expect(Buffer.from(await storeFor('mem://').get('mem://shared/k')).toString()).toBe('default store');
  const other = fresh();
  expect(other).toBeInstanceOf(MemoryStore);
  expect(other).not.toBe(fresh());
  await expect(other.get('mem://shared/k')).rejects.toMatchObject({ code: 'ERR_BUCKET_NOT_FOUND' });
  expect(await other.listBuckets('mem://')).toEqual([]);
});

test('a put copies its input: changing the caller buffer afterwards changes nothing stored', async () => {
  const store = await withBucket(fresh());
  const bytes = testBytes(1000, 1);
  const original = bytes.slice();
  await store.put('mem://b/k', bytes);
  bytes.fill(0);
  expectSameBytes(await store.get('mem://b/k'), original);
  await store.putMany([{ uri: 'mem://b/m', data: bytes }]);
  bytes.fill(7);
  expect((await store.get('mem://b/m')).every((byte) => byte === 0)).toBe(true);
});

test('reads hand out copies: changing a result changes neither the object nor other results', async () => {
  const store = await withBucket(fresh());
  await store.put('mem://b/k', testBytes(100, 2));
  const first = await store.get('mem://b/k');
  first.fill(9);
  (await store.getRange('mem://b/k', 10, 5)).fill(9);
  (await store.getMany(['mem://b/k']))[0].fill(9);
  expectSameBytes(await store.get('mem://b/k'), testBytes(100, 2));
});

test('a copy is independent of its source, and getInto fills the caller memory in place', async () => {
  const store = await withBucket(fresh());
  await store.put('mem://b/src', 'abcdef');
  await store.copy('mem://b/src', 'mem://b/dst');
  await store.put('mem://b/src', 'changed');
  expect(Buffer.from(await store.get('mem://b/dst')).toString()).toBe('abcdef');
  const target = new Uint8Array(10);
  expect(await store.getInto('mem://b/dst', target, 2)).toBe(6);
  expect(Buffer.from(target.subarray(2, 8)).toString()).toBe('abcdef');
  await expect(store.getInto('mem://b/dst', new Uint8Array(5))).rejects.toMatchObject({ code: 'ERR_TARGET_TOO_SMALL' });
});

test('maxBytes bounds what the store holds: a write past it is ERR_NO_SPACE and stores nothing', async () => {
  const store = await withBucket(fresh({ maxBytes: 100 }));
  await store.put('mem://b/a', new Uint8Array(60));
  const error = await rejectionOf(store.put('mem://b/b', new Uint8Array(41)));
  expect(error).toMatchObject({ code: 'ERR_NO_SPACE', uri: 'mem://b/b', operation: 'put' });
  expect(await store.exists('mem://b/b')).toBe(false);
  // Replacing an object counts its new size only; deleting frees its bytes.
  await store.put('mem://b/a', new Uint8Array(100));
  await store.delete('mem://b/a');
  await store.put('mem://b/b', new Uint8Array(100));
  await store.deleteBucket('mem://b', { force: true });
  await withBucket(store);
  await store.put('mem://b/c', new Uint8Array(100));
  // A streaming writer's staged parts count too: it fails at the part that crosses the bound.
  const writer = store.createWriter('mem://b/w', { partSize: 10 });
  await store.delete('mem://b/c');
  await writer.write(new Uint8Array(95));
  await expect(writer.write(new Uint8Array(10)).then(() => writer.close())).rejects.toMatchObject({
    code: 'ERR_NO_SPACE',
  });
  expect(await store.list('mem://b/')).toEqual([]);
});

test.each([
  [{ maxBytes: 0 }, /options.maxBytes/],
  [{ maxBytes: -1 }, /options.maxBytes/],
  [{ maxBytes: 1.5 }, /options.maxBytes/],
  [{ maxByte: 10 }, /maxByte.*maxBytes/s],
  [{ region: 'us-east-1' }, /region/],
])('a mem:// store refuses the options %j', (options, message) => {
  expect(() => fresh(options)).toThrow(message);
});

test('a streaming writer stores nothing until close, and an aborted one leaves nothing', async () => {
  const store = await withBucket(fresh());
  const bytes = testBytes(100_000, 3);
  const writer = store.createWriter('mem://b/w', { partSize: 10_000, concurrency: 3 });
  await writer.write(bytes.subarray(0, 55_000));
  expect(await store.exists('mem://b/w')).toBe(false);
  await writer.write(bytes.subarray(55_000));
  expect(await writer.close()).toMatchObject({ uri: 'mem://b/w', bytes: 100_000, parts: 10 });
  expectSameBytes(await store.get('mem://b/w'), bytes);
  const aborted = store.createWriter('mem://b/x', { partSize: 10 });
  await aborted.write(testBytes(50, 4));
  await aborted.abort();
  expect(await store.exists('mem://b/x')).toBe(false);
  expect(await store.list('mem://b/')).toEqual(['mem://b/w']);
});

test('a transferred input buffer is ERR_BUFFER_DETACHED and nothing is stored', async () => {
  const store = await withBucket(fresh());
  const bytes = new Uint8Array(64);
  structuredClone(bytes.buffer, { transfer: [bytes.buffer] });
  await expect(store.put('mem://b/k', bytes)).rejects.toMatchObject({ code: 'ERR_BUFFER_DETACHED' });
  expect(await store.exists('mem://b/k')).toBe(false);
});

test.each([
  ['mem://', 'a URI without a bucket'],
  ['mem://b/', 'a key ending with "/"'],
  ['s3://b/k', 'another scheme'],
])('an object URI %j (%s) is ERR_INVALID_URI', (uri) => {
  const store = fresh();
  expect(thrownBy(() => store.createWriter(uri))).toMatchObject({ code: 'ERR_INVALID_URI' });
  return expect(store.put(uri, 'x')).rejects.toMatchObject({ code: 'ERR_INVALID_URI' });
});

test('get of the default store sees what another module wrote through the same URI', async () => {
  await createBucket('mem://seen');
  await storeFor('mem://seen/').put('mem://seen/k', 'x');
  expect(Buffer.from(await get('mem://seen/k')).toString()).toBe('x');
});
