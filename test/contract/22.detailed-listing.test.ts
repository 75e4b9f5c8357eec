/**
 * `listDetailed` on every backend: each object's size, time and etag come from the listing pages,
 * equal to what `stat` reports, with no request per object; prefixes are marked, and the listing
 * keeps `listStream`'s options, checks and abort.
 */
import { type ListedEntry, type ListedObject, type ObjectStore, S3dlioError, listDetailed } from '../../lib';
import { rejectionOf, testBytes } from '../helpers/local';
import { newBucketName } from '../cloud/targets';
import { storeTargets } from './targets';

async function drain(entries: AsyncIterable<ListedEntry>): Promise<ListedEntry[]> {
  const out: ListedEntry[] = [];
  for await (const entry of entries) out.push(entry);
  return out.sort((a, b) => (a.uri < b.uri ? -1 : a.uri > b.uri ? 1 : 0));
}

/** Requests of one kind the store has sent so far. */
function requests(store: ObjectStore, op: string): number {
  return store.stats().ops[op]?.requests ?? 0;
}

describe.each(storeTargets())('%s: detailed listing', (_name, target) => {
  // Small pages: the 120 objects below span three pages on the clouds.
  const store = target.store(target.smallPages);
  const bucket = newBucketName('ldet');
  const base = target.bucketUri(bucket);
  const keys = ['a/1.bin', 'a/sub/2.bin', 'top.bin', 'sp ace.bin', 'ünï cödé/ä b.txt', '日本/データ 1.npz'];

  beforeAll(async () => {
    await store.createBucket(base);
    await store.putMany(keys.map((key, index) => ({ uri: `${base}${key}`, data: testBytes(10 + 7 * index, index) })));
  });
  afterAll(() => store.deleteBucket(base, { force: true }));

  test('each object carries the size, time and etag stat reports, without a stat', async () => {
    const statsBefore = requests(store, 'STAT');
    const listsBefore = requests(store, 'LIST');
    const entries = await drain(store.listDetailed(base, { recursive: true }));
    expect(requests(store, 'STAT')).toBe(statsBefore);
    expect(requests(store, 'LIST') - listsBefore).toBeGreaterThanOrEqual(1);
    expect(entries.map((entry) => entry.uri)).toEqual(await store.list(base, { recursive: true }));
    expect(entries.map((entry) => entry.uri)).toEqual(keys.map((key) => `${base}${key}`).sort());
    for (const entry of entries) {
      expect(entry.isPrefix).toBe(false);
      const listed = entry as ListedObject;
      const stat = await store.stat(entry.uri);
      expect(listed.lastModified).toBeInstanceOf(Date);
      expect({ uri: listed.uri, size: listed.size, etag: listed.etag, time: listed.lastModified.getTime() }).toEqual({
        uri: stat.uri,
        size: stat.size,
        etag: stat.etag,
        time: stat.lastModified.getTime(),
      });
      if (target.traits.etags) expect(listed.etag).toEqual(expect.any(String));
      else expect(listed).not.toHaveProperty('etag');
    }
    expect((entries[0] as ListedObject).size).toBe(testBytes(10, 0).byteLength);
  });

  test('a non-recursive listing marks its prefixes (no size), and its objects equal stat too', async () => {
    const entries = await drain(store.listDetailed(base));
    expect(entries.map((entry) => [entry.uri, entry.isPrefix])).toEqual([
      [`${base}a/`, true],
      [`${base}sp ace.bin`, false],
      [`${base}top.bin`, false],
      [`${base}ünï cödé/`, true],
      [`${base}日本/`, true],
    ]);
    for (const entry of entries) {
      if (entry.isPrefix) expect(entry).toEqual({ uri: entry.uri, isPrefix: true });
      else expect(entry.size).toBe((await store.stat(entry.uri)).size);
    }
    expect((await drain(store.listDetailed(`${base}ünï cödé/`))).map((entry) => entry.uri)).toEqual([
      `${base}ünï cödé/ä b.txt`,
    ]);
  });

  test('pattern and a key prefix select as listStream does', async () => {
    const selected = await drain(store.listDetailed(base, { recursive: true, pattern: /\.bin$/ }));
    const streamed: string[] = [];
    for await (const uri of store.listStream(base, { recursive: true, pattern: /\.bin$/ })) streamed.push(uri);
    expect(selected.map((entry) => entry.uri)).toEqual(streamed.sort());
    expect((await drain(store.listDetailed(`${base}a`, { recursive: true }))).map((entry) => entry.uri)).toEqual([
      `${base}a/1.bin`,
      `${base}a/sub/2.bin`,
    ]);
    expect(await drain(store.listDetailed(`${base}nothing-here/`, { recursive: true }))).toEqual([]);
  });

  test('a listing of many pages carries every object with its size', async () => {
    const many = Array.from({ length: 120 }, (_, index) => `${base}many/${String(index).padStart(4, '0')}`);
    await store.putMany(
      many.map((uri, index) => ({ uri, data: 'x'.repeat(index % 7) })),
      { concurrency: 16 },
    );
    const statsBefore = requests(store, 'STAT');
    const entries = (await drain(store.listDetailed(`${base}many/`, { recursive: true }))) as ListedObject[];
    expect(requests(store, 'STAT')).toBe(statsBefore);
    expect(entries.map((entry) => [entry.uri, entry.size])).toEqual(many.map((uri, index) => [uri, index % 7]));
    expect(await store.deletePrefix(`${base}many/`)).toBe(120);
  });

  test('an aborted listing rejects with ERR_ABORTED, before or between pages', async () => {
    const before = await rejectionOf(drain(store.listDetailed(base, { signal: AbortSignal.abort() })));
    expect(before).toBeInstanceOf(S3dlioError);
    expect(before).toMatchObject({ code: 'ERR_ABORTED', uri: base });

    const controller = new AbortController();
    const iterator = store.listDetailed(base, { recursive: true, signal: controller.signal })[Symbol.asyncIterator]();
    expect((await iterator.next()).done).toBe(false);
    controller.abort();
    expect(await rejectionOf(iterator.next())).toMatchObject({ code: 'ERR_ABORTED' });
  });

  test('arguments are checked when the listing is made, as listStream', () => {
    expect(() => store.listDetailed(base, { recursiv: true } as never)).toThrow(/recursiv/);
    expect(() => store.listDetailed(`${base}a/1.bin`, { pattern: 42 as never })).toThrow(TypeError);
    expect(() => listDetailed(42 as never)).toThrow(TypeError);
  });
});
