/**
 * Shuffles and shards: deterministic per (seed, epoch), different across epochs; shards exactly once
 * each (uneven), or all of one length by trimming the order's tail or padding with its head.
 */
import { type EvenShards, epochOrder, shardLength, shardOf } from '../../lib/loader/sampling';
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
    const shards = range(worldSize).map((rank) => shardOf(order, rank, worldSize, false));
    expect(sorted(shards.flat())).toEqual(range(n));
    const sizes = shards.map((shard) => shard.length);
    expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
    expect(sizes).toEqual(range(worldSize).map((rank) => shardLength(n, rank, worldSize, false)));
  });

  test.each<[number, number, EvenShards, number[][]]>([
    // items, worldSize, evenShards, each rank's shard of the order 0..n-1
    [
      9,
      2,
      false,
      [
        [0, 2, 4, 6, 8],
        [1, 3, 5, 7],
      ],
    ],
    [
      9,
      2,
      'trim',
      [
        [0, 2, 4, 6],
        [1, 3, 5, 7],
      ],
    ], // the order's last item left out
    [
      9,
      2,
      'pad',
      [
        [0, 2, 4, 6, 8],
        [1, 3, 5, 7, 0],
      ],
    ], // the order's first item read again
    [
      10,
      3,
      'trim',
      [
        [0, 3, 6],
        [1, 4, 7],
        [2, 5, 8],
      ],
    ],
    [
      10,
      3,
      'pad',
      [
        [0, 3, 6, 9],
        [1, 4, 7, 0],
        [2, 5, 8, 1],
      ],
    ],
    [
      8,
      4,
      'pad',
      [
        [0, 4],
        [1, 5],
        [2, 6],
        [3, 7],
      ],
    ], // a multiple of worldSize: nothing to even
    [
      8,
      4,
      'trim',
      [
        [0, 4],
        [1, 5],
        [2, 6],
        [3, 7],
      ],
    ],
    [3, 5, 'trim', [[], [], [], [], []]], // fewer items than ranks
    [3, 5, 'pad', [[0], [1], [2], [0], [1]]],
    [2, 7, 'pad', [[0], [1], [0], [1], [0], [1], [0]]], // the order wraps around as often as needed
    [1, 3, 'pad', [[0], [0], [0]]],
    [0, 3, 'pad', [[], [], []]],
    [0, 3, 'trim', [[], [], []]],
  ])('%i items over %i ranks, evenShards %s: %j', (n, worldSize, even, expected) => {
    const order = epochOrder(n, false, 0, 0);
    expect(range(worldSize).map((rank) => shardOf(order, rank, worldSize, even))).toEqual(expected);
    expect(range(worldSize).map((rank) => shardLength(n, rank, worldSize, even))).toEqual(
      expected.map((shard) => shard.length),
    );
  });

  test('of a shuffled order, trim leaves out its tail and pad repeats its head', () => {
    const order = Array.from(epochOrder(11, true, 5, 2));
    const trimmed = [0, 1, 2, 3].map((rank) => shardOf(order, rank, 4, 'trim'));
    expect(sorted(trimmed.flat())).toEqual(sorted(order.slice(0, 8)));
    const padded = [0, 1, 2, 3].map((rank) => shardOf(order, rank, 4, 'pad'));
    expect(padded[3]).toEqual([order[3], order[7], order[0]]);
    expect(sorted(padded.flat())).toEqual(sorted([...order, order[0]]));
  });
});
