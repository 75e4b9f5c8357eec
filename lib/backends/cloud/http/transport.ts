/**
 * The lean transport a store's settings ask for: a pool of connections on the main thread, or a
 * group of I/O threads (`ioThreads`), which every endpoint of one store shares.
 */
import { badArgument } from '../../../validate';
import type { ConnectionSettings, Transport } from '../config';
import { type HttpTransport, IoThreads, ThreadedTransport } from './io-threads';
import { HttpPool, type PoolSettings } from './pool';

/** Makes the I/O threads of a transport, or hands out the ones its store's endpoints share. */
export type ThreadSource = (count: number, settings: PoolSettings) => IoThreads;

/** A {@link ThreadSource} that makes one group and shares it (every endpoint of one store). */
export function sharedThreads(): ThreadSource {
  let threads: IoThreads | undefined;
  return (count, settings) => (threads ??= new IoThreads(count, settings));
}

/**
 * The lean transport of a store (undefined with the SDK's): a pool on the main thread, or I/O
 * threads. Threads with the SDK's transport are refused: it could not use them.
 */
export function leanTransport(
  connection: ConnectionSettings,
  transport: Transport,
  ca: string | undefined,
  env: NodeJS.ProcessEnv,
  threadsOf: ThreadSource = (count, settings) => new IoThreads(count, settings),
): HttpTransport | undefined {
  if (transport === 'sdk') {
    if (connection.ioThreads > 0) {
      throw badArgument(
        'options.ioThreads needs the lean transport: the SDK moves bodies on its own HTTP stack, on the main thread',
      );
    }
    return undefined;
  }
  const { maxSockets, connectTimeoutMs } = connection;
  const settings: PoolSettings = { maxSockets, connectTimeoutMs, ...(ca !== undefined && { ca }), env };
  if (connection.ioThreads === 0) return new HttpPool(settings);
  return new ThreadedTransport(threadsOf(connection.ioThreads, settings));
}
