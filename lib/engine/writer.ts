/**
 * Streaming writers: `createWriter(uri)` cuts what is written into parts and hands them to a
 * backend sink (S3 multipart upload, Azure staged blocks, GCS resumable upload, a temporary file for
 * local schemes) with at most `concurrency` parts in flight. Memory stays within
 * `partSize × (concurrency + 1)` (with zstd, 2 parts more in compression, on a thread of its own):
 * `write` waits while the window is full. Nothing is visible until
 * `close` completes; any failure or `abort` cancels the upload and removes what was staged.
 */
import { constants as bufferConstants } from 'buffer';
import { setMaxListeners } from 'events';

import { Writable } from 'stream';

import { crc32c } from '../native';
import { ZstdFrames } from './zstd';
import { assertAttached } from '../internal/memory';
import { CallSite, S3dlioError, abortError, toS3dlioError } from '../errors';
import { expectKnownOptions, optionKeys } from '../internal/option-keys';
import {
  optionalBoolean,
  optionalEnum,
  optionalIntegerInRange,
  optionalPositiveInteger,
  optionalSignal,
  outOfRange,
  toBytes,
} from '../validate';
import type { ObjectWriter, PartSink, WriteResult, WriterOptions } from '../object-store';

/** Keys of {@link WriterOptions}. */
export const WRITER_KEYS = optionKeys<WriterOptions>()({
  partSize: true,
  concurrency: true,
  contentType: true,
  verify: true,
  compression: true,
  compressionLevel: true,
  checksum: true,
  overwrite: true,
  signal: true,
});

/** The key a writer with these options writes: `.zst` appended when compressing with zstd. */
export function writerUri(uri: string, options: WriterOptions | undefined): string {
  return options?.compression === 'zstd' && !uri.endsWith('.zst') ? `${uri}.zst` : uri;
}

/** Default part size. */
export const DEFAULT_PART_SIZE = 16 * 1024 * 1024;

/** `put` of more bytes than this goes up as a multipart upload (cloud backends). */
export const DEFAULT_MULTIPART_THRESHOLD = 64 * 1024 * 1024;

/**
 * The ObjectWriter of every backend: parts cut from what is written, handed to the backend's
 * PartSink with a bounded window in flight.
 */
export class PartWriter implements ObjectWriter {
  private readonly partSize: number;
  private readonly concurrency: number;
  private readonly verify: boolean;
  /** CRC32C of the stored bytes wanted: by `verify`, or reported by `checksum`. */
  private readonly crcWanted: boolean;
  private readonly checksum: boolean;
  private readonly controller = PartWriter.unlimitedController();
  private readonly callSite = new CallSite();
  private current: Uint8Array | undefined;
  private filled = 0;
  private written = 0;
  private input = 0;
  private crc = 0;
  private readonly compressor: ZstdFrames | undefined;
  private parts = 0;
  private readonly inFlight = new Set<Promise<void>>();
  private readonly spareParts: Uint8Array[] = [];
  /** Parts in flight that are slices of the caller's chunk (not copies). */
  private readonly borrowed = new Set<Promise<void>>();
  private failure: unknown;
  private state: 'open' | 'closing' | 'closed' | 'aborted' = 'open';
  private abortedByCaller = false;
  private cancelled: Promise<void> | undefined;
  private readonly signal: AbortSignal | undefined;

