/**
 * Transfers between local files and any store: `upload` (glob patterns → a prefix) and
 * `download` (a prefix → a directory). Objects stream through writers (bounded memory), run with
 * bounded concurrency, report progress, and report every failure. A key can never make
 * `download` write outside the directory the caller named.
 */
import { promises as fs } from 'fs';
import * as path from 'path';
import { Transform } from 'stream';
import { pipeline } from 'stream/promises';

import { glob } from 'tinyglobby';

import { BatchError, S3dlioError, toS3dlioError } from '../errors';
import { settleConcurrently } from '../internal/pool';
import type { OperationOptions } from '../object-store';
import { runOperation } from '../operation';
import { storeFor } from '../stores';
import { openRegularFile, safeLocalTarget } from '../internal/local-paths';
import { bucketUriOf } from '../uri';
import { expectArray, expectString, optionalBoolean, optionalMatcher, optionalPositiveInteger } from '../validate';

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
}

/** Options of `download`. */
export interface DownloadOptions extends TransferOptions {
  /** Every object below the prefix (default true), or only its direct children. */
  recursive?: boolean;
  /** Only keys whose path relative to the prefix matches. */
  pattern?: RegExp | string;
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
  return runOperation('upload', destPrefixUri, options, async (scope, opts) => {
    const patterns = expectArray(localPatterns, 'localPatterns').map((pattern, index) =>
      expectString(pattern, `localPatterns[${index}]`),
    );
    const prefix = expectString(destPrefixUri, 'destPrefixUri');
    const base = prefix.endsWith('/') ? prefix : `${prefix}/`;
    const store = storeFor(base);
    const concurrency = optionalPositiveInteger(opts.concurrency, 'options.concurrency', 8);
    const continueOnError = optionalBoolean(opts.continueOnError, 'options.continueOnError', false);
    if (optionalBoolean(opts.createBucket, 'options.createBucket', false))
      await store.createBucket(bucketUriOf(base), { signal: scope.signal });

    const files = new Map<string, string>(); // destination URI -> local file
    for (const pattern of patterns) {
      const root = path.resolve(patternBase(pattern));
      for (const file of await glob(pattern, { absolute: true, onlyFiles: true, dot: true })) {
        const relative = path.relative(root, file).split(path.sep).join('/');
        const uri = `${base}${relative}`;
        const previous = files.get(uri);
        if (previous !== undefined && previous !== file) {
          throw new S3dlioError(
            'ERR_INVALID_ARG_VALUE',
            `upload: ${previous} and ${file} would both be written to ${uri}`,
            { uri, operation: 'upload' },
          );
        }
        files.set(uri, file);
      }
    }
    const items = [...files].map(([uri, file]) => ({ uri, file }));
    const sizes = await Promise.all(items.map(async (item) => (await fs.stat(item.file)).size));
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
      () => new S3dlioError('ERR_ABORTED', 'upload: aborted before this object started', { operation: 'upload' }),
    );
    scope.throwIfAborted();
    return finish('upload', items, results, bytes, continueOnError);
  });
}

/**
 * Downloads the objects below `srcPrefixUri` into `localDir`, keeping their paths relative to the
 * prefix (to the prefix's parent when it does not end with `/`). A key that would land outside
 * `localDir` (`..` segments, an absolute path) is refused with ERR_UNSAFE_PATH and nothing is written.
 */
export function download(srcPrefixUri: string, localDir: string, options?: DownloadOptions): Promise<TransferResult> {
  return runOperation('download', srcPrefixUri, options, async (scope, opts) => {
    const prefix = expectString(srcPrefixUri, 'srcPrefixUri');
    const root = path.resolve(expectString(localDir, 'localDir'));
    const store = storeFor(prefix);
    const concurrency = optionalPositiveInteger(opts.concurrency, 'options.concurrency', 8);
    const continueOnError = optionalBoolean(opts.continueOnError, 'options.continueOnError', false);
    const recursive = optionalBoolean(opts.recursive, 'options.recursive', true);
    optionalMatcher(opts.pattern); // validated here; the store applies it
    const base = prefix.slice(0, prefix.lastIndexOf('/') + 1);
    const uris = (await store.list(prefix, { recursive, pattern: opts.pattern, signal: scope.signal })).filter(
      (uri) => !uri.endsWith('/'),
    );
    const items = uris.map((uri) => ({ uri, relative: uri.slice(base.length) }));
    const progress = new Progress(items.length, undefined, opts.onProgress);
    const files = storeFor('file:///');
    let bytes = 0;
    const results = await settleConcurrently(
      items,
      concurrency,
      async (item) => {
        const target = safeLocalTarget(root, item.relative, item.uri, 'download');
        const writer = files.createWriter(`file://${target}`, { signal: scope.signal, partSize: opts.partSize });
        let received = 0;
        try {
          await pipeline(
            store.getStream(item.uri, { signal: scope.signal }),
            new Transform({
              transform(chunk: Buffer, _encoding, callback) {
                received += chunk.byteLength;
                progress.bytes(chunk.byteLength);
                callback(null, chunk);
              },
            }),
            writer.toWritable(),
          );
        } catch (error) {
          await writer.abort(error);
          throw error;
        }
        bytes += received;
        progress.object();
        opts.onObject?.(item.uri, received);
      },
      () => scope.signal?.aborted === true,
      () => new S3dlioError('ERR_ABORTED', 'download: aborted before this object started', { operation: 'download' }),
    );
    scope.throwIfAborted();
    return finish('download', items, results, bytes, continueOnError);
  });
}

/** The local path for a key, or ERR_UNSAFE_PATH when it would leave `root`. */

/** The bucket (container, directory) a destination prefix lives in. */
