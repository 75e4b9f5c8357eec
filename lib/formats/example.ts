/**
 * `tf.train.Example`, the protobuf message TFRecord datasets hold (tensorflow/core/example/
 * example.proto, feature.proto), encoded and decoded by hand: no protobuf dependency.
 *
 *   Example  { Features features = 1; }
 *   Features { map<string, Feature> feature = 1; }            // entries: key = 1, value = 2
 *   Feature  { oneof kind { BytesList bytes_list = 1; FloatList float_list = 2; Int64List int64_list = 3; } }
 *   BytesList { repeated bytes value = 1; }  FloatList { repeated float value = 1 [packed]; }
 *   Int64List { repeated int64 value = 1 [packed]; }
 */
import { types } from 'util';

import { invalidType, invalidValue } from '../validate';
import { badFormat, copyBytes, expectBytes, invalidArgument } from './common';

/** A decoded feature: the list kind and its values. */
export type ExampleFeature =
  | { kind: 'bytes'; value: Uint8Array[] }
  | { kind: 'float'; value: Float32Array }
  | { kind: 'int64'; value: BigInt64Array };

/**
 * A feature to encode: `Uint8Array` (one bytes value), `Uint8Array[]` (a bytes list), `number[]`,
 * `bigint[]` or `BigInt64Array` (an int64 list; numbers must be safe integers), `Float32Array`
 * (a float list), or an explicit {@link ExampleFeature} (needed for an empty list, whose kind
 * `[]` cannot tell).
 */
export type ExampleFeatureInput =
  | Uint8Array
  | readonly Uint8Array[]
  | readonly number[]
  | readonly bigint[]
  | BigInt64Array
  | Float32Array
  | ExampleFeature;

/** Wire types (protobuf encoding spec). */
const VARINT = 0;
const I64 = 1;
const LEN = 2;
const I32 = 5;
/** Tags of field 1, 2 and 3 with wire type LEN: `(field << 3) | 2`. */
const TAG1 = 0x0a;
const TAG2 = 0x12;
const TAG3 = 0x1a;

type Normalised =
  | { kind: 'bytes'; values: Uint8Array[] }
  | { kind: 'float'; values: Float32Array }
  | { kind: 'int64'; values: ReadonlyArray<number | bigint> };

function normalise(value: unknown, name: string): Normalised {
  const expected =
    'a Uint8Array, Uint8Array[], number[] or bigint[] (int64), BigInt64Array, Float32Array or { kind, value }';
  if (types.isUint8Array(value)) return { kind: 'bytes', values: [value] };
  if (types.isFloat32Array(value)) return { kind: 'float', values: value };
  if (types.isBigInt64Array(value)) return { kind: 'int64', values: Array.from(value) };
  if (Array.isArray(value)) {
    if (value.length === 0) {
      throw invalidArgument(
        name,
        "a non-empty list (give an empty one as { kind: 'bytes' | 'float' | 'int64', value })",
        '[]',
      );
    }
    if (value.every((v) => types.isUint8Array(v))) return { kind: 'bytes', values: value as Uint8Array[] };
    value.forEach((v: unknown, i) => {
      if (typeof v === 'bigint') {
        if (BigInt.asIntN(64, v) !== v) throw invalidArgument(`${name}[${i}]`, 'a 64-bit signed integer', `${v}n`);
      } else if (!Number.isSafeInteger(v)) {
        throw invalidValue(`${name}[${i}]`, 'a safe integer or a bigint (int64 list)', v);
      }
    });
    return { kind: 'int64', values: value as ReadonlyArray<number | bigint> };
  }
  if (typeof value === 'object' && value !== null && 'kind' in value && 'value' in value) {
    const explicit = value as ExampleFeature;
    if (explicit.kind === 'bytes') {
      if (!Array.isArray(explicit.value) || !explicit.value.every((v) => types.isUint8Array(v))) {
        throw invalidType(`${name}.value`, 'an array of Uint8Array', explicit.value);
      }
      return { kind: 'bytes', values: explicit.value };
    }
    if (explicit.kind === 'float') {
      if (!types.isFloat32Array(explicit.value)) throw invalidType(`${name}.value`, 'a Float32Array', explicit.value);
      return { kind: 'float', values: explicit.value };
    }
    if (explicit.kind === 'int64') {
      if (!types.isBigInt64Array(explicit.value)) throw invalidType(`${name}.value`, 'a BigInt64Array', explicit.value);
      return { kind: 'int64', values: Array.from(explicit.value) };
    }
    throw invalidValue(`${name}.kind`, "'bytes', 'float' or 'int64'", (explicit as { kind: unknown }).kind);
  }
  throw invalidType(name, expected, value);
}

