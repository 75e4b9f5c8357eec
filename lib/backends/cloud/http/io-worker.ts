/**
 * The body of an I/O thread (io-threads.ts): an {@link HttpPool} of its own, with its own sockets,
 * sending the requests the main thread signed. A response body lands where the main thread said
 * (`sink`, shared memory) when its length is the one expected, else in a buffer of its own that is
 * transferred back, not copied. The main thread checks the answer and decides what it means.
 */
import { setFlagsFromString } from 'v8';
import { runInNewContext } from 'vm';
import { parentPort, workerData } from 'worker_threads';

import { HttpPool, type Origin, type PoolSettings } from './pool';
import type { ResponseHead } from './connection';
import { MessageBatch } from './message-batch';

/** A request from the main thread. */
export interface SendMessage {
  type: 'send';
  id: number;
  origin: Origin;
  method: string;
  path: string;
  headers: Record<string, string>;
  /** Shared memory, or a private copy made for this request. */
  body?: Uint8Array;
  /** Where a 2xx body of exactly this length goes (shared memory). */
  sink?: Uint8Array;
}

/** The main thread gave up on a request (aborted, timed out). */
export interface AbortMessage {
  type: 'abort';
  id: number;
}

/** An error as it crosses threads: the fields the store's classifier reads, and its cause. */
export interface ErrorRecord {
  name: string;
  message: string;
  code?: string | number;
  errno?: number;
  syscall?: string;
  retryStale?: boolean;
  cause?: ErrorRecord;
}

/** The answer to a {@link SendMessage}. */
export type ReplyMessage =
  | { id: number; ok: true; head: ResponseHead; placed: boolean; body: Uint8Array }
  | { id: number; ok: false; error: ErrorRecord };

/** Settings of every pool of the thread. */
export interface WorkerSettings {
  pool: PoolSettings;
}

/** `error` as plain data (an Error's own fields do not survive a structured clone). */
export function recordOf(error: unknown, depth = 0): ErrorRecord {
  if (!(error instanceof Error)) return { name: 'Error', message: String(error) };
  const fields = error as Error & { code?: unknown; errno?: unknown; syscall?: unknown; retryStale?: unknown };
  return {
    name: error.name,
    message: error.message,
    ...((typeof fields.code === 'string' || typeof fields.code === 'number') && { code: fields.code }),
    ...(typeof fields.errno === 'number' && { errno: fields.errno }),
    ...(typeof fields.syscall === 'string' && { syscall: fields.syscall }),
    ...(fields.retryStale === true && { retryStale: true }),
    ...(error.cause !== undefined && depth < 4 && { cause: recordOf(error.cause, depth + 1) }),
  };
}

/**
 * Shared memory this thread saw is freed only when this thread's garbage collector drops its
 * views too, and a thread that allocates little collects rarely: the buffers of many finished
 * reads and uploads would stay resident. After every {@link RELEASE_EVERY} bytes of finished sinks
 * and bodies the thread collects, so the memory a caller dropped is returned.
 */
const RELEASE_EVERY = 64 * 1024 * 1024;
setFlagsFromString('--expose-gc');
const collect = runInNewContext('gc') as () => void;
// The flag is the process's: contexts made later (anyone's) do not get a `gc` from it.
setFlagsFromString('--no-expose-gc');
let finished = 0;

function serve(port: NonNullable<typeof parentPort>, settings: WorkerSettings): void {
  const pool = new HttpPool(settings.pool);
  const inFlight = new Map<number, AbortController>();
  const replies = new MessageBatch<ReplyMessage>((items, transfer) => port.postMessage(items, transfer));

  const send = async (message: SendMessage): Promise<void> => {
    const controller = new AbortController();
    inFlight.set(message.id, controller);
    const { sink } = message;
    let placed = false;
    try {
      const response = await pool.send(message.origin, {
        method: message.method,
        path: message.path,
        headers: message.headers,
        body: message.body,
        signal: controller.signal,
        target: ({ headers }) => {
          // Only a body of the announced, expected length goes into shared memory unseen.
          if (sink === undefined || /\bchunked\b/i.test(headers['transfer-encoding'] ?? '')) return undefined;
          if (headers['content-length'] !== String(sink.byteLength)) return undefined;
          placed = true;
          return sink;
        },
      });
      const { body } = response;
      const head = { status: response.status, headers: response.headers };
      if (placed) {
        replies.add({ id: message.id, ok: true, head, placed, body: new Uint8Array(0) });
        return;
      }
      // A buffer the pool allocated for this body alone is handed over; anything else is copied.
      const whole = body.byteOffset === 0 && body.byteLength === body.buffer.byteLength;
      const owned = whole && body.buffer instanceof ArrayBuffer ? body : new Uint8Array(body);
      replies.add({ id: message.id, ok: true, head, placed, body: owned }, owned.buffer as ArrayBuffer);
    } catch (error) {
      replies.add({ id: message.id, ok: false, error: recordOf(error) });
    } finally {
      inFlight.delete(message.id);
      finished += (sink?.byteLength ?? 0) + (message.body?.byteLength ?? 0);
      if (finished >= RELEASE_EVERY) {
        finished = 0;
        collect();
      }
    }
  };

  port.on('message', (messages: Array<SendMessage | AbortMessage>) => {
    for (const message of messages) {
      if (message.type === 'abort') inFlight.get(message.id)?.abort(new Error('the main thread gave up the request'));
      else void send(message);
    }
  });
}

// Only as the entry point of an I/O thread (never in another worker that happens to load it).
if (parentPort && (workerData as { ioThread?: unknown } | null)?.ioThread === true) {
  serve(parentPort, workerData as WorkerSettings);
}
