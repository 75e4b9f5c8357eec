/**
 * The one interface every backend implements, and the option types of its methods. Every method
 * takes full URIs of the store's scheme, so code written against it works on any backend.
 */
import type { Readable, Writable } from 'stream';
import type { ReadableStream } from 'stream/web';

import { optionKeys } from './internal/option-keys';
import type { Scheme } from './uri';
import type { StoreStats } from './stats';
import { optionalBoolean, optionalPositiveInteger } from './validate';

/** Options every async operation accepts. */
export interface OperationOptions {
  /** Aborts the operation: it rejects with `ERR_ABORTED` and leaves no partial object behind. */
  signal?: AbortSignal;
}

/** Options of `getRange`: how a large range is split (a range has no checksum of its own to verify). */
export interface GetRangeOptions extends OperationOptions {
  /**
   * Objects (or ranges) larger than this are fetched as concurrent ranged reads into one buffer.
   * Cloud backends: default 32 MiB, 0 turns the RangeEngine off. Local backends: off unless given
   * (their native read is already parallel).
   */
  rangeThreshold?: number;
  /** Bytes per range (default 8 MiB for objects of 256 MiB or more, 4 MiB below). */
  chunkSize?: number;
  /** Ranges in flight (default: scaled to the object, at most 32). */
  concurrency?: number;
}

/** Options of `get` and `getInto`. */
export interface GetOptions extends GetRangeOptions {
  /**
   * Check the bytes against the checksum the service stored for the object (GCS CRC32C, S3
   * CRC32C, Azure Content-MD5) and fail with ERR_CHECKSUM_MISMATCH if they differ. Objects without
   * a stored whole-object checksum (S3 multipart, local files) are returned unchecked.
   */
  verify?: boolean;
}

/** Options of `put`. */
export interface PutOptions extends OperationOptions {
  /** Cloud backends: larger objects go up as multipart uploads (default 64 MiB; S3 PUT ends at 5 GiB). */
  multipartThreshold?: number;
  /** Part size of those uploads (default 16 MiB). */
  partSize?: number;
  /** Parts in flight (default 4). */
  concurrency?: number;
  /**
   * `false`: create only. An object already at the URI is left as it is and the write fails with
   * `ERR_ALREADY_EXISTS`; of writers racing to create one object, exactly one succeeds (S3
   * `If-None-Match: *`, Azure `If-None-Match: *`, GCS `ifGenerationMatch=0`, a no-replace rename
   * locally). Checked when the object becomes visible. A conditional request whose outcome a
   * network failure left unknown is not sent again: the error says so. Default `true`.
   */
  overwrite?: boolean;
}

/** Options of `list` and `listStream`. */
export interface ListOptions extends OperationOptions {
  /**
   * `true`: every object below the prefix. `false` (default): only direct children; "directories"
   * (common prefixes) are returned as URIs ending with `/`.
   */
  recursive?: boolean;
  /** Keeps only entries whose path relative to the prefix matches (RegExp or regex source). */
  pattern?: RegExp | string;
}

/** Options of the batch operations. */
export interface BatchOptions extends OperationOptions {
  /** Items in flight at once (default 16). */
  concurrency?: number;
}

/** Options of `putMany`. */
export interface PutManyOptions extends BatchOptions {
  /**
   * `false`: create only, as `PutOptions.overwrite`. An item whose object exists is left as it is
   * and fails with `ERR_ALREADY_EXISTS` (listed in the `BatchError`); the other items are written.
   * Default `true`.
   */
  overwrite?: boolean;
}

/** Options of `rename`. */
export interface RenameOptions extends OperationOptions {
  /**
   * Fail with `ERR_CROSS_DEVICE` instead of copying and deleting when the rename cannot be atomic
   * (source and destination on different filesystems). Default false: copy + delete, with a warning.
   */
  requireAtomic?: boolean;
}

/** Options of `deletePrefix`. */
export interface DeletePrefixOptions extends BatchOptions {
  /** Deletes only objects whose path relative to the prefix matches (RegExp or regex source), as `list`. */
  pattern?: RegExp | string;
  /** Called with the URI of each deleted object (after each batch of deletes). */
  onDeleted?: (uri: string) => void;
  /**
   * Local stores: delete even when the prefix reaches a protected path (the filesystem root, a
   * system or top-level directory, the home or current directory, a mount point), which is
   * otherwise `ERR_PROTECTED_PATH`. Default false.
   */
  allowProtectedPaths?: boolean;
}