/** Bytes of the varint encoding of a non-negative safe integer. */
function varintSize(n: number): number {
  let size = 1;
  while (n >= 128) {
    n = Math.floor(n / 128);
    size++;
  }
  return size;
}

/** int64 values are varints of their two's complement: negatives always take 10 bytes. */
function int64Size(v: number | bigint): number {
  // Stryker disable next-line EqualityOperator: 0 takes one byte by either path
  if (typeof v === 'number' && v >= 0) return varintSize(v);
  const u = BigInt.asUintN(64, BigInt(v));
  let size = 1;
  for (let x = u >> 7n; x > 0n; x >>= 7n) size++;
  return size;
}

/** A field of wire type LEN: tag, length varint, payload. */
function lenField(payload: number): number {
  return 1 + varintSize(payload) + payload;
}

interface Planned {
  key: Uint8Array;
  feature: Normalised;
  /** Size of the list message (BytesList / FloatList / Int64List). */
  list: number;
  /** Size of the packed payload (float, int64). */
  packed: number;
  /** Size of the Feature message. */
  featureSize: number;
  /** Size of the map entry message. */
  entry: number;
}

/**
 * Encodes a `tf.train.Example` with the given features, in `Object.keys` order. Packed encoding
 * for float and int64 lists, as TensorFlow writes them.
 *
 * @param features name → value (see {@link ExampleFeatureInput}).
 */
export function encodeExample(features: Readonly<Record<string, ExampleFeatureInput>>): Uint8Array {
  if (typeof features !== 'object' || features === null || Array.isArray(features) || ArrayBuffer.isView(features)) {
    throw invalidType('features', 'an object mapping names to feature values', features);
  }
  const plan: Planned[] = Object.keys(features).map((name) => {
    const feature = normalise(features[name], `features[${JSON.stringify(name)}]`);
    let packed = 0;
    let list: number;
    if (feature.kind === 'bytes') {
      list = feature.values.reduce((sum, v) => sum + lenField(v.byteLength), 0);
    } else {
      packed =
        feature.kind === 'float'
          ? feature.values.length * 4
          : feature.values.reduce<number>((s, v) => s + int64Size(v), 0);
      // proto3 writes nothing for an empty packed field.
      list = packed === 0 ? 0 : lenField(packed);
    }
    const featureSize = lenField(list);
    const key = Buffer.from(name, 'utf8');
    return { key, feature, list, packed, featureSize, entry: lenField(key.byteLength) + lenField(featureSize) };
  });
  const featuresSize = plan.reduce((sum, p) => sum + lenField(p.entry), 0);
  const out = new Uint8Array(lenField(featuresSize));
  const w = new Writer(out);
  w.len(TAG1, featuresSize); // Example.features
  for (const p of plan) {
    w.len(TAG1, p.entry); // Features.feature (a map entry)
    w.len(TAG1, p.key.byteLength); // entry key
    w.bytes(p.key);
    w.len(TAG2, p.featureSize); // entry value: Feature
    const { feature } = p;
    if (feature.kind === 'bytes') {
      w.len(TAG1, p.list); // Feature.bytes_list
      for (const v of feature.values) {
        w.len(TAG1, v.byteLength); // BytesList.value
        w.bytes(v);
      }
    } else if (feature.kind === 'float') {
      w.len(TAG2, p.list); // Feature.float_list
      if (p.packed > 0) {
        w.len(TAG1, p.packed); // FloatList.value, packed little-endian floats
        w.bytes(new Uint8Array(feature.values.buffer, feature.values.byteOffset, feature.values.byteLength));
      }
    } else {
      w.len(TAG3, p.list); // Feature.int64_list
      if (p.packed > 0) {
        w.len(TAG1, p.packed); // Int64List.value, packed varints
        for (const v of feature.values) w.int64(v);
      }
    }
  }
  return out;
}

/** Writes into a buffer sized in advance. */
class Writer {
  private at = 0;

  constructor(private readonly out: Uint8Array) {}

  varint(n: number): void {
    while (n >= 128) {
      this.out[this.at++] = (n % 128) | 128;
      n = Math.floor(n / 128);
    }
    this.out[this.at++] = n;
  }

  int64(v: number | bigint): void {
    // Stryker disable next-line EqualityOperator: 0 is one 0x00 byte on either path
    if (typeof v === 'number' && v >= 0) return this.varint(v);
    let u = BigInt.asUintN(64, BigInt(v));
    while (u >= 128n) {
      this.out[this.at++] = Number(u & 127n) | 128;
      u >>= 7n;
    }
    this.out[this.at++] = Number(u);
  }

  len(tag: number, length: number): void {
    this.out[this.at++] = tag;
    this.varint(length);
  }

