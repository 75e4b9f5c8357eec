/**
 * getRange: offsets, lengths, clamping, the range errors and argument validation; on direct://,
 * unaligned ranges return exactly the asked bytes as a view of the covering aligned span.
 */
import { writeFileSync } from 'fs';

import { DirectStore, S3dlioError, directIoInfo, getRange, storeFor } from '../../lib';
import { apiMatrix, expectSameBytes, rejectionOf, sandbox, testBytes } from '../helpers/local';
import { useTempDir } from '../helpers/temp';

const tmp = useTempDir();
const SIZE = 3 * 4096 + 100; // 12388: several blocks plus a partial one
const DATA = testBytes(SIZE, 30);

describe.each(apiMatrix())('%s', (_label, scheme, api) => {
  let b: ReturnType<typeof sandbox>;
  let uri: string;
  beforeAll(() => {
    b = sandbox(tmp.path, scheme, 'range');
    writeFileSync(b.path('data.bin'), DATA);
    writeFileSync(b.path('empty.bin'), '');
    uri = b.uri('data.bin');
  });

  test.each([
    [0, 10],
    [100, 1000],
    [4096, 4096],
    [SIZE - 1, 1],
    [0, SIZE],
  ])('offset %i, length %i → exactly those bytes', async (offset, length) => {
    const got = await api.getRange(uri, offset, length);
    expect(got.length).toBe(length);
    expectSameBytes(got, DATA.subarray(offset, offset + length));
  });

  test('no length reads to the end', async () => {
    expectSameBytes(await api.getRange(uri, 5000), DATA.subarray(5000));
    expectSameBytes(await api.getRange(uri, 0), DATA);
  });

  test('a range running past the end is clamped to the end', async () => {
    const got = await api.getRange(uri, SIZE - 10, 1000);
    expect(got.length).toBe(10);
    expectSameBytes(got, DATA.subarray(SIZE - 10));
    expect((await api.getRange(uri, 0, SIZE * 10)).length).toBe(SIZE);
  });

  test('offset === size gives 0 bytes (with or without length)', async () => {
    expect((await api.getRange(uri, SIZE)).length).toBe(0);
    expect((await api.getRange(uri, SIZE, 10)).length).toBe(0);
    expect((await api.getRange(b.uri('empty.bin'), 0)).length).toBe(0);
  });

  test('length 0 gives 0 bytes', async () => {
    expect((await api.getRange(uri, 0, 0)).length).toBe(0);
    expect((await api.getRange(uri, 777, 0)).length).toBe(0);
  });

  test('offset > size is ERR_RANGE_NOT_SATISFIABLE naming the offset and size', async () => {
    const error = await rejectionOf(api.getRange(uri, SIZE + 1, 5));
    expect(error).toBeInstanceOf(S3dlioError);
    expect(error).toMatchObject({ code: 'ERR_RANGE_NOT_SATISFIABLE', uri, operation: 'getRange' });
    expect(error.message).toContain(`offset ${SIZE + 1}`);
    expect(error.message).toContain(`size ${SIZE}`);
    await expect(api.getRange(b.uri('empty.bin'), 1)).rejects.toMatchObject({ code: 'ERR_RANGE_NOT_SATISFIABLE' });
  });

  test.each([
    ['a negative offset', -1, undefined],
    ['a fractional offset', 1.5, undefined],
    ['NaN offset', NaN, undefined],
    ['Infinity offset', Infinity, undefined],
    ['an unsafe-integer offset', 2 ** 53, undefined],
    ['a negative length', 0, -1],
    ['a fractional length', 0, 0.5],
    ['NaN length', 0, NaN],
  ])('%s is a RangeError ERR_OUT_OF_RANGE', async (_what, offset, length) => {
    const error = await rejectionOf(api.getRange(uri, offset as number, length as number | undefined));
    expect(error).toBeInstanceOf(RangeError);
    expect(error).toMatchObject({ code: 'ERR_OUT_OF_RANGE' });
    expect(error.message).toMatch(length === undefined ? /for `offset`/ : /for `length`/);
  });

  test.each([
    ['a string offset', '10', undefined, 'offset'],
    ['a bigint offset', 10n, undefined, 'offset'],
    ['a null offset', null, undefined, 'offset'],
    ['a string length', 0, '10', 'length'],
  ])('%s is a TypeError ERR_INVALID_ARG_TYPE', async (_what, offset, length, name) => {
    const error = await rejectionOf(api.getRange(uri, offset as unknown as number, length as unknown as number));
    expect(error).toBeInstanceOf(TypeError);
    expect(error).toMatchObject({ code: 'ERR_INVALID_ARG_TYPE' });
    expect(error.message).toContain(`for \`${name}\``);
  });

  test('a missing object is ERR_NOT_FOUND', async () => {
    await expect(api.getRange(b.uri('nope.bin'), 0, 1)).rejects.toMatchObject({
      code: 'ERR_NOT_FOUND',
      operation: 'getRange',
    });
  });
});

