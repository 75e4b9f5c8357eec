/**
 * `s3dlio cp`, `mv` and `sync`: objects between any two places (URIs of any scheme, or local
 * paths), one object or, with -r (always for sync), every object below a prefix or directory, as
 * `aws s3 cp/mv/sync` do: the tree's contents go below the destination, keyed by their path
 * relative to the source. Nothing is written outside the destination the user named, and a local
 * source's symlinks that lead out of it are refused (the library's rules, lib/transfer.ts).
 */
import { promises as fs } from 'fs';

import { copy, deleteObject, getStream, listDetailed, rename } from '../../api';
import { crc32c } from '../../checksum';
import { S3dlioError } from '../../errors';
import { prefixLocation, recursiveCopyPlan, sameLocalFile } from '../../identity';
import { isFolderMarker, keyNamesDirectory } from '../../internal/folder-markers';
import { keySegments } from '../../internal/local-root';
import type { ListedEntry, ListedObject, ObjectStat } from '../../object-store';
import { type Destination, leavesTree, openDestination } from '../../transfer';
import { isLocalScheme, parseUri } from '../../uri';
import type { CliContext } from '../context';
import { type FilterRule, PathFilter } from '../filters';
import { type Location, asPrefix, below, checkSingleSource, localStats, notFound, singleTarget } from '../locations';
import { forEachConcurrent } from '../pool';
import { CliUsageError } from '../usage-error';
import { printDryRun } from './dryrun';

/** Options of `cp` and `mv`. */
export interface CopyCommandOptions {
  jobs: number;
  recursive?: boolean;
  dryrun?: boolean;
  filters?: FilterRule[];
}

/** Options of `sync`. */
export interface SyncCommandOptions extends CopyCommandOptions {
  /** Delete destination objects that have no source counterpart (and pass the filters). */
  delete?: boolean;
  /** Compare contents (CRC32C, or equal MD5 etags) instead of size and modification time. */
  checksum?: boolean;
  /** Compare sizes only. */
  sizeOnly?: boolean;
}

type Operation = 'cp' | 'mv' | 'sync';

/** What `aws s3` prints for a transfer between these places: upload, download, copy or move. */
function verbOf(operation: Operation, source: Location, destination: Location): string {
  if (operation === 'mv') return 'move';
  const local = (location: Location): boolean => isLocalScheme(parseUri(location.uri).scheme);
  if (local(source) && !local(destination)) return 'upload';
  if (!local(source) && local(destination)) return 'download';
  return 'copy';
}

/**
 * A runner of `cp`, or of `mv` (copy, then delete the sources: nothing is deleted unless every
 * copy succeeded): one object, or with -r every object below a prefix (directory).
 */
function copyOrMove(verb: 'cp' | 'mv') {
  return async (
    ctx: CliContext,
    source: Location,
    destination: Location,
    options: CopyCommandOptions,
  ): Promise<void> => {
    ctx.useUris(source.uri, destination.uri);
    if (options.recursive === true) return copyTree(ctx, verb, source, destination, options);
    return copySingle(ctx, verb, source, destination, options);
  };
}

/** Runs `cp`. */
export const copyCommand = copyOrMove('cp');

/** Runs `mv`. */
export const moveCommand = copyOrMove('mv');

/** Runs `sync`: copies what is new or changed below the source; `--delete` removes the rest. */
export async function syncCommand(
  ctx: CliContext,
  source: Location,
  destination: Location,
  options: SyncCommandOptions,
): Promise<void> {
  ctx.useUris(source.uri, destination.uri);
  if (options.checksum === true && options.sizeOnly === true) {
    throw new CliUsageError('--checksum and --size-only are two ways to compare: give one');
  }
  return copyTree(ctx, 'sync', source, destination, options);
}

/** Whether two URIs name one object (whatever their spelling). */
async function sameObject(a: string, b: string): Promise<boolean> {
  if (await sameLocalFile(a, b)) return true;
  const [first, second] = await Promise.all([prefixLocation(a), prefixLocation(b)]);
  return first === second;
}

async function copySingle(
  ctx: CliContext,
  operation: 'cp' | 'mv',
  source: Location,
  destination: Location,
  options: CopyCommandOptions,
): Promise<void> {
  const { signal, reporter } = ctx;
  const task = reporter.startTask(operation);
  const verb = verbOf(operation, source, destination);
  try {
    const size = await checkSingleSource(source, verb === 'move' ? 'move' : 'copy', signal);
    const target = await singleTarget(source, destination);
    // As `aws s3 cp`, the filters of a single object apply to its name.
    const name = source.uri.slice(source.uri.lastIndexOf('/') + 1);
    if (!new PathFilter(options.filters).includes(name)) {
      reporter.notice(`s3dlio: ${operation}: ${source.shown} is excluded by the filters; nothing to do`);
      return void task.stop();
    }
    if (operation === 'mv' && (await sameObject(source.uri, target.uri))) {
      throw new CliUsageError(`${source.shown} and ${target.shown} are the same object: nothing to move`);
    }
    if (options.dryrun === true) {
      printDryRun(ctx, verb, source, target);
      reporter.flush();
      return void task.stop();
    }
    if (operation === 'mv') await rename(source.uri, target.uri, { signal });
    else await copy(source.uri, target.uri, { signal });
    task.add(1, size);
    reporter.objectDone(operation, source.uri, size, target.uri);
  } catch (error) {
    if (error instanceof CliUsageError) {
      task.stop();
      throw error;
    }
    reporter.failure(source.uri, error, operation);
  }
  task.finish();
}

