/**
 * What file:// and direct:// share: the object API over a local directory tree, with the bytes
 * moved by the native addon (zero-copy reads, atomic temp-file + rename writes).
 */
import { constants as bufferConstants } from 'buffer';
import { promises as fs } from 'fs';

import { BatchError, S3dlioError, toS3dlioError } from '../../errors';
import { type DeletePrefixSettings, batchLabel } from '../../internal/batch';
import * as native from '../../native';
import {
  BATCH_KEYS,
  type BatchOptions,
  type BodyPlacement,
  type ByteRange,
  type ObjectStat,
  type PartSink,
  type WriterOptions,
} from '../../object-store';
import { OperationScope, runOperation, warnOnce } from '../../operation';
import { type OpItem, type OpPlace, errorCodeOf } from '../../oplog/recorder';
import { isLocalScheme, parseUri } from '../../uri';
import { expectArray } from '../../validate';
import {
  BaseStore,
  batchConcurrency,
  type ListEntry,
  type MoveSettings,
  type RefKind,
  type WriteSettings,
} from '../base-store';
import { guardPrefixDelete, guardTreeDelete } from './delete-guard';
import { LocalPartSink } from './local-writer';
import { ensureParent, pruneEmptyDirectories, sameFile, walkPrefix } from './paths';

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

// Entries per listing page (a deletePrefix deletes a page at a time).
const LIST_PAGE = 1000;

/**
 * The store shared by the local backends. A ref is the absolute path. The RangeEngine is opt-in
 * here: native reads already keep chunks in flight (direct://) or ride the page cache (file://).
 */
export abstract class LocalStore extends BaseStore<string> {
  abstract override readonly scheme: 'file' | 'direct';

  protected constructor(protected readonly settings: LocalIoSettings) {
    super({}, 0);
  }

  // ---- primitives ----

  protected refOf(uri: unknown, name: string, kind: RefKind): string {
    return kind === 'create' ? this.objectPathOf(uri, name) : this.pathOf(uri, name);
  }

  protected uriOf(path: string): string {
    return `${this.scheme}://${path}`;
  }

  /** One native read; with a placement, copied once into the memory it names. */
  protected async readRange(
    path: string,
    uri: string,
    range: ByteRange,
    scope: OperationScope,
    placement?: BodyPlacement,
  ): Promise<Uint8Array> {
    // Capped: a range to the last exact offset from 0 is one byte longer than a length can say.
    const length = range.end === undefined ? -1 : Math.min(range.end - range.start + 1, Number.MAX_SAFE_INTEGER);
    const result = await this.readResult(path, range.start, length, scope);
    const bytes = viewOf(result);
    const target = placement?.onHeaders({ length: bytes.byteLength, totalSize: result.fileSize });
    if (!target) return bytes;
    if (target.byteLength !== bytes.byteLength) {
      throw new S3dlioError(
        'ERR_CHANGED_DURING_READ',
        `${scope.operation} ${uri}: the file changed size while its ranges were being read`,
        { uri, operation: scope.operation },
      );
    }
    target.set(bytes);
    return target;
  }

  protected writeObject(
    path: string,
    uri: string,
    bytes: Uint8Array,
    scope: OperationScope,
    settings: WriteSettings,
  ): Promise<void> {
    // Items of a batch already write concurrently: one part in flight each keeps memory at ~2 parts per item.
    const partsInFlight = settings.inBatch ? 1 : PUT_PARTS_IN_FLIGHT;
    return this.write(uri, path, bytes, scope, { partsInFlight, throughSeam: true, overwrite: settings.overwrite });
  }

  protected openUpload(path: string, uri: string, options: WriterOptions): PartSink {
    const { direct, fsync, allowBufferedFallback, alignment } = this.settings;
    const overwrite = options.overwrite !== false;
    return new LocalPartSink(path, {
      direct,
      fsync,
      overwrite,
      allowBufferedFallback,
      alignment,
      // The bytes are the writer's own part buffer: written in place by the native writer (the
      // writer passes this request through the seam; `write` does not pass it again).
      putWhole: async (bytes, signal) => {
        const scope = new OperationScope('put', uri, signal);
        try {
          await this.write(uri, path, bytes, scope, { partsInFlight: 1, throughSeam: false, overwrite });
        } finally {
          scope.dispose();
        }
      },
    });
  }

