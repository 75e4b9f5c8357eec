/**
 * What s3://, az:// and gs:// share: the object API (ranges, listing, batches, buckets) built on a
 * small driver per cloud whose methods are single requests. Every request goes through one place
 * that retries idempotent steps, times attempts out, and maps failures to typed errors.
 */
import { BatchError, CallSite, S3dlioError, abortError, toS3dlioError } from '../../errors';
import {
  type DeletePrefixSettings,
  batchLabel,
  deleteInBatches,
  deletePrefixSettings,
  runBatch,
} from '../../internal/batch';
import { DEFAULT_MULTIPART_THRESHOLD, PartWriter, WRITER_KEYS, writerUri } from '../../engine/writer';
import { intoWindow, placeInto, rangeStream, rangeWebStream, targetTooSmall } from '../../engine/streams';
import type { Readable } from 'stream';
import type { ReadableStream } from 'stream/web';
import { TruncatedBodyError } from './body';
import { verifyStoredChecksum } from '../../checksum';
import { bufferDetached, isDetached, privateCopy } from '../../internal/memory';
import {
  DEFAULT_RANGE_THRESHOLD,
  type RangeOptions,
  type RangeSettings,
  rangeOptionsFrom,
  readInRanges,
} from '../../engine/range-engine';
import { classifyNetworkError, cloudError, timeoutFailure, type CloudFailure } from './errors';
import { type RetryPolicy, withRetry } from './retry';
import {
  BATCH_KEYS,
  type BatchOptions,
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
  OPERATION_KEYS,
  type ObjectStat,
  type ObjectStore,
  type OperationOptions,
  PUT_KEYS,
  type PutData,
  type PutItem,
  type PutOptions,
  RENAME_KEYS,
  type RenameOptions,
  putSettings,
  type BodyPlacement,
  type ByteRange,
  type PartSink,
  type ResponseHeaders,
  type StoredChecksum,
  type ObjectWriter,
  type StreamOptions,
  type WriterOptions,
} from '../../object-store';
import { expectKnownOptions } from '../../internal/option-keys';
import { OperationScope, runOperation } from '../../operation';
import type { CloudDriver, CloudRef, ListPage } from './driver';
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
} from '../../validate';
import { DEFAULT_CONCURRENCY } from '../local/local-store';

/** The ObjectStore implementation shared by the cloud backends. */
export class CloudStore implements ObjectStore {
  readonly scheme: 's3' | 'az' | 'gs';

  constructor(
    protected readonly driver: CloudDriver,
    protected readonly retryPolicy: RetryPolicy,
    rangeDefaults: RangeSettings = {},
  ) {
    this.scheme = driver.scheme;
    // Copy the fields needed only: the options object may also hold credentials.
    const { rangeThreshold, chunkSize, concurrency } = rangeDefaults;
    this.rangeDefaults = { rangeThreshold, chunkSize, concurrency };
    // Checked now, not at the first get or put that uses them.
    rangeOptionsFrom(this.rangeDefaults, {}, DEFAULT_RANGE_THRESHOLD);
    const { multipartThreshold } = rangeDefaults as { multipartThreshold?: number };
    this.multipartThreshold = optionalPositiveInteger(multipartThreshold, 'options.multipartThreshold', 0) || undefined;
  }

  private readonly multipartThreshold: number | undefined;

  private readonly rangeDefaults: RangeSettings;

  // ---- reads ----

  get(uri: string, options?: GetOptions): Promise<Uint8Array> {
    return runOperation('get', uri, options, GET_KEYS, async (scope, opts) => {
      const ref = this.readRef(uri, 'uri');
      let stored: StoredChecksum | undefined;
      const verify = optionalBoolean(opts.verify, 'options.verify', false);
      const ranges = {
        ...rangeOptionsFrom(opts, this.rangeDefaults, DEFAULT_RANGE_THRESHOLD),
        wantsChecksum: verify,
        onFirstHeaders: (headers: ResponseHeaders) => (stored = headers.checksum),
      };
      try {
        // With verify the engine is used even when off: it is what reads the stored checksum.
        const bytes = await this.readWindow(
          scope,
          uri,
          ref,
          { start: 0 },
          verify && ranges.rangeThreshold === 0 ? { ...ranges, rangeThreshold: DEFAULT_RANGE_THRESHOLD } : ranges,
        );
        if (verify) await this.verifyStored(scope, uri, ref, bytes, stored);
        return bytes;
      } catch (error) {
        // An empty object has no byte 0: S3 answers a ranged GET with 416. Ask for all of it.
        if (
          ranges.rangeThreshold === 0 ||
          !(error instanceof S3dlioError) ||
          error.code !== 'ERR_RANGE_NOT_SATISFIABLE'
        )
          throw error;
        return this.request(scope, uri, true, (signal) => this.driver.read(ref, undefined, signal));
      }
    });
  }

