/**
 * The thread writers compress on: one worker per process, started on first use, that turns a
 * part's bytes into one zstd frame. A part of 8 MiB takes 35-55 ms at levels 1-9 and half a second
 * at level 19 in the WebAssembly codec; on the caller's thread that would stall its event loop for
 * as long. The worker holds the process open only while a frame is in flight.
 */
import { Worker } from 'worker_threads';

import { S3dlioError } from '../errors';
import { workerScript } from '../internal/worker-script';

/** A frame to compress: `bytes` is transferred to the thread. */
export interface ZstdRequest {
  id: number;
  bytes: Uint8Array;
  level: number;
}

/** The compressed frame (its buffer transferred back), or why there is none. */
export type ZstdReply = { id: number; bytes: Uint8Array } | { id: number; error: string };

interface Waiting {
  resolve(bytes: Uint8Array): void;
  reject(error: Error): void;
}

/** One worker and the frames it owes; a failed worker fails only its own frames. */
class CompressorThread {
  readonly worker: Worker;
  private readonly waiting = new Map<number, Waiting>();
  private nextId = 0;
  gone = false;

  constructor(code: string) {
    this.worker = new Worker(code, { eval: true });
    this.worker.unref();
    this.worker.on('message', (reply: ZstdReply) => this.settle(reply));
    this.worker.on('error', (error) => this.fail(error));
    this.worker.on('exit', (exitCode) => this.fail(new Error(`the zstd thread exited (code ${exitCode})`)));
  }

  compress(bytes: Uint8Array, level: number): Promise<Uint8Array> {
    return new Promise((resolve, reject) => {
      const id = this.nextId++;
      this.waiting.set(id, { resolve, reject });
      // Referenced while frames are owed: a caller awaiting one keeps the process alive.
      if (this.waiting.size === 1) this.worker.ref();
      const request: ZstdRequest = { id, bytes, level };
      this.worker.postMessage(request, [bytes.buffer as ArrayBuffer]);
    });
  }

  private settle(reply: ZstdReply): void {
    const waiting = this.waiting.get(reply.id);
    if (!waiting) return;
    this.waiting.delete(reply.id);
    if (this.waiting.size === 0) this.worker.unref();
    if ('bytes' in reply) waiting.resolve(reply.bytes);
    else waiting.reject(new S3dlioError('ERR_UNEXPECTED', `zstd compression failed: ${reply.error}`));
  }

  private fail(cause: Error): void {
    this.gone = true;
    const owed = [...this.waiting.values()];
    this.waiting.clear();
    for (const waiting of owed) {
      waiting.reject(
        new S3dlioError('ERR_UNEXPECTED', `the zstd compression thread failed: ${cause.message}`, { cause }),
      );
    }
  }
}

let thread: CompressorThread | undefined;

/**
 * One zstd frame holding `bytes`, compressed on the compression thread. `bytes` must own its
 * whole buffer, which is transferred (detached here).
 */
export function compressOffThread(bytes: Uint8Array, level: number): Promise<Uint8Array> {
  if (!thread || thread.gone) {
    const code = workerScript(__dirname, 'zstd-worker');
    if (code === undefined) {
      return Promise.reject(
        new S3dlioError(
          'ERR_NOT_FOUND',
          'zstd compression: its thread script zstd-worker.js is missing beside the library (a bundler must copy it)',
        ),
      );
    }
    thread = new CompressorThread(code);
  }
  return thread.compress(bytes, level);
}
