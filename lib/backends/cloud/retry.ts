/**
 * Retries with exponential backoff and full jitter, each attempt bounded by its own timeout and
 * cancelled by the operation's AbortSignal. Only steps marked idempotent are retried.
 */
import { sleep } from '../../internal/abort';

/** How cloud operations are retried (options and environment variables in docs/configuration.md). */
export interface RetryPolicy {
  /** Total attempts, including the first (1 = no retry). */
  maxAttempts: number;
  /** First backoff ceiling in ms; doubles each attempt. */
  baseDelayMs: number;
  /** Largest backoff in ms. */
  maxDelayMs: number;
  /** Time limit of one attempt in ms (0 = none). */
  attemptTimeoutMs: number;
}

/** Defaults: 4 attempts, 100 ms doubling to at most 5 s, 60 s per attempt. */
export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  maxAttempts: 4,
  baseDelayMs: 100,
  maxDelayMs: 5000,
  attemptTimeoutMs: 60_000,
};

/** What a failed attempt means for the next one. */
export interface AttemptFailure {
  /** Worth another attempt (throttling, 5xx, connection reset, timeout). */
  retryable: boolean;
  /** Throttling asks for a longer pause than other transient errors. */
  throttled?: boolean;
}

/** Full-jitter backoff: uniform in [0, min(max, base * 2^attempt)] (doubled when throttled). */
export function backoffDelay(policy: RetryPolicy, attempt: number, throttled: boolean, random = Math.random): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** attempt * (throttled ? 2 : 1));
  return Math.floor(random() * ceiling);
}

/**
 * The signal for one attempt: the operation's signal, plus the attempt timeout when set. The
 * timer is a plain (strong) setTimeout, cleared by `done()`: `AbortSignal.timeout` holds its
 * signal weakly, and an attempt stalled on a dead socket can become unreachable, be collected,
 * and then never time out.
 */
export function attemptSignal(
  policy: RetryPolicy,
  signal: AbortSignal | undefined,
): { signal: AbortSignal | undefined; done: () => void } {
  if (policy.attemptTimeoutMs <= 0) return { signal, done: () => undefined };
  // Linked by hand, not with AbortSignal.any, whose combined signal is also only weakly held.
  const controller = new AbortController();
  const onAbort = (): void => controller.abort(signal?.reason);
  if (signal?.aborted) onAbort();
  else signal?.addEventListener('abort', onAbort, { once: true });
  const timer = setTimeout(
    () => controller.abort(new DOMException(`attempt timed out after ${policy.attemptTimeoutMs} ms`, 'TimeoutError')),
    policy.attemptTimeoutMs,
  );
  return {
    signal: controller.signal,
    done: () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    },
  };
}

/**
 * Runs `attempt` until it succeeds, the failure is not retryable, the step is not idempotent, the
 * attempts run out, or `signal` aborts. The last error is thrown as it is.
 */
export async function withRetry<T>(
  policy: RetryPolicy,
  idempotent: boolean,
  signal: AbortSignal | undefined,
  attempt: (attemptSignal: AbortSignal | undefined, attemptNumber: number) => Promise<T>,
  classify: (error: unknown) => AttemptFailure,
): Promise<T> {
  for (let number = 0; ; number++) {
    const bounded = attemptSignal(policy, signal);
    let failure: AttemptFailure;
    try {
      return await attempt(bounded.signal, number);
    } catch (error) {
      if (signal?.aborted) throw error;
      failure = classify(error);
      if (!idempotent || !failure.retryable || number + 1 >= policy.maxAttempts) throw error;
    } finally {
      // The attempt is over: its timer must not fire during the pause, or after the operation.
      bounded.done();
    }
    await sleep(backoffDelay(policy, number, failure.throttled === true), signal);
  }
}
