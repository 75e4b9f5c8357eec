/**
 * What s3://, az:// and gs:// share: the object API (ranges, listing, batches, buckets) built on a
 * small driver per cloud whose methods are single requests. Every request goes through one place
 * that retries idempotent steps, times attempts out, and maps failures to typed errors.
 */
import { BatchError, CallSite, S3dlioError, abortError, toS3dlioError } from '../errors';
import { batchLabel, runBatch } from '../internal/batch';
import {
  DEFAULT_MULTIPART_THRESHOLD,
  ObjectWriter,
  type PartSink,
  type WriterOptions,
  writerUri,
} from '../engine/writer';
import {
  type StreamOptions,
  intoWindow,
  placeInto,
  rangeStream,
  rangeWebStream,
  targetTooSmall,
} from '../engine/streams';
import type { Readable } from 'stream';
import type { ReadableStream } from 'stream/web';
import { type BodyPlacement, type ResponseHeaders, type StoredChecksum, TruncatedBodyError } from '../internal/body';
import { verifyStoredChecksum } from '../checksum';
import { bufferDetached, isDetached, privateCopy } from '../internal/memory';
import {
  type ByteWindow,
  DEFAULT_RANGE_THRESHOLD,
  type RangeOptions,
  type RangeSettings,
  rangeOptionsFrom,
  readInRanges,
} from '../engine/range-engine';
import { classifyNetworkError, cloudError, timeoutFailure, type CloudFailure } from '../cloud/errors';
import { type RetryPolicy, withRetry } from '../internal/retry';
import type {
  BatchOptions,
  DeleteBucketOptions,
  GetOptions,
  ListOptions,
  ObjectStat,
  ObjectStore,
  OperationOptions,
  PutData,
  PutItem,
  PutOptions,
  RenameOptions,
} from '../object-store';
import { OperationScope, runOperation } from '../operation';
import type { ByteRange, CloudDriver, CloudRef, ListPage } from './cloud-driver';
import {
  expectArray,
  expectNonNegativeInteger,
  expectOptions,
  invalidValue,
  optionalBoolean,
  optionalMatcher,
  optionalPositiveInteger,
  optionalSignal,
  toBytes,
} from '../validate';
import { DEFAULT_CONCURRENCY } from './local-store';

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
    this.multipartThreshold = (rangeDefaults as { multipartThreshold?: number }).multipartThreshold;
  }

  private readonly multipartThreshold: number | undefined;

  private readonly rangeDefaults: RangeSettings;

  // ---- reads ----

  get(uri: string, options?: GetOptions): Promise<Uint8Array> {
    return runOperation('get', uri, options, async (scope, opts) => {
      const ref = this.driver.parse(uri, 'uri');
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
        if (verify) {
          // Ranged answers may not carry the stored checksum (S3 sends it for whole objects only).
          stored ??= await this.request(scope, uri, true, (signal) => this.driver.storedChecksum(ref, signal));
          if (stored) verifyStoredChecksum(bytes, stored, uri);
        }
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

  getRange(uri: string, offset: number, length?: number, options?: GetOptions): Promise<Uint8Array> {
    return runOperation('getRange', uri, options, async (scope, opts) => {
      const ref = this.driver.parse(uri, 'uri');
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
    return runOperation('getInto', uri, options, async (scope, opts) => {
      const ref = this.driver.parse(uri, 'uri');
      const window = intoWindow(target, offset);
      const ranges = rangeOptionsFrom(opts, this.rangeDefaults, DEFAULT_RANGE_THRESHOLD);
      // Every range (and an object below the threshold too) is written straight into the target.
      const allocate = (size: number): Uint8Array => {
        if (isDetached(window.buffer)) throw bufferDetached('target');
        if (size > window.byteLength) throw targetTooSmall(uri, size, window.byteLength);
        return window.subarray(0, size);
      };
      const plan = { ...ranges, rangeThreshold: ranges.rangeThreshold || DEFAULT_RANGE_THRESHOLD, allocate };
      try {
        return placeInto(window, await this.readWindow(scope, uri, ref, { start: 0 }, plan), uri);
      } catch (error) {
        // Whatever a transfer of the target mid-body looked like to the reader, say what it was.
        if (isDetached(window.buffer)) throw bufferDetached('target');
        if (!(error instanceof S3dlioError) || error.code !== 'ERR_RANGE_NOT_SATISFIABLE') throw error;
        // An empty object (S3 answers a ranged GET of it with 416).
        return placeInto(
          window,
          await this.request(scope, uri, true, (signal) => this.driver.read(ref, undefined, signal)),
          uri,
        );
      }
    });
  }

  getStream(uri: string, options?: StreamOptions): Readable {
    return rangeStream(this, uri, options);
  }

  createWriter(requestedUri: string, options?: WriterOptions): ObjectWriter {
    const uri = writerUri(requestedUri, options);
    const ref = this.objectRef(uri, 'uri');
    const opts = expectOptions<WriterOptions>(options);
    const upload = this.driver.openUpload(ref, { contentType: opts.contentType });
    // Each step runs with the store's retries; only steps that are safe to repeat are retried.
    const step = <T>(
      idempotent: boolean,
      signal: AbortSignal,
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
      abort: () => upload.abort(),
      storedSize: (signal) => step(true, signal, (attempt) => this.driver.head(ref, attempt)).then((head) => head.size),
      storedChecksum: async (signal, multipart) =>
        multipart && upload.compositeChecksums
          ? undefined
          : step(true, signal, (attempt) => this.driver.storedChecksum(ref, attempt)),
    };
    return new ObjectWriter(uri, sink, opts);
  }

  getWebStream(uri: string, options?: StreamOptions): ReadableStream<Uint8Array> {
    return rangeWebStream(this, uri, options);
  }

  getMany(uris: readonly string[], options?: BatchOptions): Promise<Uint8Array[]> {
    return runOperation('getMany', batchLabel(uris), options, async (scope, opts) => {
      const list = expectArray(uris, 'uris') as string[];
      const refs = list.map((uri, index) => this.driver.parse(uri, `uris[${index}]`));
      const concurrency = optionalPositiveInteger(opts.concurrency, 'options.concurrency', DEFAULT_CONCURRENCY);
      return runBatch(scope, list, identity, concurrency, (uri, index) =>
        this.request(scope, uri, true, (signal) => this.driver.read(refs[index], undefined, signal)),
      );
    });
  }

  // ---- writes ----

  put(uri: string, data: PutData, options?: PutOptions): Promise<void> {
    return runOperation('put', uri, options, async (scope, opts) => {
      const ref = this.objectRef(uri, 'uri');
      const bytes = toBytes(data);
      const threshold = optionalPositiveInteger(
        opts.multipartThreshold ?? this.multipartThreshold,
        'options.multipartThreshold',
        DEFAULT_MULTIPART_THRESHOLD,
      );
      if (bytes.byteLength > threshold) {
        // Large objects go up in parts, concurrently, each retried on its own. Each part is a copy
        // in the writer's own buffers (memory: concurrency + 1 parts), because the SDK reads a body
        // over several event-loop turns and the caller's buffer could be transferred meanwhile.
        const writer = this.createWriter(uri, {
          partSize: opts.partSize,
          concurrency: opts.concurrency,
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
    return runOperation('putMany', batchLabel(items), options, async (scope, opts) => {
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
    const uris: string[] = [];
    for await (const uri of this.listStream(prefixUri, options)) uris.push(uri);
    return uris.sort();
  }

  listStream(prefixUri: string, options?: ListOptions): AsyncIterable<string> {
    const callSite = new CallSite();
    const opts = expectOptions<ListOptions>(options);
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
    return runOperation('stat', uri, options, async (scope) => {
      const ref = this.objectRef(uri, 'uri');
      const head = await this.request(scope, uri, true, (signal) => this.driver.head(ref, signal));
      return { uri, ...head };
    });
  }

  exists(uri: string, options?: OperationOptions): Promise<boolean> {
    return runOperation('exists', uri, options, async (scope) => {
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
    return runOperation('delete', uri, options, (scope) => {
      const ref = this.objectRef(uri, 'uri');
      return this.request(scope, uri, true, (signal) => this.driver.remove(ref, signal));
    });
  }

  deleteMany(uris: readonly string[], options?: BatchOptions): Promise<number> {
    return runOperation('deleteMany', batchLabel(uris), options, async (scope, opts) => {
      const list = expectArray(uris, 'uris') as string[];
      const refs = list.map((uri, index) => this.objectRef(uri, `uris[${index}]`));
      const concurrency = optionalPositiveInteger(opts.concurrency, 'options.concurrency', DEFAULT_CONCURRENCY);
      await this.removeAll(scope, refs, list, concurrency);
      return list.length;
    });
  }

  deletePrefix(prefixUri: string, options?: BatchOptions): Promise<number> {
    return runOperation('deletePrefix', prefixUri, options, async (scope, opts) => {
      const ref = this.driver.parse(prefixUri, 'prefixUri');
      const concurrency = optionalPositiveInteger(opts.concurrency, 'options.concurrency', DEFAULT_CONCURRENCY);
      return this.deleteBelow(scope, prefixUri, ref, concurrency);
    });
  }

  // ---- copy and rename ----

  copy(srcUri: string, dstUri: string, options?: OperationOptions): Promise<void> {
    return runOperation('copy', srcUri, options, (scope) => {
      const source = this.objectRef(srcUri, 'srcUri');
      const destination = this.objectRef(dstUri, 'dstUri');
      return this.request(scope, srcUri, true, (signal) => this.driver.copy(source, destination, signal));
    });
  }

  rename(srcUri: string, dstUri: string, options?: RenameOptions): Promise<void> {
    return runOperation('rename', srcUri, options, async (scope, opts) => {
      const source = this.objectRef(srcUri, 'srcUri');
      const destination = this.objectRef(dstUri, 'dstUri');
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
    return runOperation('createBucket', uri, options, (scope) => {
      const ref = this.driver.parse(uri, 'uri');
      return this.request(scope, uri, true, (signal) => this.driver.createBucket(ref, signal));
    });
  }

  deleteBucket(uri: string, options?: DeleteBucketOptions): Promise<void> {
    return runOperation('deleteBucket', uri, options, async (scope, opts) => {
      const ref = this.driver.parse(uri, 'uri');
      const bucket = { ...ref, key: '' };
      if (optionalBoolean(opts.force, 'options.force', false))
        await this.deleteBelow(scope, uri, bucket, DEFAULT_CONCURRENCY);
      await this.request(scope, uri, true, (signal) => this.driver.deleteBucket(bucket, signal));
    });
  }

  listBuckets(schemeUri: string, options?: OperationOptions): Promise<string[]> {
    return runOperation('listBuckets', schemeUri, options, async (scope) => {
      const base = this.bucketListBase(schemeUri);
      const names = await this.request(scope, schemeUri, true, (signal) => this.driver.listBuckets({ base }, signal));
      return names.map((name) => `${base}${name}/`).sort();
    });
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
    window: ByteWindow,
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
      const page = await this.request(scope, uri, true, (signal) =>
        this.driver.listPage(ref, delimiter, token, signal),
      );
      yield page;
      token = page.nextToken;
    } while (token);
  }

  private streamScope(operation: string, uri: string, signal: AbortSignal | undefined): OperationScope {
    const scope = new OperationScope(operation, uri, signal);
    scope.throwIfAborted();
    return scope;
  }

  private async deleteBelow(scope: OperationScope, uri: string, ref: CloudRef, concurrency: number): Promise<number> {
    const batchSize = this.driver.removeBatchSize ?? 1000;
    let deleted = 0;
    let batch: CloudRef[] = [];
    const flush = async (): Promise<void> => {
      await this.removeAll(
        scope,
        batch,
        batch.map((item) => `${item.base}${item.key}`),
        concurrency,
      );
      deleted += batch.length;
      batch = [];
    };
    // Stream the listing and delete in bounded batches: memory stays flat for any prefix size.
    for await (const page of this.pages(scope, uri, ref, undefined)) {
      for (const key of page.keys) {
        batch.push({ ...ref, key });
        if (batch.length >= batchSize) await flush();
      }
    }
    if (batch.length > 0) await flush();
    return deleted;
  }

  private async removeAll(scope: OperationScope, refs: CloudRef[], uris: string[], concurrency: number): Promise<void> {
    const operation = scope.operation;
    const driver = this.driver;
    if (!driver.removeBatch || refs.length === 0) {
      await runBatch(scope, uris, identity, concurrency, (uri, index) =>
        this.request(scope, uri, true, (signal) => driver.remove(refs[index], signal)),
      );
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
            this.request(scope, uri, true, (signal) => driver.remove(chunk[index], signal)),
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
          if (failure !== undefined)
            errors.push(cloudError(driver.classify(failure), operation, uris[start + index], failure));
        });
      },
    );
    if (errors.length > 0) throw new BatchError(operation, errors, refs.length - errors.length);
  }
}

function identity(uri: string): string {
  return uri;
}
