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

/** An http.Agent and an https.Agent with these settings, each tunnelling where a proxy applies. */
export function proxyAwareAgents(settings: { maxSockets: number; ca?: string; env?: NodeJS.ProcessEnv }): {
  httpAgent: http.Agent;
  httpsAgent: https.Agent;
} {
  const env = settings.env ?? process.env;
  const { maxSockets, ca } = settings;

  class TunnellingHttpAgent extends http.Agent {
    override createConnection(options: http.ClientRequestArgs, callback?: Callback): Duplex | null | undefined {
      const host = String(options.host ?? options.hostname ?? 'localhost');
      const port = Number(options.port ?? 80);
      const proxy = proxyFor('http:', host, port, env);
      if (!proxy) return super.createConnection(options, callback);
      openTunnel(proxy, hostPort(host, port)).then(
        (socket) => {
          socket.resume();
          callback?.(null, socket);
        },
        (error: Error) => callback?.(error, undefined as unknown as Duplex),
      );
      return undefined;
    }
  }

  class TunnellingHttpsAgent extends https.Agent {
    override createConnection(options: https.RequestOptions, callback?: Callback): Duplex | null | undefined {
      const host = String(options.host ?? options.hostname ?? 'localhost');
      const port = Number(options.port ?? 443);
      const proxy = proxyFor('https:', host, port, env);
      if (!proxy) return super.createConnection(options, callback);
      openTunnel(proxy, hostPort(host, port)).then(
        (socket) => {
          // The server's name is checked against the origin, not the proxy.
          const servername = net.isIP(host) ? undefined : host;
          const secure = tls.connect({ ...(options as tls.ConnectionOptions), host, servername, socket });
          secure.once('secureConnect', () => callback?.(null, secure));
          secure.once('error', (error) => callback?.(error, undefined as unknown as Duplex));
        },
        (error: Error) => callback?.(error, undefined as unknown as Duplex),
      );
      return undefined;
    }
  }

  return {
    httpAgent: new TunnellingHttpAgent({ keepAlive: true, maxSockets }),
    httpsAgent: new TunnellingHttpsAgent({ keepAlive: true, maxSockets, ...(ca !== undefined && { ca }) }),
  };
}
