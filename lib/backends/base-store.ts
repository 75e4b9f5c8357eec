/**
 * The base of every store: the whole ObjectStore API, built once over a few primitives a backend
 * implements (read a range into a destination, write, open a multipart upload, list a page, head,
 * delete, copy, and the bucket operations). Argument and option checks, the RangeEngine, streams,
 * `getInto`, batches, `rename`, `deletePrefix` and listing live here, so every backend behaves
 * alike. A backend overrides a provided method only for a faster path of its own.
 *
 * Every public method runs in `runOperation` (one place where an operation starts and ends); every
 * primitive is called with that operation's scope.
 */
import type { Readable } from 'stream';
import type { ReadableStream } from 'stream/web';

import { verifyStoredChecksum } from '../checksum';
import { CallSite, S3dlioError, toS3dlioError } from '../errors';
import {
  DEFAULT_RANGE_THRESHOLD,
  type RangeOptions,
  type RangeSettings,
  rangeOptionsFrom,
  readInRanges,
} from '../engine/range-engine';
import { intoWindow, placeInto, rangeStream, rangeWebStream, targetTooSmall } from '../engine/streams';
import { PartWriter, WRITER_KEYS, writerUri } from '../engine/writer';
import {
  type DeletePrefixSettings,
  batchLabel,
  deleteInBatches,
  deletePrefixSettings,
  runBatch,
} from '../internal/batch';
import { bufferDetached, isDetached } from '../internal/memory';
import { expectKnownOptions } from '../internal/option-keys';
import { registerLiveStore } from './live-stores';
import { OpCounters } from './op-counters';
import { RequestCounters } from './request-counters';
import {
  BATCH_KEYS,
  type BatchOptions,
  type BodyPlacement,
  type ByteRange,
  DELETE_BUCKET_KEYS,
  DELETE_PREFIX_KEYS,
  type DeleteBucketOptions,
  type DeletePrefixOptions,
  GET_KEYS,
  GET_RANGE_KEYS,
  type GetOptions,
  type GetRangeOptions,
  LIST_KEYS,
  type ListOptions,
  type ListedEntry,
  OPERATION_KEYS,
  type ObjectStat,
  type ObjectStore,
  type ObjectWriter,
  type OperationOptions,
  PUT_KEYS,
  PUT_MANY_KEYS,
  type PartSink,
  type PutData,
  type PutItem,
  type PutManyOptions,
  type PutOptions,
  RENAME_KEYS,
  type RenameOptions,
  type ResponseHeaders,
  type StoredChecksum,
  type StreamOptions,
  type WriterOptions,
  putSettings,
} from '../object-store';
import { OperationScope, runOperation } from '../operation';
import { activeOpLog, isUnlogged } from '../oplog/active';
import type { OpLogOp } from '../oplog/format';
import type { OpItem, OpLogRecorder, OpPlace } from '../oplog/recorder';
import type { StoreStats } from '../stats';
import { type Scheme, parseUri } from '../uri';
import {
  expectArray,
  expectNonNegativeInteger,
  expectString,
  invalidValue,
  optionalBoolean,
  optionalMatcher,
  optionalPositiveInteger,
  optionalSignal,
  toBytes,
} from '../validate';

/** Batch concurrency when the caller gives none. */
export const DEFAULT_CONCURRENCY = 16;

/** Objects deleted per batch of a `deletePrefix` (S3 DeleteObjects takes 1,000). */
const DELETE_BATCH = 1000;

/**
 * What a URI is about to be used for, so a backend can refuse it early: `create` names an object
 * to write (never a key ending in `/`), `object` one that exists, `read` one to read, `prefix` a
 * listing prefix, `bucket` a bucket or directory.
 */
export type RefKind = 'create' | 'object' | 'read' | 'prefix' | 'bucket';

/**
 * What one request does, in the op-log's names (warp's, plus MOVE for a local rename(2)): bucket
 * operations are PUT (create), DELETE and LIST.
 */
export type IoOp = OpLogOp;

/** One listed object (or, in a non-recursive listing, one "directory" ending with `/`). */
export interface ListEntry<R> {
  uri: string;
  ref: R;
  /** A common prefix of a non-recursive listing, not an object. */
  prefix?: boolean;
  /**
   * The object's metadata as the listing gave it, with the values `head` reports. Required of
   * every object entry when `listPages` is asked for `details`.
   */
  meta?: Omit<ObjectStat, 'uri'>;
}

