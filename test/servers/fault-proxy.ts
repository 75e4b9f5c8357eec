/**
 * Fault-injecting HTTP reverse proxy for tests (Node `http` only; bodies are streamed, never
 * buffered whole). Listens on 127.0.0.1 and forwards every request to `target`, except where a
 * rule fires:
 *
 * | fault            | what the client sees                                                             |
 * |------------------|----------------------------------------------------------------------------------|
 * | `drop`           | the connection closes before any response byte ("socket hang up"/ECONNRESET).    |
 * |                  | With `afterForward: true` the request is forwarded first (the server acts on it)  |
 * |                  | and only the response is lost.                                                    |
 * | `delay`          | the request is forwarded after `ms` milliseconds (then answered normally).       |
 * | `status`         | an immediate answer from the proxy, e.g. 503 + `<Error><Code>SlowDown</Code>…`.   |
 * | `truncate`       | the upstream status and headers (incl. its Content-Length), then only the first  |
 * |                  | `bytes` body bytes, then the socket is closed (FIN): a premature end of body.    |
 * | `reset-mid-body` | the same, but the socket is reset (TCP RST → ECONNRESET) after `bytes` bytes      |
 * | `corrupt`        | the response forwarded whole, but the body byte at `at` is flipped (same length) |
 * | `throttle`       | the response body paced at `bytesPerSecond` per connection (a per-stream link)  |
 * |                  | (default: half the Content-Length, or after the first body chunk).               |
 *
 * A rule matches on `method` and a `path` regex (tested against the raw request target, path +
 * query) and then fires on the `nth` matching request, on `every` k-th one, and/or with a
 * `probability` drawn from a seeded RNG (mulberry32), at most `times` times. Every rule counts
 * its own matches; the first rule (in list order) that fires for a request decides its fault.
 *
 * The proxy sets `Host` to the target's and adds `X-Forwarded-Host` / `X-Forwarded-Proto` /
 * `X-Forwarded-For`; test/servers/gcs-server.ts honours them, so resumable-upload session URIs
 * it returns point back at the proxy.
 */
import {
  Agent,
  createServer,
  request as httpRequest,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type OutgoingHttpHeaders,
  type ServerResponse,
} from 'http';
import type { AddressInfo, Socket } from 'net';

import { seededRandom } from '../helpers/seeded-random';

export type FaultType = 'drop' | 'delay' | 'status' | 'truncate' | 'reset-mid-body' | 'corrupt' | 'throttle';

export type FaultAction =
  | { type: 'drop'; afterForward?: boolean }
  | { type: 'delay'; ms: number }
  | { type: 'status'; status: number; body?: string | Buffer; headers?: Record<string, string> }
  | { type: 'truncate'; bytes: number }
  | { type: 'corrupt'; at: number }
  | { type: 'throttle'; bytesPerSecond: number }
  | { type: 'reset-mid-body'; bytes?: number };

export interface FaultRule {
  /** Label, used in `stats.byRule`; defaults to `#<index>`. */
  name?: string;
  /** HTTP method(s), case-insensitive; any when omitted. */
  method?: string | readonly string[];
  /** Tested against the raw request target (path + query); any when omitted. */
  path?: RegExp;
  /** Fire only on the nth matching request (1-based). */
  nth?: number;
  /** Fire on every k-th matching request (k, 2k, …). */
  every?: number;
  /** Fire with this probability (0..1), from the proxy's seeded RNG. */
  probability?: number;
  /** Fire at most this many times. */
  times?: number;
  action: FaultAction;
}

export interface FaultProxyStats {
  /** Requests received. */
  requests: number;
  /** Requests sent on to the target (including delayed, truncated, reset and drop-after-forward). */
  forwarded: number;
  /** Faults injected (delays included). */
  faults: number;
  byType: Record<FaultType, number>;
  /** Times each rule fired, by name (or `#index`). */
  byRule: Record<string, number>;
}

