/**
 * One HTTP/1.1 connection, plain or TLS, that reads a response body straight into its final
 * place: the socket's `onread` buffer is the destination itself, so the kernel (or OpenSSL) writes
 * each byte where the caller wants it, with no per-chunk Buffer, no concatenation and no copy.
 * Headers, chunked framing, error bodies and caller memory (which a transfer could free while a
 * read into it is pending) go through one scratch buffer instead and are copied out at once.
 */
import type { Socket } from 'net';

import { bufferDetached, isDetached, libraryBuffer, undetachable } from '../../../internal/memory';
import { TruncatedBodyError } from '../body';

/** Status and headers of a response. */
export interface ResponseHead {
  status: number;
  /** Header values by lower-case name; a repeated header's values joined with `, `. */
  headers: Record<string, string>;
}

/** A response: its head and body (empty when the body went into the request's target). */
export interface HttpResponse extends ResponseHead {
  body: Uint8Array;
}

/** One request on a connection. */
export interface Exchange {
  /** Request line and headers, CRLF-terminated, with the empty line that ends them. */
  head: string;
  /** HEAD: the response has headers only. */
  headOnly: boolean;
  body?: Uint8Array;
  /** The body's length when the head (its Content-Length) was written. */
  bodyLength: number;
  /**
   * Where the body of a 2xx response goes: a view of exactly its length, or undefined for a
   * buffer of its own. May throw to refuse the response (the connection is then closed).
   */
  target?: (head: ResponseHead) => Uint8Array | undefined;
}

/** Reads that are not straight into a destination land here; each is consumed before the next. */
const SCRATCH_SIZE = 256 * 1024;
/**
 * A read while a head is awaited takes at most this much: body bytes that arrive with the head
 * are copied into place, the rest of the body goes straight there.
 */
const HEAD_READ = 16 * 1024;
/** The most header bytes a response may have. */
const MAX_HEAD = 64 * 1024;
/** The most bytes of an error body kept (the rest is read and dropped). */
const MAX_ERROR_BODY = 1024 * 1024;
/** Bodies larger than this are sent from the caller's memory, their last bytes from a copy. */
const TAIL = 64 * 1024;
/**
 * Bytes handed to a socket at once: large for plain TCP (fewer writes and drains: a fifth less
 * CPU per GiB than 1 MiB), smaller over TLS, which encrypts each write into a buffer of its own.
 */
const WRITE_SLICE = 16 * 1024 * 1024;
const TLS_WRITE_SLICE = 1024 * 1024;

// One scratch buffer for every connection of this thread: a socket read and the callback that
// consumes it run together, before any other socket's read.
let scratch: Buffer | undefined;
let headView: Buffer | undefined;
function sharedScratch(): Buffer {
  return (scratch ??= Buffer.allocUnsafeSlow(SCRATCH_SIZE));
}

const enum Phase {
  Head,
  Body,
}

type Framing = 'length' | 'chunked' | 'close';

/** An error the connection reports, with a network code the store's classifier knows. */
function connectionError(message: string, code = 'ECONNRESET'): Error {
  return Object.assign(new Error(message), { code });
}

/** The exchange in flight and how far its response has come. */
class Pending {
  phase = Phase.Head;
  headBytes: Buffer | undefined;
  status = 0;
  headers: Record<string, string> = {};
  keepAlive = true;
  framing: Framing = 'length';
  /** Body bytes the head announced (length framing). */
  length = 0;
  received = 0;
  /**
   * Where the body goes; `direct`: the socket reads into it (through onread; bytes fed from a
   * socket without it are placed by copy whatever this says).
   */
  target: Uint8Array | undefined;
  direct = false;
  /** Error bodies and bodies of unknown length, collected. */
  pieces: Buffer[] | undefined;
  kept = 0;
  // chunked framing: bytes left in this chunk, and the line being read (size or trailer)
  chunkLeft = 0;
  line = '';
  chunkState: 'size' | 'data' | 'data-end' | 'trailer' = 'size';
  /** Any response byte arrived (a failure before that on a reused connection may be retried). */
  answered = false;
  requestSent = false;

