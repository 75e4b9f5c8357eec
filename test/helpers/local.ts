/**
 * Shared helpers for the local-backend suites: the scheme × API matrix, scratch directories,
 * deterministic test data and inspection of what really is on disk (hidden files included).
 */
import { mkdirSync, readdirSync } from 'fs';
import * as path from 'path';

import * as s3dlio from '../../lib';
import type { ObjectStore } from '../../lib';

export type LocalScheme = 'file' | 'direct';

/** The two local schemes; most behaviour suites run on both. */
export const SCHEMES: readonly LocalScheme[] = ['file', 'direct'];

/** Every ObjectStore method, also available as a module function of the same name (stats() is per store). */
export type Api = Omit<ObjectStore, 'scheme' | 'stats'>;

/**
 * The two ways to call the API: the module functions (`import { get } from 's3dlio'`) and the
 * methods of the store `storeFor()` returns. Rows for `describe.each`: [label, scheme, api].
 */
export function apiMatrix(): Array<[string, LocalScheme, Api]> {
  return SCHEMES.flatMap((scheme): Array<[string, LocalScheme, Api]> => [
    [`${scheme}:// via module functions`, scheme, s3dlio],
    [`${scheme}:// via storeFor() methods`, scheme, s3dlio.storeFor(`${scheme}:///`)],
  ]);
}

let sandboxCounter = 0;

/** A fresh, empty directory below `root`, with URI builders for `scheme`. */
export function sandbox(root: string, scheme: LocalScheme, label = 'case') {
  const dir = path.join(root, `${label}-${scheme}-${++sandboxCounter}`);
  mkdirSync(dir, { recursive: true });
  return {
    dir,
    /** Absolute path of `rel` inside the sandbox. */
    path: (rel = ''): string => path.join(dir, rel),
    /** `scheme://` URI of `rel` inside the sandbox (a trailing `/` when rel is empty). */
    uri: (rel = '', as: LocalScheme = scheme): string => `${as}://${dir}/${rel}`,
  };
}

/**
 * Deterministic pseudo-random bytes (xorshift32). Not periodic like `i % 256`, so an off-by-one
 * or misaligned slice cannot accidentally compare equal.
 */
export function testBytes(size: number, seed = 1): Uint8Array {
  const out = new Uint8Array(size);
  let x = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

/** Byte-exact comparison with a readable failure (first differing index). */
export function expectSameBytes(actual: Uint8Array, expected: Uint8Array, what = 'bytes'): void {
  const a = Buffer.from(actual.buffer, actual.byteOffset, actual.byteLength);
  const e = Buffer.from(expected.buffer, expected.byteOffset, expected.byteLength);
  if (a.equals(e)) return;
  let i = 0;
  while (i < Math.min(a.length, e.length) && a[i] === e[i]) i++;
  throw new Error(
    `${what} differ: actual length ${a.length}, expected length ${e.length}, first difference at index ${i} ` +
      `(actual ${a[i]}, expected ${e[i]})`,
  );
}

/** Temporary files of in-progress writes, as the library names them. */
export const TEMP_FILE = /^\..*\.s3dlio-\d+-[0-9a-f]{16}\.tmp$/;

/** Every entry below `dir` (files and directories, hidden ones included), relative, sorted. */
export function treeOf(dir: string): string[] {
  const out: string[] = [];
  const walk = (current: string, rel: string): void => {
    for (const entry of readdirSync(current, { withFileTypes: true })) {
      const relPath = rel ? `${rel}/${entry.name}` : entry.name;
      if (entry.isDirectory()) {
        out.push(`${relPath}/`);
        walk(path.join(current, entry.name), relPath);
      } else {
        out.push(relPath);
      }
    }
  };
  walk(dir, '');
  return out.sort();
}

/** Leftover temporary files anywhere below `dir`. */
export function tempFilesIn(dir: string): string[] {
  return treeOf(dir).filter((rel) => TEMP_FILE.test(path.basename(rel)));
}

/**
 * The rejection reason of `promise`; fails the test if it resolves. Deliberately not an async
 * function and without `await`: V8's async stack traces would otherwise add the awaiting test
 * frames to every error's stack, hiding whether the library itself recorded the call site.
 */
// Typed `any` on purpose: tests read arbitrary fields (code, uri, cause, errors...) of the reason.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function rejectionOf(promise: Promise<unknown>): Promise<any> {
  return new Promise((resolve, reject) => {
    promise.then(
      (value) => reject(new Error(`expected a rejection, but the promise resolved with ${describeValue(value)}`)),
      resolve,
    );
  });
}

/** The error `run` throws synchronously; fails the test when it throws nothing. */
export function thrownBy(run: () => unknown): Error & { code?: string } {
  try {
    run();
  } catch (error) {
    return error as Error & { code?: string };
  }
  throw new Error('expected an error, nothing was thrown');
}

function describeValue(value: unknown): string {
  if (ArrayBuffer.isView(value)) return `a Uint8Array of ${value.byteLength} bytes`;
  if (Array.isArray(value)) return `[${value.map(describeValue).join(', ')}]`;
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

/** Calls `fn` and checks it returned a promise instead of throwing synchronously. */
export function callAsync<T>(fn: () => Promise<T>): Promise<T> {
  let result: Promise<T> | undefined;
  let thrown: unknown;
  try {
    result = fn();
  } catch (error) {
    thrown = error;
  }
  if (thrown !== undefined) {
    throw new Error(`expected a rejected promise, but the call threw synchronously: ${String(thrown)}`);
  }
  if (typeof (result as { then?: unknown } | undefined)?.then !== 'function') {
    throw new Error(`expected a promise, got ${String(result)}`);
  }
  return result as Promise<T>;
}

/** Resolves after the current macrotask (lets native completions and I/O callbacks run). */
export function nextTick(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