export interface FaultProxyOptions {
  /** Base URL requests are forwarded to, e.g. `http://127.0.0.1:9000` (http only). */
  target: string;
  /** Listening port on 127.0.0.1; a free one by default. */
  port?: number;
  /** Seed of the RNG for `probability` rules (default 1); setRules() may override it. */
  seed?: number;
}

export interface FaultProxy {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  readonly port: number;
  /** Replace the rules; resets their counters and re-seeds the RNG. */
  setRules(rules: readonly FaultRule[], options?: { seed?: number }): void;
  clearRules(): void;
  /** Live counters (the same object is updated in place). */
  readonly stats: FaultProxyStats;
  resetStats(): void;
  stop(): Promise<void>;
}

/** Default body of an injected 503, in the XML error form (S3 / GCS XML API). */
export const SLOW_DOWN_BODY =
  '<?xml version="1.0" encoding="UTF-8"?>\n' +
  '<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>';

/** Pause between the last body byte and the RST of `reset-mid-body` (see cutAfterFlush). */
const RESET_DELAY_MS = 10;

const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'upgrade',
]);

interface ArmedRule {
  rule: FaultRule;
  label: string;
  matches: number;
  fired: number;
}

const emptyStats = (): FaultProxyStats => ({
  requests: 0,
  forwarded: 0,
  faults: 0,
  byType: { drop: 0, delay: 0, status: 0, truncate: 0, 'reset-mid-body': 0, corrupt: 0, throttle: 0 },
  byRule: {},
});

function defaultStatusBody(status: number): string {
  if (status === 503) return SLOW_DOWN_BODY;
  const code = status === 429 ? 'TooManyRequests' : status >= 500 ? 'InternalError' : 'InjectedFault';
  return (
    '<?xml version="1.0" encoding="UTF-8"?>\n' +
    `<Error><Code>${code}</Code><Message>Fault injected by the test proxy (HTTP ${status}).</Message></Error>`
  );
}

