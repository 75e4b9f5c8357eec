/**
 * DataLoader semantics on an in-memory dataset: batching and drop-last, order, shuffles and
 * shards, the memory window, cancellation, failures, stats and the stream adapters.
 */
import { DataLoader, type DataLoaderOptions } from '../../lib/loader/data-loader';
import { epochOrder } from '../../lib/loader/sampling';
import { rejectionOf } from '../helpers/local';
import { SyntheticDataset, type SyntheticItem, sleep } from './synthetic';

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);
const sorted = (values: number[]): number[] => [...values].sort((a, b) => a - b);

/** Every batch of one epoch, as arrays of item indices. */
async function epochOf(loader: DataLoader<SyntheticItem>): Promise<number[][]> {
  const batches: number[][] = [];
  for await (const batch of loader) batches.push(batch.map((item) => item.index));
  return batches;
}

describe('batches', () => {
  test.each([
    // items, batchSize, dropLast, expected batch sizes
    [10, 4, false, [4, 4, 2]],
    [10, 4, true, [4, 4]],
    [12, 4, false, [4, 4, 4]],
    [12, 4, true, [4, 4, 4]],
    [3, 8, false, [3]],
    [3, 8, true, []],
    [0, 8, false, []],
    [1, 1, false, [1]],
  ])('%i items, batchSize %i, dropLast %s → batches of %j', async (n, batchSize, dropLast, sizes) => {
    const loader = new DataLoader(new SyntheticDataset(n), { batchSize, dropLast });
    const batches = await epochOf(loader);
    expect(batches.map((batch) => batch.length)).toEqual(sizes);
    expect(loader.length).toBe(sizes.length);
  });

  test('ordered (default): the dataset order, even when later items arrive first', async () => {
    const dataset = new SyntheticDataset(40, { delayMs: (i) => (i % 7) * 3 });
    const batches = await epochOf(new DataLoader(dataset, { batchSize: 6, concurrency: 8 }));
    expect(batches.flat()).toEqual(range(40));
  });

  test('ordered: false: a slow item does not hold back the batches behind it', async () => {
    const dataset = new SyntheticDataset(24, { delayMs: (i) => (i === 0 ? 300 : 1) });
    const batches = await epochOf(new DataLoader(dataset, { batchSize: 4, concurrency: 4, ordered: false }));
    expect(batches[0]).not.toContain(0);
    expect(batches[batches.length - 1]).toContain(0);
    expect(sorted(batches.flat())).toEqual(range(24));
  });

  test('items keep their bytes (zero-copy data of each item)', async () => {
    const [batch] = await (async () => {
      const out: SyntheticItem[][] = [];
      for await (const b of new DataLoader(new SyntheticDataset(3), { batchSize: 3 })) out.push(b);
      return out;
    })();
    expect(batch.map((item) => item.data[0])).toEqual([0, 1, 2]);
  });
});

describe('shuffles, epochs and ranks', () => {
  test('a shuffle is deterministic for (seed, epoch) and differs between epochs', async () => {
    const a = new DataLoader(new SyntheticDataset(100), { batchSize: 10, shuffle: true, seed: 5 });
    const b = new DataLoader(new SyntheticDataset(100), { batchSize: 10, shuffle: true, seed: 5 });
    const a0 = (await epochOf(a)).flat();
    const a1 = (await epochOf(a)).flat(); // the next iteration is epoch 1
    expect((await epochOf(b)).flat()).toEqual(a0);
    expect(a1).not.toEqual(a0);
    expect(sorted(a0)).toEqual(range(100));
    expect(sorted(a1)).toEqual(range(100));
    b.setEpoch(1);
    expect((await epochOf(b)).flat()).toEqual(a1);
    expect(a.stats.epoch).toBe(1);
  });

  test.each<[DataLoaderOptions['evenShards'], (order: number[]) => number[]]>([
    // evenShards, what 50 items over 3 ranks give together each epoch, from the epoch's order
    [false, (order) => order], // every item exactly once (17, 17 and 16 items)
    ['pad', (order) => [...order, order[0]]], // 17 items each: the order's first item again
    ['trim', (order) => order.slice(0, 48)], // 16 items each: all but the order's last two
  ])('evenShards %s: the ranks together read the epoch order made even, every epoch', async (evenShards, expected) => {
    const worldSize = 3;
    for (const epoch of [0, 1, 2]) {
      const seen: number[] = [];
      for (let rank = 0; rank < worldSize; rank++) {
        const loader = new DataLoader(new SyntheticDataset(50), {
          batchSize: 4,
          shuffle: true,
          seed: 11,
          rank,
          worldSize,
          evenShards,
        });
        loader.setEpoch(epoch);
        seen.push(...(await epochOf(loader)).flat());
      }
      expect(sorted(seen)).toEqual(sorted(expected(Array.from(epochOrder(50, true, 11, epoch)))));
    }
  });

  test('rank and worldSize default to the RANK and WORLD_SIZE environment variables', () => {
    const saved = { RANK: process.env.RANK, WORLD_SIZE: process.env.WORLD_SIZE };
    try {
      process.env.RANK = '2';
      process.env.WORLD_SIZE = '4';
      const loader = new DataLoader(new SyntheticDataset(10));
      expect([loader.rank, loader.worldSize]).toEqual([2, 4]);
      expect(loader.itemsPerEpoch).toBe(3); // positions 2, 6 and (padding: 12 positions) 10, read as 0
      process.env.RANK = 'two';
      expect(() => new DataLoader(new SyntheticDataset(10))).toThrow(/env RANK/);
    } finally {
      for (const [key, value] of Object.entries(saved)) {
        if (value === undefined) delete process.env[key];
        else process.env[key] = value;
      }
    }
  });

  test('indicesFor(epoch) is what an iteration of that epoch reads', async () => {
    const loader = new DataLoader(new SyntheticDataset(30), {
      batchSize: 7,
      shuffle: true,
      seed: 3,
      rank: 1,
      worldSize: 2,
    });
    const expected = loader.indicesFor(0);
    expect((await epochOf(loader)).flat()).toEqual(expected);
  });
});

