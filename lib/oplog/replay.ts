/**
 * `replay(log, { target, … })`: runs a recorded workload again, on its recorded schedule (or
 * faster, slower, or as fast as possible), against another store. Each line's URI is rebuilt from
 * the target and the `file` column (through `remap`); PUTs write generated data of the recorded
 * size, a multipart upload's parts go through a writer and its completion closes it. It reports how
 * closely the schedule was kept: each operation's lag behind its due time.
 */
import { setMaxListeners } from 'events';

import { S3dlioError, codeForErrno } from '../errors';
import { generateData } from '../datagen';
import { expectKnownOptions, optionKeys } from '../internal/option-keys';
import type { ObjectStore, ObjectWriter } from '../object-store';
import { LatencyHistogram } from '../backends/request-counters';
import { storeFor } from '../stores';
import { parseUri } from '../uri';
import {
  expectString,
  invalidType,
  optionalBoolean,
  optionalPositiveInteger,
  optionalSignal,
  outOfRange,
} from '../validate';
import { nanosBetween, type WallTime } from './format';
import type { OpLogEntry } from './reader';
import { readOpLog } from './source';

/** Options of {@link replay}. */
export interface ReplayOptions {
  /** Where the workload goes: a URI prefix (`s3://bucket/`, `file:///data/replay/`). Required. */
  target: string;
  /**
   * 1 (default): the recorded timing; 2: twice as fast; 0.5: half speed; 0: as fast as
   * `concurrency` allows.
   */
  speed?: number;
  /** Operations replayed at once at most (default 64). An operation due while all are busy waits, and its lag says so. */
  concurrency?: number;
  /** Which lines to replay (default: all). */
  filter?: (entry: OpLogEntry) => boolean;
  /**
   * Where a line's object goes. A function gives the URI (undefined: skip the line); a record
   * maps a recorded prefix (of `endpoint/file` or of `file`, e.g. `bucket-a/` or
   * `http://10.0.0.1:9000/bucket-a/`) to a target prefix, the longest match winning. Lines no
   * rule matches go to `target` + the key (the `file` column without its bucket; a local path
   * without its leading `/`).
   */
  remap?: Record<string, string> | ((entry: OpLogEntry) => string | undefined);
  /** Go on after an operation fails (other than as it failed in the recording); default false. */
  continueOnError?: boolean;
  /** Called about every 500 ms and at the end. */
  onProgress?: (progress: ReplayProgress) => void;
  /** The store of the target (default: `storeFor(target)`). */
  store?: ObjectStore;
  /** The log is a store URI: the store to read it through. */
  logStore?: ObjectStore;
  signal?: AbortSignal;
}

/** Where a replay is. */
export interface ReplayProgress {
  operations: number;
  bytes: number;
  errors: number;
  inFlight: number;
}

/** Lag of operations behind their schedule, in milliseconds (percentiles within about 9 %). */
export interface ReplayLag {
  p50: number;
  p99: number;
  max: number;
}

/** What a replay did. */
export interface ReplayReport {
  /** Operations run. */
  operations: number;
  /** Bytes read and written. */
  bytes: number;
  /** Operations that failed, other than as recorded. */
  errors: number;
  /** Operations that failed with the error the log recorded for them. */
  expectedErrors: number;
  errorsByCode: Record<string, number>;
  /** Lines not replayed, by reason (filtered, remapped away, COPY/MOVE, bucket operations). */
  skipped: Record<string, number>;
  /** Wall time of the replay, in seconds. */
  durationSeconds: number;
  /** The recorded span divided by the speed: what the replay should take (NaN at speed 0). */
  scheduledSeconds: number;
  opsPerSecond: number;
  bytesPerSecond: number;
  /** How late operations started against their schedule (at speed 0, against the replay's start). */
  lagMs: ReplayLag;
}

const OPTION_KEYS = optionKeys<ReplayOptions>()({
  target: true,
  speed: true,
  concurrency: true,
  filter: true,
  remap: true,
  continueOnError: true,
  onProgress: true,
  store: true,
  logStore: true,
  signal: true,
});

/** Lines are written when operations end: this many are read ahead and put back in start order. */
const REORDER_WINDOW = 4096;

