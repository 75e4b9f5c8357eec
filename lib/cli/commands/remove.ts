/** `s3dlio rm`: one object, or with -r every object below a prefix (optionally matching -p). */
import { deleteMany, deleteObject, listStream } from '../../api';
import type { CliContext } from '../context';

/** Keys per delete batch: one S3 DeleteObjects request, and the memory bound of a huge rm -r. */
const BATCH = 1000;

/** Runs `rm`. */
export async function removeCommand(
  ctx: CliContext,
  uri: string,
  options: { recursive?: boolean; pattern?: RegExp; jobs: number },
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
  const deleteBatch = async (batch: string[]): Promise<void> => {
    try {
      await deleteMany(batch, { signal, concurrency: options.jobs });
      task.add(batch.length, 0);
      for (const done of batch) reporter.objectDone('rm', done);
    } catch (error) {
      // A BatchError names each failed key; the others were deleted.
      const failed = (error as { errors?: unknown[] }).errors?.length ?? batch.length;
      task.add(batch.length - failed, 0);
      reporter.failure(uri, error, 'rm');
    }
  };
  let batch: string[] = [];
  for await (const entry of listStream(uri, { recursive: true, pattern: options.pattern, signal })) {
    if (entry.endsWith('/')) continue;
    batch.push(entry);
    if (batch.length === BATCH) {
      await deleteBatch(batch);
      batch = [];
    }
  }
  if (batch.length > 0) await deleteBatch(batch);
  task.finish(uri);
}
