/**
 * tf.train.Example as other protobuf writers put it on the wire, built here byte by byte: floats
 * unpacked or packed in several runs, fields the decoder does not know (of every wire type),
 * non-minimal varints, and varints that stop at the end of their message or never stop.
 */
import { decodeExample, encodeExample } from '../../lib';
import { thrownBy } from '../helpers/local';

const VARINT = 0;
const I64 = 1;
const LEN = 2;
const I32 = 5;

function varint(n: number): number[] {
  const out: number[] = [];
  while (n >= 128) {
    out.push((n % 128) | 128);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return out;
}

function field(number: number, wire: number, payload: number[]): number[] {
  const tag = varint(number * 8 + wire);
  return wire === LEN ? [...tag, ...varint(payload.length), ...payload] : [...tag, ...payload];
}

function float32(value: number): number[] {
  return [...Buffer.from(new Float32Array([value]).buffer)];
}

/** An Example of one feature `key` whose Feature message is `feature`. */
function example(key: string, feature: number[], extraEntryFields: number[] = []): Uint8Array {
  const entry = [...field(1, LEN, [...Buffer.from(key)]), ...extraEntryFields, ...field(2, LEN, feature)];
  return Uint8Array.from(field(1, LEN, field(1, LEN, entry)));
}

/** Unknown fields of every wire type the decoder must step over. */
const UNKNOWN = [
  ...field(9, VARINT, varint(300)),
  ...field(10, I64, [1, 2, 3, 4, 5, 6, 7, 8]),
  ...field(11, LEN, [1, 2, 3]),
  ...field(12, I32, [1, 2, 3, 4]),
];

describe('floats as other writers send them', () => {
  test('unpacked floats (one fixed32 field each) make one list', () => {
    const list = [...field(1, I32, float32(1.5)), ...field(1, I32, float32(-2)), ...field(1, I32, float32(3))];
    const decoded = decodeExample(example('f', field(2, LEN, list)));
    expect(decoded.get('f')).toEqual({ kind: 'float', value: Float32Array.of(1.5, -2, 3) });
  });

  test('packed runs and single floats, in several float_list fields, join in wire order', () => {
    const feature = [
      ...field(2, LEN, field(1, LEN, [...float32(1), ...float32(2)])),
      ...field(2, LEN, [...field(1, I32, float32(3)), ...field(1, LEN, [...float32(4), ...float32(5)])]),
    ];
    expect(decodeExample(example('f', feature)).get('f')).toEqual({
      kind: 'float',
      value: Float32Array.of(1, 2, 3, 4, 5),
    });
  });
});

describe('packed floats read in place', () => {
  /** An Example whose packed floats 1.5, -2 start at byte `alignment` (mod 4) of its buffer. */
  function placed(alignment: number): { input: Uint8Array; buffer: ArrayBufferLike } {
    const floats = [...float32(1.5), ...float32(-2)];
    const bytes = example('f', field(2, LEN, field(1, LEN, floats)));
    const at = Buffer.from(bytes).indexOf(Buffer.from(floats));
    const offset = (((alignment - at) % 4) + 4) % 4;
    const buffer = new ArrayBuffer(bytes.byteLength + 8);
    const input = new Uint8Array(buffer, offset, bytes.byteLength);
    input.set(bytes);
    return { input, buffer };
  }

  test('aligned: the floats are a view on the input, not a copy', () => {
    const { input, buffer } = placed(0);
    const feature = decodeExample(input).get('f');
    expect(feature).toEqual({ kind: 'float', value: Float32Array.of(1.5, -2) });
    expect((feature!.value as Float32Array).buffer).toBe(buffer);
  });

  test.each([1, 2, 3])('misaligned by %i: the same floats, copied once', (alignment) => {
    const { input, buffer } = placed(alignment);
    const feature = decodeExample(input).get('f');
    expect(feature).toEqual({ kind: 'float', value: Float32Array.of(1.5, -2) });
    expect((feature!.value as Float32Array).buffer).not.toBe(buffer);
  });
});

describe('fields the decoder does not know', () => {
  test('are stepped over at every level, whatever their wire type', () => {
    const int64List = [
      ...UNKNOWN,
      ...field(1, VARINT, varint(7)),
      ...UNKNOWN,
      ...field(1, LEN, [...varint(8), ...varint(9)]),
    ];
    const feature = [...UNKNOWN, ...field(3, LEN, int64List), ...UNKNOWN];
    const bytes = example('i', feature, UNKNOWN);
    const withOuter = Uint8Array.from([...UNKNOWN, ...bytes, ...UNKNOWN]);
    expect(decodeExample(withOuter).get('i')).toEqual({ kind: 'int64', value: BigInt64Array.of(7n, 8n, 9n) });
  });

  test('wire types 3, 4, 6 and 7 are refused', () => {
    for (const wire of [3, 4, 6, 7]) {
      expect(thrownBy(() => decodeExample(Uint8Array.from(varint(9 * 8 + wire))))).toMatchObject({
        code: 'ERR_BAD_FORMAT',
        message: expect.stringContaining(`unsupported wire type ${wire}`),
      });
    }
  });
});

describe('varints', () => {
  test('a non-minimal tag of 8 bytes is read; one of 9 bytes is too long', () => {
    // The tag 0x0a (field 1, LEN) written in 8 bytes: seven continuation bytes add zeros.
    const eightBytes = [0x8a, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00];
    const good = example('k', field(3, LEN, field(1, VARINT, [5])));
    expect(decodeExample(Uint8Array.from([...eightBytes, ...good.subarray(1)])).get('k')).toEqual({
      kind: 'int64',
      value: BigInt64Array.of(5n),
    });
    const nine = [0x8a, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00];
    expect(thrownBy(() => decodeExample(Uint8Array.from([...nine, ...good.subarray(1)])))).toMatchObject({
      code: 'ERR_BAD_FORMAT',
      message: expect.stringContaining('too long'),
    });
    expect(thrownBy(() => decodeExample(new Uint8Array(64).fill(0x80)))).toMatchObject({
      message: expect.stringContaining('too long'),
    });
  });

  test('an int64 value takes up to 10 bytes (-1 does); an 11th byte is refused, not wrapped', () => {
    const minusOne = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01];
    expect(decodeExample(example('k', field(3, LEN, field(1, VARINT, minusOne)))).get('k')).toEqual({
      kind: 'int64',
      value: BigInt64Array.of(-1n),
    });
    const eleven = [0x81, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00];
    expect(thrownBy(() => decodeExample(example('k', field(3, LEN, field(1, VARINT, eleven)))))).toMatchObject({
      code: 'ERR_BAD_FORMAT',
      message: expect.stringContaining('longer than 10 bytes'),
    });
  });

  test('a fixed-size field cut short is truncated, whatever its size', () => {
    for (const [wire, bytes] of [
      [I32, [1, 2, 3]],
      [I64, [1, 2, 3, 4, 5, 6, 7]],
    ] as const) {
      const cut = Uint8Array.from([...field(9, wire, [...bytes])]);
      expect(thrownBy(() => decodeExample(cut))).toMatchObject({
        code: 'ERR_BAD_FORMAT',
        message: expect.stringContaining('truncated fixed-size field'),
      });
    }
  });

  test('a varint cut by the end of the input or of its message is truncated', () => {
    for (const bytes of [
      [0x80],
      [0x8a],
      // A map entry of one byte that starts a tag; the outer message goes on, the entry does not.
      field(1, LEN, [...field(1, LEN, [0x80]), 0x01, 0x01]),
      // An int64 value cut inside its packed run.
      [...example('k', field(3, LEN, field(1, LEN, [0x80])))],
    ]) {
      expect(thrownBy(() => decodeExample(Uint8Array.from(bytes)))).toMatchObject({
        code: 'ERR_BAD_FORMAT',
        message: expect.stringContaining('truncated varint'),
      });
    }
  });
});

