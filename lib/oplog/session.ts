/**
 * `startOpLog` / `stopOpLog`: one op-log per process, written to a local file or to an object of
 * any store, zstd-compressed when its name ends in `.zst`.
 */
import { promises as fs } from 'fs';
import * as os from 'os';
import * as path from 'path';

import { S3dlioError, toS3dlioError } from '../errors';
import { expectKnownOptions, optionKeys } from '../internal/option-keys';
import type { ObjectStore } from '../object-store';
import { storeFor } from '../stores';
import { expectString, invalidType, optionalBoolean, optionalPositiveInteger, outOfRange } from '../validate';
import { activeOpLog, markUnlogged, setActiveOpLog } from './active';
import { localLogFile } from './location';
import { type OpLogSink, type OpLogSummary, OpLogRecorder } from './recorder';

/** Options of {@link startOpLog}. */
export interface OpLogOptions {
  /** The `client_id` column (default: the host name). Tabs and newlines are refused. */
  clientId?: string;
  /** Nanoseconds added to every timestamp, for a client whose clock is known to be off (default 0). */
  clockOffsetNs?: number;
  /**
   * When the queue of lines not yet written is full: false (default) makes operations wait for
   * room, so no line is lost; true drops lines and counts them (reported by `stopOpLog` and in a
   * last comment line of the log).
   */
  lossy?: boolean;
  /** Lines queued at most (default 65,536). */
  queueLines?: number;
  /** zstd frames (default: when the name ends in `.zst`) or plain text. */
  compress?: boolean;
  /**
   * A log written to an object: the store to write it through (default: a new store for its
   * scheme, with default options). Its requests are not logged.
   */
  store?: ObjectStore;
}

const OPTION_KEYS = optionKeys<OpLogOptions>()({
  clientId: true,
  clockOffsetNs: true,
  lossy: true,
  queueLines: true,
  compress: true,
  store: true,
});

/** A batch (one zstd frame) is cut at this many lines, or a second after its first line. */
const FRAME_LINES = 2048;
const FLUSH_INTERVAL_MS = 1000;

let starting = false;

/**
 * Starts recording every operation of every store (cloud requests, local reads and writes, the
 * RangeEngine's ranges, writers' parts, batches, the loader, checkpoints) as a line of a
 * warp-compatible TSV op-log at `target`: a local path, or a URI of any store. Lines are written
 * in the background; `stopOpLog()` flushes and closes the log. One log runs at a time
 * (ERR_ALREADY_EXISTS otherwise).
 */
export async function startOpLog(target: string, options?: OpLogOptions): Promise<void> {
  const name = expectString(target, 'target');
  const opts = expectKnownOptions(options, OPTION_KEYS, 'startOpLog');
  const clientId = opts.clientId === undefined ? os.hostname() : expectString(opts.clientId, 'options.clientId');
  if (/[\t\r\n]/.test(clientId)) throw outOfRange('options.clientId', 'a name without tabs or newlines', clientId);
  const clockOffsetNs = opts.clockOffsetNs ?? 0;
  if (typeof clockOffsetNs !== 'number') throw invalidType('options.clockOffsetNs', 'an integer', clockOffsetNs);
  if (!Number.isSafeInteger(clockOffsetNs)) throw outOfRange('options.clockOffsetNs', 'a safe integer', clockOffsetNs);
  const lossy = optionalBoolean(opts.lossy, 'options.lossy', false);
  const queueLines = optionalPositiveInteger(opts.queueLines, 'options.queueLines', 65_536);
  const compress = optionalBoolean(opts.compress, 'options.compress', name.endsWith('.zst'));
  if (opts.store !== undefined && (typeof opts.store !== 'object' || opts.store === null)) {
    throw invalidType('options.store', 'an ObjectStore', opts.store);
  }
  const running = activeOpLog();
  if (running !== undefined || starting) {
    throw new S3dlioError('ERR_ALREADY_EXISTS', `startOpLog ${name}: an op-log is already running; stopOpLog() first`, {
      uri: name,
      operation: 'startOpLog',
    });
  }
  starting = true;
  try {
    const sink = await openSink(name, opts.store);
    let recorder: OpLogRecorder;
    try {
      recorder = new OpLogRecorder(sink, {
        clientId,
        clockOffsetNs,
        lossy,
        queueLines,
        compress,
        frameLines: FRAME_LINES,
        flushIntervalMs: FLUSH_INTERVAL_MS,
        name,
      });
    } catch (error) {
      await sink.abort().catch(() => undefined); // the recorder's error is the one to report
      throw error;
    }
    // Open when this resolves: the formatter thread is up and the header written.
    try {
      await recorder.ready();
    } catch (error) {
      await recorder.stop().catch(() => undefined); // the first error is the one to report
      throw error;
    }
    setActiveOpLog(recorder);
    flushOnExit();
  } finally {
    starting = false;
  }
}

let exitHookInstalled = false;

/**
 * A process whose work ends with a log still running writes it out when its event loop empties
 * (`beforeExit`), as if it had called stopOpLog; `process.exit()` and signals do not wait: what was
 * recorded in the last second is lost then, whole lines before it are kept.
 */
function flushOnExit(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('beforeExit', () => {
    if (activeOpLog() === undefined) return;
    stopOpLog().catch((error: unknown) => {
      process.emitWarning(`the op-log could not be closed at exit: ${(error as Error).message}`, {
        code: 'S3DLIO_OPLOG_FAILED',
      });
    });
  });
}

/**
 * Stops the op-log: writes what is queued, closes the log (durable once this resolves), and
 * tells how many lines were written and dropped. Resolves to undefined when no log runs. A write
 * of the log that failed is thrown here (it was also emitted as a warning when it happened).
 */
export async function stopOpLog(): Promise<OpLogSummary | undefined> {
  const recorder = activeOpLog();
  if (recorder === undefined) return undefined;
  setActiveOpLog(undefined);
  return recorder.stop();
}

/** A local file (a path or a file:// / direct:// URI) or an object written through a store. */
async function openSink(name: string, store: ObjectStore | undefined): Promise<OpLogSink> {
  const file = localLogFile(name, 'target');
  if (file !== undefined) return fileSink(file, name);
  const through = store ?? storeFor(name, {});
  markUnlogged(through);
  const writer = through.createWriter(name);
  return {
    write: (bytes) => writer.write(bytes),
    close: async () => {
      await writer.close();
    },
    abort: () => writer.abort(),
  };
}

async function fileSink(file: string, name: string): Promise<OpLogSink> {
  let handle: fs.FileHandle;
  try {
    // As a put to file:// does: the directories it names are made.
    await fs.mkdir(path.dirname(file), { recursive: true });
    handle = await fs.open(file, 'w');
  } catch (error) {
    throw toS3dlioError(error, 'startOpLog', name);
  }
  return {
    write: async (bytes) => {
      await handle.write(bytes);
    },
    close: async () => {
      try {
        await handle.sync();
      } finally {
        await handle.close();
      }
    },
    abort: () => handle.close(),
  };
}
