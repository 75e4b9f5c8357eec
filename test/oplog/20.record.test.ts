/**
 * Recording on every backend: a mixed workload (puts, a streaming writer's parts, RangeEngine
 * ranges, ranged gets, stat, list, copy, delete, a missing object, getMany) gives one line per
 * request with the right op, bytes, endpoint and file; zstd -d reads the log; no credential is in
 * it; a log written to a store URI does not log its own writes.
 */
import { execFileSync } from 'child_process';
import { readFileSync } from 'fs';
import * as path from 'path';

import { type ObjectStore, readOpLog, startOpLog, stopOpLog } from '../../lib';
import { OPLOG_HEADER, type WallTime, nanosBetween } from '../../lib/oplog/format';
import type { OpLogEntry } from '../../lib/oplog/reader';
import { newBucketName } from '../cloud/targets';
import { storeTargets } from '../contract/targets';
import { rejectionOf, testBytes } from '../helpers/local';
import { useTempDir } from '../helpers/temp';
import { hasTool } from '../helpers/tools';

const MiB = 1024 * 1024;
const SECRET = 'SeCrEtOpLoGkEy0123456789';
const tmp = useTempDir('s3dlio-oplog-');

async function entriesOf(source: string, store?: ObjectStore): Promise<OpLogEntry[]> {
  const entries: OpLogEntry[] = [];
  for await (const entry of readOpLog(source, store ? { store } : {})) entries.push(entry);
  return entries;
}

afterEach(async () => {
  await stopOpLog(); // a failed test leaves no log running for the next one
});

describe.each(storeTargets())('%s: op-log', (_name, target) => {
  // s3: credentials of our own, to look for them in the log (the server takes any).
  const store =
    target.scheme === 's3'
      ? target.store({ credentials: { accessKeyId: 'AKIAOPLOGTEST', secretAccessKey: SECRET } })
      : target.store();
  const bucketName = newBucketName('ol');
  const bucket = target.bucketUri(bucketName);
  const local = target.scheme === 'file' || target.scheme === 'direct';
  /** The `file` column of a URI: the absolute path locally, `bucket/key` on clouds. */
  const fileOf = (uri: string): string =>
    local ? uri.slice(`${target.scheme}://`.length) : `${bucketName}/${uri.slice(bucket.length)}`;

  beforeAll(() => store.createBucket(bucket));
  afterAll(() => store.deleteBucket(bucket, { force: true }));

  test('a mixed workload: one line per request, the right op, bytes, endpoint and file', async () => {
    const small = `${bucket}dir/small ü space.bin`;
    const big = `${bucket}dir/big.bin`;
    const streamed = `${bucket}dir/streamed.bin`;
    const copied = `${bucket}dir/copy.bin`;
    const missing = `${bucket}dir/missing.bin`;
    const logFile = path.join(tmp.path, `${target.scheme}.tsv.zst`);
    const bigBytes = testBytes(3 * MiB + 5, 2);

    await startOpLog(logFile, { clientId: 'client-7' });
    await store.put(small, testBytes(1000, 1));
    await store.put(big, bigBytes);
    const writer = store.createWriter(streamed, { partSize: 5 * MiB });
    await writer.write(testBytes(6 * MiB, 3));
    await writer.close();
    expect((await store.get(big, { rangeThreshold: MiB, chunkSize: MiB })).byteLength).toBe(bigBytes.byteLength);
    expect((await store.getRange(small, 10, 100)).byteLength).toBe(100);
    await store.stat(small);
    await store.list(`${bucket}dir/`);
    await store.copy(small, copied);
    expect(await rejectionOf(store.get(missing))).toMatchObject({ code: 'ERR_NOT_FOUND' });
    await store.getMany([small, big]);
    await store.delete(copied);
    const summary = await stopOpLog();

    const text = hasTool('zstd')
      ? execFileSync('zstd', ['-d', '-c', logFile]).toString()
      : (undefined as unknown as string);
    if (text !== undefined) {
      expect(text.split('\n')[0]).toBe(OPLOG_HEADER);
      expect(text).not.toContain(SECRET);
      expect(text).not.toContain('AKIAOPLOGTEST');
      expect(text).not.toMatch(/[?&](sig|X-Amz-Signature|se|sp)=/i);
    }
    const entries = await entriesOf(logFile);
    expect(summary).toEqual({ lines: entries.length, dropped: 0 });
    expect(entries.map((e) => e.idx)).toEqual(entries.map((_, index) => index));
    for (const entry of entries) {
      expect(entry.clientId).toBe('client-7');
      expect(nanosBetween(entry.start, entry.end)).toBeGreaterThanOrEqual(0);
      expect(Math.abs(entry.durationNs - nanosBetween(entry.start, entry.end))).toBeLessThanOrEqual(1);
      if (local) expect(entry.endpoint).toBe(`${target.scheme}://`);
      else if (target.scheme !== 'mem') expect(entry.endpoint).toMatch(/^https?:\/\/(127\.0\.0\.1|localhost)(:\d+)?/);
    }
    const on = (uri: string, op: string): OpLogEntry[] => entries.filter((e) => e.file === fileOf(uri) && e.op === op);
    const bytes = (list: OpLogEntry[]): number => list.reduce((sum, e) => sum + e.bytes, 0);

    expect(on(small, 'PUT').map((e) => e.bytes)).toEqual([1000]);
    expect(bytes(on(big, 'PUT'))).toBe(bigBytes.byteLength);
    expect(bytes(on(streamed, 'PUT'))).toBe(6 * MiB);
    // The ranged get and getMany: every byte of big read twice, in ranges on clouds.
    expect(bytes(on(big, 'GET'))).toBe(2 * bigBytes.byteLength);
    if (!local && target.scheme !== 'mem') expect(on(big, 'GET').length).toBeGreaterThanOrEqual(4);
    expect(on(small, 'GET').map((e) => e.bytes)).toEqual(expect.arrayContaining([100, 1000]));
    expect(on(small, 'STAT').length).toBeGreaterThanOrEqual(1);
    expect(entries.some((e) => e.op === 'LIST' && e.file.startsWith(fileOf(`${bucket}dir/`)))).toBe(true);
    expect(on(copied, 'COPY')).toHaveLength(1);
    expect(on(copied, 'DELETE')).toHaveLength(1);
    expect(on(missing, entries.find((e) => e.file === fileOf(missing))?.op ?? 'GET')).toEqual([
      expect.objectContaining({ error: 'ERR_NOT_FOUND', bytes: 0 }),
    ]);
    expect(entries.filter((e) => e.error !== '').map((e) => e.file)).toEqual([fileOf(missing)]);
    // first_byte: when a cloud GET's answer began, between its start and end; empty elsewhere.
    for (const entry of entries) {
      if (!local && target.scheme !== 'mem' && entry.op === 'GET' && entry.error === '') {
        expect(entry.firstByte).toBeDefined();
        expect(nanosBetween(entry.start, entry.firstByte as WallTime)).toBeGreaterThanOrEqual(0);
        expect(nanosBetween(entry.firstByte as WallTime, entry.end)).toBeGreaterThanOrEqual(0);
      } else if (entry.op !== 'GET' || local || target.scheme === 'mem') {
        expect(entry.firstByte).toBeUndefined();
      }
    }
  });

  test('a log written to a store URI does not log its own writes, and reads back', async () => {
    const logStore = target.store();
    if (target.scheme === 'mem') await logStore.createBucket(bucket); // a mem:// store of its own
    const logUri = `${bucket}oplog/run.tsv.zst`;
    await startOpLog(logUri, { store: logStore });
    await store.put(`${bucket}data/a`, 'aaa');
    await store.get(`${bucket}data/a`);
    await stopOpLog();
    const entries = await entriesOf(logUri, logStore);
    expect(entries.map((e) => [e.op, e.file, e.bytes])).toEqual([
      ['PUT', fileOf(`${bucket}data/a`), 3],
      ['GET', fileOf(`${bucket}data/a`), 3],
    ]);
  });
});

