/**
 * The key layout and the JSON documents of a checkpoint, compatible with s3dlio's: either tool
 * reads the other's checkpoints. Every key is relative to the checkpoint base URI.
 *
 *   manifests/ckpt-{step}-{ts}.json                          the manifest of one checkpoint
 *   shards/ckpt-{step}-{ts}/rank-{r}.bin                     a shard, `flat`
 *   shards/rr/{r % 16, 2 hex digits}/ckpt-{step}-{ts}/rank-{r}.bin      `round-robin`
 *   shards/bin/{first 4 binary digits of r, 8+ wide}/ckpt-{step}-{ts}/rank-{r}.bin   `binary`
 *   latest.json, latest/ckpt-{step}-{ts}.json                the latest pointer and its markers
 *
 * `{ts}` is UTC `YYYYMMDD-HHMMSS`. Compressed shards end in `.bin.zst` (s3dlio cannot read them).
 */
import { S3dlioError } from '../errors';
import { invalidValue } from '../validate';

/** How shard keys spread over prefixes (s3dlio spells `round-robin` as `round_robin`). */
export type CheckpointStrategy = 'flat' | 'round-robin' | 'binary';

/** The names each strategy is accepted under: ours, and s3dlio's. */
const STRATEGY_NAMES: Readonly<Record<string, CheckpointStrategy>> = {
  flat: 'flat',
  'round-robin': 'round-robin',
  round_robin: 'round-robin',
  roundrobin: 'round-robin',
  binary: 'binary',
};

/** The strategy `value` names (case-insensitive); anything else is ERR_INVALID_ARG_VALUE. */
export function strategyFrom(value: unknown, name = 'options.strategy'): CheckpointStrategy {
  const strategy = typeof value === 'string' ? STRATEGY_NAMES[value.toLowerCase()] : undefined;
  if (strategy === undefined) throw invalidValue(name, 'flat, round-robin (or round_robin) or binary', value);
  return strategy;
}

/** A step or a rank: a non-negative safe integer. */
function expectCount(value: unknown, name: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw invalidValue(name, 'a non-negative integer', value);
  }
  return value;
}

const TS = /^\d{8}-\d{6}$/;

/** `{ts}` of a checkpoint made at `date`: UTC `YYYYMMDD-HHMMSS`. */
export function timestampOf(date: Date): string {
  const iso = date.toISOString(); // 2026-11-30T21:05:09.123Z
  return `${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}-${iso.slice(11, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}`;
}

/** `ts` checked: the form {@link timestampOf} writes. */
export function expectTimestamp(value: unknown, name = 'options.ts'): string {
  if (typeof value !== 'string' || !TS.test(value)) throw invalidValue(name, 'a UTC time as YYYYMMDD-HHMMSS', value);
  return value;
}

/** One checkpoint: its step and its `{ts}`. */
export interface CheckpointId {
  step: number;
  ts: string;
}

/** `ckpt-{step}-{ts}`. */
function idName({ step, ts }: CheckpointId): string {
  return `ckpt-${expectCount(step, 'step')}-${expectTimestamp(ts, 'ts')}`;
}

/** `manifests/ckpt-{step}-{ts}.json`. */
export function manifestKey(id: CheckpointId): string {
  return `manifests/${idName(id)}.json`;
}

/** The key of rank `rank`'s shard under `strategy` (`.bin.zst` when compressed). */
export function shardKey(id: CheckpointId, rank: number, strategy: CheckpointStrategy, compressed = false): string {
  const r = expectCount(rank, 'rank');
  const file = `${idName(id)}/rank-${r}.bin${compressed ? '.zst' : ''}`;
  switch (strategy) {
    case 'flat':
      return `shards/${file}`;
    case 'round-robin':
      return `shards/rr/${(r % 16).toString(16).padStart(2, '0')}/${file}`;
    case 'binary':
      // s3dlio's `format!("{:08b}", r)[0..4]`: the first four digits of r in binary, at least 8 wide.
      return `shards/bin/${r.toString(2).padStart(8, '0').slice(0, 4)}/${file}`;
  }
}

/**
 * `…/rank-{r}.json` beside the shard: the rank's receipt (size, etag and CRC32C of what it
 * stored), written once the shard is durable, so rank 0 can finalize without reading the shards.
 * s3dlio neither writes nor needs it.
 */
export function receiptKey(id: CheckpointId, rank: number, strategy: CheckpointStrategy): string {
  return shardKey(id, rank, strategy).replace(/\.bin$/, '.json');
}

/** The prefixes (ending with `/`) that hold a checkpoint's shards and receipts under `strategy`. */
export function shardDirectories(id: CheckpointId, worldSize: number, strategy: CheckpointStrategy): string[] {
  // Ranks 0–255 already reach every prefix: 16 hex pairs, 16 four-digit binary heads.
  const ranks = Math.min(worldSize, strategy === 'flat' ? 1 : 256);
  const directories = new Set<string>();
  for (let rank = 0; rank < ranks; rank++) {
    const key = shardKey(id, rank, strategy);
    directories.add(key.slice(0, key.lastIndexOf('/') + 1));
  }
  return [...directories];
}