  getRange(uri: string, offset: number, length?: number, options?: GetRangeOptions): Promise<Uint8Array> {
    return runOperation('getRange', uri, options, GET_RANGE_KEYS, async (scope, opts) => {
      const ref = this.readRef(uri, 'uri');
      const start = expectNonNegativeInteger(offset, 'offset');
      const count = length === undefined ? undefined : expectNonNegativeInteger(length, 'length');
      const ranges = rangeOptionsFrom(opts, this.rangeDefaults, DEFAULT_RANGE_THRESHOLD);
      // HTTP cannot ask for zero bytes: check existence and bounds with a HEAD instead.
      if (count === 0) return this.emptyRangeAt(scope, uri, ref, start);
      try {
        return await this.readWindow(
          scope,
          uri,
          ref,
          { start, end: count === undefined ? undefined : start + count - 1 },
          ranges,
        );
      } catch (error) {
        // Servers refuse a range that starts at the end (416); the API promises 0 bytes there.
        if (!(error instanceof S3dlioError) || error.code !== 'ERR_RANGE_NOT_SATISFIABLE') throw error;
        return this.emptyRangeAt(scope, uri, ref, start, error);
      }
    });
  }

  getInto(uri: string, target: ArrayBufferView, offset?: number, options?: GetOptions): Promise<number> {
    return runOperation('getInto', uri, options, GET_KEYS, async (scope, opts) => {
      const ref = this.readRef(uri, 'uri');
      const window = intoWindow(target, offset);
      const verify = optionalBoolean(opts.verify, 'options.verify', false);
      const ranges = rangeOptionsFrom(opts, this.rangeDefaults, DEFAULT_RANGE_THRESHOLD);
      // Every range (and an object below the threshold too) is written straight into the target.
      const allocate = (size: number): Uint8Array => {
        if (isDetached(window.buffer)) throw bufferDetached('target');
        if (size > window.byteLength) throw targetTooSmall(uri, size, window.byteLength);
        return window.subarray(0, size);
      };
      let stored: StoredChecksum | undefined;
      const plan = {
        ...ranges,
        rangeThreshold: ranges.rangeThreshold || DEFAULT_RANGE_THRESHOLD,
        allocate,
        wantsChecksum: verify,
        onFirstHeaders: (headers: ResponseHeaders) => (stored = headers.checksum),
      };
      let bytes: Uint8Array;
      try {
        bytes = await this.readWindow(scope, uri, ref, { start: 0 }, plan);
      } catch (error) {
        // Whatever a transfer of the target mid-body looked like to the reader, say what it was.
        if (isDetached(window.buffer)) throw bufferDetached('target');
        if (!(error instanceof S3dlioError) || error.code !== 'ERR_RANGE_NOT_SATISFIABLE') throw error;
        // An empty object (S3 answers a ranged GET of it with 416).
        bytes = await this.request(scope, uri, true, (signal) => this.driver.read(ref, undefined, signal));
      }
      if (verify) await this.verifyStored(scope, uri, ref, bytes, stored);
      return placeInto(window, bytes, uri);
    });
  }

  getStream(uri: string, options?: StreamOptions): Readable {
    return rangeStream(this, uri, options);
  }

