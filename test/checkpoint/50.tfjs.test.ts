/**
 * checkpointIO with the real `@tensorflow/tfjs` (pure JS, CPU backend): a tiny model trained
 * here, `model.save(handler)` on every backend, `tf.loadLayersModel(handler)` back, the same
 * predictions; and in a fresh process on file://, the same predictions again.
 */
import * as tf from '@tensorflow/tfjs';

import { CheckpointStore, checkpointIO } from '../../lib';
import { runNodeJson } from '../helpers/child';
import { rejectionOf } from '../helpers/local';
import { useTempDir } from '../helpers/temp';
import { newBucketName } from '../cloud/targets';
import { storeTargets } from '../contract/targets';

const tmp = useTempDir('s3dlio-ckpt-tfjs-');
const INPUTS = [
  [0, 0, 1, 1],
  [1, 0, 0, 1],
  [0.5, 0.2, 0.9, 0.1],
  [1, 1, 1, 1],
];

let model: tf.LayersModel;
let predictions: number[][];

function predict(m: tf.LayersModel): number[][] {
  return tf.tidy(() => (m.predict(tf.tensor2d(INPUTS)) as tf.Tensor).arraySync() as number[][]);
}

beforeAll(async () => {
  tf.enableProdMode();
  await tf.setBackend('cpu');
  const sequential = tf.sequential();
  sequential.add(tf.layers.dense({ units: 8, inputShape: [4], activation: 'relu' }));
  sequential.add(tf.layers.dense({ units: 2, activation: 'softmax' }));
  sequential.compile({ optimizer: 'adam', loss: 'categoricalCrossentropy' });
  const xs = tf.randomUniform([32, 4], 0, 1, 'float32', 7);
  const ys = tf.oneHot(
    tf.tensor1d(
      Array.from({ length: 32 }, (_, i) => i % 2),
      'int32',
    ),
    2,
  );
  await sequential.fit(xs, ys, { epochs: 3, verbose: 0 });
  model = sequential;
  predictions = predict(model);
});

test("the handler is a tf.io.IOHandler (checked by tsc) and tf.js's own types accept it", () => {
  const handler: tf.io.IOHandler = checkpointIO(tmp.uri('file', 'types'));
  expect(typeof handler.save).toBe('function');
  expect(typeof handler.load).toBe('function');
});

describe.each(storeTargets())('%s', (_name, target) => {
  const store = target.store();
  const bucket = target.bucketUri(newBucketName('tf'));
  beforeAll(() => store.createBucket(bucket));
  afterAll(() => store.deleteBucket(bucket, { force: true }));

  test('model.save then tf.loadLayersModel: the same predictions; each save is the next step', async () => {
    const base = `${bucket}model/`;
    const result = await model.save(checkpointIO(base, { store }));
    expect(result.modelArtifactsInfo.weightDataBytes).toBeGreaterThan(0);
    await model.save(checkpointIO(base, { store }));
    const entries = await new CheckpointStore(base, { store }).list();
    expect(entries.map((entry) => [entry.step, entry.info?.framework])).toEqual([
      [1, 'tfjs'],
      [0, 'tfjs'],
    ]);
    const loaded = await tf.loadLayersModel(checkpointIO(base, { store }));
    expect(predict(loaded)).toEqual(predictions);
    const first = await tf.loadLayersModel(checkpointIO(base, { store, step: 0 }));
    expect(predict(first)).toEqual(predictions);
  });
});

test('a fresh process loads the model from file:// and predicts the same', async () => {
  const base = tmp.uri('file', 'fresh');
  await model.save(checkpointIO(base));
  const fresh = await runNodeJson<number[][]>(
    `
    const tf = require('@tensorflow/tfjs');
    const { checkpointIO } = require(LIB);
    (async () => {
      tf.enableProdMode();
      await tf.setBackend('cpu');
      const model = await tf.loadLayersModel(checkpointIO(ARGS.base));
      const out = model.predict(tf.tensor2d(ARGS.inputs)).arraySync();
      console.log('RESULT ' + JSON.stringify(out));
    })();
    `,
    { base, inputs: INPUTS },
  );
  expect(fresh).toEqual(predictions);
});

test('loading a checkpoint that is not a tf.js model is ERR_BAD_FORMAT; an empty base ERR_NOT_FOUND', async () => {
  const base = tmp.uri('file', 'generic');
  await expect(tf.loadLayersModel(checkpointIO(base))).rejects.toMatchObject({ code: 'ERR_NOT_FOUND' });
  await new CheckpointStore(base).save(0, 'not weights');
  const error = await rejectionOf(tf.loadLayersModel(checkpointIO(base)));
  expect(error).toMatchObject({ code: 'ERR_BAD_FORMAT', message: expect.stringContaining('generic checkpoint') });
  expect(() => checkpointIO(base, { step: -1 })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
  expect(() => checkpointIO(base, { rank: 1 } as never)).toThrow(
    expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }),
  );
});
