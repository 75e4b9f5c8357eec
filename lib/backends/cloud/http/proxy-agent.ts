/**
 * Keep-alive agents for an SDK's own HTTP stack that honour the same proxy variables as the lean
 * path (proxy.ts): a connection to an origin the variables send through a proxy is a CONNECT
 * tunnel (TLS inside it for https://). Other connections are plain ones.
 */
import * as http from 'http';
import * as https from 'https';
import * as net from 'net';
import type { Duplex } from 'stream';
import * as tls from 'tls';

import { openTunnel, proxyFor } from './proxy';

type Callback = (error: Error | null, stream: Duplex) => void;

function hostPort(host: string, port: number): string {
  return `${host.includes(':') ? `[${host}]` : host}:${port}`;
}

/**
 * Opens the connection `options` asks for through the proxy the variables name for it, and hands
 * it to `callback` (TLS inside the tunnel for https://). False when no proxy applies.
 */
function tunnelled(
  protocol: 'http:' | 'https:',
  options: http.ClientRequestArgs,
  env: NodeJS.ProcessEnv,
  callback: Callback | undefined,
): boolean {
  const host = String(options.host ?? options.hostname ?? 'localhost');
  const port = Number(options.port ?? (protocol === 'https:' ? 443 : 80));
  const proxy = proxyFor(protocol, host, port, env);
  if (!proxy) return false;
  const fail = (error: Error): void => callback?.(error, undefined as unknown as Duplex);
  openTunnel(proxy, hostPort(host, port)).then((socket) => {
    if (protocol === 'http:') {
      socket.resume();
      callback?.(null, socket);
      return;
    }
    // The server's name is checked against the origin, not the proxy.
    const servername = net.isIP(host) ? undefined : host;
    const secure = tls.connect({ ...(options as tls.ConnectionOptions), host, servername, socket });
    // Only a failure to connect is reported here; later errors are the request's.
    secure.once('error', fail);
    secure.once('secureConnect', () => {
      secure.off('error', fail);
      callback?.(null, secure);
    });
  }, fail);
  return true;
}

/** A TCP connect that has not completed within `timeoutMs` is destroyed with ETIMEDOUT. */
function boundConnect(socket: Duplex | null | undefined, timeoutMs: number | undefined): Duplex | null | undefined {
  if (timeoutMs === undefined || !(socket instanceof net.Socket) || !socket.connecting) return socket;
  const timer = setTimeout(() => {
    const error = Object.assign(new Error(`connect timed out after ${timeoutMs} ms`), { code: 'ETIMEDOUT' });
    socket.destroy(error);
  }, timeoutMs);
  const clear = (): void => clearTimeout(timer);
  socket.once('connect', clear);
  socket.once('close', clear);
  return socket;
}

/**
 * An http.Agent and an https.Agent with these settings, each tunnelling where a proxy applies;
 * `connectTimeoutMs` bounds a direct connection's TCP connect (for SDKs that have no such setting).
 */
export function proxyAwareAgents(settings: {
  maxSockets: number;
  ca?: string;
  env?: NodeJS.ProcessEnv;
  connectTimeoutMs?: number;
}): {
  httpAgent: http.Agent;
  httpsAgent: https.Agent;
} {
  const env = settings.env ?? process.env;
  const { maxSockets, ca, connectTimeoutMs } = settings;

  class TunnellingHttpAgent extends http.Agent {
    override createConnection(options: http.ClientRequestArgs, callback?: Callback): Duplex | null | undefined {
      if (tunnelled('http:', options, env, callback)) return undefined;
      return boundConnect(super.createConnection(options, callback), connectTimeoutMs);
    }
  }

  class TunnellingHttpsAgent extends https.Agent {
    override createConnection(options: https.RequestOptions, callback?: Callback): Duplex | null | undefined {
      if (tunnelled('https:', options, env, callback)) return undefined;
      return boundConnect(super.createConnection(options, callback), connectTimeoutMs);
    }
  }

  return {
    httpAgent: new TunnellingHttpAgent({ keepAlive: true, maxSockets }),
    httpsAgent: new TunnellingHttpsAgent({ keepAlive: true, maxSockets, ...(ca !== undefined && { ca }) }),
  };
}