describe('encodeExample lists', () => {
  test('a list mixing Uint8Array with numbers is refused at the first element that is not an integer', () => {
    expect(thrownBy(() => encodeExample({ f: [Uint8Array.of(1), 5] as never }))).toMatchObject({
      code: 'ERR_INVALID_ARG_VALUE',
      message: expect.stringContaining('[0]'),
    });
    expect(thrownBy(() => encodeExample({ f: [5, Uint8Array.of(1)] as never }))).toMatchObject({
      message: expect.stringContaining('[1]'),
    });
  });

  test('an int64 of 0 takes one byte, as protobuf writes it', () => {
    const zero = encodeExample({ z: [0] });
    const one = encodeExample({ z: [1] });
    expect(zero.byteLength).toBe(one.byteLength);
    expect(decodeExample(zero).get('z')).toEqual({ kind: 'int64', value: BigInt64Array.of(0n) });
  });
});

describe('more wire rules', () => {
  test('field number 0 is refused wherever a tag is read', () => {
    expect(thrownBy(() => decodeExample(Uint8Array.from([0x00, 0x00])))).toMatchObject({
      code: 'ERR_BAD_FORMAT',
      message: expect.stringContaining('field number 0'),
    });
    expect(thrownBy(() => decodeExample(example('k', [0x02, 0x00])))).toMatchObject({
      message: expect.stringContaining('field number 0'),
    });
  });

  test('unknown fields inside a bytes list are stepped over, not taken as values', () => {
    const list = [...UNKNOWN, ...field(1, LEN, [7, 7]), ...UNKNOWN, ...field(1, LEN, [8])];
    expect(decodeExample(example('b', field(1, LEN, list))).get('b')).toEqual({
      kind: 'bytes',
      value: [Uint8Array.of(7, 7), Uint8Array.of(8)],
    });
  });

  test('values and keys on both sides of each varint length boundary round-trip', () => {
    for (const n of [127, 128, 129, 16383, 16384, 2097151, 2097152]) {
      const key = 'k'.repeat(n % 300);
      const decoded = decodeExample(encodeExample({ [key]: [n], pad: new Uint8Array(n % 1000) }));
      expect(decoded.get(key)).toEqual({ kind: 'int64', value: BigInt64Array.of(BigInt(n)) });
      expect((decoded.get('pad')!.value as Uint8Array[])[0]!.byteLength).toBe(n % 1000);
    }
  });
});
