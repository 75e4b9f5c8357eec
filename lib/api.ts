/**
 * The module-level API: the same calls for every scheme, dispatched to the default store of each
 * URI's scheme (see `storeFor` for stores with options).
 */
import { BatchError, CallSite, S3dlioError, relabel, toS3dlioError } from './errors';
import {
  BATCH_KEYS,
  type BatchOptions,
  type DeleteBucketOptions,
  type DeletePrefixOptions,
  type GetOptions,
  type GetRangeOptions,
  type ListOptions,
  type ListedEntry,
  type ObjectStat,
  type ObjectStore,
  type OperationOptions,
  type PutData,
  type PutItem,
  PUT_MANY_KEYS,
  type PutManyOptions,
  type PutOptions,
  RENAME_KEYS,
  type RenameOptions,
  type ObjectWriter,
  type StreamOptions,
  type WriterOptions,
} from './object-store';
import type { Readable } from 'stream';
import { pipeline } from 'stream/promises';
import type { ReadableStream } from 'stream/web';
import { openDestination } from './transfer';
import { batchLabel, runBatch } from './internal/batch';
import { keyNamesDirectory, objectsToTransfer } from './internal/folder-markers';
import { recursiveCopyPlan, sameLocalFile } from './identity';
import { type OptionKeys, optionKeys } from './internal/option-keys';
import { type OperationScope, runOperation } from './operation';
import { liveStores } from './backends/live-stores';
import { OpCounters } from './backends/op-counters';
import type { StoreStats } from './stats';
import { storeFor } from './stores';
import { parseUri } from './uri';
import { expectArray, optionalBoolean, optionalPositiveInteger } from './validate';

/**
 * Calls `call` on the default store of `uri`'s scheme. A URI that names no store rejects (never
 * throws synchronously), with the caller's stack.
 */
function withStore<T>(operation: string, uri: unknown, call: (store: ObjectStore) => Promise<T>): Promise<T> {
  let store: ObjectStore;
  try {
    store = storeFor(uri as string);
  } catch (error) {
    return Promise.reject(new CallSite().attach(toS3dlioError(error, operation, typeof uri === 'string' ? uri : '')));
  }
  return call(store);
}

/** Reads a whole object. The bytes are not copied after the read. */
export function get(uri: string, options?: GetOptions): Promise<Uint8Array> {
  return withStore('get', uri, (store) => store.get(uri, options));
}

/**
 * Reads `length` bytes from `offset` (to the end when omitted). Past-the-end ranges are clamped;
 * an offset beyond the size is `ERR_RANGE_NOT_SATISFIABLE`.
 */
export function getRange(uri: string, offset: number, length?: number, options?: GetRangeOptions): Promise<Uint8Array> {
  return withStore('getRange', uri, (store) => store.getRange(uri, offset, length, options));
}

/** Reads the whole object into `target` (from `offset`); resolves to the byte count. */
export function getInto(uri: string, target: ArrayBufferView, offset?: number, options?: GetOptions): Promise<number> {
  return withStore('getInto', uri, (store) => store.getInto(uri, target, offset, options));
}

/** The object as a Node Readable: sequential ranged reads with read-ahead, any object size. */
export function getStream(uri: string, options?: StreamOptions): Readable {
  return storeFor(uri).getStream(uri, options);
}

/** The object as a web ReadableStream. */
export function getWebStream(uri: string, options?: StreamOptions): ReadableStream<Uint8Array> {
  return storeFor(uri).getWebStream(uri, options);
}

/** A streaming writer for `uri` (see ObjectStore.createWriter). */
export function createWriter(uri: string, options?: WriterOptions): ObjectWriter {
  return storeFor(uri).createWriter(uri, options);
}

/** Writes a whole object atomically (never half-visible). Strings are written as UTF-8. */
export function put(uri: string, data: PutData, options?: PutOptions): Promise<void> {
  return withStore('put', uri, (store) => store.put(uri, data, options));
}

