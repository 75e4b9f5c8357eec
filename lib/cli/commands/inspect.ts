/** `s3dlio ls`, `stat` and the bucket commands. */
import { createBucket, deleteBucket, listBuckets, listStream, stat } from '../../api';
import type { CliContext } from '../context';
import { withCliOverride } from './remove';

/** Runs `ls`: streams the listing (a million keys are never held in memory). */
export async function listCommand(
  ctx: CliContext,
  uri: string,
  options: { recursive?: boolean; pattern?: RegExp; countOnly?: boolean },
): Promise<void> {
  ctx.useUris(uri);
  const { signal, reporter } = ctx;
  const task = reporter.startTask('ls');
  for await (const entry of listStream(uri, {
    recursive: options.recursive === true,
    pattern: options.pattern,
    signal,
  })) {
    task.add(1, 0);
    if (options.countOnly !== true) reporter.result(entry, { type: 'object', uri: entry });
  }
  task.stop();
  if (options.countOnly === true) reporter.result(String(task.objects), { type: 'count', uri, count: task.objects });
  reporter.flush();
  // The listing is the output; the summary line only where a person watches, or with -v.
  if (reporter.interactive || reporter.options.verbose > 0) task.finish();
}

/** Runs `stat`. */
export async function statCommand(ctx: CliContext, uri: string): Promise<void> {
  ctx.useUris(uri);
  const info = await stat(uri, { signal: ctx.signal });
  const fields: Array<[string, string | number | undefined]> = [
    ['uri', info.uri],
    ['size', info.size],
    ['lastModified', info.lastModified.toISOString()],
    ['etag', info.etag],
    ['contentType', info.contentType],
  ];
  const shown = fields.filter((field): field is [string, string | number] => field[1] !== undefined);
  ctx.reporter.result(shown.map(([name, value]) => `${name}: ${value}`).join('\n'), {
    type: 'stat',
    ...Object.fromEntries(shown),
  });
  ctx.reporter.flush();
}

/** Runs `list-buckets` (default scheme s3://). */
export async function listBucketsCommand(ctx: CliContext, schemeUri: string): Promise<void> {
  ctx.useUris(schemeUri);
  for (const bucket of await listBuckets(schemeUri, { signal: ctx.signal })) {
    ctx.reporter.result(bucket, { type: 'bucket', uri: bucket });
  }
  ctx.reporter.flush();
}

/** Runs `create-bucket`. */
export async function createBucketCommand(ctx: CliContext, uri: string): Promise<void> {
  ctx.useUris(uri);
  await createBucket(uri, { signal: ctx.signal });
  ctx.reporter.detail(`created ${uri}`, { type: 'bucket', operation: 'create-bucket', uri });
}

/** Runs `delete-bucket` (`--force` deletes the objects first). */
export async function deleteBucketCommand(
  ctx: CliContext,
  uri: string,
  options: { force?: boolean; allowProtectedPaths?: boolean },
): Promise<void> {
  ctx.useUris(uri);
  await deleteBucket(uri, {
    signal: ctx.signal,
    force: options.force === true,
    allowProtectedPaths: options.allowProtectedPaths === true,
  }).catch((error: unknown) => {
    throw withCliOverride(error);
  });
  ctx.reporter.detail(`deleted ${uri}`, { type: 'bucket', operation: 'delete-bucket', uri });
}
