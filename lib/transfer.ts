/**
 * Transfers between local files and any store: `upload` (glob patterns → a prefix) and
 * `download` (a prefix → a directory). Objects stream through writers (bounded memory), run with
 * bounded concurrency, report progress, and report every failure. A key can never make
 * `download` write outside the directory the caller named.
 */
import { promises as fs } from 'fs';
import * as path from 'path';
import { type Readable, Transform } from 'stream';
import { pipeline } from 'stream/promises';

import { glob } from 'tinyglobby';

import { BatchError, S3dlioError, toS3dlioError } from './errors';
import { optionKeys } from './internal/option-keys';
import { settleConcurrently } from './internal/pool';
import type { OperationOptions } from './object-store';
import { runOperation } from './operation';
import { storeFor } from './stores';
import { openRegularFile } from './backends/local/paths';
import { keyNamesDirectory, objectsToTransfer } from './internal/folder-markers';
import { LocalRoot, type PlacedFile } from './internal/local-root';
import { bucketUriOf, isLocalScheme, parseUri } from './uri';
import {
  expectArray,
  expectString,
  invalidType,
  invalidValue,
  optionalBoolean,
  optionalMatcher,
  optionalPositiveInteger,
} from './validate';

/** Progress of a transfer, reported after each chunk and each object. */
export interface TransferProgress {
  objectsDone: number;
  objectsTotal: number;
  bytesDone: number;
  /** Known for uploads (file sizes); undefined for downloads. */
  bytesTotal?: number;
  /** Average rate since the start. */
  bytesPerSecond: number;
}

/** Options of `upload` and `download`. */
export interface TransferOptions extends OperationOptions {
  /** Objects in flight (default 8). */
  concurrency?: number;
  /** Called with the progress (often: keep it cheap). */
  onProgress?: (progress: TransferProgress) => void;
  /** Called after each object is complete, with its destination (upload) or source URI and size. */
  onObject?: (uri: string, bytes: number) => void;
  /** Resolve with the failures listed instead of rejecting with a BatchError (default false). */
  continueOnError?: boolean;
  /** Part size of the writers (default 16 MiB). */
  partSize?: number;
}

/** Options of `upload`. */
export interface UploadOptions extends TransferOptions {
  /** Create the destination bucket (directory) first, if missing. */
  createBucket?: boolean;
  /**
   * Upload files reached through a symlink that leads out of the pattern's directory (default
   * false: such files are refused with ERR_UNSAFE_PATH and listed as failures). Symlinks whose
   * target stays inside the directory are always followed.
   */
  followSymlinks?: boolean;
  /** Only files whose path relative to their pattern's directory (their key below the prefix) matches. */
  pattern?: RegExp | string;
}

/** Options of `download`. */
export interface DownloadOptions extends TransferOptions {
  /** Every object below the prefix (default true), or only its direct children. */
  recursive?: boolean;
  /** Only keys whose path relative to the prefix matches. */
  pattern?: RegExp | string;
}

/** The option keys every transfer takes. */
const TRANSFER_KEYS = {
  signal: true,
  concurrency: true,
  onProgress: true,
  onObject: true,
  continueOnError: true,
  partSize: true,
} as const;

const UPLOAD_KEYS = optionKeys<UploadOptions>()({
  ...TRANSFER_KEYS,
  createBucket: true,
  followSymlinks: true,
  pattern: true,
});

const DOWNLOAD_KEYS = optionKeys<DownloadOptions>()({ ...TRANSFER_KEYS, recursive: true, pattern: true });

/** The options both transfers share, checked before anything is listed or read. */
function transferSettings(opts: Partial<TransferOptions>): { concurrency: number; continueOnError: boolean } {
  for (const name of ['onProgress', 'onObject'] as const) {
    if (opts[name] !== undefined && typeof opts[name] !== 'function') {
      throw invalidType(`options.${name}`, 'a function', opts[name]);
    }
  }
  optionalPositiveInteger(opts.partSize, 'options.partSize', 1);
  return {
    concurrency: optionalPositiveInteger(opts.concurrency, 'options.concurrency', 8),
    continueOnError: optionalBoolean(opts.continueOnError, 'options.continueOnError', false),
  };
}

/** What a transfer did. */
export interface TransferResult {
  objects: number;
  bytes: number;
  /** Every object that failed, with its error (empty unless continueOnError). */
  failed: Array<{ uri: string; error: S3dlioError }>;
}