  bytes(bytes: Uint8Array): void {
    this.out.set(bytes, this.at);
    this.at += bytes.byteLength;
  }
}

/** Reads protobuf fields from a range of a buffer; every read is bounds-checked. */
class Reader {
  private at: number;

  constructor(
    readonly bytes: Uint8Array,
    start: number,
    private readonly end: number,
  ) {
    this.at = start;
  }

  get done(): boolean {
    return this.at >= this.end;
  }

  get position(): number {
    return this.at;
  }

  private fail(message: string): Error {
    return badFormat('decodeExample', `${message} at byte ${this.at}`);
  }

  /** A varint that must fit a safe integer (tags, lengths). */
  varint(): number {
    let result = 0;
    let scale = 1;
    for (let i = 0; i < 8; i++) {
      if (this.at >= this.end) throw this.fail('truncated varint');
      const b = this.bytes[this.at++]!;
      result += (b & 127) * scale;
      if (b < 128) return result;
      scale *= 128;
    }
    throw this.fail('varint too long for a length or tag');
  }

  /** A varint int64 (two's complement, up to 10 bytes). */
  int64(): bigint {
    let result = 0n;
    for (let shift = 0n; shift < 70n; shift += 7n) {
      if (this.at >= this.end) throw this.fail('truncated varint');
      const b = this.bytes[this.at++]!;
      result |= BigInt(b & 127) << shift;
      if (b < 128) return BigInt.asIntN(64, result);
    }
    throw this.fail('varint longer than 10 bytes');
  }

  /** The field's tag: [field number, wire type]. */
  tag(): [number, number] {
    const tag = this.varint();
    const field = Math.floor(tag / 8);
    if (field === 0) throw this.fail('field number 0');
    return [field, tag % 8];
  }

  /** The payload range of a LEN field, after checking the field has that wire type. */
  // Stryker disable next-line StringLiteral: only skip() omits `what`, and only for LEN fields, which never fail the wire-type check
  lenRange(wireType: number = LEN, what = 'the field'): [number, number] {
    if (wireType !== LEN) throw this.fail(`${what} has wire type ${wireType}, expected 2 (length-delimited)`);
    const length = this.varint();
    if (length > this.end - this.at)
      throw this.fail(`truncated field: ${length} bytes declared, ${this.end - this.at} left`);
    const start = this.at;
    this.at += length;
    return [start, this.at];
  }

  /** The range of a fixed-size field of `size` bytes. */
  fixed(size: number): [number, number] {
    if (this.end - this.at < size) throw this.fail('truncated fixed-size field');
    this.at += size;
    return [this.at - size, this.at];
  }

  /** Skips a field the decoder does not use. */
  skip(wireType: number): void {
    if (wireType === VARINT) this.int64();
    else if (wireType === LEN) this.lenRange();
    else if (wireType === I64) this.fixed(8);
    else if (wireType === I32) this.fixed(4);
    else throw this.fail(`unsupported wire type ${wireType}`);
  }

  /** A sub-reader over an embedded message (a LEN field). */
  message(wireType: number, what: string): Reader {
    const [start, end] = this.lenRange(wireType, what);
    return new Reader(this.bytes, start, end);
  }
}

/**
 * Decodes a `tf.train.Example` into feature name → {@link ExampleFeature}. Bytes values are
 * zero-copy views of `bytes`; floats are a view too when 4-byte aligned (else copied once).
 * Follows protobuf parsing rules: unknown fields are skipped, packed and unpacked lists are both
 * read, repeated messages merge, the last value of a key or oneof wins.
 *
 * @throws S3dlioError `ERR_BAD_FORMAT` for malformed protobuf, and for a feature with no list set.
 */
export function decodeExample(bytes: Uint8Array | ArrayBufferView | ArrayBuffer): Map<string, ExampleFeature> {
  const input = expectBytes(bytes, 'bytes');
  const out = new Map<string, ExampleFeature>();
  const example = new Reader(input, 0, input.byteLength);
  while (!example.done) {
    const [field, wire] = example.tag();
    if (field !== 1) {
      example.skip(wire);
      continue;
    }
    const features = example.message(wire, 'Example.features');
    while (!features.done) {
      const [f, w] = features.tag();
      if (f === 1) decodeEntry(features.message(w, 'Features.feature'), out);
      else features.skip(w);
    }
  }
  return out;
}

