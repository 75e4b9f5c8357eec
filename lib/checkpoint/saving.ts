/**
 * The steps of a save: rank 0's incomplete manifest, each rank's shard and receipt, the ranks
 * waiting on each other, and the publication of latest.
 */
import { S3dlioError, toS3dlioError } from '../errors';
import { crc32cInBackground } from '../checksum';
import { manifestIds, readManifest } from './catalog';
import {
  type CheckpointId,
  LATEST_KEY,
  type Manifest,
  type ShardRecord,
  latestMarkerKey,
  manifestKey,
  parseReceipt,
  receiptKey,
  shardKey,
} from './layout';
import { pollUntil } from './poll';
import { type CheckpointPlace, codeOf, crc32cText, jsonBytes, uriOf } from './place';
import type { ShardInfo } from './types';

/** Rank 0: the manifest, incomplete, create-only. */
export async function begin(
  place: CheckpointPlace,
  id: CheckpointId,
  meta: { epoch: number; framework: string; userMeta: unknown; wallTime: string },
  signal: AbortSignal | undefined,
): Promise<void> {
  const manifest: Manifest = {
    format_version: 1,
    framework: meta.framework,
    global_step: id.step,
    epoch: meta.epoch,
    wall_time: meta.wallTime,
    world_size: place.worldSize,
    shards: [],
    status: 'incomplete',
    user_meta: meta.userMeta,
    ...(place.compression === 'zstd' && { compression: 'zstd' as const }),
    ...(place.runId !== null && { run_id: place.runId }),
  };
  await place.store
    .put(uriOf(place, manifestKey(id)), jsonBytes(manifest), { overwrite: false, signal })
    .catch((error: unknown) => {
      throw alreadySaving(place, error, id, 'its manifest');
    });
}

/** This rank's shard, create-only, with its CRC32C: one buffer through `put`, chunks through the streaming writer. */
export async function writeShard(
  place: CheckpointPlace,
  id: CheckpointId,
  body: Uint8Array | AsyncIterable<Uint8Array | string>,
  signal: AbortSignal | undefined,
): Promise<ShardInfo> {
  const compressed = place.compression === 'zstd';
  const key = shardKey(id, place.rank, place.strategy, compressed);
  const uri = uriOf(place, key);
  const sizes = {
    ...(place.partSize !== undefined && { partSize: place.partSize }),
    ...(place.concurrency !== undefined && { concurrency: place.concurrency }),
  };
  if (body instanceof Uint8Array && !compressed) {
    // One buffer: `put` writes it as it is (in place for addon and shared memory, O_DIRECT on
    // direct://) while its CRC32C is computed beside it; the caller keeps the buffer unchanged
    // until `save` resolves.
    const writing = place.store.put(uri, body, { overwrite: false, ...sizes, signal }).catch((error: unknown) => {
      throw alreadySaving(place, error, id, `rank ${place.rank}'s shard`);
    });
    const [crc] = await Promise.all([crc32cInBackground(body), writing]);
    return { rank: place.rank, uri, key, size: body.byteLength, etag: null, checksum: crc32cText(crc) };
  }
  const writer = place.store.createWriter(uri, {
    overwrite: false,
    checksum: true,
    ...(compressed && { compression: 'zstd', compressionLevel: place.compressionLevel }),
    ...sizes,
    signal,
  });
  try {
    if (body instanceof Uint8Array) {
      await writer.write(body);
    } else {
      for await (const chunk of body) await writer.write(chunk);
    }
    const result = await writer.close();
    return {
      rank: place.rank,
      uri,
      key,
      size: result.storedBytes,
      etag: result.etag ?? null,
      checksum: `crc32c:${result.crc32c as string}`,
    };
  } catch (error) {
    await writer.abort(error);
    throw alreadySaving(place, error, id, `rank ${place.rank}'s shard`);
  }
}

/** The rank's receipt beside its shard (create-only), for rank 0 to finalize from. */
export async function writeReceipt(
  place: CheckpointPlace,
  id: CheckpointId,
  shard: ShardInfo,
  signal: AbortSignal | undefined,
): Promise<void> {
  const { rank, key, size, etag, checksum } = shard;
  const receipt = { rank, key, size, etag, checksum, run_id: place.runId };
  await place.store
    .put(uriOf(place, receiptKey(id, place.rank, place.strategy)), jsonBytes(receipt), { overwrite: false, signal })
    .catch((error: unknown) => {
      throw alreadySaving(place, error, id, `rank ${place.rank}'s receipt`);
    });
}

/** Rank r > 0: the `{ts}` of rank 0's incomplete manifest of `step` (of this run, with a runId). */
export function awaitManifest(place: CheckpointPlace, step: number, signal: AbortSignal | undefined): Promise<string> {
  const settings = { timeoutMs: place.timeoutMs, intervalMs: place.pollIntervalMs, signal };
  return pollUntil(
    'saveShard',
    place.baseUri,
    settings,
    async () => {
      for (const id of (await manifestIds(place, signal)).filter((found) => found.step === step)) {
        // A manifest deleted since the listing (retention of an old save) is passed over.
        const manifest = await readManifest(place, id, signal).catch((error: unknown) => {
          if (codeOf(error) === 'ERR_NOT_FOUND') return undefined;
          throw error;
        });
        if (!manifest || manifest.status !== 'incomplete' || manifest.world_size !== place.worldSize) continue;
        if (place.runId !== null && manifest.run_id !== place.runId) continue;
        if ((manifest.compression ?? 'none') !== place.compression) {
          throw new S3dlioError(
            'ERR_INVALID_ARG_VALUE',
            `saveShard ${uriOf(place, manifestKey(id))}: rank 0 saves this checkpoint with compression ` +
              `${manifest.compression ?? 'none'}, rank ${place.rank} with ${place.compression}; give every rank the same options`,
            { uri: uriOf(place, manifestKey(id)), operation: 'saveShard' },
          );
        }
        if (await place.store.exists(uriOf(place, receiptKey(id, place.rank, place.strategy)), { signal })) continue;
        return id.ts;
      }
      return undefined;
    },
    (waited) =>
      new S3dlioError(
        'ERR_TIMEOUT',
        `saveShard ${place.baseUri}: rank ${place.rank} waited ${waited} ms for rank 0 to begin step ${step}` +
          (place.runId !== null ? ` of run ${place.runId}` : '') +
          ' (its incomplete manifest never appeared)',
        { uri: place.baseUri, operation: 'saveShard' },
      ),
  );
}

