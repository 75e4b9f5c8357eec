/**
 * Waiting on storage: ranks wait for rank 0's manifest, rank 0 waits for every rank's shard. A
 * probe runs every `intervalMs` until it returns a value, the time is up, or the signal aborts.
 */
import { type S3dlioError, abortError } from '../errors';
import { sleep } from '../internal/abort';

/** How long to wait, and how often to look. */
export interface PollSettings {
  timeoutMs: number;
  intervalMs: number;
  signal?: AbortSignal;
}

/**
 * Runs `probe` until it returns something other than undefined. After `timeoutMs` the error of
 * `timedOut` is thrown (ERR_TIMEOUT unless it says otherwise); an abort is ERR_ABORTED.
 */
export async function pollUntil<T>(
  operation: string,
  uri: string,
  settings: PollSettings,
  probe: () => Promise<T | undefined>,
  timedOut: (waitedMs: number) => S3dlioError,
): Promise<T> {
  const started = Date.now();
  const { signal } = settings;
  for (;;) {
    if (signal?.aborted) throw abortError(operation, uri, signal.reason);
    const value = await probe();
    if (value !== undefined) return value;
    const waited = Date.now() - started;
    if (waited >= settings.timeoutMs) throw timedOut(waited);
    try {
      await sleep(Math.min(settings.intervalMs, settings.timeoutMs - waited), signal);
    } catch {
      throw abortError(operation, uri, signal?.reason);
    }
  }
}
