/**
 * Which dataset indices a rank reads in an epoch, in which order: a seeded shuffle that every rank
 * computes identically, then a round-robin split of that order, made even (every rank the same
 * number of items, so the same number of steps) by trimming the order's tail or padding it with its
 * head, as PyTorch's DistributedSampler does.
 */

/** A small, fast 32-bit PRNG (sfc32): the same seed gives the same sequence on every machine. */
function sfc32(a: number, b: number, c: number, d: number): () => number {
  return () => {
    a |= 0;
    b |= 0;
    c |= 0;
    d |= 0;
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return t >>> 0;
  };
}

/** splitmix32 step: spreads (seed, epoch) over all four words of the generator state. */
function mix(value: number): number {
  let z = (value + 0x9e3779b9) | 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

/** A generator seeded by (seed, epoch); seeds are integers (up to 2^53). */
function generatorFor(seed: number, epoch: number): () => number {
  const low = seed >>> 0;
  const high = Math.floor(seed / 2 ** 32) >>> 0;
  const random = sfc32(mix(low), mix(high ^ 0x6a09e667), mix(epoch ^ 0xbb67ae85), mix((epoch * 31 + low) ^ 0x3c6ef372));
  for (let i = 0; i < 12; i++) random(); // warm-up: decorrelates nearby seeds
  return random;
}

/** A uniform integer in [0, bound) without modulo bias (bound ≤ 2^32). */
function below(random: () => number, bound: number): number {
  const limit = 2 ** 32 - (2 ** 32 % bound);
  for (;;) {
    const value = random();
    if (value < limit) return value % bound;
  }
}

/** The largest dataset a loader shuffles: indices are kept in a Uint32Array. */
export const MAX_DATASET_LENGTH = 2 ** 32 - 1;

/** The indices 0..length-1, shuffled (Fisher–Yates) for `(seed, epoch)` when `shuffle` is set. */
export function epochOrder(length: number, shuffle: boolean, seed: number, epoch: number): Uint32Array {
  const order = new Uint32Array(length);
  for (let i = 0; i < length; i++) order[i] = i;
  if (!shuffle) return order;
  const random = generatorFor(seed, epoch);
  for (let i = length - 1; i > 0; i--) {
    const j = below(random, i + 1);
    const swap = order[i];
    order[i] = order[j];
    order[j] = swap;
  }
  return order;
}

/**
 * How the ranks' shards are made the same length: `trim` drops the last `n mod worldSize` items of
 * the epoch's order (⌊n/worldSize⌋ items each), `pad` repeats the order from its start (⌈n/worldSize⌉
 * items each, wrapping around as often as needed when n < worldSize), `false` leaves them uneven
 * (⌈n/worldSize⌉ or ⌊n/worldSize⌋ items, each item read once).
 */
export type EvenShards = 'pad' | 'trim' | false;

/** Positions of the (trimmed or padded) epoch order that the ranks read together. */
function evenLength(length: number, worldSize: number, even: EvenShards): number {
  if (even === 'trim') return length - (length % worldSize);
  if (even === 'pad' && length > 0) return Math.ceil(length / worldSize) * worldSize;
  return length;
}

/** The number of items of `rank`'s shard of a dataset of `length` items (what `shardOf` returns). */
export function shardLength(length: number, rank: number, worldSize: number, even: EvenShards): number {
  const total = evenLength(length, worldSize, even);
  return Math.floor(total / worldSize) + (rank < total % worldSize ? 1 : 0);
}

/**
 * The part of `order` that `rank` of `worldSize` reads: positions rank, rank + worldSize, … of the
 * order trimmed or padded as `even` says (a padded position p reads `order[p mod n]`).
 */
export function shardOf(order: ArrayLike<number>, rank: number, worldSize: number, even: EvenShards): number[] {
  const total = evenLength(order.length, worldSize, even);
  const shard: number[] = [];
  for (let position = rank; position < total; position += worldSize) shard.push(order[position % order.length]);
  return shard;
}
