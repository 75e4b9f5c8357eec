/**
 * Cloud object bodies over several threads (`ioThreads`). The main thread keeps what needs the
 * SDKs and the store's state (endpoints, signing, credentials, retries, timeouts, the checks of
 * each answer); each I/O thread owns its sockets and moves the bytes (io-worker.ts). A body the
 * caller will receive lands straight in its final place: shared memory the main thread named
 * before the request left (RangeEngine ranges, writer parts, getInto into shared memory), or a
 * buffer the thread allocated for it and hands over without a copy.
 */
import { join } from 'path';
import { types } from 'util';
import { Worker } from 'worker_threads';

import { bufferDetached, isDetached, privateCopy } from '../../../internal/memory';
import { workerScript } from '../../../internal/worker-script';
import { badArgument } from '../../../validate';
import type { IoThreadStats } from '../../../stats';
import type { HttpResponse } from './connection';
import type { HttpRequest, Origin, PoolSettings } from './pool';
import type { AbortMessage, ErrorRecord, ReplyMessage, SendMessage, WorkerSettings } from './io-worker';
import { MessageBatch } from './message-batch';

/** What sends requests: a pool on this thread (HttpPool), or I/O threads (ThreadedTransport). */
export interface HttpTransport {
  send(origin: Origin, request: HttpRequest): Promise<HttpResponse>;
  /** The I/O threads that move bodies, if any: memory they fill in place must be shared. */
  readonly threads?: IoThreads;
}

/** Threads with nothing to do for this long are stopped (and started again when needed). */
const IDLE_MS = 5_000;

let bootstrap: string | undefined;

/** The code a thread starts with: the compiled worker beside this module, or its TypeScript source. */
function workerCode(): string {
  return (bootstrap ??= bootstrapCode());
}

function bootstrapCode(): string {
  const code = workerScript(__dirname, 'io-worker');
  if (code === undefined) {
    // A bundle that left the worker's file behind: said when the store is made, not per request.
    throw badArgument(
      `options.ioThreads needs the library's I/O thread script ${join(__dirname, 'io-worker.js')}, which is missing (a bundler must copy it beside the library)`,
    );
  }
  return code;
}

/** An error sent back by a thread, rebuilt with the fields the store classifies. */
function errorFrom(record: ErrorRecord): Error {
  const error = new Error(record.message, record.cause && { cause: errorFrom(record.cause) });
  error.name = record.name;
  const fields = error as Error & Record<string, unknown>;
  if (record.code !== undefined) fields.code = record.code;
  if (record.errno !== undefined) fields.errno = record.errno;
  if (record.syscall !== undefined) fields.syscall = record.syscall;
  if (record.retryStale) Object.defineProperty(error, 'retryStale', { value: true });
  return error;
}

/** A request waiting for its thread's answer. */
interface Waiting {
  resolve: (reply: ReplyMessage) => void;
  reject: (error: unknown) => void;
  thread: IoThread;
}

/** One I/O thread and the requests it carries. */
class IoThread {
  readonly worker: Worker;
  inFlight = 0;
  exited = false;

  constructor(settings: WorkerSettings, onReply: (reply: ReplyMessage) => void, onExit: (error: Error) => void) {
    this.worker = new Worker(workerCode(), { eval: true, workerData: { ...settings, ioThread: true } });
    this.worker.unref();
    this.worker.on('message', (replies: ReplyMessage[]) => replies.forEach(onReply));
    this.worker.on('error', (error) => onExit(error));
    this.worker.on('exit', (exitCode) => {
      this.exited = true;
      onExit(new Error(`an I/O thread stopped (exit code ${exitCode})`));
    });
  }

  private readonly outbox = new MessageBatch<SendMessage | AbortMessage>((items, transfer) =>
    this.worker.postMessage(items, transfer),
  );

  /** Sends `message` with the others of this turn; `transfer`: a buffer handed over with it. */
  post(message: SendMessage | AbortMessage, transfer?: ArrayBuffer): void {
    this.outbox.add(message, transfer);
  }

  /** Holds the process open while a request is in flight, and only then. */
  adjust(delta: number): void {
    this.inFlight += delta;
    if (this.inFlight === 1 && delta > 0) this.worker.ref();
    else if (this.inFlight === 0) this.worker.unref();
  }
}

/**
 * A group of I/O threads shared by every endpoint of a store. Each thread has a pool per origin
 * with `maxSockets / threads` sockets (rounded up), so the store's socket limit per endpoint holds.
 */
export class IoThreads {
  private threads: IoThread[] = [];
  private readonly waiting = new Map<number, Waiting>();
  private nextId = 1;
  private idleTimer: NodeJS.Timeout | undefined;
  /** Body bytes that could not land in place and were copied on the main thread. */
  copiedBytes = 0;

  constructor(
    readonly count: number,
    private readonly settings: PoolSettings,
  ) {
    workerCode(); // a missing script is an error now
  }

  /** What stats() reports of the threads. */
  stats(): IoThreadStats {
    const running = this.threads.filter((thread) => !thread.exited);
    return {
      threads: this.count,
      running: running.length,
      inFlight: this.waiting.size,
      copiedBytes: this.copiedBytes,
    };
  }

