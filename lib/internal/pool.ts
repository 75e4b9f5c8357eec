/** Bounded-concurrency mapping used by the batch operations. */

/** The outcome of one item of a batch. */
export type Settled<T> = { ok: true; value: T } | { ok: false; error: unknown };

/**
 * Runs `task` over `items` with at most `concurrency` in flight and settles every item (no
 * failure hides another). Stops starting new items once `shouldStop()` returns true; items never
 * started settle with the error `notStarted()` gives.
 */
export async function settleConcurrently<I, T>(
  items: readonly I[],
  concurrency: number,
  task: (item: I, index: number) => Promise<T>,
  shouldStop: () => boolean,
  notStarted: (item: I) => unknown,
): Promise<Settled<T>[]> {
  const results = new Array<Settled<T>>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++;
      if (shouldStop()) {
        results[index] = { ok: false, error: notStarted(items[index]) };
        continue;
      }
      try {
        results[index] = { ok: true, value: await task(items[index], index) };
      } catch (error) {
        results[index] = { ok: false, error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  return results;
}
