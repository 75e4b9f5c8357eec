/** `s3dlio upload`, `download` and `cp`. */
import { copy, listStream, stat } from '../../api';
import { recursiveCopyPlan } from '../../identity';
import { type TransferOptions, type TransferResult, download, openDestination, upload } from '../../transfer';
import type { CliContext } from '../context';
import { forEachConcurrent } from '../pool';

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
  options: { jobs: number; createBucket?: boolean },
): Promise<void> {
  ctx.useUris(destination);
  await runTransfer(ctx, 'upload', (hooks) =>
    upload(patterns, destination, { ...hooks, concurrency: options.jobs, createBucket: options.createBucket === true }),
  );
}

/** `download` and `get -o`: objects below a prefix into a directory, with progress. */
export async function downloadTo(
  ctx: CliContext,
  operation: string,
  prefix: string,
  directory: string,
  options: { jobs: number; recursive: boolean; pattern?: RegExp },
): Promise<void> {
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
  options: { jobs: number; recursive: boolean; pattern?: RegExp },
): Promise<void> {
  ctx.useUris(source);
  await downloadTo(ctx, 'download', source, directory, options);
}

/**
 * Runs `cp`: one object, or with -r every object below a prefix, to the same relative keys below
 * the destination. Same-scheme copies are server-side (no bytes through this process), so the byte
 * count comes from a stat of each source.
 */
export async function copyCommand(
  ctx: CliContext,
  source: string,
  destination: string,
  options: { jobs: number; recursive?: boolean },
): Promise<void> {
  ctx.useUris(source, destination);
  const { signal, reporter } = ctx;
  const task = reporter.startTask('cp');
  const copyOne = async (from: string, to: string, shownAs = to): Promise<void> => {
    const { size } = await stat(from, { signal });
    await copy(from, to, { signal });
    task.add(1, size);
    reporter.objectDone('cp', from, size, shownAs);
  };
  if (options.recursive !== true) {
    try {
      await copyOne(source, destination);
    } catch (error) {
      reporter.failure(source, error, 'cp');
    }
    return void task.finish();
  }
  // Refuses a destination inside the source: the streamed listing would find the copies again.
  // Keys keep their path relative to the prefix (to its parent when it has no trailing '/'). A
  // local destination is a root: nothing is written outside it, through `..` or a symlink.
  const { sourceBase, destinationBase } = await recursiveCopyPlan(source, destination);
  const target = await openDestination(destinationBase, 'cp');
  try {
    await forEachConcurrent(
      listStream(source, { recursive: true, signal }),
      options.jobs,
      signal,
      (uri) => target.write(uri.slice(sourceBase.length), uri, (placed) => copyOne(uri, placed.uri, placed.displayUri)),
      (uri, error) => reporter.failure(uri, error, 'cp'),
    );
  } finally {
    await target.close();
  }
  task.finish(source);
}
