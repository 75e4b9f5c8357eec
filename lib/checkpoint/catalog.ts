/** What is saved under a checkpoint base: the manifests, what latest points to, each save's info. */
import { S3dlioError } from '../errors';
import {
  type CheckpointId,
  LATEST_KEY,
  type Manifest,
  idOfKey,
  manifestKey,
  parseLatest,
  parseManifest,
} from './layout';
import { type CheckpointPlace, codeOf, newestFirst, sameId, uriOf } from './place';
import type { CheckpointEntry, CheckpointInfo } from './types';

const MANIFEST_FILE = /^ckpt-(\d+)-(\d{8}-\d{6})\.json$/;

/** A listing below the base that is empty when the bucket or directory does not exist yet. */
async function listOrNone(place: CheckpointPlace, key: string, signal: AbortSignal | undefined): Promise<string[]> {
  return place.store.list(uriOf(place, key), { signal }).catch((error: unknown) => {
    if (codeOf(error) === 'ERR_NOT_FOUND' || codeOf(error) === 'ERR_BUCKET_NOT_FOUND') return [];
    throw error;
  });
}

/** The manifest of one save, read and checked. */
export async function readManifest(
  place: CheckpointPlace,
  id: CheckpointId,
  signal: AbortSignal | undefined,
): Promise<Manifest> {
  const uri = uriOf(place, manifestKey(id));
  return parseManifest(await place.store.get(uri, { signal }), uri);
}

/** The ids of every manifest under the base, newest first. */
export async function manifestIds(place: CheckpointPlace, signal: AbortSignal | undefined): Promise<CheckpointId[]> {
  const uris = await listOrNone(place, 'manifests/', signal);
  const ids: CheckpointId[] = [];
  for (const uri of uris) {
    const match = MANIFEST_FILE.exec(uri.slice(uri.lastIndexOf('/') + 1));
    if (match && Number.isSafeInteger(Number(match[1]))) ids.push({ step: Number(match[1]), ts: match[2] });
  }
  return ids.sort(newestFirst);
}

/** The newest incomplete save of `step` (finalize without a known `{ts}`). */
export async function newestIncomplete(
  place: CheckpointPlace,
  step: number,
  signal: AbortSignal | undefined,
): Promise<CheckpointId> {
  for (const id of (await manifestIds(place, signal)).filter((found) => found.step === step)) {
    if ((await readManifest(place, id, signal)).status === 'incomplete') return id;
  }
  throw new S3dlioError(
    'ERR_NOT_FOUND',
    `finalize ${place.baseUri}: no save of step ${step} is waiting to be finalized`,
    {
      uri: place.baseUri,
      operation: 'finalize',
    },
  );
}

/**
 * What `latest` points to: latest.json, or, where it is missing (a finalize cut short between
 * the two, or a store written by a tool that keeps only markers), the newest marker.
 */
export async function latestId(
  place: CheckpointPlace,
  signal: AbortSignal | undefined,
): Promise<CheckpointId | undefined> {
  const uri = uriOf(place, LATEST_KEY);
  try {
    const pointer = parseLatest(await place.store.get(uri, { signal }), uri);
    return { step: pointer.global_step, ts: pointer.ts };
  } catch (error) {
    if (codeOf(error) !== 'ERR_NOT_FOUND' && codeOf(error) !== 'ERR_BUCKET_NOT_FOUND') throw error;
  }
  const markers = await listOrNone(place, 'latest/', signal);
  const ids = markers.flatMap((marker) => {
    const id = idOfKey(marker);
    return id ? [id] : [];
  });
  return ids.sort(newestFirst)[0];
}

/** A manifest as the public CheckpointInfo. */
export function infoOf(place: CheckpointPlace, id: CheckpointId, manifest: Manifest): CheckpointInfo {
  return {
    step: id.step,
    ts: id.ts,
    epoch: manifest.epoch,
    framework: manifest.framework,
    wallTime: manifest.wall_time,
    worldSize: manifest.world_size,
    status: manifest.status,
    manifestUri: uriOf(place, manifestKey(id)),
    shards: manifest.shards.map((shard) => ({ ...shard, uri: uriOf(place, shard.key) })),
    userMeta: manifest.user_meta,
    compression: manifest.compression ?? 'none',
  };
}

/** Every save under the base, newest first, with its status (an unreadable manifest says why). */
export async function listEntries(place: CheckpointPlace, signal: AbortSignal | undefined): Promise<CheckpointEntry[]> {
  const [ids, latest] = await Promise.all([manifestIds(place, signal), latestId(place, signal)]);
  return Promise.all(
    ids.map(async (id): Promise<CheckpointEntry> => {
      const manifestUri = uriOf(place, manifestKey(id));
      const entry = { step: id.step, ts: id.ts, manifestUri, latest: sameId(id, latest) };
      try {
        const info = infoOf(place, id, await readManifest(place, id, signal));
        return { ...entry, status: info.status, info };
      } catch (error) {
        if (signal?.aborted) throw error;
        return { ...entry, status: 'unreadable', problem: (error as Error).message };
      }
    }),
  );
}
