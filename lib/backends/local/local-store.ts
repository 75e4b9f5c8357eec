/**
 * What file:// and direct:// share: the object API over a local directory tree, with the bytes
 * moved by the native addon (zero-copy reads, atomic temp-file + rename writes).
 */
import { constants as bufferConstants } from 'buffer';
import { promises as fs } from 'fs';
import type { Readable } from 'stream';
import type { ReadableStream } from 'stream/web';

import { BatchError, CallSite, S3dlioError, abortError, toS3dlioError } from '../../errors';
import { batchLabel, deleteInBatches, deletePrefixSettings, runBatch } from '../../internal/batch';
import { guardDelete } from './delete-guard';
import { PartWriter, writerUri } from '../../engine/writer';
import { rangeOptionsFrom, readInRanges } from '../../engine/range-engine';
import { LocalPartSink } from './local-writer';
import { intoWindow, placeInto, rangeStream, rangeWebStream } from '../../engine/streams';
import { ensureParent, pruneEmptyDirectories, sameFile, splitPrefix, walkPrefix } from './paths';
import * as native from '../../native';
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
  type ObjectWriter,
  type StreamOptions,
  type WriterOptions,
} from '../../object-store';
import { expectKnownOptions } from '../../internal/option-keys';
import { type OperationScope, runOperation, warnOnce } from '../../operation';
import { isLocalScheme, parseUri } from '../../uri';
import {
  expectArray,
  expectNonNegativeInteger,
  invalidValue,
  optionalBoolean,
  optionalMatcher,
  optionalPositiveInteger,
  optionalSignal,
  toBytes,
} from '../../validate';

/** Batch concurrency when the caller gives none. */
export const DEFAULT_CONCURRENCY = 16;

/** How the local store moves bytes; set by the file:// and direct:// subclasses. */
export interface LocalIoSettings {
  /** Open with O_DIRECT. */
  direct: boolean;
  /** Minimum direct-I/O alignment (0: what the filesystem reports). */
  alignment: number;
  /** posix_fadvise mode for buffered reads (native CACHE_MODES value). */
  cacheMode: number;
  /** fdatasync files and fsync their directory before a write resolves. */
  fsync: boolean;
  /** Bytes per read/write syscall. */
  chunkSize: number;
  /** On a filesystem without O_DIRECT, fall back to buffered I/O (warning once) instead of failing. */
  allowBufferedFallback: boolean;
}

// Node refuses typed arrays above this length; fail before reading rather than after.
const MAX_OBJECT_LENGTH = bufferConstants.MAX_LENGTH;

// Parts of a large put written at once (memory: about this many + 1 chunks).
const PUT_PARTS_IN_FLIGHT = 4;

// Part sizes of the writer a large put goes through: a multiple of every direct-I/O alignment
// the writer uses (4096 unless the store's alignment is larger, a power of two up to 1 MiB).
const PART_MULTIPLE = 1024 * 1024;

/** The ObjectStore implementation shared by the local backends. */
export abstract class LocalStore implements ObjectStore {
  abstract readonly scheme: 'file' | 'direct';

  protected constructor(protected readonly settings: LocalIoSettings) {}

  // ---- reads ----

  get(uri: string, options?: GetOptions): Promise<Uint8Array> {
    return runOperation('get', uri, options, GET_KEYS, (scope, opts) => {
      const path = this.pathOf(uri);
      // Every option is checked, also the ones that change nothing here (local files have no
      // stored checksum for `verify`).
      optionalBoolean(opts.verify, 'options.verify', false);
      const ranges = rangeOptionsFrom(opts, {}, 0);
      // The RangeEngine is opt-in here: native reads already keep chunks in flight (direct://)
      // or ride the page cache (file://). Asked for explicitly, it runs the same engine as the
      // clouds over native ranged reads (each range copied once into the result).
      if (ranges.rangeThreshold === 0) return this.read(path, 0, -1, scope);
      return readInRanges(
        (range, placement) => this.readRangeInto(path, range, placement, scope),
        { start: 0 },
        ranges,
        scope.signal,
        uri,
      );
    });
  }

