/** `s3dlio ls`, `du`, `stat` and the bucket commands. */
import { createBucket, deleteBucket, listBuckets, listDetailed, listStream, stat } from '../../api';
import type { ListedObject } from '../../object-store';
import type { CliContext } from '../context';
import { formatBytes } from '../units';
import { CliUsageError } from '../usage-error';
import { withCliOverride } from './remove';

/** Options of `ls`. */
export interface ListCommandOptions {
  recursive?: boolean;
  pattern?: RegExp;
  countOnly?: boolean;
  /** `-l`: size, modification time and etag per object. */
  long?: boolean;
  /** `-h` (with `-l`): sizes in binary units. */
  humanReadable?: boolean;
}

/** Runs `ls`: streams the listing (a million keys are never held in memory). */
export async function listCommand(ctx: CliContext, uri: string, options: ListCommandOptions): Promise<void> {
  if (options.humanReadable === true && options.long !== true) {
    throw new CliUsageError('ls: -h/--human-readable formats the sizes of -l; add -l (or use du -h for totals)');
  }
  if (options.long === true && options.countOnly === true) throw new CliUsageError('ls: -l and -c exclude each other');
  ctx.useUris(uri);
  const { signal, reporter } = ctx;
  const task = reporter.startTask('ls', { movesBytes: false });
  const listing = { recursive: options.recursive === true, pattern: options.pattern, signal };
  if (options.long === true) {
    // The details come with the listing pages: no request per object.
    for await (const entry of listDetailed(uri, listing)) {
      task.add(1, 0);
      if (!entry.isPrefix) reporter.result(longLine(entry, options.humanReadable === true), objectRecord(entry));
      else
        reporter.result(
          `${'DIR'.padStart(SIZE_WIDTH)} ${'-'.padEnd(DATE_WIDTH)} ${'-'.padEnd(ETAG_WIDTH)} ${entry.uri}`,
          {
            type: 'directory',
            uri: entry.uri,
          },
        );
    }
  } else {
    for await (const entry of listStream(uri, listing)) {
      task.add(1, 0);
      if (options.countOnly !== true) reporter.result(entry, { type: 'object', uri: entry });
    }
  }
  task.stop();
  if (options.countOnly === true) reporter.result(String(task.objects), { type: 'count', uri, count: task.objects });
  reporter.flush();
  // The listing is the output; the summary line only where a person watches, or with -v.
  if (reporter.interactive || reporter.options.verbose > 0) task.finish();
}

/** Options of `du`. */
export interface SizeCommandOptions {
  recursive: boolean;
  pattern?: RegExp;
  humanReadable?: boolean;
}

/** Runs `du` (`size`): the number of objects and their bytes below a prefix. */
export async function sizeCommand(ctx: CliContext, uri: string, options: SizeCommandOptions): Promise<void> {
  ctx.useUris(uri);
  const { signal, reporter } = ctx;
  const task = reporter.startTask('du', { movesBytes: false });
  let objects = 0;
  let bytes = 0;
  // Sizes from the listing pages: a thousand objects cost one LIST request, not a thousand stats.
  for await (const entry of listDetailed(uri, { recursive: options.recursive, pattern: options.pattern, signal })) {
    if (entry.isPrefix) continue;
    objects++;
    bytes += entry.size;
    task.add(1, 0);
  }
  task.stop();
  const size = options.humanReadable === true ? formatBytes(bytes) : `${bytes} B`;
  reporter.result(`${objects} object${objects === 1 ? '' : 's'}, ${size}  ${uri}`, {
    type: 'size',
    uri,
    objects,
    bytes,
  });
  reporter.flush();
  if (reporter.interactive || reporter.options.verbose > 0) task.finish();
}

const SIZE_WIDTH = 12;
const DATE_WIDTH = 20;
const ETAG_WIDTH = 34;

/** `-l`: `size date etag uri`, aligned; `-h` sizes in binary units. */
function longLine(info: ListedObject, human: boolean): string {
  const size = human ? formatBytes(info.size) : String(info.size);
  const date = `${info.lastModified.toISOString().slice(0, 19)}Z`;
  return `${size.padStart(SIZE_WIDTH)} ${date} ${(info.etag ?? '-').padEnd(ETAG_WIDTH)} ${info.uri}`;
}

function objectRecord(info: ListedObject): Record<string, unknown> {
  return {
    type: 'object',
    uri: info.uri,
    size: info.size,
    lastModified: info.lastModified.toISOString(),
    ...(info.etag !== undefined && { etag: info.etag }),
  };
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
