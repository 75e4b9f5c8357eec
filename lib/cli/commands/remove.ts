/**
 * `s3dlio rm`: one object, or with -r every object below a prefix (optionally matching -p, or the
 * --include/--exclude filters).
 */
import { deleteObject, deletePrefix, exists, listStream } from '../../api';
import { guardPrefixDelete, guardTreeDelete } from '../../backends/local/delete-guard';
import { S3dlioError } from '../../errors';
import { parseUri } from '../../uri';
import type { CliContext } from '../context';
import { type FilterRule, PathFilter } from '../filters';
import { CliUsageError } from '../usage-error';
import { endsWithSlash, withRecursiveHint } from '../locations';
import { printDryRun } from './dryrun';

/** Runs `rm`. */
export async function removeCommand(
  ctx: CliContext,
  uri: string,
  options: {
    recursive?: boolean;
    pattern?: RegExp;
    jobs: number;
    allowProtectedPaths?: boolean;
    dryrun?: boolean;
    filters?: FilterRule[];
  },
): Promise<void> {
  ctx.useUris(uri);
  if (options.recursive !== true && uri.endsWith('/')) throw endsWithSlash(uri, 'delete');
  const { signal, reporter } = ctx;
  const filter = new PathFilter(options.filters);
  if (filter.active && options.recursive !== true) throw new CliUsageError('--include/--exclude need -r');
  if (filter.active && options.pattern) {
    throw new CliUsageError('-p/--pattern and --include/--exclude both choose objects: give one or the other');
  }
  // The filters apply to the path relative to the prefix, as -p does.
  const pattern = filter.active ? filter.toRegExp() : options.pattern;
  if (options.dryrun === true) {
    return dryRunRemove(ctx, uri, options.recursive === true, pattern, options.allowProtectedPaths === true);
  }
  const task = reporter.startTask('rm', { movesBytes: false });
  if (options.recursive !== true) {
    try {
      await deleteObject(uri, { signal });
      task.add(1, 0);
      reporter.objectDone('rm', uri);
    } catch (error) {
      const hinted = withRecursiveHint(error, uri, 'delete');
      if (hinted instanceof CliUsageError) throw hinted;
      reporter.failure(uri, error, 'rm');
    }
    return void task.finish();
  }
  // The library lists and deletes, behind its guard of protected paths; every failure is reported.
  try {
    await deletePrefix(uri, {
      signal,
      concurrency: options.jobs,
      pattern,
      allowProtectedPaths: options.allowProtectedPaths === true,
      onDeleted: (deleted) => {
        task.add(1, 0);
        reporter.objectDone('rm', deleted);
      },
    });
  } catch (error) {
    reporter.failure(uri, withCliOverride(error), 'rm');
  }
  task.finish(uri);
}

/**
 * `rm --dryrun`: the objects that would be deleted (a missing single object fails, as rm would;
 * so does a local prefix reaching a protected path).
 */
async function dryRunRemove(
  ctx: CliContext,
  uri: string,
  recursive: boolean,
  pattern: RegExp | undefined,
  allowProtectedPaths: boolean,
): Promise<void> {
  const { signal, reporter } = ctx;
  if (!recursive) {
    if (await exists(uri, { signal })) printDryRun(ctx, 'delete', { uri, shown: uri });
    else reporter.failure(uri, new S3dlioError('ERR_NOT_FOUND', `rm ${uri}: no such object`, { uri }), 'rm');
    return reporter.flush();
  }
  try {
    await guardLocalDelete(uri, 'prefix', allowProtectedPaths);
  } catch (error) {
    reporter.failure(uri, error, 'rm');
    return reporter.flush();
  }
  let found = 0;
  for await (const object of listStream(uri, { recursive: true, pattern, signal })) {
    found++;
    printDryRun(ctx, 'delete', { uri: object, shown: object });
  }
  if (found === 0) reporter.notice(`s3dlio: rm: no objects below ${uri}`);
  reporter.flush();
}

/**
 * The refusal a dry run shares with the delete it previews: a local prefix (`rm -r`) or directory
 * (`rb`) that reaches a protected path fails as the real run would (ERR_PROTECTED_PATH, naming
 * --allow-protected-paths). Other schemes have no such guard.
 */
export async function guardLocalDelete(
  uri: string,
  reach: 'prefix' | 'tree',
  allowProtectedPaths: boolean,
): Promise<void> {
  const { path } = parseUri(uri);
  if (path === undefined || allowProtectedPaths) return;
  const guard = reach === 'prefix' ? guardPrefixDelete : guardTreeDelete;
  await guard(path, uri, false).catch((error: unknown) => {
    throw withCliOverride(error);
  });
}

/**
 * A library error that names a JS option, rephrased with the CLI flag that does the same:
 * ERR_PROTECTED_PATH names --allow-protected-paths, ERR_BUCKET_NOT_EMPTY names --force.
 */
export function withCliOverride(error: unknown): unknown {
  if (!(error instanceof S3dlioError)) return error;
  let message: string;
  if (error.code === 'ERR_PROTECTED_PATH') {
    message = error.message.replace('pass { allowProtectedPaths: true }', 'pass --allow-protected-paths');
  } else if (error.code === 'ERR_BUCKET_NOT_EMPTY') {
    // Each backend words it its own way (some quote the service); the CLI's hint is one.
    const stripped = error.message.replace(/\s*\(pass \{ force: true \}[^)]*\)/, '');
    message = `${stripped}; pass --force (-f) to delete its objects first`;
  } else {
    return error;
  }
  return new S3dlioError(error.code, message, { uri: error.uri, operation: error.operation, cause: error });
}