  createWriter(requestedUri: string, options?: WriterOptions): ObjectWriter {
    const uri = writerUri(requestedUri, options);
    const ref = this.objectRef(uri, 'uri');
    const opts = expectKnownOptions(options, WRITER_KEYS, 'createWriter');
    if (opts.contentType !== undefined) expectString(opts.contentType, 'options.contentType');
    const upload = this.driver.openUpload(ref, { contentType: opts.contentType });
    // Each step runs with the store's retries; only steps that are safe to repeat are retried.
    const step = <T>(
      idempotent: boolean,
      signal: AbortSignal | undefined,
      run: (attempt?: AbortSignal) => Promise<T>,
    ): Promise<T> => {
      const scope = new OperationScope('write', uri, signal);
      return this.request(scope, uri, idempotent, run).finally(() => scope.dispose());
    };
    const sink: PartSink = {
      maxParts: upload.maxParts,
      minPartSize: upload.minPartSize,
      maxPartSize: upload.maxPartSize,
      sequential: upload.sequential,
      uploadPart: (index, _offset, bytes, signal) =>
        step(upload.partsIdempotent, signal, (attempt) => upload.uploadPart(index, bytes, attempt)),
      complete: (_total, parts, signal) => step(false, signal, (attempt) => upload.complete(parts, attempt)),
      putWhole: (bytes, signal) =>
        step(true, signal, (attempt) => this.driver.write(ref, bytes, attempt, opts.contentType)).then(() => ({})),
      // Retried like any idempotent step: parts left staged by one failed attempt are billed.
      // Not bound to the writer's signal, which has fired by the time the staged parts go.
      abort: () => step(true, undefined, (attempt) => upload.abort(attempt)),
      storedSize: (signal) => step(true, signal, (attempt) => this.driver.head(ref, attempt)).then((head) => head.size),
      storedChecksum: async (signal, multipart) =>
        multipart && upload.compositeChecksums
          ? undefined
          : step(true, signal, (attempt) => this.driver.storedChecksum(ref, attempt)),
    };
    return new PartWriter(uri, sink, opts);
  }

  getWebStream(uri: string, options?: StreamOptions): ReadableStream<Uint8Array> {
    return rangeWebStream(this, uri, options);
  }

  getMany(uris: readonly string[], options?: BatchOptions): Promise<Uint8Array[]> {
    return runOperation('getMany', batchLabel(uris), options, BATCH_KEYS, async (scope, opts) => {
      const list = expectArray(uris, 'uris') as string[];
      const refs = list.map((uri, index) => this.readRef(uri, `uris[${index}]`));
      const concurrency = optionalPositiveInteger(opts.concurrency, 'options.concurrency', DEFAULT_CONCURRENCY);
      return runBatch(scope, list, identity, concurrency, (uri, index) =>
        this.request(scope, uri, true, (signal) => this.driver.read(refs[index], undefined, signal)),
      );
    });
  }

  // ---- writes ----

  put(uri: string, data: PutData, options?: PutOptions): Promise<void> {
    return runOperation('put', uri, options, PUT_KEYS, async (scope, opts) => {
      const ref = this.objectRef(uri, 'uri');
      const bytes = toBytes(data);
      const settings = putSettings(opts);
      const threshold = settings.multipartThreshold ?? this.multipartThreshold ?? DEFAULT_MULTIPART_THRESHOLD;
      if (bytes.byteLength > threshold) {
        // Large objects go up in parts, concurrently, each retried on its own. Each part is a copy
        // in the writer's own buffers (memory: concurrency + 1 parts), because the SDK reads a body
        // over several event-loop turns and the caller's buffer could be transferred meanwhile.
        const writer = this.createWriter(uri, {
          partSize: settings.partSize,
          concurrency: settings.concurrency,
          signal: scope.signal,
        });
        await writer.write(bytes);
        await writer.close();
        return;
      }
      // A single PUT replaces the object whole: retrying it is safe. It sends a private copy, for
      // the same reason as the parts above.
      const body = privateCopy(bytes, 'data');
      await this.request(scope, uri, true, (signal) => this.driver.write(ref, body, signal));
    });
  }

  putMany(items: readonly PutItem[], options?: BatchOptions): Promise<void> {
    return runOperation('putMany', batchLabel(items), options, BATCH_KEYS, async (scope, opts) => {
      const list = expectArray(items, 'items') as PutItem[];
      const prepared = list.map((item, index) => {
        if (typeof item !== 'object' || item === null)
          throw invalidValue(`items[${index}]`, 'an object { uri, data }', item);
        return {
          ref: this.objectRef(item.uri, `items[${index}].uri`),
          bytes: toBytes(item.data, `items[${index}].data`),
        };
      });
      const concurrency = optionalPositiveInteger(opts.concurrency, 'options.concurrency', DEFAULT_CONCURRENCY);
      await runBatch(
        scope,
        list.map((item) => item.uri),
        identity,
        concurrency,
        (uri, index) => {
          // Copied when its turn comes (memory: `concurrency` items), for the reason put gives.
          const body = privateCopy(prepared[index].bytes, `items[${index}].data`);
          return this.request(scope, uri, true, (signal) => this.driver.write(prepared[index].ref, body, signal));
        },
      );
    });
  }