/** How `put` and `putMany` write one object. */
export interface WriteSettings {
  multipartThreshold?: number;
  partSize?: number;
  concurrency?: number;
  /** false: create only (ERR_ALREADY_EXISTS when the object exists); see `PutOptions.overwrite`. */
  overwrite: boolean;
  /** Part of a batch: the batch already writes objects concurrently (one part in flight each). */
  inBatch: boolean;
  /** The argument the bytes came from, for errors (`data`, `items[3].data`). */
  name: string;
}

/** Options `rename` passes to `move`. */
export interface MoveSettings {
  srcUri: string;
  dstUri: string;
  requireAtomic: boolean;
}

/**
 * The ObjectStore API over a backend's primitives. `R` is the backend's parsed form of a URI (a
 * path, a bucket and key, …), made by `refOf` once per call.
 */
export abstract class BaseStore<R> implements ObjectStore {
  abstract readonly scheme: Scheme;

  /**
   * @param rangeDefaults the store's RangeEngine settings (a call's options come first)
   * @param defaultRangeThreshold the threshold when neither gives one (0: the engine is off)
   */
  protected constructor(
    protected readonly rangeDefaults: RangeSettings,
    protected readonly defaultRangeThreshold: number,
  ) {
    // Checked now, not at the first get that uses them.
    rangeOptionsFrom(rangeDefaults, {}, defaultRangeThreshold);
    registerLiveStore(this);
  }

  // ---- the primitives a backend implements ----

  /** Parses and checks a URI of this store for `kind` of use; `name` is the argument's name. */
  protected abstract refOf(uri: unknown, name: string, kind: RefKind): R;

  /** The URI of a ref (a listing's entries and its prefix are compared through it). */
  protected abstract uriOf(ref: R): string;

  /**
   * Reads `range` of the object (`{ start: 0 }`: all of it, in one request where that matters).
   * When a `placement` is given, it is told the length and object size once they are known and
   * may return the exact-length memory the bytes go to; the result is then that memory.
   */
  protected abstract readRange(
    ref: R,
    uri: string,
    range: ByteRange,
    scope: OperationScope,
    placement?: BodyPlacement,
  ): Promise<Uint8Array>;

  /**
   * Writes a whole object atomically (complete or absent), passing each request through `io`: one
   * PUT, or the parts of a multipart upload (through `writerFor`).
   */
  protected abstract writeObject(
    ref: R,
    uri: string,
    bytes: Uint8Array,
    scope: OperationScope,
    settings: WriteSettings,
  ): Promise<void>;

  /** The backend side of a streaming writer of `ref`. */
  protected abstract openUpload(ref: R, uri: string, options: WriterOptions): PartSink;

  /**
   * The entries below a prefix, page by page; directories end with `/` (and are marked `prefix`)
   * unless `recursive`. Each page's request passes through `io` as one LIST. With `details`,
   * every object entry carries its `meta` (cloud listings always have it; a filesystem stats).
   */
  protected abstract listPages(
    ref: R,
    uri: string,
    recursive: boolean,
    scope: OperationScope,
    details: boolean,
  ): AsyncIterable<Array<ListEntry<R>>>;

  /** Metadata of one object; ERR_NOT_FOUND when there is none. */
  protected abstract head(ref: R, uri: string, scope: OperationScope): Promise<Omit<ObjectStat, 'uri'>>;

  /** Deletes one object; ERR_NOT_FOUND when there is none. */
  protected abstract remove(ref: R, uri: string, scope: OperationScope): Promise<void>;

  /** Copies one object within the store. */
  protected abstract copyObject(source: R, destination: R, uri: string, scope: OperationScope): Promise<void>;

  /**
   * Whether two refs name one object (two spellings, a link and its target). When they do, the
   * source must exist: resolve true only after finding it.
   */
  protected abstract sameObject(source: R, destination: R, uri: string, scope: OperationScope): Promise<boolean>;

  /** Creates a bucket; resolves when it already exists. */
  protected abstract makeBucket(ref: R, uri: string, scope: OperationScope): Promise<void>;

  /**
   * Deletes a bucket (and, with `force`, what it holds), passing each request through `io`: the
   * listing and deletes of what it holds (`deleteBelow` does), then the bucket's DELETE.
   */
  protected abstract removeBucket(
    ref: R,
    uri: string,
    scope: OperationScope,
    settings: { force: boolean; allowProtectedPaths: boolean },
  ): Promise<void>;

  /** The URIs of the buckets under `schemeUri`, each ending with `/`. */
  protected abstract bucketUris(schemeUri: string, scope: OperationScope): Promise<string[]>;

