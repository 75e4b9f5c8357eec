/** `s3dlio upload` and `download` (`cp`, `mv` and `sync` are in copy.ts). */
import * as path from 'path';

import { listDetailed } from '../../api';
import { keySegments } from '../../internal/local-root';
import { isFolderMarker, keyNamesDirectory } from '../../internal/folder-markers';
import { type TransferOptions, type TransferResult, download, planUpload, upload } from '../../transfer';
import type { CliContext } from '../context';
import { type FilterRule, PathFilter } from '../filters';
import { CliUsageError } from '../usage-error';
import { printDryRun } from './dryrun';

/** The progress hooks `upload` and `download` take. */
type TransferHooks = Pick<TransferOptions, 'signal' | 'continueOnError' | 'onProgress' | 'onObject'>;

/**
 * Runs an `upload` or `download` with progress (its first report gives the totals), a -v line per
 * object, and every failure reported; `prefix`, when given, is named if nothing was found there.
 */
async function runTransfer(
  ctx: CliContext,
  operation: string,
  transfer: (hooks: TransferHooks) => Promise<TransferResult>,
  prefix?: string,
): Promise<void> {
  const { signal, reporter } = ctx;
  const task = reporter.startTask(operation);
  let totalsKnown = false;
  const result = await transfer({
    signal,
    continueOnError: true,
    onProgress: (progress) => {
      if (!totalsKnown) {
        totalsKnown = true;
        task.setTotals({ objects: progress.objectsTotal, bytes: progress.bytesTotal });
      }
      task.set(progress.objectsDone, progress.bytesDone);
    },
    onObject: (uri, bytes) => reporter.objectDone(operation, uri, bytes),
  });
  for (const failure of result.failed) reporter.failure(failure.uri, failure.error, operation);
  task.set(result.objects, result.bytes);
  task.finish(prefix);
}

/** Runs `upload`: local files and globs below a destination prefix. */
export async function uploadCommand(
  ctx: CliContext,
  patterns: string[],
  destination: string,
  options: { jobs: number; createBucket?: boolean; dryrun?: boolean; filters?: FilterRule[] },
): Promise<void> {
  ctx.useUris(destination);
  const filter = new PathFilter(options.filters);
  const pattern = filter.active ? { pattern: filter.toRegExp() } : {};
  if (options.dryrun === true) {
    const base = destination.endsWith('/') ? destination : `${destination}/`;
    const items = await planUpload(patterns, base, {
      followSymlinks: false,
      ...(filter.active && { matches: (relative) => filter.includes(relative) }),
    });
    for (const item of items) {
      if (item.refused) ctx.reporter.failure(item.uri, item.refused, 'upload');
      else
        printDryRun(
          ctx,
          'upload',
          { uri: `file://${item.file}`, shown: item.file },
          { uri: item.uri, shown: item.uri },
        );
    }
    return ctx.reporter.flush();
  }
  await runTransfer(ctx, 'upload', (hooks) =>
    upload(patterns, destination, {
      ...hooks,
      ...pattern,
      concurrency: options.jobs,
      createBucket: options.createBucket === true,
    }),
  );
}

/** Options of `download` (and `get -r -o DIR`). */
export interface DownloadCommandOptions {
  jobs: number;
  recursive: boolean;
  pattern?: RegExp;
  dryrun?: boolean;
  filters?: FilterRule[];
}

/** `download` and `get -o`: objects below a prefix into a directory, with progress. */
export async function downloadTo(
  ctx: CliContext,
  operation: string,
  prefix: string,
  directory: string,
  commandOptions: DownloadCommandOptions,
): Promise<void> {
  const filter = new PathFilter(commandOptions.filters);
  if (filter.active && commandOptions.pattern) {
    throw new CliUsageError('-p/--pattern and --include/--exclude both choose objects: give one or the other');
  }
  const options = filter.active ? { ...commandOptions, pattern: filter.toRegExp() } : commandOptions;
  if (commandOptions.dryrun === true) return dryRunDownload(ctx, operation, prefix, directory, options);
  await runTransfer(
    ctx,
    operation,
    (hooks) =>
      download(prefix, directory, {
        ...hooks,
        concurrency: options.jobs,
        recursive: options.recursive,
        ...(options.pattern && { pattern: options.pattern }),
      }),
    prefix,
  );
}

/** Runs `download`: every object below a prefix into a directory. */
export async function downloadCommand(
  ctx: CliContext,
  source: string,
  directory: string,
  options: DownloadCommandOptions,
): Promise<void> {
  ctx.useUris(source);
  await downloadTo(ctx, 'download', source, directory, options);
}

/** `download --dryrun`: the objects and the files they would become (unsafe keys reported). */
async function dryRunDownload(
  ctx: CliContext,
  operation: string,
  prefix: string,
  directory: string,
  options: DownloadCommandOptions,
): Promise<void> {
  const { signal, reporter } = ctx;
  const base = prefix.slice(0, prefix.lastIndexOf('/') + 1);
  const root = path.resolve(directory);
  let found = 0;
  for await (const entry of listDetailed(prefix, { recursive: options.recursive, pattern: options.pattern, signal })) {
    const { uri } = entry;
    // As the download: subdirectories and folder markers are skipped, an object holding bytes
    // under a key ending with '/' fails.
    if (entry.isPrefix || isFolderMarker(entry)) continue;
    if (uri.endsWith('/')) {
      reporter.failure(uri, keyNamesDirectory(uri, operation), operation);
      continue;
    }
    found++;
    try {
      const file = path.join(root, ...keySegments(root, uri.slice(base.length), uri, operation));
      printDryRun(ctx, 'download', { uri, shown: uri }, { uri: `file://${file}`, shown: file });
    } catch (error) {
      reporter.failure(uri, error, operation);
    }
  }
  if (found === 0) reporter.notice(`s3dlio: ${operation}: no objects below ${prefix}`);
  reporter.flush();
}