/** One map entry (key = 1, value = 2) into `out`; the last entry of a key wins, as in protobuf maps. */
function decodeEntry(entry: Reader, out: Map<string, ExampleFeature>): void {
  let key = '';
  let feature: FeatureParts | undefined;
  while (!entry.done) {
    const [field, wire] = entry.tag();
    if (field === 1) {
      const [start, end] = entry.lenRange(wire, 'the map key');
      key = Buffer.from(entry.bytes.buffer, entry.bytes.byteOffset + start, end - start).toString('utf8');
    } else if (field === 2) {
      feature ??= new FeatureParts();
      decodeFeature(entry.message(wire, 'the map value'), feature);
    } else entry.skip(wire);
  }
  const value = feature?.value();
  if (!value) {
    throw badFormat('decodeExample', `feature ${JSON.stringify(key)} has no bytes_list, float_list or int64_list`);
  }
  out.set(key, value);
}

/**
 * The lists of one Feature as they arrive on the wire, joined once at the end: a list repeated on
 * the wire merges into the previous one of its kind, another oneof member replaces it. Joining at
 * each repetition instead would copy quadratically (a few hundred KiB of repeated empty lists
 * would take minutes).
 */
class FeatureParts {
  private kind: ExampleFeature['kind'] | undefined;
  private bytes: Uint8Array[] = [];
  private floats: Float32Array[] = [];
  private ints: bigint[] = [];

  /** Starts collecting `kind`, dropping the values of another kind (the oneof's last member wins). */
  use(kind: ExampleFeature['kind']): void {
    if (this.kind === kind) return;
    this.kind = kind;
    this.bytes = [];
    this.floats = [];
    this.ints = [];
  }

  addBytes(value: Uint8Array): void {
    this.bytes.push(value);
  }

  addFloats(values: Float32Array): void {
    this.floats.push(values);
  }

  addInt(value: bigint): void {
    this.ints.push(value);
  }

  /** The decoded feature, or undefined when no list was set. */
  value(): ExampleFeature | undefined {
    if (this.kind === 'bytes') return { kind: 'bytes', value: this.bytes };
    if (this.kind === 'float') {
      // One chunk stays a view of the input (zero copy); several are joined once.
      return { kind: 'float', value: this.floats.length === 1 ? this.floats[0]! : concatFloats(this.floats) };
    }
    if (this.kind === 'int64') return { kind: 'int64', value: BigInt64Array.from(this.ints) };
    return undefined;
  }
}

/** A Feature message, into `parts`. */
function decodeFeature(r: Reader, parts: FeatureParts): void {
  while (!r.done) {
    const [field, wire] = r.tag();
    if (field === 1) {
      const list = r.message(wire, 'Feature.bytes_list');
      parts.use('bytes');
      decodeBytesList(list, parts);
    } else if (field === 2) {
      const list = r.message(wire, 'Feature.float_list');
      parts.use('float');
      decodeFloatList(list, parts);
    } else if (field === 3) {
      const list = r.message(wire, 'Feature.int64_list');
      parts.use('int64');
      decodeInt64List(list, parts);
    } else r.skip(wire);
  }
}

function decodeBytesList(r: Reader, parts: FeatureParts): void {
  while (!r.done) {
    const [field, wire] = r.tag();
    if (field !== 1) {
      r.skip(wire);
      continue;
    }
    const [start, end] = r.lenRange(wire, 'BytesList.value');
    parts.addBytes(r.bytes.subarray(start, end));
  }
}

function decodeFloatList(r: Reader, parts: FeatureParts): void {
  while (!r.done) {
    const [field, wire] = r.tag();
    if (field !== 1) {
      r.skip(wire);
      continue;
    }
    // Packed (LEN) is what TensorFlow writes; an unpacked float (I32) must be accepted too.
    const [start, end] = wire === I32 ? r.fixed(4) : r.lenRange(wire, 'FloatList.value');
    if ((end - start) % 4 !== 0) {
      throw badFormat('decodeExample', `packed floats of ${end - start} bytes (not a multiple of 4) at byte ${start}`);
    }
    parts.addFloats(floatsAt(r.bytes, start, (end - start) / 4));
  }
}

/** Little-endian floats at `start`: a view when aligned, else one copy. */
function floatsAt(bytes: Uint8Array, start: number, count: number): Float32Array {
  const address = bytes.byteOffset + start;
  if (address % 4 === 0) return new Float32Array(bytes.buffer, address, count);
  return new Float32Array(copyBytes(bytes.subarray(start, start + count * 4)).buffer);
}

function concatFloats(chunks: readonly Float32Array[]): Float32Array {
  const out = new Float32Array(chunks.reduce((sum, c) => sum + c.length, 0));
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.length;
  }
  return out;
}

function decodeInt64List(r: Reader, parts: FeatureParts): void {
  while (!r.done) {
    const [field, wire] = r.tag();
    if (field !== 1) r.skip(wire);
    else if (wire === VARINT) parts.addInt(r.int64());
    else {
      const packed = r.message(wire, 'Int64List.value');
      while (!packed.done) parts.addInt(packed.int64());
    }
  }
}
