/**
 * The op-log's lines: MinIO warp's TSV (13 columns, found by name when read, so warp's newer
 * `last_byte` and `cat` columns are read too), timestamps RFC 3339 with nanoseconds in UTC, and
 * fields quoted as Go's encoding/csv quotes them (warp reads the log with it).
 */

/** The columns an op-log is written with, in order. */
export const OPLOG_COLUMNS = [
  'idx',
  'thread',
  'op',
  'client_id',
  'n_objects',
  'bytes',
  'endpoint',
  'file',
  'error',
  'start',
  'first_byte',
  'end',
  'duration_ns',
] as const;

/** The header line, without its newline. */
export const OPLOG_HEADER = OPLOG_COLUMNS.join('\t');

/** Operations, in warp's names (MOVE: a local rename(2), which warp does not have). */
export type OpLogOp = 'GET' | 'PUT' | 'DELETE' | 'LIST' | 'STAT' | 'COPY' | 'MOVE';

/**
 * A time as the log keeps it: whole seconds since the epoch and nanoseconds within the second
 * (both exact; a double of nanoseconds since the epoch is not).
 */
export interface WallTime {
  seconds: number;
  nanos: number;
}

/** Nanoseconds from `a` to `b` (exact while below 2^53, about 104 days). */
export function nanosBetween(a: WallTime, b: WallTime): number {
  return (b.seconds - a.seconds) * 1e9 + (b.nanos - a.nanos);
}

/** `t` moved by `ns` nanoseconds (any sign). */
export function addNanos(t: WallTime, ns: number): WallTime {
  const total = t.nanos + ns;
  const carry = Math.floor(total / 1e9);
  return { seconds: t.seconds + carry, nanos: total - carry * 1e9 };
}

let cachedSecond = Number.NaN;
let cachedPrefix = '';

/** `2026-12-01T02:45:07.123456789Z`. */
export function formatWallTime(t: WallTime): string {
  // The date and time to the second are formatted once a second.
  if (t.seconds !== cachedSecond) {
    cachedSecond = t.seconds;
    cachedPrefix = new Date(t.seconds * 1000).toISOString().slice(0, 20); // YYYY-MM-DDTHH:MM:SS.
  }
  // 1e9 + nanos has 10 digits: dropping the first pads to 9 without padStart.
  return `${cachedPrefix}${String(1e9 + Math.min(999_999_999, Math.round(t.nanos))).slice(1)}Z`;
}

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|z|[+-]\d{2}:\d{2})$/;

/** An RFC 3339 time (any fraction up to nanoseconds, any offset), or undefined when it is not one. */
export function parseWallTime(text: string): WallTime | undefined {
  const match = RFC3339.exec(text);
  if (!match) return undefined;
  const [, year, month, day, hour, minute, second, fraction = '', zone] = match;
  let ms = Date.UTC(+year, +month - 1, +day, +hour, +minute, +second);
  if (Number.isNaN(ms) || +month > 12 || +day > 31 || +hour > 23 || +minute > 59 || +second > 60) return undefined;
  if (zone !== 'Z' && zone !== 'z') {
    const sign = zone.startsWith('-') ? -1 : 1;
    ms -= sign * (+zone.slice(1, 3) * 60 + +zone.slice(4, 6)) * 60_000;
  }
  return { seconds: ms / 1000, nanos: fraction === '' ? 0 : +fraction.padEnd(9, '0') };
}

/** Go's `fieldNeedsQuotes` for a tab-separated record. */
function needsQuotes(field: string): boolean {
  if (field === '') return false;
  if (field === '\\.') return true;
  return /[\t"\r\n]/.test(field) || field.charCodeAt(0) === 0x20;
}

/** A field as encoding/csv writes it: quoted, with `"` doubled, when it must be. */
export function quoteField(field: string): string {
  return needsQuotes(field) ? `"${field.replaceAll('"', '""')}"` : field;
}

/** One operation as a recorder hands it to the log. */
export interface OpLogRecord {
  thread: number;
  op: OpLogOp;
  objects: number;
  bytes: number;
  endpoint: string;
  file: string;
  /** The error's code, or '' on success. */
  error: string;
  start: WallTime;
  firstByte: WallTime | undefined;
  end: WallTime;
}

/** The line of record number `idx` (with its newline). */
export function formatRecord(idx: number, clientId: string, r: OpLogRecord): string {
  const firstByte = r.firstByte === undefined ? '' : formatWallTime(r.firstByte);
  const durationNs = Math.max(0, Math.round(nanosBetween(r.start, r.end)));
  return (
    `${idx}\t${r.thread}\t${r.op}\t${quoteField(clientId)}\t${r.objects}\t${r.bytes}\t${quoteField(r.endpoint)}\t` +
    `${quoteField(r.file)}\t${quoteField(r.error)}\t${formatWallTime(r.start)}\t${firstByte}\t` +
    `${formatWallTime(r.end)}\t${durationNs}\n`
  );
}

/**
 * Splits one line into its fields, undoing encoding/csv quoting; undefined when a quoted field is
 * not closed on this line (a field holding a newline: the caller joins the next line and retries).
 */
export function splitFields(line: string): string[] | undefined {
  if (!line.includes('"')) return line.split('\t');
  const fields: string[] = [];
  let at = 0;
  for (;;) {
    if (line[at] === '"') {
      let value = '';
      let from = at + 1;
      for (;;) {
        const quote = line.indexOf('"', from);
        if (quote < 0) return undefined;
        value += line.slice(from, quote);
        if (line[quote + 1] === '"') {
          value += '"';
          from = quote + 2;
          continue;
        }
        at = quote + 1;
        break;
      }
      fields.push(value);
    } else {
      const tab = line.indexOf('\t', at);
      fields.push(line.slice(at, tab < 0 ? line.length : tab));
      at = tab < 0 ? line.length : tab;
    }
    if (at >= line.length) return fields;
    if (line[at] !== '\t') {
      // A quote closed and something other than a tab after it: keep it, as Go's LazyQuotes would.
      const tab = line.indexOf('\t', at);
      fields[fields.length - 1] += line.slice(at, tab < 0 ? line.length : tab);
      at = tab < 0 ? line.length : tab;
      if (at >= line.length) return fields;
    }
    at++; // past the tab
    if (at === line.length) {
      fields.push('');
      return fields;
    }
  }
}