  /** The whole-object checksum the backend stores, for `verify`. Absent: it keeps none. */
  protected storedChecksum?(ref: R, uri: string, scope: OperationScope): Promise<StoredChecksum | undefined>;

  // ---- reads ----

  get(uri: string, options?: GetOptions): Promise<Uint8Array> {
    return runOperation('get', uri, options, GET_KEYS, async (scope, opts) => {
      const ref = this.refOf(uri, 'uri', 'read');
      const verify = this.verifies(opts);
      const ranges = this.rangeOptions(opts);
      let stored: StoredChecksum | undefined;
      // With verify the engine is used even when off: its first request reads the stored checksum.
      const plan: RangeOptions = verify
        ? { ...this.withEngine(ranges), wantsChecksum: true, onFirstHeaders: (h) => (stored = h.checksum) }
        : ranges;
      const bytes = await this.readWhole(scope, uri, ref, plan);
      if (verify) await this.verifyStored(scope, uri, ref, bytes, stored);
      return bytes;
    });
  }

  getRange(uri: string, offset: number, length?: number, options?: GetRangeOptions): Promise<Uint8Array> {
    return runOperation('getRange', uri, options, GET_RANGE_KEYS, async (scope, opts) => {
      const ref = this.refOf(uri, 'uri', 'read');
      const start = expectNonNegativeInteger(offset, 'offset');
      const count = length === undefined ? undefined : expectNonNegativeInteger(length, 'length');
      const ranges = this.rangeOptions(opts);
      // HTTP cannot ask for zero bytes: check existence and bounds with a HEAD instead.
      if (count === 0) return this.emptyRangeAt(scope, uri, ref, start);
      // A length running past what a number holds exactly ends at the last exact offset instead.
      const window = {
        start,
        end: count === undefined ? undefined : Math.min(start + count - 1, Number.MAX_SAFE_INTEGER),
      };
      try {
        return await this.readWindow(scope, uri, ref, window, ranges);
      } catch (error) {
        // Servers refuse a range that starts at the end (416); the API promises 0 bytes there.
        if (!isCode(error, 'ERR_RANGE_NOT_SATISFIABLE')) throw error;
        return this.emptyRangeAt(scope, uri, ref, start, error as S3dlioError);
      }
    });
  }

  getInto(uri: string, target: ArrayBufferView, offset?: number, options?: GetOptions): Promise<number> {
    return runOperation('getInto', uri, options, GET_KEYS, async (scope, opts) => {
      const ref = this.refOf(uri, 'uri', 'read');
      const window = intoWindow(target, offset);
      const verify = this.verifies(opts);
      const ranges = this.rangeOptions(opts);
      // The bytes (every range of them) are written straight into the target.
      const allocate = (size: number): Uint8Array => {
        if (isDetached(window.buffer)) throw bufferDetached('target');
        if (size > window.byteLength) throw targetTooSmall(uri, size, window.byteLength);
        return window.subarray(0, size);
      };
      const placeOf = (size: number): Uint8Array | undefined =>
        size <= window.byteLength ? window.subarray(0, size) : undefined;
      let stored: StoredChecksum | undefined;
      // As get: the call's settings (rangeThreshold 0 is one request), the engine on only for
      // verify, whose first request reads the stored checksum.
      const plan: RangeOptions = {
        ...(verify ? this.withEngine(ranges) : ranges),
        allocate,
        placeOf,
        wantsChecksum: verify,
        onFirstHeaders: (headers: ResponseHeaders) => (stored = headers.checksum),
      };
      let bytes: Uint8Array;
      try {
        bytes = await this.readWhole(scope, uri, ref, plan);
      } catch (error) {
        // Whatever a transfer of the target mid-body looked like to the reader, say what it was.
        if (isDetached(window.buffer)) throw bufferDetached('target');
        throw error;
      }
      if (verify) await this.verifyStored(scope, uri, ref, bytes, stored);
      return placeInto(window, bytes, uri);
    });
  }

  getStream(uri: string, options?: StreamOptions): Readable {
    return rangeStream(this, uri, options);
  }

  getWebStream(uri: string, options?: StreamOptions): ReadableStream<Uint8Array> {
    return rangeWebStream(this, uri, options);
  }

  getMany(uris: readonly string[], options?: BatchOptions): Promise<Uint8Array[]> {
    return runOperation('getMany', batchLabel(uris), options, BATCH_KEYS, async (scope, opts) => {
      const list = expectArray(uris, 'uris') as string[];
      const refs = list.map((uri, index) => this.refOf(uri, `uris[${index}]`, 'read'));
      const concurrency = batchConcurrency(opts);
      return runBatch(scope, list, identity, concurrency, (uri, index) =>
        this.io('GET', uri, () => this.readRange(refs[index], uri, { start: 0 }, scope)),
      );
    });
  }