/** Replays the op-log at `log` (a path or URI; ours, s3dlio's or warp's) against `options.target`. */
export async function replay(log: string, options: ReplayOptions): Promise<ReplayReport> {
  const name = expectString(log, 'log');
  const opts = expectKnownOptions(options, OPTION_KEYS, 'replay');
  const target = expectString(opts.target, 'options.target');
  parseUri(target, 'options.target');
  const speed = opts.speed ?? 1;
  if (typeof speed !== 'number') throw invalidType('options.speed', 'a number', speed);
  if (!Number.isFinite(speed) || speed < 0) throw outOfRange('options.speed', 'a finite number >= 0', speed);
  const concurrency = optionalPositiveInteger(opts.concurrency, 'options.concurrency', 64);
  const continueOnError = optionalBoolean(opts.continueOnError, 'options.continueOnError', false);
  for (const key of ['filter', 'onProgress'] as const) {
    if (opts[key] !== undefined && typeof opts[key] !== 'function') {
      throw invalidType(`options.${key}`, 'a function', opts[key]);
    }
  }
  const route = router(target, opts.remap);
  const signal = optionalSignal(opts.signal);
  const store = opts.store ?? storeFor(target);
  const run = new Replay(store, speed, concurrency, continueOnError, opts.onProgress, signal);
  try {
    for await (const entry of inStartOrder(readOpLog(name, opts.logStore ? { store: opts.logStore } : {}))) {
      if (opts.filter && !opts.filter(entry)) {
        run.skip('filtered');
        continue;
      }
      const uri = route(entry);
      if (uri === undefined) run.skip('remapped away');
      else await run.dispatch(entry, uri);
    }
    return await run.finish();
  } catch (error) {
    await run.abandon();
    throw error;
  }
}

/** The entries of a log in the order they started, from a window of lines read ahead. */
async function* inStartOrder(entries: AsyncIterable<OpLogEntry>): AsyncGenerator<OpLogEntry> {
  const window: OpLogEntry[] = [];
  const before = (a: OpLogEntry, b: OpLogEntry): boolean => nanosBetween(a.start, b.start) > 0;
  for await (const entry of entries) {
    // Binary insertion: the window stays sorted by start.
    let low = 0;
    let high = window.length;
    while (low < high) {
      const middle = (low + high) >> 1;
      if (before(entry, window[middle])) high = middle;
      else low = middle + 1;
    }
    window.splice(low, 0, entry);
    if (window.length > REORDER_WINDOW) yield window.shift() as OpLogEntry;
  }
  yield* window;
}

/** The URI each line goes to. */
function router(target: string, remap: ReplayOptions['remap']): (entry: OpLogEntry) => string | undefined {
  const base = target.endsWith('/') ? target : `${target}/`;
  const fallback = (entry: OpLogEntry): string => {
    const file = entry.file;
    if (file.startsWith('/')) return base + file.slice(1);
    const slash = file.indexOf('/');
    return base + (slash < 0 ? '' : file.slice(slash + 1));
  };
  if (remap === undefined) return fallback;
  if (typeof remap === 'function') {
    return (entry) => {
      const uri = remap(entry);
      if (uri !== undefined && typeof uri !== 'string')
        throw invalidType('the URI options.remap returns', 'a string', uri);
      return uri;
    };
  }
  if (typeof remap !== 'object' || remap === null) throw invalidType('options.remap', 'an object or a function', remap);
  const rules = Object.entries(remap).sort(([a], [b]) => b.length - a.length);
  for (const [from, to] of rules) {
    if (typeof to !== 'string') throw invalidType(`options.remap[${JSON.stringify(from)}]`, 'a URI prefix', to);
  }
  return (entry) => {
    const full = `${entry.endpoint.replace(/\/+$/, '')}/${entry.file}`;
    for (const [from, to] of rules) {
      if (full.startsWith(from)) return to + full.slice(from.length);
      if (entry.file.startsWith(from)) return to + entry.file.slice(from.length);
    }
    return fallback(entry);
  };
}

