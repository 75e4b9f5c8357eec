/**
 * Sharding and shuffling: for any dataset size (0–500), world size (1–8), batch size, dropLast,
 * evenShards, seed and epoch: every rank takes the same number of batches (unless evenShards is
 * false); the ranks together read the epoch's order trimmed of its last `n mod worldSize` items
 * (trim), padded with its first ones (pad) or exactly once (false), less the documented drop of
 * each rank's last partial batch with dropLast, whose items are never read; only (seed, epoch)
 * decides the order; and with 8 or more items, the epochs do not all repeat one order.
 */
import * as fc from 'fast-check';

import { DataLoader } from '../../lib';
import { Dataset } from '../../lib/loader/dataset';
import { type EvenShards, epochOrder, shardLength, shardOf } from '../../lib/loader/sampling';
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

  test('evenShards false: the shards are disjoint, cover the order exactly once, and differ in size by at most one', () => {
    fc.assert(
      fc.property(size, worldSize, seed, epoch, (n, world, s, e) => {
        const order = epochOrder(n, true, s, e);
        const shards = range(world).map((rank) => shardOf(order, rank, world, false));
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

  test('trim and pad: shards of one length, ⌊n/W⌋ or ⌈n/W⌉, that interleave into the order trimmed of its tail or padded with its head', () => {
    fc.assert(
      fc.property(
        size,
        worldSize,
        seed,
        epoch,
        fc.constantFrom<'trim' | 'pad'>('trim', 'pad'),
        (n, world, s, e, even) => {
          const order = Array.from(epochOrder(n, true, s, e));
          const shards = range(world).map((rank) => shardOf(order, rank, world, even));
          const each = even === 'trim' ? Math.floor(n / world) : Math.ceil(n / world);
          expect(shards.map((shard) => shard.length)).toEqual(range(world).map(() => each));
          expect(range(world).map((rank) => shardLength(n, rank, world, even))).toEqual(range(world).map(() => each));
          // trim: the first W·⌊n/W⌋ items of the order (fewer than W left out); pad: the order, then
          // its first W·⌈n/W⌉ − n items again (as often round as needed when n < W).
          const expected = range(world * each).map((position) => order[position % n]);
          const interleaved = expected.map((_, position) => shards[position % world]![Math.floor(position / world)]);
          expect(interleaved).toEqual(expected);
          if (even === 'trim') expect(n - world * each).toBeLessThan(world);
          else expect(new Set(shards.flat()).size).toBe(n); // every item at least once
        },
      ),
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
    evenShards: fc.constantFrom<EvenShards | undefined>(undefined, 'trim', 'pad', false),
    shuffle: fc.boolean(),
    seed,
    epoch: fc.nat(1000),
    ordered: fc.boolean(),
    concurrency: fc.integer({ min: 1, max: 16 }),
    prefetch: fc.nat(3),
    tickSeed: fc.nat(),
  });

  test('every rank the same number of batches (unless evenShards is false); the ranks together read the even order once, less what dropLast drops, never read; same seed and epoch the same batches', async () => {
    await fc.assert(
      fc.asyncProperty(settings, async ({ length, worldSize: world, epoch: e, tickSeed, evenShards, ...options }) => {
        const ticks = (index: number): number => ((index * 2654435761 + tickSeed) >>> 0) % 4;
        const loaderFor = (rank: number, dataset = new NumberDataset(length, ticks)): DataLoader<number> => {
          const loader = new DataLoader(dataset, { ...options, evenShards, rank, worldSize: world });
          loader.setEpoch(e);
          return loader;
        };
        // The documented default: trim with dropLast, else pad.
        const even: EvenShards = evenShards ?? (options.dropLast ? 'trim' : 'pad');
        const order = Array.from(epochOrder(length, options.shuffle, options.seed, e));
        const handedOut: number[] = [];
        const batchCounts: number[] = [];
        for (let rank = 0; rank < world; rank++) {
          const dataset = new NumberDataset(length, ticks);
          const loader = loaderFor(rank, dataset);
          expect(loader.evenShards).toBe(even);
          const shard = shardOf(order, rank, world, even);
          const batches = await epochOf(loader);
          const kept = options.dropLast ? shard.length - (shard.length % options.batchSize) : shard.length;
          expect(loader.itemsPerEpoch).toBe(kept);
          expect(loader.indicesFor(e)).toEqual(shard.slice(0, kept));
          expect(dataset.reads).toBe(kept); // no item read that is not handed out
          // Full batches, then (without dropLast) one smaller one; as many as `length` says.
          expect(batches).toHaveLength(loader.length);
          batchCounts.push(batches.length);
          batches.forEach((batch, i) => {
            if (i < batches.length - 1 || options.dropLast) expect(batch).toHaveLength(options.batchSize);
            else expect(batch.length).toBeLessThanOrEqual(options.batchSize);
          });
          const items = batches.flat();
          // In order; or (ordered: false) in completion order, the same items.
          expect(options.ordered ? items : sorted(items)).toEqual(
            options.ordered ? shard.slice(0, kept) : sorted(shard.slice(0, kept)),
          );
          handedOut.push(...items);
          if (options.ordered) expect(await epochOf(loaderFor(rank))).toEqual(batches);
        }
        if (even !== false) {
          // The same number of steps on every rank: ⌊n/W⌋ (trim) or ⌈n/W⌉ (pad) items, in batches.
          const each = even === 'trim' ? Math.floor(length / world) : Math.ceil(length / world);
          const steps = options.dropLast ? Math.floor(each / options.batchSize) : Math.ceil(each / options.batchSize);
          expect(batchCounts).toEqual(range(world).map(() => steps));
        }
        // Together: the even order once (trim: all but its last n mod W items; pad: all, then its
        // first items again; false: all once), less each rank's dropped partial batch.
        const evenOrder =
          even === false
            ? order
            : range(world * shardLength(length, 0, world, even)).map((position) => order[position % length]);
        if (!options.dropLast) expect(sorted(handedOut)).toEqual(sorted(evenOrder));
        else {
          const left = new Map<number, number>();
          for (const item of evenOrder) left.set(item, (left.get(item) ?? 0) + 1);
          for (const item of handedOut) {
            expect(left.get(item)).toBeGreaterThan(0); // a dropped item is never handed out anyway
            left.set(item, left.get(item)! - 1);
          }
        }
        if (even !== 'pad') expect(new Set(handedOut).size).toBe(handedOut.length); // no item twice
      }),
      propertyRuns(40),
    );
  });
});
