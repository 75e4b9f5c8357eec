/**
 * The op-log recorder: operations become lines on the main thread (a few hundred nanoseconds),
 * lines go to a bounded queue, and the queue is written in the background, one zstd frame (or
 * one plain block) at a time, whenever enough lines have gathered or a second has passed. No
 * operation waits on the disk; when the queue is full an operation waits for room (lossless,
 * the default) or its line is dropped and counted (`lossy`).
 */
import { S3dlioError, codeForErrno, toS3dlioError } from '../errors';
import { compressFrame } from '../engine/zstd';
import { type OpLogOp, type OpLogRecord, OPLOG_HEADER, type WallTime, addNanos, formatRecord } from './format';

/** Where the log's bytes go: a file, or an object written through a store. */
export interface OpLogSink {
  /** Appends `bytes`; one call at a time. */
  write(bytes: Uint8Array): Promise<void>;
  /** Makes what was written durable and closes. */
  close(): Promise<void>;
  /** Gives up (a failed log): removes or abandons what was written. */
  abort(): Promise<void>;
}

/** How a recorder writes. */
export interface RecorderSettings {
  /** `client_id` of every line. */
  clientId: string;
  /** Added to every timestamp (a client whose clock is known to be off). */
  clockOffsetNs: number;
  /** Drop lines (and count them) rather than make operations wait when the queue is full. */
  lossy: boolean;
  /** The most lines queued and not yet written. */
  queueLines: number;
  /** Write zstd frames (a `.zst` log) rather than plain text. */
  compress: boolean;
  /** A frame is cut once this many bytes of lines have gathered ... */
  frameBytes: number;
  /** ... or this long after the first of them. */
  flushIntervalMs: number;
  /** The log's name in errors. */
  name: string;
}

/** What a log did, when it stops. */
export interface OpLogSummary {
  /** Lines written (operations recorded). */
  lines: number;
  /** Lines dropped because the queue was full (`lossy` only). */
  dropped: number;
}

/** Where an operation went, in the log's columns. */
export interface OpPlace {
  endpoint: string;
  file: string;
}

/**
 * One item of a batch that one request served (getMany's single native call), timed where it
 * ran: `startNs`/`endNs` on the clock of `process.hrtime`, `thread` the worker that did it.
 */
export interface OpItem {
  file: string;
  bytes: number;
  /** The item's error code, or ''. */
  error: string;
  startNs: number;
  endNs: number;
  thread: number;
}

/** Where an operation went; a URI that cannot be parsed (a batch of none) is logged as it is. */
function placeOf(place: () => OpPlace): OpPlace {
  try {
    return place();
  } catch {
    return { endpoint: '', file: '' };
  }
}

/** The code an error is logged with: the library's public code (what the caller will see). */
export function errorCodeOf(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? codeForErrno(code) : 'ERR_UNEXPECTED';
}

/** Milliseconds of `performance.now()` since the process's time origin. */
const now = (): number => performance.now();

export class OpLogRecorder {
  private readonly origin: WallTime;
  /** `process.hrtime` nanoseconds / 1e6 minus `performance.now()`: the same clock, another zero. */
  private readonly hrtimeOffsetMs: number;
  private idx = 0;
  private dropped = 0;
  /** Lines formatted and not yet handed to the sink. */
  private batch: string[] = [];
  private batchBytes = 0;
  /** Of `batch`, the lines of operations (not the header or a comment). */
  private batchCounted = 0;
  /** Lines in `batch` plus those in the write under way. */
  private queued = 0;
  private writing: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  private readonly waiters: Array<() => void> = [];
  private failure: S3dlioError | undefined;
  private closed = false;
  /** Concurrency slots: `thread` is the lowest slot free when an operation starts, as warp's workers. */
  private readonly freeSlots: number[] = [];
  private slots = 0;

  constructor(
    private readonly sink: OpLogSink,
    private readonly settings: RecorderSettings,
  ) {
    const originMs = performance.timeOrigin;
    const seconds = Math.floor(originMs / 1000);
    this.origin = addNanos({ seconds, nanos: Math.round((originMs - seconds * 1000) * 1e6) }, settings.clockOffsetNs);
    this.hrtimeOffsetMs = Number(process.hrtime.bigint()) / 1e6 - performance.now();
    this.append(`${OPLOG_HEADER}\n`, false);
  }

  /** The wall-clock time of `performance.now()` reading `ms`. */
  wallTime(ms: number): WallTime {
    return addNanos(this.origin, ms * 1e6);
  }