  // ---- writes ----

  createWriter(requestedUri: string, options?: WriterOptions): ObjectWriter {
    const uri = writerUri(requestedUri, options);
    const ref = this.refOf(uri, 'uri', 'create');
    const opts = expectKnownOptions(options, WRITER_KEYS, 'createWriter');
    if (opts.contentType !== undefined) expectString(opts.contentType, 'options.contentType');
    optionalBoolean(opts.overwrite, 'options.overwrite', true);
    return this.writerFor(ref, uri, opts);
  }

  put(uri: string, data: PutData, options?: PutOptions): Promise<void> {
    return runOperation('put', uri, options, PUT_KEYS, (scope, opts) => {
      const ref = this.refOf(uri, 'uri', 'create');
      const bytes = toBytes(data);
      return this.writeObject(ref, uri, bytes, scope, { ...putSettings(opts), inBatch: false, name: 'data' });
    });
  }

  putMany(items: readonly PutItem[], options?: PutManyOptions): Promise<void> {
    return runOperation('putMany', batchLabel(items), options, PUT_MANY_KEYS, async (scope, opts) => {
      const list = expectArray(items, 'items') as PutItem[];
      const concurrency = batchConcurrency(opts);
      const overwrite = optionalBoolean(opts.overwrite, 'options.overwrite', true);
      const prepared = list.map((item, index) => {
        if (typeof item !== 'object' || item === null)
          throw invalidValue(`items[${index}]`, 'an object { uri, data }', item);
        const name = `items[${index}].data`;
        return {
          uri: item.uri,
          ref: this.refOf(item.uri, `items[${index}].uri`, 'create'),
          name,
          bytes: toBytes(item.data, name),
        };
      });
      await runBatch(scope, prepared, uriOfItem, concurrency, (item) =>
        this.writeObject(item.ref, item.uri, item.bytes, scope, { overwrite, inBatch: true, name: item.name }),
      );
    });
  }

  // ---- listing and metadata ----

  async list(prefixUri: string, options?: ListOptions): Promise<string[]> {
    const uris: string[] = [];
    for await (const uri of this.entries('list', prefixUri, options, false, uriOfItem)) uris.push(uri);
    return uris.sort();
  }

  listStream(prefixUri: string, options?: ListOptions): AsyncIterable<string> {
    return this.entries('listStream', prefixUri, options, false, uriOfItem);
  }

  listDetailed(prefixUri: string, options?: ListOptions): AsyncIterable<ListedEntry> {
    return this.entries('listDetailed', prefixUri, options, true, listedEntry);
  }

  /** Size, modification time and (where the service gives them) ETag and content type of one object. */
  stat(uri: string, options?: OperationOptions): Promise<ObjectStat> {
    return runOperation('stat', uri, options, OPERATION_KEYS, async (scope) => {
      const ref = this.refOf(uri, 'uri', 'object');
      const head = await this.io('STAT', uri, () => this.head(ref, uri, scope));
      return { uri, ...head };
    });
  }

  exists(uri: string, options?: OperationOptions): Promise<boolean> {
    return runOperation('exists', uri, options, OPERATION_KEYS, async (scope) => {
      const ref = this.refOf(uri, 'uri', 'object');
      try {
        await this.io('STAT', uri, () => this.head(ref, uri, scope));
        return true;
      } catch (error) {
        // Nothing there, or something that is not an object (a directory, a device).
        const code = (toS3dlioError(error, 'exists', uri) as Partial<S3dlioError>).code;
        if (code !== undefined && ABSENT.has(code)) return false;
        throw error;
      }
    });
  }

  // ---- deletion ----

  delete(uri: string, options?: OperationOptions): Promise<void> {
    return runOperation('delete', uri, options, OPERATION_KEYS, (scope) => {
      const ref = this.refOf(uri, 'uri', 'object');
      return this.io('DELETE', uri, () => this.remove(ref, uri, scope));
    });
  }

  deleteMany(uris: readonly string[], options?: BatchOptions): Promise<number> {
    return runOperation('deleteMany', batchLabel(uris), options, BATCH_KEYS, async (scope, opts) => {
      const list = expectArray(uris, 'uris') as string[];
      const refs = list.map((uri, index) => this.refOf(uri, `uris[${index}]`, 'object'));
      await this.removeMany(scope, refs, list, batchConcurrency(opts));
      return list.length;
    });
  }