describe('memory and concurrency bounds', () => {
  test('fetches in flight never exceed concurrency', async () => {
    const dataset = new SyntheticDataset(200, { delayMs: () => 2 });
    await epochOf(new DataLoader(dataset, { batchSize: 50, concurrency: 5, prefetch: 4 }));
    expect(dataset.maxInFlight).toBe(5);
  });

  test('a slow consumer: at most (prefetch + 1) × batchSize items fetched ahead, and that window is used', async () => {
    const dataset = new SyntheticDataset(120);
    const loader = new DataLoader(dataset, { batchSize: 4, prefetch: 2, concurrency: 16 });
    for await (const batch of loader) {
      dataset.consumed += batch.length;
      await sleep(15); // slower than storage
    }
    expect(dataset.maxOutstanding).toBeLessThanOrEqual((2 + 1) * 4 + 4); // + the batch in the consumer's hands
    expect(dataset.maxOutstanding).toBeGreaterThanOrEqual((2 + 1) * 4);
    expect(loader.stats.items).toBe(120);
  });
});

describe('cancellation', () => {
  test('break: the fetches in flight are aborted and awaited; nothing starts after', async () => {
    const dataset = new SyntheticDataset(1000, { delayMs: () => 20 });
    let batches = 0;
    for await (const batch of new DataLoader(dataset, { batchSize: 8, concurrency: 8 })) {
      expect(batch).toHaveLength(8);
      if (++batches === 2) break;
    }
    expect(dataset.inFlight).toBe(0);
    expect(dataset.aborted).toBeGreaterThan(0);
    const started = dataset.started;
    await sleep(50);
    expect(dataset.started).toBe(started);
  });

  test('an abort signal mid-epoch rejects the iteration with ERR_ABORTED after the fetches settle', async () => {
    const dataset = new SyntheticDataset(1000, { delayMs: () => 10 });
    const controller = new AbortController();
    const loader = new DataLoader(dataset, { batchSize: 8, concurrency: 8, signal: controller.signal });
    const error = await rejectionOf(
      (async () => {
        let n = 0;
        for await (const batch of loader) {
          void batch;
          if (++n === 3) controller.abort();
        }
      })(),
    );
    expect(error.code).toBe('ERR_ABORTED');
    expect(dataset.inFlight).toBe(0);
  });

  test('an already-aborted signal: no fetch starts', async () => {
    const dataset = new SyntheticDataset(10);
    const loader = new DataLoader(dataset, { signal: AbortSignal.abort() });
    const error = await rejectionOf(epochOf(loader));
    expect(error.code).toBe('ERR_ABORTED');
    expect(dataset.started).toBe(0);
  });
});

describe('failures', () => {
  test('onError fail (default): the iteration rejects with the item URI and cause; fetches settle', async () => {
    const dataset = new SyntheticDataset(100, { failAt: new Set([37]), delayMs: () => 1 });
    const error = await rejectionOf(epochOf(new DataLoader(dataset, { batchSize: 10 })));
    expect(error.uri).toBe('mem://items/37');
    expect(error.message).toContain('mem://items/37');
    expect(error.cause.message).toBe('item 37 is unreadable');
    expect(error.code).toBe('ERR_ITEM_FAILED');
    expect(dataset.inFlight).toBe(0);
  });

  test('onError skip: the others are delivered; skipped items are counted and named in stats', async () => {
    const dataset = new SyntheticDataset(30, { failAt: new Set([3, 17]) });
    const loader = new DataLoader(dataset, { batchSize: 4, onError: 'skip' });
    const items = (await epochOf(loader)).flat();
    expect(items).toEqual(range(30).filter((i) => i !== 3 && i !== 17));
    expect(loader.stats.skipped).toBe(2);
    expect(loader.stats.errors.map((e) => e.uri)).toEqual(['mem://items/3', 'mem://items/17']);
    expect(loader.stats.items).toBe(28);
  });
});

