/**
 * Sharding and shuffling: for any dataset size (0–500), world size (1–8), batch size, dropLast,
 * seed and epoch, the ranks together read every item exactly once per epoch (less the documented
 * drop of each rank's last partial batch with dropLast, whose items are never read), never the
 * same item twice, in an order that only (seed, epoch) decides; and with 8 or more items, the
 * epochs do not all repeat one order.
 */
import * as fc from 'fast-check';

import { DataLoader } from '../../lib';
import { Dataset } from '../../lib/loader/dataset';
import { epochOrder, shardOf } from '../../lib/loader/sampling';
import { propertyRuns } from '../helpers/properties';

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);
const sorted = (values: Iterable<number>): number[] => Array.from(values).sort((a, b) => a - b);

const size = fc.integer({ min: 0, max: 500 });
const seed = fc.oneof(fc.nat(1000), fc.constantFrom(0, 2 ** 32 - 1, 2 ** 32, Number.MAX_SAFE_INTEGER), fc.maxSafeNat());
const epoch = fc.oneof(fc.nat(20), fc.nat(1_000_000));
const worldSize = fc.integer({ min: 1, max: 8 });

describe('epochOrder and shardOf', () => {
  test('a shuffle is a permutation of 0..n-1 that only (seed, epoch) decides; no shuffle is 0..n-1', () => {
    fc.assert(
      fc.property(size, seed, epoch, fc.boolean(), (n, s, e, shuffle) => {
        const order = Array.from(epochOrder(n, shuffle, s, e));
        expect(sorted(order)).toEqual(range(n));
        expect(Array.from(epochOrder(n, shuffle, s, e))).toEqual(order);
        if (!shuffle) expect(order).toEqual(range(n));
      }),
      propertyRuns(300),
    );
  });

  test('with 8 or more items, at least one of the next 4 epochs (and of 4 other seeds) has another order', () => {
    // Four repeats of one order of 8 items by chance: (1/8!)^4, about 4e-19.
    fc.assert(
      fc.property(fc.integer({ min: 8, max: 500 }), seed, fc.nat(1_000_000), (n, s, e) => {
        const order = Array.from(epochOrder(n, true, s, e)).join();
        const otherEpochs = [1, 2, 3, 4].map((d) => Array.from(epochOrder(n, true, s, e + d)).join());
        expect(otherEpochs.some((other) => other !== order)).toBe(true);
        const otherSeeds = [1, 2, 3, 4].map((d) => Array.from(epochOrder(n, true, (s + d) % 2 ** 53, e)).join());
        expect(otherSeeds.some((other) => other !== order)).toBe(true);
      }),
      propertyRuns(100),
    );
  });

  test('the shards of all ranks are disjoint, cover the order exactly once, and differ in size by at most one', () => {
    fc.assert(
      fc.property(size, worldSize, seed, epoch, (n, world, s, e) => {
        const order = epochOrder(n, true, s, e);
        const shards = range(world).map((rank) => shardOf(order, rank, world));
        expect(sorted(shards.flat())).toEqual(range(n));
        const sizes = shards.map((shard) => shard.length);
        expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
        // Rank r reads positions r, r + worldSize, …: interleaving the shards gives the order back.
        const interleaved = range(n).map((position) => shards[position % world]![Math.floor(position / world)]);
        expect(interleaved).toEqual(Array.from(order));
      }),
      propertyRuns(300),
    );
  });
});

/**
 * Item i is the number i, after `ticks(i)` turns of the event loop (so fetches complete out of
 * order); `reads` counts the get() calls.
 */
class NumberDataset extends Dataset<number> {
  reads = 0;

  constructor(
    readonly length: number,
    private readonly ticks: (index: number) => number,
  ) {
    super();
  }

  source(index: number): string {
    return `mem://numbers/${index}`;
  }