  // ---- listing and metadata ----

  async list(prefixUri: string, options?: ListOptions): Promise<string[]> {
    expectKnownOptions(options, LIST_KEYS, 'list'); // named `list` in the message, not listStream
    const uris: string[] = [];
    for await (const uri of this.listStream(prefixUri, options)) uris.push(uri);
    return uris.sort();
  }

  listStream(prefixUri: string, options?: ListOptions): AsyncIterable<string> {
    const callSite = new CallSite();
    const opts = expectKnownOptions(options, LIST_KEYS, 'listStream');
    const signal = optionalSignal(opts.signal);
    const recursive = optionalBoolean(opts.recursive, 'options.recursive', false);
    const matches = optionalMatcher(opts.pattern);
    const ref = this.driver.parse(prefixUri, 'prefixUri');
    const pages = (scope: OperationScope) => this.pages(scope, prefixUri, ref, recursive ? undefined : '/');
    const openScope = () => this.streamScope('listStream', prefixUri, signal);
    return (async function* () {
      // One scope for the whole iteration: abort and per-request retries apply to every page.
      const scope = openScope();
      try {
        for await (const page of pages(scope)) {
          for (const key of [...page.keys, ...page.prefixes]) {
            if (matches && !matches(key.slice(ref.key.length))) continue;
            yield `${ref.base}${key}`;
          }
        }
      } catch (error) {
        throw callSite.attach(toS3dlioError(error, 'listStream', prefixUri));
      } finally {
        scope.dispose();
      }
    })();
  }

  stat(uri: string, options?: OperationOptions): Promise<ObjectStat> {
    return runOperation('stat', uri, options, OPERATION_KEYS, async (scope) => {
      const ref = this.objectRef(uri, 'uri');
      const head = await this.request(scope, uri, true, (signal) => this.driver.head(ref, signal));
      return { uri, ...head };
    });
  }

  exists(uri: string, options?: OperationOptions): Promise<boolean> {
    return runOperation('exists', uri, options, OPERATION_KEYS, async (scope) => {
      const ref = this.objectRef(uri, 'uri');
      try {
        await this.request(scope, uri, true, (signal) => this.driver.head(ref, signal));
        return true;
      } catch (error) {
        if (error instanceof S3dlioError && (error.code === 'ERR_NOT_FOUND' || error.code === 'ERR_BUCKET_NOT_FOUND'))
          return false;
        throw error;
      }
    });
  }

  // ---- deletion ----

  delete(uri: string, options?: OperationOptions): Promise<void> {
    return runOperation('delete', uri, options, OPERATION_KEYS, (scope) => {
      const ref = this.objectRef(uri, 'uri');
      return this.request(scope, uri, true, (signal) => this.driver.remove(ref, signal));
    });
  }

  deleteMany(uris: readonly string[], options?: BatchOptions): Promise<number> {
    return runOperation('deleteMany', batchLabel(uris), options, BATCH_KEYS, async (scope, opts) => {
      const list = expectArray(uris, 'uris') as string[];
      const refs = list.map((uri, index) => this.objectRef(uri, `uris[${index}]`));
      const concurrency = optionalPositiveInteger(opts.concurrency, 'options.concurrency', DEFAULT_CONCURRENCY);
      await this.removeAll(scope, refs, list, concurrency);
      return list.length;
    });
  }

  deletePrefix(prefixUri: string, options?: DeletePrefixOptions): Promise<number> {
    return runOperation('deletePrefix', prefixUri, options, DELETE_PREFIX_KEYS, async (scope, opts) => {
      // allowProtectedPaths is validated but has nothing to protect here: the prefix names keys.
      const settings = deletePrefixSettings(opts, DEFAULT_CONCURRENCY);
      const ref = this.driver.parse(prefixUri, 'prefixUri');
      return this.deleteBelow(scope, prefixUri, ref, settings);
    });
  }