/** Full URIs below `prefixUri`, sorted. */
export function list(prefixUri: string, options?: ListOptions): Promise<string[]> {
  return withStore('list', prefixUri, (store) => store.list(prefixUri, options));
}

/** Streams the URIs below `prefixUri` without holding the listing in memory. */
export function listStream(prefixUri: string, options?: ListOptions): AsyncIterable<string> {
  return storeFor(prefixUri).listStream(prefixUri, options);
}

/**
 * Streams the entries below `prefixUri` with each object's size, modification time and etag,
 * taken from the listing pages (no request per object); prefixes have `isPrefix: true`.
 */
export function listDetailed(prefixUri: string, options?: ListOptions): AsyncIterable<ListedEntry> {
  return storeFor(prefixUri).listDetailed(prefixUri, options);
}

/** Size, modification time and (where the backend has them) etag and content type. */
export function stat(uri: string, options?: OperationOptions): Promise<ObjectStat> {
  return withStore('stat', uri, (store) => store.stat(uri, options));
}

/** Whether an object exists at `uri`. */
export function exists(uri: string, options?: OperationOptions): Promise<boolean> {
  return withStore('exists', uri, (store) => store.exists(uri, options));
}

/** Deletes one object (`ERR_NOT_FOUND` when there is none). Exported as `delete`. */
export function deleteObject(uri: string, options?: OperationOptions): Promise<void> {
  return withStore('delete', uri, (store) => store.delete(uri, options));
}

/**
 * Deletes every object below `prefixUri` (matching `pattern`); resolves to the number deleted. A
 * local prefix that reaches a protected path is `ERR_PROTECTED_PATH` unless `allowProtectedPaths`.
 */
export function deletePrefix(prefixUri: string, options?: DeletePrefixOptions): Promise<number> {
  return withStore('deletePrefix', prefixUri, (store) => store.deletePrefix(prefixUri, options));
}

/** Creates a bucket (container, directory); succeeds if it exists. */
export function createBucket(uri: string, options?: OperationOptions): Promise<void> {
  return withStore('createBucket', uri, (store) => store.createBucket(uri, options));
}

/** Deletes a bucket; `ERR_BUCKET_NOT_EMPTY` unless it is empty or `{ force: true }`. */
export function deleteBucket(uri: string, options?: DeleteBucketOptions): Promise<void> {
  return withStore('deleteBucket', uri, (store) => store.deleteBucket(uri, options));
}

/** Buckets (containers; directories for local schemes) under `schemeUri`, e.g. `s3://`. */
export function listBuckets(schemeUri: string, options?: OperationOptions): Promise<string[]> {
  return withStore('listBuckets', schemeUri, (store) => store.listBuckets(schemeUri, options));
}

/** Options of `copy`. */
export interface CopyOptions extends OperationOptions {
  /** Copy every object below `srcUri` (a prefix) to the same relative keys below `dstUri`. */
  recursive?: boolean;
  /** Objects copied at once in recursive mode (default 8). */
  concurrency?: number;
}

const COPY_KEYS = optionKeys<CopyOptions>()({ signal: true, recursive: true, concurrency: true });

/**
 * Copies one object, or with `{ recursive: true }` every object below a prefix. Within one scheme
 * the backend copies (server-side, or the kernel for local files); across schemes the bytes are
 * streamed through this process with bounded memory. A recursive copy reports every failure.
 * Onto another name of the same object it does nothing; a recursive copy into a destination its
 * own source prefix reaches is refused (`ERR_INVALID_ARG_VALUE`).
 */
