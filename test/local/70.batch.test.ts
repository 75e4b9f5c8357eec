/**
 * Batch operations: getMany order and mixed schemes, putMany, deleteMany, BatchError listing
 * every failure with its URI, and validation of the batch arguments.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'fs';

import { BatchError, S3dlioError, deleteMany, getMany, putMany, storeFor } from '../../lib';
import { SCHEMES, expectSameBytes, rejectionOf, sandbox, tempFilesIn, testBytes, treeOf } from '../helpers/local';
import { useTempDir } from '../helpers/temp';

const tmp = useTempDir();

function expectBatchError(error: unknown, operation: string, failedUris: string[], succeeded: number): BatchError {
  expect(error).toBeInstanceOf(BatchError);
  expect(error).toBeInstanceOf(AggregateError);
  const batch = error as BatchError;
  expect(batch.name).toBe('BatchError');
  expect(batch.code).toBe('ERR_BATCH_FAILED');
  expect(batch.operation).toBe(operation);
  expect(batch.succeeded).toBe(succeeded);
  expect(batch.errors.map((e) => e.uri).sort()).toEqual([...failedUris].sort());
  for (const item of batch.errors) expect(item).toBeInstanceOf(S3dlioError);
  expect(batch.message).toContain(`${failedUris.length} of ${failedUris.length + succeeded} items failed`);
  return batch;
}

describe.each(
  SCHEMES.flatMap(
    (scheme) =>
      [
        [`${scheme}:// via module functions`, scheme, { getMany, putMany, deleteMany }],
        [`${scheme}:// via storeFor() methods`, scheme, storeFor(`${scheme}:///`)],
      ] as const,
  ),
)('%s', (_label, scheme, api) => {
  const box = (label = 'batch') => sandbox(tmp.path, scheme, label);

  describe('getMany', () => {
    test('200 small files come back in input order (input deliberately not sorted)', async () => {
      const b = box();
      const names = Array.from({ length: 200 }, (_, i) => `f${String(i).padStart(3, '0')}.bin`);
      names.forEach((name, i) => writeFileSync(b.path(name), testBytes(100 + i * 7, i)));
      const order = names.map((_, i) => (i * 73) % 200); // a permutation of 0..199
      expect(new Set(order).size).toBe(200);
      const results = await api.getMany(
        order.map((i) => b.uri(names[i])),
        { concurrency: 8 },
      );
      expect(results).toHaveLength(200);
      results.forEach((bytes, position) => {
        const i = order[position];
        expectSameBytes(bytes, testBytes(100 + i * 7, i), `result ${position} (${names[i]})`);
      });
    });

    test('the same URI twice and an empty object are fine', async () => {
      const b = box();
      writeFileSync(b.path('a'), 'A');
      writeFileSync(b.path('e'), '');
      const [a1, e, a2] = await api.getMany([b.uri('a'), b.uri('e'), b.uri('a')]);
      expect(Buffer.from(a1).toString()).toBe('A');
      expect(e.length).toBe(0);
      expect(Buffer.from(a2).toString()).toBe('A');
    });

    test('an empty list resolves to []', async () => {
      expect(await api.getMany([])).toEqual([]);
    });

    test('missing URIs → BatchError ERR_BATCH_FAILED listing EVERY failure with its uri', async () => {
      const b = box();
      for (const n of ['ok1', 'ok2', 'ok3']) writeFileSync(b.path(n), n);
      mkdirSync(b.path('adir'));
      const missing = [b.uri('missing1'), b.uri('missing2'), b.uri('no/such/missing3')];
      const uris = [b.uri('ok1'), missing[0], b.uri('ok2'), missing[1], b.uri('adir'), missing[2], b.uri('ok3')];
      const error = await rejectionOf(api.getMany(uris));
      const batch = expectBatchError(error, 'getMany', [...missing, b.uri('adir')], 3);
      for (const uri of missing) {
        expect(batch.errors.find((e) => e.uri === uri)).toMatchObject({ code: 'ERR_NOT_FOUND', operation: 'getMany' });
      }
      expect(batch.errors.find((e) => e.uri === b.uri('adir'))).toMatchObject({ code: 'ERR_IS_DIRECTORY' });
    });
  });

  describe('putMany', () => {
    test('writes every item (all data types), creating parents', async () => {
      const b = box();
      const bin = testBytes(4097, 70);
      await api.putMany([
        { uri: b.uri('p/a.bin'), data: bin },
        { uri: b.uri('p/q/b.txt'), data: 'text ✓' },
        { uri: b.uri('c.bin'), data: new Uint8Array(bin.subarray(0, 10)).buffer },
        { uri: b.uri('d.bin'), data: new Uint16Array([1, 2]) },
      ]);
      expectSameBytes(readFileSync(b.path('p/a.bin')), bin);
      expect(readFileSync(b.path('p/q/b.txt'), 'utf8')).toBe('text ✓');
      expectSameBytes(readFileSync(b.path('c.bin')), bin.subarray(0, 10));
      expect(readFileSync(b.path('d.bin')).length).toBe(4);
      expect(tempFilesIn(b.dir)).toEqual([]);
    });

    test('items that fail → BatchError listing each failure; the others are written; no temp files', async () => {
      const b = box();
      writeFileSync(b.path('afile'), 'f'); // a file where a directory is needed
      mkdirSync(b.path('adir/inner'), { recursive: true }); // a directory where the object should go
      const bad = [b.uri('afile/child.bin'), b.uri('adir')];
      const error = await rejectionOf(
        api.putMany([
          { uri: b.uri('good1'), data: '1' },
          { uri: bad[0], data: 'x' },
          { uri: b.uri('good2'), data: '2' },
          { uri: bad[1], data: 'y' },
        ]),
      );
      const batch = expectBatchError(error, 'putMany', bad, 2);
      expect(batch.errors.every((e) => e.operation === 'putMany')).toBe(true);
      expect(readFileSync(b.path('good1'), 'utf8')).toBe('1');
      expect(readFileSync(b.path('good2'), 'utf8')).toBe('2');
      expect(treeOf(b.dir)).toEqual(['adir/', 'adir/inner/', 'afile', 'good1', 'good2']);
    });

    test('an invalid item is rejected before anything is written', async () => {
      const b = box();
      const items = [
        { uri: b.uri('first'), data: 'ok' },
        { uri: b.uri('second'), data: 12 as unknown as string },
      ];
      const error = await rejectionOf(api.putMany(items));
      expect(error).toBeInstanceOf(TypeError);
      expect(error).toMatchObject({ code: 'ERR_INVALID_ARG_TYPE' });
      expect(error.message).toContain('items[1].data');
      expect(existsSync(b.path('first'))).toBe(false);
      await expect(api.putMany([null as unknown as { uri: string; data: string }])).rejects.toMatchObject({
        code: expect.stringMatching(/^ERR_INVALID_ARG_(VALUE|TYPE)$/),
      });
      await expect(api.putMany([{ uri: b.uri('dir/'), data: 'x' }])).rejects.toMatchObject({ code: 'ERR_INVALID_URI' });
      expect(treeOf(b.dir)).toEqual([]);
    });
  });

  describe('deleteMany', () => {
    test('deletes every URI; missing ones → BatchError listing each, the existing ones are still deleted', async () => {
      const b = box();
      for (const n of ['x', 'y', 'z']) writeFileSync(b.path(n), n);
      const missing = [b.uri('m1'), b.uri('m2')];
      const error = await rejectionOf(api.deleteMany([b.uri('x'), missing[0], b.uri('y'), missing[1], b.uri('z')]));
      const batch = expectBatchError(error, 'deleteMany', missing, 3);
      expect(batch.errors.every((e) => e.code === 'ERR_NOT_FOUND')).toBe(true);
      expect(treeOf(b.dir)).toEqual([]);
    });

    test('resolves to the number deleted', async () => {
      const b = box();
      for (let i = 0; i < 40; i++) writeFileSync(b.path(`f${i}`), '');
      expect(
        await api.deleteMany(
          Array.from({ length: 40 }, (_, i) => b.uri(`f${i}`)),
          { concurrency: 3 },
        ),
      ).toBe(40);
      expect(treeOf(b.dir)).toEqual([]);
    });
  });

  describe('argument validation', () => {
    test.each([
      ['0', 0, 'ERR_OUT_OF_RANGE', RangeError],
      ['-1', -1, 'ERR_OUT_OF_RANGE', RangeError],
      ['1.5', 1.5, 'ERR_OUT_OF_RANGE', RangeError],
      ['NaN', NaN, 'ERR_OUT_OF_RANGE', RangeError],
      ['"4"', '4', 'ERR_INVALID_ARG_TYPE', TypeError],
    ])('concurrency %s is refused by getMany, putMany and deleteMany', async (_what, concurrency, code, type) => {
      const b = box();
      writeFileSync(b.path('a'), 'a');
      const options = { concurrency: concurrency as number };
      for (const promise of [
        api.getMany([b.uri('a')], options),
        api.putMany([{ uri: b.uri('b'), data: 'b' }], options),
        api.deleteMany([b.uri('a')], options),
      ]) {
        const error = await rejectionOf(promise);
        expect(error).toBeInstanceOf(type);
        expect(error).toMatchObject({ code });
        expect(error.message).toContain('options.concurrency');
      }
      expect(treeOf(b.dir)).toEqual(['a']);
    });

    test('concurrency 1 works', async () => {
      const b = box();
      await api.putMany(
        [1, 2, 3].map((i) => ({ uri: b.uri(`c${i}`), data: `${i}` })),
        { concurrency: 1 },
      );
      const got = await api.getMany(
        [3, 1, 2].map((i) => b.uri(`c${i}`)),
        { concurrency: 1 },
      );
      expect(got.map((x) => Buffer.from(x).toString())).toEqual(['3', '1', '2']);
    });

    test('a non-array is a TypeError', async () => {
      await expect(api.getMany('file:///x' as unknown as string[])).rejects.toMatchObject({
        code: 'ERR_INVALID_ARG_TYPE',
      });
      await expect(api.putMany({} as unknown as [])).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_TYPE' });
      await expect(api.deleteMany(undefined as unknown as string[])).rejects.toMatchObject({
        code: 'ERR_INVALID_ARG_TYPE',
      });
    });

    test('a malformed URI in the list rejects the whole call with ERR_INVALID_URI', async () => {
      const b = box();
      writeFileSync(b.path('a'), 'a');
      await expect(api.getMany([b.uri('a'), 'nope'])).rejects.toMatchObject({ code: 'ERR_INVALID_URI' });
      await expect(api.deleteMany([b.uri('a'), 'nope'])).rejects.toMatchObject({ code: 'ERR_INVALID_URI' });
      expect(existsSync(b.path('a'))).toBe(true);
    });
  });
});

describe('mixed file:// + direct:// batches (module functions)', () => {
  test('getMany over both schemes returns results in input order', async () => {
    const b = sandbox(tmp.path, 'file', 'mixed');
    const uris: string[] = [];
    for (let i = 0; i < 30; i++) {
      writeFileSync(b.path(`m${i}`), testBytes(1000 + i * 511, i));
      uris.push(b.uri(`m${i}`, i % 3 === 0 ? 'direct' : 'file'));
    }
    const results = await getMany(uris);
    expect(results).toHaveLength(30);
    results.forEach((r, i) => expectSameBytes(r, testBytes(1000 + i * 511, i), `result ${i} (${uris[i]})`));
  });

  test('failures in both schemes are merged into one BatchError listing each uri', async () => {
    const b = sandbox(tmp.path, 'file', 'mixed');
    writeFileSync(b.path('ok'), 'ok');
    const bad = [b.uri('gone-f', 'file'), b.uri('gone-d', 'direct')];
    const error = await rejectionOf(getMany([b.uri('ok', 'direct'), bad[0], b.uri('ok', 'file'), bad[1]]));
    expectBatchError(error, 'getMany', bad, 2);
  });

  test('putMany and deleteMany over both schemes', async () => {
    const b = sandbox(tmp.path, 'file', 'mixed');
    await putMany([
      { uri: b.uri('pf', 'file'), data: 'f' },
      { uri: b.uri('pd', 'direct'), data: testBytes(5000, 1) },
    ]);
    expect(readFileSync(b.path('pf'), 'utf8')).toBe('f');
    expectSameBytes(readFileSync(b.path('pd')), testBytes(5000, 1));
    expect(await deleteMany([b.uri('pf', 'direct'), b.uri('pd', 'file')])).toBe(2);
    expect(treeOf(b.dir)).toEqual([]);
    const error = await rejectionOf(deleteMany([b.uri('x1', 'file'), b.uri('x2', 'direct')]));
    expectBatchError(error, 'deleteMany', [b.uri('x1', 'file'), b.uri('x2', 'direct')], 0);
  });
});

describe('getMany memory: small objects share slabs, results never overlap', () => {
  test.each(SCHEMES)(
    '%s:// — the threads of one call fill the same slab (a few small files take one)',
    async (scheme) => {
      const box = sandbox(tmp.path, scheme, 'one-slab');
      const uris = Array.from({ length: 32 }, (_, index) => box.uri(`f-${index}.bin`));
      uris.forEach((uri, index) => writeFileSync(uri.replace(/^\w+:\/\//, ''), testBytes(128 * 1024, index + 1)));
      const results = await getMany(uris, { concurrency: 16 });
      results.forEach((bytes, index) => expectSameBytes(bytes, testBytes(128 * 1024, index + 1), uris[index]));
      // 4 MiB fit one 8 MiB slab: one ArrayBuffer, not one per thread that took part.
      expect(new Set(results.map((bytes) => bytes.buffer)).size).toBe(1);
    },
  );

  test.each(SCHEMES)('%s:// — writing into one result never changes another, sizes 0 B to 1.5 MiB', async (scheme) => {
    const box = sandbox(tmp.path, scheme, 'slabs');
    const sizes = [0, 1, 63, 64, 65, 511, 4095, 4097, 100_000, 1 << 20, (1 << 20) + 1, 1_500_000];
    const files = Array.from({ length: 120 }, (_, index) => ({
      uri: box.uri(`s-${index}.bin`),
      size: sizes[index % sizes.length],
    }));
    for (const [index, file] of files.entries())
      writeFileSync(file.uri.replace(/^\w+:\/\//, ''), testBytes(file.size, index + 1));
    const results = await getMany(
      files.map((file) => file.uri),
      { concurrency: 4 },
    );
    files.forEach((file, index) => expectSameBytes(results[index], testBytes(file.size, index + 1), file.uri));
    // Several results live in one ArrayBuffer (a slab), at distinct, non-overlapping places.
    const sharing = new Set(results.filter((bytes) => bytes.byteLength > 0).map((bytes) => bytes.buffer));
    expect(sharing.size).toBeLessThan(results.filter((bytes) => bytes.byteLength > 0).length);
    // Each result gets its own byte value; any overlap would leave a neighbour's value behind.
    results.forEach((bytes, index) => bytes.fill(index));
    results.forEach((bytes, index) =>
      expect({ index, intact: bytes.every((value) => value === index) }).toEqual({ index, intact: true }),
    );
  });
});
