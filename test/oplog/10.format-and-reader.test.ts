/**
 * The op-log's format and reader: timestamps, quoting as Go's encoding/csv, the header, warp's and
 * s3dlio's logs read by column name (plain and zstd), bad logs named by line, a cut log recovered.
 */
import { execFileSync } from 'child_process';

import { readOpLogEntries } from '../../lib/oplog/reader';
import { ColumnsBuilder } from '../../lib/oplog/batch';
import { LineEncoder } from '../../lib/oplog/line-encoder';
import {
  OPLOG_HEADER,
  addNanos,
  formatRecord,
  formatWallTime,
  parseWallTime,
  quoteField,
  splitFields,
} from '../../lib/oplog/format';
import { compressFrame } from '../../lib/engine/zstd';
import { rejectionOf } from '../helpers/local';
import { hasTool } from '../helpers/tools';

async function* chunksOf(bytes: Uint8Array, size = 7): AsyncGenerator<Uint8Array> {
  for (let at = 0; at < bytes.byteLength; at += size) yield bytes.subarray(at, at + size);
}

const read = async (text: string | Uint8Array, options = {}, size = 7) => {
  const entries = [];
  const bytes = typeof text === 'string' ? Buffer.from(text) : text;
  for await (const entry of readOpLogEntries(chunksOf(bytes, size), 'test.log', options)) entries.push(entry);
  return entries;
};

// Written by hand in warp's format (warp 1.x: last_byte and cat columns after first_byte and duration).
const WARP_LOG = [
  'idx\tthread\top\tclient_id\tn_objects\tbytes\tendpoint\tfile\terror\tstart\tfirst_byte\tlast_byte\tend\tduration_ns\tcat',
  '0\t3\tPUT\tabcd\t1\t4096\thttp://10.0.0.1:9000\twarp-bench/obj/1.rnd\t\t2026-11-01T10:00:00.5Z\t\t\t2026-11-01T10:00:00.502Z\t2000000\t0',
  '1\t4\tGET\tabcd\t1\t4096\thttp://10.0.0.1:9000\twarp-bench/obj/1.rnd\t\t2026-11-01T10:00:00.6Z\t2026-11-01T10:00:00.6005Z\t2026-11-01T10:00:00.601Z\t2026-11-01T10:00:00.601Z\t1000000\t0',
  '2\t4\tSTAT\tabcd\t1\t0\thttp://10.0.0.1:9000\twarp-bench/obj/1.rnd\t"server said ""no"""\t2026-11-01T10:00:01+01:00\t\t\t2026-11-01T09:00:01.000000001Z\t1\t0',
  '# Warp comment',
  '',
].join('\n');

// As s3dlio writes it: 13 columns, HEAD for stat and GET_RANGE for ranged reads.
const S3DLIO_LOG = [
  OPLOG_HEADER,
  '0\t0\tHEAD\t\t1\t0\ts3://\tbucket/a\t\t2026-11-01T10:00:00.000000000Z\t\t2026-11-01T10:00:00.001000000Z\t1000000',
  '1\t1\tGET_RANGE\t\t1\t100\ts3://\tbucket/a\t\t2026-11-01T10:00:00.002000000Z\t2026-11-01T10:00:00.002500000Z\t2026-11-01T10:00:00.003000000Z\t1000000',
  '',
].join('\n');