/** How sync decides that a destination object already holds the source's content. */
type Comparison = (source: ObjectStat, destination: ObjectStat, signal: AbortSignal) => Promise<boolean>;

/**
 * Times are compared to the second: HTTP dates (S3 and Azure HEADs) have no finer resolution, so a
 * file uploaded in the second it was written would otherwise look newer than its copy.
 */
const bySizeAndTime: Comparison = async (source, destination) =>
  source.size === destination.size && seconds(destination.lastModified) >= seconds(source.lastModified);

const seconds = (date: Date): number => Math.floor(date.getTime() / 1000);

const bySize: Comparison = async (source, destination) => source.size === destination.size;

/** An S3-style MD5 etag (32 hex digits; multipart etags end with `-N` and are no MD5). */
const MD5_ETAG = /^"?[0-9a-f]{32}"?$/i;

/**
 * Same size, then: equal MD5 etags (both S3-style) say equal without reading; otherwise both
 * objects are read and their CRC32C compared.
 */
const byContent: Comparison = async (source, destination, signal) => {
  if (source.size !== destination.size) return false;
  const [a, b] = [source.etag, destination.etag];
  if (a !== undefined && a === b && MD5_ETAG.test(a)) return true;
  const [first, second] = await Promise.all([crcOf(source.uri, signal), crcOf(destination.uri, signal)]);
  return first === second;
};

async function crcOf(uri: string, signal: AbortSignal): Promise<number> {
  let crc = 0;
  for await (const chunk of getStream(uri, { signal })) crc = crc32c(chunk as Uint8Array, crc);
  return crc;
}

/**
 * The path of a listed `uri` relative to the listed prefix. A listing in another spelling than the
 * prefix's would give wrong paths (and `sync --delete` would then delete the wrong objects): it
 * stops the command instead.
 */
function relativeTo(prefix: Location, uri: string): string {
  if (!uri.startsWith(prefix.uri)) {
    throw new S3dlioError('ERR_INVALID_URI', `listing ${prefix.uri} returned ${uri}, which is not spelled below it`, {
      uri: prefix.uri,
    });
  }
  return uri.slice(prefix.uri.length);
}

/** A destination that writes nothing (dry runs): local keys are still checked as a run would. */
function dryDestination(prefix: Location, operation: string): Destination {
  return {
    write: (relative, uri, work) => {
      if (prefix.path !== undefined) keySegments(prefix.path, relative, uri, operation);
      const place = below(prefix, relative);
      return work({ uri: place.uri, displayUri: place.shown });
    },
    close: async () => undefined,
  };
}

