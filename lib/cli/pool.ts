/** The CLI's worker pool: many objects, bounded concurrency, every failure reported. */

/**
 * Runs `task` on each item of `items` (pulled lazily, so a million-key listing is never held in
 * memory) with at most `concurrency` in flight. A failed item goes to `onError` and the others go
 * on; once `signal` fires, no new item starts.
 */
export async function forEachConcurrent<T>(
  items: AsyncIterable<T> | Iterable<T>,
  concurrency: number,
  signal: AbortSignal,
  task: (item: T) => Promise<void>,
  onError: (item: T, error: unknown) => void,
): Promise<void> {
  const iterator =
    Symbol.asyncIterator in items
      ? (items as AsyncIterable<T>)[Symbol.asyncIterator]()
      : (items as Iterable<T>)[Symbol.iterator]();
  let exhausted = false;
  let sourceError: { error: unknown } | undefined;
  const worker = async (): Promise<void> => {
    while (!exhausted && !signal.aborted) {
      let next: IteratorResult<T>;
      try {
        next = await iterator.next();
      } catch (error) {
        // The source (a listing) failed: stop pulling, let in-flight items finish, then throw.
        sourceError ??= { error };
        exhausted = true;
        return;
      }
      if (next.done) {
        exhausted = true;
        return;
      }
      try {
        await task(next.value);
      } catch (error) {
        onError(next.value, error);
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  if (!exhausted) await iterator.return?.();
  if (sourceError) throw sourceError.error;
}