describe('format', () => {
  test('the header is the 13 columns, tab-separated, exactly', () => {
    expect(OPLOG_HEADER).toBe(
      'idx\tthread\top\tclient_id\tn_objects\tbytes\tendpoint\tfile\terror\tstart\tfirst_byte\tend\tduration_ns',
    );
  });

  test('times are RFC 3339 UTC with 9 digits of nanoseconds, and read back exactly from any offset', () => {
    const t = { seconds: 1_796_093_011, nanos: 7 };
    expect(formatWallTime(t)).toBe('2026-12-01T02:43:31.000000007Z');
    expect(formatWallTime({ seconds: 0, nanos: 999_999_999 })).toBe('1970-01-01T00:00:00.999999999Z');
    expect(parseWallTime('2026-12-01T02:43:31.000000007Z')).toEqual(t);
    expect(parseWallTime('2026-12-01T03:43:31.000000007+01:00')).toEqual(t);
    expect(parseWallTime('2026-12-01T02:43:31.5Z')).toEqual({ seconds: 1_796_093_011, nanos: 500_000_000 });
    for (const bad of ['', '2026-12-01', '2026-13-01T00:00:00Z', '2026-12-01T02:43:31.0000000001Z', 'yesterday']) {
      expect(parseWallTime(bad)).toBeUndefined();
    }
  });

  test('fields with tabs, quotes or newlines are quoted as encoding/csv does, and split back', () => {
    for (const field of ['plain', 'a\tb', 'say "hi"', 'two\nlines', ' leading space', 'ünïcødé key', '']) {
      const line = ['x', quoteField(field), 'y'].join('\t');
      expect(splitFields(line)).toEqual(['x', field, 'y']);
    }
    expect(quoteField('plain')).toBe('plain');
    expect(quoteField('say "hi"')).toBe('"say ""hi"""');
    expect(splitFields('"open')).toBeUndefined();
  });

  test('a record formats to one line of 13 fields, duration from start to end', () => {
    const line = formatRecord(5, 'client', {
      thread: 2,
      op: 'GET',
      objects: 1,
      bytes: 4096,
      endpoint: 'http://127.0.0.1:9000',
      file: 'bucket/key with\ttab',
      error: '',
      start: { seconds: 100, nanos: 999_999_000 },
      firstByte: undefined,
      end: { seconds: 101, nanos: 1_000 },
    });
    expect(line.endsWith('\n')).toBe(true);
    const fields = splitFields(line.slice(0, -1)) as string[];
    expect(fields).toHaveLength(13);
    expect(fields).toEqual([
      '5',
      '2',
      'GET',
      'client',
      '1',
      '4096',
      'http://127.0.0.1:9000',
      'bucket/key with\ttab',
      '',
      '1970-01-01T00:01:40.999999000Z',
      '',
      '1970-01-01T00:01:41.000001000Z',
      '2000',
    ]);
  });
});

test('the formatter thread writes exactly the lines formatRecord writes', () => {
  const origin = { seconds: 1_796_093_011, nanos: 999_000_000 };
  const builder = new ColumnsBuilder(8);
  const rows = [
    ['GET', 0, 1, 4096, 'http://127.0.0.1:9000', 'bucket/a b ü.bin', '', 0.5, 1.25, 0.75],
    ['PUT', 17, 0, 5 * 2 ** 30, 'file://', 'tab\there "quoted"', '', 1000.000001, 1999.9999999, Number.NaN],
    [
      'STAT',
      3,
      1,
      0,
      'https://s3.us-east-1.amazonaws.com',
      'x'.repeat(3000),
      'ERR_NOT_FOUND',
      86_400_000,
      86_400_001,
      Number.NaN,
    ],
    ['DELETE', 123456, 1, 0, 'mem://', 'two\nlines', 'ERR_ACCESS_DENIED', 5, 5, Number.NaN],
  ] as const;
  for (const row of rows) builder.add(...(row as unknown as Parameters<ColumnsBuilder['add']>));
  const encoded = Buffer.from(new LineEncoder('host "a"', origin).encode(builder.take(), 40)).toString();
  const expected = rows
    .map(([op, thread, objects, bytes, endpoint, file, error, start, end, firstByte], i) =>
      formatRecord(40 + i, 'host "a"', {
        op,
        thread,
        objects,
        bytes,
        endpoint,
        file,
        error,
        start: addNanos(origin, start * 1e6),
        firstByte: Number.isNaN(firstByte) ? undefined : addNanos(origin, firstByte * 1e6),
        end: addNanos(origin, end * 1e6),
      }),
    )
    .join('');
  expect(encoded).toBe(expected);
});

