/**
 * A forward proxy as HTTP_PROXY / HTTPS_PROXY name one: it forwards absolute-form requests
 * (`GET http://host:port/path`) and opens CONNECT tunnels, and records both, with the
 * Proxy-Authorization each carried. Optionally it demands credentials (407 without them).
 */
import * as http from 'http';
import * as net from 'net';

export interface ForwardProxy {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  /** `METHOD target` of every forwarded request, and `CONNECT host:port` of every tunnel. */
  readonly seen: string[];
  /** Proxy-Authorization values received. */
  readonly authorizations: string[];
  stop(): Promise<void>;
}

/** Settings of a forward proxy. */
export interface ForwardProxyOptions {
  /** The Proxy-Authorization value to demand (407 without it). */
  requireAuth?: string;
  /**
   * Host names only this proxy knows, and the address each stands for: a client can reach such a
   * host through the proxy and in no other way, which proves its requests all went through it.
   */
  hosts?: Record<string, string>;
}

export async function startForwardProxy(options: ForwardProxyOptions = {}): Promise<ForwardProxy> {
  const address = (host: string): string => options.hosts?.[host] ?? host;
  const seen: string[] = [];
  const authorizations: string[] = [];
  const sockets = new Set<net.Socket>();
  const allowed = (auth: string | undefined): boolean => {
    if (auth !== undefined) authorizations.push(auth);
    return options.requireAuth === undefined || auth === options.requireAuth;
  };
  const server = http.createServer((request, response) => {
    seen.push(`${request.method} ${request.url}`);
    if (!allowed(request.headers['proxy-authorization'])) {
      response.writeHead(407, { 'proxy-authenticate': 'Basic' }).end();
      return;
    }
    const target = new URL(request.url ?? '');
    const headers = { ...request.headers };
    delete headers['proxy-authorization'];
    const forwarded = http.request(
      {
        host: address(target.hostname),
        port: target.port,
        method: request.method,
        path: `${target.pathname}${target.search}`,
        headers,
      },
      (answer) => {
        response.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(response);
      },
    );
    forwarded.on('error', () => response.destroy());
    request.pipe(forwarded);
  });
  server.on('connection', (socket: net.Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.on('connect', (request: http.IncomingMessage, client: net.Socket, head: Buffer) => {
    seen.push(`CONNECT ${request.url}`);
    if (!allowed(request.headers['proxy-authorization'])) {
      client.end('HTTP/1.1 407 Proxy Authentication Required\r\n\r\n');
      return;
    }
    const [host, port] = (request.url ?? '').split(/:(?=\d+$)/);
    const out = net.connect(Number(port), address(host.replace(/^\[|\]$/g, '')), () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.byteLength > 0) out.write(head);
      out.pipe(client);
      client.pipe(out);
    });
    sockets.add(out);
    const close = (): void => {
      client.destroy();
      out.destroy();
    };
    out.on('error', close).on('close', close);
    client.on('error', close).on('close', close);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    authorizations,
    async stop() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
