/**
 * The TensorFlow.js adapter with the real `@tensorflow/tfjs` package (pure JS, CPU backend):
 * `tf.data.generator(loader.toTfGenerator(toTensors))` yields our batches as tensors, a new
 * (reshuffled) epoch each time tf.js iterates; under `model.fitDataset` it reads what training
 * consumes, counted as real GETs of a file:// store.
 */
import * as tf from '@tensorflow/tfjs';
import { mkdirSync, writeFileSync } from 'fs';
import * as path from 'path';

import { FileStore } from '../../lib';
import { encodeNpy } from '../../lib/formats';
import { DataLoader } from '../../lib/loader/data-loader';
import { Dataset, type NpyItem } from '../../lib/loader/dataset';
import { useTempDir } from '../helpers/temp';

const tmp = useTempDir('s3dlio-tfjs-');

beforeAll(async () => {
  tf.enableProdMode(); // no "install tfjs-node" banner (it downloads a binary: not an option here)
  await tf.setBackend('cpu');
  // Sample i: a 2×3 float32 array filled with i, and its label i % 2; 10 in x/, 42 in fit/.
  for (const [dir, count] of [
    ['x', 10],
    ['fit', 42],
  ] as const) {
    mkdirSync(path.join(tmp.path, dir));
    for (let i = 0; i < count; i++) {
      writeFileSync(
        path.join(tmp.path, dir, `sample-${String(i).padStart(2, '0')}.npy`),
        encodeNpy(new Float32Array(6).fill(i), { shape: [2, 3] }),
      );
    }
  }
});

function toTensors(batch: NpyItem[]): { xs: tf.Tensor; ys: tf.Tensor } {
  return tf.tidy(() => ({
    xs: tf.stack(batch.map((item) => tf.tensor(item.array.data as Float32Array, item.array.shape, 'float32'))),
    ys: tf.tensor1d(
      batch.map((item) => (item.array.data[0] as number) % 2),
      'int32',
    ),
  }));
}

test('tf.data.generator over a loader: batches become tensors of the right shapes and values', async () => {
  const dataset = await Dataset.fromPrefix(`file://${tmp.path}/x/`, { format: 'npy' });
  const loader = new DataLoader(dataset, { batchSize: 4, shuffle: true, seed: 1 });
  const ds = tf.data.generator(loader.toTfGenerator(toTensors));

  const shapes: number[][] = [];
  const firstValues: number[] = [];
  await ds.forEachAsync((element) => {
    const { xs, ys } = element as { xs: tf.Tensor; ys: tf.Tensor };
    shapes.push(xs.shape);
    const values = xs.dataSync();
    for (let b = 0; b < xs.shape[0]; b++) firstValues.push(values[b * 6]);
    expect(Array.from(ys.dataSync())).toEqual(Array.from({ length: xs.shape[0] }, (_, b) => values[b * 6] % 2));
    xs.dispose();
    ys.dispose();
  });
  expect(shapes).toEqual([
    [4, 2, 3],
    [4, 2, 3],
    [2, 2, 3],
  ]);
  expect([...firstValues].sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  expect(firstValues).toEqual(loader.indicesFor(0)); // the loader's epoch-0 shuffle, as tensors

  // tf.js iterating again starts the next epoch: the same items, another order.
  const second: number[] = [];
  await ds.forEachAsync((element) => {
    const { xs, ys } = element as { xs: tf.Tensor; ys: tf.Tensor };
    const values = xs.dataSync();
    for (let b = 0; b < xs.shape[0]; b++) second.push(values[b * 6]);
    xs.dispose();
    ys.dispose();
  });
  expect(second).toEqual(loader.indicesFor(1));
  expect(second).not.toEqual(firstValues);
});

test('tf.data pipeline operators compose with it (map, take)', async () => {
  const dataset = await Dataset.fromPrefix(`file://${tmp.path}/x/`, { format: 'npy' });
  const loader = new DataLoader(dataset, { batchSize: 5 });
  const sums = await tf.data
    .generator(loader.toTfGenerator(toTensors))
    .map((element) => {
      const { xs } = element as { xs: tf.Tensor };
      return xs.sum();
    })
    .take(2)
    .toArray();
  // Batch 0: samples 0..4, six values each: 6 × (0+1+2+3+4) = 60; batch 1: 6 × (5+…+9) = 210.
  expect(sums.map((t) => (t as tf.Tensor).dataSync()[0])).toEqual([60, 210]);
});

test('model.fitDataset over 2 epochs: the items read are the items trained on (no read-ahead into a third epoch)', async () => {
  const store = new FileStore();
  const dataset = await Dataset.fromPrefix(`file://${tmp.path}/fit/`, { format: 'npy', store });
  const batchSize = 4;
  const prefetch = 2;
  const loader = new DataLoader(dataset, { batchSize, prefetch, shuffle: true, dropLast: true, concurrency: 16 });
  let consumed = 0;
  const ds = tf.data.generator(
    loader.toTfGenerator((batch: NpyItem[]) => {
      consumed += batch.length;
      return tf.tidy(() => {
        const { xs, ys } = toTensors(batch);
        return { xs, ys: ys.toFloat().reshape([-1, 1]) };
      });
    }),
  );
  const model = tf.sequential({
    layers: [tf.layers.flatten({ inputShape: [2, 3] }), tf.layers.dense({ units: 1, activation: 'sigmoid' })],
  });
  model.compile({ optimizer: 'sgd', loss: 'binaryCrossentropy' });
  const history = await model.fitDataset(ds, { epochs: 2, verbose: 0 });
  model.dispose();

  expect(history.epoch).toEqual([0, 1]);
  const perEpoch = 42 - (42 % batchSize); // dropLast: 40 items, 10 batches
  expect(consumed).toBe(2 * perEpoch);
  const fetched = store.stats().ops.GET?.requests ?? 0;
  // Allowed: one prefetch window beyond what was consumed; what it does is read exactly that.
  expect(fetched - consumed).toBeGreaterThanOrEqual(0);
  expect(fetched - consumed).toBeLessThanOrEqual((prefetch + 1) * batchSize);
  expect(fetched).toBe(consumed);
  expect(loader.stats).toMatchObject({ epoch: 1, items: perEpoch, batches: perEpoch / batchSize });
});
