/**
 * Every rank takes the same number of steps per epoch (distributed data-parallel training hangs in
 * its collective ops otherwise): the shards are made one length, by trimming the epoch order's tail
 * (the default with dropLast) or padding with its head (the default without), then batched;
 * `evenShards: false` reads each item once at the price of uneven steps.
 */
import { DataLoader, type DataLoaderOptions } from '../../lib/loader/data-loader';
import { SyntheticDataset, type SyntheticItem } from './synthetic';

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

/** Each rank's batches of one epoch (as item indices), and how many items each rank read. */
async function ranksOf(n: number, worldSize: number, options: DataLoaderOptions, failAt?: Set<number>) {
  const ranks: Array<{ batches: number[][]; reads: number; length: number; skipped: number }> = [];
  for (let rank = 0; rank < worldSize; rank++) {
    const dataset = new SyntheticDataset(n, { failAt });
    const loader = new DataLoader<SyntheticItem>(dataset, { ...options, rank, worldSize });
    const batches: number[][] = [];
    for await (const batch of loader) batches.push(batch.map((item) => item.index));
    ranks.push({ batches, reads: dataset.started, length: loader.length, skipped: loader.stats.skipped });
  }
  return ranks;
}

describe('9 items, 2 ranks, batchSize 5', () => {
  test.each<[boolean, DataLoaderOptions['evenShards'], number[][], number[][]]>([
    // dropLast, evenShards, rank 0's batches, rank 1's batches
    [true, undefined, [], []], // trim (the default with dropLast): 4 items each, no full batch
    [false, undefined, [[0, 2, 4, 6, 8]], [[1, 3, 5, 7, 0]]], // pad (the default without): 5 each
    [false, 'trim', [[0, 2, 4, 6]], [[1, 3, 5, 7]]],
    [true, 'pad', [[0, 2, 4, 6, 8]], [[1, 3, 5, 7, 0]]],
    [false, false, [[0, 2, 4, 6, 8]], [[1, 3, 5, 7]]], // one step each, by luck of the batch size
    [true, false, [[0, 2, 4, 6, 8]], []], // one step and none: the hang this option exists for
  ])('dropLast %s, evenShards %s: rank 0 %j, rank 1 %j', async (dropLast, evenShards, rank0, rank1) => {
    const ranks = await ranksOf(9, 2, { batchSize: 5, dropLast, evenShards });
    expect(ranks.map((rank) => rank.batches)).toEqual([rank0, rank1]);
    expect(ranks.map((rank) => rank.length)).toEqual([rank0.length, rank1.length]);
    expect(ranks.map((rank) => rank.reads)).toEqual([rank0.flat().length, rank1.flat().length]); // nothing else read
  });
});

describe('fewer items than ranks, and none', () => {
  test.each<[number, DataLoaderOptions['evenShards'], number[][][]]>([
    // items over 4 ranks (batchSize 2), evenShards: each rank's batches
    [3, 'pad', [[[0]], [[1]], [[2]], [[0]]]],
    [1, 'pad', [[[0]], [[0]], [[0]], [[0]]]],
    [3, 'trim', [[], [], [], []]],
    [3, false, [[[0]], [[1]], [[2]], []]],
    [0, 'pad', [[], [], [], []]],
    [0, 'trim', [[], [], [], []]],
  ])('%i items, evenShards %s: %j', async (n, evenShards, expected) => {
    const ranks = await ranksOf(n, 4, { batchSize: 2, evenShards });
    expect(ranks.map((rank) => rank.batches)).toEqual(expected);
  });
});

test('trim leaves out the shuffled order’s tail, so other items each epoch: over 30 epochs every item is trained on', async () => {
  const seen = new Set<number>();
  for (let epoch = 0; epoch < 30; epoch++) {
    const steps: number[] = [];
    for (const rank of [0, 1]) {
      const loader = new DataLoader(new SyntheticDataset(9), {
        batchSize: 2,
        dropLast: true,
        shuffle: true,
        seed: 4,
        rank,
        worldSize: 2,
      });
      loader.setEpoch(epoch);
      let batches = 0;
      for await (const batch of loader) {
        batches++;
        for (const item of batch) seen.add(item.index);
      }
      steps.push(batches);
    }
    expect(steps).toEqual([2, 2]); // ⌊⌊9/2⌋/2⌋ each
  }
  expect([...seen].sort((a, b) => a - b)).toEqual(range(9));
});

describe("onError: 'skip'", () => {
  test('with dropLast, a skipped item is replaced from the rest of the even shard: the rank keeps its steps, the trimmed item stays unread', async () => {
    // 11 items over 2 ranks: trimmed to 10, shards [0, 2, 4, 6, 8] and [1, 3, 5, 7, 9]; 2 batches of 2 each.
    const ranks = await ranksOf(11, 2, { batchSize: 2, dropLast: true, onError: 'skip' }, new Set([2]));
    expect(ranks.map((rank) => rank.batches)).toEqual([
      [
        [0, 4],
        [6, 8],
      ],
      [
        [1, 3],
        [5, 7],
      ],
    ]);
    expect(ranks.map((rank) => [rank.reads, rank.skipped])).toEqual([
      [5, 1],
      [4, 0],
    ]);
  });

  test('a rank with more failures than spare items takes fewer steps (stats.skipped tells)', async () => {
    const ranks = await ranksOf(10, 2, { batchSize: 2, dropLast: true, onError: 'skip' }, new Set([0, 2]));
    expect(ranks.map((rank) => rank.batches.length)).toEqual([1, 2]);
    expect(ranks.map((rank) => rank.skipped)).toEqual([2, 0]);
  });
});
