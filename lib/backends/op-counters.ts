/**
 * The per-operation half of `stats()`: each request a store makes through its seam (`io`),
 * counted once whatever its retries, by op (GET, PUT, …) with its bytes and a latency histogram,
 * and failures by error code. Cheap enough to be always on (bench:oplog measures it).
 */
import type { ErrorCode } from '../errors';
import type { OpStats } from '../stats';
import { errorCodeOf } from '../oplog/recorder';
import { LatencyHistogram } from './request-counters';

/** The counters of one op. */
class OpTally {
  requests = 0;
  errors = 0;
  bytes = 0;
  readonly latency = new LatencyHistogram();
}

/** The per-op counters of one store. */
export class OpCounters {
  private readonly ops = new Map<string, OpTally>();
  private readonly codes = new Map<ErrorCode, number>();

  private tally(op: string): OpTally {
    let tally = this.ops.get(op);
    if (!tally) {
      tally = new OpTally();
      this.ops.set(op, tally);
    }
    return tally;
  }

  /** Runs one request of `op`; a result that is bytes counts them, else `bytesOut` does. */
  track<T>(op: string, request: () => Promise<T>, bytesOut: number): Promise<T> {
    const tally = this.tally(op);
    tally.requests++;
    const start = performance.now();
    return request().then(
      (result) => {
        tally.bytes += result instanceof Uint8Array ? result.byteLength : bytesOut;
        tally.latency.record(performance.now() - start);
        return result;
      },
      (error: unknown) => {
        tally.errors++;
        tally.latency.record(performance.now() - start);
        const code = errorCodeOf(error);
        this.codes.set(code, (this.codes.get(code) ?? 0) + 1);
        throw error;
      },
    );
  }

  /** By op, what `stats().ops` reports. */
  snapshot(): { ops: Record<string, OpStats>; errorsByCode: Partial<Record<ErrorCode, number>> } {
    const ops: Record<string, OpStats> = {};
    for (const [op, tally] of this.ops) {
      ops[op] = {
        requests: tally.requests,
        errors: tally.errors,
        bytes: tally.bytes,
        latencyMs: tally.latency.snapshot(),
      };
    }
    return { ops, errorsByCode: Object.fromEntries(this.codes) };
  }

  /** The sum of several stores' counters (the module-level `stats()`), latency of all ops merged. */
  static total(all: readonly OpCounters[]): {
    ops: Record<string, OpStats>;
    errorsByCode: Partial<Record<ErrorCode, number>>;
    latency: LatencyHistogram;
  } {
    const sum = new OpCounters();
    const latency = new LatencyHistogram();
    for (const counters of all) {
      for (const [op, tally] of counters.ops) {
        const into = sum.tally(op);
        into.requests += tally.requests;
        into.errors += tally.errors;
        into.bytes += tally.bytes;
        into.latency.merge(tally.latency);
        latency.merge(tally.latency);
      }
      for (const [code, count] of counters.codes) sum.codes.set(code, (sum.codes.get(code) ?? 0) + count);
    }
    return { ...sum.snapshot(), latency };
  }
}