  // ---- copy and rename ----

  copy(srcUri: string, dstUri: string, options?: OperationOptions): Promise<void> {
    return runOperation('copy', srcUri, options, OPERATION_KEYS, async (scope) => {
      const source = this.objectRef(srcUri, 'srcUri');
      const destination = this.objectRef(dstUri, 'dstUri');
      if (await this.isSameObject(scope, srcUri, source, destination)) return;
      await this.request(scope, srcUri, true, (signal) => this.driver.copy(source, destination, signal));
    });
  }

  rename(srcUri: string, dstUri: string, options?: RenameOptions): Promise<void> {
    return runOperation('rename', srcUri, options, RENAME_KEYS, async (scope, opts) => {
      const source = this.objectRef(srcUri, 'srcUri');
      const destination = this.objectRef(dstUri, 'dstUri');
      // One object under two names: copy + delete would copy it onto itself, then delete it.
      if (await this.isSameObject(scope, srcUri, source, destination)) return;
      if (optionalBoolean(opts.requireAtomic, 'options.requireAtomic', false)) {
        throw new S3dlioError(
          'ERR_CROSS_DEVICE',
          `rename ${srcUri}: object stores have no atomic rename (copy + delete)`,
          {
            uri: srcUri,
            operation: 'rename',
          },
        );
      }
      await this.request(scope, srcUri, true, (signal) => this.driver.copy(source, destination, signal));
      await this.request(scope, srcUri, true, (signal) => this.driver.remove(source, signal));
    });
  }

  // ---- buckets ----

  createBucket(uri: string, options?: OperationOptions): Promise<void> {
    return runOperation('createBucket', uri, options, OPERATION_KEYS, (scope) => {
      const ref = this.driver.parse(uri, 'uri');
      return this.request(scope, uri, true, (signal) => this.driver.createBucket(ref, signal));
    });
  }

  deleteBucket(uri: string, options?: DeleteBucketOptions): Promise<void> {
    return runOperation('deleteBucket', uri, options, DELETE_BUCKET_KEYS, async (scope, opts) => {
      const ref = this.driver.parse(uri, 'uri');
      const bucket = { ...ref, key: '' };
      // Validated for every backend; only local directories have protected paths.
      optionalBoolean(opts.allowProtectedPaths, 'options.allowProtectedPaths', false);
      if (optionalBoolean(opts.force, 'options.force', false))
        await this.deleteBelow(scope, uri, bucket, { concurrency: DEFAULT_CONCURRENCY });
      await this.request(scope, uri, true, (signal) => this.driver.deleteBucket(bucket, signal));
    });
  }

  listBuckets(schemeUri: string, options?: OperationOptions): Promise<string[]> {
    return runOperation('listBuckets', schemeUri, options, OPERATION_KEYS, async (scope) => {
      const base = this.bucketListBase(schemeUri);
      const names = await this.request(scope, schemeUri, true, (signal) => this.driver.listBuckets({ base }, signal));
      return names.map((name) => `${base}${name}/`).sort();
    });
  }

  /**
   * The object (or, for a prefix, the place) `uri` designates, the same for every spelling of it:
   * equal strings are one object of the service. Used by copy and rename across spellings.
   */
  identityOf(uri: string): string {
    return this.driver.identity(this.driver.parse(uri, 'uri'));
  }

  // ---- internals ----

  /**
   * Reads `window` of the object: through the RangeEngine (concurrent ranges into one buffer) when
   * it is on, else as one GET (ranged unless the window is the whole object).
   */
  private readWindow(
    scope: OperationScope,
    uri: string,
    ref: CloudRef,
    window: ByteRange,
    ranges: RangeOptions,
  ): Promise<Uint8Array> {
    if (ranges.rangeThreshold === 0) {
      const range = window.start === 0 && window.end === undefined ? undefined : window;
      return this.request(scope, uri, true, (signal) => this.driver.read(ref, range, signal));
    }
    const readRange = async (range: ByteRange, placement: BodyPlacement, signal: AbortSignal): Promise<Uint8Array> => {
      // Each range has its own retries and is cancelled with its siblings.
      const rangeScope = new OperationScope(scope.operation, uri, signal);
      try {
        return await this.request(rangeScope, uri, true, (attempt) => this.driver.read(ref, range, attempt, placement));
      } finally {
        rangeScope.dispose();
      }
    };
    return readInRanges(readRange, window, ranges, scope.signal, uri);
  }

