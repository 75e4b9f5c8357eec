/**
 * A TensorFlow.js IOHandler over a CheckpointStore: `model.save(checkpointIO(uri))` stores the
 * model as a checkpoint (framework `tfjs`; the weights are the shard, the topology and weight specs
 * are the manifest's `user_meta.tfjs`), and `tf.loadLayersModel(checkpointIO(uri))` loads the
 * latest one, on every backend. The types mirror tf.io's, so no tf.js package is needed to build.
 */
import { S3dlioError } from '../errors';
import { expectKnownOptions, optionKeys } from '../internal/option-keys';
import { invalidValue } from '../validate';
import { CheckpointStore } from './checkpoint-store';
import type { CheckpointStoreOptions, LoadedCheckpoint } from './types';

/** tf.io.WeightsManifestEntry. */
export interface TfjsWeightSpec {
  name: string;
  shape: number[];
  dtype: 'float32' | 'int32' | 'bool' | 'string' | 'complex64';
  group?: 'model' | 'optimizer';
  quantization?: { scale?: number; min?: number; dtype: 'uint16' | 'uint8' | 'float16' };
}

/** tf.io.TrainingConfig. */
export interface TfjsTrainingConfig {
  optimizer_config: object;
  loss: string | string[] | { [key: string]: string };
  metrics?: string[] | { [key: string]: string };
  weighted_metrics?: string[];
  sample_weight_mode?: string;
  loss_weights?: number[] | { [key: string]: number };
}

/** tf.io.ModelArtifacts, as a checkpoint keeps them. */
export interface TfjsModelArtifacts {
  modelTopology?: object | ArrayBuffer;
  trainingConfig?: TfjsTrainingConfig;
  weightSpecs?: TfjsWeightSpec[];
  weightData?: ArrayBuffer | ArrayBuffer[];
  format?: string;
  generatedBy?: string;
  convertedBy?: string | null;
  signature?: object;
  userDefinedMetadata?: { [key: string]: object };
  modelInitializer?: object;
  initializerSignature?: object;
}

/** tf.io.SaveResult. */
export interface TfjsSaveResult {
  modelArtifactsInfo: {
    dateSaved: Date;
    modelTopologyType: 'JSON';
    modelTopologyBytes?: number;
    weightSpecsBytes?: number;
    weightDataBytes?: number;
  };
}

/** tf.io.IOHandler: pass it to `model.save` and `tf.loadLayersModel`. */
export interface TfjsIOHandler {
  /** Saves the model as the next checkpoint step (or the `step` given to `checkpointIO`). */
  save(artifacts: TfjsModelArtifacts): Promise<TfjsSaveResult>;
  /** Loads the latest checkpoint (or the `step` given to `checkpointIO`) as model artifacts. */
  load(): Promise<TfjsModelArtifacts>;
}

/** Options of {@link checkpointIO}: those of the store (its ranks aside), and which step. */
export interface CheckpointIOOptions extends Omit<CheckpointStoreOptions, 'rank' | 'worldSize' | 'runId'> {
  /**
   * `save`: the step to save as (default: one past the latest, 0 on an empty base). `load`: the
   * step to load (default: the latest).
   */
  step?: number;
}

const IO_KEYS = optionKeys<CheckpointIOOptions>()({
  step: true,
  strategy: true,
  compression: true,
  compressionLevel: true,
  partSize: true,
  concurrency: true,
  keepLast: true,
  timeoutMs: true,
  pollIntervalMs: true,
  store: true,
});

/** The artifacts besides the weights, kept in the manifest's `user_meta.tfjs`. */
const META_FIELDS = [
  'modelTopology',
  'trainingConfig',
  'weightSpecs',
  'format',
  'generatedBy',
  'convertedBy',
  'signature',
  'userDefinedMetadata',
  'modelInitializer',
  'initializerSignature',
] as const;

