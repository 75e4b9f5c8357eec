/** Running the items of a batch operation and reporting every failure, for all backends. */
import { BatchError, type S3dlioError, abortError, toS3dlioError } from '../errors';
import type { OperationScope } from '../operation';
import { settleConcurrently } from './pool';

/** The URI that names a batch in messages: its first item's (a string or `{ uri }`). */
export function batchLabel(items: unknown): string {
  const first: unknown = Array.isArray(items) ? items[0] : undefined;
  if (typeof first === 'string') return first;
  const uri = (first as { uri?: unknown } | undefined)?.uri;
  return typeof uri === 'string' ? uri : '';
}

/**
 * Runs `task` over `items` with bounded concurrency. Items not started when the signal fires fail
 * with ERR_ABORTED; the batch then rejects with ERR_ABORTED, otherwise with a BatchError listing
 * every failed item. Resolves to the results in input order.
 */
export async function runBatch<I, T>(
  scope: OperationScope,
  items: readonly I[],
  uriOf: (item: I) => string,
  concurrency: number,
  task: (item: I, index: number) => Promise<T>,
): Promise<T[]> {
  const { signal, operation } = scope;
  const results = await settleConcurrently(
    items,
    concurrency,
    task,
    () => signal?.aborted === true,
    (item) => abortError(operation, uriOf(item), signal?.reason),
  );
  scope.throwIfAborted();
  const errors = results.flatMap((result, index) =>
    result.ok ? [] : [toS3dlioError(result.error, operation, uriOf(items[index])) as S3dlioError],
  );
  if (errors.length > 0) throw new BatchError(operation, errors, items.length - errors.length);
  return results.map((result) => (result as { ok: true; value: T }).value);
}
