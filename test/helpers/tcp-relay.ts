/**
 * A TCP relay in front of a test server: it counts the connections a client opens (in total and
 * at once) and the bytes it sends, and can misbehave on purpose: pace what the client sends, or
 * close a kept-alive connection the moment a further request arrives on it (as a server does when
 * its idle timeout fires just as the client reuses the connection).
 */
import * as net from 'net';

export interface RelayOptions {
  /** Bytes per second forwarded from the client to the server (default: no limit). */
  upstreamBytesPerSecond?: number;
  /** Close a connection, unanswered, when its second request starts (this many times). */
  closeReusedConnections?: number;
}

export interface TcpRelay {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  readonly stats: { connections: number; peak: number; open: number; bytesUp: number; closedReused: number };
  stop(): Promise<void>;
}

export async function startTcpRelay(target: string, options: RelayOptions = {}): Promise<TcpRelay> {
  const upstream = new URL(target);
  const sockets = new Set<net.Socket>();
  const stats = { connections: 0, peak: 0, open: 0, bytesUp: 0, closedReused: 0 };
  let closeReused = options.closeReusedConnections ?? 0;
  const server = net.createServer((client) => {
    stats.connections++;
    stats.open++;
    stats.peak = Math.max(stats.peak, stats.open);
    const out = net.connect(Number(upstream.port), upstream.hostname);
    sockets.add(client).add(out);
    let answered = false;
    const close = (): void => {
      if (sockets.delete(client)) stats.open--;
      client.destroy();
      out.destroy();
    };
    client.on('error', close).on('close', close);
    out.on('error', close).on('close', close);
    out.on('data', (chunk: Buffer) => {
      answered = true;
      client.write(chunk);
    });
    client.on('data', (chunk: Buffer) => {
      if (answered && closeReused > 0) {
        // A request on a connection that already carried one: close it, unanswered.
        closeReused--;
        stats.closedReused++;
        close();
        return;
      }
      stats.bytesUp += chunk.byteLength;
      const rate = options.upstreamBytesPerSecond;
      if (!rate) {
        out.write(chunk);
        return;
      }
      client.pause();
      out.write(chunk);
      setTimeout(() => client.resume(), (chunk.byteLength / rate) * 1000);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    stats,
    async stop() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
