/** Deleting saves, each so that a delete cut short never leaves a loadable checkpoint behind. */
import { listEntries } from './catalog';
import {
  type CheckpointId,
  type Manifest,
  latestMarkerKey,
  manifestKey,
  parseManifest,
  shardDirectories,
} from './layout';
import { type CheckpointPlace, codeOf, jsonBytes, newestFirst, uriOf } from './place';

/** Keeps the newest `keep` complete checkpoints and the latest; older ones (and older incomplete saves) go. */
export async function retain(place: CheckpointPlace, keep: number, signal: AbortSignal | undefined): Promise<void> {
  const entries = await listEntries(place, signal);
  const complete = entries.filter((entry) => entry.status === 'complete');
  const kept = complete.slice(0, keep);
  const oldestKept = kept[kept.length - 1];
  if (!oldestKept) return;
  for (const entry of entries) {
    if (entry.latest || kept.includes(entry)) continue;
    if (newestFirst(entry, oldestKept) <= 0) continue; // newer than the oldest kept: maybe still being saved
    await remove(place, entry, signal);
  }
}

/** Deletes one save: manifest marked incomplete, shards and receipts, marker, manifest. */
export async function remove(place: CheckpointPlace, id: CheckpointId, signal: AbortSignal | undefined): Promise<void> {
  const uri = uriOf(place, manifestKey(id));
  let manifest: Manifest | undefined;
  try {
    manifest = parseManifest(await place.store.get(uri, { signal }), uri);
  } catch (error) {
    if (codeOf(error) !== 'ERR_BAD_FORMAT') throw error;
  }
  if (manifest?.status === 'complete') {
    await place.store.put(uri, jsonBytes({ ...manifest, status: 'incomplete' }), { signal });
  }
  const worldSize = manifest?.world_size ?? place.worldSize;
  const directories = new Set<string>();
  for (const shard of manifest?.shards ?? []) directories.add(shard.key.slice(0, shard.key.lastIndexOf('/') + 1));
  for (const strategy of ['flat', 'round-robin', 'binary'] as const) {
    for (const directory of shardDirectories(id, worldSize, strategy)) directories.add(directory);
  }
  for (const directory of directories) await place.store.deletePrefix(uriOf(place, directory), { signal });
  await place.store.delete(uriOf(place, latestMarkerKey(id)), { signal }).catch((error: unknown) => {
    if (codeOf(error) !== 'ERR_NOT_FOUND') throw error;
  });
  await place.store.delete(uri, { signal });
}