async function copyTree(
  ctx: CliContext,
  operation: Operation,
  sourceArgument: Location,
  destinationArgument: Location,
  options: SyncCommandOptions,
): Promise<void> {
  const { signal, reporter } = ctx;
  const source = asPrefix(sourceArgument);
  const destination = asPrefix(destinationArgument);
  const verb = verbOf(operation, source, destination);
  const filter = new PathFilter(options.filters);
  const dryrun = options.dryrun === true;

  if (source.path !== undefined) {
    const stats = await localStats(source);
    if (stats === undefined) {
      reporter.failure(source.uri, notFound(sourceArgument, 'no such directory'), operation);
      return;
    }
    if (!stats.isDirectory()) {
      throw new CliUsageError(
        operation === 'sync'
          ? `${sourceArgument.shown} is a file: sync takes directories (prefixes); cp copies one file`
          : `${sourceArgument.shown} is a file, not a directory: leave out -r to ${operation === 'mv' ? 'move' : 'copy'} one file`,
      );
    }
  }
  try {
    await recursiveCopyPlan(source.uri, destination.uri);
  } catch (error) {
    // The plan refuses a destination its source reaches with ERR_INVALID_ARG_VALUE; anything else is no usage error.
    if ((error as { code?: unknown }).code !== 'ERR_INVALID_ARG_VALUE') throw error;
    throw new CliUsageError(`${destination.shown} is inside ${source.shown}: the copies would be copied again`);
  }
  if (operation === 'mv' && (await prefixLocation(source.uri)) === (await prefixLocation(destination.uri))) {
    throw new CliUsageError(`${source.shown} and ${destination.shown} are the same place: nothing to move`);
  }

  const comparison =
    operation !== 'sync' ? undefined : options.checksum ? byContent : options.sizeOnly ? bySize : bySizeAndTime;
  // sync: what the destination holds, by path relative to it, with the sizes and times the
  // comparisons need (from the listing pages: no stat per object on either side).
  const existing = new Map<string, ListedObject>();
  if (comparison) {
    for await (const entry of listDetailed(destination.uri, { recursive: true, signal })) {
      if (!entry.isPrefix && !isFolderMarker(entry)) existing.set(relativeTo(destination, entry.uri), entry);
    }
  }
  const seen = new Set<string>();
  const moved: string[] = [];
  let unchanged = 0;
  let listed = 0;
  const realRoot = source.path === undefined ? undefined : await fs.realpath(source.path);

  const task = reporter.startTask(operation);
  const failuresBefore = reporter.failures;
  const target = dryrun ? dryDestination(destination, operation) : await openDestination(destination.uri, operation);
  try {
    await forEachConcurrent(
      objectsOf(listDetailed(source.uri, { recursive: true, signal })),
      options.jobs,
      signal,
      async (sourceStat) => {
        const { uri } = sourceStat;
        if (uri.endsWith('/')) throw keyNamesDirectory(uri, operation);
        const relative = relativeTo(source, uri);
        listed++;
        seen.add(relative);
        if (!filter.includes(relative)) return;
        if (realRoot !== undefined) {
          const escapes = await leavesTree(
            parseUri(uri).path as string,
            realRoot,
            uri,
            operation,
            `not ${verb === 'move' ? 'moved' : 'copied'}`,
          );
          if (escapes) throw escapes;
        }
        const there = existing.get(relative);
        if (comparison && there !== undefined) {
          if (await comparison(sourceStat, there, signal)) {
            unchanged++;
            reporter.detail(`${operation} ${uri}: unchanged`, { type: 'unchanged', operation, uri, to: there.uri });
            return;
          }
        }
        await target.write(relative, uri, async (placed) => {
          if (dryrun)
            return printDryRun(ctx, verb, below(sourceArgument, relative), {
              uri: placed.uri,
              shown: placed.displayUri,
            });
          await copy(uri, placed.uri, { signal });
          if (operation === 'mv') moved.push(uri);
          task.add(1, sourceStat.size);
          reporter.objectDone(operation, uri, sourceStat.size, placed.displayUri);
        });
      },
      (entry, error) => reporter.failure(entry.uri, error, operation),
    );
  } finally {
    await target.close();
  }
  const failed = reporter.failures > failuresBefore || signal.aborted;
  if (operation === 'mv' && !dryrun) await deleteSources(ctx, moved, failed);
  if (operation === 'sync' && options.delete === true) {
    const extra = [...existing]
      .filter(([relative]) => !seen.has(relative) && filter.includes(relative))
      .map(([relative, entry]): [string, string] => [relative, entry.uri]);
    await deleteExtra(ctx, destinationArgument, extra, failed, dryrun, options.jobs);
  }
  if (comparison && unchanged > 0) reporter.notice(`s3dlio: sync: ${unchanged} unchanged, not copied`);
  task.stop();
  if (dryrun) return reporter.flush();
  task.finish(listed === 0 ? source.shown : undefined);
}

/**
 * The objects of a recursive listing (it has no prefixes: that only narrows the type), without
 * folder markers, which are directories.
 */
async function* objectsOf(entries: AsyncIterable<ListedEntry>): AsyncGenerator<ListedObject> {
  for await (const entry of entries) if (!entry.isPrefix && !isFolderMarker(entry)) yield entry;
}

/** mv: deletes the sources once every copy succeeded; after any failure, none. */
async function deleteSources(ctx: CliContext, sources: string[], failed: boolean): Promise<void> {
  const { reporter, signal } = ctx;
  if (failed) {
    if (sources.length > 0) {
      reporter.notice(`s3dlio: mv: not every object was copied; no source deleted (${sources.length} copied)`);
    }
    return;
  }
  await forEachConcurrent(
    sources,
    16,
    signal,
    (uri) => deleteObject(uri, { signal }),
    (uri, error) => reporter.failure(uri, error, 'mv'),
  );
}

/** sync --delete: removes destination objects with no source; skipped after any failure (as rclone). */
async function deleteExtra(
  ctx: CliContext,
  destination: Location,
  extra: Array<[string, string]>,
  failed: boolean,
  dryrun: boolean,
  jobs: number,
): Promise<void> {
  const { reporter, signal } = ctx;
  if (extra.length === 0) return;
  if (failed) {
    reporter.notice(`s3dlio: sync: not every object was copied; --delete deleted nothing (${extra.length} kept)`);
    return;
  }
  await forEachConcurrent(
    extra,
    jobs,
    signal,
    async ([relative, uri]) => {
      if (dryrun) return printDryRun(ctx, 'delete', below(destination, relative));
      await deleteObject(uri, { signal });
      reporter.objectDone('delete', uri);
    },
    ([, uri], error) => reporter.failure(uri, error, 'sync'),
  );
}