  async get(index: number): Promise<number> {
    this.reads++;
    if (index < 0 || index >= this.length || !Number.isInteger(index)) throw new Error(`no item ${index}`);
    for (let tick = this.ticks(index); tick > 0; tick--) await new Promise((resolve) => setImmediate(resolve));
    return index;
  }
}

async function epochOf(loader: DataLoader<number>): Promise<number[][]> {
  const batches: number[][] = [];
  for await (const batch of loader) batches.push(batch);
  return batches;
}

describe('DataLoader over all ranks', () => {
  const settings = fc.record({
    length: size,
    worldSize,
    batchSize: fc.oneof(fc.integer({ min: 1, max: 8 }), fc.integer({ min: 1, max: 600 })),
    dropLast: fc.boolean(),
    shuffle: fc.boolean(),
    seed,
    epoch: fc.nat(1000),
    ordered: fc.boolean(),
    concurrency: fc.integer({ min: 1, max: 16 }),
    prefetch: fc.nat(3),
    tickSeed: fc.nat(),
  });

  test('every item once per epoch over the ranks (less each rank’s last partial batch with dropLast, never read), ranks disjoint, same seed and epoch the same batches', async () => {
    await fc.assert(
      fc.asyncProperty(settings, async ({ length, worldSize: world, epoch: e, tickSeed, ...options }) => {
        const ticks = (index: number): number => ((index * 2654435761 + tickSeed) >>> 0) % 4;
        const loaderFor = (rank: number, dataset = new NumberDataset(length, ticks)): DataLoader<number> => {
          const loader = new DataLoader(dataset, { ...options, rank, worldSize: world });
          loader.setEpoch(e);
          return loader;
        };
        const seen = new Set<number>();
        let expectedTotal = 0;
        for (let rank = 0; rank < world; rank++) {
          const dataset = new NumberDataset(length, ticks);
          const loader = loaderFor(rank, dataset);
          const shard = shardOf(epochOrder(length, options.shuffle, options.seed, e), rank, world);
          const batches = await epochOf(loader);
          const kept = options.dropLast ? shard.length - (shard.length % options.batchSize) : shard.length;
          expect(loader.itemsPerEpoch).toBe(kept);
          expect(loader.indicesFor(e)).toEqual(shard.slice(0, kept));
          expect(dataset.reads).toBe(kept); // the dropped items are not read
          expectedTotal += kept;
          // Full batches, then (without dropLast) one smaller one; as many as `length` says.
          expect(batches).toHaveLength(loader.length);
          batches.forEach((batch, i) => {
            if (i < batches.length - 1 || options.dropLast) expect(batch).toHaveLength(options.batchSize);
            else expect(batch.length).toBeLessThanOrEqual(options.batchSize);
          });
          const items = batches.flat();
          expect(items).toHaveLength(kept);
          if (options.ordered) expect(items).toEqual(shard.slice(0, kept));
          else {
            // Completion order: a batch holds whichever items finished, all of them from this shard.
            expect(new Set(items).size).toBe(items.length);
            const inShard = new Set(shard);
            expect(items.every((item) => inShard.has(item))).toBe(true);
          }
          for (const item of items) {
            expect(seen.has(item)).toBe(false); // no item read by two ranks, or twice by one
            seen.add(item);
          }
          if (options.ordered) expect(await epochOf(loaderFor(rank))).toEqual(batches);
        }
        expect(seen.size).toBe(expectedTotal);
        if (!options.dropLast) expect(sorted(seen)).toEqual(range(length));
        // The ranks' shards together are the epoch's order.
        const order = epochOrder(length, options.shuffle, options.seed, e);
        const shards = range(world).map((rank) => shardOf(order, rank, world));
        expect(sorted(shards.flat())).toEqual(sorted(order));
        shards.forEach((shard, rank) =>
          expect(shard.slice(0, loaderFor(rank).itemsPerEpoch)).toEqual(loaderFor(rank).indicesFor(e)),
        );
      }),
      propertyRuns(40),
    );
  });
});
