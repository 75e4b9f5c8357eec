/**
 * The contract between CloudStore and one cloud: a driver whose methods are single requests
 * (one attempt each; CloudStore adds retries, timeouts, ranges, batches and typed errors).
 */
import type { IoThreads } from './http/io-threads';
import type { CloudFailure } from './errors';
import type { BodyPlacement, ByteRange, PartSink, StoredChecksum } from '../../object-store';

/** One object (or a bucket, with an empty key) of a cloud store. */
export interface CloudRef {
  /** The URI up to and including the bucket and its `/` (e.g. `s3://bucket/`, `az://acct/cont/`). */
  base: string;
  bucket: string;
  key: string;
}

/** Metadata returned by a HEAD request. */
export interface ObjectHead {
  size: number;
  lastModified: Date;
  etag?: string;
  contentType?: string;
}

/** One page of a listing. */
export interface ListPage {
  keys: string[];
  /**
   * The metadata of each key, in the order of `keys`, as the page gives it, normalised to the
   * values `head` reports for the same object (every cloud's listing carries size, time and etag).
   */
  heads: ObjectHead[];
  /** Common prefixes (delimiter mode), each ending with the delimiter. */
  prefixes: string[];
  nextToken?: string;
}

/** How a write request stores its object. */
export interface WriteRequest {
  /** Content type stored with the object. */
  contentType?: string;
  /** Create only: the service refuses the write when the object exists (412, or 409 on Azure). */
  ifAbsent?: boolean;
}

/**
 * One multipart upload of a cloud (S3 multipart, Azure block list, GCS resumable): the upload steps
 * of the PartSink the writer drives, each one request. CloudStore adds the retries and the steps
 * every cloud does alike (a whole-object put, the stored size and checksum).
 */
export interface CloudUpload extends Pick<
  PartSink,
  'maxParts' | 'minPartSize' | 'maxPartSize' | 'sequential' | 'sendsCallerMemory' | 'uploadPart' | 'complete'
> {
  /** A multipart object's stored checksum is a checksum of part checksums (S3), not of the bytes. */
  readonly compositeChecksums?: boolean;
  /** Whether re-sending a part after a failure is safe (S3 part numbers, Azure block ids). */
  readonly partsIdempotent: boolean;
  /** Removes whatever was staged; resolves when there was nothing. Safe to repeat. */
  abort(signal?: AbortSignal): Promise<void>;
}

/** The single-request primitives of one cloud. Each call is one attempt; `signal` bounds it. */
export interface CloudDriver {
  readonly scheme: 's3' | 'az' | 'gs';
  /**
   * Parses and validates a URI of this cloud (bucket name rules, account, and the characters and
   * length any key or listing prefix of the service can have).
   */
  parse(uri: string, name: string): CloudRef;
  /**
   * `write` sends a body from the caller's memory and fails the request, before its last byte,
   * if the buffer was detached meanwhile (so a `put` needs no private copy). Uploads say the same
   * of their parts for themselves (CloudUpload.sendsCallerMemory).
   */
  readonly sendsCallerMemory?: boolean;
  /**
   * The I/O threads that move bodies (`ioThreads`), if any: buffers that reads fill in place, and
   * upload parts, are then shared memory, which a thread reads and writes without a copy.
   */
  readonly ioThreads?: IoThreads;
  /** Refuses an object key the service would store or read under another name (e.g. a trailing '.'). */
  checkObjectKey?(ref: CloudRef, uri: string): void;
  /**
   * The object `ref` designates, whatever its spelling (scheme alias, inline endpoint, https or
   * az:// form): two refs with the same identity are one object of the service.
   */
  identity(ref: CloudRef): string;
  /**
   * The endpoint a URI names inline, if the cloud has such URIs (`s3://host:port/bucket/key`):
   * its requests go there whatever endpoints the store has.
   */
  inlineEndpointOf?(uri: string): string | undefined;
  /** The URL of the service `ref` is on when no endpoint is named (the op-log's `endpoint`; no credentials). */
  serviceUrlOf(ref: CloudRef): string;
  /**
   * GET of the object or a range of it. `placement.onHeaders` is called once the response headers
   * are in (size, length, etag) and may say where the body goes.
   */
  read(
    ref: CloudRef,
    range: ByteRange | undefined,
    signal?: AbortSignal,
    placement?: BodyPlacement,
  ): Promise<Uint8Array>;
  write(ref: CloudRef, bytes: Uint8Array, signal?: AbortSignal, options?: WriteRequest): Promise<void>;
  head(ref: CloudRef, signal?: AbortSignal): Promise<ObjectHead>;
  listPage(
    ref: CloudRef,
    delimiter: string | undefined,
    token: string | undefined,
    signal?: AbortSignal,
  ): Promise<ListPage>;
  /** Deletes one object; rejects with a not-found failure when it does not exist. */
  remove(ref: CloudRef, signal?: AbortSignal): Promise<void>;
  /** Batch delete (S3 DeleteObjects); per-key error or undefined. Absent: one request per key. */
  removeBatch?(bucket: CloudRef, keys: string[], signal?: AbortSignal): Promise<Array<unknown | undefined>>;
  /** Largest batch `removeBatch` takes. */
  readonly removeBatchSize?: number;
  /** Server-side copy within this cloud. */
  copy(source: CloudRef, destination: CloudRef, signal?: AbortSignal): Promise<void>;
  /** Creates the bucket; resolves when it already exists and is ours. */
  createBucket(ref: CloudRef, signal?: AbortSignal): Promise<void>;
  deleteBucket(ref: CloudRef, signal?: AbortSignal): Promise<void>;
  /** Bucket names visible with these credentials. */
  listBuckets(ref: { base: string }, signal?: AbortSignal): Promise<string[]>;
  /** The whole-object checksum the service keeps, if any (for verify when a ranged read lacked it). */
  storedChecksum(ref: CloudRef, signal?: AbortSignal): Promise<StoredChecksum | undefined>;
  /** Starts (lazily, at the first part) a multipart upload of `ref`. */
  openUpload(ref: CloudRef, options: WriteRequest): CloudUpload;
  /** What an SDK or HTTP error means (network errors are classified before this is asked). */
  classify(error: unknown): CloudFailure;
}
