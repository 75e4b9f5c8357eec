/**
 * The public types of checkpoints: the options of a CheckpointStore and of its calls, and what
 * they resolve to.
 */
import type { PutData, ObjectStore } from '../object-store';
import type { CheckpointStatus, CheckpointStrategy } from './layout';

/** Options of a {@link CheckpointStore}. */
export interface CheckpointStoreOptions {
  /** Shard key layout: `flat` (default), `round-robin` (s3dlio: `round_robin`) or `binary`. */
  strategy?: CheckpointStrategy | 'round_robin';
  /**
   * `zstd`: shards are stored compressed (`.bin.zst`, one frame per part; the manifest's checksum
   * covers the stored bytes and it records `compression: "zstd"`). s3dlio cannot read such
   * checkpoints. Default `none`.
   */
  compression?: 'none' | 'zstd';
  /** zstd level, 1 (fast) to 19 (small); default 3. */
  compressionLevel?: number;
  /** Bytes per part of a shard's upload (default 16 MiB): memory is about partSize × (concurrency + 1). */
  partSize?: number;
  /** Parts of a shard in flight (default 4). */
  concurrency?: number;
  /** After each finalize, keep this many complete checkpoints (and never the latest); default: all. */
  keepLast?: number;
  /** This process's rank (default env `RANK`, else 0). */
  rank?: number;
  /** Number of ranks (default env `WORLD_SIZE`, else 1). */
  worldSize?: number;
  /** How long ranks wait for rank 0's manifest, and rank 0 for every shard (default 600000 ms). */
  timeoutMs?: number;
  /** How often they look (default 250 ms). */
  pollIntervalMs?: number;
  /**
   * Names the run the ranks belong to (default env `S3DLIO_RUN_ID`): a rank then joins only a
   * manifest of its own run, never one an earlier, crashed run left incomplete for the same step.
   */
  runId?: string;
  /**
   * The store to write through (default: `storeFor(baseUri)`; file:// and direct:// with `fsync`,
   * so a finished save survives a crash).
   */
  store?: ObjectStore;
}

/** Options of `save` and `saveShard`. */
export interface SaveOptions {
  /** Recorded in the manifest (default 0). */
  epoch?: number;
  /** `tfjs`, `torch`, `generic` (default)… recorded in the manifest. */
  framework?: string;
  /** Anything JSON can hold, recorded in the manifest (rank 0's). */
  userMeta?: unknown;
  /** The checkpoint's `{ts}` (UTC `YYYYMMDD-HHMMSS`) when the ranks agree on it themselves. */
  ts?: string;
  signal?: AbortSignal;
}

/** Options of `finalize`. */
export interface FinalizeOptions {
  /** Which save of the step (default: the one this process began, else the newest incomplete). */
  ts?: string;
  /** How long to wait for the other ranks' shards (default: the store's `timeoutMs`). */
  timeoutMs?: number;
  signal?: AbortSignal;
}

/** Options of `load`, `loadLatest`, `list` and `delete`. */
export interface CheckpointReadOptions {
  /** `load`, `delete`: one save of the step (default: `load` the newest complete, `delete` all). */
  ts?: string;
  signal?: AbortSignal;
}

/** Bytes of a shard: one buffer, or chunks (a Node Readable, any async iterable) of any total size. */
export type ShardData = PutData | AsyncIterable<Uint8Array | string>;

/** One rank's shard. */
export interface ShardInfo {
  rank: number;
  uri: string;
  /** Relative to the base. */
  key: string;
  /** Bytes stored. */
  size: number;
  etag: string | null;
  /** `crc32c:<8 hex digits>`, or null for checkpoints written without one (s3dlio). */
  checksum: string | null;
}

/** One checkpoint, as its manifest describes it. */
export interface CheckpointInfo {
  step: number;
  ts: string;
  epoch: number;
  framework: string;
  /** RFC 3339. */
  wallTime: string;
  worldSize: number;
  status: CheckpointStatus;
  manifestUri: string;
  shards: ShardInfo[];
  userMeta: unknown;
  compression: 'none' | 'zstd';
}

/** What `save` resolves to. */
export interface SaveResult {
  step: number;
  ts: string;
  rank: number;
  /** This rank's shard, durable. */
  shard: ShardInfo;
  /** Rank 0: the finalized checkpoint, now the latest. */
  checkpoint?: CheckpointInfo;
}

/** A complete checkpoint, ready to read. */
export interface LoadedCheckpoint extends CheckpointInfo {
  /**
   * A rank's shard (default: this process's rank), read without a copy and checked: its size, and
   * its CRC32C where the manifest has one (ERR_CHECKSUM_MISMATCH naming the shard). A compressed
   * shard is checked as stored, then decompressed into a buffer of its own.
   */
  readShard(rank?: number, options?: { signal?: AbortSignal }): Promise<Uint8Array>;
}

/** One entry of `list`. */
export interface CheckpointEntry {
  step: number;
  ts: string;
  manifestUri: string;
  /** `unreadable`: the manifest is not a valid one (`problem` says why). */
  status: CheckpointStatus | 'unreadable';
  /** This is what `latest` points to. */
  latest: boolean;
  /** The manifest, when readable. */
  info?: CheckpointInfo;
  problem?: string;
}