/** Options of `deleteBucket`. */
export interface DeleteBucketOptions extends OperationOptions {
  /** Delete the objects in the bucket too. Without it a non-empty bucket is `ERR_BUCKET_NOT_EMPTY`. */
  force?: boolean;
  /** Local stores: delete a protected directory too (see `DeletePrefixOptions`). Default false. */
  allowProtectedPaths?: boolean;
}

/** Metadata of one object. */
export interface ObjectStat {
  /** The object's URI. */
  uri: string;
  /** Size in bytes. */
  size: number;
  /** Last modification time. */
  lastModified: Date;
  /** Entity tag, where the backend has one. */
  etag?: string;
  /** Content type, where the backend stores one. */
  contentType?: string;
}

/** An object of `listDetailed`, with the metadata its listing page carried. */
export interface ListedObject extends ObjectStat {
  isPrefix: false;
}

/** A "directory" of a non-recursive `listDetailed` (a common prefix): its URI ends with `/`. */
export interface ListedPrefix {
  uri: string;
  isPrefix: true;
}

/** One entry of `listDetailed`: test `isPrefix` before reading `size`. */
export type ListedEntry = ListedObject | ListedPrefix;

/** Bytes accepted by `put`: strings are written as UTF-8. */
export type PutData = Uint8Array | ArrayBuffer | ArrayBufferView | string;

/** One item of `putMany`. */
export interface PutItem {
  uri: string;
  data: PutData;
}

/** An inclusive byte range; `end` omitted means to the end of the object. */
export interface ByteRange {
  start: number;
  end?: number;
}

/** What the response headers say, handed to a BodyPlacement before the body is read. */
export interface ResponseHeaders {
  /** Bytes in this response (Content-Length), when known. */
  length?: number;
  /** Size of the whole object (from Content-Range, or Content-Length of a full response). */
  totalSize?: number;
  /** Entity tag (or generation) of the object version that answered. */
  etag?: string;
  /** The stored checksum of the whole object, when the service sent one. */
  checksum?: StoredChecksum;
}

/** A whole-object checksum kept by the service (base64, as the services send it). */
export interface StoredChecksum {
  algorithm: 'crc32c' | 'md5';
  base64: string;
}

/**
 * Lets the caller choose where a body goes once the headers are in: the RangeEngine puts each
 * range straight into its place in the object's buffer, so no range is copied twice.
 */
export interface BodyPlacement {
  /** Returns the exact-length target for the body, or undefined for a buffer of its own. */
  onHeaders(headers: ResponseHeaders): Uint8Array | undefined;
  /**
   * Where `onHeaders` will put the body when it has the expected length, if that is known before
   * the request is sent (a range of a buffer already allocated). A hint for transports that
   * receive on another thread; `onHeaders` still decides.
   */
  into?: Uint8Array;
  /** Ask the service for the stored checksum (S3 sends it only when asked). */
  wantsChecksum?: boolean;
}

/** Options of `getStream`. */
export interface StreamOptions extends OperationOptions {
  /** Bytes per ranged read (default 8 MiB). Memory in use is about `chunkSize × (prefetch + 1)`. */
  chunkSize?: number;
  /** Ranges read ahead of the consumer (default 2). */
  prefetch?: number;
  /** First byte (default 0). */
  start?: number;
  /** Last byte, inclusive (default: the end of the object). */
  end?: number;
}

