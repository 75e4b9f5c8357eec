import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Dataset, DataLoader, generateObject, putMany } from 's3dlio';

// 200 synthetic .npz shards in a directory of their own (any URI works: s3://train/shards/, …).
const dir = await mkdtemp(join(process.cwd(), 'shards-'));
const shards = await Promise.all(
  Array.from({ length: 200 }, async (_, i) => ({
    uri: `file://${dir}/shard-${String(i).padStart(4, '0')}.npz`,
    data: (await generateObject('npz', 4096, { seed: i, label: i % 10 })).data,
  })),
);
await putMany(shards);

const dataset = await Dataset.fromPrefix(`file://${dir}/`, { format: 'npz' }); // lists once, sorted
const loader = new DataLoader(dataset, { batchSize: 64, shuffle: true, seed: 1, concurrency: 32, prefetch: 2 });
const train = (batch) => batch.map((item) => item.arrays.get('label').data[0]); // your training step
for (let epoch = 0; epoch < 3; epoch++) {
  loader.setEpoch(epoch);                        // optional: iterations count epochs up by themselves
  for await (const batch of loader) train(batch); // batch: [{ uri, data, size, arrays }, …]
}
console.log(loader.stats); // { epoch, items, bytes, batches, skipped, errors, seconds, itemsPerSecond, bytesPerSecond, waitMs }
await rm(dir, { recursive: true });