  constructor(
    readonly exchange: Exchange,
    readonly resolve: (response: HttpResponse) => void,
    readonly reject: (error: unknown) => void,
  ) {}
}

/**
 * An HTTP/1.1 connection carrying one exchange at a time. The pool creates it, attaches a socket
 * (made with `reader` as its `onread`, or fed through `feed` where onread is not available) and
 * hands it out.
 */
export class HttpConnection {
  socket: Socket | undefined;
  /** Exchanges completed on this connection. */
  served = 0;
  /** The server may take another request on this connection. */
  reusable = true;
  /** Seconds the server keeps an idle connection (its `Keep-Alive: timeout=`), if it said. */
  serverIdleSeconds: number | undefined;
  private pending: Pending | undefined;
  private closed: unknown;

  /** `onDone` is called when an exchange ends and the connection may serve another (or is closed). */
  constructor(private readonly onDone: (connection: HttpConnection) => void) {}

  /** The `onread` option for the socket of this connection. */
  readonly reader = {
    buffer: (): Uint8Array => this.nextBuffer(),
    callback: (bytes: number, buffer: Uint8Array): boolean => {
      this.onRead(bytes, buffer);
      return true;
    },
  };

  /** Takes the socket once it is connected (and its TLS handshake done). */
  attach(socket: Socket): void {
    this.socket = socket;
    socket.on('end', () => this.onEnd());
    socket.on('error', (error) => this.fail(error, true));
    socket.on('close', () => this.fail(this.closed ?? connectionError('the connection was closed'), true));
  }

  /** Bytes from a socket without onread (a TLS tunnel through a proxy): one copy each. */
  feed(chunk: Buffer): void {
    this.consume(chunk, 0, chunk.byteLength);
  }

  /** Whether the connection has been closed (by either side). */
  get isClosed(): boolean {
    return this.closed !== undefined || this.socket === undefined || this.socket.destroyed;
  }

  /** Whether an exchange is in flight. */
  get busy(): boolean {
    return this.pending !== undefined;
  }

  /**
   * Sends `exchange` and settles with its response. `signal` closes the connection. A reused
   * connection the server closed before any byte of the answer rejects with `retryStale: true`.
   */
  send(exchange: Exchange, signal: AbortSignal | undefined): Promise<HttpResponse> {
    const socket = this.socket!;
    if (this.isClosed) {
      // Closed by the server between its last answer and this request: the request never left.
      const error = connectionError('the server closed the connection');
      return Promise.reject(Object.defineProperty(error, 'retryStale', { value: true }));
    }
    return new Promise<HttpResponse>((resolve, reject) => {
      const onAbort = (): void => this.close(signal!.reason);
      const settle = (): void => signal?.removeEventListener('abort', onAbort);
      this.pending = new Pending(
        exchange,
        (response) => {
          settle();
          resolve(response);
        },
        (error) => {
          settle();
          reject(error);
        },
      );
      if (signal?.aborted) return onAbort();
      // Stryker disable next-line ObjectLiteral,BooleanLiteral: a signal fires once; settling removes the listener
      signal?.addEventListener('abort', onAbort, { once: true });
      socket.write(exchange.head, 'latin1');
      // Decided by the length the head announced: a body detached since reads as empty.
      if (exchange.body === undefined || exchange.bodyLength === 0) {
        this.pending.requestSent = true;
      } else {
        this.writeBody(this.pending, exchange.body, exchange.bodyLength).catch((error: unknown) => this.close(error));
      }
    });
  }

  /** Closes the connection, failing the exchange in flight with `reason` as it is. */
  close(reason: unknown): void {
    this.fail(reason, false);
    this.socket?.destroy();
  }

  // ---- sending ----

