/** Checkpoints across ranks, in s3dlio's layout, on every backend. */
export { CheckpointStore } from './checkpoint-store';
export type * from './types';
export type { CheckpointStatus, CheckpointStrategy } from './layout';
export {
  checkpointIO,
  type CheckpointIOOptions,
  type TfjsIOHandler,
  type TfjsModelArtifacts,
  type TfjsSaveResult,
  type TfjsTrainingConfig,
  type TfjsWeightSpec,
} from './tfjs';
