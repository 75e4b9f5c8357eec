/**
 * The streaming-writer sink of file:// and direct://: parts are written at their offsets into a
 * hidden temporary file beside the destination (O_DIRECT from aligned part buffers for direct://),
 * which is renamed into place by `close` and deleted by `abort` (which the writer also calls by
 * itself as soon as a part or the completion fails: ENOSPC never leaves a temp file behind).
 * Part buffers are addon memory the writer alone holds, so `putWhole` hands them to the native
 * writer without a copy.
 */
import { constants as fsConstants, promises as fs } from 'fs';
import type { FileHandle } from 'fs/promises';
import * as path from 'path';

import { S3dlioError } from '../../errors';
import { ensureParent, tempPathFor } from './paths';
import * as native from '../../native';
import { warnOnce } from '../../operation';
import type { PartSink } from '../../object-store';

/** How the local sink writes. */
export interface LocalSinkSettings {
  direct: boolean;
  fsync: boolean;
  /** false: an existing destination is ERR_ALREADY_EXISTS and stays as it is. */
  overwrite: boolean;
  allowBufferedFallback: boolean;
  /** direct:// alignment option (0: the default, 4096). */
  alignment?: number;
  /** Writes whole small objects (the store's atomic put). */
  putWhole(bytes: Uint8Array, signal: AbortSignal): Promise<void>;
}

const DIRECT_ALIGNMENT = 4096;

function alignUp(value: number, alignment: number): number {
  return Math.ceil(value / alignment) * alignment;
}

/** fsync of a directory, so a rename into it survives a crash (as `put` with `fsync` does). */
async function syncDirectory(directory: string): Promise<void> {
  const handle = await fs.open(directory, fsConstants.O_RDONLY | fsConstants.O_DIRECTORY);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** A PartSink writing a local file. */
export class LocalPartSink implements PartSink {
  readonly maxParts = Number.MAX_SAFE_INTEGER;
  readonly minPartSize = 1;
  readonly partSizeMultiple: number;
  // uploadPart has written the bytes when it resolves: the writer may reuse the buffer.
  readonly recyclesParts = true;
  private readonly alignment: number;
  private readonly temp: string;
  private handle: Promise<{ file: FileHandle; direct: boolean }> | undefined;

  constructor(
    private readonly destination: string,
    private readonly settings: LocalSinkSettings,
  ) {
    this.temp = tempPathFor(destination);
    this.alignment = Math.max(DIRECT_ALIGNMENT, settings.alignment ?? 0);
    this.partSizeMultiple = settings.direct ? this.alignment : 1;
  }

  allocate(size: number): Uint8Array {
    return new Uint8Array(native.allocAligned(size, this.alignment));
  }

  async uploadPart(_index: number, offset: number, bytes: Uint8Array): Promise<void> {
    const { file, direct } = await this.open();
    // O_DIRECT writes whole aligned blocks: the last part goes out zero-padded (its buffer is a
    // partSize-long allocation of the writer's) and `complete` cuts the file to its exact size.
    const length = direct ? alignUp(bytes.byteLength, this.alignment) : bytes.byteLength;
    const view = new Uint8Array(bytes.buffer, bytes.byteOffset, length);
    view.fill(0, bytes.byteLength); // a reused buffer holds an earlier part there
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
    if (this.settings.overwrite) {
      await fs.rename(this.temp, this.destination);
    } else {
      // A hard link never replaces its target: of two writers of one new file exactly one wins.
      // Node has no renameat2(RENAME_NOREPLACE); the link is as atomic for the destination.
      // (EEXIST is ERR_ALREADY_EXISTS; the temporary file goes with the writer's abort.)
      await fs.link(this.temp, this.destination);
      await fs.rm(this.temp, { force: true });
    }
    if (this.settings.fsync) await syncDirectory(path.dirname(this.destination));
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
