/**
 * A keep-alive pool of HTTP/1.1 connections per origin (`protocol//host:port`), at most
 * `maxSockets` of them open at once; requests beyond that wait their turn in order. Connections
 * go straight to the origin, or through the proxy the environment names (see proxy.ts): an
 * absolute-form request for http://, a CONNECT tunnel for https://.
 */
import * as net from 'net';
import * as tls from 'tls';

import { bufferDetached, isDetached } from '../../../internal/memory';
import { type Exchange, HttpConnection, type HttpResponse } from './connection';
import { type ProxyEndpoint, openTunnel, proxyFor } from './proxy';

/** Where a request goes. */
export interface Origin {
  protocol: 'http:' | 'https:';
  /** Host name or IP address (an IPv6 address without brackets). */
  hostname: string;
  port: number;
}

/** The origin of an http(s) URL (the default port when it names none). */
export function originOf(url: URL): Origin {
  const protocol = url.protocol === 'http:' ? 'http:' : 'https:';
  return {
    protocol,
    hostname: url.hostname.replace(/^\[|\]$/g, ''),
    port: url.port ? Number(url.port) : protocol === 'https:' ? 443 : 80,
  };
}

/** Settings of a pool. */
export interface PoolSettings {
  /** Connections per origin. */
  maxSockets: number;
  /** TCP connect (and TLS handshake) time limit. */
  connectTimeoutMs: number;
  /** CA certificates to trust (PEM) instead of Node's; verification stays on. */
  ca?: string;
  /** Idle connections are closed after this long (default 4 s, less than servers' own limits). */
  idleTimeoutMs?: number;
  /** The environment proxies are read from (default process.env). */
  env?: NodeJS.ProcessEnv;
}

/** A request: the pool writes its head (request line, Host, headers) and sends it. */
export interface HttpRequest {
  method: string;
  /** Path and query, percent-encoded (printable ASCII only). */
  path: string;
  headers: Record<string, string>;
  body?: Uint8Array;
  target?: Exchange['target'];
  /**
   * Where `target` will put a 2xx body of this exact length, when that is known before the
   * request leaves: a transport on another thread can place the bytes there before the main
   * thread has seen the head. Only a hint; `target` still decides.
   */
  sink?: Uint8Array;
  signal?: AbortSignal;
}

const DEFAULT_IDLE_MS = 4_000;
/** Printable ASCII without spaces: a request target that cannot split the request line. */
const SAFE_TARGET = /^[\x21-\x7e]+$/;
/** Characters a header name or value may never hold (they would end the header). */
const HEADER_BREAK = /[\r\n\0]/;
/** Headers that frame the body: the pool writes them from the body it sends, no caller may. */
const FRAMING = /^(?:content-length|transfer-encoding)$/i;

/** Waiting for a connection. */
interface Waiter {
  resolve: (connection: HttpConnection) => void;
  reject: (error: unknown) => void;
  signal?: AbortSignal;
  onAbort?: () => void;
}

/** The connections of one origin. */
class OriginPool {
  readonly idle: HttpConnection[] = [];
  readonly open = new Set<HttpConnection>();
  readonly waiters: Waiter[] = [];
  readonly proxy: ProxyEndpoint | undefined;
  readonly authority: string;
  /** `host:port`, always with the port (a CONNECT target). */
  readonly hostPort: string;

  constructor(
    readonly origin: Origin,
    private readonly settings: PoolSettings,
  ) {
    this.proxy = proxyFor(origin.protocol, origin.hostname, origin.port, settings.env);
    const host = origin.hostname.includes(':') ? `[${origin.hostname}]` : origin.hostname;
    const defaultPort = origin.protocol === 'https:' ? 443 : 80;
    this.authority = origin.port === defaultPort ? host : `${host}:${origin.port}`;
    this.hostPort = `${host}:${origin.port}`;
  }