  /** Sends `message` on the least busy thread and settles with its answer. */
  exchange(
    message: Omit<SendMessage, 'id' | 'type'>,
    signal: AbortSignal | undefined,
    transfer?: ArrayBuffer,
  ): Promise<ReplyMessage> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    const thread = this.pick();
    const id = this.nextId++;
    clearTimeout(this.idleTimer);
    return new Promise<ReplyMessage>((resolve, reject) => {
      const onAbort = (): void => thread.post({ type: 'abort', id });
      const settle = (): void => {
        signal?.removeEventListener('abort', onAbort);
        this.waiting.delete(id);
        thread.adjust(-1);
        if (this.waiting.size === 0) this.idleLater();
      };
      this.waiting.set(id, {
        thread,
        resolve: (reply) => {
          settle();
          resolve(reply);
        },
        reject: (error) => {
          settle();
          reject(error);
        },
      });
      thread.adjust(1);
      // The request settles when the thread says it has stopped, never before: no byte lands after.
      signal?.addEventListener('abort', onAbort, { once: true });
      thread.post({ ...message, type: 'send', id }, transfer);
    });
  }

  private pick(): IoThread {
    this.threads = this.threads.filter((thread) => !thread.exited);
    if (this.threads.length < this.count) {
      const perThread = Math.max(1, Math.ceil(this.settings.maxSockets / this.count));
      const thread = new IoThread(
        // The environment (its proxy variables) as plain data: process.env cannot be cloned.
        { pool: { ...this.settings, maxSockets: perThread, env: { ...(this.settings.env ?? process.env) } } },
        (reply) => this.waiting.get(reply.id)?.resolve(reply),
        (error) => this.lost(thread, error),
      );
      this.threads.push(thread);
      return thread;
    }
    let best = this.threads[0];
    for (const thread of this.threads) if (thread.inFlight < best.inFlight) best = thread;
    return best;
  }

  /** A thread failed or stopped: its requests fail with a connection error (they are retried). */
  private lost(thread: IoThread, cause: Error): void {
    thread.exited = true;
    for (const waiting of [...this.waiting.values()]) {
      if (waiting.thread !== thread) continue;
      waiting.reject(
        Object.assign(new Error(`the I/O thread of this request stopped: ${cause.message}`), {
          code: 'ECONNRESET',
          cause,
        }),
      );
    }
  }

  private idleLater(): void {
    clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => this.stop(), IDLE_MS);
    this.idleTimer.unref();
  }

  /** Stops every thread (those in use too: their requests fail); new requests start new ones. */
  stop(): Promise<void> {
    clearTimeout(this.idleTimer);
    const threads = this.threads;
    this.threads = [];
    return Promise.all(threads.map((thread) => thread.worker.terminate())).then(() => undefined);
  }
}

/**
 * The transport of a store with I/O threads: every request goes to a thread. The main thread
 * still decides where a body goes (the request's `target`), from the answer's head: if the thread
 * placed it in the `sink` named beforehand and the target is that sink, nothing is copied; a body
 * the thread received on its own is handed over, and copied only into a target it could not know.
 */
export class ThreadedTransport implements HttpTransport {
  constructor(readonly threads: IoThreads) {}

  async send(origin: Origin, request: HttpRequest): Promise<HttpResponse> {
    const { body, sink } = request;
    if (body && isDetached(body.buffer)) throw bufferDetached('data');
    const shared = (view: Uint8Array | undefined): boolean =>
      view !== undefined && types.isSharedArrayBuffer(view.buffer);
    // Shared memory goes as it is; other memory as a copy of exactly the body, handed over (a
    // view posted as it is would copy its whole buffer, and the caller could detach it meanwhile).
    const copy = body !== undefined && !shared(body) ? privateCopy(body, 'data') : undefined;
    const reply = await this.threads.exchange(
      {
        origin,
        method: request.method,
        path: request.path,
        headers: request.headers,
        ...(body !== undefined && { body: copy ?? body }),
        ...(shared(sink) && { sink }),
      },
      request.signal,
      copy?.buffer as ArrayBuffer | undefined,
    );
    if (!reply.ok) {
      if (request.signal?.aborted) throw request.signal.reason;
      throw errorFrom(reply.error);
    }
    const { head } = reply;
    const received = reply.placed ? sink! : reply.body;
    const answer = { status: head.status, headers: head.headers };
    const noBody = request.method === 'HEAD' || head.status === 204 || head.status === 304;
    const target = head.status >= 200 && head.status < 300 && !noBody ? request.target?.(answer) : undefined;
    if (target === undefined) {
      // The caller wants a buffer of the body's own: the one the thread made, or a copy of the sink.
      if (!reply.placed) return { ...answer, body: received };
      this.threads.copiedBytes += received.byteLength;
      return { ...answer, body: new Uint8Array(received) };
    }
    if (target.byteLength !== received.byteLength) {
      throw new Error(`the response has ${received.byteLength} bytes where ${target.byteLength} were asked for`);
    }
    const inPlace = target.buffer === received.buffer && target.byteOffset === received.byteOffset;
    if (!inPlace) {
      if (isDetached(target.buffer)) throw bufferDetached('target');
      target.set(received);
      this.threads.copiedBytes += received.byteLength;
    }
    return { ...answer, body: target };
  }
}
