/**
 * What the loader reads is what it hands out, counted as real GETs of a file:// store on a dataset
 * in a temporary directory: `dropLast` never fetches the items it drops, nor `evenShards: 'trim'`
 * the ones it trims (in every mode: sequential or shuffled, ordered or not, any batch size, over
 * epochs and ranks), padding reads a repeated item once per time it is handed out, and no iterator
 * or adapter reads anything before its first `next()`.
 */
import { mkdirSync, rmSync, writeFileSync } from 'fs';
import * as path from 'path';

import { FileStore } from '../../lib';
import { DataLoader } from '../../lib/loader/data-loader';
import { Dataset, type DatasetItem } from '../../lib/loader/dataset';
import { useTempDir } from '../helpers/temp';
import { sleep } from './synthetic';

const tmp = useTempDir('s3dlio-loader-reads-');
const ITEMS = 23;

beforeAll(() => {
  mkdirSync(path.join(tmp.path, 'items'));
  for (let i = 0; i < ITEMS; i++) {
    writeFileSync(path.join(tmp.path, 'items', `item-${String(i).padStart(2, '0')}.bin`), new Uint8Array(1024).fill(i));
  }
});

/** A dataset over the temporary directory, read through a store of its own (its GETs are this test's). */
async function countedDataset(): Promise<{ dataset: Dataset<DatasetItem>; gets: () => number }> {
  const store = new FileStore();
  const dataset = await Dataset.fromPrefix(`file://${tmp.path}/items/`, { store });
  return { dataset, gets: () => store.stats().ops.GET?.requests ?? 0 };
}

async function itemsOf(loader: DataLoader<DatasetItem>): Promise<string[]> {
  const uris: string[] = [];
  for await (const batch of loader) uris.push(...batch.map((item) => item.uri));
  return uris;
}

describe('dropLast reads only the items it hands out', () => {
  test.each([
    // batchSize, worldSize, shuffle, ordered, concurrency
    [5, 1, false, true, 16],
    [5, 1, true, true, 16],
    [4, 1, true, false, 3],
    [7, 1, false, false, 1],
    [3, 2, true, true, 4],
    [4, 3, false, false, 8],
    [10, 2, true, true, 2],
    [24, 1, false, true, 16], // more than the dataset: no batch at all, no read at all
  ])(
    'batchSize %i, worldSize %i, shuffle %s, ordered %s, concurrency %i: GETs = items, over 3 epochs',
    async (batchSize, worldSize, shuffle, ordered, concurrency) => {
      for (let rank = 0; rank < worldSize; rank++) {
        const { dataset, gets } = await countedDataset();
        const loader = new DataLoader(dataset, {
          batchSize,
          dropLast: true,
          shuffle,
          ordered,
          concurrency,
          prefetch: 1,
          rank,
          worldSize,
          seed: 9,
        });
        const shard = Math.floor(ITEMS / worldSize); // shards trimmed to one length (evenShards 'trim')
        const kept = shard - (shard % batchSize);
        expect(loader.itemsPerEpoch).toBe(kept);
        expect(loader.length).toBe(kept / batchSize);
        for (let epoch = 0; epoch < 3; epoch++) {
          const uris = await itemsOf(loader);
          expect(uris).toHaveLength(kept);
          expect(new Set(uris).size).toBe(kept);
          if (ordered) expect(uris).toEqual(loader.indicesFor(epoch).map((index) => dataset.source(index)));
          expect(gets()).toBe(kept * (epoch + 1));
          expect(loader.stats).toMatchObject({ epoch, items: kept, batches: kept / batchSize });
        }
      }
    },
  );

  test('without dropLast every item of the shard is read once, the last batch smaller', async () => {
    const { dataset, gets } = await countedDataset();
    const loader = new DataLoader(dataset, { batchSize: 5, shuffle: true });
    expect(loader.itemsPerEpoch).toBe(ITEMS);
    const uris = await itemsOf(loader);
    expect(new Set(uris).size).toBe(ITEMS);
    expect(gets()).toBe(ITEMS);
  });

  test.each([
    // evenShards, worldSize, batchSize, dropLast: items (and GETs) of each rank
    ['pad', 3, 5, false, [8, 8, 8]], // 24 positions: the order's first item read again, by rank 2
    ['pad', 2, 5, true, [10, 10]], // 12 each, less the partial batch
    ['trim', 3, 5, false, [7, 7, 7]], // the 2 last items of the order never read
    [false, 2, 5, true, [10, 10]], // 12 and 11 items, less the partial batches
    [false, 4, 3, true, [6, 6, 6, 3]], // shards of 6, 6, 6 and 5: uneven steps, as asked
  ] as const)(
    'evenShards %s, worldSize %i, batchSize %i, dropLast %s: each rank GETs the items it hands out, %j',
    async (evenShards, worldSize, batchSize, dropLast, perRank) => {
      for (let rank = 0; rank < worldSize; rank++) {
        const { dataset, gets } = await countedDataset();
        const loader = new DataLoader(dataset, { batchSize, dropLast, evenShards, shuffle: true, rank, worldSize });
        expect(loader.itemsPerEpoch).toBe(perRank[rank]);
        const uris = await itemsOf(loader);
        expect(uris).toEqual(loader.indicesFor(0).map((index) => dataset.source(index)));
        expect(uris).toHaveLength(perRank[rank]);
        expect(gets()).toBe(perRank[rank]);
      }
    },
  );

  test('onError skip: a skipped item is replaced by the next of the shard; reads = items + skipped', async () => {
    const dir = path.join(tmp.path, 'gaps');
    mkdirSync(dir);
    for (let i = 0; i < 11; i++) writeFileSync(path.join(dir, `gaps-${i}.bin`), new Uint8Array([i]));
    const store = new FileStore();
    const dataset = await Dataset.fromPrefix(`file://${dir}/`, { store });
    // Listing sorts: gaps-0, gaps-1, gaps-10, gaps-2, …; two of the first eight vanish after it.
    rmSync(path.join(dir, 'gaps-1.bin'));
    rmSync(path.join(dir, 'gaps-4.bin'));
    const loader = new DataLoader(dataset, { batchSize: 4, dropLast: true, onError: 'skip' });
    const items = (await itemsOf(loader)).map((uri) => path.basename(uri));
    expect(items).toEqual([
      'gaps-0.bin',
      'gaps-10.bin',
      'gaps-2.bin',
      'gaps-3.bin',
      'gaps-5.bin',
      'gaps-6.bin',
      'gaps-7.bin',
      'gaps-8.bin',
    ]);
    expect(loader.stats).toMatchObject({ items: 8, batches: 2, skipped: 2 });
    expect(loader.stats.errors.map((error) => error.code)).toEqual(['ERR_NOT_FOUND', 'ERR_NOT_FOUND']);
    expect(store.stats().ops.GET?.requests).toBe(10); // gaps-9 (the dropped tail) is never read
  });
});