  deletePrefix(prefixUri: string, options?: DeletePrefixOptions): Promise<number> {
    return runOperation('deletePrefix', prefixUri, options, DELETE_PREFIX_KEYS, async (scope, opts) => {
      const settings = deletePrefixSettings(opts, DEFAULT_CONCURRENCY);
      const ref = this.refOf(prefixUri, 'prefixUri', 'prefix');
      await this.beforeDeletePrefix?.(ref, prefixUri, settings);
      const deleted = await this.deleteBelow(scope, ref, prefixUri, settings);
      await this.afterDeletePrefix?.(ref);
      return deleted;
    });
  }

  // ---- copy and rename ----

  copy(srcUri: string, dstUri: string, options?: OperationOptions): Promise<void> {
    return runOperation('copy', srcUri, options, OPERATION_KEYS, async (scope) => {
      const source = this.refOf(srcUri, 'srcUri', 'object');
      const destination = this.refOf(dstUri, 'dstUri', 'create');
      // Two names of one object: it already holds the bytes (rewriting it would only risk them).
      if (await this.sameObject(source, destination, srcUri, scope)) return;
      await this.io('COPY', dstUri, () => this.copyObject(source, destination, srcUri, scope));
    });
  }

  rename(srcUri: string, dstUri: string, options?: RenameOptions): Promise<void> {
    return runOperation('rename', srcUri, options, RENAME_KEYS, async (scope, opts) => {
      const requireAtomic = optionalBoolean(opts.requireAtomic, 'options.requireAtomic', false);
      const source = this.refOf(srcUri, 'srcUri', 'object');
      const destination = this.refOf(dstUri, 'dstUri', 'create');
      // One object under two names: copy + delete would copy it onto itself, then delete it.
      if (await this.sameObject(source, destination, srcUri, scope)) return;
      await this.move(source, destination, scope, { srcUri, dstUri, requireAtomic });
    });
  }

  // ---- buckets ----

  createBucket(uri: string, options?: OperationOptions): Promise<void> {
    return runOperation('createBucket', uri, options, OPERATION_KEYS, (scope) => {
      const ref = this.refOf(uri, 'uri', 'bucket');
      return this.io('PUT', uri, () => this.makeBucket(ref, uri, scope));
    });
  }

  deleteBucket(uri: string, options?: DeleteBucketOptions): Promise<void> {
    return runOperation('deleteBucket', uri, options, DELETE_BUCKET_KEYS, (scope, opts) => {
      const force = optionalBoolean(opts.force, 'options.force', false);
      // Validated for every backend; only local directories have protected paths.
      const allowProtectedPaths = optionalBoolean(opts.allowProtectedPaths, 'options.allowProtectedPaths', false);
      return this.removeBucket(this.refOf(uri, 'uri', 'bucket'), uri, scope, { force, allowProtectedPaths });
    });
  }

  listBuckets(schemeUri: string, options?: OperationOptions): Promise<string[]> {
    return runOperation('listBuckets', schemeUri, options, OPERATION_KEYS, async (scope) =>
      (await this.io('LIST', schemeUri, () => this.bucketUris(schemeUri, scope))).sort(),
    );
  }

  /**
   * The object (or, for a prefix, the place) `uri` designates, the same for every spelling of it:
   * equal strings are one object. Copy and rename across spellings use it.
   */
  identityOf(uri: string): string {
    return this.uriOf(this.refOf(uri, 'uri', 'prefix'));
  }

  // ---- the seam every request passes ----

  /**
   * Every request of this store runs through here, once, the backends' fast paths included: the
   * one place an I/O operation starts and ends (`op` in the op-log's names, `uri` the object,
   * `objects` how many one request handles). It counts the request for `stats()` and, while an
   * op-log runs, records it.
   */
  protected io<T>(
    op: IoOp,
    uri: string,
    request: () => Promise<T>,
    objects = 1,
    bytesOut = 0,
    itemize?: (result: T) => OpItem[] | undefined,
  ): Promise<T> {
    const counters = this.ioCounters;
    const counted = counters ? () => counters.track(request, false, bytesOut) : request;
    const measured = (): Promise<T> => this.opCounters.track(op, counted, bytesOut);
    const log = activeOpLog();
    if (log === undefined || isUnlogged(this)) return measured();
    return this.logRequest(log, op, uri, measured, objects, bytesOut, itemize);
  }

