import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { checkpointIO } from 's3dlio';

const dir = await mkdtemp(join(process.cwd(), 'models-')); // or gs://models/mnist/, …
const model = tf.sequential({ layers: [tf.layers.dense({ units: 10, inputShape: [784] })] });
await model.save(checkpointIO(`file://${dir}/mnist/`));
const restored = await tf.loadLayersModel(checkpointIO(`file://${dir}/mnist/`)); // the latest
console.log(restored.layers.length); // 1
await rm(dir, { recursive: true });
