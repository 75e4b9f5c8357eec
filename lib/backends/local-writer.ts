/**
 * The streaming-writer sink of file:// and direct://: parts are written at their offsets into a
 * hidden temporary file beside the destination (O_DIRECT from aligned part buffers for direct://),
 * which is renamed into place by `close` and deleted by `abort`.
 */
import { constants as fsConstants, promises as fs } from 'fs';
import type { FileHandle } from 'fs/promises';
import * as path from 'path';

import { S3dlioError } from '../errors';
import type { PartSink } from '../engine/writer';
import { ensureParent, tempPathFor } from '../internal/local-paths';
import * as native from '../native';
import { warnOnce } from '../operation';

/** How the local sink writes. */
export interface LocalSinkSettings {
  direct: boolean;
  fsync: boolean;
  allowBufferedFallback: boolean;
  /** Writes whole small objects (the store's atomic put). */
  putWhole(bytes: Uint8Array, signal: AbortSignal): Promise<void>;
}

const DIRECT_ALIGNMENT = 4096;

function alignUp(value: number, alignment: number): number {
  return Math.ceil(value / alignment) * alignment;
}

/** A PartSink writing a local file. */
export class LocalPartSink implements PartSink {
  readonly maxParts = Number.MAX_SAFE_INTEGER;
  readonly minPartSize = 1;
  readonly partSizeMultiple: number;
  private readonly temp: string;
  private handle: Promise<{ file: FileHandle; direct: boolean }> | undefined;

  constructor(
    private readonly destination: string,
    private readonly settings: LocalSinkSettings,
  ) {
    this.temp = tempPathFor(destination);
    this.partSizeMultiple = settings.direct ? DIRECT_ALIGNMENT : 1;
  }

  allocate(size: number): Uint8Array {
    if (this.settings.direct) return new Uint8Array(native.allocAligned(size, DIRECT_ALIGNMENT));
    const buffer = Buffer.allocUnsafeSlow(size);
    return new Uint8Array(buffer.buffer, buffer.byteOffset, size);
  }

  async uploadPart(_index: number, offset: number, bytes: Uint8Array): Promise<void> {
    const { file, direct } = await this.open();
    // O_DIRECT writes whole aligned blocks: the last part goes out zero-padded (its buffer is a
    // fresh, zeroed, partSize-long allocation) and `complete` cuts the file to its exact size.
    const length = direct ? alignUp(bytes.byteLength, DIRECT_ALIGNMENT) : bytes.byteLength;
    const view = new Uint8Array(bytes.buffer, bytes.byteOffset, length);
    let done = 0;
    while (done < length) {
      const { bytesWritten } = await file.write(view, done, length - done, offset + done);
      done += bytesWritten;
    }
  }

  async complete(totalBytes: number): Promise<{ etag?: string }> {
    const { file, direct } = await this.open();
    if (direct) await file.truncate(totalBytes);
    if (this.settings.fsync) await file.datasync();
    await file.close();
    await fs.rename(this.temp, this.destination);
    return {};
  }

  async putWhole(bytes: Uint8Array, signal: AbortSignal): Promise<{ etag?: string }> {
    await this.settings.putWhole(bytes, signal);
    return {};
  }

  async abort(): Promise<void> {
    const opened = await this.handle?.catch(() => undefined);
    await opened?.file.close().catch(() => undefined); // already closed after a failed complete
    await fs.rm(this.temp, { force: true });
  }

  async storedSize(): Promise<number> {
    return (await fs.stat(this.destination)).size;
  }

  private open(): Promise<{ file: FileHandle; direct: boolean }> {
    this.handle ??= this.openTemp();
    return this.handle;
  }

  private async openTemp(): Promise<{ file: FileHandle; direct: boolean }> {
    await ensureParent(this.destination);
    let direct = this.settings.direct;
    if (direct) {
      const info = await native.directIoInfo(path.dirname(this.destination));
      if (!info.supported) {
        if (!this.settings.allowBufferedFallback) {
          throw new S3dlioError(
            'ERR_DIRECT_IO_UNSUPPORTED',
            `direct I/O is not supported for ${this.destination}: ${info.reason ?? 'unknown reason'}`,
            {
              uri: `direct://${this.destination}`,
            },
          );
        }
        warnOnce(
          'S3DLIO_DIRECT_IO_FALLBACK',
          `direct:// cannot use O_DIRECT for ${this.destination}; writing buffered because allowBufferedFallback is set.`,
        );
        direct = false;
      }
    }
    const flags = fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_EXCL | (direct ? fsConstants.O_DIRECT : 0);
    return { file: await fs.open(this.temp, flags, 0o666), direct };
  }
}
