/**
 * A transparent HTTP(S) reverse proxy that records every request it forwards (method, Host,
 * path, query, headers) and the connections it accepts, so a test can see on the wire where a
 * store sends its requests, with which region, credential and headers. The Host header is kept
 * (the servers use it to build resumable-upload URLs, which then point back here).
 */
import * as http from 'http';
import * as https from 'https';
import type { AddressInfo, Socket } from 'net';

/** One request as it arrived. */
export interface RecordedRequest {
  method: string;
  host: string;
  /** Path of the request target, still percent-encoded. */
  path: string;
  /** Query string without the '?' ('' when none). */
  query: string;
  headers: http.IncomingHttpHeaders;
}

/** An answer the proxy gives itself instead of forwarding (a fault to retry, a request that hangs). */
export type Intercept = { status: number; body?: string; headers?: Record<string, string> } | 'hang';

export interface RecordingProxyOptions {
  /** `http://host:port` the requests are forwarded to. */
  target: string;
  /** Serve HTTPS with this key and certificate (PEM). */
  tls?: { key: string; cert: string };
  /** Answer a request here instead of forwarding it. */
  intercept?: (request: RecordedRequest) => Intercept | undefined;
}

export interface RecordingProxy {
  /** `http(s)://127.0.0.1:<port>` */
  readonly url: string;
  readonly port: number;
  readonly requests: readonly RecordedRequest[];
  /** TCP connections accepted since the last clear(), and the most of them open at once. */
  readonly connections: { total: number; peak: number };
  /** The SigV4 `Credential=<key id>/<date>/<region>/…` of each request that has one. */
  credentialScopes(): Array<{ accessKeyId: string; region: string }>;
  clear(): void;
  stop(): Promise<void>;
}

/** The access key id and region of a SigV4 Authorization header (or a presigned query). */
export function sigV4Scope(request: RecordedRequest): { accessKeyId: string; region: string } | undefined {
  const source =
    request.headers.authorization ?? decodeURIComponent(/X-Amz-Credential=([^&]*)/.exec(request.query)?.[1] ?? '');
  const match = /Credential=([^/,\s]+)\/\d{8}\/([^/]+)\/s3\/aws4_request/.exec(String(source));
  return match ? { accessKeyId: match[1], region: match[2] } : undefined;
}

export async function startRecordingProxy(options: RecordingProxyOptions): Promise<RecordingProxy> {
  const target = new URL(options.target);
  const requests: RecordedRequest[] = [];
  const connections = { total: 0, peak: 0 };
  let open = 0;
  let generation = 0;
  const sockets = new Set<Socket>();
  const agent = new http.Agent({ keepAlive: true });

  const handler = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    const raw = req.url ?? '/';
    const at = raw.indexOf('?');
    const record: RecordedRequest = {
      method: req.method ?? '',
      host: req.headers.host ?? '',
      path: at < 0 ? raw : raw.slice(0, at),
      query: at < 0 ? '' : raw.slice(at + 1),
      headers: req.headers,
    };
    requests.push(record);
    const intercepted = options.intercept?.(record);
    if (intercepted === 'hang') {
      req.resume();
      return; // never answered: the client's timeout has to end it
    }
    if (intercepted) {
      req.resume();
      res.writeHead(intercepted.status, intercepted.headers);
      res.end(intercepted.body ?? '');
      return;
    }
    const upstream = http.request(
      {
        host: target.hostname,
        port: target.port,
        method: req.method,
        path: raw,
        // A TLS front says so, as terminating proxies do: servers that answer with their own URLs
        // (a GCS resumable session's Location) then name the front's scheme, not plain http.
        headers: options.tls ? { ...req.headers, 'x-forwarded-proto': 'https' } : req.headers,
        agent,
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  };

  const server = options.tls ? https.createServer(options.tls, handler) : http.createServer(handler);
  server.on('connection', (socket: Socket) => {
    // Counted per generation: connections opened before the last clear() are not this test's.
    const mine = generation;
    connections.total++;
    connections.peak = Math.max(connections.peak, ++open);
    sockets.add(socket);
    socket.on('close', () => {
      if (mine === generation) open--;
      sockets.delete(socket);
    });
  });
  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `${options.tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    port,
    requests,
    connections,
    credentialScopes: () =>
      requests.flatMap((request) => {
        const scope = sigV4Scope(request);
        return scope ? [scope] : [];
      }),
    clear() {
      requests.length = 0;
      generation++;
      open = 0;
      connections.total = 0;
      connections.peak = 0;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        agent.destroy();
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