const GLOB_CHARS = /[*?[\]{}!]/;

/** The directory part of a pattern before its first glob character (what paths are relative to). */
function patternBase(pattern: string): string {
  const segments = pattern.split('/');
  const firstGlob = segments.findIndex((segment) => GLOB_CHARS.test(segment));
  if (firstGlob === -1) return path.dirname(pattern);
  // Stryker disable next-line StringLiteral: path.relative takes '' as the working directory, as it does '.'
  return segments.slice(0, firstGlob).join('/') || '.';
}

class Progress {
  private readonly started = Date.now();
  private readonly state: TransferProgress;

  constructor(
    objectsTotal: number,
    bytesTotal: number | undefined,
    private readonly report: ((progress: TransferProgress) => void) | undefined,
  ) {
    this.state = { objectsDone: 0, objectsTotal, bytesDone: 0, bytesTotal, bytesPerSecond: 0 };
  }

  bytes(count: number): void {
    this.state.bytesDone += count;
    this.emit();
  }

  object(): void {
    this.state.objectsDone++;
    this.emit();
  }

  private emit(): void {
    if (!this.report) return;
    const seconds = Math.max((Date.now() - this.started) / 1000, 1e-3);
    this.state.bytesPerSecond = this.state.bytesDone / seconds;
    this.report({ ...this.state });
  }
}

/** Counts bytes flowing through, for progress. */
function counter(progress: Progress): Transform {
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      progress.bytes(chunk.byteLength);
      callback(null, chunk);
    },
  });
}

function finish(
  operation: string,
  items: Array<{ uri: string }>,
  results: Array<{ ok: boolean; error?: unknown; value?: unknown }>,
  bytes: number,
  continueOnError: boolean,
): TransferResult {
  const failed = results.flatMap((result, index) =>
    result.ok
      ? []
      : [{ uri: items[index].uri, error: toS3dlioError(result.error, operation, items[index].uri) as S3dlioError }],
  );
  if (failed.length > 0 && !continueOnError) {
    throw new BatchError(
      operation,
      failed.map((failure) => failure.error),
      items.length - failed.length,
    );
  }
  return { objects: items.length - failed.length, bytes, failed };
}

/**
 * Uploads the files matching `localPatterns` (globs; `**` for any depth) below `destPrefixUri`,
 * keeping their paths relative to each pattern's fixed leading directory.
 */
export function upload(
  localPatterns: readonly string[],
  destPrefixUri: string,
  options?: UploadOptions,
): Promise<TransferResult> {
  return runOperation('upload', destPrefixUri, options, UPLOAD_KEYS, async (scope, opts) => {
    const patterns = expectArray(localPatterns, 'localPatterns').map((pattern, index) =>
      expectString(pattern, `localPatterns[${index}]`),
    );
    const prefix = expectString(destPrefixUri, 'destPrefixUri');
    const base = prefix.endsWith('/') ? prefix : `${prefix}/`;
    const store = storeFor(base);
    const { concurrency, continueOnError } = transferSettings(opts);
    const followSymlinks = optionalBoolean(opts.followSymlinks, 'options.followSymlinks', false);
    const matches = optionalMatcher(opts.pattern);
    if (optionalBoolean(opts.createBucket, 'options.createBucket', false))
      await store.createBucket(bucketUriOf(base), { signal: scope.signal });

    const items = await planUpload(patterns, base, { followSymlinks, matches });
    const sizes = await Promise.all(items.map(async (item) => (item.refused ? 0 : (await fs.stat(item.file)).size)));
    const progress = new Progress(
      items.length,
      sizes.reduce((sum, size) => sum + size, 0),
      opts.onProgress,
    );
    let bytes = 0;
    const results = await settleConcurrently(
      items,
      concurrency,
      async (item, index) => {
        if (item.refused) throw item.refused;
        const writer = store.createWriter(item.uri, { signal: scope.signal, partSize: opts.partSize });
        try {
          const source = await openRegularFile(item.file, item.uri, 'upload'); // no FIFO, no device
          await pipeline(source.createReadStream(), counter(progress), writer.toWritable());
        } catch (error) {
          await writer.abort(error);
          throw error;
        }
        bytes += sizes[index];
        progress.object();
        opts.onObject?.(item.uri, sizes[index]);
      },
      () => scope.signal?.aborted === true,
      // Stryker disable next-line all: unobservable: scope.throwIfAborted() below rejects the whole upload, so no unstarted object's error is reported
      () => new S3dlioError('ERR_ABORTED', 'upload: aborted before this object started', { operation: 'upload' }),
    );
    scope.throwIfAborted();
    return finish('upload', items, results, bytes, continueOnError);
  });
}

