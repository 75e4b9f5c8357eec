/**
 * Reading op-logs: ours, s3dlio's and warp's, plain or zstd (found by the first bytes, not the
 * name), streamed frame by frame and line by line. Columns are found by their header name, so
 * extra columns (warp's `last_byte`, `cat`) are ignored; `HEAD` is read as `STAT` and s3dlio's
 * `GET_RANGE` as `GET`. A log cut short (a process killed while writing it) gives every whole
 * frame and line before the cut, and says so.
 */
import { S3dlioError } from '../errors';
import { type FrameSpan, decompressFrame, frameAt } from '../engine/zstd';
import { type OpLogRecord, type WallTime, nanosBetween, parseWallTime, splitFields } from './format';

/** One operation read from a log: a record's fields, with its `op` as the log names it. */
export interface OpLogEntry extends Omit<OpLogRecord, 'op'> {
  /** The line it was read from (1 is the header). */
  line: number;
  idx: number;
  /** GET, PUT, DELETE, LIST, STAT, COPY, MOVE (or another op a log names, as written). */
  op: string;
  clientId: string;
  /** `duration_ns`, or end − start when the log has no such column. */
  durationNs: number;
}

/** Options of `readOpLog` (and of the readers behind it). */
export interface ReadOpLogOptions {
  /**
   * A log that ends inside a zstd frame or a line (its writer was killed): `'warn'` (default)
   * reads everything before the cut and emits one warning; `'error'` throws ERR_BAD_FORMAT.
   */
  truncated?: 'warn' | 'error';
}

/** Columns a log must have. */
const REQUIRED = ['op', 'bytes', 'file', 'start', 'end'] as const;
const OP_ALIASES: Readonly<Record<string, string>> = { HEAD: 'STAT', GET_RANGE: 'GET' };
const ZSTD_MAGIC = [0x28, 0xb5, 0x2f, 0xfd];

/** The text of a log's bytes, whatever the compression, in pieces as they are read or decompressed. */
async function* textOf(
  chunks: AsyncIterable<Uint8Array>,
  bad: (problem: string, cause?: unknown) => S3dlioError,
  cut: (problem: string) => void,
): AsyncGenerator<string> {
  const decoder = new TextDecoder('utf-8', { fatal: false });
  let pending: Uint8Array = new Uint8Array(0);
  let zstd: boolean | undefined;
  let offset = 0; // of `pending` in the file
  for await (const chunk of chunks) {
    pending = pending.byteLength === 0 ? chunk : Buffer.concat([pending, chunk]);
    if (zstd === undefined) {
      if (pending.byteLength < 4) continue;
      zstd = ZSTD_MAGIC.every((byte, index) => pending[index] === byte);
    }
    if (!zstd) {
      yield decoder.decode(pending, { stream: true });
      pending = new Uint8Array(0);
      continue;
    }
    let at = 0;
    for (;;) {
      // Offsets in errors are of the file, not of what is pending.
      const frame: FrameSpan | undefined = frameAt(pending, at, (problem) =>
        bad(problem.replace(/byte (\d+)/, (_, n: string) => `byte ${offset + Number(n)}`)),
      );
      if (frame === undefined) break;
      if (!frame.skippable) yield decoder.decode(await decompressFrame(pending, frame, bad), { stream: true });
      at = frame.end;
    }
    offset += at;
    pending = pending.subarray(at);
  }
  if (zstd === undefined && pending.byteLength > 0) {
    yield decoder.decode(pending, { stream: true });
  } else if (zstd && pending.byteLength > 0) {
    cut(`it ends inside a zstd frame (byte ${offset + pending.byteLength}, the frame starting at byte ${offset})`);
  }
  const rest = decoder.decode();
  if (rest !== '') yield rest;
}

/**
 * The operations of a log given as chunks of its bytes. `name` (a path or URI) is in every error.
 * Bad lines (a wrong header, a field that is not a number or an RFC 3339 time) are
 * ERR_BAD_FORMAT with the line number.
 */