  /**
   * Sends a body from the caller's memory without copying it. Only its last {@link TAIL} bytes
   * go from a copy, once everything before them has left: if the caller detached the buffer
   * meanwhile (a socket write may have read freed memory), the request is cut off before its
   * end, so the server stores nothing.
   */
  private async writeBody(pending: Pending, body: Uint8Array, length: number): Promise<void> {
    const socket = this.socket!;
    if (body.byteLength !== length || isDetached(body.buffer)) throw bufferDetached('data');
    const split = length > 2 * TAIL ? length - TAIL : 0;
    const tail = Buffer.from(body.subarray(split)); // a copy
    const step = (socket as { encrypted?: boolean }).encrypted ? TLS_WRITE_SLICE : WRITE_SLICE;
    for (let offset = 0; offset < split; offset += step) {
      if (this.pending !== pending) return;
      if (body.byteLength !== length) throw bufferDetached('data');
      const slice = body.subarray(offset, Math.min(offset + step, split));
      const last = offset + step >= split;
      if (last) await new Promise<void>((resolve, reject) => socket.write(slice, (e) => (e ? reject(e) : resolve())));
      else if (!socket.write(slice)) await this.drained(socket);
    }
    if (this.pending !== pending) return;
    if (body.byteLength !== length || isDetached(body.buffer)) throw bufferDetached('data');
    socket.write(tail);
    pending.requestSent = true;
  }

