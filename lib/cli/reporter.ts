/**
 * Everything the CLI prints. Results (listing lines, stat fields) go to stdout; progress,
 * failures and summaries to stderr, so `s3dlio ls … | wc -l` counts objects. With `--json`,
 * stdout carries one JSON object per line (each with a `type`), failures go to stderr as JSON too.
 */
import { SingleBar } from 'cli-progress';

import { BatchError, type ErrorCode, isErrorCode, type S3dlioError, toS3dlioError } from '../errors';
import { formatBytes, formatRate, mebibytesPerSecond } from './units';

/** Where and how to print. */
export interface ReporterOptions {
  json: boolean;
  /** 0 the summary only, 1 a line per object, 2 also each failure's cause chain and stack. */
  verbose: number;
  /** `--quiet`: no progress, no per-object lines, no summaries or notices; results and failures only. */
  quiet?: boolean;
  /** Draw progress bars (only ever on a TTY). */
  progress: boolean;
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
}

/** What a finished task did, as printed in the summary. */
export interface TaskSummary {
  operation: string;
  objects: number;
  bytes: number;
  failed: number;
  seconds: number;
  /** False for tasks that move no bytes (`rm`, `ls`): no byte count, no byte rate. */
  movesBytes: boolean;
}

/** Known totals make a bar; unknown ones a spinner with a running count. */
export interface TaskTotals {
  objects?: number;
  bytes?: number;
  /** False for tasks that move no bytes (`rm`, `ls`): their progress and summary count objects only. */
  movesBytes?: boolean;
}

const FLUSH_AT = 64 * 1024;
const SPINNER = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

/** The printer of one CLI run. */
export class Reporter {
  /** Objects that failed so far (decides the exit code). */
  failures = 0;
  /** Set on Ctrl-C: the aborts that follow are counted as cancelled, not printed one by one. */
  interrupted = false;
  /** Objects cancelled by the interrupt. */
  cancelled = 0;
  private pending = '';
  private active: TaskProgress | undefined;

  constructor(readonly options: ReporterOptions) {}

  /** Whether progress is drawn: asked for, not JSON, and both stdout and stderr are terminals. */
  get interactive(): boolean {
    const { progress, json, quiet, stdout, stderr } = this.options;
    return progress && !json && quiet !== true && stdout.isTTY === true && stderr.isTTY === true;
  }

  /** One result line: `text` normally, `record` under --json. Buffered; flushed by `flush()`. */
  result(text: string, record: Record<string, unknown>): void {
    this.pending += `${this.options.json ? JSON.stringify(record) : text}\n`;
    if (this.pending.length >= FLUSH_AT) this.flush();
  }

  /** Writes buffered results. */
  flush(): void {
    if (this.pending === '') return;
    this.active?.clearLine();
    this.options.stdout.write(this.pending);
    this.pending = '';
  }

  /** A line for -v (stderr; JSON lines go to stdout under --json, as results). */
  detail(text: string, record: Record<string, unknown>): void {
    if (this.options.verbose < 1 || this.options.quiet === true) return;
    if (this.options.json) return this.result(text, record);
    this.printErr(text);
  }

  /** With -v: one object done (`put s3://b/k 4096 B`; a `type: object` record under --json). */
  objectDone(operation: string, uri: string, bytes?: number, to?: string): void {
    const text = `${operation} ${uri}${to === undefined ? '' : ` -> ${to}`}${bytes === undefined ? '' : ` ${bytes} B`}`;
    this.detail(text, {
      type: 'object',
      operation,
      uri,
      ...(to !== undefined && { to }),
      ...(bytes !== undefined && { bytes }),
    });
  }

  /** An informational line on stderr (not under --json). */
  notice(text: string): void {
    if (!this.options.json && this.options.quiet !== true) this.printErr(text);
  }

  /**
   * An interruption (Ctrl-C, SIGTERM): said even under --quiet, as a failure is, since the work
   * stops short. Under --json, `record` (when given) is an `interrupted` line on stderr.
   */
  interruption(text: string, record?: Record<string, unknown>): void {
    if (!this.options.json) return this.printErr(text);
    if (!record) return;
    this.flush();
    this.options.stderr.write(`${JSON.stringify({ type: 'interrupted', ...record })}\n`);
  }

