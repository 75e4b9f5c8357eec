/** Shuffles and shards: deterministic per (seed, epoch), different across epochs, exactly-once. */
import { epochOrder, shardOf } from '../../lib/loader/sampling';
import { runNodeJson } from '../helpers/child';
import { modelEpochOrder } from '../helpers/sampling-model';

const sorted = (values: ArrayLike<number>): number[] => Array.from(values).sort((a, b) => a - b);
const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

describe('epochOrder', () => {
  test('without shuffle: 0..n-1 in order', () => {
    expect(Array.from(epochOrder(5, false, 7, 3))).toEqual([0, 1, 2, 3, 4]);
  });

  test('a shuffle is a permutation of 0..n-1', () => {
    for (const n of [0, 1, 2, 3, 10, 1000, 4097]) expect(sorted(epochOrder(n, true, 1, 0))).toEqual(range(n));
  });

  test('the same (seed, epoch) gives the same order; another epoch or seed another', () => {
    const a = Array.from(epochOrder(1000, true, 42, 5));
    expect(Array.from(epochOrder(1000, true, 42, 5))).toEqual(a);
    expect(Array.from(epochOrder(1000, true, 42, 6))).not.toEqual(a);
    expect(Array.from(epochOrder(1000, true, 43, 5))).not.toEqual(a);
    expect(Array.from(epochOrder(1000, true, 2 ** 40 + 42, 5))).not.toEqual(a); // high seed bits count
  });

  test('another process computes the same order (ranks agree without talking)', async () => {
    const order = await runNodeJson<number[]>(
      `const { epochOrder } = require(LIB + '/loader/sampling');
       console.log('RESULT ' + JSON.stringify(Array.from(epochOrder(500, true, 1234, 7))));`,
    );
    expect(order).toEqual(Array.from(epochOrder(500, true, 1234, 7)));
    expect(order).not.toEqual(range(500));
  });

  // The order is part of the contract: a run resumed from (seed, epoch, position) must read the
  // same remaining items, on any machine and after an upgrade.
  test.each([
    [1, 0, 0],
    [2, 1, 0],
    [10, 42, 5],
    [257, 0xffffffff, 1],
    [1000, 2 ** 32 + 7, 2 ** 31 + 3],
    [300, Number.MAX_SAFE_INTEGER, 2 ** 33 + 1],
    [4097, 123456789, 99],
  ])(
    '%i items, seed %i, epoch %i: exactly the order of the specification (sfc32 seeded by splitmix32)',
    (n, seed, epoch) => {
      expect(Array.from(epochOrder(n, true, seed, epoch))).toEqual(modelEpochOrder(n, seed, epoch));
    },
  );

  test('positions are spread uniformly (chi-square over 20,000 shuffles of 8)', () => {
    const counts = Array.from({ length: 8 }, () => new Array<number>(8).fill(0));
    for (let epoch = 0; epoch < 20_000; epoch++) {
      epochOrder(8, true, 9, epoch).forEach((value, position) => counts[value][position]++);
    }
    const expected = 20_000 / 8;
    let chi = 0;
    for (const row of counts) for (const count of row) chi += (count - expected) ** 2 / expected;
    // 49 degrees of freedom: the 99.9th percentile is about 86.
    expect(chi).toBeLessThan(86);
  });
});

describe('shardOf', () => {
  test.each([
    [10, 1],
    [10, 3],
    [7, 4],
    [3, 5],
    [0, 2],
    [1000, 8],
  ])('%i items over %i ranks: disjoint, together exactly once, sizes differ by at most one', (n, worldSize) => {
    const order = epochOrder(n, true, 3, 1);
    const shards = range(worldSize).map((rank) => shardOf(order, rank, worldSize));
    expect(sorted(shards.flat())).toEqual(range(n));
    const sizes = shards.map((shard) => shard.length);
    expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
  });
});
