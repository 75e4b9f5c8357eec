/**
 * The recorder's queue under a slow disk (lossless waits, lossy drops and counts), a failing sink
 * (said at once, thrown at stop), and a process SIGKILLed mid-log (its whole frames read back).
 */
import { existsSync, statSync, writeFileSync } from 'fs';
import * as path from 'path';

import { readOpLog } from '../../lib';
import type { OpLogEntry } from '../../lib/oplog/reader';
import { type OpLogSink, OpLogRecorder, type RecorderSettings } from '../../lib/oplog/recorder';
import { runNodeScript } from '../helpers/child';
import { rejectionOf } from '../helpers/local';
import { useTempDir } from '../helpers/temp';

const tmp = useTempDir('s3dlio-oplog-queue-');

/** A sink that holds every write until `open()`; what was written is in `text`. */
function gatedSink(): OpLogSink & { open(): void; text(): string; writes: number } {
  let release: () => void = () => undefined;
  let gate = new Promise<void>((resolve) => (release = resolve));
  const parts: Buffer[] = [];
  const sink = {
    writes: 0,
    async write(bytes: Uint8Array) {
      sink.writes++;
      await gate;
      parts.push(Buffer.from(bytes));
    },
    close: async () => undefined,
    abort: async () => undefined,
    open() {
      release();
      gate = Promise.resolve();
    },
    text: () => Buffer.concat(parts).toString(),
  };
  return sink;
}

const settings = (overrides: Partial<RecorderSettings>): RecorderSettings => ({
  clientId: 'q',
  clockOffsetNs: 0,
  lossy: false,
  queueLines: 10,
  compress: false,
  frameLines: 1, // a frame per line: the queue fills as fast as possible
  flushIntervalMs: 1000,
  name: 'test.log',
  ...overrides,
});

const place = () => ({ endpoint: 'file://', file: '/x' });
const quick = async () => new Uint8Array(3);

test('lossless: with the disk stalled, operations wait for room; none is lost', async () => {
  const sink = gatedSink();
  const recorder = new OpLogRecorder(sink, settings({}));
  let done = 0;
  const ops = Array.from({ length: 50 }, () => recorder.track('GET', place, quick, 1, 0).then(() => done++));
  await new Promise((resolve) => setTimeout(resolve, 50));
  expect(done).toBeLessThanOrEqual(10); // the queue holds 10 lines; the rest wait
  sink.open();
  await Promise.all(ops);
  expect(done).toBe(50);
  expect(await recorder.stop()).toEqual({ lines: 50, dropped: 0 });
  const lines = sink.text().trimEnd().split('\n');
  expect(lines).toHaveLength(51);
  expect(lines.slice(1).map((line) => Number(line.split('\t')[0]))).toEqual(Array.from({ length: 50 }, (_, i) => i));
});

test('lossy: with the disk stalled, operations go on; dropped lines are counted and said', async () => {
  const sink = gatedSink();
  const recorder = new OpLogRecorder(sink, settings({ lossy: true }));
  await Promise.all(Array.from({ length: 50 }, () => recorder.track('PUT', place, quick, 1, 3)));
  sink.open();
  const summary = await recorder.stop();
  expect(summary.dropped).toBeGreaterThan(0);
  expect(summary.lines + summary.dropped).toBe(50);
  const lines = sink.text().trimEnd().split('\n');
  expect(lines).toHaveLength(summary.lines + 2); // the header and the comment
  expect(lines[lines.length - 1]).toBe(`# ${summary.dropped} operations not logged: the queue was full (lossy)`);
});

test('a sink that fails: a warning at once, the error at stop, operations unharmed', async () => {
  const emitWarning = jest.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
  try {
    const aborted = jest.fn(async () => undefined);
    const recorder = new OpLogRecorder(
      {
        write: async () => {
          throw Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' });
        },
        close: async () => undefined,
        abort: aborted,
      },
      settings({}),
    );
    for (let i = 0; i < 20; i++) expect((await recorder.track('GET', place, quick, 1, 0)).byteLength).toBe(3);
    expect(emitWarning).toHaveBeenCalledTimes(1);
    expect(emitWarning.mock.calls[0][1]).toMatchObject({ code: 'S3DLIO_OPLOG_FAILED' });
    expect(await rejectionOf(recorder.stop())).toMatchObject({ code: 'ERR_NO_SPACE', operation: 'opLog' });
    expect(aborted).toHaveBeenCalledTimes(1);
  } finally {
    emitWarning.mockRestore();
  }
});

test('a process SIGKILLed while logging leaves a log whose whole frames read back', async () => {
  const log = path.join(tmp.path, 'killed.tsv.zst');
  const data = path.join(tmp.path, 'data.bin');
  writeFileSync(data, 'x'.repeat(4096));
  const child = await runNodeScript(
    `
    const lib = require(LIB);
    (async () => {
      await lib.startOpLog(ARGS.log);
      const until = Date.now() + 2500; // frames are cut every second
      while (Date.now() < until) await lib.getMany(Array(16).fill('file://' + ARGS.data));
      process.kill(process.pid, 'SIGKILL');
    })();
    `,
    { log, data },
    [],
    { killAfterMs: 30_000 },
  );
  expect(child.signal).toBe('SIGKILL');
  expect(existsSync(log) && statSync(log).size).toBeGreaterThan(0);
  const entries: OpLogEntry[] = [];
  const emitWarning = jest.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
  try {
    for await (const entry of readOpLog(log)) entries.push(entry);
  } finally {
    emitWarning.mockRestore();
  }
  expect(entries.length).toBeGreaterThan(16);
  expect(entries.map((e) => e.idx)).toEqual(entries.map((_, i) => i));
  for (const entry of entries) expect(entry).toMatchObject({ op: 'GET', bytes: 4096, file: data, error: '' });
});

test('a process that ends without stopOpLog writes its log out when its work is done', async () => {
  const log = path.join(tmp.path, 'unstopped.tsv');
  const data = path.join(tmp.path, 'unstopped.bin');
  const child = await runNodeScript(
    `
    const lib = require(LIB);
    (async () => {
      await lib.startOpLog(ARGS.log);
      await lib.put('file://' + ARGS.data, 'abc');
      await lib.get('file://' + ARGS.data);
    })();
    `,
    { log, data },
  );
  expect(child.code).toBe(0);
  const entries: OpLogEntry[] = [];
  for await (const entry of readOpLog(log, { truncated: 'error' })) entries.push(entry);
  expect(entries.map((e) => [e.op, e.bytes])).toEqual([
    ['PUT', 3],
    ['GET', 3],
  ]);
});