/** One replay's state: the schedule, what is in flight, open uploads, and the tallies. */
class Replay {
  private first: WallTime | undefined;
  private readonly started = performance.now();
  private readonly inFlight = new Set<Promise<void>>();
  /** The last operation started on each object, and when it ended in the recording. */
  private readonly lastOnObject = new Map<string, { done: Promise<void>; end: WallTime }>();
  private readonly writers = new Map<string, { writer: ObjectWriter; pending: Promise<void> }>();
  /** Lag of each operation behind its due time: a histogram of bounded size, whatever the log's length. */
  private readonly lags = new LatencyHistogram();
  private readonly controller = new AbortController();
  private failure: unknown;
  private lastEntry: OpLogEntry | undefined;
  private data: Uint8Array = new Uint8Array(0);
  private dataGrowing: Promise<Uint8Array> | undefined;
  private readonly progressTimer: NodeJS.Timeout | undefined;
  private readonly report = {
    operations: 0,
    bytes: 0,
    errors: 0,
    expectedErrors: 0,
    errorsByCode: {} as Record<string, number>,
    skipped: {} as Record<string, number>,
  };

  constructor(
    private readonly store: ObjectStore,
    private readonly speed: number,
    private readonly concurrency: number,
    private readonly continueOnError: boolean,
    private readonly onProgress: ((progress: ReplayProgress) => void) | undefined,
    private readonly signal: AbortSignal | undefined,
  ) {
    if (onProgress) this.progressTimer = setInterval(() => this.progress(), 500).unref();
    signal?.addEventListener('abort', () => this.controller.abort(signal.reason), { once: true });
    // Every operation in flight listens to this signal: up to `concurrency` listeners are expected.
    setMaxListeners(0, this.controller.signal);
  }

  skip(reason: string): void {
    this.report.skipped[reason] = (this.report.skipped[reason] ?? 0) + 1;
  }

