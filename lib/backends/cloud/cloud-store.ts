/**
 * What s3://, az:// and gs:// share: the object API (ranges, listing, batches, buckets) built on a
 * small driver per cloud whose methods are single requests. Every request goes through one place
 * that retries idempotent steps, times attempts out, and maps failures to typed errors.
 */
import { BatchError, S3dlioError, abortError } from '../../errors';
import { DEFAULT_MULTIPART_THRESHOLD } from '../../engine/writer';
import { DEFAULT_RANGE_THRESHOLD, type RangeSettings } from '../../engine/range-engine';
import { runBatch } from '../../internal/batch';
import { privateCopy, sharedBuffer } from '../../internal/memory';
import type { BodyPlacement, ByteRange, ObjectStat, PartSink, StoredChecksum, WriterOptions } from '../../object-store';
import { OperationScope } from '../../operation';
import type { OpLogRecorder, OpPlace } from '../../oplog/recorder';
import { optionalPositiveInteger } from '../../validate';
import {
  BaseStore,
  DEFAULT_CONCURRENCY,
  type IoOp,
  type ListEntry,
  type RefKind,
  type WriteSettings,
} from '../base-store';
import type { CloudDriver, CloudRef, ListPage } from './driver';
import { type Endpoint, EndpointSet, isNoHealthyEndpoint, noHealthyFailure } from './endpoints/endpoint-set';
import { type CloudFailure, classifyNetworkError, cloudError, timeoutFailure } from './errors';
import { type RetryPolicy, withRetry } from './retry';
import type { StoreStats } from '../../stats';

/** Where a request goes, when not to the endpoint the strategy picks, and the body it sends. */
interface Route {
  /** The endpoint a multipart upload was opened on: its upload id is known there. */
  endpoint?: Endpoint;
  /** Bytes of the request body (for the stats). */
  bytesOut?: number;
}

/** What the op-log learns of a request while it runs: its last attempt's endpoint and first byte. */
interface RouteNote {
  endpoint?: Endpoint;
  /** `performance.now()` when that attempt's response headers arrived. */
  firstByte?: number;
}

/** The store shared by the cloud backends: a ref is a bucket and key, each primitive a request. */
export class CloudStore extends BaseStore<CloudRef> {
  /**
   * The note of the request `io` is starting: `request` takes it synchronously as it begins (a
   * request started later, after an await, is logged with the URI's endpoint instead).
   */
  private startingNote: RouteNote | undefined;

  override readonly scheme: 's3' | 'az' | 'gs';

  private readonly multipartThreshold: number | undefined;
  /** Where requests go: one endpoint, or several fronting the same storage. */
  protected readonly endpoints: EndpointSet;
  /** Requests are counted per endpoint, attempt by attempt (see `request`). */
  protected override readonly ioCounters = undefined;
  /** The driver of what no endpoint changes: parsing, identities, classifying failures. */
  protected readonly driver: CloudDriver;

  constructor(
    endpoints: EndpointSet | CloudDriver,
    protected readonly retryPolicy: RetryPolicy,
    rangeDefaults: RangeSettings = {},
  ) {
    // Copy the fields needed only: the options object may also hold credentials.
    const { rangeThreshold, chunkSize, concurrency } = rangeDefaults;
    super({ rangeThreshold, chunkSize, concurrency }, DEFAULT_RANGE_THRESHOLD);
    this.endpoints = endpoints instanceof EndpointSet ? endpoints : EndpointSet.single(endpoints);
    this.driver = this.endpoints.primary;
    this.scheme = this.driver.scheme;
    // I/O threads fill shared memory in place: a split get is allocated there.
    if (this.driver.ioThreads) this.splitMemory = sharedBuffer;
    // Checked now, not at the first put that uses it.
    const { multipartThreshold } = rangeDefaults as { multipartThreshold?: number };
    this.multipartThreshold = optionalPositiveInteger(multipartThreshold, 'options.multipartThreshold', 0) || undefined;
  }

  // ---- primitives ----