  /** One failed object (or operation): counted, printed to stderr at once. */
  failure(uri: string, error: unknown, operation: string): void {
    const err = toS3dlioError(error, operation, uri);
    if (err instanceof BatchError) {
      for (const item of err.errors) this.failure(item.uri ?? uri, item, operation);
      return;
    }
    const { uri: errorUri } = err as Partial<S3dlioError>;
    const code = documentedCode(err);
    if (this.interrupted && code === 'ERR_ABORTED') {
      this.cancelled++;
      return;
    }
    this.failures++;
    if (this.options.json) {
      this.flush();
      const record = {
        type: 'error',
        operation,
        uri: errorUri ?? uri,
        code,
        message: err.message,
      };
      this.options.stderr.write(`${JSON.stringify(record)}\n`);
      return;
    }
    this.printErr(`s3dlio: ${operation} failed: ${describe(err, uri)}`);
    if (this.options.verbose >= 2) this.printErr(causeChain(err));
  }

  /** Starts counting (and drawing, on a TTY) one task. */
  startTask(operation: string, totals: TaskTotals = {}): TaskProgress {
    this.active?.stop();
    this.active = new TaskProgress(this, operation, totals);
    return this.active;
  }

  /** Stops drawing (before an error or interrupt message). */
  stopDrawing(): void {
    this.active?.stop();
  }

  /** Prints a task's summary: a line on stderr, or a `summary` JSON line on stdout. */
  summary(summary: TaskSummary): void {
    const { operation, objects, bytes, failed, seconds, movesBytes } = summary;
    this.flush();
    if (this.options.quiet === true) return;
    // Rates only where something was done: a rate of 0 objects or 0 bytes says nothing.
    const objectRate = objects > 0 ? objects / Math.max(seconds, 1e-6) : undefined;
    const byteRate = movesBytes && bytes > 0 ? mebibytesPerSecond(bytes, seconds) : undefined;
    if (this.options.json) {
      this.result('', {
        type: 'summary',
        operation,
        objects,
        ...(movesBytes && { bytes }),
        failed,
        seconds: round(seconds),
        ...(byteRate !== undefined && { MiBps: round(byteRate) }),
        ...(objectRate !== undefined && { objectsPerSecond: round(objectRate) }),
      });
      this.flush();
      return;
    }
    const rates = [
      ...(byteRate !== undefined ? [formatRate(bytes, seconds)] : []),
      ...(objectRate !== undefined ? [`${objectRate.toFixed(1)} objects/s`] : []),
    ];
    const failedText = failed > 0 ? `, ${failed} failed` : '';
    this.printErr(
      `${operation}: ${plural(objects, 'object')}${movesBytes ? `, ${formatBytes(bytes)}` : ''} in ${seconds.toFixed(2)} s` +
        `${rates.length > 0 ? ` (${rates.join(', ')})` : ''}${failedText}`,
    );
  }

  /** stderr, after clearing a progress line that may be drawn there. */
  printErr(text: string): void {
    this.active?.clearLine();
    this.options.stderr.write(`${text}\n`);
  }
}

/** Counts objects and bytes of one task and draws its progress on a terminal. */
export class TaskProgress {
  objects = 0;
  bytes = 0;
  private readonly failedAtStart: number;
  private readonly started = performance.now();
  private bar: SingleBar | undefined;
  private spinner: NodeJS.Timeout | undefined;
  private frame = 0;
  private stopped = false;

  constructor(
    private readonly reporter: Reporter,
    readonly operation: string,
    private totals: TaskTotals,
  ) {
    this.failedAtStart = reporter.failures;
    if (reporter.interactive) this.draw();
  }

  /** Known totals (e.g. after a listing): turns a spinner into a bar. */
  setTotals(totals: TaskTotals): void {
    this.totals = { ...totals, movesBytes: this.totals.movesBytes };
    if (this.reporter.interactive && !this.stopped) {
      this.stopDrawing();
      this.draw();
    }
  }

  /** `objects` and `bytes` more done. */
  add(objects: number, bytes: number): void {
    this.objects += objects;
    this.bytes += bytes;
    this.update();
  }

  /** Absolute progress, for engines that report totals so far. */
  set(objects: number, bytes: number): void {
    this.objects = objects;
    this.bytes = bytes;
    this.update();
  }

  /** Seconds since the start. */
  get seconds(): number {
    return (performance.now() - this.started) / 1000;
  }

