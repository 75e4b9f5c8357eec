/**
 * NumPy's `.npy` format (https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html):
 * `\x93NUMPY`, a version, a header length, a Python-literal header dict, then the raw array data.
 * The encoder writes exactly the bytes `numpy.save` writes (version 1.0, same header text and
 * padding), so files compare byte for byte; the parser reads versions 1.0, 2.0 and 3.0.
 */
import { types } from 'util';

import { expectKnownKeys, expectKnownOptions, optionKeys } from '../internal/option-keys';
import { outOfRange, invalidType, invalidValue } from '../validate';
import { badFormat, bytesOf, concatBytes, copyBytes, expectBytes, invalidArgument, type NumericArray } from './common';

/**
 * The element types supported, as NumPy spells them in `descr`: `|b1` bool, `|u1`/`|i1` bytes,
 * `<u2` … `<i8` little-endian integers, `<f4`/`<f8` little-endian floats.
 */
export type NpyDtype = '|b1' | '|u1' | '|i1' | '<u2' | '<i2' | '<u4' | '<i4' | '<u8' | '<i8' | '<f4' | '<f8';

/** The typed array a dtype is read into (`|b1` → Uint8Array of 0/1, `<i8` → BigInt64Array, …). */
export type NpyTypedArray = NumericArray;

/** A parsed `.npy` array. */
export interface NpyArray {
  /** Element type, normalised (`|u1` for any one-byte unsigned integer). */
  dtype: NpyDtype;
  /** Dimensions; `[]` for a 0-d (scalar) array. */
  shape: number[];
  /** True when the data is in column-major (Fortran) order; `data` is then in that order. */
  fortranOrder: boolean;
  /** The elements, in file order. */
  data: NpyTypedArray;
}

/**
 * An array given by dtype and shape, with its data as raw little-endian bytes (or any typed array,
 * whose bytes are taken as they are). A parsed {@link NpyArray} is one, so it encodes back as is.
 */
export interface NpyRawInput {
  /** Element type. */
  dtype: NpyDtype;
  /** Dimensions; `[]` for a scalar. The data must hold exactly their product of elements. */
  shape: readonly number[];
  /** The element bytes, little-endian. */
  data: Uint8Array | NpyTypedArray;
  /** Column-major data; default false (C order). */
  fortranOrder?: boolean;
}

/** What {@link encodeNpy} and `encodeNpz` accept: a typed array (dtype from its type) or a raw input. */
export type NpyInput = NpyTypedArray | NpyRawInput;

/** Options of {@link encodeNpy}. */
export interface NpyEncodeOptions {
  /** Shape of a typed-array input (default: one dimension, its length); ignored for raw inputs. */
  shape?: readonly number[];
}

const ENCODE_KEYS = optionKeys<NpyEncodeOptions>()({ shape: true });
const RAW_INPUT_KEYS = optionKeys<NpyRawInput>()({ dtype: true, shape: true, data: true, fortranOrder: true });

type ViewConstructor = {
  new (buffer: ArrayBufferLike, byteOffset: number, length: number): NpyTypedArray;
  readonly BYTES_PER_ELEMENT: number;
};

const DTYPES: Readonly<Record<NpyDtype, ViewConstructor>> = {
  '|b1': Uint8Array,
  '|u1': Uint8Array,
  '|i1': Int8Array,
  '<u2': Uint16Array,
  '<i2': Int16Array,
  '<u4': Uint32Array,
  '<i4': Int32Array,
  '<u8': BigUint64Array,
  '<i8': BigInt64Array,
  '<f4': Float32Array,
  '<f8': Float64Array,
};

/** A typed array of `dtype` over `count` elements of `buffer` from `byteOffset` (which must be aligned). */
export function npyView(dtype: NpyDtype, buffer: ArrayBufferLike, byteOffset: number, count: number): NpyTypedArray {
  return new DTYPES[dtype](buffer, byteOffset, count);
}

/** Every supported dtype, in the order the messages list them. */
export const NPY_DTYPES: readonly NpyDtype[] = Object.keys(DTYPES) as NpyDtype[];

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY
/** numpy.lib.format.ARRAY_ALIGN: header padded so the data starts on a 64-byte boundary. */
const ARRAY_ALIGN = 64;
/** numpy.lib.format.GROWTH_AXIS_MAX_DIGITS: spare header room numpy leaves to grow the first axis in place. */
const GROWTH_AXIS_MAX_DIGITS = 21;