  protected refOf(uri: unknown, name: string, kind: RefKind): CloudRef {
    if (kind === 'create' || kind === 'object') return this.objectRef(uri, name);
    const ref = this.driver.parse(uri as string, name);
    // A key the service would resolve to another object is refused before reading it.
    if (kind === 'read' && ref.key !== '' && !ref.key.endsWith('/')) this.driver.checkObjectKey?.(ref, uri as string);
    return ref;
  }

  protected uriOf(ref: CloudRef): string {
    return `${ref.base}${ref.key}`;
  }

  protected readRange(
    ref: CloudRef,
    uri: string,
    range: ByteRange,
    scope: OperationScope,
    placement?: BodyPlacement,
  ): Promise<Uint8Array> {
    // The whole object is one plain GET: no Range header (an empty object has no byte 0).
    const ranged = range.start === 0 && range.end === undefined ? undefined : range;
    // Recorded in an op-log: the time the answer begins is its first_byte.
    const note = this.startingNote;
    const timed: BodyPlacement | undefined = note
      ? {
          ...placement,
          onHeaders: (headers) => {
            note.firstByte = performance.now();
            return placement?.onHeaders(headers);
          },
        }
      : placement;
    return this.request(scope, uri, true, (signal, driver) => driver.read(ref, ranged, signal, timed));
  }

  protected async writeObject(
    ref: CloudRef,
    uri: string,
    bytes: Uint8Array,
    scope: OperationScope,
    settings: WriteSettings,
  ): Promise<void> {
    const threshold = settings.multipartThreshold ?? this.multipartThreshold ?? DEFAULT_MULTIPART_THRESHOLD;
    if (bytes.byteLength > threshold) {
      // Large objects go up in parts, concurrently, each retried on its own. Where the driver
      // guards caller memory (the lean transport) the parts are slices of the caller's buffer;
      // otherwise each is a copy in the writer's own buffers (memory: concurrency + 1 parts),
      // because the SDK reads a body over several event-loop turns and the caller's buffer could
      // be transferred meanwhile.
      const options: WriterOptions = {
        partSize: settings.partSize,
        concurrency: settings.inBatch ? 1 : settings.concurrency,
        overwrite: settings.overwrite,
        signal: scope.signal,
      };
      const writer = this.writerFor(ref, uri, options, { wholeBuffer: true });
      await writer.write(bytes);
      await writer.close();
      return;
    }
    // A single PUT replaces the object whole: retrying it is safe. It sends the caller's bytes
    // where the driver guards them against a transfer, else a private copy (made when its turn
    // comes, in a batch), for the same reason as the parts above.
    const body = this.driver.sendsCallerMemory ? bytes : privateCopy(bytes, settings.name);
    const ifAbsent = !settings.overwrite;
    await this.io(
      'PUT',
      uri,
      () =>
        createOnly(
          ifAbsent,
          uri,
          // A create-only PUT is not sent again after a failure that left its outcome unknown: the
          // repeat would find the object the first one made and fail as if another writer had won.
          this.request(scope, uri, !ifAbsent, (signal, driver) => driver.write(ref, body, signal, { ifAbsent }), {
            bytesOut: body.byteLength,
          }),
        ),
      1,
      body.byteLength,
    );
  }