  /** The request's head as it goes on the wire. */
  head(request: HttpRequest): string {
    if (!SAFE_TARGET.test(request.path) || !request.path.startsWith('/')) {
      throw new Error(`refusing an unencoded request target ${JSON.stringify(request.path.slice(0, 200))}`);
    }
    // Through a proxy, plain http:// requests name their origin (the proxy forwards them).
    const absolute = this.proxy && this.origin.protocol === 'http:';
    let head = `${request.method} ${absolute ? `http://${this.authority}` : ''}${request.path} HTTP/1.1\r\n`;
    // A signed request carries its Host header already (it is part of the signature).
    if (!('host' in request.headers)) head += `Host: ${this.authority}\r\n`;
    if (absolute && this.proxy?.authorization) head += `Proxy-Authorization: ${this.proxy.authorization}\r\n`;
    for (const name in request.headers) {
      const value = request.headers[name];
      if (HEADER_BREAK.test(name) || HEADER_BREAK.test(value)) {
        throw new Error(`refusing header ${JSON.stringify(name)}: it holds a line break or NUL`);
      }
      if (FRAMING.test(name))
        throw new Error(`refusing header ${JSON.stringify(name)}: the body's framing is the pool's`);
      head += `${name}: ${value}\r\n`;
    }
    const length = request.body?.byteLength ?? 0;
    if (length > 0 || request.method === 'PUT' || request.method === 'POST') head += `Content-Length: ${length}\r\n`;
    return `${head}\r\n`;
  }

  acquire(signal: AbortSignal | undefined): Promise<HttpConnection> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    for (let connection = this.idle.pop(); connection; connection = this.idle.pop()) {
      if (connection.isClosed) continue;
      connection.socket!.ref();
      connection.socket!.setTimeout(0);
      return Promise.resolve(connection);
    }
    if (this.open.size < this.settings.maxSockets) return this.connect(signal);
    return new Promise<HttpConnection>((resolve, reject) => {
      const waiter: Waiter = { resolve, reject, signal };
      if (signal) {
        waiter.onAbort = () => {
          this.waiters.splice(this.waiters.indexOf(waiter), 1);
          reject(signal.reason);
        };
        signal.addEventListener('abort', waiter.onAbort, { once: true });
      }
      this.waiters.push(waiter);
    });
  }

  /** An exchange ended: the connection serves the next waiter, goes idle, or is gone. */
  release(connection: HttpConnection): void {
    if (connection.busy) return;
    if (connection.isClosed || !connection.reusable) {
      const index = this.idle.indexOf(connection);
      if (index >= 0) this.idle.splice(index, 1);
      if (this.open.delete(connection)) {
        connection.socket?.destroy();
        this.serveWaiter();
      }
      return;
    }
    const waiter = this.waiters.shift();
    if (waiter) {
      if (waiter.onAbort) waiter.signal!.removeEventListener('abort', waiter.onAbort);
      waiter.resolve(connection);
      return;
    }
    if (this.idle.includes(connection)) return;
    this.idle.push(connection);
    const socket = connection.socket!;
    socket.unref();
    const serverMs = connection.serverIdleSeconds === undefined ? Infinity : connection.serverIdleSeconds * 1000 - 1000;
    socket.setTimeout(Math.max(100, Math.min(this.settings.idleTimeoutMs ?? DEFAULT_IDLE_MS, serverMs)));
  }

  /** A slot freed: the first waiter gets a new connection. */
  private serveWaiter(): void {
    const waiter = this.waiters.shift();
    if (!waiter) return;
    if (waiter.onAbort) waiter.signal!.removeEventListener('abort', waiter.onAbort);
    this.connect(waiter.signal).then(waiter.resolve, waiter.reject);
  }

  private async connect(signal: AbortSignal | undefined): Promise<HttpConnection> {
    const connection = new HttpConnection((done) => this.release(done));
    this.open.add(connection);
    try {
      const socket = await this.openSocket(connection, signal);
      connection.attach(socket);
      socket.setNoDelay(true);
      socket.setKeepAlive(true, 30_000);
      // An idle socket past its timeout is closed; one in use has the store's own deadlines.
      socket.on('timeout', () => {
        if (!connection.busy) socket.destroy();
      });
      return connection;
    } catch (error) {
      this.open.delete(connection);
      this.serveWaiter();
      throw error;
    }
  }

  private openSocket(connection: HttpConnection, signal: AbortSignal | undefined): Promise<net.Socket> {
    const { origin, proxy, settings } = this;
    return new Promise<net.Socket>((resolve, reject) => {
      let socket: net.Socket | undefined;
      let failed = false;
      const fail = (error: unknown): void => {
        failed = true;
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        socket?.destroy();
        reject(error);
      };
      const onAbort = (): void => fail(signal!.reason);
      const timer = setTimeout(
        () =>
          fail(
            Object.assign(
              new Error(`connect to ${origin.hostname}:${origin.port} timed out after ${settings.connectTimeoutMs} ms`),
              {
                code: 'ETIMEDOUT',
              },
            ),
          ),
        settings.connectTimeoutMs,
      );
      const done = (ready: net.Socket): void => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        ready.removeListener('error', fail);
        resolve(ready);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      const tlsOptions = (): tls.ConnectionOptions => ({
        // The certificate is checked against the origin's name (not a proxy's, not 'localhost').
        host: origin.hostname,
        servername: net.isIP(origin.hostname) ? undefined : origin.hostname,
        ...(settings.ca !== undefined && { ca: settings.ca }),
        ALPNProtocols: ['http/1.1'],
      });
      if (!proxy) {
        const options = { host: origin.hostname, port: origin.port, onread: connection.reader };
        socket =
          origin.protocol === 'https:'
            ? tls.connect({ ...options, ...tlsOptions() }, () => done(socket!))
            : net.connect(options, () => done(socket!));
        socket.once('error', fail);
      } else if (origin.protocol === 'http:') {
        socket = net.connect({ host: proxy.host, port: proxy.port, onread: connection.reader }, () => done(socket!));
        socket.once('error', fail);
      } else {
        // A CONNECT tunnel; TLS over an existing socket takes no onread, so bytes are fed (one copy).
        openTunnel(proxy, this.hostPort).then((raw) => {
          if (failed) return void raw.destroy();
          socket = raw;
          const secure = tls.connect({ ...tlsOptions(), socket: raw }, () => done(secure));
          socket = secure;
          secure.once('error', fail);
          secure.on('data', (chunk: Buffer) => connection.feed(chunk));
        }, fail);
      }
    });
  }

  destroy(): void {
    for (const connection of this.open) connection.close(new Error('the store was closed'));
    this.open.clear();
    this.idle.length = 0;
  }
}