  /** One native ranged read handed to the RangeEngine's placement (one copy into its buffer). */
  private async readRangeInto(
    path: string,
    range: { start: number; end: number },
    placement: BodyPlacement,
    scope: OperationScope,
  ): Promise<Uint8Array> {
    const result = await this.readResult(path, range.start, range.end - range.start + 1, scope);
    const bytes = viewOf(result);
    const target = placement.onHeaders({ length: bytes.byteLength, totalSize: result.fileSize });
    if (!target) return bytes;
    if (target.byteLength !== bytes.byteLength) {
      throw new S3dlioError(
        'ERR_CHANGED_DURING_READ',
        `get ${path}: the file changed size while its ranges were being read`,
        {
          uri: `${this.scheme}://${path}`,
          operation: 'get',
        },
      );
    }
    target.set(bytes);
    return target;
  }

  getRange(uri: string, offset: number, length?: number, options?: GetRangeOptions): Promise<Uint8Array> {
    return runOperation('getRange', uri, options, GET_RANGE_KEYS, async (scope, opts) => {
      const path = this.pathOf(uri);
      const start = expectNonNegativeInteger(offset, 'offset');
      const count = length === undefined ? -1 : expectNonNegativeInteger(length, 'length');
      rangeOptionsFrom(opts, {}, 0); // checked; a range is one native read here
      return this.read(path, start, count, scope);
    });
  }

  getInto(uri: string, target: ArrayBufferView, offset?: number, options?: GetOptions): Promise<number> {
    return runOperation('getInto', uri, options, GET_KEYS, async (scope, opts) => {
      const window = intoWindow(target, offset);
      optionalBoolean(opts.verify, 'options.verify', false);
      rangeOptionsFrom(opts, {}, 0); // checked; the object is one native read here
      // One copy: the native read lands in addon memory (aligned, for direct://), then here.
      return placeInto(window, await this.read(this.pathOf(uri), 0, -1, scope), uri);
    });
  }

  getStream(uri: string, options?: StreamOptions): Readable {
    return rangeStream(this, uri, options);
  }

  createWriter(requestedUri: string, options?: WriterOptions): ObjectWriter {
    const uri = writerUri(requestedUri, options);
    return this.writerFor(uri, this.objectPathOf(uri), options);
  }

  private writerFor(uri: string, destination: string, options?: WriterOptions, label?: string): ObjectWriter {
    const { direct, fsync, allowBufferedFallback, alignment } = this.settings;
    const sink = new LocalPartSink(destination, {
      direct,
      fsync,
      allowBufferedFallback,
      alignment,
      putWhole: (bytes, signal) => this.put(uri, bytes, { signal }),
    });
    return new PartWriter(uri, sink, options, label);
  }

  getWebStream(uri: string, options?: StreamOptions): ReadableStream<Uint8Array> {
    return rangeWebStream(this, uri, options);
  }

  getMany(uris: readonly string[], options?: BatchOptions): Promise<Uint8Array[]> {
    return runOperation('getMany', batchLabel(uris), options, BATCH_KEYS, async (scope, opts) => {
      const list = expectArray(uris, 'uris');
      const concurrency = optionalPositiveInteger(opts.concurrency, 'options.concurrency', DEFAULT_CONCURRENCY);
      const paths = list.map((uri, index) => this.pathOf(uri, `uris[${index}]`));
      const results = await scope.race(this.readMany(paths, concurrency, scope));
      const errors: S3dlioError[] = [];
      const values = results.map((result, index) => {
        if (isReadResult(result)) return viewOf(result);
        errors.push(toS3dlioError(result, 'getMany', String(list[index])) as S3dlioError);
        return new Uint8Array(0);
      });
      if (errors.length > 0) throw new BatchError('getMany', errors, values.length - errors.length);
      return values;
    });
  }

  // ---- writes ----