  /**
   * Runs a request recorded in the running op-log. A store that learns more of a request while it
   * runs (a cloud store: the endpoint of its last attempt, its first byte) overrides this.
   */
  protected logRequest<T>(
    log: OpLogRecorder,
    op: IoOp,
    uri: string,
    run: () => Promise<T>,
    objects: number,
    bytesOut: number,
    itemize?: (result: T) => OpItem[] | undefined,
  ): Promise<T> {
    return log.track(op, () => this.opLogPlace(uri), run, objects, bytesOut, itemize);
  }

  /** Whether this store's requests are being recorded in an op-log now. */
  protected get logging(): boolean {
    return activeOpLog() !== undefined && !isUnlogged(this);
  }

  /**
   * The op-log's `endpoint` and `file` of a request on `uri`: the scheme and the URI's path by
   * default; local stores log the absolute path, cloud stores the endpoint URL and `bucket/key`.
   */
  protected opLogPlace(uri: string): OpPlace {
    const parsed = parseUri(uri, 'uri');
    const file = parsed.path ?? `${parsed.bucket}/${parsed.key}`;
    // A directory, bucket or prefix keeps its trailing `/`: it is not an object.
    return { endpoint: `${this.scheme}://`, file: uri.endsWith('/') && !file.endsWith('/') ? `${file}/` : file };
  }

  /**
   * The counters of `stats()` where each I/O is one request (local and in-memory stores); a store
   * that counts its requests itself (per endpoint, with retries) has none.
   */
  protected readonly ioCounters: RequestCounters | undefined = new RequestCounters();
  /** Memory for a get split into ranges (default: a new buffer); shared memory for I/O threads. */
  protected splitMemory: ((size: number) => Uint8Array) | undefined;

  /** Each request through `io`, by op, and the failures by code (`stats().ops`, `errorsByCode`). */
  readonly opCounters = new OpCounters();

  stats(): StoreStats {
    return {
      scheme: this.scheme,
      ...(this.ioCounters ?? new RequestCounters()).snapshot(),
      endpoints: [],
      ...this.opCounters.snapshot(),
    };
  }

  /**
   * A streaming writer of `ref` whose every request (parts, completion, abort, the checks of
   * `verify`) passes through `io`. `label` names the operation a writer serves (a large `put`);
   * `wholeBuffer`: it writes one buffer the caller holds until it closes (a large `put`).
   */
  protected writerFor(
    ref: R,
    uri: string,
    options: WriterOptions,
    { label, wholeBuffer = false }: { label?: string; wholeBuffer?: boolean } = {},
  ): ObjectWriter {
    const sink = this.openUpload(ref, uri, options);
    const seamed: PartSink = {
      maxParts: sink.maxParts,
      minPartSize: sink.minPartSize,
      maxPartSize: sink.maxPartSize,
      sequential: sink.sequential,
      partSizeMultiple: sink.partSizeMultiple,
      recyclesParts: sink.recyclesParts,
      // Parts borrowed from the caller's chunk make each write wait for its upload: only for a
      // whole buffer written at once (a large put), never for a stream of chunks.
      sendsCallerMemory: wholeBuffer && sink.sendsCallerMemory,
      allocate: sink.allocate?.bind(sink),
      // A part is a PUT of no whole object (n_objects 0 in the op-log); the completion is the
      // PUT that makes the object, so a replay can rebuild the upload.
      uploadPart: (index, offset, bytes, signal) =>
        this.io('PUT', uri, () => sink.uploadPart(index, offset, bytes, signal), 0, bytes.byteLength),
      complete: (total, parts, signal) => this.io('PUT', uri, () => sink.complete(total, parts, signal)),
      putWhole: (bytes, signal) => this.io('PUT', uri, () => sink.putWhole(bytes, signal), 1, bytes.byteLength),
      abort: () => this.io('DELETE', uri, () => sink.abort()),
      storedSize: (signal) => this.io('STAT', uri, () => sink.storedSize(signal)),
    };
    const { storedChecksum } = sink;
    if (storedChecksum) {
      seamed.storedChecksum = (signal, multipart) =>
        this.io('STAT', uri, () => storedChecksum.call(sink, signal, multipart));
    }
    return new PartWriter(uri, seamed, options, label);
  }

  // ---- provided steps a backend may override ----

  /**
   * Moves one object for `rename`: copy, then delete the source. Stores with an atomic move
   * override it; without one, `requireAtomic` is ERR_CROSS_DEVICE.
   */
  protected async move(source: R, destination: R, scope: OperationScope, settings: MoveSettings): Promise<void> {
    if (settings.requireAtomic) {
      throw new S3dlioError(
        'ERR_CROSS_DEVICE',
        `rename ${settings.srcUri}: object stores have no atomic rename (copy + delete)`,
        { uri: settings.srcUri, operation: 'rename' },
      );
    }
    await this.io('COPY', settings.dstUri, () => this.copyObject(source, destination, settings.srcUri, scope));
    await this.io('DELETE', settings.srcUri, () => this.remove(source, settings.srcUri, scope));
  }

