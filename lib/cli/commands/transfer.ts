/** `s3dlio upload`, `download` and `cp`. */
import { copy, listStream, stat } from '../../api';
import { upload } from '../../engine/transfer';
import type { CliContext } from '../context';
import { forEachConcurrent } from '../pool';
import { downloadTo } from './get';

/** Runs `upload`: local files and globs below a destination prefix. */
export async function uploadCommand(
  ctx: CliContext,
  patterns: string[],
  destination: string,
  options: { jobs: number; createBucket?: boolean },
): Promise<void> {
  ctx.useUris(destination);
  const { signal, reporter } = ctx;
  const task = reporter.startTask('upload');
  let totalsKnown = false;
  const result = await upload(patterns, destination, {
    signal,
    concurrency: options.jobs,
    createBucket: options.createBucket === true,
    continueOnError: true,
    onProgress: (progress) => {
      if (!totalsKnown) {
        totalsKnown = true;
        task.setTotals({ objects: progress.objectsTotal, bytes: progress.bytesTotal });
      }
      task.set(progress.objectsDone, progress.bytesDone);
    },
    onObject: (uri, bytes) =>
      reporter.detail(`upload ${uri} ${bytes} B`, { type: 'object', operation: 'upload', uri, bytes }),
  });
  for (const failure of result.failed) reporter.failure(failure.uri, failure.error, 'upload');
  task.set(result.objects, result.bytes);
  task.finish();
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
  const copyOne = async (from: string, to: string): Promise<void> => {
    const { size } = await stat(from, { signal });
    await copy(from, to, { signal });
    task.add(1, size);
    reporter.detail(`cp ${from} -> ${to} ${size} B`, { type: 'object', operation: 'cp', uri: from, to, bytes: size });
  };
  if (options.recursive !== true) {
    try {
      await copyOne(source, destination);
    } catch (error) {
      reporter.failure(source, error, 'cp');
    }
    return void task.finish();
  }
  const destinationBase = destination.endsWith('/') ? destination : `${destination}/`;
  // Keys keep their path relative to the prefix (to its parent when it has no trailing '/').
  const sourceBase = source.slice(0, source.lastIndexOf('/') + 1);
  await forEachConcurrent(
    listStream(source, { recursive: true, signal }),
    options.jobs,
    signal,
    (uri) => copyOne(uri, `${destinationBase}${uri.slice(sourceBase.length)}`),
    (uri, error) => reporter.failure(uri, error, 'cp'),
  );
  task.finish(source);
}