  /** Waits for the entry's due time and for a free slot, then starts it. */
  async dispatch(entry: OpLogEntry, uri: string): Promise<void> {
    this.check();
    this.first ??= entry.start;
    this.lastEntry = entry;
    const dueMs = this.speed === 0 ? 0 : nanosBetween(this.first, entry.start) / 1e6 / this.speed;
    const wait = dueMs - (performance.now() - this.started);
    if (wait > 1) await this.sleep(wait);
    while (this.inFlight.size >= this.concurrency) await Promise.race(this.inFlight);
    this.check();
    this.lags.record(Math.max(0, performance.now() - this.started - dueMs));
    // An operation that followed another on the same object in the recording follows it here
    // too (a GET after its PUT, whatever the speed); overlapping ones overlap.
    const previous = this.lastOnObject.get(uri);
    const after = previous !== undefined && nanosBetween(previous.end, entry.start) >= 0 ? previous.done : undefined;
    const work = (after ? after.then(() => this.perform(entry, uri)) : this.perform(entry, uri)).then(
      () => undefined,
      (error: unknown) => this.failed(entry, uri, error),
    );
    const tracked = work.finally(() => {
      this.inFlight.delete(tracked);
      if (this.lastOnObject.get(uri)?.done === tracked) this.lastOnObject.delete(uri);
    });
    this.lastOnObject.set(uri, { done: tracked, end: entry.end });
    this.inFlight.add(tracked);
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const signal = this.controller.signal;
      const onAbort = (): void => (clearTimeout(timer), resolve());
      // The listener goes when the timer fires: one per pause would pile up over a long log.
      const timer = setTimeout(() => (signal.removeEventListener('abort', onAbort), resolve()), ms);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Throws the failure that stops the replay, or the abort. */
  private check(): void {
    if (this.failure !== undefined) throw this.failure;
    if (this.signal?.aborted) {
      throw new S3dlioError('ERR_ABORTED', 'replay: aborted', { operation: 'replay', cause: this.signal.reason });
    }
  }

  private async perform(entry: OpLogEntry, uri: string): Promise<void> {
    const signal = this.controller.signal;
    const { store } = this;
    switch (entry.op) {
      case 'GET':
        this.count(
          entry.bytes > 0
            ? (await store.getRange(uri, 0, entry.bytes, { signal })).byteLength
            : (await store.get(uri, { signal })).byteLength,
        );
        return;
      case 'PUT':
        return this.put(entry, uri);
      case 'STAT':
        await store.stat(uri, { signal });
        return this.count(0);
      case 'LIST':
        await store.list(uri, { signal });
        return this.count(0);
      case 'DELETE':
        if (uri.endsWith('/')) return this.skip('bucket operations');
        await store.delete(uri, { signal });
        return this.count(0);
      default:
        // COPY and MOVE lines name only their destination; other ops are not storage requests we know.
        return this.skip(
          entry.op === 'COPY' || entry.op === 'MOVE' ? 'COPY and MOVE (no source recorded)' : `op ${entry.op}`,
        );
    }
  }

  private count(bytes: number): void {
    this.report.operations++;
    this.report.bytes += bytes;
  }

  /** A whole object, a part of an upload (n_objects 0), or the completion of one. */
  private async put(entry: OpLogEntry, uri: string): Promise<void> {
    if (uri.endsWith('/')) return this.skip('bucket operations');
    const open = this.writers.get(uri);
    if (entry.objects === 0) {
      // Parts of one upload overlap: the writer is found or made before anything is awaited, and
      // its writes go in turn.
      const upload = open ?? {
        writer: this.store.createWriter(uri, { partSize: Math.max(entry.bytes, 1), signal: this.controller.signal }),
        pending: Promise.resolve(),
      };
      if (!open) this.writers.set(uri, upload);
      const bytes = this.bytes(entry.bytes);
      upload.pending = upload.pending.then(async () => upload.writer.write(await bytes));
      await upload.pending;
      return this.count(entry.bytes);
    }
    if (open && entry.bytes === 0) {
      this.writers.delete(uri);
      await open.pending;
      await open.writer.close();
      return this.count(0);
    }
    await this.store.put(uri, await this.bytes(entry.bytes), { signal: this.controller.signal });
    return this.count(entry.bytes);
  }

  /** Generated bytes of `size`: views of one buffer, grown as larger sizes come. */
  private async bytes(size: number): Promise<Uint8Array> {
    while (this.data.byteLength < size) {
      this.dataGrowing ??= generateData(Math.max(size, 2 * this.data.byteLength, 1 << 20), { seed: 1 });
      this.data = await this.dataGrowing;
      this.dataGrowing = undefined;
    }
    return this.data.subarray(0, size);
  }

  private failed(entry: OpLogEntry, uri: string, error: unknown): void {
    const code = String((error as { code?: unknown } | null)?.code ?? 'ERR_UNEXPECTED');
    if (entry.error !== '' && entry.error === code) {
      this.report.expectedErrors++;
      return;
    }
    this.report.errors++;
    this.report.errorsByCode[code] = (this.report.errorsByCode[code] ?? 0) + 1;
    if (this.continueOnError || this.failure !== undefined) return;
    const message = error instanceof Error ? error.message : String(error);
    const failure = new S3dlioError(
      codeForErrno(code),
      `replay: log line ${entry.line} (${entry.op} ${entry.file}) as ${uri}: ${message}`,
      { uri, operation: 'replay', cause: error },
    );
    this.failure = failure;
    this.controller.abort(failure);
  }

  private progress(): void {
    const { operations, bytes, errors } = this.report;
    this.onProgress?.({ operations, bytes, errors, inFlight: this.inFlight.size });
  }

  /** Waits for what is in flight, closes uploads left open (a log cut mid-upload), reports. */
  async finish(): Promise<ReplayReport> {
    await Promise.all(this.inFlight);
    this.check();
    for (const [uri, upload] of this.writers) {
      this.writers.delete(uri);
      await upload.pending.catch(() => undefined);
      await upload.writer.abort();
      this.skip('uploads the log never completed');
    }
    if (this.progressTimer) clearInterval(this.progressTimer);
    this.progress();
    const durationSeconds = (performance.now() - this.started) / 1000;
    const span = this.first && this.lastEntry ? nanosBetween(this.first, this.lastEntry.start) / 1e9 : 0;
    const rate = (value: number): number => (durationSeconds > 0 ? value / durationSeconds : Number.NaN);
    return {
      ...this.report,
      durationSeconds,
      scheduledSeconds: this.speed === 0 ? Number.NaN : span / this.speed,
      opsPerSecond: rate(this.report.operations),
      bytesPerSecond: rate(this.report.bytes),
      lagMs: this.lags.snapshot(),
    };
  }

  /** After a failure: stops what is in flight and what is open. */
  async abandon(): Promise<void> {
    if (this.progressTimer) clearInterval(this.progressTimer);
    this.controller.abort();
    await Promise.allSettled(this.inFlight);
    await Promise.allSettled([...this.writers.values()].map((upload) => upload.writer.abort()));
  }
}
