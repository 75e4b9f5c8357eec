/**
 * Every store alive in the process, for the module-level `stats()`: held weakly, so a store the
 * program drops is collected as it would be (its counts go with it).
 */
import type { StoreStats } from '../stats';
import type { OpCounters } from './op-counters';

/** What the totals read of a store. */
export interface CountedStore {
  stats(): StoreStats;
  readonly opCounters: OpCounters;
}

const live = new Set<WeakRef<CountedStore>>();
const collected = new FinalizationRegistry<WeakRef<CountedStore>>((ref) => live.delete(ref));

/** Called by each store as it is made. */
export function registerLiveStore(store: CountedStore): void {
  const ref = new WeakRef(store);
  live.add(ref);
  collected.register(store, ref);
}

/** The stores alive now. */
export function liveStores(): CountedStore[] {
  const stores: CountedStore[] = [];
  for (const ref of live) {
    const store = ref.deref();
    if (store) stores.push(store);
  }
  return stores;
}
