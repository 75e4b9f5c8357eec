import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { CheckpointStore } from 's3dlio';

const dir = await mkdtemp(join(process.cwd(), 'ckpt-')); // or s3://train/ckpt/run-7/, …
const [step, epoch, lr] = [100, 2, 0.001];
const shardBytes = new Uint8Array(4 * 1024 * 1024).fill(1);

// Each rank (RANK and WORLD_SIZE as torchrun sets them, or { rank, worldSize }):
const checkpoints = new CheckpointStore(`file://${dir}/run-7/`, { keepLast: 3 });
await checkpoints.save(step, shardBytes, { epoch, framework: 'torch', userMeta: { lr } });
// shardBytes: a Uint8Array (or ArrayBuffer, string), or a stream / async iterable of chunks of any size

// To resume, on any rank:
const latest = await checkpoints.loadLatest();      // or load(step), load(step, { ts })
const mine = await latest.readShard();              // this rank's shard; readShard(r) for another
console.log(latest.step, latest.epoch, latest.userMeta, latest.shards.length, mine.length);
await rm(dir, { recursive: true });