/** Keep-alive connection pools, one per origin, with the same settings. */
export class HttpPool {
  private readonly origins = new Map<string, OriginPool>();

  constructor(private readonly settings: PoolSettings) {}

  /**
   * Sends `request` to `origin` and settles with the response. A keep-alive connection the server
   * closed just before the request (no byte of an answer came) is replaced and the request resent
   * once: the server did not see it.
   */
  async send(origin: Origin, request: HttpRequest): Promise<HttpResponse> {
    // A detached buffer reads as empty: it must not go out as an empty body.
    if (request.body && isDetached(request.body.buffer)) throw bufferDetached('data');
    const key = `${origin.protocol}//${origin.hostname}:${origin.port}`;
    let pool = this.origins.get(key);
    if (!pool) this.origins.set(key, (pool = new OriginPool(origin, this.settings)));
    const exchange: Exchange = {
      head: pool.head(request),
      headOnly: request.method === 'HEAD',
      body: request.body,
      bodyLength: request.body?.byteLength ?? 0,
      target: request.target,
    };
    for (let attempt = 0; ; attempt++) {
      const connection = await pool.acquire(request.signal);
      try {
        return await connection.send(exchange, request.signal);
      } catch (error) {
        const stale = (error as { retryStale?: boolean } | null)?.retryStale === true;
        if (!stale || attempt > 0 || request.signal?.aborted) throw error;
      }
    }
  }

  /** Closes every connection. */
  destroy(): void {
    for (const pool of this.origins.values()) pool.destroy();
    this.origins.clear();
  }
}