/** One file of an upload: its destination URI, and the refusal when it may not be uploaded. */
export interface UploadItem {
  uri: string;
  file: string;
  refused?: S3dlioError;
}

/**
 * The files `patterns` match and the URIs below `base` (ending with `/`) they go to, keyed by
 * their path relative to each pattern's fixed leading directory (and kept when `matches` it).
 * @internal also used by the CLI's `upload --dryrun`
 */
export async function planUpload(
  patterns: readonly string[],
  base: string,
  options: { followSymlinks: boolean; matches?: (relative: string) => boolean },
): Promise<UploadItem[]> {
  const files = new Map<string, { file: string; refused?: S3dlioError }>(); // destination URI -> local file
  for (const pattern of patterns) {
    const root = path.resolve(patternBase(pattern));
    const realRoot = await fs.realpath(root).catch(() => root);
    for (const file of await glob(pattern, { absolute: true, onlyFiles: true, dot: true })) {
      const relative = path.relative(root, file).split(path.sep).join('/');
      if (options.matches && !options.matches(relative)) continue;
      const uri = `${base}${relative}`;
      const previous = files.get(uri);
      if (previous !== undefined && previous.file !== file) {
        throw invalidValue(
          'localPatterns',
          `patterns that give each file its own key (${previous.file} and ${file} would both be written to ${uri})`,
          patterns,
        );
      }
      const refused = options.followSymlinks ? undefined : await leavesTree(file, realRoot, uri);
      files.set(uri, { file, ...(refused && { refused }) });
    }
  }
  return [...files].map(([uri, entry]) => ({ uri, ...entry }));
}

/**
 * ERR_UNSAFE_PATH when `file` is reached through a symlink that leads out of `realRoot` (the
 * pattern's directory, resolved): uploading it would publish a file the user did not point at.
 * @internal also used by the CLI's tree copies from a local directory (`operation`, `override`).
 */
export async function leavesTree(
  file: string,
  realRoot: string,
  uri: string,
  operation = 'upload',
  override = 'not uploaded (pass { followSymlinks: true } to upload it)',
): Promise<S3dlioError | undefined> {
  const real = await fs.realpath(file);
  if (real.startsWith(realRoot.endsWith(path.sep) ? realRoot : realRoot + path.sep)) return undefined;
  return new S3dlioError(
    'ERR_UNSAFE_PATH',
    `${operation} ${file}: it is a symbolic link to ${real}, outside ${realRoot}; ${override}`,
    { uri, operation },
  );
}

/**
 * Downloads the objects below `srcPrefixUri` into `localDir`, keeping their paths relative to the
 * prefix (to the prefix's parent when it does not end with `/`). Nothing is written outside
 * `localDir`: a key that would leave it (`..` segments, an absolute path) or a path below it that
 * is a symlink is refused with ERR_UNSAFE_PATH (see lib/internal/local-root.ts).
 */