/** The latest pointer. */
export const LATEST_KEY = 'latest.json';

/** `latest/ckpt-{step}-{ts}.json`: an append-only marker, for stores without atomic overwrite. */
export function latestMarkerKey(id: CheckpointId): string {
  return `latest/${idName(id)}.json`;
}

const ID_FILE = /^ckpt-(\d+)-(\d{8}-\d{6})\.json$/;

/** The checkpoint a manifest key (or a latest marker key) names; undefined for any other key. */
export function idOfKey(key: string): CheckpointId | undefined {
  const match = ID_FILE.exec(key.slice(key.lastIndexOf('/') + 1));
  if (!match) return undefined;
  const step = Number(match[1]);
  return Number.isSafeInteger(step) ? { step, ts: match[2] } : undefined;
}

/** One rank's shard as the manifest records it. */
export interface ShardRecord {
  rank: number;
  /** Relative to the base. */
  key: string;
  size: number;
  /** null where the store gave none (s3dlio writes null). */
  etag: string | null;
  /** `crc32c:<8 hex digits>` of the stored bytes, or null (s3dlio writes null). */
  checksum: string | null;
}

/** Whether every rank's shard is in and the checkpoint may be loaded. */
export type CheckpointStatus = 'incomplete' | 'complete';

/** `manifests/ckpt-{step}-{ts}.json`, field for field as s3dlio writes it. */
export interface Manifest {
  format_version: 1;
  /** `tfjs`, `torch`, `generic`… */
  framework: string;
  global_step: number;
  epoch: number;
  /** RFC 3339. */
  wall_time: string;
  world_size: number;
  shards: ShardRecord[];
  status: CheckpointStatus;
  user_meta: unknown;
  /** Present (`zstd`) only when the shards are compressed; s3dlio cannot read those. */
  compression?: 'zstd';
  /** The run that saves it, when its ranks name one (ignored by s3dlio). */
  run_id?: string;
}

/** `latest.json` and its markers. */
export interface LatestPointer {
  manifest_key: string;
  global_step: number;
  ts: string;
}

const CHECKSUM = /^crc32c:[0-9a-f]{8}$/;

/** A manifest's problem: ERR_BAD_FORMAT naming the manifest and the field. */
function badManifest(uri: string, problem: string): S3dlioError {
  return new S3dlioError('ERR_BAD_FORMAT', `checkpoint manifest ${uri}: ${problem}`, { uri });
}

/** The JSON object `bytes` hold, or ERR_BAD_FORMAT. */
function jsonObject(bytes: Uint8Array, uri: string, what: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'));
  } catch (error) {
    throw new S3dlioError('ERR_BAD_FORMAT', `${what} ${uri}: not JSON (${(error as Error).message})`, {
      uri,
      cause: error,
    });
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new S3dlioError('ERR_BAD_FORMAT', `${what} ${uri}: not a JSON object`, { uri });
  }
  return value as Record<string, unknown>;
}

/**
 * A key that stays below the checkpoint base: relative, without empty, `.` or `..` segments or
 * backslashes, so a manifest cannot send a reader (or a delete) anywhere else.
 */
function isRelativeKey(key: unknown): key is string {
  if (typeof key !== 'string' || key === '' || key.includes('\\') || key.includes('\0')) return false;
  return key.split('/').every((segment) => segment !== '' && segment !== '.' && segment !== '..');
}

const isCount = (value: unknown): value is number =>
  typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;

/**
 * Reads a manifest (ours or s3dlio's) and checks it: the fields and their types, a world size of
 * at least 1, ranks below it and each at most once, and, when complete, a shard for every rank.
 */