  /**
   * @internal use createWriter. `label` names the operation in errors when a writer serves another
   * one (a local `put` of a large input).
   */
  constructor(
    private readonly uri: string,
    private readonly sink: PartSink,
    options: WriterOptions = {},
    private readonly label?: string,
  ) {
    const opts = expectKnownOptions(options, WRITER_KEYS, 'createWriter');
    this.signal = optionalSignal(opts.signal);
    this.partSize = optionalPositiveInteger(opts.partSize, 'options.partSize', DEFAULT_PART_SIZE);
    // Argument errors (RangeError ERR_OUT_OF_RANGE), thrown by createWriter before anything starts.
    if (this.partSize < sink.minPartSize) {
      throw outOfRange(
        'options.partSize',
        `a part size not below this backend's minimum of ${sink.minPartSize} bytes`,
        this.partSize,
      );
    }
    if (sink.maxPartSize !== undefined && this.partSize > sink.maxPartSize) {
      throw outOfRange(
        'options.partSize',
        `a part size not above this backend's maximum of ${sink.maxPartSize} bytes`,
        this.partSize,
      );
    }
    // One part is one buffer: no larger than Node allows, refused before anything is allocated.
    if (this.partSize > bufferConstants.MAX_LENGTH) {
      throw outOfRange('options.partSize', `an integer up to ${bufferConstants.MAX_LENGTH}`, this.partSize);
    }
    if (sink.partSizeMultiple && this.partSize % sink.partSizeMultiple !== 0) {
      throw outOfRange('options.partSize', `a multiple of ${sink.partSizeMultiple} bytes here`, this.partSize);
    }
    // Checked even where parts go one at a time (GCS): a bad value is never ignored.
    const concurrency = optionalPositiveInteger(opts.concurrency, 'options.concurrency', 4);
    this.concurrency = sink.sequential ? 1 : concurrency;
    this.verify = optionalBoolean(opts.verify, 'options.verify', false);
    this.checksum = optionalBoolean(opts.checksum, 'options.checksum', false);
    this.crcWanted = this.verify || this.checksum;
    const compression = optionalEnum(opts.compression, 'options.compression', ['none', 'zstd'], 'none');
    // Checked without zstd too: a bad level is an error wherever it is passed.
    const level = optionalIntegerInRange(opts.compressionLevel, 'options.compressionLevel', 1, 19, 3);
    this.compressor = compression === 'zstd' ? new ZstdFrames(this.partSize, level) : undefined;
    const onAbort = (): void => void this.abort(this.signal?.reason).catch(() => undefined);
    this.signal?.addEventListener('abort', onAbort, { once: true });
  }

  /** Parts in flight each listen to the writer's signal. */
  private static unlimitedController(): AbortController {
    const controller = new AbortController();
    setMaxListeners(0, controller.signal);
    return controller;
  }

  /** Bytes accepted so far. */
  get bytesWritten(): number {
    return this.written;
  }

  /**
   * Appends `chunk`; waits while `concurrency` parts are in flight (backpressure). The chunk is
   * copied into part buffers, part by part: if its buffer is detached (transferred) before all of
   * it was taken, the write rejects with ERR_BUFFER_DETACHED and the upload is cancelled, so an
   * object missing those bytes can never be stored. Any other failure cancels it too; only a
   * chunk of the wrong type leaves the writer as it was.
   */
  async write(chunk: Uint8Array | ArrayBuffer | ArrayBufferView | string): Promise<void> {
    await this.assertOpen('write');
    try {
      const bytes = toBytes(chunk, 'chunk');
      this.input += bytes.byteLength;
      if (this.compressor) {
        for (const frame of await this.compressor.push(bytes)) await this.append(frame);
        return;
      }
      await this.append(bytes);
      // Parts sent from the chunk itself: the caller may reuse it once they are uploaded.
      if (this.borrowed.size > 0) await Promise.all(this.borrowed);
      this.throwIfFailed();
    } catch (error) {
      if ((error as { code?: unknown }).code !== 'ERR_INVALID_ARG_TYPE') await this.cancel(error);
      throw this.fail(error, 'write');
    }
  }