  protected openUpload(ref: CloudRef, uri: string, options: WriterOptions): PartSink {
    const { contentType } = options;
    const ifAbsent = options.overwrite === false;
    // The upload id lives on the endpoint that made it: every step of the upload goes there.
    const endpoint = this.endpoints.forUpload(uri);
    const upload = endpoint.driver.openUpload(ref, { contentType, ifAbsent });
    // Each step runs with the store's retries; only steps that are safe to repeat are retried.
    const step = <T>(
      idempotent: boolean,
      signal: AbortSignal | undefined,
      run: (attempt: AbortSignal | undefined, driver: CloudDriver) => Promise<T>,
      route: Route = {},
    ): Promise<T> => {
      const scope = new OperationScope('write', uri, signal);
      // A create-only upload may learn that the object exists at any step (GCS: the first part).
      return createOnly(ifAbsent, uri, this.request(scope, uri, idempotent, run, route)).finally(() => scope.dispose());
    };
    const pinned = (bytesOut = 0): Route => ({ endpoint, bytesOut });
    return {
      maxParts: upload.maxParts,
      minPartSize: upload.minPartSize,
      maxPartSize: upload.maxPartSize,
      sequential: upload.sequential,
      sendsCallerMemory: upload.sendsCallerMemory === true,
      // I/O threads send parts from shared memory as it is; the writer reuses them.
      ...(this.driver.ioThreads && { allocate: sharedBuffer, recyclesParts: true }),
      uploadPart: (index, offset, bytes, signal) =>
        step(
          upload.partsIdempotent,
          signal,
          (attempt) => upload.uploadPart(index, offset, bytes, attempt),
          pinned(bytes.byteLength),
        ),
      complete: (total, parts, signal) =>
        createOnly(
          ifAbsent,
          uri,
          step(false, signal, (attempt) => upload.complete(total, parts, attempt), pinned()),
        ),
      putWhole: (bytes, signal) =>
        createOnly(
          ifAbsent,
          uri,
          step(!ifAbsent, signal, (attempt, driver) => driver.write(ref, bytes, attempt, { contentType, ifAbsent }), {
            bytesOut: bytes.byteLength,
          }),
        ).then(() => ({})),
      // Retried like any idempotent step: parts left staged by one failed attempt are billed.
      // Not bound to the writer's signal, which has fired by the time the staged parts go.
      abort: () => step(true, undefined, (attempt) => upload.abort(attempt), pinned()),
      storedSize: (signal) =>
        step(true, signal, (attempt, driver) => driver.head(ref, attempt)).then((head) => head.size),
      storedChecksum: async (signal, multipart) =>
        multipart && upload.compositeChecksums
          ? undefined
          : step(true, signal, (attempt, driver) => driver.storedChecksum(ref, attempt)),
    };
  }

  protected async *listPages(
    ref: CloudRef,
    uri: string,
    recursive: boolean,
    scope: OperationScope,
  ): AsyncIterable<Array<ListEntry<CloudRef>>> {
    // Every page carries the objects' metadata: `details` costs nothing more here.
    for await (const page of this.pages(scope, uri, ref, recursive ? undefined : '/')) {
      const entry = (key: string) => ({ uri: `${ref.base}${key}`, ref: { ...ref, key } });
      yield [
        ...page.keys.map((key, index) => ({ ...entry(key), meta: page.heads[index] })),
        ...page.prefixes.map((key) => ({ ...entry(key), prefix: true })),
      ];
    }
  }

  protected head(ref: CloudRef, uri: string, scope: OperationScope): Promise<Omit<ObjectStat, 'uri'>> {
    return this.request(scope, uri, true, (signal, driver) => driver.head(ref, signal));
  }

  protected remove(ref: CloudRef, uri: string, scope: OperationScope): Promise<void> {
    return this.request(scope, uri, true, (signal, driver) => driver.remove(ref, signal));
  }

  protected copyObject(source: CloudRef, destination: CloudRef, uri: string, scope: OperationScope): Promise<void> {
    return this.request(scope, uri, true, (signal, driver) => driver.copy(source, destination, signal));
  }

  /** Another spelling of the scheme, endpoint or account; the source must exist (one HEAD). */
  protected async sameObject(
    source: CloudRef,
    destination: CloudRef,
    uri: string,
    scope: OperationScope,
  ): Promise<boolean> {
    if (this.driver.identity(source) !== this.driver.identity(destination)) return false;
    await this.io('STAT', uri, () => this.head(source, uri, scope));
    return true;
  }

  protected makeBucket(ref: CloudRef, uri: string, scope: OperationScope): Promise<void> {
    return this.request(scope, uri, true, (signal, driver) => driver.createBucket(ref, signal));
  }