// Typed arrays use the host's byte order; every platform the addon is built for (x64, arm64) is
// little-endian, so `<` data maps onto them directly.

/** The dtype of a typed array (realm-independent check), or undefined when it is not one the format stores. */
export function npyDtypeOf(value: unknown): NpyDtype | undefined {
  if (types.isUint8Array(value)) return '|u1';
  if (types.isInt8Array(value)) return '|i1';
  if (types.isUint16Array(value)) return '<u2';
  if (types.isInt16Array(value)) return '<i2';
  if (types.isUint32Array(value)) return '<u4';
  if (types.isInt32Array(value)) return '<i4';
  if (types.isBigUint64Array(value)) return '<u8';
  if (types.isBigInt64Array(value)) return '<i8';
  if (types.isFloat32Array(value)) return '<f4';
  if (types.isFloat64Array(value)) return '<f8';
  return undefined;
}

function expectShape(value: unknown, name: string): number[] {
  if (!Array.isArray(value)) throw invalidType(name, 'an array of non-negative integers', value);
  return value.map((dim: unknown, i) => {
    if (typeof dim !== 'number' || !Number.isSafeInteger(dim) || dim < 0) {
      throw outOfRange(`${name}[${i}]`, 'a non-negative safe integer', dim);
    }
    return dim;
  });
}

/** Product of the dimensions; an empty shape (scalar) holds one element. */
function elementCount(shape: readonly number[]): number {
  return shape.reduce((product, dim) => product * dim, 1);
}

/** The header and the data of an array, unjoined: `encodeNpz` writes them without concatenating. */
export interface NpyParts {
  /** Magic, version, header length and the padded header dict. */
  header: Uint8Array;
  /** The array's bytes: a view of the input. */
  body: Uint8Array;
}

/** Validates an input and builds its header; `body` is a view of the input's bytes (no copy). */
export function npyParts(
  array: unknown,
  options: NpyEncodeOptions | undefined,
  name: string,
  operation: string,
): NpyParts {
  const opts = expectKnownOptions(options, ENCODE_KEYS, operation);
  let dtype: NpyDtype;
  let shape: number[];
  let body: Uint8Array;
  let fortranOrder = false;
  const arrayDtype = npyDtypeOf(array);
  if (arrayDtype !== undefined) {
    const typed = array as NpyTypedArray;
    dtype = arrayDtype;
    shape = opts.shape === undefined ? [typed.length] : expectShape(opts.shape, 'options.shape');
    if (elementCount(shape) !== typed.length) {
      throw invalidArgument(
        'options.shape',
        `a shape of ${typed.length} elements (the length of \`${name}\`)`,
        `[${shape.join(', ')}] (${elementCount(shape)} elements)`,
      );
    }
    body = bytesOf(typed);
  } else if (typeof array === 'object' && array !== null && !ArrayBuffer.isView(array)) {
    const raw = array as Partial<NpyRawInput>;
    // `fortran_order` (numpy's spelling) would otherwise be ignored and the data stored as C order.
    expectKnownKeys(raw, RAW_INPUT_KEYS, operation, name);
    if (typeof raw.dtype !== 'string' || !(NPY_DTYPES as readonly string[]).includes(raw.dtype)) {
      throw invalidValue(`${name}.dtype`, `one of ${NPY_DTYPES.join(', ')}`, raw.dtype);
    }
    dtype = raw.dtype;
    shape = expectShape(raw.shape, `${name}.shape`);
    if (!ArrayBuffer.isView(raw.data) || types.isDataView(raw.data)) {
      throw invalidType(`${name}.data`, 'a Uint8Array or a typed array', raw.data);
    }
    body = bytesOf(raw.data);
    if (raw.fortranOrder !== undefined && typeof raw.fortranOrder !== 'boolean') {
      throw invalidType(`${name}.fortranOrder`, 'a boolean', raw.fortranOrder);
    }
    fortranOrder = raw.fortranOrder ?? false;
    const expected = elementCount(shape) * DTYPES[dtype].BYTES_PER_ELEMENT;
    if (body.byteLength !== expected) {
      throw invalidArgument(
        `${name}.data`,
        `${expected} bytes (shape [${shape.join(', ')}] of ${dtype})`,
        `${body.byteLength} bytes`,
      );
    }
  } else {
    throw invalidType(name, 'a typed array or { dtype, shape, data }', array);
  }
  return { header: npyHeader(dtype, shape, fortranOrder), body };
}

