/**
 * Format writers and readers given the wrong thing: each refuses it with a typed error naming the
 * argument (and the entry or dataset inside it), before any byte is written; archives that name a
 * member twice or need ZIP64 are refused when read.
 */
import {
  decodeExample,
  encodeExample,
  encodeHdf5,
  encodeNpy,
  encodeNpz,
  parseTfRecordIndex,
  readHdf5,
  readNpz,
} from '../../lib';
import { encodeZip, readZip } from '../../lib/formats/zip';
import { rejectionOf, thrownBy } from '../helpers/local';

/** Replaces every occurrence of `from` by `to` (same length) in a copy of `bytes`. */
function patched(bytes: Uint8Array, from: string, to: string): Uint8Array {
  const out = Uint8Array.from(bytes);
  const needle = Buffer.from(from);
  const replacement = Buffer.from(to);
  for (
    let at = Buffer.from(out.buffer).indexOf(needle);
    at >= 0;
    at = Buffer.from(out.buffer).indexOf(needle, at + 1)
  ) {
    out.set(replacement, at);
  }
  return out;
}

describe('writers: the wrong type is ERR_INVALID_ARG_TYPE naming the argument', () => {
  const notAMap = [null, [], new Uint8Array(2), 'text', 7];

  test.each(notAMap.map((value) => [Object.prototype.toString.call(value), value]))(
    'encodeExample and encodeNpz of %s',
    (_what, value) => {
      expect(thrownBy(() => encodeExample(value as never))).toMatchObject({ code: 'ERR_INVALID_ARG_TYPE' });
      expect(thrownBy(() => encodeExample(value as never)).message).toContain('`features`');
      expect(thrownBy(() => encodeNpz(value as never))).toMatchObject({ code: 'ERR_INVALID_ARG_TYPE' });
      expect(thrownBy(() => encodeNpz(value as never)).message).toContain('`arrays`');
    },
  );

  test.each([
    ['bytes', [1, 2], 'an array of Uint8Array'],
    ['bytes', new Uint8Array(2), 'an array of Uint8Array'],
    ['float', [1.5], 'a Float32Array'],
    ['float', new Float64Array(1), 'a Float32Array'],
    ['int64', [1n], 'a BigInt64Array'],
    ['int64', new BigUint64Array(1), 'a BigInt64Array'],
  ])('an explicit %s feature holding %p is refused, naming the feature', (kind, value, expected) => {
    const error = thrownBy(() => encodeExample({ label: { kind, value } as never }));
    expect(error).toMatchObject({ code: 'ERR_INVALID_ARG_TYPE' });
    expect(error.message).toContain(expected);
    expect(error.message).toContain('`features["label"].value`');
  });

  test('explicit features of the right types encode and decode to the same values', () => {
    const bytes = encodeExample({
      b: { kind: 'bytes', value: [Uint8Array.of(1, 2)] },
      f: { kind: 'float', value: Float32Array.of(0.5) },
      i: { kind: 'int64', value: BigInt64Array.of(-3n) },
    });
    const decoded = decodeExample(bytes);
    expect(decoded.get('b')).toEqual({ kind: 'bytes', value: [Uint8Array.of(1, 2)] });
    expect(Array.from(decoded.get('f')?.value as Float32Array)).toEqual([0.5]);
    expect(Array.from(decoded.get('i')?.value as BigInt64Array)).toEqual([-3n]);
  });

  test('encodeNpy of raw input: a DataView as data, a fortranOrder that is not a boolean', () => {
    const data = thrownBy(() =>
      encodeNpy({ dtype: '|u1', shape: [2], data: new DataView(new ArrayBuffer(2)) } as never),
    );
    expect(data).toMatchObject({ code: 'ERR_INVALID_ARG_TYPE' });
    expect(data.message).toContain('`array.data`');
    const order = thrownBy(() =>
      encodeNpy({ dtype: '|u1', shape: [2], data: new Uint8Array(2), fortranOrder: 'yes' } as never),
    );
    expect(order).toMatchObject({ code: 'ERR_INVALID_ARG_TYPE' });
    expect(order.message).toContain('`array.fortranOrder`');
  });

  test('encodeZip: each entry checked, named by its index', () => {
    const ok = { name: 'a', data: new Uint8Array(1) };
    const cases: Array<[unknown[], string, string]> = [
      [[ok, null], 'ERR_INVALID_ARG_TYPE', '`entries[1]`'],
      [[ok, { name: '', data: new Uint8Array(1) }], 'ERR_INVALID_ARG_VALUE', '`entries[1].name`'],
      [[ok, { name: 7, data: new Uint8Array(1) }], 'ERR_INVALID_ARG_VALUE', '`entries[1].name`'],
      [[ok, { name: 'a', data: new Uint8Array(1) }], 'ERR_INVALID_ARG_VALUE', 'a name not used by an earlier entry'],
      [[ok, { name: 'b', data: 'text' }], 'ERR_INVALID_ARG_TYPE', '`entries[1].data`'],
      [[ok, { name: 'b', data: [new Uint8Array(1), 'x'] }], 'ERR_INVALID_ARG_TYPE', '`entries[1].data`'],
    ];
    for (const [entries, code, named] of cases) {
      const error = thrownBy(() => encodeZip(entries as never));
      expect(error).toMatchObject({ code });
      expect(error.message).toContain(named);
    }
    // Chunks of several views are one entry.
    const archive = encodeZip([
      { name: 'b', data: [Uint8Array.of(1), new Uint16Array([0x0302]) as unknown as Uint8Array] },
    ]);
    expect(Array.from(readZip(archive)[0].data)).toEqual([1, 2, 3]);
  });

  test('encodeHdf5: a shape that is not an array, or has a negative or fractional dimension', async () => {
    const data = new Float32Array(4);
    const notArray = await rejectionOf(encodeHdf5([{ name: 'x', data, shape: 4 as never }]));
    expect(notArray).toMatchObject({ code: 'ERR_INVALID_ARG_TYPE' });
    expect(notArray.message).toContain('.shape`');
    for (const shape of [
      [-1, 4],
      [2, 1.5],
    ]) {
      const error = await rejectionOf(encodeHdf5([{ name: 'x', data, shape }]));
      expect(error).toMatchObject({ code: 'ERR_OUT_OF_RANGE' });
      expect(error.message).toMatch(/\.shape\[\d\]`/);
    }
  });
});

describe('readers: the wrong type, or an archive that cannot be read as it claims', () => {
  test('parseTfRecordIndex of something other than text', () => {
    for (const value of [undefined, 5, new Uint8Array(1)]) {
      const error = thrownBy(() => parseTfRecordIndex(value as never));
      expect(error).toMatchObject({ code: 'ERR_INVALID_ARG_TYPE' });
      expect(error.message).toContain('`text`');
    }
  });

  test('readHdf5 with an options.datasets entry that is not a dataset path', async () => {
    const file = await encodeHdf5([{ name: 'x', data: new Float32Array(2) }]);
    for (const entry of ['', 7, null]) {
      const error = await rejectionOf(readHdf5(file, { datasets: [entry as never] }));
      expect(error).toMatchObject({ code: 'ERR_INVALID_ARG_VALUE' });
      expect(error.message).toContain('`options.datasets[0]`');
    }
    // A leading slash is the same path.
    expect([...(await readHdf5(file, { datasets: ['/x'] })).keys()]).toEqual(['x']);
  });

  test('readNpz of an archive naming one array twice is ERR_BAD_FORMAT, not the last one silently', () => {
    const archive = encodeNpz({ a: new Uint8Array([1]), b: new Uint8Array([2]) });
    const twice = patched(archive, 'b.npy', 'a.npy');
    const error = thrownBy(() => readNpz(twice, { verify: false }));
    expect(error).toMatchObject({ code: 'ERR_BAD_FORMAT', operation: 'readNpz' });
    expect(error.message).toContain('"a" appears twice');
  });
});