  /** ERR_CHECKSUM_MISMATCH unless `bytes` match the checksum the service stored (if it keeps one). */
  private async verifyStored(
    scope: OperationScope,
    uri: string,
    ref: CloudRef,
    bytes: Uint8Array,
    fromHeaders: StoredChecksum | undefined,
  ): Promise<void> {
    // Ranged answers may not carry the stored checksum (S3 sends it for whole objects only).
    const stored =
      fromHeaders ?? (await this.request(scope, uri, true, (signal) => this.driver.storedChecksum(ref, signal)));
    if (stored) verifyStoredChecksum(bytes, stored, uri);
  }

  /** Where bucket URIs start for `listBuckets` (`s3://`, `az://account/`, `gs://`). */
  protected bucketListBase(schemeUri: string): string {
    return `${schemeUri.slice(0, schemeUri.indexOf('://'))}://`;
  }

  /** A ref that names an object (non-empty key not ending in `/`). */
  protected objectRef(uri: unknown, name: string): CloudRef {
    const ref = this.driver.parse(uri as string, name);
    if (ref.key === '' || ref.key.endsWith('/')) {
      throw new S3dlioError(
        'ERR_INVALID_URI',
        `Invalid URI ${JSON.stringify(uri)}: expected an object key after the bucket, not ending with '/'`,
        {
          uri: String(uri),
        },
      );
    }
    this.driver.checkObjectKey?.(ref, uri as string);
    return ref;
  }

  /** The ref of an object to read: a key the service would resolve to another object is refused. */
  private readRef(uri: string, name: string): CloudRef {
    const ref = this.driver.parse(uri, name);
    if (ref.key !== '' && !ref.key.endsWith('/')) this.driver.checkObjectKey?.(ref, uri);
    return ref;
  }

  /**
   * One step of an operation: retried with backoff when `idempotent` and the failure is transient,
   * each attempt bounded by the attempt timeout; failures become typed S3dlioErrors.
   */
  protected async request<T>(
    scope: OperationScope,
    uri: string,
    idempotent: boolean,
    run: (signal: AbortSignal | undefined) => Promise<T>,
  ): Promise<T> {
    let attemptSignal: AbortSignal | undefined;
    const failureOf = (error: unknown): CloudFailure => {
      if (attemptSignal?.aborted && !scope.signal?.aborted) return timeoutFailure(this.retryPolicy.attemptTimeoutMs);
      if (error instanceof TruncatedBodyError)
        return { code: 'ERR_TRUNCATED_BODY', retryable: true, message: error.message };
      return classifyNetworkError(error) ?? this.driver.classify(error);
    };
    try {
      return await withRetry(
        this.retryPolicy,
        idempotent,
        scope.signal,
        (signal) => {
          attemptSignal = signal;
          return run(signal);
        },
        failureOf,
      );
    } catch (error) {
      if (scope.signal?.aborted) throw abortError(scope.operation, uri, scope.signal.reason);
      if (error instanceof S3dlioError) throw error;
      throw cloudError(failureOf(error), scope.operation, uri, error);
    }
  }

  private async emptyRangeAt(
    scope: OperationScope,
    uri: string,
    ref: CloudRef,
    offset: number,
    rangeError?: S3dlioError,
  ): Promise<Uint8Array> {
    const head = await this.request(scope, uri, true, (signal) => this.driver.head(ref, signal));
    if (offset <= head.size) return new Uint8Array(0);
    throw (
      rangeError ??
      new S3dlioError(
        'ERR_RANGE_NOT_SATISFIABLE',
        `getRange ${uri}: offset ${offset} is past the end of the object (size ${head.size})`,
        {
          uri,
          operation: 'getRange',
        },
      )
    );
  }