export async function startFaultProxy(options: FaultProxyOptions): Promise<FaultProxy> {
  const target = new URL(options.target);
  if (target.protocol !== 'http:')
    throw new Error(`fault proxy: only http:// targets are supported, got ${options.target}`);
  const targetPort = Number(target.port || 80);
  const targetHost = target.hostname;
  const basePath = target.pathname.replace(/\/$/, '');

  let armed: ArmedRule[] = [];
  let rng = seededRandom(options.seed ?? 1);
  const stats = emptyStats();
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  const clientSockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();

  const setRules = (rules: readonly FaultRule[], opts: { seed?: number } = {}): void => {
    armed = rules.map((rule, i) => ({ rule, label: rule.name ?? `#${i}`, matches: 0, fired: 0 }));
    rng = seededRandom(opts.seed ?? options.seed ?? 1);
  };

  /** Count matches on every rule; return the first rule that fires for this request. */
  const choose = (req: IncomingMessage): ArmedRule | undefined => {
    let chosen: ArmedRule | undefined;
    const method = (req.method ?? 'GET').toUpperCase();
    for (const a of armed) {
      const r = a.rule;
      if (r.method !== undefined) {
        const methods = typeof r.method === 'string' ? [r.method] : r.method;
        if (!methods.some((m) => m.toUpperCase() === method)) continue;
      }
      if (r.path) {
        r.path.lastIndex = 0;
        if (!r.path.test(req.url ?? '')) continue;
      }
      a.matches++;
      if (chosen) continue;
      if (r.times !== undefined && a.fired >= r.times) continue;
      if (r.nth !== undefined && a.matches !== r.nth) continue;
      if (r.every !== undefined && a.matches % r.every !== 0) continue;
      if (r.probability !== undefined && !(rng() < r.probability)) continue;
      chosen = a;
    }
    if (chosen) {
      chosen.fired++;
      stats.faults++;
      stats.byType[chosen.rule.action.type]++;
      stats.byRule[chosen.label] = (stats.byRule[chosen.label] ?? 0) + 1;
    }
    return chosen;
  };

  const upstreamHeaders = (req: IncomingMessage): OutgoingHttpHeaders => {
    const h: OutgoingHttpHeaders = {};
    for (const [k, v] of Object.entries(req.headers as IncomingHttpHeaders)) {
      if (v === undefined || HOP_BY_HOP.has(k)) continue;
      h[k] = v;
    }
    h.host = target.host;
    if (req.headers.host) h['x-forwarded-host'] = req.headers.host;
    h['x-forwarded-proto'] = 'http';
    h['x-forwarded-for'] = req.socket.remoteAddress ?? '127.0.0.1';
    return h;
  };

  /** Upstream response headers for the client, duplicates kept (flat [name, value, …] list). */
  const downstreamHeaders = (up: IncomingMessage): string[] => {
    const out: string[] = [];
    for (let i = 0; i < up.rawHeaders.length; i += 2) {
      if (!HOP_BY_HOP.has(up.rawHeaders[i].toLowerCase())) out.push(up.rawHeaders[i], up.rawHeaders[i + 1]);
    }
    return out;
  };

  /** setTimeout that stop() cancels. */
  const later = (fn: () => void, ms: number): void => {
    const t = setTimeout(() => {
      timers.delete(t);
      fn();
    }, ms);
    timers.add(t);
  };

  /**
   * Close the client connection after everything written so far has been flushed: FIN for
   * `truncate`; RST for `reset-mid-body`, a few milliseconds later so the client has read the bytes
   * already sent (an RST discards unread data at the receiver, and resetting from inside the write
   * callback degrades to a plain close).
   */
  const cutAfterFlush = (res: ServerResponse, reset: boolean): void => {
    const sock = res.socket;
    if (!sock || sock.destroyed) return;
    sock.write(Buffer.alloc(0), () => {
      if (!reset) {
        sock.destroy();
        return;
      }
      later(() => {
        if (!sock.destroyed) sock.resetAndDestroy();
      }, RESET_DELAY_MS);
    });
  };

  type BodyCut = { bytes: number | undefined; reset: boolean };

  const forward = (
    req: IncomingMessage,
    res: ServerResponse,
    mode: { dropResponse?: boolean; cut?: BodyCut; corruptAt?: number; bytesPerSecond?: number },
  ): void => {
    stats.forwarded++;
    const up = httpRequest({
      host: targetHost,
      port: targetPort,
      method: req.method,
      path: basePath + (req.url ?? '/'),
      headers: upstreamHeaders(req),
      agent,
    });
    let finished = false;
    res.on('close', () => {
      if (!finished) up.destroy();
    });
    up.on('error', () => {
      // After a cut the upstream request is destroyed on purpose; the client side is closed by
      // cutAfterFlush (a reset must stay a reset, not become a plain close here first).
      if (finished) return;
      if (!res.headersSent && !res.destroyed) {
        const body = 'fault proxy: upstream connection failed';
        res.writeHead(502, { 'Content-Type': 'text/plain', 'Content-Length': String(Buffer.byteLength(body)) });
        res.end(body);
      } else {
        res.destroy();
      }
    });
    up.on('response', (upRes) => {
      if (mode.dropResponse) {
        upRes.resume();
        upRes.on('end', () => req.socket.destroy());
        return;
      }
      res.writeHead(upRes.statusCode ?? 502, upRes.statusMessage, downstreamHeaders(upRes));
      const cut = mode.cut;
      if (mode.bytesPerSecond !== undefined) {
        // Pace the body: after each chunk, wait until the elapsed time matches the rate.
        const rate = mode.bytesPerSecond;
        const started = Date.now();
        let sent = 0;
        upRes.on('data', (chunk: Buffer) => {
          res.write(chunk);
          sent += chunk.length;
          const wait = (sent / rate) * 1000 - (Date.now() - started);
          if (wait > 1) {
            upRes.pause();
            later(() => upRes.resume(), wait);
          }
        });
        upRes.on('end', () => {
          finished = true;
          res.end();
        });
        return;
      }
      if (mode.corruptAt !== undefined) {
        // Flip one byte in flight: same length, valid HTTP, wrong content.
        let seen = 0;
        const at = mode.corruptAt;
        upRes.on('data', (chunk: Buffer) => {
          if (at >= seen && at < seen + chunk.length) {
            chunk = Buffer.from(chunk);
            chunk[at - seen] ^= 0xff;
          }
          seen += chunk.length;
          res.write(chunk);
        });
        upRes.on('end', () => {
          finished = true;
          res.end();
        });
        return;
      }
      if (!cut) {
        upRes.pipe(res);
        upRes.on('end', () => {
          finished = true;
        });
        return;
      }
      let limit = cut.bytes;
      if (limit === undefined) {
        const len = Number(upRes.headers['content-length']);
        if (Number.isFinite(len) && len > 0) limit = Math.floor(len / 2);
      }
      let sent = 0;
      let cutDone = false;
      const stop = (): void => {
        cutDone = true;
        upRes.removeAllListeners('data');
        upRes.pause();
        finished = true;
        up.destroy();
      };
      if (limit === 0) {
        stop();
        res.flushHeaders();
        cutAfterFlush(res, cut.reset);
        return;
      }
      upRes.on('data', (chunk: Buffer) => {
        const room = limit === undefined ? chunk.length : limit - sent;
        if (chunk.length < room) {
          sent += chunk.length;
          if (!res.write(chunk)) {
            upRes.pause();
            res.once('drain', () => upRes.resume());
          }
          return;
        }
        stop();
        sent += room;
        res.write(chunk.subarray(0, room));
        cutAfterFlush(res, cut.reset);
      });
      upRes.on('end', () => {
        // The body was shorter than the cut point: it went through whole. ('end' can still fire
        // after a cut when the whole body had already been parsed: ignore it then.)
        if (cutDone) return;
        finished = true;
        res.end();
      });
    });
    req.pipe(up);
  };

  const server = createServer((req, res) => {
    stats.requests++;
    const chosen = choose(req);
    const action = chosen?.rule.action;
    if (!action) return forward(req, res, {});
    switch (action.type) {
      case 'drop':
        if (action.afterForward) return forward(req, res, { dropResponse: true });
        req.socket.destroy();
        return;
      case 'delay':
        later(() => {
          if (!req.socket.destroyed) forward(req, res, {});
        }, action.ms);
        return;
      case 'status': {
        req.resume();
        const body = action.body ?? defaultStatusBody(action.status);
        const buf = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
        res.writeHead(action.status, {
          'Content-Type': action.body === undefined ? 'application/xml' : 'text/plain; charset=utf-8',
          'Content-Length': String(buf.length),
          ...(action.headers ?? {}),
        });
        res.end(buf);
        return;
      }
      case 'truncate':
        return forward(req, res, { cut: { bytes: action.bytes, reset: false } });
      case 'reset-mid-body':
        return forward(req, res, { cut: { bytes: action.bytes, reset: true } });
      case 'corrupt':
        return forward(req, res, { corruptAt: action.at });
      case 'throttle':
        return forward(req, res, { bytesPerSecond: action.bytesPerSecond });
    }
  });
  server.on('connection', (s: Socket) => {
    clientSockets.add(s);
    s.on('close', () => clientSockets.delete(s));
  });
  server.keepAliveTimeout = 1000;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;

  return {
    url: `http://127.0.0.1:${port}`,
    port,
    setRules,
    clearRules: () => setRules([]),
    stats,
    resetStats() {
      Object.assign(stats, emptyStats());
    },
    stop() {
      for (const t of timers) clearTimeout(t);
      timers.clear();
      return new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
        for (const s of clientSockets) s.destroy();
        agent.destroy();
      });
    },
  };
}