/** Options of `createWriter`. */
export interface WriterOptions {
  /** Bytes per part (default 16 MiB; S3 needs at least 5 MiB, GCS multiples of 256 KiB). */
  partSize?: number;
  /** Parts uploaded at once (default 4; GCS resumable uploads are sequential). */
  concurrency?: number;
  /** Content type stored with the object (cloud backends). */
  contentType?: string;
  /**
   * `false`: create only. An object already at the URI is left as it is and `close()` fails with
   * `ERR_ALREADY_EXISTS`; of writers racing to create one object, exactly one succeeds (S3
   * `If-None-Match: *`, Azure `If-None-Match: *`, GCS `ifGenerationMatch=0`, a no-replace rename
   * locally). Checked when the object becomes visible. A conditional request whose outcome a
   * network failure left unknown is not sent again: the error says so. Default `true`.
   */
  overwrite?: boolean;
  /**
   * After completion, check the stored size against the bytes written, and the stored CRC32C
   * against the one computed while writing where the backend keeps a whole-object CRC32C (GCS,
   * S3 single-request uploads). One HEAD.
   */
  verify?: boolean;
  /**
   * `zstd`: store the bytes zstd-compressed, one frame per part (a valid multi-frame .zst that
   * `zstd -d` reads); `.zst` is appended to the key unless it ends with it. The parts are
   * compressed on a thread of the library's, two at a time at most, so the event loop runs on.
   * Default `none`.
   */
  compression?: 'none' | 'zstd';
  /** zstd level, 1 (fast) to 19 (small); default 3. Checked even without `compression: 'zstd'`. */
  compressionLevel?: number;
  /** Compute the CRC32C of the stored bytes (compressed, when compressing) as they go: `WriteResult.crc32c`. */
  checksum?: boolean;
  /** Aborts the upload: `close()` rejects with ERR_ABORTED and nothing becomes visible. */
  signal?: AbortSignal;
}

/** What `close()` resolves to. */
export interface WriteResult {
  /** The object written (with `.zst` added when compressing). */
  uri: string;
  /** Bytes given to `write`. */
  bytes: number;
  /** Bytes stored (differs from `bytes` when compressed). */
  storedBytes: number;
  /** Parts uploaded (1 for an object written in one request). */
  parts: number;
  /** ETag (or generation) of the stored object, where the backend returns one. */
  etag?: string;
  /** With `checksum`: the CRC32C of the bytes stored, 8 lowercase hex digits. */
  crc32c?: string;
}

/** A streaming writer. Obtain one with `createWriter(uri, options)`. */
export interface ObjectWriter {
  /** Bytes accepted so far. */
  readonly bytesWritten: number;
  /**
   * Appends bytes (strings as UTF-8). Resolves once they are buffered; waits while `concurrency`
   * parts are in flight, so memory stays within `partSize × (concurrency + 1)`.
   */
  write(chunk: PutData): Promise<void>;
  /** Uploads what is left and makes the object visible. */
  close(): Promise<WriteResult>;
  /** Cancels the upload and removes whatever was staged; nothing becomes visible. */
  abort(reason?: unknown): Promise<void>;
  /** A Node Writable over this writer (for `pipeline`). */
  toWritable(): Writable;
}

/** A backend's side of a streaming upload. Parts may complete in any order. */
export interface PartSink {
  /** Largest number of parts the backend accepts (S3 10,000, Azure 50,000). */
  readonly maxParts: number;
  /** Smallest part the backend accepts, except the last one. */
  readonly minPartSize: number;
  /** Largest part the backend accepts. */
  readonly maxPartSize?: number;
  /** Parts must be sent one after another (GCS resumable). */
  readonly sequential?: boolean;
  /** partSize must be a multiple of this (O_DIRECT alignment for direct://). */
  readonly partSizeMultiple?: number;
  /** Memory for one part (aligned for direct://). */
  allocate?(size: number): Uint8Array;
  /**
   * The sink is done with a part's bytes once `uploadPart` settles, so the writer may reuse the
   * buffer for a later part (fresh memory faults in slowly). Not for sinks that keep a reference.
   */
  readonly recyclesParts?: boolean;
  /**
   * `uploadPart` sends the bytes it is given as they are, and fails before the part's last byte
   * if their buffer is detached meanwhile: whole parts of a written chunk then go without a copy,
   * and `write` resolves once they are uploaded.
   */
  readonly sendsCallerMemory?: boolean;
  /** Uploads part `index` (0-based) at byte `offset`. */
  uploadPart(index: number, offset: number, bytes: Uint8Array, signal?: AbortSignal): Promise<void>;
  /** Makes the object visible; `parts` is the number uploaded. */
  complete(totalBytes: number, parts: number, signal?: AbortSignal): Promise<{ etag?: string }>;
  /** Writes a small object in one request, when no part was needed. */
  putWhole(bytes: Uint8Array, signal: AbortSignal): Promise<{ etag?: string }>;
  /** Cancels the upload and removes whatever was staged. Must not throw for "nothing to do". */
  abort(): Promise<void>;
  /** The stored size, for `verify`. */
  storedSize(signal: AbortSignal): Promise<number>;
  /** The stored whole-object checksum, for `verify` (undefined: the backend keeps none). */
  storedChecksum?(signal: AbortSignal, multipart: boolean): Promise<StoredChecksum | undefined>;
}