  /** Adds bytes to the stored stream, dispatching each full part. */
  private async append(data: Uint8Array): Promise<void> {
    const length = data.byteLength;
    let bytes = data;
    while (bytes.byteLength > 0) {
      if (this.sink.sendsCallerMemory && this.filled === 0 && bytes.byteLength >= this.partSize && !this.compressor) {
        // A whole part of the chunk goes as it is: the sink checks it stays attached.
        const part = bytes.subarray(0, this.partSize);
        if (this.crcWanted) this.crc = crc32c(part, this.crc);
        this.written += this.partSize;
        bytes = bytes.subarray(this.partSize);
        const pending = bytes.byteLength; // read now: a detached view reads as 0 bytes
        await this.dispatch(false, part);
        if (pending > 0) assertAttached(data, length, 'chunk');
        continue;
      }
      this.current ??=
        this.spareParts.pop() ??
        (this.sink.allocate
          ? this.sink.allocate(this.partSize)
          : new Uint8Array(Buffer.allocUnsafeSlow(this.partSize).buffer, 0, this.partSize));
      const take = Math.min(bytes.byteLength, this.partSize - this.filled);
      this.current.set(bytes.subarray(0, take), this.filled);
      if (this.crcWanted) this.crc = crc32c(bytes.subarray(0, take), this.crc);
      this.filled += take;
      this.written += take;
      bytes = bytes.subarray(take);
      if (this.filled === this.partSize) {
        const pending = bytes.byteLength; // read now: a detached view reads as 0 bytes
        await this.dispatch(false);
        // The caller's buffer may have been transferred while this part went out.
        if (pending > 0) assertAttached(data, length, 'chunk');
      }
    }
  }

  /** Uploads what is left and makes the object visible. */
  async close(): Promise<WriteResult> {
    await this.assertOpen('close');
    this.state = 'closing';
    try {
      if (this.compressor) for (const frame of await this.compressor.flush()) await this.append(frame);
      let etag: string | undefined;
      const multipart = this.parts > 0;
      if (!multipart) {
        // Small enough for one request: no multipart upload is ever created.
        const whole = (this.current ?? new Uint8Array(0)).subarray(0, this.filled);
        ({ etag } = await this.sink.putWhole(whole, this.controller.signal));
        this.parts = 1;
      } else {
        if (this.filled > 0) await this.dispatch(true);
        await this.drain();
        this.throwIfFailed();
        ({ etag } = await this.sink.complete(this.written, this.parts, this.controller.signal));
      }
      if (this.verify) await this.checkStored(multipart);
      this.state = 'closed';
      return {
        uri: this.uri,
        bytes: this.input,
        storedBytes: this.written,
        parts: this.parts,
        ...(etag !== undefined && { etag }),
        ...(this.checksum && { crc32c: (this.crc >>> 0).toString(16).padStart(8, '0') }),
      };
    } catch (error) {
      await this.cancel(error);
      throw this.fail(error, 'close');
    }
  }

  /** Cancels the upload; nothing becomes visible. Resolves once staged data is removed. */
  async abort(reason?: unknown): Promise<void> {
    if (this.state === 'closed') return;
    // Aborted while nothing had failed: later calls are told the writer is closed, not a failure.
    if (this.state === 'open' && this.failure === undefined) this.abortedByCaller = true;
    await this.cancel(reason ?? new Error('aborted'));
  }

  /** A Node Writable over this writer (`pipeline(source, writer.toWritable())`). */
  toWritable(): Writable {
    return new Writable({
      highWaterMark: this.partSize,
      write: (chunk: Buffer, _encoding, callback) => {
        this.write(chunk).then(() => callback(), callback);
      },
      final: (callback) => {
        this.close().then(() => callback(), callback);
      },
      destroy: (error, callback) => {
        // abort() never rejects: a failed cleanup is reported as a warning by cancel().
        if (error && this.state === 'open') void this.abort(error).then(() => callback(error));
        else callback(error);
      },
    });
  }