/** The header numpy.save writes for this array (same text, spare room and padding). */
function npyHeader(dtype: NpyDtype, shape: readonly number[], fortranOrder: boolean): Uint8Array {
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let dict = `{'descr': '${dtype}', 'fortran_order': ${fortranOrder ? 'True' : 'False'}, 'shape': ${shapeText}, }`;
  // Stryker disable next-line ConditionalExpression,EqualityOperator: a 0-d header pads 60 or 61 spaces anyway, more than the 12 this would add
  if (shape.length > 0) {
    const growthAxis = shape[fortranOrder ? shape.length - 1 : 0]!;
    dict += ' '.repeat(Math.max(0, GROWTH_AXIS_MAX_DIGITS - String(growthAxis).length));
  }
  // Version 1.0 stores the header length in 2 bytes; 2.0 (4 bytes) only for huge headers.
  const textLength = dict.length + 1; // + the final '\n'
  let lengthBytes = 2;
  let pad = ARRAY_ALIGN - ((MAGIC.length + 2 + lengthBytes + textLength) % ARRAY_ALIGN);
  // Stryker disable next-line EqualityOperator: textLength + pad is 54 mod 64 (the header ends 64-aligned), never 0xffff itself
  if (textLength + pad > 0xffff) {
    lengthBytes = 4;
    pad = ARRAY_ALIGN - ((MAGIC.length + 2 + lengthBytes + textLength) % ARRAY_ALIGN);
  }
  const headerLength = textLength + pad;
  const out = new Uint8Array(MAGIC.length + 2 + lengthBytes + headerLength);
  out.set(MAGIC, 0);
  out[6] = lengthBytes === 2 ? 1 : 2;
  out[7] = 0;
  const view = new DataView(out.buffer);
  if (lengthBytes === 2) view.setUint16(8, headerLength, true);
  else view.setUint32(8, headerLength, true);
  const start = 8 + lengthBytes;
  out.set(Buffer.from(dict, 'latin1'), start);
  // Stryker disable next-line ArithmeticOperator: fill stops at the end anyway, and the last byte is set next
  out.fill(0x20, start + dict.length, out.length - 1);
  out[out.length - 1] = 0x0a;
  return out;
}

/**
 * Encodes an array as a `.npy` file (format 1.0), byte for byte what `numpy.save` writes: the
 * header is padded with spaces and `\n` so the data starts at a multiple of 64 bytes.
 *
 * @param array a typed array (dtype from its type: Uint8Array → `|u1`, Float32Array → `<f4`, …)
 *   or `{ dtype, shape, data }` with the element bytes (use this for `|b1` and multi-dim arrays).
 * @param options `shape` of a typed-array input (default `[length]`).
 * @returns a new buffer: header then data (one copy of the data).
 */
export function encodeNpy(array: NpyInput, options?: NpyEncodeOptions): Uint8Array {
  const { header, body } = npyParts(array, options, 'array', 'encodeNpy');
  return concatBytes([header, body]);
}

/** The parser's view of a Python literal: the header is a dict of strings, booleans and tuples. */
type PyValue = string | number | boolean | null | PyValue[] | Map<string, PyValue>;

/**
 * Deepest nesting of dicts, tuples and lists a header may have. NumPy's own headers nest 3 levels
 * at most (a structured descr: list → tuple → shape tuple); the parser recurses once per level,
 * so without a bound a header of `[[[[…` would overflow the stack instead of failing as corrupt.
 */
const MAX_HEADER_DEPTH = 32;

/** A strict reader of the Python literal subset NPY headers use (no eval, no surprises). */
class PyLiteralParser {
  private at = 0;
  private depth = 0;

  constructor(
    private readonly text: string,
    private readonly fail: (message: string) => Error,
    /** Where text index `at` is, for messages (a file offset). */
    private readonly where: (at: number) => string,
  ) {}

  parseWhole(): PyValue {
    const value = this.value();
    this.skipSpace();
    if (this.at !== this.text.length)
      throw this.fail(`unexpected ${JSON.stringify(this.text[this.at])} after the dict`);
    return value;
  }

  private skipSpace(): void {
    while (this.at < this.text.length && /\s/.test(this.text[this.at]!)) this.at++;
  }