  /**
   * Stops drawing and prints the summary line. `prefix`: the prefix the task worked below, named in
   * a notice when nothing was found there (a mistyped prefix is not a silent success).
   */
  finish(prefix?: string): TaskSummary {
    this.stop();
    if (prefix !== undefined && this.objects === 0 && this.reporter.failures === this.failedAtStart) {
      this.reporter.notice(`s3dlio: ${this.operation}: no objects below ${prefix}`);
    }
    const summary: TaskSummary = {
      operation: this.operation,
      objects: this.objects,
      bytes: this.bytes,
      failed: this.reporter.failures - this.failedAtStart,
      seconds: this.seconds,
      movesBytes: this.totals.movesBytes !== false,
    };
    this.reporter.summary(summary);
    return summary;
  }

  /** Stops drawing, leaving the last state on screen. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.stopDrawing();
  }

  /** Erases the spinner line so that another line can be printed. */
  clearLine(): void {
    if (this.spinner) this.reporter.options.stderr.write('\r\x1b[2K');
  }

  private draw(): void {
    const { stderr } = this.reporter.options;
    const byBytes = this.totals.bytes !== undefined && this.totals.bytes > 0;
    const total = byBytes ? this.totals.bytes : this.totals.objects;
    if (total !== undefined && total > 0) {
      const unit = byBytes ? '{done} / {size}' : '{value} / {total} objects';
      this.bar = new SingleBar({
        stream: stderr,
        format: `${this.operation} [{bar}] {percentage}% | ${unit} | {objects} objects | {rate} | ETA {eta_formatted}`,
        hideCursor: true,
        barCompleteChar: '█',
        barIncompleteChar: '░',
        barsize: 24,
        etaBuffer: 50,
        fps: 8,
      });
      this.bar.start(total, byBytes ? this.bytes : this.objects, this.payload());
      return;
    }
    this.spinner = setInterval(() => this.spin(), 100);
    this.spinner.unref();
  }

  private spin(): void {
    this.frame = (this.frame + 1) % SPINNER.length;
    const text =
      this.totals.movesBytes === false
        ? `${SPINNER[this.frame]} ${this.operation}: ${this.objects} objects`
        : `${SPINNER[this.frame]} ${this.operation}: ${this.objects} objects, ${formatBytes(this.bytes)}, ` +
          `${formatRate(this.bytes, this.seconds)}`;
    this.reporter.options.stderr.write(`\r\x1b[2K${text}`);
  }

  private payload(): Record<string, string | number> {
    return {
      done: formatBytes(this.bytes),
      size: formatBytes(this.totals.bytes ?? 0),
      objects: this.objects,
      rate:
        this.totals.movesBytes === false
          ? `${(this.objects / Math.max(this.seconds, 1e-6)).toFixed(1)} objects/s`
          : formatRate(this.bytes, this.seconds),
    };
  }

  private update(): void {
    if (!this.bar) return;
    const byBytes = this.totals.bytes !== undefined && this.totals.bytes > 0;
    this.bar.update(byBytes ? this.bytes : this.objects, this.payload());
  }

  private stopDrawing(): void {
    if (this.bar) {
      this.bar.update(this.payload());
      this.bar.stop();
      this.bar = undefined;
    }
    if (this.spinner) {
      clearInterval(this.spinner);
      this.spin();
      this.reporter.options.stderr.write('\n');
      this.spinner = undefined;
    }
  }
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}

function round(value: number): number {
  return Math.round(value * 1000) / 1000;
}

/**
 * The code of an error as `toS3dlioError` returns it (an S3dlioError, or an argument error with
 * its Node code): always one the README documents, `ERR_UNEXPECTED` for anything else.
 */
function documentedCode(error: Error): ErrorCode {
  const { code } = error as { code?: unknown };
  return isErrorCode(code) ? code : 'ERR_UNEXPECTED';
}

/** `message [code]`, with the URI in front when the message lacks it. */
export function describe(error: Error, fallbackUri = ''): string {
  const { code, uri = fallbackUri } = error as Partial<S3dlioError>;
  const withUri = uri && !error.message.includes(uri) ? `${uri}: ${error.message}` : error.message;
  return code === undefined ? withUri : `${withUri} [${code}]`;
}

function causeChain(error: Error): string {
  const lines: string[] = [];
  let cause: unknown = error.cause;
  while (cause instanceof Error) {
    lines.push(`  caused by: ${cause.message}`);
    cause = cause.cause;
  }
  if (error.stack) lines.push(error.stack);
  return lines.join('\n');
}