  /** Deletes `refs` (`uris` are their URIs), `concurrency` at once, reporting each one removed. */
  protected async removeMany(
    scope: OperationScope,
    refs: R[],
    uris: string[],
    concurrency: number,
    removed: (index: number) => void = () => undefined,
  ): Promise<void> {
    await runBatch(scope, uris, identity, concurrency, async (uri, index) => {
      await this.io('DELETE', uri, () => this.remove(refs[index], uri, scope));
      removed(index);
    });
  }

  /** Runs before a `deletePrefix` deletes anything (local stores refuse protected paths here). */
  protected beforeDeletePrefix?(ref: R, uri: string, settings: DeletePrefixSettings): Promise<void>;

  /** Runs after a `deletePrefix` (local stores remove the directories it left empty). */
  protected afterDeletePrefix?(ref: R): Promise<void>;

  /**
   * Deletes every object below `ref` that `settings.matches`, streaming the listing into bounded
   * batches: memory stays flat for any prefix size.
   */
  protected deleteBelow(
    scope: OperationScope,
    ref: R,
    uri: string,
    settings: Pick<DeletePrefixSettings, 'concurrency'> & Partial<DeletePrefixSettings>,
  ): Promise<number> {
    const { matches } = settings;
    const base = this.uriOf(ref);
    const pages = this.listPages(ref, uri, true, scope, false);
    const entries = (async function* () {
      for await (const page of pages) {
        for (const entry of page) if (!matches || matches(entry.uri.slice(base.length))) yield entry;
      }
    })();
    return deleteInBatches(
      scope,
      entries,
      DELETE_BATCH,
      uriOfItem,
      (batch, removed) =>
        this.removeMany(
          scope,
          batch.map((entry) => entry.ref),
          batch.map(uriOfItem),
          settings.concurrency,
          (index) => removed(batch[index]),
        ),
      settings.onDeleted,
    );
  }

  // ---- internals ----

  /**
   * The listing behind `list`, `listStream` and `listDetailed`, checked now and named after the
   * caller's method; `details` asks the pages for each object's metadata, `output` shapes an entry.
   */
  private entries<T>(
    operation: string,
    prefixUri: string,
    options: ListOptions | undefined,
    details: boolean,
    output: (entry: ListEntry<R>) => T,
  ): AsyncIterable<T> {
    // Validate and capture the caller's stack now, not at the first iteration.
    const callSite = new CallSite();
    const opts = expectKnownOptions(options, LIST_KEYS, operation);
    const signal = optionalSignal(opts.signal);
    const recursive = optionalBoolean(opts.recursive, 'options.recursive', false);
    const matches = optionalMatcher(opts.pattern);
    const ref = this.refOf(prefixUri, 'prefixUri', 'prefix');
    const base = this.uriOf(ref);
    const pages = (scope: OperationScope) => this.listPages(ref, prefixUri, recursive, scope, details);
    return (async function* () {
      // One scope for the whole iteration: abort and per-request retries apply to every page.
      const scope = new OperationScope(operation, prefixUri, signal);
      try {
        scope.throwIfAborted();
        for await (const page of pages(scope)) {
          for (const entry of page) {
            scope.throwIfAborted();
            if (!matches || matches(entry.uri.slice(base.length))) yield output(entry);
          }
        }
      } catch (error) {
        throw callSite.attach(toS3dlioError(error, operation, prefixUri));
      } finally {
        scope.dispose();
      }
    })();
  }

  /** The RangeEngine settings of a call: its options, then the store's, then the default. */
  private rangeOptions(options: RangeSettings): RangeOptions {
    const ranges = rangeOptionsFrom(options, this.rangeDefaults, this.defaultRangeThreshold);
    return this.splitMemory ? { ...ranges, allocateSplit: this.splitMemory } : ranges;
  }

  /** `ranges` with the engine on (at the store's threshold, or 32 MiB where it is off by default). */
  private withEngine(ranges: RangeOptions): RangeOptions {
    return {
      ...ranges,
      rangeThreshold: ranges.rangeThreshold || this.defaultRangeThreshold || DEFAULT_RANGE_THRESHOLD,
    };
  }

  /** Whether `verify` asks for a check this store can make (it keeps stored checksums). */
  private verifies(options: Partial<GetOptions>): boolean {
    const verify = optionalBoolean(options.verify, 'options.verify', false);
    return verify && this.storedChecksum !== undefined;
  }