export function parseManifest(bytes: Uint8Array, uri: string): Manifest {
  const doc = jsonObject(bytes, uri, 'checkpoint manifest');
  if (doc.format_version !== 1) throw badManifest(uri, `format_version ${JSON.stringify(doc.format_version)} is not 1`);
  for (const field of ['global_step', 'epoch', 'world_size'] as const) {
    if (!isCount(doc[field])) throw badManifest(uri, `${field} is not a non-negative integer`);
  }
  for (const field of ['framework', 'wall_time'] as const) {
    if (typeof doc[field] !== 'string') throw badManifest(uri, `${field} is not a string`);
  }
  const worldSize = doc.world_size as number;
  if (worldSize < 1) throw badManifest(uri, 'world_size is 0');
  if (doc.status !== 'incomplete' && doc.status !== 'complete') {
    throw badManifest(uri, `status ${JSON.stringify(doc.status)} is neither "incomplete" nor "complete"`);
  }
  if (doc.compression !== undefined && doc.compression !== 'zstd') {
    throw badManifest(uri, `compression ${JSON.stringify(doc.compression)} is not "zstd"`);
  }
  if (doc.run_id !== undefined && doc.run_id !== null && typeof doc.run_id !== 'string') {
    throw badManifest(uri, 'run_id is not a string');
  }
  if (!Array.isArray(doc.shards)) throw badManifest(uri, 'shards is not an array');
  const seen = new Set<number>();
  const shards = doc.shards.map((entry: unknown, index): ShardRecord => {
    const shard = (typeof entry === 'object' && entry !== null ? entry : {}) as Record<string, unknown>;
    const where = `shards[${index}]`;
    if (!isCount(shard.rank) || shard.rank >= worldSize) {
      throw badManifest(uri, `${where}.rank is not a rank below world_size ${worldSize}`);
    }
    if (seen.has(shard.rank)) throw badManifest(uri, `rank ${shard.rank} has two shards`);
    seen.add(shard.rank);
    if (!isRelativeKey(shard.key)) throw badManifest(uri, `${where}.key is not a key below the base`);
    if (!isCount(shard.size)) throw badManifest(uri, `${where}.size is not a non-negative integer`);
    const etag = shard.etag ?? null;
    if (etag !== null && typeof etag !== 'string') throw badManifest(uri, `${where}.etag is not a string or null`);
    const checksum = shard.checksum ?? null;
    if (checksum !== null && (typeof checksum !== 'string' || !CHECKSUM.test(checksum))) {
      throw badManifest(uri, `${where}.checksum is not "crc32c:<8 hex digits>" or null`);
    }
    return { rank: shard.rank, key: shard.key, size: shard.size, etag, checksum };
  });
  if (doc.status === 'complete' && seen.size !== worldSize) {
    const missing = Array.from({ length: worldSize }, (_, rank) => rank).filter((rank) => !seen.has(rank));
    throw badManifest(uri, `complete, but without the shards of ranks ${missing.join(', ')}`);
  }
  return {
    format_version: 1,
    framework: doc.framework as string,
    global_step: doc.global_step as number,
    epoch: doc.epoch as number,
    wall_time: doc.wall_time as string,
    world_size: worldSize,
    shards: shards.sort((a, b) => a.rank - b.rank),
    status: doc.status,
    user_meta: doc.user_meta ?? null,
    ...(doc.compression === 'zstd' && { compression: 'zstd' as const }),
    ...(typeof doc.run_id === 'string' && { run_id: doc.run_id }),
  };
}

/** Reads `latest.json` (or a marker): the manifest key, its step and `{ts}`, checked. */
export function parseLatest(bytes: Uint8Array, uri: string): LatestPointer {
  const doc = jsonObject(bytes, uri, 'checkpoint pointer');
  const bad = (problem: string): S3dlioError =>
    new S3dlioError('ERR_BAD_FORMAT', `checkpoint pointer ${uri}: ${problem}`, { uri });
  if (typeof doc.manifest_key !== 'string') throw bad('manifest_key is not a string');
  if (!isCount(doc.global_step)) throw bad('global_step is not a non-negative integer');
  if (typeof doc.ts !== 'string') throw bad('ts is not a string');
  // s3dlio writes the manifest key relative to the base; its step and ts must agree with it.
  const id = idOfKey(doc.manifest_key);
  if (!id || id.step !== doc.global_step || id.ts !== doc.ts || !doc.manifest_key.startsWith('manifests/')) {
    throw bad(`manifest_key ${JSON.stringify(doc.manifest_key)} does not name step ${doc.global_step} at ${doc.ts}`);
  }
  return { manifest_key: doc.manifest_key, global_step: doc.global_step, ts: doc.ts };
}

/** A rank's receipt: its shard as the manifest will record it, and the run it belongs to. */
export interface ShardReceipt extends ShardRecord {
  /** The run the shard was saved by, when ranks name one (`runId`). */
  run_id: string | null;
}

/** Reads a rank's receipt, checked like a manifest's shard entry. */
export function parseReceipt(bytes: Uint8Array, uri: string): ShardReceipt {
  const doc = jsonObject(bytes, uri, 'checkpoint shard receipt');
  const bad = (problem: string): S3dlioError =>
    new S3dlioError('ERR_BAD_FORMAT', `checkpoint shard receipt ${uri}: ${problem}`, { uri });
  if (!isCount(doc.rank)) throw bad('rank is not a non-negative integer');
  if (!isRelativeKey(doc.key)) throw bad('key is not a key below the base');
  if (!isCount(doc.size)) throw bad('size is not a non-negative integer');
  if (doc.etag !== null && typeof doc.etag !== 'string') throw bad('etag is not a string or null');
  if (typeof doc.checksum !== 'string' || !CHECKSUM.test(doc.checksum))
    throw bad('checksum is not "crc32c:<8 hex digits>"');
  if (doc.run_id !== null && typeof doc.run_id !== 'string') throw bad('run_id is not a string or null');
  return {
    rank: doc.rank,
    key: doc.key,
    size: doc.size,
    etag: doc.etag,
    checksum: doc.checksum,
    run_id: doc.run_id,
  };
}
