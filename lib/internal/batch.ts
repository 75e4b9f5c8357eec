/** Running the items of a batch operation and reporting every failure, for all backends. */
import { BatchError, type S3dlioError, abortError, toS3dlioError } from '../errors';
import type { DeletePrefixOptions } from '../object-store';
import type { OperationScope } from '../operation';
import { invalidType, optionalBoolean, optionalMatcher, optionalPositiveInteger } from '../validate';
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
    // Stryker disable next-line all: unobservable: scope.throwIfAborted() below rejects the whole batch, so no unstarted item's error is reported
    (item) => abortError(operation, uriOf(item), signal?.reason),
  );
  scope.throwIfAborted();
  const errors = results.flatMap((result, index) =>
    result.ok ? [] : [toS3dlioError(result.error, operation, uriOf(items[index])) as S3dlioError],
  );
  if (errors.length > 0) throw new BatchError(operation, errors, items.length - errors.length);
  return results.map((result) => (result as { ok: true; value: T }).value);
}

/** The validated options of a `deletePrefix`, the same for every backend. */
export interface DeletePrefixSettings {
  concurrency: number;
  matches: ((relativePath: string) => boolean) | undefined;
  onDeleted: ((uri: string) => void) | undefined;
  allowProtectedPaths: boolean;
}

/** Validates the options of a `deletePrefix`. */
export function deletePrefixSettings(
  opts: Partial<DeletePrefixOptions>,
  defaultConcurrency: number,
): DeletePrefixSettings {
  const onDeleted = opts.onDeleted;
  if (onDeleted !== undefined && typeof onDeleted !== 'function') {
    throw invalidType('options.onDeleted', 'a function', onDeleted);
  }
  return {
    concurrency: optionalPositiveInteger(opts.concurrency, 'options.concurrency', defaultConcurrency),
    matches: optionalMatcher(opts.pattern),
    onDeleted,
    allowProtectedPaths: optionalBoolean(opts.allowProtectedPaths, 'options.allowProtectedPaths', false),
  };
}

/**
 * Deletes in bounded batches while `entries` streams, so memory stays flat for any prefix size.
 * A failed batch does not stop the next ones: every failure is collected and reported at the end
 * as one BatchError; an abort stops at once. Resolves to the number deleted.
 */
export async function deleteInBatches<E>(
  scope: OperationScope,
  entries: AsyncIterable<E>,
  batchSize: number,
  uriOf: (entry: E) => string,
  removeBatch: (batch: E[], removed: (entry: E) => void) => Promise<void>,
  onDeleted: ((uri: string) => void) | undefined,
): Promise<number> {
  let deleted = 0;
  const errors: S3dlioError[] = [];
  let batch: E[] = [];
  const flush = async (): Promise<void> => {
    const removed: E[] = [];
    try {
      await removeBatch(batch, (entry) => removed.push(entry));
    } catch (error) {
      if (!(error instanceof BatchError)) throw error;
      errors.push(...error.errors);
    } finally {
      deleted += removed.length;
      batch = [];
    }
    // Outside the batch: a throwing callback is the caller's error, not a failed delete.
    if (onDeleted) for (const entry of removed) onDeleted(uriOf(entry));
  };
  for await (const entry of entries) {
    batch.push(entry);
    if (batch.length >= batchSize) await flush();
  }
  if (batch.length > 0) await flush();
  if (errors.length > 0) throw new BatchError(scope.operation, errors, deleted);
  return deleted;
}
