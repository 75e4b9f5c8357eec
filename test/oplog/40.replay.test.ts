/**
 * replay(): a workload recorded on each backend arrives on another one with the same keys and
 * sizes (multipart uploads rebuilt from their parts); the schedule is kept at speed 0.5 and 2; a
 * warp log replays; failures stop it with the log line, or are counted; bad options are precise.
 */
import { writeFileSync } from 'fs';
import * as path from 'path';

import { type ObjectStore, replay, startOpLog, stopOpLog, storeFor } from '../../lib';
import { OPLOG_HEADER } from '../../lib/oplog/format';
import { newBucketName } from '../cloud/targets';
import { storeTargets } from '../contract/targets';
import { rejectionOf, testBytes } from '../helpers/local';
import { useTempDir } from '../helpers/temp';

const MiB = 1024 * 1024;
const tmp = useTempDir('s3dlio-replay-');

afterEach(async () => {
  await stopOpLog();
});

/** Keys below `prefix` with their sizes. */
async function contents(store: ObjectStore, prefix: string): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const uri of await store.list(prefix, { recursive: true })) {
    out[uri.slice(prefix.length)] = (await store.stat(uri)).size;
  }
  return out;
}

describe.each(storeTargets())('%s: record, then replay elsewhere', (_name, target) => {
  const store = target.store();
  const bucketName = newBucketName('rp');
  const bucket = target.bucketUri(bucketName);
  const local = target.scheme === 'file' || target.scheme === 'direct';
  const recordedPrefix = local ? bucket.slice(`${target.scheme}://`.length) : `${bucketName}/`;

  beforeAll(() => store.createBucket(bucket));
  afterAll(() => store.deleteBucket(bucket, { force: true }));

  test('the same keys and sizes arrive, a multipart upload included', async () => {
    const log = path.join(tmp.path, `${target.scheme}.tsv.zst`);
    await startOpLog(log);
    await store.put(`${bucket}w/a.bin`, testBytes(1000, 1));
    await store.put(`${bucket}w/sub dir/ü b.bin`, testBytes(70_000, 2));
    await store.put(`${bucket}w/empty`, new Uint8Array(0));
    const writer = store.createWriter(`${bucket}w/multi.bin`, { partSize: 5 * MiB });
    await writer.write(testBytes(11 * MiB, 3));
    await writer.close();
    await store.put(`${bucket}w/gone.bin`, 'x');
    await store.get(`${bucket}w/a.bin`);
    await store.stat(`${bucket}w/a.bin`);
    await store.list(`${bucket}w/`);
    await store.delete(`${bucket}w/gone.bin`);
    await stopOpLog();
    const expected = await contents(store, `${bucket}w/`);
    expect(Object.keys(expected).sort()).toEqual(['a.bin', 'empty', 'multi.bin', 'sub dir/ü b.bin']);

    // Elsewhere: a mem:// store of its own (a file:// directory for what was recorded on mem://).
    const elsewhere = target.scheme === 'mem' ? storeFor('file:///') : storeFor('mem://', {});
    const destination = target.scheme === 'mem' ? `file://${tmp.path}/from-mem/` : `mem://replayed-${bucketName}/`;
    await elsewhere.createBucket(destination);
    const report = await replay(log, {
      target: destination,
      store: elsewhere,
      speed: 0,
      remap: { [recordedPrefix]: destination },
    });
    expect(await contents(elsewhere, `${destination}w/`)).toEqual(expected);
    expect(report).toMatchObject({ errors: 0, expectedErrors: 0 });
    expect(report.operations).toBeGreaterThanOrEqual(10);
    expect(report.skipped).toEqual(local || target.scheme === 'mem' ? expect.any(Object) : {});
  });
});

/** A plain log of GETs of `file`, one every `stepMs` over `count` steps. */
function scheduleLog(file: string, count: number, stepMs: number): string {
  const start = Date.UTC(2026, 10, 1, 10, 0, 0);
  const lines = [OPLOG_HEADER];
  for (let i = 0; i < count; i++) {
    const t = new Date(start + i * stepMs).toISOString();
    lines.push([i, 0, 'GET', 'c', 1, 3, 'file://', file, '', t, '', t, 0].join('\t'));
  }
  return `${lines.join('\n')}\n`;
}

describe('timing', () => {
  test('speed 0.5 and 2 keep a 2 s schedule within ±10 % of its expected wall time', async () => {
    const data = path.join(tmp.path, 'sched.bin');
    writeFileSync(data, 'abc');
    const log = path.join(tmp.path, 'sched.tsv');
    writeFileSync(log, scheduleLog(data, 21, 100)); // 0 to 2 s
    for (const speed of [0.5, 2]) {
      const report = await replay(log, { target: 'file:///', speed, remap: (entry) => `file://${entry.file}` });
      const expected = 2 / speed;
      expect(report.scheduledSeconds).toBeCloseTo(expected, 6);
      expect(report.durationSeconds).toBeGreaterThan(expected * 0.9);
      expect(report.durationSeconds).toBeLessThan(expected * 1.1);
      expect(report.operations).toBe(21);
      expect(report.lagMs.p50).toBeLessThan(50);
    }
    const fast = await replay(log, { target: 'file:///', speed: 0, remap: (entry) => `file://${entry.file}` });
    expect(fast.durationSeconds).toBeLessThan(1);
    expect(Number.isNaN(fast.scheduledSeconds)).toBe(true);
  });
});