  private value(): PyValue {
    this.skipSpace();
    const c = this.text[this.at];
    if (c === '{' || c === '(' || c === '[') {
      if (this.depth === MAX_HEADER_DEPTH) {
        throw this.fail(`nested deeper than ${MAX_HEADER_DEPTH} levels at ${this.where(this.at)}`);
      }
      this.depth++;
      const nested = c === '{' ? this.dict() : this.sequence(c === '(' ? ')' : ']');
      this.depth--;
      return nested;
    }
    if (c === "'" || c === '"') return this.string();
    const word = /^(True|False|None|-?\d+L?)/.exec(this.text.slice(this.at));
    if (!word) throw this.fail(`unexpected ${c === undefined ? 'end' : JSON.stringify(c)} at ${this.where(this.at)}`);
    this.at += word[0].length;
    if (word[0] === 'True') return true;
    if (word[0] === 'False') return false;
    if (word[0] === 'None') return null;
    // Python 2 numpy wrote long integers with an `L` suffix: `(3L, 4L)`.
    return Number.parseInt(word[0], 10);
  }

  private string(): string {
    const quote = this.text[this.at]!;
    const end = this.text.indexOf(quote, this.at + 1);
    if (end < 0) throw this.fail('unterminated string in the header');
    const value = this.text.slice(this.at + 1, end);
    if (value.includes('\\')) throw this.fail('escaped characters in header strings are not supported');
    this.at = end + 1;
    return value;
  }

  private expect(c: string): void {
    this.skipSpace();
    if (this.text[this.at] !== c) throw this.fail(`expected ${JSON.stringify(c)} at ${this.where(this.at)}`);
    this.at++;
  }

  /** Reads items until `close`; a trailing comma is allowed, as in Python. */
  private items(close: string, item: () => void): void {
    for (;;) {
      this.skipSpace();
      if (this.text[this.at] === close) break;
      item();
      this.skipSpace();
      if (this.text[this.at] === ',') this.at++;
      else if (this.text[this.at] !== close)
        throw this.fail(`expected "," or ${JSON.stringify(close)} at ${this.where(this.at)}`);
    }
    this.at++;
  }

  private dict(): Map<string, PyValue> {
    const out = new Map<string, PyValue>();
    this.at++;
    this.items('}', () => {
      const key = this.value();
      if (typeof key !== 'string') throw this.fail('header dict keys must be strings');
      this.expect(':');
      out.set(key, this.value());
    });
    return out;
  }

  /** A tuple or a list (the caller is at its opening bracket). */
  private sequence(close: string): PyValue[] {
    const out: PyValue[] = [];
    this.at++;
    this.items(close, () => out.push(this.value()));
    return out;
  }
}

/** Why a descr cannot be read, in words a user can act on. */
function unsupportedDescr(descr: string): string {
  const kind = /^[<>|=]?([a-zA-Z])/.exec(descr)?.[1];
  if (kind === 'O') return `object arrays (dtype ${descr}) hold pickled Python objects and are not supported`;
  if (descr.startsWith('>')) {
    return `big-endian dtype ${descr} is not supported (save it little-endian: arr.astype('<${descr.slice(1)}'))`;
  }
  return `dtype ${descr} is not supported (supported: ${NPY_DTYPES.join(', ')})`;
}

/** A supported dtype from a header descr; one-byte types are accepted with any byte-order mark. */
function normaliseDescr(descr: string, fail: (message: string) => Error): NpyDtype {
  // Stryker disable next-line Regex: no supported size has two digits, so (\d) and (\d+) refuse the same descrs
  const match = /^([<>|=])([biuf])(\d+)$/.exec(descr);
  if (match) {
    const [, order, kind, size] = match;
    if (size === '1' && kind !== 'f') return `|${kind}1` as NpyDtype;
    if (order === '<' && `<${kind}${size}` in DTYPES && kind !== 'b') return `<${kind}${size}` as NpyDtype;
  }
  throw fail(unsupportedDescr(descr));
}

/**
 * Parses a `.npy` file (versions 1.0, 2.0 and 3.0).
 *
 * Zero copy: `data` is a view of `bytes` when the data's address is a multiple of the element size
 * (always the case for one-byte types, and for files numpy or {@link encodeNpy} wrote, read into
 * memory that starts aligned, as every buffer this library returns does). Otherwise the data is
 * copied once into new, aligned memory, since typed arrays cannot be unaligned views.
 *
 * @throws S3dlioError `ERR_BAD_FORMAT` when the input is not NPY, is truncated, has trailing bytes,
 *   or uses something unsupported: big-endian or object dtypes, structured dtypes, float16, …
 */
export function parseNpy(bytes: Uint8Array | ArrayBufferView | ArrayBuffer): NpyArray {
  return parseNpyAs(expectBytes(bytes, 'bytes'), 'parseNpy');
}