describe('starting and stopping', () => {
  test('one log at a time; stop without a log is undefined; bad options are precise', async () => {
    const file = path.join(tmp.path, 'once.tsv');
    await startOpLog(file);
    expect(await rejectionOf(startOpLog(path.join(tmp.path, 'twice.tsv')))).toMatchObject({
      code: 'ERR_ALREADY_EXISTS',
      message: expect.stringContaining('already running'),
    });
    expect(await stopOpLog()).toEqual({ lines: 0, dropped: 0 });
    expect(await stopOpLog()).toBeUndefined();
    expect(readFileSync(file, 'utf8')).toBe(`${OPLOG_HEADER}\n`);
    for (const [options, code] of [
      [{ lossy: 'yes' }, 'ERR_INVALID_ARG_TYPE'],
      [{ clientId: 'a\tb' }, 'ERR_OUT_OF_RANGE'],
      [{ clockOffsetNs: 1.5 }, 'ERR_OUT_OF_RANGE'],
      [{ queueLines: 0 }, 'ERR_OUT_OF_RANGE'],
      [{ lossyy: true }, 'ERR_INVALID_ARG_VALUE'],
    ] as const) {
      expect(await rejectionOf(startOpLog(file, options as never))).toMatchObject({ code });
    }
    // Its directories are made, as a put makes them; a directory is not a log.
    await startOpLog(path.join(tmp.path, 'new-dir', 'deeper', 'x.tsv'));
    await stopOpLog();
    expect(readFileSync(path.join(tmp.path, 'new-dir', 'deeper', 'x.tsv'), 'utf8')).toBe(`${OPLOG_HEADER}\n`);
    expect(await rejectionOf(startOpLog(tmp.path))).toMatchObject({ code: 'ERR_IS_DIRECTORY' });
    expect(await stopOpLog()).toBeUndefined();
  });

  test('clockOffsetNs moves every timestamp', async () => {
    const file = path.join(tmp.path, 'offset.tsv');
    const day = 86_400_000_000_000;
    const before = Date.now();
    await startOpLog(file, { clockOffsetNs: day });
    await rejectionOf(readFileSafely());
    await stopOpLog();
    const [entry] = await entriesOf(file);
    const startMs = entry.start.seconds * 1000 + entry.start.nanos / 1e6;
    expect(startMs - before).toBeGreaterThan(day / 1e6 - 1000);
    expect(startMs - before).toBeLessThan(day / 1e6 + 60_000);
  });
});

/** One failing operation to log. */
function readFileSafely(): Promise<unknown> {
  return import('../../lib').then((lib) => lib.get(`file://${tmp.path}/absent`));
}