  /** The whole object through `plan`; an empty object, which has no byte 0 to range, read plainly. */
  private async readWhole(scope: OperationScope, uri: string, ref: R, plan: RangeOptions): Promise<Uint8Array> {
    try {
      return await this.readWindow(scope, uri, ref, { start: 0 }, plan);
    } catch (error) {
      // S3 answers a ranged GET of an empty object with 416: ask for all of it.
      if (plan.rangeThreshold === 0 || !isCode(error, 'ERR_RANGE_NOT_SATISFIABLE')) throw error;
      return this.io('GET', uri, () => this.readRange(ref, uri, { start: 0 }, scope));
    }
  }

  /**
   * Reads `window`: through the RangeEngine (concurrent ranges into one buffer) when it is on,
   * else with one read (into `plan.allocate`'s memory when given).
   */
  private readWindow(
    scope: OperationScope,
    uri: string,
    ref: R,
    window: ByteRange,
    plan: RangeOptions,
  ): Promise<Uint8Array> {
    if (plan.rangeThreshold === 0) {
      const { allocate } = plan;
      const placement = allocate && { onHeaders: (headers: ResponseHeaders) => allocate(headers.length ?? 0) };
      return this.io('GET', uri, () => this.readRange(ref, uri, window, scope, placement));
    }
    const readRange = async (range: ByteRange, placement: BodyPlacement, signal: AbortSignal): Promise<Uint8Array> => {
      // Each range has its own retries and is cancelled with its siblings.
      const rangeScope = new OperationScope(scope.operation, uri, signal);
      try {
        return await this.io('GET', uri, () => this.readRange(ref, uri, range, rangeScope, placement));
      } finally {
        rangeScope.dispose();
      }
    };
    return readInRanges(readRange, window, plan, scope.signal, uri);
  }

  /** ERR_CHECKSUM_MISMATCH unless `bytes` match the checksum the store keeps (if it keeps one). */
  private async verifyStored(
    scope: OperationScope,
    uri: string,
    ref: R,
    bytes: Uint8Array,
    fromHeaders: StoredChecksum | undefined,
  ): Promise<void> {
    // Ranged answers may not carry the stored checksum (S3 sends it for whole objects only).
    const checksum = this.storedChecksum?.bind(this);
    const stored = fromHeaders ?? (checksum && (await this.io('STAT', uri, () => checksum(ref, uri, scope))));
    if (stored) verifyStoredChecksum(bytes, stored, uri);
  }

  /** Zero bytes at `offset`, after checking that the object exists and reaches that far. */
  private async emptyRangeAt(
    scope: OperationScope,
    uri: string,
    ref: R,
    offset: number,
    rangeError?: S3dlioError,
  ): Promise<Uint8Array> {
    const { size } = await this.io('STAT', uri, () => this.head(ref, uri, scope));
    if (offset <= size) return new Uint8Array(0);
    throw (
      rangeError ??
      new S3dlioError(
        'ERR_RANGE_NOT_SATISFIABLE',
        `getRange ${uri}: offset ${offset} is past the end of the object (size ${size})`,
        { uri, operation: 'getRange' },
      )
    );
  }
}

/** Codes of `head` that mean "no object here" to `exists`. */
const ABSENT = new Set(['ERR_NOT_FOUND', 'ERR_BUCKET_NOT_FOUND', 'ERR_IS_DIRECTORY', 'ERR_NOT_A_FILE']);

/** A batch's `concurrency` option, checked (default 16). */
export function batchConcurrency(options: Partial<BatchOptions>): number {
  return optionalPositiveInteger(options.concurrency, 'options.concurrency', DEFAULT_CONCURRENCY);
}

function isCode(error: unknown, code: string): boolean {
  return error instanceof S3dlioError && error.code === code;
}

function identity(uri: string): string {
  return uri;
}

function uriOfItem(item: { uri: string }): string {
  return item.uri;
}

/** An entry of `listDetailed`; an object entry without the metadata it was asked for is a backend bug. */
function listedEntry<R>(entry: ListEntry<R>): ListedEntry {
  if (entry.prefix === true) return { uri: entry.uri, isPrefix: true };
  if (entry.meta === undefined) {
    throw new S3dlioError('ERR_UNEXPECTED', `listDetailed ${entry.uri}: the listing page carried no metadata for it`, {
      uri: entry.uri,
      operation: 'listDetailed',
    });
  }
  return { uri: entry.uri, ...entry.meta, isPrefix: false };
}