/** Rank 0: every rank's receipt, each shard's size checked; missing ranks named at the deadline. */
export async function awaitShards(
  place: CheckpointPlace,
  id: CheckpointId,
  manifest: Manifest,
  timeoutMs: number,
  signal: AbortSignal | undefined,
): Promise<ShardRecord[]> {
  const records = new Map<number, ShardRecord>();
  const ranks = Array.from({ length: manifest.world_size }, (_, rank) => rank);
  const probe = async (): Promise<ShardRecord[] | undefined> => {
    const waiting = ranks.filter((rank) => !records.has(rank));
    await Promise.all(
      waiting.map(async (rank) => {
        const uri = uriOf(place, receiptKey(id, rank, place.strategy));
        let bytes: Uint8Array;
        try {
          bytes = await place.store.get(uri, { signal });
        } catch (error) {
          if (codeOf(error) === 'ERR_NOT_FOUND') return;
          throw error;
        }
        const receipt = parseReceipt(bytes, uri);
        if (receipt.rank !== rank) {
          throw new S3dlioError('ERR_BAD_FORMAT', `finalize ${uri}: the receipt names rank ${receipt.rank}`, { uri });
        }
        if (receipt.key.endsWith('.zst') !== (manifest.compression === 'zstd')) {
          throw new S3dlioError(
            'ERR_CHECKPOINT_INCOMPLETE',
            `finalize ${uri}: rank ${rank} saved its shard ${receipt.key.endsWith('.zst') ? '' : 'un'}compressed, ` +
              `the manifest says compression ${manifest.compression ?? 'none'}`,
            { uri, operation: 'finalize' },
          );
        }
        if (manifest.run_id !== undefined && receipt.run_id !== manifest.run_id) {
          throw new S3dlioError(
            'ERR_CHECKPOINT_INCOMPLETE',
            `finalize ${uri}: rank ${rank}'s shard belongs to run ${String(receipt.run_id)}, not ${manifest.run_id}`,
            { uri, operation: 'finalize' },
          );
        }
        const shardUri = uriOf(place, receipt.key);
        const stat = await place.store.stat(shardUri, { signal });
        if (stat.size !== receipt.size) {
          throw new S3dlioError(
            'ERR_CHECKSUM_MISMATCH',
            `finalize ${shardUri}: rank ${rank}'s shard has ${stat.size} bytes, its receipt says ${receipt.size}`,
            { uri: shardUri, operation: 'finalize' },
          );
        }
        records.set(rank, {
          rank,
          key: receipt.key,
          size: receipt.size,
          etag: stat.etag ?? receipt.etag,
          checksum: receipt.checksum,
        });
      }),
    );
    return records.size === ranks.length ? ranks.map((rank) => records.get(rank) as ShardRecord) : undefined;
  };
  return pollUntil(
    'finalize',
    uriOf(place, manifestKey(id)),
    { timeoutMs, intervalMs: place.pollIntervalMs, signal },
    probe,
    (waited) => {
      const missing = ranks.filter((rank) => !records.has(rank));
      const uri = uriOf(place, manifestKey(id));
      return new S3dlioError(
        'ERR_CHECKPOINT_INCOMPLETE',
        `finalize ${uri}: after ${waited} ms rank${missing.length > 1 ? 's' : ''} ${missing.join(', ')} of ` +
          `${manifest.world_size} had not saved a shard; the checkpoint stays incomplete and latest does not move`,
        { uri, operation: 'finalize' },
      );
    },
  );
}

/** The append-only marker (create-only; already there from an earlier finalize is fine), then latest.json. */
export async function publishLatest(
  place: CheckpointPlace,
  id: CheckpointId,
  signal: AbortSignal | undefined,
): Promise<void> {
  const pointer = jsonBytes({ manifest_key: manifestKey(id), global_step: id.step, ts: id.ts });
  await place.store
    .put(uriOf(place, latestMarkerKey(id)), pointer, { overwrite: false, signal })
    .catch((error: unknown) => {
      if (codeOf(error) !== 'ERR_ALREADY_EXISTS') throw error;
    });
  await place.store.put(uriOf(place, LATEST_KEY), pointer, { signal });
}

/** A create-only write that found its object: another saver of the same step and `{ts}`. */
export function alreadySaving(place: CheckpointPlace, error: unknown, id: CheckpointId, what: string): unknown {
  if (codeOf(error) !== 'ERR_ALREADY_EXISTS') return toS3dlioError(error, 'save', place.baseUri);
  const uri = (error as S3dlioError).uri ?? place.baseUri;
  return new S3dlioError(
    'ERR_ALREADY_EXISTS',
    `save ${uri}: step ${id.step} at ${id.ts} is already being saved (${what} exists); another saver owns it`,
    { uri, operation: 'save', cause: error },
  );
}