  /**
   * Runs one operation and records it: `place` is asked only once it is over; the result's
   * length is the bytes of a read, `bytesOut` those of a write. `itemize` turns the result of a
   * request that served a batch into one line per item, with the item's own times.
   */
  async track<T>(
    op: OpLogOp,
    place: () => OpPlace,
    run: () => Promise<T>,
    objects: number,
    bytesOut: number,
    itemize?: (result: T) => OpItem[] | undefined,
  ): Promise<T> {
    const thread = this.freeSlots.length > 0 ? (this.freeSlots.pop() as number) : this.slots++;
    const start = now();
    let result: T;
    try {
      result = await run();
    } catch (thrown) {
      this.freeSlots.push(thread);
      const { endpoint, file } = placeOf(place);
      const waiting = this.line(thread, op, objects, bytesOut, endpoint, file, errorCodeOf(thrown), start, now());
      if (waiting) await waiting;
      throw thrown;
    }
    const end = now();
    this.freeSlots.push(thread);
    const { endpoint, file } = placeOf(place);
    const items = itemize?.(result);
    if (items === undefined) {
      const bytes = result instanceof Uint8Array ? result.byteLength : bytesOut;
      const waiting = this.line(thread, op, objects, bytes, endpoint, file, '', start, end);
      if (waiting) await waiting; // lossless and the queue full: wait for room
    } else {
      const zero = this.hrtimeOffsetMs;
      for (const item of items) {
        const { startNs, endNs } = item;
        const waiting = this.line(
          item.thread,
          op,
          1,
          item.bytes,
          endpoint,
          item.file,
          item.error,
          startNs / 1e6 - zero,
          endNs / 1e6 - zero,
        );
        if (waiting) await waiting;
      }
    }
    return result;
  }

  /** Queues the line of one operation (times in `performance.now()` milliseconds). */
  private line(
    thread: number,
    op: OpLogOp,
    objects: number,
    bytes: number,
    endpoint: string,
    file: string,
    error: string,
    start: number,
    end: number,
  ): Promise<void> | undefined {
    return this.record({
      thread,
      op,
      objects,
      bytes,
      endpoint,
      file,
      error,
      start: this.wallTime(start),
      firstByte: undefined,
      end: this.wallTime(end),
    });
  }

  /**
   * Queues one line. Returns a promise only when the queue is full and the log is lossless: the
   * operation waits on it for room.
   */
  record(record: OpLogRecord): Promise<void> | undefined {
    if (this.closed) {
      this.dropped++;
      return undefined;
    }
    if (this.queued >= this.settings.queueLines) {
      if (this.settings.lossy) {
        this.dropped++;
        return undefined;
      }
      return new Promise<void>((resolve) => this.waiters.push(resolve)).then(() => this.record(record));
    }
    this.append(formatRecord(this.idx++, this.settings.clientId, record), true);
    return undefined;
  }

  private append(line: string, counted: boolean): void {
    this.batch.push(line);
    this.batchBytes += line.length;
    if (counted) {
      this.queued++;
      this.batchCounted++;
    }
    if (this.batchBytes >= this.settings.frameBytes) this.cut();
    else this.timer ??= setTimeout(() => this.cut(), this.settings.flushIntervalMs).unref();
  }

  /** Hands the batch to the sink, after the write before it. */
  private cut(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.batch.length === 0) return;
    const lines = this.batch;
    const counted = this.batchCounted;
    this.batch = [];
    this.batchBytes = 0;
    this.batchCounted = 0;
    this.writing = this.writing.then(async () => {
      try {
        if (this.failure) return;
        const text = Buffer.from(lines.join(''));
        await this.sink.write(this.settings.compress ? await compressFrame(text, 3) : text);
      } catch (error) {
        if (!this.failure) {
          const failure = toS3dlioError(error, 'opLog', this.settings.name) as S3dlioError;
          this.failure = failure;
          // Said now, not only at stopOpLog: a long run should know its log stopped.
          process.emitWarning(
            `the op-log ${this.settings.name} failed, no more lines are written: ${failure.message}`,
            {
              code: 'S3DLIO_OPLOG_FAILED',
            },
          );
        }
      } finally {
        this.release(counted);
      }
    });
  }

  /** `count` lines left the queue: operations waiting for room go on. */
  private release(count: number): void {
    this.queued -= count;
    while (this.waiters.length > 0 && this.queued < this.settings.queueLines) (this.waiters.shift() as () => void)();
  }

  /**
   * Writes what is queued, the count of dropped lines as a last comment line, and closes the
   * sink; a write that failed meanwhile is thrown here (and the sink aborted).
   */
  async stop(): Promise<OpLogSummary> {
    if (this.closed) throw new S3dlioError('ERR_WRITER_CLOSED', `stopOpLog ${this.settings.name}: already stopped`);
    // Operations still waiting for room get it: their lines are written before the log closes.
    while (this.waiters.length > 0) {
      this.cut();
      await this.writing;
    }
    this.closed = true;
    if (this.dropped > 0) {
      this.append(`# ${this.dropped} operations not logged: the queue was full (lossy)\n`, false);
    }
    this.cut();
    await this.writing;
    if (this.failure) {
      await this.sink.abort().catch(() => undefined); // the write's error is the one to report
      throw this.failure;
    }
    await this.sink.close();
    return { lines: this.idx, dropped: this.dropped };
  }
}