describe('logs from elsewhere, failures, options', () => {
  test('a warp log written by hand replays: PUTs of generated data, GET, STAT, DELETE; HEAD is STAT', async () => {
    const log = path.join(tmp.path, 'warp.tsv');
    const header =
      'idx\tthread\top\tclient_id\tn_objects\tbytes\tendpoint\tfile\terror\tstart\tfirst_byte\tlast_byte\tend\tduration_ns\tcat';
    const row = (i: number, op: string, bytes: number, file: string, ms: number): string => {
      const t = new Date(Date.UTC(2026, 10, 1) + ms).toISOString();
      return [i, 1, op, 'w1', 1, bytes, 'http://10.0.0.1:9000', file, '', t, '', '', t, 1000, 0].join('\t');
    };
    writeFileSync(
      log,
      [
        header,
        row(0, 'PUT', 4096, 'warp-bench/obj/1.rnd', 0),
        row(1, 'PUT', 10_000, 'warp-bench/obj/2.rnd', 1),
        row(2, 'GET', 4096, 'warp-bench/obj/1.rnd', 2),
        row(3, 'HEAD', 0, 'warp-bench/obj/2.rnd', 3),
        row(4, 'DELETE', 0, 'warp-bench/obj/1.rnd', 4),
        '# comment',
        '',
      ].join('\n'),
    );
    const destination = `file://${tmp.path}/warp-target/`;
    const report = await replay(log, { target: destination, speed: 0 });
    expect(report).toMatchObject({ operations: 5, errors: 0, bytes: 4096 + 10_000 + 4096 });
    expect(await contents(storeFor('file:///'), destination)).toEqual({ 'obj/2.rnd': 10_000 });
  });

  test('a failure stops the replay with its log line; continueOnError counts; a recorded error is expected', async () => {
    const log = path.join(tmp.path, 'fail.tsv');
    const t = '2026-11-01T10:00:00Z';
    writeFileSync(
      log,
      [
        OPLOG_HEADER,
        ['0', '0', 'GET', '', '1', '0', 'file://', '/nowhere/recorded-missing', 'ERR_NOT_FOUND', t, '', t, '0'].join(
          '\t',
        ),
        ['1', '0', 'GET', '', '1', '10', 'file://', '/nowhere/missing', '', t, '', t, '0'].join('\t'),
        '',
      ].join('\n'),
    );
    const destination = `file://${tmp.path}/fail-target/`;
    const error = await rejectionOf(replay(log, { target: destination, speed: 0, concurrency: 1 }));
    expect(error).toMatchObject({
      code: 'ERR_NOT_FOUND',
      operation: 'replay',
      message: expect.stringContaining('log line 3 (GET /nowhere/missing)'),
    });
    const report = await replay(log, { target: destination, speed: 0, continueOnError: true });
    expect(report).toMatchObject({ errors: 1, expectedErrors: 1, errorsByCode: { ERR_NOT_FOUND: 1 } });
  });

  test('bad options are precise errors', async () => {
    const log = path.join(tmp.path, 'opts.tsv');
    writeFileSync(log, `${OPLOG_HEADER}\n`);
    const cases: Array<[unknown, string]> = [
      [undefined, 'ERR_INVALID_ARG_TYPE'],
      [{}, 'ERR_INVALID_ARG_TYPE'],
      [{ target: 'nope' }, 'ERR_INVALID_URI'],
      [{ target: 'mem://b/', speed: -1 }, 'ERR_OUT_OF_RANGE'],
      [{ target: 'mem://b/', speed: '2' }, 'ERR_INVALID_ARG_TYPE'],
      [{ target: 'mem://b/', concurrency: 0 }, 'ERR_OUT_OF_RANGE'],
      [{ target: 'mem://b/', remap: 5 }, 'ERR_INVALID_ARG_TYPE'],
      [{ target: 'mem://b/', speeed: 2 }, 'ERR_INVALID_ARG_VALUE'],
    ];
    for (const [options, code] of cases) {
      expect(await rejectionOf(replay(log, options as never))).toMatchObject({ code });
    }
    expect(await rejectionOf(replay(path.join(tmp.path, 'absent.tsv'), { target: 'mem://b/' }))).toMatchObject({
      code: 'ERR_NOT_FOUND',
    });
  });
});
