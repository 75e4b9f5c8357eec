import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { get, put, readOpLog, replay, startOpLog, stopOpLog, summarizeOpLog } from 's3dlio';

const dir = await mkdtemp(join(process.cwd(), 'oplog-'));
const log = join(dir, 'train-io.tsv.zst');       // e.g. /var/log/train-io.tsv.zst

await startOpLog(log, { clientId: 'node-3' });   // or a store URI
// ... the job runs: every get, put, list, stat, delete of every store is recorded ...
for (let i = 0; i < 10; i++) await put(`file://${dir}/data/item-${i}.bin`, new Uint8Array(64 * 1024));
for (let i = 0; i < 10; i++) await get(`file://${dir}/data/item-${i}.bin`);
const summary = await stopOpLog();    // { lines, dropped } (undefined if no log ran): flushed and closed (durable) when it resolves

const stats = await summarizeOpLog(readOpLog(log));   // ops/s, bytes, p50/p90/p99 per op
const report = await replay(log, {
  target: `file://${dir}/replayed/`, // the recorded bucket (or local directory) becomes this prefix (s3://other-bucket/, …)
  speed: 2,                          // 1 as recorded, 2 twice as fast, 0.5 half speed, 0 as fast as possible
});
console.log(summary?.lines, summary?.dropped, Object.keys(stats));
console.log(report.lagMs, report.opsPerSecond);  // how closely the schedule was kept
await rm(dir, { recursive: true });
