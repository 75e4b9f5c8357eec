/**
 * What a store reports of its requests (`store.stats()`): totals, and for cloud stores one entry
 * per endpoint. One shape for every store; counters only grow, except `inFlight`.
 */
import type { ErrorCode } from './errors';

/** Latency of completed requests, in milliseconds (NaN while none has completed). */
export interface LatencyStats {
  p50: number;
  p99: number;
  max: number;
}

/** Counters of the requests sent to storage (each attempt of a retried request counts). */
export interface RequestStats {
  /** Requests sent, retries included. */
  requests: number;
  /** Of those, repeats of a failed attempt. */
  retries: number;
  /** Requests that failed (a retried failure counts each time). */
  errors: number;
  /** Body bytes received (object data read). */
  bytesIn: number;
  /** Body bytes sent (object data written). */
  bytesOut: number;
  /** Requests started and not finished. */
  inFlight: number;
  /** Time from start to end of each completed request (failed ones included). */
  latencyMs: LatencyStats;
}

/** Whether requests go to an endpoint: `down` after failures, until a background probe answers. */
export type EndpointHealth = 'up' | 'down';

/** The counters and health of one endpoint of a store. */
export interface EndpointStats extends RequestStats {
  /** `http(s)://host[:port]`, or `default` for the service's own endpoint. */
  endpoint: string;
  health: EndpointHealth;
  /** The last failure that counted against its health, if any (no credentials in it). */
  lastFailure?: { code: ErrorCode; message: string; at: Date };
  /** Since when it is down (absent while up). */
  downSince?: Date;
}

/** The I/O threads of a cloud store (`ioThreads`). */
export interface IoThreadStats {
  /** Threads configured. */
  threads: number;
  /** Threads running now (idle ones stop, and start again when needed). */
  running: number;
  /** Requests on the threads now. */
  inFlight: number;
  /**
   * Body bytes that could not land in their final place on a thread and were copied on the main
   * thread: the first range of a split get (its buffer is allocated once that range's headers
   * tell the size) and reads into memory that is not shared.
   */
  copiedBytes: number;
}

/** One kind of operation (GET, PUT, DELETE, LIST, STAT, COPY, MOVE), each request counted once whatever its retries. */
export interface OpStats {
  requests: number;
  /** Requests that failed in the end (after their retries). */
  errors: number;
  /** Body bytes read (GET) or written (PUT). */
  bytes: number;
  /** From the start of a request to its end, retries included. */
  latencyMs: LatencyStats;
}

/**
 * `store.stats()`: the store's totals (the sum of its endpoints for a cloud store), each endpoint,
 * and each kind of operation. The module-level `stats()` has the same shape, summed over every
 * store alive in the process (`scheme` is `*`).
 */
export interface StoreStats extends RequestStats {
  scheme: string;
  /** By op, in the op-log's names. */
  ops: Record<string, OpStats>;
  /** Requests that failed in the end, by error code (the `code` their S3dlioError has); only codes seen. */
  errorsByCode: Partial<Record<ErrorCode, number>>;
  /** One entry per endpoint (cloud stores); empty for local and in-memory stores. */
  endpoints: EndpointStats[];
  /** The I/O threads of a cloud store that has them. */
  ioThreads?: IoThreadStats;
}