/** The weights as one buffer (tf.js may hand them over in pieces). */
function weightBytes(data: ArrayBuffer | ArrayBuffer[] | undefined): Uint8Array {
  if (data === undefined) return new Uint8Array(0);
  const pieces = Array.isArray(data) ? data : [data];
  for (const piece of pieces) {
    if (!(piece instanceof ArrayBuffer))
      throw invalidValue('artifacts.weightData', 'an ArrayBuffer or ArrayBuffer[]', piece);
  }
  return pieces.length === 1 ? new Uint8Array(pieces[0]) : Buffer.concat(pieces.map((piece) => new Uint8Array(piece)));
}

/** An ArrayBuffer holding exactly `bytes` (tf.js wants a plain ArrayBuffer): the view's own when it is whole. */
function exactBuffer(bytes: Uint8Array): ArrayBuffer {
  const whole = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength;
  return whole && bytes.buffer instanceof ArrayBuffer ? bytes.buffer : new Uint8Array(bytes).buffer;
}

/**
 * An IOHandler that saves tf.js models as checkpoints under `baseUri` and loads them back:
 * `await model.save(checkpointIO('s3://bucket/models/mnist/'))`, then
 * `await tf.loadLayersModel(checkpointIO('s3://bucket/models/mnist/'))`. One process, rank 0 of 1,
 * whatever `RANK` says.
 */
export function checkpointIO(baseUri: string, options?: CheckpointIOOptions): TfjsIOHandler {
  const { step, ...storeOptions } = expectKnownOptions(options, IO_KEYS, 'checkpointIO');
  if (step !== undefined && (typeof step !== 'number' || !Number.isSafeInteger(step) || step < 0)) {
    throw invalidValue('options.step', 'a non-negative integer', step);
  }
  const checkpoints = new CheckpointStore(baseUri, { ...storeOptions, rank: 0, worldSize: 1 });

  return {
    async save(artifacts: TfjsModelArtifacts): Promise<TfjsSaveResult> {
      if (typeof artifacts !== 'object' || artifacts === null) {
        throw invalidValue('artifacts', 'tf.io.ModelArtifacts', artifacts);
      }
      if (artifacts.modelTopology instanceof ArrayBuffer) {
        throw invalidValue(
          'artifacts.modelTopology',
          'a JSON topology (a binary GraphDef is not kept)',
          artifacts.modelTopology,
        );
      }
      const weights = weightBytes(artifacts.weightData);
      const meta: Record<string, unknown> = {};
      for (const field of META_FIELDS) if (artifacts[field] !== undefined) meta[field] = artifacts[field];
      const latest =
        step === undefined ? (await checkpoints.list()).find((entry) => entry.status === 'complete') : undefined;
      const saveStep = step ?? (latest ? latest.step + 1 : 0);
      await checkpoints.save(saveStep, weights, { framework: 'tfjs', userMeta: { tfjs: meta } });
      return {
        modelArtifactsInfo: {
          dateSaved: new Date(),
          modelTopologyType: 'JSON',
          modelTopologyBytes: meta.modelTopology === undefined ? 0 : JSON.stringify(meta.modelTopology).length,
          weightSpecsBytes: meta.weightSpecs === undefined ? 0 : JSON.stringify(meta.weightSpecs).length,
          weightDataBytes: weights.byteLength,
        },
      };
    },

    async load(): Promise<TfjsModelArtifacts> {
      const loaded: LoadedCheckpoint =
        step === undefined ? await checkpoints.loadLatest() : await checkpoints.load(step);
      const tfjs = (loaded.userMeta as { tfjs?: unknown } | null)?.tfjs;
      if (loaded.framework !== 'tfjs' || typeof tfjs !== 'object' || tfjs === null) {
        throw new S3dlioError(
          'ERR_BAD_FORMAT',
          `load ${loaded.manifestUri}: a ${loaded.framework} checkpoint, not a tf.js model saved with checkpointIO`,
          { uri: loaded.manifestUri, operation: 'load' },
        );
      }
      return { ...(tfjs as TfjsModelArtifacts), weightData: exactBuffer(await loaded.readShard(0)) };
    },
  };
}
