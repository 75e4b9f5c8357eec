/** What `s3dlio oplog stats` reports of a log: rates, bytes, latency percentiles per op, errors by code. */
import { type WallTime, nanosBetween } from './format';
import type { OpLogEntry } from './reader';

/** Latency of one kind of operation, in milliseconds (exact percentiles, nearest rank). */
export interface OpLatency {
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

/** The totals of one op (GET, PUT, …). */
export interface OpSummary {
  count: number;
  errors: number;
  bytes: number;
  /** count / the log's duration. */
  opsPerSecond: number;
  /** bytes / the log's duration. */
  bytesPerSecond: number;
  latencyMs: OpLatency;
}

/** The summary of a whole log. */
export interface OpLogStats {
  operations: number;
  errors: number;
  bytes: number;
  /** From the first operation's start to the last one's end, in seconds. */
  durationSeconds: number;
  opsPerSecond: number;
  bytesPerSecond: number;
  /** By op, in the order ops first appear. */
  byOp: Record<string, OpSummary>;
  /** Failed operations by error code. */
  errorsByCode: Record<string, number>;
}

/** A growable list of durations. */
class Durations {
  private values = new Float64Array(1024);
  length = 0;
  push(value: number): void {
    if (this.length === this.values.length) {
      const grown = new Float64Array(this.values.length * 2);
      grown.set(this.values);
      this.values = grown;
    }
    this.values[this.length++] = value;
  }
  sorted(): Float64Array {
    return this.values.subarray(0, this.length).sort();
  }
}

function latencyOf(durations: Durations): OpLatency {
  const sorted = durations.sorted();
  const at = (q: number): number =>
    sorted.length === 0 ? Number.NaN : sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)];
  return { p50: at(0.5), p90: at(0.9), p99: at(0.99), max: at(1) };
}

/** Reads every entry and sums them up. */
export async function summarizeOpLog(entries: AsyncIterable<OpLogEntry>): Promise<OpLogStats> {
  const ops = new Map<string, { count: number; errors: number; bytes: number; durations: Durations }>();
  const errorsByCode: Record<string, number> = {};
  let first: WallTime | undefined;
  let last: WallTime | undefined;
  let operations = 0;
  let errors = 0;
  let bytes = 0;
  for await (const entry of entries) {
    let op = ops.get(entry.op);
    if (!op) {
      op = { count: 0, errors: 0, bytes: 0, durations: new Durations() };
      ops.set(entry.op, op);
    }
    op.count++;
    op.bytes += entry.bytes;
    op.durations.push(entry.durationNs / 1e6);
    operations++;
    bytes += entry.bytes;
    if (entry.error !== '') {
      op.errors++;
      errors++;
      errorsByCode[entry.error] = (errorsByCode[entry.error] ?? 0) + 1;
    }
    if (first === undefined || nanosBetween(entry.start, first) > 0) first = entry.start;
    if (last === undefined || nanosBetween(last, entry.end) > 0) last = entry.end;
  }
  const durationSeconds = first && last ? Math.max(0, nanosBetween(first, last) / 1e9) : 0;
  const rate = (value: number): number => (durationSeconds > 0 ? value / durationSeconds : Number.NaN);
  const byOp: Record<string, OpSummary> = {};
  for (const [name, op] of ops) {
    byOp[name] = {
      count: op.count,
      errors: op.errors,
      bytes: op.bytes,
      opsPerSecond: rate(op.count),
      bytesPerSecond: rate(op.bytes),
      latencyMs: latencyOf(op.durations),
    };
  }
  return {
    operations,
    errors,
    bytes,
    durationSeconds,
    opsPerSecond: rate(operations),
    bytesPerSecond: rate(bytes),
    byOp,
    errorsByCode,
  };
}