/** A storage backend. Obtain one with `storeFor(uri, options)`. */
export interface ObjectStore {
  /** The scheme this store serves. */
  readonly scheme: Scheme;
  /** Whole object. The bytes are returned without a copy (memory owned by the addon or the SDK). */
  get(uri: string, options?: GetOptions): Promise<Uint8Array>;
  /**
   * `length` bytes from `offset` (to the end when omitted). A range that runs past the end is
   * clamped; an offset past the end is `ERR_RANGE_NOT_SATISFIABLE`; offset === size gives 0 bytes.
   */
  getRange(uri: string, offset: number, length?: number, options?: GetRangeOptions): Promise<Uint8Array>;
  /**
   * Reads the whole object into `target` from `offset` and resolves to the byte count. Cloud
   * backends write each range straight into the target; local ones copy once from the read.
   * An object larger than the room left is `ERR_TARGET_TOO_SMALL`.
   */
  getInto(uri: string, target: ArrayBufferView, offset?: number, options?: GetOptions): Promise<number>;
  /** The object as a Node Readable: sequential ranged reads, bounded memory, any size. */
  getStream(uri: string, options?: StreamOptions): Readable;
  /** The object as a web ReadableStream (same reads as getStream). */
  getWebStream(uri: string, options?: StreamOptions): ReadableStream<Uint8Array>;
  /**
   * A streaming writer: parts of `partSize` uploaded with `concurrency` in flight (S3 multipart,
   * Azure blocks, GCS resumable, a temporary file locally); nothing is visible before `close()`.
   */
  createWriter(uri: string, options?: WriterOptions): ObjectWriter;
  /** Writes the whole object atomically: it is either complete or absent, never half-written. */
  put(uri: string, data: PutData, options?: PutOptions): Promise<void>;
  /** Full URIs below `prefixUri`, sorted. */
  list(prefixUri: string, options?: ListOptions): Promise<string[]>;
  /** Like `list`, but streamed: never holds the whole listing in memory (order not guaranteed). */
  listStream(prefixUri: string, options?: ListOptions): AsyncIterable<string>;
  /**
   * Like `listStream`, with each object's size, modification time and etag (as `stat` reports
   * them) taken from the listing pages themselves: no request per object. Prefixes of a
   * non-recursive listing come as `{ uri, isPrefix: true }`.
   */
  listDetailed(prefixUri: string, options?: ListOptions): AsyncIterable<ListedEntry>;
  /** Size, modification time and (where the service gives them) ETag and content type of one object. */
  stat(uri: string, options?: OperationOptions): Promise<ObjectStat>;
  /** Whether an object exists at `uri` (a directory/prefix is not an object). */
  exists(uri: string, options?: OperationOptions): Promise<boolean>;
  /** Deletes one object; `ERR_NOT_FOUND` if there is none. */
  delete(uri: string, options?: OperationOptions): Promise<void>;
  /**
   * Deletes every object below `prefixUri` (matching `pattern`); resolves to how many were
   * deleted. Failures are reported together at the end as a `BatchError`. A local prefix that
   * reaches a protected path is `ERR_PROTECTED_PATH` (see `allowProtectedPaths`).
   */
  deletePrefix(prefixUri: string, options?: DeletePrefixOptions): Promise<number>;
  /** Deletes every URI; rejects with `BatchError` listing each failure. Resolves to the count. */
  deleteMany(uris: readonly string[], options?: BatchOptions): Promise<number>;
  /** Copies one object within this store; onto another name of the same object it does nothing. */
  copy(srcUri: string, dstUri: string, options?: OperationOptions): Promise<void>;
  /**
   * Moves one object within this store (atomic on one local filesystem). When both URIs name the
   * same object (a symlink and its target, `gcs://` and `gs://`, …) nothing moves and it resolves.
   */
  rename(srcUri: string, dstUri: string, options?: RenameOptions): Promise<void>;
  /** Creates the bucket (a directory for local stores); succeeds if it already exists. */
  createBucket(uri: string, options?: OperationOptions): Promise<void>;
  /** Deletes the bucket; `ERR_BUCKET_NOT_EMPTY` unless empty or `force`. */
  deleteBucket(uri: string, options?: DeleteBucketOptions): Promise<void>;
  /** URIs of the buckets (containers, directories) under `schemeUri`, each ending with `/`. */
  listBuckets(schemeUri: string, options?: OperationOptions): Promise<string[]>;
  /** Many whole objects, results in input order; rejects with `BatchError` listing each failure. */
  getMany(uris: readonly string[], options?: BatchOptions): Promise<Uint8Array[]>;
  /** Writes many objects; rejects with `BatchError` listing each failure. */
  putMany(items: readonly PutItem[], options?: PutManyOptions): Promise<void>;
  /**
   * What this store has sent to storage so far: requests (retries included), errors, bytes,
   * requests in flight, latency percentiles, and for a cloud store the same per endpoint with
   * its health. A snapshot: later requests do not change it.
   */
  stats(): StoreStats;
}

