/**
 * Where a CheckpointStore keeps its checkpoints and how this process takes part in them: what
 * every step of saving, loading and retention reads; and the small helpers they share.
 */
import { S3dlioError } from '../errors';
import type { ObjectStore } from '../object-store';
import { type CheckpointId, type CheckpointStrategy, manifestKey } from './layout';

/** A checkpoint base and this process's part in it, settled by the CheckpointStore. */
export interface CheckpointPlace {
  readonly store: ObjectStore;
  /** Ends with `/`. */
  readonly baseUri: string;
  readonly rank: number;
  readonly worldSize: number;
  readonly strategy: CheckpointStrategy;
  readonly runId: string | null;
  readonly compression: 'none' | 'zstd';
  readonly compressionLevel: number;
  readonly partSize: number | undefined;
  readonly concurrency: number | undefined;
  readonly timeoutMs: number;
  readonly pollIntervalMs: number;
}

/** The URI of a key relative to the base. */
export function uriOf(place: CheckpointPlace, key: string): string {
  return `${place.baseUri}${key}`;
}

/** Newest first: by step, then by `{ts}`. */
export const newestFirst = (a: CheckpointId, b: CheckpointId): number => b.step - a.step || (a.ts < b.ts ? 1 : -1);

/** Whether two ids name one save. */
export const sameId = (a: CheckpointId, b: CheckpointId | undefined): boolean => a.step === b?.step && a.ts === b.ts;

/** A JSON document as bytes (pretty, as s3dlio writes them). */
export function jsonBytes(value: unknown): Uint8Array {
  return Buffer.from(`${JSON.stringify(value, null, 2)}\n`);
}

/** `crc32c:<8 hex digits>`, as manifests write a checksum. */
export function crc32cText(crc: number): string {
  return `crc32c:${(crc >>> 0).toString(16).padStart(8, '0')}`;
}

/** `code` of an error, if it has one. */
export const codeOf = (error: unknown): unknown => (error as { code?: unknown } | null)?.code;

/** ERR_CHECKPOINT_INCOMPLETE for a save that cannot be loaded. */
export function incomplete(place: CheckpointPlace, id: CheckpointId, operation: string): S3dlioError {
  const uri = uriOf(place, manifestKey(id));
  return new S3dlioError(
    'ERR_CHECKPOINT_INCOMPLETE',
    `${operation} ${uri}: step ${id.step} at ${id.ts} is incomplete (a rank never saved its shard, or it was never finalized)`,
    { uri, operation },
  );
}