  protected async *listPages(
    prefixPath: string,
    uri: string,
    recursive: boolean,
    _scope: OperationScope,
    details: boolean,
  ): AsyncIterable<Array<ListEntry<string>>> {
    const entries = walkPrefix(prefixPath, recursive)[Symbol.asyncIterator]();
    for (;;) {
      // One page of the walk is one LIST request through the seam (with its stats, when asked).
      const walked = await this.io('LIST', uri, async () => {
        const taken: Array<ListEntry<string>> = [];
        for (let next = await entries.next(); !next.done; next = await entries.next()) {
          const { path, directory } = next.value;
          taken.push({ uri: this.uriOf(path), ref: path, ...(directory && { prefix: true }) });
          if (taken.length === LIST_PAGE) break;
        }
        return details ? { taken, page: await withMetadata(taken) } : { taken, page: taken };
      });
      if (walked.page.length > 0) yield walked.page;
      if (walked.taken.length < LIST_PAGE) return;
    }
  }

  protected async head(path: string, uri: string, scope: OperationScope): Promise<Omit<ObjectStat, 'uri'>> {
    const stats = await fs.stat(path);
    if (stats.isDirectory()) throw notAnObject(uri, scope.operation, 'ERR_IS_DIRECTORY', 'it is a directory');
    if (!stats.isFile()) throw notAnObject(uri, scope.operation, 'ERR_NOT_A_FILE', 'it is not a regular file');
    return metadataOf(stats);
  }

  protected remove(path: string): Promise<void> {
    return fs.unlink(path);
  }

  protected copyObject(source: string, destination: string, _uri: string, scope: OperationScope): Promise<void> {
    return this.copyFile(source, destination, scope);
  }

  /** Two names of one file: a symlink and its target, hard links, a bind mount. */
  protected sameObject(source: string, destination: string): Promise<boolean> {
    return sameFile(source, destination);
  }

  /** rename(2), atomic on one filesystem; across filesystems copy + unlink, unless forbidden. */
  protected override async move(
    source: string,
    destination: string,
    scope: OperationScope,
    settings: MoveSettings,
  ): Promise<void> {
    await ensureParent(destination);
    try {
      await this.io('MOVE', settings.dstUri, () => fs.rename(source, destination));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EXDEV' || settings.requireAtomic) throw error;
      warnOnce(
        'S3DLIO_RENAME_NOT_ATOMIC',
        `rename ${settings.srcUri} -> ${settings.dstUri} crosses filesystems: copying then deleting (not atomic). ` +
          'Pass { requireAtomic: true } to fail instead.',
      );
      await this.io('COPY', settings.dstUri, () => this.copyFile(source, destination, scope));
      await this.io('DELETE', settings.srcUri, () => fs.unlink(source));
    }
  }

  protected async makeBucket(path: string): Promise<void> {
    await fs.mkdir(path, { recursive: true });
  }