  private drained(socket: Socket): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const done = (error?: unknown): void => {
        socket.off('drain', done).off('close', done);
        if (error !== undefined || socket.destroyed) reject(error ?? connectionError('the connection was closed'));
        else resolve();
      };
      socket.on('drain', done).on('close', done);
    });
  }

  // ---- receiving ----

  private nextBuffer(): Uint8Array {
    const pending = this.pending;
    if (!pending || pending.phase === Phase.Head) return (headView ??= sharedScratch().subarray(0, HEAD_READ));
    if (pending.direct) return pending.target!.subarray(pending.received, pending.length);
    return sharedScratch();
  }

  private onRead(bytes: number, buffer: Uint8Array): void {
    const pending = this.pending;
    if (pending && pending.phase === Phase.Body && pending.direct) {
      // Landed in place.
      pending.received += bytes;
      if (pending.received === pending.length) this.complete(pending);
      return;
    }
    this.consume(buffer, 0, bytes);
  }

  /** Bytes that are not in their final place yet (scratch or a fed chunk). */
  private consume(data: Uint8Array, start: number, end: number): void {
    let offset = start;
    while (offset < end) {
      const pending = this.pending;
      if (!pending) {
        // Bytes nobody asked for: the connection is out of step with the server.
        this.close(connectionError('the server sent bytes outside any response'));
        return;
      }
      pending.answered = true;
      try {
        offset =
          pending.phase === Phase.Head
            ? this.readHead(pending, data, offset, end)
            : this.readBody(pending, data, offset, end);
      } catch (error) {
        this.close(error);
        return;
      }
    }
  }

  private readHead(pending: Pending, data: Uint8Array, start: number, end: number): number {
    const piece = Buffer.from(data.buffer, data.byteOffset + start, end - start);
    // Bytes of a head split across reads are kept (copied: the scratch is reused).
    const bytes = pending.headBytes ? Buffer.concat([pending.headBytes, piece]) : piece;
    const stop = bytes.indexOf('\r\n\r\n', 0, 'latin1');
    if (stop > MAX_HEAD || (stop < 0 && bytes.byteLength > MAX_HEAD)) {
      throw connectionError(`the response headers exceed ${MAX_HEAD} bytes`, 'ERR_HTTP_PROTOCOL');
    }
    if (stop < 0) {
      pending.headBytes = Buffer.from(bytes);
      return end;
    }
    const consumed = stop + 4 - (pending.headBytes?.byteLength ?? 0);
    pending.headBytes = undefined;
    this.parseHead(pending, bytes.toString('latin1', 0, stop));
    if (pending.status >= 100 && pending.status < 200) {
      // An interim answer (100 Continue): the real one follows.
      pending.headers = {};
      return start + consumed;
    }
    this.startBody(pending);
    return start + consumed;
  }

  private parseHead(pending: Pending, text: string): void {
    const lines = text.split('\r\n');
    const match = /^HTTP\/1\.([01]) (\d{3})(?: |$)/.exec(lines[0]);
    if (!match)
      throw connectionError(
        `not an HTTP/1.x status line: ${JSON.stringify(lines[0].slice(0, 80))}`,
        'ERR_HTTP_PROTOCOL',
      );
    pending.status = Number(match[2]);
    const headers: Record<string, string> = {};
    for (let i = 1; i < lines.length; i++) {
      const line = lines[i];
      const colon = line.indexOf(':');
      if (colon <= 0) throw connectionError('a response header line has no name', 'ERR_HTTP_PROTOCOL');
      const name = line.slice(0, colon).trim().toLowerCase();
      const value = line.slice(colon + 1).trim();
      headers[name] = name in headers ? `${headers[name]}, ${value}` : value;
    }
    pending.headers = headers;
    const connection = (headers.connection ?? '').toLowerCase();
    pending.keepAlive = match[1] === '1' ? !/\bclose\b/.test(connection) : /\bkeep-alive\b/.test(connection);
    const timeout = /\btimeout=(\d+)/i.exec(headers['keep-alive'] ?? '');
    if (timeout) this.serverIdleSeconds = Number(timeout[1]);
  }

  /** Decides the framing and the destination of the body once the head is in. */
  private startBody(pending: Pending): void {
    const { status, headers } = pending;
    pending.phase = Phase.Body;
    const noBody = pending.exchange.headOnly || status === 204 || status === 304;
    const chunked = /\bchunked\b/i.test(headers['transfer-encoding'] ?? '');
    const lengthHeader = headers['content-length'];
    if (noBody) {
      pending.framing = 'length';
      pending.length = 0;
    } else if (chunked) {
      pending.framing = 'chunked';
    } else if (lengthHeader !== undefined) {
      if (!/^\d+$/.test(lengthHeader))
        throw connectionError(`invalid Content-Length ${JSON.stringify(lengthHeader)}`, 'ERR_HTTP_PROTOCOL');
      pending.framing = 'length';
      pending.length = Number(lengthHeader);
    } else {
      pending.framing = 'close';
      pending.keepAlive = false;
    }
    if (status >= 200 && status < 300 && !noBody) {
      const target = pending.exchange.target?.({ status, headers });
      if (target !== undefined) {
        if (pending.framing === 'length' && target.byteLength !== pending.length) {
          throw new Error(`the response has ${pending.length} bytes where ${target.byteLength} were asked for`);
        }
        pending.target = target;
        pending.length = pending.framing === 'length' ? pending.length : target.byteLength;
        pending.direct = pending.framing === 'length' && undetachable(target);
      } else if (pending.framing === 'length') {
        pending.target = libraryBuffer(pending.length);
        pending.direct = true;
      } else {
        pending.pieces = [];
      }
    } else {
      pending.pieces = [];
    }
    if (pending.framing === 'length' && pending.received === pending.length) this.complete(pending);
  }

  private readBody(pending: Pending, data: Uint8Array, start: number, end: number): number {
    if (pending.framing === 'chunked') return this.readChunked(pending, data, start, end);
    const available = end - start;
    const take = pending.framing === 'length' ? Math.min(available, pending.length - pending.received) : available;
    this.place(pending, data.subarray(start, start + take));
    if (pending.framing === 'length' && pending.received === pending.length) {
      // Bytes after the body belong to no request: the connection cannot be trusted again.
      if (take < available) pending.keepAlive = false;
      this.complete(pending);
      return end;
    }
    return start + take;
  }

  private place(pending: Pending, bytes: Uint8Array): void {
    const { target } = pending;
    if (target) {
      if (pending.received + bytes.byteLength > target.byteLength) {
        throw new Error(`the response body is longer than the ${target.byteLength} bytes asked for`);
      }
      // Caller memory may have been detached since the last piece.
      if (target.byteLength === 0 || isDetached(target.buffer)) throw bufferDetached('target');
      target.set(bytes, pending.received);
    } else if (pending.kept < MAX_ERROR_BODY || pending.status < 300) {
      pending.pieces!.push(Buffer.from(bytes));
      pending.kept += bytes.byteLength;
    }
    pending.received += bytes.byteLength;
  }

  private readChunked(pending: Pending, data: Uint8Array, start: number, end: number): number {
    let offset = start;
    while (offset < end && this.pending === pending) {
      if (pending.chunkState === 'data') {
        const take = Math.min(end - offset, pending.chunkLeft);
        this.place(pending, data.subarray(offset, offset + take));
        pending.chunkLeft -= take;
        offset += take;
        if (pending.chunkLeft === 0) pending.chunkState = 'data-end';
        continue;
      }
      // A line: a chunk size, the CRLF after a chunk's data, or a trailer line.
      const newline = data.indexOf(0x0a, offset);
      const stop = newline < 0 || newline >= end ? end : newline;
      pending.line += Buffer.from(data.buffer, data.byteOffset + offset, stop - offset).toString('latin1');
      if (pending.line.length > 8192) throw connectionError('a chunk-size line is too long', 'ERR_HTTP_PROTOCOL');
      offset = stop;
      if (newline < 0 || newline >= end) break;
      offset += 1;
      const line = pending.line.replace(/\r$/, '');
      pending.line = '';
      if (pending.chunkState === 'data-end') {
        if (line !== '') throw connectionError('a chunk does not end with CRLF', 'ERR_HTTP_PROTOCOL');
        pending.chunkState = 'size';
      } else if (pending.chunkState === 'size') {
        const size = /^([0-9a-fA-F]+)(?:;.*)?$/.exec(line);
        if (!size)
          throw connectionError(`invalid chunk size ${JSON.stringify(line.slice(0, 40))}`, 'ERR_HTTP_PROTOCOL');
        pending.chunkLeft = parseInt(size[1], 16);
        pending.chunkState = pending.chunkLeft === 0 ? 'trailer' : 'data';
      } else if (line === '') {
        // The empty line after the trailers ends the body.
        if (offset < end) pending.keepAlive = false;
        this.complete(pending);
        return end;
      }
    }
    return end;
  }

  private onEnd(): void {
    const pending = this.pending;
    if (pending && pending.phase === Phase.Body && pending.framing === 'close') {
      this.reusable = false;
      this.complete(pending);
      return;
    }
    this.fail(connectionError('the server closed the connection'), true);
  }

  /** The response is whole: settle it and free the connection. */
  private complete(pending: Pending): void {
    const { target, pieces } = pending;
    if (target && pending.received !== target.byteLength) {
      this.fail(new TruncatedBodyError(pending.received, target.byteLength), false);
      return;
    }
    this.pending = undefined;
    this.served++;
    if (!pending.keepAlive || !pending.requestSent) this.reusable = false;
    const body = target ?? (pieces && pieces.length === 1 ? pieces[0] : Buffer.concat(pieces ?? []));
    pending.resolve({ status: pending.status, headers: pending.headers, body });
    this.onDone(this);
  }

  /**
   * Fails the exchange in flight (if any) and closes the connection for good. `lost`: the
   * connection failed (reset, closed), so a body it cut short is reported as truncated.
   */
  private fail(error: unknown, lost: boolean): void {
    this.closed ??= error;
    this.reusable = false;
    const pending = this.pending;
    if (pending) {
      this.pending = undefined;
      const expected = pending.framing === 'length' ? pending.length : pending.target?.byteLength;
      const cut = lost && pending.phase === Phase.Body && expected !== undefined && pending.received < expected;
      // A write from memory the caller detached fails as it may (EFAULT once the pages are gone):
      // that is the caller's transfer, not a network failure.
      const body = pending.requestSent ? undefined : pending.exchange.body;
      const detached = body !== undefined && body.byteLength !== pending.exchange.bodyLength;
      const reported = detached
        ? bufferDetached('data')
        : cut
          ? new TruncatedBodyError(pending.received, expected, error)
          : error;
      // Lost (not closed by us: an abort's reason is the caller's) before any byte of an answer.
      if (lost && !detached && !pending.answered && this.served > 0 && reported instanceof Error) {
        Object.defineProperty(reported, 'retryStale', { value: true });
      }
      pending.reject(reported);
    }
    this.socket?.destroy();
    this.onDone(this);
  }
}
