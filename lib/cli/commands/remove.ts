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
  const task = reporter.startTask('rm', { movesBytes: false });
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