describe('reader', () => {
  test("warp's log: columns by name (last_byte, cat ignored), quoted errors, offsets, comments", async () => {
    const entries = await read(WARP_LOG);
    expect(entries.map((e) => [e.op, e.thread, e.bytes, e.file, e.error, e.durationNs])).toEqual([
      ['PUT', 3, 4096, 'warp-bench/obj/1.rnd', '', 2_000_000],
      ['GET', 4, 4096, 'warp-bench/obj/1.rnd', '', 1_000_000],
      ['STAT', 4, 0, 'warp-bench/obj/1.rnd', 'server said "no"', 1],
    ]);
    expect(entries[0]).toMatchObject({
      line: 2,
      endpoint: 'http://10.0.0.1:9000',
      clientId: 'abcd',
      firstByte: undefined,
    });
    expect(entries[1].firstByte).toEqual(parseWallTime('2026-11-01T10:00:00.6005Z'));
    // +01:00 read as UTC
    expect(entries[2].start).toEqual(parseWallTime('2026-11-01T09:00:01Z'));
  });

  test("s3dlio's log: HEAD is STAT, GET_RANGE is GET", async () => {
    const entries = await read(S3DLIO_LOG);
    expect(entries.map((e) => [e.op, e.bytes])).toEqual([
      ['STAT', 0],
      ['GET', 100],
    ]);
  });

  test('zstd logs: one or many frames, any chunking, frames without a declared size too', async () => {
    const text = Buffer.from(WARP_LOG);
    const half = WARP_LOG.indexOf('\n1\t');
    const framed = Buffer.concat([
      await compressFrame(text.subarray(0, half), 3),
      await compressFrame(text.subarray(half), 3),
    ]);
    for (const size of [1, 5, 64, 1 << 20]) expect(await read(framed, {}, size)).toHaveLength(3);
    if (hasTool('zstd')) {
      const piped = execFileSync('zstd', ['-c', '-q'], { input: text });
      expect(await read(piped)).toHaveLength(3);
    }
  });

  test.each([
    ['a wrong header', 'id\top\tsize\nx\n', /line 1: the header has no bytes, file, start, end column/],
    [
      'a bad start time',
      `${OPLOG_HEADER}\n0\t0\tGET\t\t1\t5\te\tf\t\tnot-a-time\t\t2026-11-01T10:00:00Z\t1\n`,
      /line 2: start is "not-a-time"/,
    ],
    [
      'a bad byte count',
      `${OPLOG_HEADER}\n0\t0\tGET\t\t1\tfive\te\tf\t\t2026-11-01T10:00:00Z\t\t2026-11-01T10:00:00Z\t1\n`,
      /line 2: bytes is "five"/,
    ],
    [
      'a negative byte count',
      `${OPLOG_HEADER}\n0\t0\tGET\t\t1\t-5\te\tf\t\t2026-11-01T10:00:00Z\t\t2026-11-01T10:00:00Z\t1\n`,
      /line 2: bytes is negative/,
    ],
    ['an empty log', '', /empty/],
    ['binary garbage', '\x00\x01\x02\x03\x04', /header/],
  ])('%s is ERR_BAD_FORMAT with its line', async (_what, text, message) => {
    const error = await rejectionOf(read(text));
    expect(error).toMatchObject({ code: 'ERR_BAD_FORMAT', uri: 'test.log', message: expect.stringMatching(message) });
  });

  test('a zstd log cut inside a frame: every whole frame is read, with a warning; or refused', async () => {
    const lines = S3DLIO_LOG.split('\n');
    const first = await compressFrame(Buffer.from(`${lines.slice(0, 2).join('\n')}\n`), 3);
    const second = await compressFrame(Buffer.from(`${lines.slice(2).join('\n')}`), 3);
    const cut = Buffer.concat([first, second.subarray(0, second.byteLength - 3)]);
    const emitWarning = jest.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    try {
      const entries = await read(cut);
      expect(entries.map((e) => e.op)).toEqual(['STAT']);
      expect(emitWarning).toHaveBeenCalledTimes(1);
      expect(emitWarning.mock.calls[0][0]).toMatch(
        /test.log: it ends inside a zstd frame .*: the 1 operations before it were read/,
      );
      expect(emitWarning.mock.calls[0][1]).toMatchObject({ code: 'S3DLIO_OPLOG_TRUNCATED' });
    } finally {
      emitWarning.mockRestore();
    }
    expect(await rejectionOf(read(cut, { truncated: 'error' }))).toMatchObject({
      code: 'ERR_BAD_FORMAT',
      message: expect.stringContaining('ends inside a zstd frame'),
    });
    // A plain log cut inside a line: the whole lines are read.
    const plainCut = S3DLIO_LOG.slice(0, S3DLIO_LOG.lastIndexOf('\n', S3DLIO_LOG.length - 2) + 20);
    expect(await rejectionOf(read(plainCut, { truncated: 'error' }))).toMatchObject({
      code: 'ERR_BAD_FORMAT',
      message: expect.stringContaining('ends without a newline'),
    });
  });
});