export function download(srcPrefixUri: string, localDir: string, options?: DownloadOptions): Promise<TransferResult> {
  return runOperation('download', srcPrefixUri, options, DOWNLOAD_KEYS, async (scope, opts) => {
    const prefix = expectString(srcPrefixUri, 'srcPrefixUri');
    const directory = expectString(localDir, 'localDir');
    const store = storeFor(prefix);
    const { concurrency, continueOnError } = transferSettings(opts);
    const recursive = optionalBoolean(opts.recursive, 'options.recursive', true);
    optionalMatcher(opts.pattern); // validated here; the store applies it
    const base = prefix.slice(0, prefix.lastIndexOf('/') + 1);
    // Subdirectories (not recursive) and folder markers are no files; an object holding bytes
    // under a key ending with '/' is reported below rather than lost unseen.
    const uris = await objectsToTransfer(
      store.listDetailed(prefix, { recursive, pattern: opts.pattern, signal: scope.signal }),
    );
    const items = uris.map((uri) => ({ uri, relative: uri.slice(base.length) }));
    const progress = new Progress(items.length, undefined, opts.onProgress);
    const root = await LocalRoot.open(directory);
    let bytes = 0;
    try {
      const results = await settleConcurrently(
        items,
        concurrency,
        async (item) => {
          if (item.uri.endsWith('/')) throw keyNamesDirectory(item.uri, 'download');
          const received = await root.withPlace(item.relative, item.uri, 'download', (placed) =>
            writePlaced(store.getStream(item.uri, { signal: scope.signal }), placed, item.uri, {
              signal: scope.signal,
              partSize: opts.partSize,
              onBytes: (count) => progress.bytes(count),
            }),
          );
          bytes += received;
          progress.object();
          opts.onObject?.(item.uri, received);
        },
        () => scope.signal?.aborted === true,
        // Stryker disable next-line all: unobservable: scope.throwIfAborted() below rejects the whole download, so no unstarted object's error is reported
        () => new S3dlioError('ERR_ABORTED', 'download: aborted before this object started', { operation: 'download' }),
      );
      scope.throwIfAborted();
      return finish('download', items, results, bytes, continueOnError);
    } finally {
      await root.close();
    }
  });
}

/**
 * Writes `source` to a placed local file through a writer (temp file + rename: never half
 * written); resolves to the byte count. Errors name the file as the user sees it.
 * @internal also used by the CLI's `get -o`
 */
export async function writePlaced(
  source: Readable,
  placed: PlacedFile,
  uri: string,
  options: { signal?: AbortSignal; partSize?: number; onBytes?: (count: number) => void },
): Promise<number> {
  const writer = storeFor('file:///').createWriter(`file://${placed.path}`, {
    signal: options.signal,
    partSize: options.partSize,
  });
  let received = 0;
  try {
    await pipeline(
      source,
      new Transform({
        transform(chunk: Buffer, _encoding, callback) {
          received += chunk.byteLength;
          options.onBytes?.(chunk.byteLength);
          callback(null, chunk);
        },
      }),
      writer.toWritable(),
    );
  } catch (error) {
    await writer.abort(error);
    throw describedAs(error, placed, uri);
  }
  return received;
}

/** One object's place in a destination prefix. */
export interface PlacedObject {
  /** The URI to write the object to. */
  readonly uri: string;
  /** The same place as the user sees it (destination prefix + key). */
  readonly displayUri: string;
}

/** Where a prefix-to-prefix transfer writes (recursive copy): objects keyed relative to a prefix. */
export interface Destination {
  /**
   * Runs `work` with the place of the object whose key relative to the prefix is `relative`
   * (`uri`: its source, named in errors); an error of `work` names the place as the user sees it.
   */
  write<T>(relative: string, uri: string, work: (target: PlacedObject) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/**
 * Opens the destination prefix `prefixUri` (ending with `/`). A local prefix is a destination
 * root: keys that would leave it and symlinks below it are refused (ERR_UNSAFE_PATH). A cloud
 * prefix just prepends itself to the keys.
 */
export async function openDestination(prefixUri: string, operation: string): Promise<Destination> {
  const parsed = parseUri(prefixUri, 'dstUri');
  if (!isLocalScheme(parsed.scheme)) {
    return {
      write: (relative, _uri, work) => {
        const uri = `${prefixUri}${relative}`;
        return work({ uri, displayUri: uri });
      },
      close: async () => undefined,
    };
  }
  const scheme = parsed.scheme;
  const root = await LocalRoot.open(parsed.path as string);
  return {
    write: (relative, uri, work) =>
      root.withPlace(relative, uri, operation, async (placed) => {
        try {
          return await work({ uri: `${scheme}://${placed.path}`, displayUri: `${scheme}://${placed.displayPath}` });
        } catch (error) {
          throw describedAs(error, placed, uri);
        }
      }),
    close: () => root.close(),
  };
}

/** An error about a placed file, reported with the object's URI and the path the user knows. */
function describedAs(error: unknown, placed: PlacedFile, uri: string): unknown {
  if (!(error instanceof S3dlioError) || placed.path === placed.displayPath) return error;
  return new S3dlioError(error.code, placed.describe(error.message), {
    uri,
    operation: error.operation,
    cause: error,
    errno: error.errno,
    errnoName: error.errnoName,
    syscall: error.syscall,
  });
}