/**
 * parseNpy with the operation named in errors (readNpz names the entry). `where` turns an offset
 * in `bytes` into the words a message uses: `byte N` of the file by default (readNpz gives the
 * archive offset of a stored member).
 */
export function parseNpyAs(
  bytes: Uint8Array,
  operation: string,
  where: (offset: number) => string = (offset) => `byte ${offset}`,
): NpyArray {
  const fail = (message: string): Error => badFormat(operation, message);
  if (bytes.byteLength < 10) {
    throw fail(`truncated: ${bytes.byteLength} bytes is shorter than the 10-byte NPY preamble`);
  }
  if (MAGIC.some((b, i) => bytes[i] !== b)) throw fail('not an NPY file (it does not start with \\x93NUMPY)');
  const major = bytes[6]!;
  const minor = bytes[7]!;
  if (minor !== 0 || major < 1 || major > 3) throw fail(`unsupported NPY format version ${major}.${minor}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const lengthBytes = major === 1 ? 2 : 4;
  if (bytes.byteLength < 8 + lengthBytes) {
    throw fail(`truncated: ${bytes.byteLength} bytes is shorter than the ${8 + lengthBytes}-byte NPY preamble`);
  }
  const headerLength = lengthBytes === 2 ? view.getUint16(8, true) : view.getUint32(8, true);
  const dataOffset = 8 + lengthBytes + headerLength;
  if (dataOffset > bytes.byteLength) {
    throw fail(
      `truncated header: it declares ${headerLength} bytes but only ${bytes.byteLength - 8 - lengthBytes} follow`,
    );
  }
  const headerBytes = bytes.subarray(8 + lengthBytes, dataOffset);
  // Versions 1.0 and 2.0 are latin1, 3.0 is UTF-8.
  const text = Buffer.from(headerBytes.buffer, headerBytes.byteOffset, headerBytes.byteLength).toString(
    major === 3 ? 'utf8' : 'latin1',
  );
  // Offsets in the header text are characters; in messages they are bytes of the file.
  const headerStart = 8 + lengthBytes;
  const byteOf = (at: number): number =>
    headerStart + (major === 3 ? Buffer.byteLength(text.slice(0, at), 'utf8') : at);
  const header = new PyLiteralParser(
    text,
    (m) => fail(`bad header: ${m}`),
    (at) => where(byteOf(at)),
  ).parseWhole();
  if (!(header instanceof Map)) throw fail('bad header: it is not a dict');
  for (const key of ['descr', 'fortran_order', 'shape']) {
    if (!header.has(key)) throw fail(`bad header: no '${key}' key`);
  }
  const descr = header.get('descr');
  if (typeof descr !== 'string') {
    throw fail('structured dtypes (a list as descr) are not supported');
  }
  const dtype = normaliseDescr(descr, fail);
  const fortranOrder = header.get('fortran_order');
  if (typeof fortranOrder !== 'boolean') throw fail("bad header: 'fortran_order' is not True or False");
  const rawShape = header.get('shape');
  if (!Array.isArray(rawShape) || rawShape.some((d) => typeof d !== 'number' || !Number.isSafeInteger(d) || d < 0)) {
    throw fail("bad header: 'shape' is not a tuple of non-negative integers");
  }
  const shape = rawShape as number[];
  const Ctor = DTYPES[dtype];
  const count = elementCount(shape);
  const dataLength = count * Ctor.BYTES_PER_ELEMENT;
  if (!Number.isSafeInteger(dataLength)) throw fail(`shape (${shape.join(', ')}) is too large`);
  const present = bytes.byteLength - dataOffset;
  if (present < dataLength) {
    throw fail(
      `truncated data: shape (${shape.join(', ')}) of ${dtype} needs ${dataLength} bytes, only ${present} follow the header`,
    );
  }
  if (present > dataLength) {
    throw fail(
      `${present - dataLength} unexpected bytes after the ${dataLength} bytes of array data (from ${where(dataOffset + dataLength)})`,
    );
  }
  let buffer: ArrayBufferLike = bytes.buffer;
  let start = bytes.byteOffset + dataOffset;
  if (start % Ctor.BYTES_PER_ELEMENT !== 0) {
    // A typed array cannot start at an unaligned address: copy once into fresh (aligned) memory.
    buffer = copyBytes(bytes.subarray(dataOffset)).buffer;
    start = 0;
  }
  return { dtype, shape, fortranOrder, data: new Ctor(buffer, start, count) };
}
