/**
 * Ranks as real processes (RANK / WORLD_SIZE, as torchrun sets them) saving to one file:// base:
 * three ranks × two steps load back byte for byte from any rank; a rank SIGKILLed in the middle
 * of its shard makes rank 0's finalize fail naming it, and latest stays on the previous step.
 */
import { readdirSync } from 'fs';

import { CheckpointStore } from '../../lib';
import { type ChildResult, runNodeScript } from '../helpers/child';
import { useTempDir } from '../helpers/temp';

const tmp = useTempDir('s3dlio-ckpt-ranks-');

/** One rank: saves each step (rank 0 finalizes) and prints what happened as RESULT json. */
const RANK_SCRIPT = `
const { CheckpointStore } = require(LIB);
const { Readable } = require('stream');
(async () => {
  const checkpoints = new CheckpointStore(ARGS.base, { pollIntervalMs: 20, timeoutMs: ARGS.timeoutMs, partSize: 65536 });
  const results = [];
  for (const step of ARGS.steps) {
    const bytes = Buffer.alloc(ARGS.size + checkpoints.rank, 'rank ' + checkpoints.rank + ' step ' + step + ';');
    let data = bytes;
    if (ARGS.dieAt && ARGS.dieAt.rank === checkpoints.rank && ARGS.dieAt.step === step) {
      // Two parts go to storage, then the process is killed outright: no cleanup code runs.
      data = (async function* () {
        yield bytes.subarray(0, 140000);
        await new Promise((resolve) => setTimeout(resolve, 200));
        process.kill(process.pid, 'SIGKILL');
        await new Promise(() => {});
      })();
    }
    try {
      const saved = await checkpoints.save(step, data);
      results.push({ step, ts: saved.ts, finalized: saved.checkpoint !== undefined });
    } catch (error) {
      results.push({ step, error: { code: error.code, message: error.message } });
    }
  }
  console.log('RESULT ' + JSON.stringify(results));
})();
`;

interface StepResult {
  step: number;
  ts?: string;
  finalized?: boolean;
  error?: { code: string; message: string };
}

function results(child: ChildResult): StepResult[] {
  const line = child.stdout.split('\n').find((l) => l.startsWith('RESULT '));
  if (!line) throw new Error(`rank printed no result (exit ${child.code}, ${child.signal})\n${child.stderr}`);
  return JSON.parse(line.slice('RESULT '.length)) as StepResult[];
}

function runRanks(base: string, worldSize: number, extra: Record<string, unknown>): Promise<ChildResult[]> {
  return Promise.all(
    Array.from({ length: worldSize }, (_, rank) =>
      runNodeScript(RANK_SCRIPT, { base, size: 200_000, timeoutMs: 20_000, ...extra }, [], {
        env: { RANK: String(rank), WORLD_SIZE: String(worldSize), S3DLIO_RUN_ID: undefined },
        killAfterMs: 60_000,
      }),
    ),
  );
}

const expected = (rank: number, step: number): Buffer => Buffer.alloc(200_000 + rank, `rank ${rank} step ${step};`);

test('3 ranks × 2 steps: every rank agrees on each {ts}, rank 0 finalizes, any rank loads every shard', async () => {
  const base = tmp.uri('file', 'three');
  const children = await runRanks(base, 3, { steps: [1, 2] });
  const byRank = children.map(results);
  for (const rankResults of byRank) expect(rankResults.map((r) => r.error)).toEqual([undefined, undefined]);
  for (const step of [0, 1]) {
    expect(new Set(byRank.map((rankResults) => rankResults[step].ts)).size).toBe(1);
  }
  expect(byRank.map((rankResults) => rankResults.map((r) => r.finalized))).toEqual([
    [true, true],
    [false, false],
    [false, false],
  ]);

  const reader = new CheckpointStore(base, { rank: 1, worldSize: 3 });
  const latest = await reader.loadLatest();
  expect(latest).toMatchObject({ step: 2, worldSize: 3, status: 'complete', ts: byRank[0][1].ts });
  expect(Buffer.from(await latest.readShard()).equals(expected(1, 2))).toBe(true);
  for (const rank of [0, 2]) expect(Buffer.from(await latest.readShard(rank)).equals(expected(rank, 2))).toBe(true);
  const first = await reader.load(1);
  for (const rank of [0, 1, 2]) expect(Buffer.from(await first.readShard(rank)).equals(expected(rank, 1))).toBe(true);
});