  protected async removeBucket(
    path: string,
    uri: string,
    _scope: OperationScope,
    { force, allowProtectedPaths }: { force: boolean; allowProtectedPaths: boolean },
  ): Promise<void> {
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
    await guardTreeDelete(path, uri, allowProtectedPaths);
    if (force) return this.io('DELETE', uri, () => fs.rm(path, { recursive: true }));
    await this.io('DELETE', uri, () => fs.rmdir(path)).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'ENOTEMPTY' && error.code !== 'EEXIST') throw error;
      throw new S3dlioError(
        'ERR_BUCKET_NOT_EMPTY',
        `deleteBucket ${uri}: the bucket is not empty (pass { force: true } to delete its objects)`,
        { uri, operation: 'deleteBucket', cause: error },
      );
    });
  }

  /** The directories directly under the path of `schemeUri` (a local "bucket" is a directory). */
  protected async bucketUris(schemeUri: string): Promise<string[]> {
    const path = this.pathOf(schemeUri, 'schemeUri');
    const directory = path.endsWith('/') ? path : `${path}/`;
    const entries = await fs.readdir(directory, { withFileTypes: true });
    return entries.filter((entry) => entry.isDirectory()).map((entry) => this.uriOf(`${directory}${entry.name}/`));
  }

  protected override async beforeDeletePrefix(
    prefixPath: string,
    uri: string,
    settings: DeletePrefixSettings,
  ): Promise<void> {
    await guardPrefixDelete(prefixPath, uri, settings.allowProtectedPaths);
  }

  protected override afterDeletePrefix(prefixPath: string): Promise<void> {
    return pruneEmptyDirectories(prefixPath);
  }

  // ---- faster paths ----

  /** One native call reads every file, on the addon's threads. */
  override getMany(uris: readonly string[], options?: BatchOptions): Promise<Uint8Array[]> {
    return runOperation('getMany', batchLabel(uris), options, BATCH_KEYS, async (scope, opts) => {
      const list = expectArray(uris, 'uris');
      const concurrency = batchConcurrency(opts);
      const paths = list.map((uri, index) => this.pathOf(uri, `uris[${index}]`));
      // One native call reads them all: one request through the seam; an op-log gets one line
      // per file, timed on the thread that read it.
      const timing = this.logging;
      const results = await this.io(
        'GET',
        String(list[0] ?? ''),
        () => scope.race(this.readMany(paths, concurrency, scope, timing)),
        paths.length,
        0,
        (read) => (timing ? itemsOf(paths, read) : undefined),
      );
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

  /**
   * The op-log's place of a request: the path of the URI as `pathOf` makes it (`//` collapsed),
   * without parsing it again (the URI was checked when the request was made).
   */
  protected override opLogPlace(uri: string): OpPlace {
    const file = uri.slice(uri.indexOf('://') + 3);
    return { endpoint: this.opLogEndpoint, file: file.includes('//') ? file.replace(/\/{2,}/g, '/') : file };
  }

  private get opLogEndpoint(): string {
    return `${this.scheme}://`;
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
    timing: boolean,
  ): Promise<native.NativeReadManyResult> {
    // `concurrency` bounds the reads in flight; the addon starts at most MAX_NATIVE_THREADS threads.
    threads = Math.min(threads, native.MAX_NATIVE_THREADS);
    const results = await native.readFiles(
      paths,
      { ...this.readOptions(this.settings.direct), threads, timing },
      scope.cancelFlag,
    );
    const refused = results.flatMap((result, index) => (isDirectIoRefusal(result) ? [index] : []));
    if (refused.length === 0 || !this.settings.allowBufferedFallback) return results;
    this.warnFallback(paths[refused[0]]);
    const retried = await native.readFiles(
      refused.map((index) => paths[index]),
      { ...this.readOptions(false), threads, timing },
      scope.cancelFlag,
    );
    refused.forEach((index, position) => {
      results[index] = retried[position];
      // The time of a file read again is its second read's.
      if (results.times && retried.times)
        results.times.set(retried.times.subarray(position * 3, position * 3 + 3), index * 3);
    });
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
    { partsInFlight, throughSeam, overwrite }: { partsInFlight: number; throughSeam: boolean; overwrite: boolean },
  ): Promise<void> {
    const { alignment, fsync, chunkSize } = this.settings;
    const partSize = Math.ceil(chunkSize / PART_MULTIPLE) * PART_MULTIPLE;
    if (bytes.byteLength > partSize && native.memoryKind(bytes) === 'foreign') {
      const options: WriterOptions = { partSize, concurrency: partsInFlight, overwrite, signal: scope.signal };
      const writer = this.writerFor(path, uri, options, { label: 'put' });
      await writer.write(bytes);
      await writer.close();
      return;
    }
    // Not raced against the signal: the native job removes its temporary file before settling.
    const request = (): Promise<void> =>
      this.withFallback(path, (direct) =>
        native.writeFile(path, bytes, { direct, alignment, fsync, chunkSize, noReplace: !overwrite }, scope.cancelFlag),
      );
    return throughSeam ? this.io('PUT', uri, request, 1, bytes.byteLength) : request();
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

function notAnObject(
  uri: string,
  operation: string,
  code: 'ERR_IS_DIRECTORY' | 'ERR_NOT_A_FILE',
  reason: string,
): S3dlioError {
  return new S3dlioError(code, `${operation} ${uri}: ${reason}, not an object`, { uri, operation });
}

/** getMany's files as op-log items, with the times and threads the native reads reported. */
function itemsOf(paths: readonly string[], results: native.NativeReadManyResult): OpItem[] | undefined {
  const { times } = results;
  if (times === undefined) return undefined;
  return paths.map((file, index) => {
    const result = results[index];
    const failed = result instanceof Error;
    return {
      file,
      bytes: failed ? 0 : result.length,
      error: failed ? errorCodeOf(result) : '',
      startNs: times[index * 3],
      endNs: times[index * 3 + 1],
      thread: times[index * 3 + 2],
    };
  });
}

/** What `head` and a detailed listing report of a file's stats. */
function metadataOf(stats: { size: number; mtimeMs: number }): Omit<ObjectStat, 'uri'> {
  // A Date of this realm (fs makes its own: a test runner's instanceof Date would fail on it).
  return { size: stats.size, lastModified: new Date(stats.mtimeMs) };
}

/**
 * The page's files with their metadata: one stat(2) each (following a symlink, as `head` does),
 * all in flight at once on libuv's pool. A file deleted since the directory was read is no longer
 * below the prefix, and is left out as a listing made a moment later would leave it out.
 */
async function withMetadata(page: Array<ListEntry<string>>): Promise<Array<ListEntry<string>>> {
  const detailed = await Promise.all(
    page.map(async (entry) => {
      if (entry.prefix === true) return entry;
      try {
        return { ...entry, meta: metadataOf(await fs.stat(entry.ref)) };
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw error;
      }
    }),
  );
  return detailed.filter((entry): entry is ListEntry<string> => entry !== undefined);
}
