/** The cloud SDKs, each loaded on first use: a program that never touches a cloud never pays for its SDK. */
import type { ObjectHead } from './driver';

/** A loader of the package `name`, which requires it at the first call and keeps it. */
export function lazyPackage<T>(name: string): () => T {
  let loaded: T | undefined;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return () => (loaded ??= require(name) as T);
}

/** An object's metadata from what a HEAD answered (size 0 and the epoch where it said nothing). */
export function objectHead(
  size: number | undefined,
  lastModified: Date | undefined,
  etag: string | undefined,
  contentType: string | undefined,
): ObjectHead {
  return {
    size: size ?? 0,
    lastModified: lastModified ?? new Date(0),
    ...(etag !== undefined && { etag }),
    ...(contentType !== undefined && { contentType }),
  };
}