export function copy(srcUri: string, dstUri: string, options?: CopyOptions): Promise<void> {
  return runOperation('copy', srcUri, options, COPY_KEYS, async (scope, opts) => {
    const recursive = optionalBoolean(opts.recursive, 'options.recursive', false);
    const concurrency = optionalPositiveInteger(opts.concurrency, 'options.concurrency', 8);
    const source = storeFor(srcUri);
    const destination = storeFor(dstUri);
    if (recursive) return copyPrefix(scope, source, srcUri, dstUri, concurrency);
    if (sameScheme(srcUri, dstUri)) return source.copy(srcUri, dstUri, { signal: scope.signal });
    // file:// and direct:// of one file: it already holds the bytes.
    if (await sameLocalFile(srcUri, dstUri)) return;
    // Streamed: memory stays at a few chunks whatever the object's size.
    const writer = destination.createWriter(dstUri, { signal: scope.signal });
    try {
      await pipeline(source.getStream(srcUri, { signal: scope.signal }), writer.toWritable());
    } catch (error) {
      await writer.abort(error);
      throw relabel(error, 'copy', `${srcUri} -> ${dstUri}`);
    }
  });
}

async function copyPrefix(
  scope: OperationScope,
  source: ObjectStore,
  srcPrefix: string,
  dstPrefix: string,
  concurrency: number,
): Promise<void> {
  // Keys keep their path relative to the prefix (to its parent when it has no trailing '/'); a
  // destination the source prefix itself reaches is refused (it would copy into itself).
  const { sourceBase, destinationBase } = await recursiveCopyPlan(srcPrefix, dstPrefix);
  // Folder markers (empty objects whose key ends with '/') are directories, not objects: skipped.
  const uris = await objectsToTransfer(source.listDetailed(srcPrefix, { recursive: true, signal: scope.signal }));
  // A local destination is a root: nothing is written outside it, through `..` or a symlink.
  const destination = await openDestination(destinationBase, 'copy');
  try {
    await runBatch(
      scope,
      uris,
      (uri) => uri,
      concurrency,
      async (uri) => {
        if (uri.endsWith('/')) throw keyNamesDirectory(uri, 'copy');
        await destination.write(uri.slice(sourceBase.length), uri, (target) =>
          copy(uri, target.uri, { signal: scope.signal }),
        );
      },
    );
  } finally {
    await destination.close();
  }
}

/**
 * Moves one object: atomic within one local filesystem. Across schemes it is copy + delete, which
 * `{ requireAtomic: true }` refuses with `ERR_CROSS_DEVICE`. Two names of the same object
 * (`file://` and `direct://` of one file, …) leave it where it is.
 */
export function rename(srcUri: string, dstUri: string, options?: RenameOptions): Promise<void> {
  return withStore('rename', srcUri, (source) => {
    if (sameScheme(srcUri, dstUri)) return source.rename(srcUri, dstUri, options);
    return runOperation('rename', srcUri, options, RENAME_KEYS, async (scope, opts) => {
      // file:// and direct:// of one file: nothing to move (copy + delete would delete it).
      if (await sameLocalFile(srcUri, dstUri)) return;
      if (optionalBoolean(opts.requireAtomic, 'options.requireAtomic', false)) {
        throw new S3dlioError(
          'ERR_CROSS_DEVICE',
          `rename ${srcUri} -> ${dstUri}: a rename across schemes cannot be atomic`,
          {
            uri: srcUri,
            operation: 'rename',
          },
        );
      }
      await copy(srcUri, dstUri, { signal: scope.signal });
      await source.delete(srcUri, { signal: scope.signal });
    });
  });
}

/** Reads many objects (any mix of schemes); results in input order. */
export function getMany(uris: readonly string[], options?: BatchOptions): Promise<Uint8Array[]> {
  return inGroups(
    'getMany',
    uris,
    options,
    BATCH_KEYS,
    (uri) => uri,
    (store, group, groupOptions) => store.getMany(group, groupOptions),
  );
}

/** Writes many objects (any mix of schemes); `overwrite: false` creates only. */
export async function putMany(items: readonly PutItem[], options?: PutManyOptions): Promise<void> {
  await inGroups(
    'putMany',
    items,
    options,
    PUT_MANY_KEYS,
    (item) => item?.uri,
    async (store, group, groupOptions) => {
      await store.putMany(group, groupOptions);
      return group.map(() => undefined);
    },
  );
}