  /** Sends the current part, or `borrowed` (a whole part of the caller's chunk, not a copy). */
  private async dispatch(last: boolean, borrowed?: Uint8Array): Promise<void> {
    const index = this.parts;
    if (index + 1 > this.sink.maxParts) {
      const error = new S3dlioError(
        'ERR_TOO_MANY_PARTS',
        `write ${this.uri}: more than ${this.sink.maxParts} parts of ${this.partSize} bytes; use a larger partSize`,
        { uri: this.uri, operation: 'write' },
      );
      await this.cancel(error);
      throw error;
    }
    const buffer = borrowed ?? (this.current as Uint8Array);
    const bytes = borrowed ?? buffer.subarray(0, this.filled);
    const offset = index * this.partSize;
    this.parts++;
    if (!borrowed) {
      this.current = undefined;
      this.filled = 0;
    }
    const upload = this.sink.uploadPart(index, offset, bytes, this.controller.signal).then(
      () => {
        if (this.sink.recyclesParts && !borrowed) this.spareParts.push(buffer);
      },
      (error: unknown) => {
        this.failure ??= error;
        this.controller.abort(error);
        // A failed writer cleans up by itself (a temp file filling the disk, a multipart upload
        // billed by the service), not only when the caller gets to abort().
        void this.cancel(error);
      },
    );
    this.inFlight.add(upload);
    if (borrowed) this.borrowed.add(upload);
    void upload.finally(() => {
      this.inFlight.delete(upload);
      this.borrowed.delete(upload);
    });
    // Backpressure: the caller waits while the window is full.
    while (this.inFlight.size >= this.concurrency && !last) await Promise.race(this.inFlight);
    this.throwIfFailed();
  }

  private async drain(): Promise<void> {
    await Promise.all(this.inFlight);
  }

  private throwIfFailed(): void {
    if (this.failure !== undefined) throw this.failure;
    // Stryker disable next-line StringLiteral: fail() rebuilds an abort of the signal with the caller's operation
    if (this.signal?.aborted) throw abortError('write', this.uri, this.signal.reason);
    if (this.state === 'aborted') throw abortError('write', this.uri, 'the writer was aborted');
  }

  private cancel(reason: unknown): Promise<void> {
    if (this.cancelled) return this.cancelled;
    this.state = 'aborted';
    this.failure ??= reason;
    this.controller.abort(reason);
    this.cancelled = (async () => {
      await Promise.allSettled(this.inFlight);
      try {
        await this.sink.abort();
      } catch (error) {
        // The upload's own failure is what the caller gets; a failed cleanup must still be seen.
        process.emitWarning(
          `${this.uri}: the upload failed or was aborted, and removing what it had staged failed too ` +
            `(${toS3dlioError(error, 'abort', this.uri).message}); the storage may keep the staged parts`,
          { code: 'S3DLIO_UPLOAD_CLEANUP_FAILED', type: 'S3dlioWarning' },
        );
      }
    })();
    return this.cancelled;
  }

  private async checkStored(multipart: boolean): Promise<void> {
    const stored = await this.sink.storedSize(this.controller.signal);
    if (stored !== this.written) {
      throw new S3dlioError(
        'ERR_VERIFY_FAILED',
        `close ${this.uri}: ${this.written} bytes were written but the stored object has ${stored}`,
        {
          uri: this.uri,
          operation: 'close',
        },
      );
    }
    const checksum = await this.sink.storedChecksum?.(this.controller.signal, multipart);
    if (checksum?.algorithm !== 'crc32c') return;
    const expected = Buffer.alloc(4);
    expected.writeUInt32BE(this.crc);
    if (checksum.base64 !== expected.toString('base64')) {
      throw new S3dlioError(
        'ERR_VERIFY_FAILED',
        `close ${this.uri}: the stored CRC32C (${checksum.base64}) differs from the bytes written (${expected.toString('base64')})`,
        { uri: this.uri, operation: 'close' },
      );
    }
  }

  /** Rejects unless open; after an abort, only once the staged data has been removed. */
  private async assertOpen(operation: string): Promise<void> {
    if (this.state === 'open') return;
    if (this.state === 'aborted') {
      await this.cancelled?.catch(() => undefined);
      if (!this.abortedByCaller || this.signal?.aborted) throw this.fail(this.failure, operation);
    }
    throw this.callSite.attach(
      new S3dlioError('ERR_WRITER_CLOSED', `${operation} ${this.uri}: the writer is ${this.state}`, {
        uri: this.uri,
        operation,
        ...(this.abortedByCaller && { cause: this.failure }),
      }),
    );
  }

  private fail(error: unknown, step: string): Error {
    const operation = this.label ?? step;
    if (this.signal?.aborted) return this.callSite.attach(abortError(operation, this.uri, this.signal.reason));
    return this.callSite.attach(toS3dlioError(error, operation, this.uri));
  }
}