test('a rank SIGKILLed while writing its shard: finalize names it, latest stays on the previous step', async () => {
  const base = tmp.uri('file', 'killed');
  const children = await runRanks(base, 3, { steps: [1, 2], dieAt: { rank: 2, step: 2 }, timeoutMs: 3000 });
  expect(children[2].signal).toBe('SIGKILL');
  const rank0 = results(children[0]);
  expect(rank0[0]).toMatchObject({ step: 1, finalized: true });
  expect(rank0[1].error).toMatchObject({ code: 'ERR_CHECKPOINT_INCOMPLETE' });
  expect(rank0[1].error?.message).toMatch(/rank 2 of 3 had not saved a shard/);
  expect(results(children[1])[1]).toMatchObject({ step: 2, finalized: false });

  const reader = new CheckpointStore(base, { worldSize: 3 });
  const latest = await reader.loadLatest();
  expect(latest.step).toBe(1);
  expect(Buffer.from(await latest.readShard(2)).equals(expected(2, 1))).toBe(true);
  expect(await reader.load(2).catch((error: { code: string }) => error.code)).toBe('ERR_CHECKPOINT_INCOMPLETE');
  const entries = await reader.list();
  expect(entries.map(({ step, status, latest: isLatest }) => ({ step, status, latest: isLatest }))).toEqual([
    { step: 2, status: 'incomplete', latest: false },
    { step: 1, status: 'complete', latest: true },
  ]);
});

test('a rank with no rank 0 to follow waits, then fails with ERR_TIMEOUT naming the step', async () => {
  const base = tmp.uri('file', 'alone');
  const rank1 = new CheckpointStore(base, { rank: 1, worldSize: 2, timeoutMs: 200, pollIntervalMs: 20 });
  await expect(rank1.save(3, 'orphan')).rejects.toMatchObject({
    code: 'ERR_TIMEOUT',
    message: expect.stringContaining('rank 1 waited'),
  });
  const rank0 = new CheckpointStore(base, { rank: 0, worldSize: 2 });
  await expect(rank0.list()).resolves.toEqual([]);
});

test('with a runId, a rank joins only its own run, never a manifest a crashed run left for the step', async () => {
  const base = tmp.uri('file', 'runs');
  const crashed = new CheckpointStore(base, { rank: 0, worldSize: 2, runId: 'run-a' });
  await crashed.saveShard(5, 'old rank 0', { ts: '20261130-090000' });
  const rank1 = new CheckpointStore(base, {
    rank: 1,
    worldSize: 2,
    runId: 'run-b',
    pollIntervalMs: 20,
    timeoutMs: 5000,
  });
  const rank0 = new CheckpointStore(base, {
    rank: 0,
    worldSize: 2,
    runId: 'run-b',
    pollIntervalMs: 20,
    timeoutMs: 5000,
  });
  const waiting = rank1.save(5, 'new rank 1');
  await new Promise((resolve) => setTimeout(resolve, 100));
  const [saved0, saved1] = await Promise.all([rank0.save(5, 'new rank 0', { ts: '20261130-090500' }), waiting]);
  expect(saved1.ts).toBe('20261130-090500');
  expect(saved0.checkpoint).toMatchObject({ step: 5, ts: '20261130-090500', status: 'complete' });
  const latest = await rank1.loadLatest();
  expect(Buffer.from(await latest.readShard()).toString()).toBe('new rank 1');
});

test('ranks that disagree on compression: the rank that differs is told, before it writes anything', async () => {
  const base = tmp.uri('file', 'mixed');
  const rank0 = new CheckpointStore(base, { rank: 0, worldSize: 2, timeoutMs: 300, pollIntervalMs: 20 });
  const rank1 = new CheckpointStore(base, { rank: 1, worldSize: 2, compression: 'zstd', pollIntervalMs: 20 });
  const saving = rank0.save(1, 'plain');
  await expect(rank1.save(1, 'compressed')).rejects.toMatchObject({
    code: 'ERR_INVALID_ARG_VALUE',
    message: expect.stringContaining('rank 0 saves this checkpoint with compression none, rank 1 with zstd'),
  });
  await expect(saving).rejects.toMatchObject({ code: 'ERR_CHECKPOINT_INCOMPLETE' });
  expect(readdirSync(`${tmp.path}/mixed/shards`, { recursive: true }).map(String).sort()).toEqual(
    expect.not.arrayContaining([expect.stringContaining('rank-1')]),
  );
});
