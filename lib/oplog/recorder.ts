/**
 * The op-log recorder. An operation's record is a few numbers and strings put in columns (a
 * batch); a batch goes to the formatter thread once it is full or a second old, and the lines (a
 * zstd frame for a .zst log) come back to be written by the sink, in order, in the background.
 * Recorded and not yet written lines form a bounded queue: when it is full an operation waits
 * for room (lossless, the default) or its line is dropped and counted (`lossy`). No operation
 * waits on the disk, and neither formatting nor compression runs on the thread of the I/O.
 */
import { Worker } from 'worker_threads';

import { S3dlioError, codeForErrno, toS3dlioError, type ErrorCode } from '../errors';
import { workerScript } from '../internal/worker-script';
import {
  ColumnsBuilder,
  type FormatterReply,
  type FormatterRequest,
  type FormatterSettings,
  transferList,
} from './batch';
import { type OpLogOp, OPLOG_HEADER, type WallTime, addNanos } from './format';

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
  /** A batch (a frame) is cut once it holds this many lines ... */
  frameLines: number;
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

/** Where an operation went, in the log's columns, and when its answer began (if the store knows). */
export interface OpPlace {
  endpoint: string;
  file: string;
  /** `performance.now()` when the response headers of its last attempt arrived (cloud GETs). */
  firstByte?: number;
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
export function errorCodeOf(error: unknown): ErrorCode {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? codeForErrno(code) : 'ERR_UNEXPECTED';
}

/** Milliseconds of `performance.now()` since the process's time origin. */
const now = (): number => performance.now();

/** The running op-log: what a store's `io` hands each request to, while `startOpLog` is in force. */
export class OpLogRecorder {
  /** `process.hrtime` nanoseconds / 1e6 minus `performance.now()`: the same clock, another zero. */
  private readonly hrtimeOffsetMs: number;
  private readonly formatter: Worker;
  private readonly builder: ColumnsBuilder;
  private idx = 0;
  private seq = 0;
  private dropped = 0;
  /** Lines recorded and not yet written. */
  private queued = 0;
  /** Requests sent to the formatter and not yet answered (the worker holds the process meanwhile). */
  private outstanding = 0;
  private readonly replies = new Map<number, (reply: FormatterReply) => void>();
  private writing: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  private readonly waiters: Array<() => void> = [];
  private failure: S3dlioError | undefined;
  private closed = false;
  /** Concurrency slots: `thread` is a slot free when an operation starts (reused, like warp's worker numbers). */
  private readonly freeSlots: number[] = [];
  private slots = 0;

  constructor(
    private readonly sink: OpLogSink,
    private readonly settings: RecorderSettings,
  ) {
    const originMs = performance.timeOrigin;
    const seconds = Math.floor(originMs / 1000);
    const origin: WallTime = addNanos(
      { seconds, nanos: Math.round((originMs - seconds * 1000) * 1e6) },
      settings.clockOffsetNs,
    );
    this.hrtimeOffsetMs = Number(process.hrtime.bigint()) / 1e6 - performance.now();
    this.builder = new ColumnsBuilder(settings.frameLines);
    const code = workerScript(__dirname, 'format-worker');
    if (code === undefined) {
      throw new S3dlioError(
        'ERR_NOT_FOUND',
        `startOpLog ${settings.name}: the op-log's formatter script format-worker.js is missing beside the library (a bundler must copy it)`,
      );
    }
    const workerData: FormatterSettings = {
      clientId: settings.clientId,
      compress: settings.compress,
      level: 1,
      origin,
    };
    this.formatter = new Worker(code, { eval: true, workerData });
    this.formatter.unref();
    this.formatter.on('message', (reply: FormatterReply) => this.replies.get(reply.seq)?.(reply));
    this.formatter.on('error', (error) => this.formatterGone(error));
    this.formatter.on('exit', (exitCode) => {
      if (!this.closed || this.replies.size > 0)
        this.formatterGone(new Error(`the formatter thread exited (code ${exitCode})`));
    });
    this.send({ kind: 'text', seq: this.seq++, text: `${OPLOG_HEADER}\n` }, 0);
  }

  /** Resolves once the formatter thread is up and the header written (or the log failed). */
  async ready(): Promise<void> {
    await this.writing;
    if (this.failure) throw this.failure;
  }

