/**
 * The proxy a request goes through, from the variables curl and the SDKs read: `HTTPS_PROXY` for
 * https:// endpoints, `HTTP_PROXY` for http:// ones, `ALL_PROXY` for both (lower-case names too),
 * and `NO_PROXY`, a comma-separated list of hosts (`example.com` also covers its subdomains,
 * `.example.com` only them, `host:port` one port, `*` every host) that are reached directly.
 */
import * as net from 'net';

import { badArgument } from '../../../validate';
import { envValue } from '../config';

/** A proxy to connect through: plain HTTP, with optional basic credentials. */
export interface ProxyEndpoint {
  host: string;
  port: number;
  /** `Basic …` value of Proxy-Authorization, when the URL had a user. */
  authorization?: string;
}

/** The proxy for `protocol//host:port`, or undefined to connect directly. */
export function proxyFor(
  protocol: 'http:' | 'https:',
  host: string,
  port: number,
  env: NodeJS.ProcessEnv = process.env,
): ProxyEndpoint | undefined {
  const raw =
    protocol === 'https:'
      ? envValue(env, 'HTTPS_PROXY', 'https_proxy', 'ALL_PROXY', 'all_proxy')
      : envValue(env, 'HTTP_PROXY', 'http_proxy', 'ALL_PROXY', 'all_proxy');
  if (raw === undefined || bypassed(host, port, envValue(env, 'NO_PROXY', 'no_proxy') ?? '')) return undefined;
  let url: URL;
  try {
    url = new URL(raw.includes('://') ? raw : `http://${raw}`);
  } catch (error) {
    throw badArgument(`Invalid proxy URL in the environment: ${JSON.stringify(redactUser(raw))}`, error);
  }
  if (url.protocol !== 'http:') {
    throw badArgument(`Unsupported proxy ${JSON.stringify(redactUser(raw))}: only http:// proxies are supported`);
  }
  const user = url.username ? `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}` : undefined;
  return {
    host: url.hostname.replace(/^\[|\]$/g, ''),
    port: Number(url.port || 80),
    ...(user !== undefined && { authorization: `Basic ${Buffer.from(user).toString('base64')}` }),
  };
}

function redactUser(raw: string): string {
  return raw.replace(/\/\/[^@/]*@/, '//REDACTED@');
}

/** Whether NO_PROXY names `host` (and `port`). */
function bypassed(host: string, port: number, noProxy: string): boolean {
  const name = host.toLowerCase().replace(/^\[|\]$/g, '');
  for (const entry of noProxy.split(/[\s,]+/)) {
    if (entry === '') continue;
    if (entry === '*') return true;
    // `host`, `host:port`, `[v6]`, `[v6]:port`, or a bare IPv6 address (colons, no port).
    const bracketed = /^\[(.*)\](?::(\d+))?$/.exec(entry);
    const single = !bracketed && entry.split(':').length === 2 ? entry.split(':') : undefined;
    const pattern = (bracketed?.[1] ?? single?.[0] ?? entry).toLowerCase();
    const entryPort = bracketed?.[2] ?? single?.[1];
    if (entryPort !== undefined && Number(entryPort) !== port) continue;
    if (pattern.startsWith('.') ? name.endsWith(pattern) : name === pattern || name.endsWith(`.${pattern}`)) {
      return true;
    }
  }
  return false;
}

/**
 * A TCP connection to `hostPort` (`host:port`) through `proxy`'s CONNECT tunnel. Bytes after the
 * proxy's answer belong to the tunnel; the socket is returned paused, before any of them is read.
 */
export function openTunnel(proxy: ProxyEndpoint, hostPort: string): Promise<net.Socket> {
  return new Promise<net.Socket>((resolve, reject) => {
    const raw = net.connect({ host: proxy.host, port: proxy.port });
    const fail = (error: unknown): void => {
      raw.destroy();
      reject(error);
    };
    raw.once('error', fail);
    raw.once('connect', () => {
      const auth = proxy.authorization ? `Proxy-Authorization: ${proxy.authorization}\r\n` : '';
      raw.write(`CONNECT ${hostPort} HTTP/1.1\r\nHost: ${hostPort}\r\n${auth}\r\n`);
    });
    let answer = Buffer.alloc(0);
    const onData = (chunk: Buffer): void => {
      answer = Buffer.concat([answer, chunk]);
      const end = answer.indexOf('\r\n\r\n');
      if (end < 0) {
        if (answer.byteLength > 16384) fail(new Error('the proxy answered CONNECT with oversized headers'));
        return;
      }
      raw.off('data', onData);
      raw.pause();
      const status = /^HTTP\/1\.[01] (\d{3})/.exec(answer.toString('latin1', 0, end))?.[1];
      if (status !== '200') {
        const error = new Error(
          `the proxy ${proxy.host}:${proxy.port} refused a tunnel to ${hostPort} (HTTP ${status ?? '?'})`,
        );
        fail(Object.assign(error, { code: 'ECONNREFUSED' }));
        return;
      }
      // Bytes that came with the answer are the tunnel's first: put them back.
      if (answer.byteLength > end + 4) raw.unshift(answer.subarray(end + 4));
      raw.removeListener('error', fail);
      resolve(raw);
    };
    raw.on('data', onData);
  });
}
