/**
 * Pieces the format encoders and readers share: the typed-array types they accept, the error for
 * corrupt input, and byte-view helpers that never copy.
 */
import { types } from 'util';

import { S3dlioError } from '../errors';
import { invalidType } from '../validate';

/** The typed arrays the formats store: every fixed-size integer and float element type of JS. */
export type NumericArray =
  | Uint8Array
  | Int8Array
  | Uint16Array
  | Int16Array
  | Uint32Array
  | Int32Array
  | BigUint64Array
  | BigInt64Array
  | Float32Array
  | Float64Array;

/** ERR_BAD_FORMAT: the input is corrupt, truncated, or uses a feature this reader does not support. */
export function badFormat(operation: string, message: string, cause?: unknown): S3dlioError {
  return new S3dlioError('ERR_BAD_FORMAT', `${operation}: ${message}`, { operation, cause });
}

/** Input bytes of a reader: any ArrayBufferView or ArrayBuffer, returned as a Uint8Array view (no copy). */
export function expectBytes(value: unknown, name: string): Uint8Array {
  // Realm-independent checks (buffers from a vm context or a worker pass too), as toBytes does.
  if (ArrayBuffer.isView(value)) {
    return types.isUint8Array(value) ? value : new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  }
  if (types.isAnyArrayBuffer(value)) return new Uint8Array(value);
  throw invalidType(name, 'a Uint8Array, an ArrayBufferView or an ArrayBuffer', value);
}

/** The bytes of any typed array, as a Uint8Array view of the same memory. */
export function bytesOf(view: ArrayBufferView): Uint8Array {
  return types.isUint8Array(view) ? view : new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
}

/**
 * A copy of a view's bytes in new memory (offset 0, so aligned for any element type). Not
 * `view.slice()`: on a Buffer, `slice` returns a view of the same memory.
 */
export function copyBytes(view: ArrayBufferView): Uint8Array {
  return new Uint8Array(bytesOf(view));
}

/** Concatenates byte chunks into one new array (one copy). */
export function concatBytes(chunks: readonly Uint8Array[]): Uint8Array {
  let total = 0;
  for (const chunk of chunks) total += chunk.byteLength;
  const out = new Uint8Array(total);
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.byteLength;
  }
  return out;
}

/**
 * A RangeError with code ERR_INVALID_ARG_VALUE whose message shows the received value as given
 * (`validate.invalidValue` describes values by type, which says little about a shape).
 */
export function invalidArgument(name: string, expected: string, received: string): RangeError {
  const error = new RangeError(`Expected ${expected} for \`${name}\` but received ${received}`);
  Object.defineProperty(error, 'code', { value: 'ERR_INVALID_ARG_VALUE', enumerable: true });
  return error;
}

/** `n` with thousands separators, for messages about sizes and counts. */
export function formatCount(n: number): string {
  return n.toLocaleString('en-US');
}