  protected async removeBucket(
    ref: CloudRef,
    uri: string,
    scope: OperationScope,
    { force }: { force: boolean },
  ): Promise<void> {
    const bucket = { ...ref, key: '' };
    if (force) await this.deleteBelow(scope, bucket, uri, { concurrency: DEFAULT_CONCURRENCY });
    await this.io('DELETE', uri, () =>
      this.request(scope, uri, true, (signal, driver) => driver.deleteBucket(bucket, signal)),
    );
  }

  protected async bucketUris(schemeUri: string, scope: OperationScope): Promise<string[]> {
    const base = this.bucketListBase(schemeUri);
    const names = await this.request(scope, schemeUri, true, (signal, driver) => driver.listBuckets({ base }, signal));
    return names.map((name) => `${base}${name}/`);
  }

  protected override storedChecksum(
    ref: CloudRef,
    uri: string,
    scope: OperationScope,
  ): Promise<StoredChecksum | undefined> {
    return this.request(scope, uri, true, (signal, driver) => driver.storedChecksum(ref, signal));
  }

  /** Endpoint, bucket and key, whatever the spelling of the scheme, endpoint or account. */
  override identityOf(uri: string): string {
    return this.driver.identity(this.driver.parse(uri, 'uri'));
  }

  // ---- internals ----

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

  /**
   * One step of an operation: retried with backoff when `idempotent` and the failure is transient,
   * each attempt bounded by the attempt timeout; failures become typed S3dlioErrors.
   */
  protected async request<T>(
    scope: OperationScope,
    uri: string,
    idempotent: boolean,
    run: (signal: AbortSignal | undefined, driver: CloudDriver) => Promise<T>,
    route: Route = {},
  ): Promise<T> {
    const note = this.startingNote;
    this.startingNote = undefined;
    let attemptSignal: AbortSignal | undefined;
    const failureOf = (error: unknown): CloudFailure => {
      if (attemptSignal?.aborted && !scope.signal?.aborted) return timeoutFailure(this.retryPolicy.attemptTimeoutMs);
      const code = (error as { code?: unknown } | null)?.code;
      const message = String((error as Error | null)?.message);
      // By its code, not its class: a body cut short on an I/O thread arrives as a rebuilt error.
      if (code === 'ERR_TRUNCATED_BODY') return { code, retryable: true, message };
      // The caller's buffer was transferred: no attempt can send or fill it again.
      if (code === 'ERR_BUFFER_DETACHED') return { code, retryable: false, message };
      // An answer that breaks HTTP/1.1 (a garbled status line, a bad chunk) comes from a server or
      // a middlebox in trouble: its connection is closed, and another attempt may be answered well.
      if (code === 'ERR_HTTP_PROTOCOL') {
        return { code: 'ERR_SERVER', retryable: true, message: `the answer is not valid HTTP/1.1: ${message}` };
      }
      if (isNoHealthyEndpoint(error)) return noHealthyFailure(error);
      return classifyNetworkError(error) ?? this.driver.classify(error);
    };
    const fixed = route.endpoint ?? this.endpoints.forUri(uri);
    let previous: Endpoint | undefined;
    try {
      return await withRetry(
        this.retryPolicy,
        idempotent,
        scope.signal,
        async (signal, attempt) => {
          attemptSignal = signal;
          // A retry goes to another healthy endpoint when there is one.
          const endpoint = fixed ?? this.endpoints.pick(previous);
          previous = endpoint;
          if (note) {
            note.endpoint = endpoint;
            note.firstByte = undefined; // of the attempt that answers
          }
          try {
            const result = await endpoint.counters.track(
              () => run(signal, endpoint.driver),
              attempt > 0,
              route.bytesOut,
            );
            this.endpoints.succeeded(endpoint);
            return result;
          } catch (error) {
            // The caller's abort says nothing about the endpoint.
            if (!scope.signal?.aborted) this.endpoints.failed(endpoint, failureOf(error));
            throw error;
          }
        },
        failureOf,
      );
    } catch (error) {
      if (scope.signal?.aborted) throw abortError(scope.operation, uri, scope.signal.reason);
      if (error instanceof S3dlioError) throw error;
      throw cloudError(failureOf(error), scope.operation, uri, error);
    }
  }