// The keys each operation accepts, checked against the interfaces above by tsc.

/** Keys of {@link OperationOptions}. */
export const OPERATION_KEYS = optionKeys<OperationOptions>()({ signal: true });
/** Keys of {@link GetRangeOptions}. */
export const GET_RANGE_KEYS = optionKeys<GetRangeOptions>()({
  signal: true,
  rangeThreshold: true,
  chunkSize: true,
  concurrency: true,
});
/** Keys of {@link GetOptions}. */
export const GET_KEYS = optionKeys<GetOptions>()({
  signal: true,
  rangeThreshold: true,
  chunkSize: true,
  concurrency: true,
  verify: true,
});
/** Keys of {@link PutOptions}. */
export const PUT_KEYS = optionKeys<PutOptions>()({
  signal: true,
  multipartThreshold: true,
  partSize: true,
  concurrency: true,
  overwrite: true,
});
/** Keys of {@link ListOptions}. */
export const LIST_KEYS = optionKeys<ListOptions>()({ signal: true, recursive: true, pattern: true });
/** Keys of {@link BatchOptions}. */
export const BATCH_KEYS = optionKeys<BatchOptions>()({ signal: true, concurrency: true });
/** Keys of {@link PutManyOptions}. */
export const PUT_MANY_KEYS = optionKeys<PutManyOptions>()({ signal: true, concurrency: true, overwrite: true });
/** Keys of {@link RenameOptions}. */
export const RENAME_KEYS = optionKeys<RenameOptions>()({ signal: true, requireAtomic: true });
/** Keys of {@link DeleteBucketOptions}. */
export const DELETE_BUCKET_KEYS = optionKeys<DeleteBucketOptions>()({
  signal: true,
  force: true,
  allowProtectedPaths: true,
});
/** Keys of {@link DeletePrefixOptions}. */
export const DELETE_PREFIX_KEYS = optionKeys<DeletePrefixOptions>()({
  signal: true,
  concurrency: true,
  pattern: true,
  onDeleted: true,
  allowProtectedPaths: true,
});

/**
 * The values of `put`'s options, checked on every backend (local stores have no multipart upload,
 * but code written against ObjectStore passes the same options everywhere and must learn of a bad
 * value on the first backend it runs on).
 */
export function putSettings(options: Partial<PutOptions>): Omit<PutOptions, 'signal'> & { overwrite: boolean } {
  return {
    overwrite: optionalBoolean(options.overwrite, 'options.overwrite', true),
    multipartThreshold:
      optionalPositiveInteger(options.multipartThreshold, 'options.multipartThreshold', 0) || undefined,
    partSize: optionalPositiveInteger(options.partSize, 'options.partSize', 0) || undefined,
    concurrency: optionalPositiveInteger(options.concurrency, 'options.concurrency', 0) || undefined,
  };
}
