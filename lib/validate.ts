/**
 * Argument validation with precise messages, done in TypeScript so the native layer can assume
 * valid input. Type mistakes throw TypeError (`ERR_INVALID_ARG_TYPE`), bad values RangeError
 * (`ERR_OUT_OF_RANGE` / `ERR_INVALID_ARG_VALUE`), like Node's own APIs.
 */
import { types } from 'util';

import { bufferDetached, isDetached } from './internal/memory';

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'string')
    return `${JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}…` : value)} of type string`;
  if (typeof value === 'object') return `an instance of ${value.constructor?.name ?? 'Object'}`;
  if (typeof value === 'function') return 'a function';
  return `${String(value)} of type ${typeof value}`;
}

function withCode<E extends Error>(error: E, code: string): E {
  Object.defineProperty(error, 'code', { value: code, enumerable: true });
  return error;
}

/** TypeError with code ERR_INVALID_ARG_TYPE. */
export function invalidType(name: string, expected: string, value: unknown): TypeError {
  return withCode(
    new TypeError(`Expected ${expected} for \`${name}\` but received ${describe(value)}`),
    'ERR_INVALID_ARG_TYPE',
  );
}

/** RangeError with code ERR_OUT_OF_RANGE. */
export function outOfRange(name: string, expected: string, value: unknown): RangeError {
  return withCode(
    new RangeError(`Expected ${expected} for \`${name}\` but received ${describe(value)}`),
    'ERR_OUT_OF_RANGE',
  );
}

/** RangeError with code ERR_INVALID_ARG_VALUE. */
export function invalidValue(name: string, expected: string, value: unknown): RangeError {
  return withCode(
    new RangeError(`Expected ${expected} for \`${name}\` but received ${describe(value)}`),
    'ERR_INVALID_ARG_VALUE',
  );
}

/** A string argument that must not be empty. */
export function expectString(value: unknown, name: string): string {
  if (typeof value !== 'string') throw invalidType(name, 'a string', value);
  if (value.length === 0) throw invalidValue(name, 'a non-empty string', value);
  return value;
}

/** A non-negative safe integer (offsets, lengths, sizes). */
export function expectNonNegativeInteger(value: unknown, name: string): number {
  if (typeof value !== 'number') throw invalidType(name, 'a non-negative integer', value);
  if (!Number.isSafeInteger(value) || value < 0) {
    throw outOfRange(name, 'a non-negative safe integer', value);
  }
  return value;
}

/** A positive safe integer (counts, concurrency, chunk sizes). */
export function expectPositiveInteger(value: unknown, name: string): number {
  if (typeof value !== 'number') throw invalidType(name, 'a positive integer', value);
  if (!Number.isSafeInteger(value) || value <= 0) throw outOfRange(name, 'a positive integer', value);
  return value;
}

/** An optional positive integer with a default. */
export function optionalPositiveInteger(value: unknown, name: string, fallback: number): number {
  return value === undefined ? fallback : expectPositiveInteger(value, name);
}

/** An optional integer within [min, max], with a default. */
export function optionalIntegerInRange(
  value: unknown,
  name: string,
  min: number,
  max: number,
  fallback: number,
): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number') throw invalidType(name, `an integer from ${min} to ${max}`, value);
  if (!Number.isInteger(value) || value < min || value > max)
    throw outOfRange(name, `an integer from ${min} to ${max}`, value);
  return value;
}

/** An optional boolean with a default. */
export function optionalBoolean(value: unknown, name: string, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw invalidType(name, 'a boolean', value);
  return value;
}

/** An optional options object (undefined or a plain object). */
export function expectOptions<T extends object>(value: unknown, name = 'options'): Partial<T> {
  if (value === undefined) return {};
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw invalidType(name, 'an object', value);
  }
  return value as Partial<T>;
}

/** An optional AbortSignal. */
export function optionalSignal(value: unknown): AbortSignal | undefined {
  if (value === undefined) return undefined;
  // Duck-typed: an AbortSignal from another realm (vm context, test sandbox) is still one.
  const candidate = value as Partial<AbortSignal> | null;
  if (
    typeof candidate !== 'object' ||
    candidate === null ||
    typeof candidate.aborted !== 'boolean' ||
    typeof candidate.addEventListener !== 'function' ||
    typeof candidate.removeEventListener !== 'function'
  ) {
    throw invalidType('options.signal', 'an AbortSignal', value);
  }
  return value as AbortSignal;
}

/** One of a fixed set of strings. */
export function optionalEnum<T extends string>(value: unknown, name: string, allowed: readonly T[], fallback: T): T {
  if (value === undefined) return fallback;
  if (typeof value !== 'string') throw invalidType(name, `one of ${allowed.join(', ')}`, value);
  if (!(allowed as readonly string[]).includes(value)) {
    throw invalidValue(name, `one of ${allowed.join(', ')}`, value);
  }
  return value as T;
}

/** An array argument. */
export function expectArray(value: unknown, name: string): unknown[] {
  if (!Array.isArray(value)) throw invalidType(name, 'an array', value);
  return value;
}

/**
 * Data accepted by put: bytes, an ArrayBuffer or a string (UTF-8). Returns a view, no copy. A
 * detached buffer (transferred away) is refused with ERR_BUFFER_DETACHED: it reads as 0 bytes.
 */
export function toBytes(value: unknown, name = 'data'): Uint8Array {
  // Realm-independent checks: buffers from a vm context or worker pass too.
  if (ArrayBuffer.isView(value)) {
    if (isDetached(value.buffer)) throw bufferDetached(name);
    return types.isUint8Array(value) ? value : new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  }
  if (types.isAnyArrayBuffer(value)) {
    if (isDetached(value)) throw bufferDetached(name);
    return new Uint8Array(value);
  }
  if (typeof value === 'string') return Buffer.from(value, 'utf8');
  throw invalidType(name, 'a Uint8Array, ArrayBuffer or string', value);
}

/**
 * A list filter from a RegExp or a regex string. Flags are kept as given (`y` anchors at the
 * start); `lastIndex` is reset before each test so `g`/`y` patterns carry no state between paths.
 */
export function optionalMatcher(value: unknown, name = 'options.pattern'): ((path: string) => boolean) | undefined {
  if (value === undefined) return undefined;
  let pattern: RegExp;
  if (types.isRegExp(value)) pattern = new RegExp(value);
  else if (typeof value !== 'string') throw invalidType(name, 'a RegExp or a regular expression string', value);
  else {
    try {
      pattern = new RegExp(value);
    } catch (error) {
      throw invalidValue(name, `a valid regular expression (${(error as Error).message})`, value);
    }
  }
  return (path) => {
    pattern.lastIndex = 0;
    return pattern.test(path);
  };
}

/**
 * RangeError with code ERR_INVALID_ARG_VALUE and a message of its own, for a value whose problem
 * the `Expected … but received …` form cannot say (an unreadable file named by an option).
 */
export function badArgument(message: string, cause?: unknown): RangeError {
  const error = withCode(new RangeError(message, cause === undefined ? undefined : { cause }), 'ERR_INVALID_ARG_VALUE');
  return error;
}