export async function* readOpLogEntries(
  chunks: AsyncIterable<Uint8Array>,
  name: string,
  options: ReadOpLogOptions = {},
): AsyncGenerator<OpLogEntry> {
  const bad = (problem: string, cause?: unknown): S3dlioError =>
    new S3dlioError('ERR_BAD_FORMAT', `op-log ${name}: ${problem}`, { uri: name, operation: 'readOpLog', cause });
  let lineNumber = 0;
  const cut = (problem: string): void => {
    const message = `${problem}: the ${Math.max(0, lineNumber - 1)} operations before it were read`;
    if (options.truncated === 'error') throw bad(message);
    process.emitWarning(`op-log ${name}: ${message}`, { code: 'S3DLIO_OPLOG_TRUNCATED' });
  };
  let columns: Map<string, number> | undefined;
  let carry = '';
  const parse = (text: string): OpLogEntry | undefined => {
    lineNumber++;
    if (text === '' || text.startsWith('#')) return undefined;
    const fields = splitFields(text.endsWith('\r') ? text.slice(0, -1) : text);
    if (fields === undefined) throw bad(`line ${lineNumber}: a quoted field is not closed`);
    if (columns === undefined) {
      columns = new Map(fields.map((field, index) => [field.trim(), index]));
      const missing = REQUIRED.filter((column) => !columns?.has(column));
      if (missing.length > 0) {
        throw bad(
          `line ${lineNumber}: the header has no ${missing.join(', ')} column (${JSON.stringify(text.slice(0, 200))})`,
        );
      }
      return undefined;
    }
    return entryOf(fields, columns, lineNumber, bad);
  };
  for await (const text of textOf(chunks, bad, cut)) {
    const lines = (carry + text).split('\n');
    carry = lines.pop() as string;
    for (let index = 0; index < lines.length; index++) {
      let line = lines[index];
      // A quoted field holding a newline continues on the next line.
      while (line.includes('"') && splitFields(line) === undefined && index + 1 < lines.length) {
        line += `\n${lines[++index]}`;
        lineNumber++;
      }
      const entry = parse(line);
      if (entry) yield entry;
    }
  }
  if (carry !== '') cut(`its last line ends without a newline (line ${lineNumber + 1}, ${carry.length} characters)`);
  if (columns === undefined) throw bad('it is empty: no header line');
}

function entryOf(
  fields: string[],
  columns: Map<string, number>,
  line: number,
  bad: (problem: string) => S3dlioError,
): OpLogEntry {
  const text = (column: string): string => {
    const index = columns.get(column);
    return index === undefined ? '' : (fields[index] ?? '');
  };
  const integer = (column: string, fallback?: number): number => {
    const value = text(column);
    if (value === '' && fallback !== undefined) return fallback;
    if (!/^-?\d+$/.test(value)) throw bad(`line ${line}: ${column} is ${JSON.stringify(value)}, not an integer`);
    return Number(value);
  };
  const time = (column: string): WallTime => {
    const value = text(column);
    const parsed = parseWallTime(value);
    if (parsed === undefined) throw bad(`line ${line}: ${column} is ${JSON.stringify(value)}, not an RFC 3339 time`);
    return parsed;
  };
  const op = text('op').toUpperCase();
  if (op === '') throw bad(`line ${line}: no op`);
  const start = time('start');
  const end = time('end');
  const bytes = integer('bytes');
  if (bytes < 0) throw bad(`line ${line}: bytes is negative (${bytes})`);
  return {
    line,
    idx: integer('idx', line - 2),
    thread: integer('thread', 0),
    op: OP_ALIASES[op] ?? op,
    clientId: text('client_id'),
    objects: integer('n_objects', 1),
    bytes,
    endpoint: text('endpoint'),
    file: text('file'),
    error: text('error'),
    start,
    firstByte: text('first_byte') === '' ? undefined : time('first_byte'),
    end,
    durationNs: integer('duration_ns', nanosBetween(start, end)),
  };
}