describe('stats', () => {
  test('items, bytes, batches, rates and the consumer wait time', async () => {
    const loader = new DataLoader(new SyntheticDataset(50, { size: 100, delayMs: () => 1 }), { batchSize: 8 });
    await epochOf(loader);
    const stats = loader.stats;
    expect(stats).toMatchObject({ epoch: 0, items: 50, bytes: 5000, batches: 7, skipped: 0 });
    expect(stats.seconds).toBeGreaterThan(0);
    expect(stats.itemsPerSecond).toBeCloseTo(50 / stats.seconds, 5);
    expect(stats.waitMs).toBeGreaterThan(0); // the first batch is always waited for
    expect(stats.waitMs).toBeLessThanOrEqual(stats.seconds * 1000);
  });
});

describe('adapters', () => {
  test('toReadable(): an object-mode Readable of batches; destroy stops the fetches', async () => {
    const all: number[] = [];
    for await (const batch of new DataLoader(new SyntheticDataset(10), { batchSize: 3 }).toReadable()) {
      all.push(...(batch as SyntheticItem[]).map((item) => item.index));
    }
    expect(all).toEqual(range(10));

    const dataset = new SyntheticDataset(1000, { delayMs: () => 10 });
    const readable = new DataLoader(dataset, { batchSize: 4 }).toReadable();
    await new Promise<void>((resolve) => readable.once('data', () => resolve()));
    readable.destroy();
    await new Promise((resolve) => readable.once('close', resolve));
    await sleep(30);
    expect(dataset.inFlight).toBe(0);
    expect(dataset.started).toBeLessThan(100);
  });

  test('toWebStream(): a ReadableStream of batches; cancel stops the fetches', async () => {
    const reader = new DataLoader(new SyntheticDataset(7), { batchSize: 2 }).toWebStream().getReader();
    const sizes: number[] = [];
    for (let next = await reader.read(); !next.done; next = await reader.read()) sizes.push(next.value.length);
    expect(sizes).toEqual([2, 2, 2, 1]);

    const dataset = new SyntheticDataset(1000, { delayMs: () => 10 });
    const stream = new DataLoader(dataset, { batchSize: 4 }).toWebStream();
    const streamReader = stream.getReader();
    await streamReader.read();
    await streamReader.cancel();
    expect(dataset.inFlight).toBe(0);
    expect(dataset.started).toBeLessThan(100);
  });
});

describe('bad options', () => {
  test.each([
    [{ batchSize: 0 }, /options\.batchSize/],
    [{ prefetch: -1 }, /options\.prefetch/],
    [{ concurrency: 1.5 }, /options\.concurrency/],
    [{ rank: 2, worldSize: 2 }, /options\.rank/],
    [{ seed: -3 }, /options\.seed/],
    [{ onError: 'ignore' }, /options\.onError/],
    [{ rangeThreshold: 'big' }, /options\.rangeThreshold/],
  ])('%j', (options, message) => {
    expect(() => new DataLoader(new SyntheticDataset(1), options as never)).toThrow(message);
  });

  test('a non-dataset', () => {
    expect(() => new DataLoader([1, 2, 3] as never)).toThrow(
      expect.objectContaining({
        name: 'TypeError',
        code: 'ERR_INVALID_ARG_TYPE',
        message: expect.stringMatching(/Expected a Dataset/),
      }),
    );
  });
});

describe('next() without awaiting', () => {
  test('several pending next() calls all settle, each with its own batch, then done', async () => {
    const iterator = new DataLoader(new SyntheticDataset(10, { delayMs: () => 5 }), { batchSize: 4 })[
      Symbol.asyncIterator
    ]();
    const results = await Promise.all([iterator.next(), iterator.next(), iterator.next(), iterator.next()]);
    expect(results.map((r) => (r.done ? 'done' : r.value.map((item) => item.index)))).toEqual([
      [0, 1, 2, 3],
      [4, 5, 6, 7],
      [8, 9],
      'done',
    ]);
  });
});

test('return() while a next() is waiting: the waiting next() ends as done, fetches settle', async () => {
  const dataset = new SyntheticDataset(100, { delayMs: () => 50 });
  const iterator = new DataLoader(dataset, { batchSize: 8 })[Symbol.asyncIterator]();
  const pending = iterator.next();
  await sleep(5);
  await iterator.return?.();
  await expect(pending).resolves.toEqual({ done: true, value: undefined });
  expect(dataset.inFlight).toBe(0);
});
