/**
 * A checkpoint laid out exactly as s3dlio writes one (written here by hand from its layout: pretty
 * JSON, `etag` and `checksum` null, no receipts) is listed and loaded; a manifest whose shard keys
 * leave the base is refused instead of followed.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'fs';
import * as path from 'path';

import { CheckpointStore } from '../../lib';
import { rejectionOf } from '../helpers/local';
import { useTempDir } from '../helpers/temp';

const tmp = useTempDir('s3dlio-ckpt-fixture-');

function write(root: string, key: string, content: string | Buffer): void {
  const file = path.join(root, key);
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, content);
}

/** s3dlio's manifest of a round_robin checkpoint of 2 ranks, as serde_json::to_vec_pretty writes it. */
function s3dlioCheckpoint(root: string, step: number, ts: string, shardKeys?: string[]): Buffer[] {
  const id = `ckpt-${step}-${ts}`;
  const shards = [0, 1].map((rank) => Buffer.alloc(1000 + rank, `s3dlio rank ${rank} step ${step}`));
  const keys = shardKeys ?? [0, 1].map((rank) => `shards/rr/0${rank}/${id}/rank-${rank}.bin`);
  keys.forEach((key, rank) => write(root, key, shards[rank]));
  const manifest = {
    format_version: 1,
    framework: 'torch',
    global_step: step,
    epoch: 3,
    wall_time: '2025-01-01T12:00:00.123456789+00:00',
    world_size: 2,
    shards: keys.map((key, rank) => ({ rank, key, size: shards[rank].byteLength, etag: null, checksum: null })),
    status: 'complete',
    user_meta: null,
  };
  write(root, `manifests/${id}.json`, JSON.stringify(manifest, null, 2));
  const latest = JSON.stringify({ manifest_key: `manifests/${id}.json`, global_step: step, ts }, null, 2);
  write(root, `latest/${id}.json`, latest);
  write(root, 'latest.json', latest);
  return shards;
}

test("s3dlio's layout is listed and loaded; shards without a checksum are checked by size", async () => {
  const root = path.join(tmp.path, 's3dlio');
  s3dlioCheckpoint(root, 100, '20250101-120000');
  const shards = s3dlioCheckpoint(root, 200, '20250101-130000');
  const checkpoints = new CheckpointStore(`file://${root}`, { strategy: 'round_robin', rank: 1, worldSize: 2 });
  expect((await checkpoints.list()).map(({ step, status, latest }) => ({ step, status, latest }))).toEqual([
    { step: 200, status: 'complete', latest: true },
    { step: 100, status: 'complete', latest: false },
  ]);
  const latest = await checkpoints.loadLatest();
  expect(latest).toMatchObject({ step: 200, epoch: 3, framework: 'torch', userMeta: null, compression: 'none' });
  expect(latest.shards.map((shard) => shard.checksum)).toEqual([null, null]);
  expect(Buffer.from(await latest.readShard()).equals(shards[1])).toBe(true);
  expect(Buffer.from(await latest.readShard(0)).equals(shards[0])).toBe(true);
  // A shard cut short is still caught without a checksum.
  write(root, 'shards/rr/00/ckpt-200-20250101-130000/rank-0.bin', shards[0].subarray(1));
  expect(await rejectionOf(latest.readShard(0))).toMatchObject({ code: 'ERR_CHECKSUM_MISMATCH' });
});

test('only latest markers (no latest.json): the newest marker is latest', async () => {
  const root = path.join(tmp.path, 'markers');
  s3dlioCheckpoint(root, 5, '20250101-120000');
  s3dlioCheckpoint(root, 6, '20250101-120100');
  rmSync(path.join(root, 'latest.json'));
  expect((await new CheckpointStore(`file://${root}`).loadLatest()).step).toBe(6);
});

test.each([
  ['a parent segment', '../outside.bin'],
  ['an absolute key', '/etc/hostname'],
  ['an empty segment', 'shards//rank-0.bin'],
  ['a backslash', 'shards\\..\\x.bin'],
])('a manifest whose shard key has %s is ERR_BAD_FORMAT, never read', async (_label, key) => {
  const root = path.join(tmp.path, `bad-${_label.replace(/\W/g, '-')}`);
  s3dlioCheckpoint(root, 1, '20250101-120000', [key.startsWith('/') ? 'a.bin' : 'b.bin', 'c.bin']);
  const manifest = path.join(root, 'manifests/ckpt-1-20250101-120000.json');
  const doc = JSON.parse(readFileSync(manifest, 'utf8'));
  doc.shards[0].key = key;
  writeFileSync(manifest, JSON.stringify(doc));
  const error = await rejectionOf(new CheckpointStore(`file://${root}`).loadLatest());
  expect(error).toMatchObject({ code: 'ERR_BAD_FORMAT', message: expect.stringContaining('shards[0].key') });
});