  /**
   * Runs one operation and records it: `place` is asked only once it is over; the result's
   * length is the bytes of a read, `bytesOut` those of a write. `itemize` turns the result of a
   * request that served a batch into one line per item, with the item's own times.
   */
  track<T>(
    op: OpLogOp,
    place: () => OpPlace,
    run: () => Promise<T>,
    objects: number,
    bytesOut: number,
    itemize?: (result: T) => OpItem[] | undefined,
  ): Promise<T> {
    const thread = this.freeSlots.length > 0 ? (this.freeSlots.pop() as number) : this.slots++;
    const start = now();
    // Callbacks rather than async/await: no extra turn of the microtask queue per request.
    return run().then(
      (result) => {
        const end = now();
        this.freeSlots.push(thread);
        const { endpoint, file, firstByte = Number.NaN } = placeOf(place);
        const items = itemize?.(result);
        if (items === undefined) {
          const bytes = result instanceof Uint8Array ? result.byteLength : bytesOut;
          const waiting = this.line(op, thread, objects, bytes, endpoint, file, '', start, end, firstByte);
          // Lossless and the queue full: the operation waits for room.
          return waiting ? waiting.then(() => result) : result;
        }
        return this.lineItems(op, endpoint, items).then(() => result);
      },
      (thrown: unknown) => {
        this.freeSlots.push(thread);
        const { endpoint, file, firstByte = Number.NaN } = placeOf(place);
        const waiting = this.line(
          op,
          thread,
          objects,
          bytesOut,
          endpoint,
          file,
          errorCodeOf(thrown),
          start,
          now(),
          firstByte,
        );
        return waiting ? waiting.then(() => Promise.reject(thrown)) : Promise.reject(thrown);
      },
    );
  }

  /** The lines of a batch's items, each with the times it reported. */
  private async lineItems(op: OpLogOp, endpoint: string, items: OpItem[]): Promise<void> {
    const zero = this.hrtimeOffsetMs;
    for (const item of items) {
      const { startNs, endNs } = item;
      const waiting = this.line(
        op,
        item.thread,
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

  /**
   * Queues the line of one operation (times in `performance.now()` milliseconds). Returns a
   * promise only when the queue is full and the log is lossless: the operation waits on it.
   */
  private line(
    op: OpLogOp,
    thread: number,
    objects: number,
    bytes: number,
    endpoint: string,
    file: string,
    error: string,
    start: number,
    end: number,
    firstByte = Number.NaN,
  ): Promise<void> | undefined {
    if (this.closed) {
      this.dropped++;
      return undefined;
    }
    if (this.queued >= this.settings.queueLines) {
      if (this.settings.lossy) {
        this.dropped++;
        return undefined;
      }
      return new Promise<void>((resolve) => this.waiters.push(resolve)).then(() =>
        this.line(op, thread, objects, bytes, endpoint, file, error, start, end, firstByte),
      );
    }
    this.idx++;
    this.queued++;
    this.builder.add(op, thread, objects, bytes, endpoint, file, error, start, end, firstByte);
    if (this.builder.full) this.cut();
    else this.timer ??= setTimeout(() => this.cut(), this.settings.flushIntervalMs).unref();
    return undefined;
  }

  /** Sends the batch to the formatter. */
  private cut(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const count = this.builder.count;
    if (count === 0) return;
    const columns = this.builder.take();
    this.send({ kind: 'batch', seq: this.seq++, firstIdx: this.idx - count, columns }, count);
  }

  /** One request to the formatter; its bytes are written after those of the request before. */
  private send(request: FormatterRequest, lines: number): void {
    const reply = new Promise<FormatterReply>((resolve) => this.replies.set(request.seq, resolve));
    if (this.outstanding++ === 0) this.formatter.ref();
    if (this.failure) this.replies.get(request.seq)?.({ seq: request.seq, error: 'the log failed before' });
    else this.formatter.postMessage(request, request.kind === 'batch' ? transferList(request.columns) : []);
    this.writing = this.writing.then(async () => {
      const answer = await reply;
      this.replies.delete(request.seq);
      if (--this.outstanding === 0) this.formatter.unref();
      try {
        if (this.failure) return;
        if (answer.bytes === undefined) throw new Error(`the formatter thread failed: ${answer.error}`);
        await this.sink.write(answer.bytes);
      } catch (error) {
        this.fail(error);
      } finally {
        this.release(lines);
      }
    });
  }

  /** The formatter died: every request waiting on it is answered with the failure. */
  private formatterGone(error: Error): void {
    this.fail(error);
    for (const [seq, resolve] of this.replies) resolve({ seq, error: error.message });
  }

  private fail(error: unknown): void {
    if (this.failure) return;
    const failure = toS3dlioError(error, 'opLog', this.settings.name) as S3dlioError;
    this.failure = failure;
    // Said now, not only at stopOpLog: a long run should know its log stopped.
    process.emitWarning(`the op-log ${this.settings.name} failed, no more lines are written: ${failure.message}`, {
      code: 'S3DLIO_OPLOG_FAILED',
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
    this.cut();
    if (this.dropped > 0) {
      const comment = `# ${this.dropped} operations not logged: the queue was full (lossy)\n`;
      this.send({ kind: 'text', seq: this.seq++, text: comment }, 0);
    }
    await this.writing;
    await this.formatter.terminate();
    if (this.failure) {
      await this.sink.abort().catch(() => undefined); // the write's error is the one to report
      throw this.failure;
    }
    await this.sink.close();
    return { lines: this.idx, dropped: this.dropped };
  }
}
