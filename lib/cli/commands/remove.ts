/** `s3dlio rm`: one object, or with -r every object below a prefix (optionally matching -p). */
import { deleteObject, deletePrefix } from '../../api';
import { S3dlioError } from '../../errors';
import type { CliContext } from '../context';

/** Runs `rm`. */
export async function removeCommand(
  ctx: CliContext,
  uri: string,
  options: { recursive?: boolean; pattern?: RegExp; jobs: number; allowProtectedPaths?: boolean },
): Promise<void> {
  ctx.useUris(uri);
  const { signal, reporter } = ctx;
  const task = reporter.startTask('rm');
  if (options.recursive !== true) {
    try {
      await deleteObject(uri, { signal });
      task.add(1, 0);
      reporter.objectDone('rm', uri);
    } catch (error) {
      reporter.failure(uri, error, 'rm');
    }
    return void task.finish();
  }
  // The library lists and deletes, behind its guard of protected paths; every failure is reported.
  try {
    await deletePrefix(uri, {
      signal,
      concurrency: options.jobs,
      pattern: options.pattern,
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

/** An ERR_PROTECTED_PATH refusal names the CLI's override instead of the library option. */
export function withCliOverride(error: unknown): unknown {
  if (!(error instanceof S3dlioError) || error.code !== 'ERR_PROTECTED_PATH') return error;
  const message = error.message.replace('pass { allowProtectedPaths: true }', 'pass --allow-protected-paths');
  return new S3dlioError(error.code, message, { uri: error.uri, operation: error.operation, cause: error });
}