  private async *pages(
    scope: OperationScope,
    uri: string,
    ref: CloudRef,
    delimiter: string | undefined,
  ): AsyncGenerator<ListPage> {
    let token: string | undefined;
    do {
      const asked = token;
      const page = await this.request(scope, uri, true, (signal) =>
        this.driver.listPage(ref, delimiter, asked, signal),
      );
      yield page;
      token = page.nextToken;
      // The same token again would ask for the same page forever.
      if (token !== undefined && token === asked) {
        throw new S3dlioError(
          'ERR_CLOUD',
          `${scope.operation} ${uri}: the service answered the listing page for a continuation token with that same token`,
          {
            uri,
            operation: scope.operation,
          },
        );
      }
    } while (token);
  }

  private streamScope(operation: string, uri: string, signal: AbortSignal | undefined): OperationScope {
    const scope = new OperationScope(operation, uri, signal);
    scope.throwIfAborted();
    return scope;
  }

  /**
   * Whether two refs name one object (another spelling of the scheme, endpoint or account). If so,
   * the source must exist: a HEAD reports ERR_NOT_FOUND as the copy or rename would have.
   */
  private async isSameObject(
    scope: OperationScope,
    uri: string,
    source: CloudRef,
    destination: CloudRef,
  ): Promise<boolean> {
    if (this.driver.identity(source) !== this.driver.identity(destination)) return false;
    await this.request(scope, uri, true, (signal) => this.driver.head(source, signal));
    return true;
  }

  private deleteBelow(
    scope: OperationScope,
    uri: string,
    ref: CloudRef,
    settings: Pick<DeletePrefixSettings, 'concurrency'> & Partial<DeletePrefixSettings>,
  ): Promise<number> {
    const { matches } = settings;
    const pages = this.pages(scope, uri, ref, undefined);
    // Stream the listing and delete in bounded batches: memory stays flat for any prefix size.
    const refs = (async function* () {
      for await (const page of pages) {
        for (const key of page.keys) {
          if (!matches || matches(key.slice(ref.key.length))) yield { ...ref, key };
        }
      }
    })();
    return deleteInBatches(
      scope,
      refs,
      this.driver.removeBatchSize ?? 1000,
      uriOfRef,
      (batch, removed) =>
        this.removeAll(scope, batch, batch.map(uriOfRef), settings.concurrency, (index) => removed(batch[index])),
      settings.onDeleted,
    );
  }

  private async removeAll(
    scope: OperationScope,
    refs: CloudRef[],
    uris: string[],
    concurrency: number,
    removed: (index: number) => void = () => undefined,
  ): Promise<void> {
    const operation = scope.operation;
    const driver = this.driver;
    const removeOne = async (uri: string, index: number): Promise<void> => {
      await this.request(scope, uri, true, (signal) => driver.remove(refs[index], signal));
      removed(index);
    };
    if (!driver.removeBatch || refs.length === 0) {
      await runBatch(scope, uris, identity, concurrency, removeOne);
      return;
    }
    // Batch API: chunks of removeBatchSize, `concurrency` chunks in flight, per-key failures each reported.
    const size = driver.removeBatchSize ?? 1000;
    const chunks: number[] = [];
    for (let start = 0; start < refs.length; start += size) chunks.push(start);
    const errors: S3dlioError[] = [];
    await runBatch(
      scope,
      chunks,
      (start) => uris[start],
      concurrency,
      async (start) => {
        const chunk = refs.slice(start, start + size);
        const bucket = { ...chunk[0], key: '' };
        if (chunk.some((ref) => ref.bucket !== bucket.bucket || ref.base !== bucket.base)) {
          // Keys of several buckets in one chunk: one request per key.
          await runBatch(scope, uris.slice(start, start + size), identity, concurrency, (uri, index) =>
            removeOne(uri, start + index),
          ).catch((error: unknown) => {
            if (!(error instanceof BatchError)) throw error;
            errors.push(...error.errors);
          });
          return;
        }
        const results = await this.request(scope, uris[start], true, (signal) =>
          driver.removeBatch!(
            bucket,
            chunk.map((ref) => ref.key),
            signal,
          ),
        );
        results.forEach((failure, index) => {
          if (failure === undefined) removed(start + index);
          else errors.push(cloudError(driver.classify(failure), operation, uris[start + index], failure));
        });
      },
    );
    if (errors.length > 0) throw new BatchError(operation, errors, refs.length - errors.length);
  }
}

function identity(uri: string): string {
  return uri;
}

function uriOfRef(ref: CloudRef): string {
  return `${ref.base}${ref.key}`;
}