describe('nothing is read before the first next()', () => {
  // Then at most the loader's window, the batch handed out, and what the adapter buffers (in batches).
  test.each([
    ['[Symbol.asyncIterator]()', (loader: DataLoader<DatasetItem>) => loader[Symbol.asyncIterator](), 0],
    ['toReadable()', (loader: DataLoader<DatasetItem>) => loader.toReadable(), 1],
    ['toWebStream()', (loader: DataLoader<DatasetItem>) => loader.toWebStream(), 0],
    ['toTfGenerator(f)()', (loader: DataLoader<DatasetItem>) => loader.toTfGenerator((batch) => batch)(), 0],
  ])('%s', async (_name, create, buffered) => {
    const { dataset, gets } = await countedDataset();
    const loader = new DataLoader(dataset, { batchSize: 4, prefetch: 2 });
    const consumer = create(loader);
    await sleep(30);
    expect(gets()).toBe(0);
    expect(loader.stats.items).toBe(0);

    let first: unknown;
    if (consumer instanceof ReadableStream) first = (await consumer.getReader().read()).value;
    else if ('read' in consumer) first = await new Promise((resolve) => consumer.once('data', resolve));
    else first = (await consumer.next()).value;
    expect(first).toHaveLength(4);
    expect(gets()).toBeGreaterThanOrEqual(4);
    expect(gets()).toBeLessThanOrEqual((2 + 1) * 4 + 4 + buffered * 4);
    if ('destroy' in consumer) consumer.destroy();
    else if (consumer instanceof ReadableStream) await consumer.cancel().catch(() => undefined);
    else await consumer.return?.();
  });

  test('a tf generator iterator that is never read takes no epoch: stats stay on the epoch that was read', async () => {
    const { dataset, gets } = await countedDataset();
    const loader = new DataLoader(dataset, { batchSize: 8 });
    const generator = loader.toTfGenerator((batch) => batch.length);
    const first = generator();
    const sizes: number[] = [];
    for (let next = await first.next(); !next.done; next = await first.next()) sizes.push(next.value);
    expect(sizes).toEqual([8, 8, 7]);
    generator(); // what model.fitDataset does after its last epoch
    await sleep(30);
    expect(gets()).toBe(ITEMS);
    expect(loader.stats).toMatchObject({ epoch: 0, items: ITEMS });
  });
});