  put(uri: string, data: PutData, options?: PutOptions): Promise<void> {
    return runOperation('put', uri, options, PUT_KEYS, (scope, opts) => {
      putSettings(opts); // checked; a local put is one atomic file write
      return this.write(uri, this.objectPathOf(uri), toBytes(data), scope, PUT_PARTS_IN_FLIGHT);
    });
  }

  putMany(items: readonly PutItem[], options?: BatchOptions): Promise<void> {
    return runOperation('putMany', batchLabel(items), options, BATCH_KEYS, async (scope, opts) => {
      const list = expectArray(items, 'items') as PutItem[];
      const concurrency = optionalPositiveInteger(opts.concurrency, 'options.concurrency', DEFAULT_CONCURRENCY);
      const prepared = list.map((item, index) => {
        if (typeof item !== 'object' || item === null)
          throw invalidValue(`items[${index}]`, 'an object { uri, data }', item);
        return {
          uri: item.uri,
          path: this.objectPathOf(item.uri, `items[${index}].uri`),
          bytes: toBytes(item.data, `items[${index}].data`),
        };
      });
      // Items already write concurrently: one part in flight each keeps memory at ~2 parts per item.
      await runBatch(scope, prepared, uriOfItem, concurrency, (item) =>
        this.write(item.uri, item.path, item.bytes, scope, 1),
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
    // Validate and capture the caller's stack now, not at the first iteration.
    const callSite = new CallSite();
    const opts = expectKnownOptions(options, LIST_KEYS, 'listStream');
    const signal = optionalSignal(opts.signal);
    const recursive = optionalBoolean(opts.recursive, 'options.recursive', false);
    const matches = optionalMatcher(opts.pattern);
    const prefixPath = this.pathOf(prefixUri, 'prefixUri');
    const scheme = this.scheme;
    return (async function* () {
      try {
        if (signal?.aborted) throw abortError('listStream', prefixUri, signal.reason);
        for await (const entry of walkPrefix(prefixPath, recursive)) {
          if (signal?.aborted) throw abortError('listStream', prefixUri, signal.reason);
          if (matches && !matches(entry.path.slice(prefixPath.length))) continue;
          yield `${scheme}://${entry.path}`;
        }
      } catch (error) {
        throw callSite.attach(toS3dlioError(error, 'listStream', prefixUri));
      }
    })();
  }

  stat(uri: string, options?: OperationOptions): Promise<ObjectStat> {
    return runOperation('stat', uri, options, OPERATION_KEYS, async () => {
      const stats = await fs.stat(this.pathOf(uri));
      if (stats.isDirectory()) throw notAnObject(uri, 'stat', 'ERR_IS_DIRECTORY', 'it is a directory');
      if (!stats.isFile()) throw notAnObject(uri, 'stat', 'ERR_NOT_A_FILE', 'it is not a regular file');
      return { uri, size: stats.size, lastModified: stats.mtime };
    });
  }

  exists(uri: string, options?: OperationOptions): Promise<boolean> {
    return runOperation('exists', uri, options, OPERATION_KEYS, async () => {
      try {
        return (await fs.stat(this.pathOf(uri))).isFile();
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code === 'ENOENT' || code === 'ENOTDIR') return false;
        throw error;
      }
    });
  }

  // ---- deletion ----

  delete(uri: string, options?: OperationOptions): Promise<void> {
    return runOperation('delete', uri, options, OPERATION_KEYS, () => fs.unlink(this.pathOf(uri)));
  }

  deleteMany(uris: readonly string[], options?: BatchOptions): Promise<number> {
    return runOperation('deleteMany', batchLabel(uris), options, BATCH_KEYS, async (scope, opts) => {
      const list = expectArray(uris, 'uris');
      const concurrency = optionalPositiveInteger(opts.concurrency, 'options.concurrency', DEFAULT_CONCURRENCY);
      const items = list.map((uri, index) => ({ uri: String(uri), path: this.pathOf(uri, `uris[${index}]`) }));
      await runBatch(scope, items, uriOfItem, concurrency, (item) => fs.unlink(item.path));
      return items.length;
    });
  }

  deletePrefix(prefixUri: string, options?: DeletePrefixOptions): Promise<number> {
    return runOperation('deletePrefix', prefixUri, options, DELETE_PREFIX_KEYS, async (scope, opts) => {
      const settings = deletePrefixSettings(opts, DEFAULT_CONCURRENCY);
      const prefixPath = this.pathOf(prefixUri, 'prefixUri');
      const { directory, namePrefix } = splitPrefix(prefixPath);
      await guardDelete(
        { kind: 'entries', directory, namePrefix },
        { operation: 'deletePrefix', uri: prefixUri, allowProtectedPaths: settings.allowProtectedPaths },
      );
      const { matches } = settings;
      const scheme = this.scheme;
      const entries = (async function* () {
        for await (const entry of walkPrefix(prefixPath, true)) {
          if (matches && !matches(entry.path.slice(prefixPath.length))) continue;
          yield { uri: `${scheme}://${entry.path}`, path: entry.path };
        }
      })();
      const deleted = await deleteInBatches(
        scope,
        entries,
        1000,
        uriOfItem,
        (batch, removed) =>
          runBatch(scope, batch, uriOfItem, settings.concurrency, async (item) => {
            await fs.unlink(item.path);
            removed(item);
          }).then(() => undefined),
        settings.onDeleted,
      );
      await pruneEmptyDirectories(prefixPath);
      return deleted;
    });
  }

  // ---- copy and rename ----

  copy(srcUri: string, dstUri: string, options?: OperationOptions): Promise<void> {
    return runOperation('copy', srcUri, options, OPERATION_KEYS, async (scope) => {
      const source = this.pathOf(srcUri, 'srcUri');
      const destination = this.objectPathOf(dstUri, 'dstUri');
      // Two names of one file: it already holds the bytes (rewriting it would only risk them).
      if (await sameFile(source, destination)) return;
      await this.copyFile(source, destination, scope);
    });
  }

  rename(srcUri: string, dstUri: string, options?: RenameOptions): Promise<void> {
    return runOperation('rename', srcUri, options, RENAME_KEYS, async (scope, opts) => {
      const requireAtomic = optionalBoolean(opts.requireAtomic, 'options.requireAtomic', false);
      const source = this.pathOf(srcUri, 'srcUri');
      const destination = this.objectPathOf(dstUri, 'dstUri');
      // Two names of one file (a symlink and its target, hard links, a bind mount): nothing to move.
      // rename(2) would replace the target by the link, and copy + unlink would delete the file.
      if (await sameFile(source, destination)) return;
      await ensureParent(destination);
      try {
        await fs.rename(source, destination);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EXDEV' || requireAtomic) throw error;
        warnOnce(
          'S3DLIO_RENAME_NOT_ATOMIC',
          `rename ${srcUri} -> ${dstUri} crosses filesystems: copying then deleting (not atomic). ` +
            'Pass { requireAtomic: true } to fail instead.',
        );
        await this.copyFile(source, destination, scope);
        await fs.unlink(source);
      }
    });
  }

  // ---- buckets (directories) ----

  createBucket(uri: string, options?: OperationOptions): Promise<void> {
    return runOperation('createBucket', uri, options, OPERATION_KEYS, async () => {
      await fs.mkdir(this.pathOf(uri), { recursive: true });
    });
  }

  deleteBucket(uri: string, options?: DeleteBucketOptions): Promise<void> {
    return runOperation('deleteBucket', uri, options, DELETE_BUCKET_KEYS, async (_scope, opts) => {
      const force = optionalBoolean(opts.force, 'options.force', false);
      const allowProtectedPaths = optionalBoolean(opts.allowProtectedPaths, 'options.allowProtectedPaths', false);
      const path = this.pathOf(uri);
      const stats = await fs.stat(path).catch((error: NodeJS.ErrnoException) => {
        if (error.code === 'ENOENT' || error.code === 'ENOTDIR') return undefined;
        throw error;
      });
      if (!stats?.isDirectory()) {
        throw new S3dlioError('ERR_BUCKET_NOT_FOUND', `deleteBucket ${uri}: no such bucket (directory)`, {
          uri,
          operation: 'deleteBucket',
        });
      }
      await guardDelete({ kind: 'tree', path }, { operation: 'deleteBucket', uri, allowProtectedPaths });
      if (force) return fs.rm(path, { recursive: true });
      await fs.rmdir(path).catch((error: NodeJS.ErrnoException) => {
        if (error.code !== 'ENOTEMPTY' && error.code !== 'EEXIST') throw error;
        throw new S3dlioError(
          'ERR_BUCKET_NOT_EMPTY',
          `deleteBucket ${uri}: the bucket is not empty (pass { force: true } to delete its objects)`,
          {
            uri,
            operation: 'deleteBucket',
            cause: error,
          },
        );
      });
    });
  }

  /** The directories directly under the path of `schemeUri` (a local "bucket" is a directory). */
  listBuckets(schemeUri: string, options?: OperationOptions): Promise<string[]> {
    return runOperation('listBuckets', schemeUri, options, OPERATION_KEYS, async () => {
      const path = this.pathOf(schemeUri, 'schemeUri');
      const directory = path.endsWith('/') ? path : `${path}/`;
      const entries = await fs.readdir(directory, { withFileTypes: true });
      return entries
        .filter((entry) => entry.isDirectory())
        .map((entry) => `${this.scheme}://${directory}${entry.name}/`)
        .sort();
    });
  }

  // ---- internals ----

  /** The absolute path of a URI of this store's scheme. */
  protected pathOf(uri: unknown, name = 'uri'): string {
    const parsed = parseUri(uri, name);
    if (parsed.scheme !== this.scheme || !isLocalScheme(parsed.scheme)) {
      throw new S3dlioError(
        'ERR_INVALID_URI',
        `Invalid URI ${JSON.stringify(uri)}: this ${this.scheme}:// store only takes ${this.scheme}:// URIs`,
        { uri: parsed.uri },
      );
    }
    return parsed.path as string;
  }

  /** Like pathOf, for a URI that names an object to create (so it cannot end with `/`). */
  protected objectPathOf(uri: unknown, name = 'uri'): string {
    const path = this.pathOf(uri, name);
    if (path.endsWith('/')) {
      throw new S3dlioError(
        'ERR_INVALID_URI',
        `Invalid URI ${JSON.stringify(uri)}: an object key cannot end with '/'`,
        { uri: String(uri) },
      );
    }
    return path;
  }

  private readOptions(direct: boolean): native.NativeReadOptions {
    const { alignment, cacheMode, chunkSize } = this.settings;
    return { direct, alignment, cacheMode, chunkSize, maxLength: MAX_OBJECT_LENGTH };
  }

  private async read(path: string, offset: number, length: number, scope: OperationScope): Promise<Uint8Array> {
    return viewOf(await this.readResult(path, offset, length, scope));
  }

  private readResult(
    path: string,
    offset: number,
    length: number,
    scope: OperationScope,
  ): Promise<native.NativeReadResult> {
    return scope.race(
      this.withFallback(path, (direct) =>
        native.readFile(path, { ...this.readOptions(direct), offset, length }, scope.cancelFlag),
      ),
    );
  }

  private async readMany(
    paths: string[],
    threads: number,
    scope: OperationScope,
  ): Promise<Array<native.NativeReadResult | Error>> {
    // `concurrency` bounds the reads in flight; the addon starts at most MAX_NATIVE_THREADS threads.
    threads = Math.min(threads, native.MAX_NATIVE_THREADS);
    const results = await native.readFiles(
      paths,
      { ...this.readOptions(this.settings.direct), threads },
      scope.cancelFlag,
    );
    const refused = results.flatMap((result, index) => (isDirectIoRefusal(result) ? [index] : []));
    if (refused.length === 0 || !this.settings.allowBufferedFallback) return results;
    this.warnFallback(paths[refused[0]]);
    const retried = await native.readFiles(
      refused.map((index) => paths[index]),
      { ...this.readOptions(false), threads },
      scope.cancelFlag,
    );
    refused.forEach((index, position) => (results[index] = retried[position]));
    return results;
  }

  /**
   * Writes a whole object. The native writer copies memory it cannot pin (ordinary JS memory, see
   * native.memoryKind) on the main thread before its job starts; above one chunk that copy is made
   * part by part through the streaming writer instead, so memory stays within a few chunks and a
   * buffer transferred between parts fails the put (ERR_BUFFER_DETACHED) without storing anything.
   */
  private async write(
    uri: string,
    path: string,
    bytes: Uint8Array,
    scope: OperationScope,
    partsInFlight: number,
  ): Promise<void> {
    const { alignment, fsync, chunkSize } = this.settings;
    const partSize = Math.ceil(chunkSize / PART_MULTIPLE) * PART_MULTIPLE;
    if (bytes.byteLength > partSize && native.memoryKind(bytes) === 'foreign') {
      const writer = this.writerFor(uri, path, { partSize, concurrency: partsInFlight, signal: scope.signal }, 'put');
      await writer.write(bytes);
      await writer.close();
      return;
    }
    // Not raced against the signal: the native job removes its temporary file before settling.
    return this.withFallback(path, (direct) =>
      native.writeFile(path, bytes, { direct, alignment, fsync, chunkSize }, scope.cancelFlag),
    );
  }

  private async copyFile(source: string, destination: string, scope: OperationScope): Promise<void> {
    // Native: the source is opened like a read (never blocking on a FIFO, special files refused,
    // pseudo files read whole), then reflink/copy_file_range into a temp file renamed into place.
    const { fsync } = this.settings;
    await native.copyFile(source, destination, { fsync, maxLength: MAX_OBJECT_LENGTH }, scope.cancelFlag);
  }

  /** Runs `io` with O_DIRECT when configured, degrading to buffered I/O only when allowed. */
  private async withFallback<T>(path: string, io: (direct: boolean) => Promise<T>): Promise<T> {
    if (!this.settings.direct) return io(false);
    try {
      return await io(true);
    } catch (error) {
      if (!this.settings.allowBufferedFallback || !isDirectIoRefusal(error)) throw error;
      this.warnFallback(path);
      return io(false);
    }
  }

  private warnFallback(path: string): void {
    warnOnce(
      'S3DLIO_DIRECT_IO_FALLBACK',
      `direct:// cannot use O_DIRECT for ${path}; using buffered I/O because allowBufferedFallback is set. ` +
        'Results and speed are those of file://.',
    );
  }
}

/** A view over the addon's memory: no copy between the read syscall and the caller. */
function viewOf(result: native.NativeReadResult): Uint8Array {
  if (result.copied) {
    warnOnce(
      'S3DLIO_EXTERNAL_BUFFERS_REFUSED',
      'This runtime refuses external ArrayBuffers (e.g. Electron >= 21): every read is copied once more.',
    );
  }
  return new Uint8Array(result.buffer, result.byteOffset, result.length);
}

/** Native batch entries are results or errors; errors may come from another realm, so no instanceof. */
function isReadResult(value: native.NativeReadResult | Error): value is native.NativeReadResult {
  return typeof (value as Partial<native.NativeReadResult>).fileSize === 'number';
}

function isDirectIoRefusal(value: unknown): boolean {
  return (
    typeof value === 'object' && value !== null && (value as { code?: unknown }).code === 'ERR_DIRECT_IO_UNSUPPORTED'
  );
}

function uriOfItem(item: { uri: string }): string {
  return item.uri;
}

function notAnObject(
  uri: string,
  operation: string,
  code: 'ERR_IS_DIRECTORY' | 'ERR_NOT_A_FILE',
  reason: string,
): S3dlioError {
  return new S3dlioError(code, `${operation} ${uri}: ${reason}, not an object`, { uri, operation });
}