  /** Logged with the endpoint its last attempt went to and when that attempt's answer began. */
  protected override logRequest<T>(
    log: OpLogRecorder,
    op: IoOp,
    uri: string,
    run: () => Promise<T>,
    objects: number,
    bytesOut: number,
  ): Promise<T> {
    const note: RouteNote = {};
    // `run` starts its request synchronously: `request` takes the note as it begins.
    const noted = (): Promise<T> => {
      this.startingNote = note;
      try {
        return run();
      } finally {
        this.startingNote = undefined;
      }
    };
    const place = (): OpPlace => ({ ...this.opLogPlace(uri, note.endpoint), firstByte: note.firstByte });
    return log.track(op, place, noted, objects, bytesOut);
  }

  /** The endpoint's URL (the service's own when it has no other) and `bucket/key`, as warp logs them. */
  protected override opLogPlace(uri: string, endpoint = this.endpoints.forUri(uri)): OpPlace {
    const ref = this.driver.parse(uri, 'uri');
    const name = endpoint?.name ?? this.endpoints.first.name;
    return { endpoint: name === 'default' ? this.driver.serviceUrlOf(ref) : name, file: `${ref.bucket}/${ref.key}` };
  }

  /** The store's request counters: totals and one entry per endpoint. */
  override stats(): StoreStats {
    const threads = this.driver.ioThreads;
    return {
      scheme: this.scheme,
      ...this.endpoints.totals(),
      endpoints: this.endpoints.stats(),
      ...(threads && { ioThreads: threads.stats() }),
      ...this.opCounters.snapshot(),
    };
  }

  /**
   * Stops the store's I/O threads now (requests in flight fail and are retried on new threads);
   * idle threads stop on their own after a few seconds. For tests and orderly shutdowns.
   */
  stopIoThreads(): Promise<void> {
    return this.driver.ioThreads?.stop() ?? Promise.resolve();
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
      const page = await this.io('LIST', uri, () =>
        this.request(scope, uri, true, (signal, driver) => driver.listPage(ref, delimiter, asked, signal)),
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

  /** Batch API where the cloud has one (S3 DeleteObjects): chunks of its batch size. */
  protected override async removeMany(
    scope: OperationScope,
    refs: CloudRef[],
    uris: string[],
    concurrency: number,
    removed: (index: number) => void = () => undefined,
  ): Promise<void> {
    const operation = scope.operation;
    const driver = this.driver;
    if (!driver.removeBatch || refs.length === 0) return super.removeMany(scope, refs, uris, concurrency, removed);
    const removeOne = async (uri: string, index: number): Promise<void> => {
      await this.io('DELETE', uri, () => this.remove(refs[index], uri, scope));
      removed(index);
    };
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
        const keys = chunk.map((ref) => ref.key);
        const results = await this.io(
          'DELETE',
          uris[start],
          () => this.request(scope, uris[start], true, (signal, chosen) => chosen.removeBatch!(bucket, keys, signal)),
          chunk.length,
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

/**
 * A create-only write refused because the object exists, as ERR_ALREADY_EXISTS whatever the
 * service called it (S3 and GCS answer 412, Azure 409 BlobAlreadyExists or 412).
 */
async function createOnly<T>(ifAbsent: boolean, uri: string, write: Promise<T>): Promise<T> {
  try {
    return await write;
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (!ifAbsent || (code !== 'ERR_PRECONDITION_FAILED' && code !== 'ERR_ALREADY_EXISTS')) throw error;
    const { operation } = error as S3dlioError;
    throw new S3dlioError('ERR_ALREADY_EXISTS', `${operation ?? 'put'} ${uri}: the object exists (overwrite: false)`, {
      uri,
      operation,
      cause: error,
    });
  }
}