/** Deletes many objects (any mix of schemes); resolves to the number deleted. */
export async function deleteMany(uris: readonly string[], options?: BatchOptions): Promise<number> {
  const done = await inGroups(
    'deleteMany',
    uris,
    options,
    BATCH_KEYS,
    (uri) => uri,
    async (store, group, groupOptions) => {
      await store.deleteMany(group, groupOptions);
      return group.map(() => undefined);
    },
  );
  return done.length;
}

function sameScheme(a: string, b: string): boolean {
  try {
    return parseUri(a).scheme === parseUri(b).scheme;
  } catch {
    return false; // the store call reports the malformed URI with its proper error
  }
}

/**
 * Splits a batch by scheme, runs each group on its store, and puts results back in input order.
 * Failures of all groups are merged into one BatchError. The options are checked before anything
 * else, an empty batch included.
 */
function inGroups<I, R, O extends BatchOptions>(
  operation: string,
  items: readonly I[],
  options: O | undefined,
  keys: OptionKeys<O>,
  uriOf: (item: I) => unknown,
  run: (store: ObjectStore, group: I[], options: O) => Promise<R[]>,
): Promise<R[]> {
  return runOperation(operation, batchLabel(items), options, keys, async (scope, opts) => {
    const list = expectArray(items, operation === 'putMany' ? 'items' : 'uris') as I[];
    optionalPositiveInteger(opts.concurrency, 'options.concurrency', 1);
    // Every group gets the call's options (each store checks them), with the call's signal.
    const groupOptions = { ...opts, signal: scope.signal } as O;
    const groups = new Map<ObjectStore, { items: I[]; indexes: number[] }>();
    list.forEach((item, index) => {
      const store = storeFor(uriOf(item) as string);
      const group = groups.get(store) ?? { items: [], indexes: [] };
      group.items.push(item);
      group.indexes.push(index);
      groups.set(store, group);
    });
    if (groups.size <= 1) {
      const [store] = groups.keys();
      return store ? run(store, list, groupOptions) : [];
    }
    const results = new Array<R>(list.length);
    const settled = await Promise.allSettled(
      [...groups].map(async ([store, group]) => {
        const values = await run(store, group.items, groupOptions);
        group.indexes.forEach((index, position) => (results[index] = values[position]));
      }),
    );
    const failures = settled.flatMap((outcome) => (outcome.status === 'rejected' ? [outcome.reason as unknown] : []));
    if (failures.length === 0) return results;
    const batchFailures = failures.filter((failure): failure is BatchError => failure instanceof BatchError);
    if (batchFailures.length !== failures.length) throw failures.find((failure) => !(failure instanceof BatchError));
    const errors = batchFailures.flatMap((failure) => failure.errors);
    throw new BatchError(operation, errors, list.length - errors.length);
  });
}

/**
 * The requests of every store of the library alive in the process, in the shape of
 * `store.stats()` (`scheme` is `*`): counts and bytes summed, every endpoint listed, ops and
 * error codes summed, and the latency of all requests by op merged. A store the program dropped
 * and the garbage collector took is no longer counted.
 */
export function stats(): StoreStats {
  const stores = liveStores();
  const each = stores.map((store) => store.stats());
  const ops = OpCounters.total(stores.map((store) => store.opCounters));
  const sum = (field: 'requests' | 'retries' | 'errors' | 'bytesIn' | 'bytesOut' | 'inFlight'): number =>
    each.reduce((total, one) => total + one[field], 0);
  return {
    scheme: '*',
    requests: sum('requests'),
    retries: sum('retries'),
    errors: sum('errors'),
    bytesIn: sum('bytesIn'),
    bytesOut: sum('bytesOut'),
    inFlight: sum('inFlight'),
    latencyMs: ops.latency.snapshot(),
    endpoints: each.flatMap((one) => one.endpoints),
    ops: ops.ops,
    errorsByCode: ops.errorsByCode,
  };
}