describe('direct://: unaligned ranges', () => {
  let b: ReturnType<typeof sandbox>;
  let alignment: number;
  const BIG = testBytes(3 * 65536 + 333, 31);
  beforeAll(async () => {
    b = sandbox(tmp.path, 'direct', 'unaligned');
    writeFileSync(b.path('big.bin'), BIG);
    const info = await directIoInfo(b.uri());
    expect(info.supported).toBe(true);
    alignment = info.offsetAlignment;
  });

  const offsets = [1, 511, 512, 513, 4095, 4096, 4097, 65535, 65537];
  const lengths = [1, 2, 511, 512, 513, 4095, 4096, 4097, 10_000];
  const cases = offsets.flatMap((o) => lengths.map((l) => [o, l] as const));

  test(`${cases.length} offset/length combinations return exactly the right bytes`, async () => {
    for (const [offset, length] of cases) {
      const got = await getRange(b.uri('big.bin'), offset, length);
      expectSameBytes(got, BIG.subarray(offset, offset + length), `getRange(direct, ${offset}, ${length})`);
    }
  });

  test('ranges crossing block boundaries and ending at the unaligned end of the file', async () => {
    const end = BIG.length;
    for (const [offset, length] of [
      [4095, 2],
      [511, 514],
      [end - 1, 1],
      [end - 333, 333],
      [end - 334, 500],
      [end - 4097, undefined],
    ] as const) {
      const got = await getRange(b.uri('big.bin'), offset, length);
      expectSameBytes(
        got,
        BIG.subarray(offset, length === undefined ? end : offset + length),
        `range ${offset}+${length}`,
      );
    }
  });

  test('the result is a view into the aligned span read from disk: byteOffset = offset mod alignment', async () => {
    for (const offset of [1, 511, 513, 4095, 4097]) {
      const got = await getRange(b.uri('big.bin'), offset, 100);
      expect(got.byteOffset).toBe(offset % alignment);
      expect(got.buffer.byteLength).toBeGreaterThanOrEqual(got.byteOffset + got.length);
      expectSameBytes(got, BIG.subarray(offset, offset + 100));
    }
  });

  test('a DirectStore with a larger alignment (4096) reads covering 4096-byte spans', async () => {
    const store = new DirectStore({ alignment: 4096 });
    for (const offset of [1, 513, 4095, 4097, 8191]) {
      const got = await store.getRange(b.uri('big.bin'), offset, 3000);
      expect(got.byteOffset).toBe(offset % 4096);
      expectSameBytes(got, BIG.subarray(offset, offset + 3000));
    }
    expect(storeFor(b.uri(), { alignment: 4096 })).not.toBe(storeFor(b.uri()));
  });

  test.each([1000, 511, 4095, 1 << 21])(
    'DirectStore alignment %i (not a power of two in 512..1 MiB) is refused',
    (alignment) => {
      expect(() => new DirectStore({ alignment })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
      expect(() => storeFor('direct:///x', { alignment })).toThrow(RangeError);
    },
  );
});
