/** A complete checkpoint, loaded: its info and its shards, read zero-copy and checked. */
import { S3dlioError } from '../errors';
import { expectKnownOptions, optionKeys } from '../internal/option-keys';
import { decompressFrames } from '../engine/zstd';
import { crc32cInBackground } from '../checksum';
import { invalidValue, optionalSignal } from '../validate';
import { infoOf } from './catalog';
import { type CheckpointId, type Manifest, manifestKey, parseManifest } from './layout';
import { type CheckpointPlace, codeOf, crc32cText, incomplete, uriOf } from './place';
import type { CheckpointInfo, LoadedCheckpoint, ShardInfo } from './types';

const READ_SHARD_KEYS = optionKeys<{ signal?: AbortSignal }>()({ signal: true });

/** Save `id`, which must be complete; a missing manifest is ERR_NOT_FOUND naming it. */
export async function loadId(
  place: CheckpointPlace,
  id: CheckpointId,
  operation: string,
  signal: AbortSignal | undefined,
): Promise<LoadedCheckpoint> {
  const uri = uriOf(place, manifestKey(id));
  let bytes: Uint8Array;
  try {
    bytes = await place.store.get(uri, { signal });
  } catch (error) {
    if (codeOf(error) !== 'ERR_NOT_FOUND') throw error;
    throw new S3dlioError(
      'ERR_NOT_FOUND',
      `${operation} ${uri}: the manifest of step ${id.step} at ${id.ts} is missing`,
      {
        uri,
        operation,
        cause: error,
      },
    );
  }
  const manifest = parseManifest(bytes, uri);
  if (manifest.status !== 'complete') throw incomplete(place, id, operation);
  return loaded(place, id, manifest);
}

/** A complete manifest as a LoadedCheckpoint. */
export function loaded(place: CheckpointPlace, id: CheckpointId, manifest: Manifest): LoadedCheckpoint {
  const info = infoOf(place, id, manifest);
  const readShard = (rank: number = place.rank, options?: { signal?: AbortSignal }): Promise<Uint8Array> =>
    readShardOf(place, info, rank, options);
  return { ...info, readShard };
}

/** One rank's shard, its size and (where the manifest has one) its CRC32C checked. */
async function readShardOf(
  place: CheckpointPlace,
  info: CheckpointInfo,
  rank: unknown,
  options: { signal?: AbortSignal } | undefined,
): Promise<Uint8Array> {
  const opts = expectKnownOptions(options, READ_SHARD_KEYS, 'readShard');
  const signal = optionalSignal(opts.signal);
  if (typeof rank !== 'number' || !Number.isSafeInteger(rank) || rank < 0 || rank >= info.worldSize) {
    throw invalidValue('rank', `a rank below the checkpoint's world size ${info.worldSize}`, rank);
  }
  const shard = info.shards.find((entry) => entry.rank === rank) as ShardInfo;
  const bytes = await place.store.get(shard.uri, { signal });
  const mismatch = (problem: string): S3dlioError =>
    new S3dlioError('ERR_CHECKSUM_MISMATCH', `readShard ${shard.uri}: rank ${rank}'s shard ${problem}`, {
      uri: shard.uri,
      operation: 'readShard',
    });
  if (bytes.byteLength !== shard.size) throw mismatch(`has ${bytes.byteLength} bytes, the manifest says ${shard.size}`);
  if (shard.checksum !== null) {
    const actual = crc32cText(await crc32cInBackground(bytes));
    if (actual !== shard.checksum)
      throw mismatch(`has CRC32C ${actual.slice(7)}, the manifest says ${shard.checksum.slice(7)}`);
  }
  // The checks above are of the stored bytes; a compressed shard is then decompressed whole.
  return info.compression === 'zstd' ? decompressFrames(bytes, shard.uri, 'readShard') : bytes;
}
