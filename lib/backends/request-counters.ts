/**
 * The counters behind `store.stats()`: request counts, bytes, and a latency histogram of bounded
 * size (log-scale buckets, 8 per doubling: percentiles within ~9 %, whatever the number of requests).
 */
import type { LatencyStats, RequestStats } from '../stats';

const BUCKETS_PER_DOUBLING = 8;
/** 2^40 µs is about 12 days: longer requests land in the last bucket. */
const BUCKET_COUNT = 40 * BUCKETS_PER_DOUBLING + 1;

/** Latencies in a fixed number of log-scale buckets. */
export class LatencyHistogram {
  private readonly buckets = new Float64Array(BUCKET_COUNT);
  private count = 0;
  private maxMs = Number.NaN;

  record(ms: number): void {
    const us = Math.max(1, ms * 1000);
    const index = Math.min(BUCKET_COUNT - 1, Math.floor(Math.log2(us) * BUCKETS_PER_DOUBLING));
    this.buckets[index]++;
    this.count++;
    if (!(ms <= this.maxMs)) this.maxMs = ms;
  }

  /** The `q` quantile (0 < q ≤ 1) in ms: the middle of its bucket, never above the maximum. */
  quantile(q: number): number {
    if (this.count === 0) return Number.NaN;
    const rank = Math.ceil(q * this.count);
    let seen = 0;
    for (let index = 0; index < BUCKET_COUNT; index++) {
      seen += this.buckets[index];
      if (seen >= rank) {
        const low = 2 ** (index / BUCKETS_PER_DOUBLING);
        const high = 2 ** ((index + 1) / BUCKETS_PER_DOUBLING);
        return Math.min(this.maxMs, (low + high) / 2 / 1000);
      }
    }
    return this.maxMs;
  }

  snapshot(): LatencyStats {
    return { p50: this.quantile(0.5), p99: this.quantile(0.99), max: this.maxMs };
  }

  /** Adds `other`'s latencies to this one (totals of several endpoints). */
  merge(other: LatencyHistogram): void {
    for (let index = 0; index < BUCKET_COUNT; index++) this.buckets[index] += other.buckets[index];
    this.count += other.count;
    if (!(other.maxMs <= this.maxMs)) this.maxMs = other.maxMs;
  }
}

/** The request counters of one endpoint (or one local store). */
export class RequestCounters {
  requests = 0;
  retries = 0;
  errors = 0;
  bytesIn = 0;
  bytesOut = 0;
  inFlight = 0;
  readonly latency = new LatencyHistogram();

  /**
   * Runs one request and counts it: `retry` when it repeats a failed attempt, `bytesOut` the
   * body it sends; a result that is bytes counts as received.
   */
  async track<T>(request: () => Promise<T>, retry = false, bytesOut = 0): Promise<T> {
    this.requests++;
    if (retry) this.retries++;
    this.inFlight++;
    const start = performance.now();
    try {
      const result = await request();
      if (result instanceof Uint8Array) this.bytesIn += result.byteLength;
      this.bytesOut += bytesOut;
      return result;
    } catch (error) {
      this.errors++;
      throw error;
    } finally {
      this.inFlight--;
      this.latency.record(performance.now() - start);
    }
  }

  snapshot(): RequestStats {
    return {
      requests: this.requests,
      retries: this.retries,
      errors: this.errors,
      bytesIn: this.bytesIn,
      bytesOut: this.bytesOut,
      inFlight: this.inFlight,
      latencyMs: this.latency.snapshot(),
    };
  }

  /** The sum of several counters. */
  static total(all: readonly RequestCounters[]): RequestStats {
    const sum = new RequestCounters();
    for (const counters of all) {
      sum.requests += counters.requests;
      sum.retries += counters.retries;
      sum.errors += counters.errors;
      sum.bytesIn += counters.bytesIn;
      sum.bytesOut += counters.bytesOut;
      sum.inFlight += counters.inFlight;
      sum.latency.merge(counters.latency);
    }
    return sum.snapshot();
  }
}
