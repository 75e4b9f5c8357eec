/**
 * The retry policy every cloud request goes through (lib/backends/cloud/retry.ts), on its own: only
 * idempotent steps are retried, and only for retryable failures; attempts are counted exactly;
 * backoff stays within its documented bounds; the caller's signal ends a backoff at once.
 */
import { DEFAULT_RETRY_POLICY, type RetryPolicy, backoffDelay, withRetry } from '../../lib/backends/cloud/retry';
import { rejectionOf } from '../helpers/local';

/** A policy with no real waiting (backoff 0–1 ms) unless a test asks for more. */
const fast = (overrides: Partial<RetryPolicy> = {}): RetryPolicy => ({
  ...DEFAULT_RETRY_POLICY,
  baseDelayMs: 1,
  maxDelayMs: 1,
  attemptTimeoutMs: 0,
  ...overrides,
});

/** An attempt that fails with `error` the first `failures` times, then resolves to 'done'. */
function flaky(failures: number, error: unknown = new Error('transient')) {
  const calls: number[] = [];
  const attempt = async (_signal: AbortSignal | undefined, number: number): Promise<string> => {
    calls.push(number);
    if (calls.length <= failures) throw error;
    return 'done';
  };
  return { attempt, calls };
}

const retryable = () => ({ retryable: true });
const throttled = () => ({ retryable: true, throttled: true });
const permanent = () => ({ retryable: false });

describe('withRetry: which failures are retried', () => {
  test('a non-idempotent step is attempted exactly once, even for a retryable or throttled failure', async () => {
    for (const classify of [retryable, throttled]) {
      const error = new Error('503 on CompleteMultipartUpload');
      const { attempt, calls } = flaky(1, error);
      await expect(withRetry(fast(), false, undefined, attempt, classify)).rejects.toBe(error);
      expect(calls).toEqual([0]);
    }
  });

  test('a non-idempotent step that succeeds is run once and its value returned', async () => {
    const { attempt, calls } = flaky(0);
    await expect(withRetry(fast(), false, undefined, attempt, retryable)).resolves.toBe('done');
    expect(calls).toEqual([0]);
  });

  test('an idempotent step is retried after retryable failures, attempts numbered from 0', async () => {
    const { attempt, calls } = flaky(3);
    await expect(withRetry(fast({ maxAttempts: 4 }), true, undefined, attempt, retryable)).resolves.toBe('done');
    expect(calls).toEqual([0, 1, 2, 3]);
  });

  test('an idempotent step is not retried after a failure that is not retryable', async () => {
    const error = new Error('403');
    const { attempt, calls } = flaky(5, error);
    await expect(withRetry(fast(), true, undefined, attempt, permanent)).rejects.toBe(error);
    expect(calls).toEqual([0]);
  });

  test('exactly maxAttempts attempts, the last error thrown as it is', async () => {
    for (const maxAttempts of [1, 2, 5]) {
      const errors = Array.from({ length: 10 }, (_, index) => new Error(`failure ${index}`));
      const calls: number[] = [];
      const attempt = async (_signal: AbortSignal | undefined, number: number): Promise<never> => {
        calls.push(number);
        throw errors[number];
      };
      const error = await rejectionOf(withRetry(fast({ maxAttempts }), true, undefined, attempt, retryable));
      expect(calls).toHaveLength(maxAttempts);
      expect(error).toBe(errors[maxAttempts - 1]);
    }
  });

  test('each failure is classified: a permanent one after transient ones stops the retries', async () => {
    const calls: number[] = [];
    const attempt = async (_signal: AbortSignal | undefined, number: number): Promise<never> => {
      calls.push(number);
      throw new Error(number < 2 ? 'transient' : 'permanent');
    };
    const classify = (error: unknown) => ({ retryable: (error as Error).message === 'transient' });
    await expect(withRetry(fast({ maxAttempts: 10 }), true, undefined, attempt, classify)).rejects.toThrow('permanent');
    expect(calls).toEqual([0, 1, 2]);
  });
});

describe('withRetry: signals and timeouts', () => {
  test('the caller aborting during a backoff ends it at once with the signal’s reason; no further attempt', async () => {
    const controller = new AbortController();
    const reason = new Error('enough');
    const calls: number[] = [];
    const attempt = async (): Promise<never> => {
      calls.push(calls.length);
      // Abort while the retry waits (a backoff of up to an hour: only the abort can end it).
      setImmediate(() => controller.abort(reason));
      throw new Error('transient');
    };
    const policy = fast({ baseDelayMs: 3_600_000, maxDelayMs: 3_600_000, maxAttempts: 5 });
    const pending = withRetry(policy, true, controller.signal, attempt, () => ({ retryable: true }));
    await expect(pending).rejects.toBe(reason);
    expect(calls).toEqual([0]);
  });

  test('an attempt that fails after the caller aborted is not retried', async () => {
    const controller = new AbortController();
    const calls: number[] = [];
    const attempt = async (): Promise<never> => {
      calls.push(calls.length);
      controller.abort(new Error('stop'));
      throw new Error('transient, but the caller is gone');
    };
    await expect(withRetry(fast(), true, controller.signal, attempt, retryable)).rejects.toThrow(
      'transient, but the caller is gone',
    );
    expect(calls).toEqual([0]);
  });

  test('each attempt gets its own signal that fires after attemptTimeoutMs; the next attempt gets a fresh one', async () => {
    const seen: AbortSignal[] = [];
    const attempt = (signal: AbortSignal | undefined): Promise<string> => {
      seen.push(signal as AbortSignal);
      if (seen.length === 2) return Promise.resolve('second');
      return new Promise((_, reject) => signal?.addEventListener('abort', () => reject(signal.reason)));
    };
    await expect(withRetry(fast({ attemptTimeoutMs: 20 }), true, undefined, attempt, retryable)).resolves.toBe(
      'second',
    );
    expect(seen).toHaveLength(2);
    expect(seen[0].aborted).toBe(true);
    expect((seen[0].reason as DOMException).name).toBe('TimeoutError');
    expect(seen[1]).not.toBe(seen[0]);
    expect(seen[1].aborted).toBe(false);
  });
});

describe('backoffDelay: full jitter within documented bounds', () => {
  const policy: RetryPolicy = { maxAttempts: 4, baseDelayMs: 100, maxDelayMs: 5000, attemptTimeoutMs: 0 };
  // random() just below 1 gives the ceiling (minus one after flooring); 0 gives 0.
  const top = (): number => 1 - Number.EPSILON;

  test('the ceiling doubles per attempt from baseDelayMs and stops at maxDelayMs', () => {
    const ceilings = [0, 1, 2, 3, 4, 5, 6, 10].map((attempt) => backoffDelay(policy, attempt, false, top));
    expect(ceilings).toEqual([99, 199, 399, 799, 1599, 3199, 4999, 4999]);
  });

  test('throttling doubles the ceiling, still at most maxDelayMs', () => {
    const ceilings = [0, 1, 4, 5].map((attempt) => backoffDelay(policy, attempt, true, top));
    expect(ceilings).toEqual([199, 399, 3199, 4999]);
  });

  test('jitter is uniform from 0: random() picks the point below the ceiling', () => {
    expect(backoffDelay(policy, 2, false, () => 0)).toBe(0);
    expect(backoffDelay(policy, 2, false, () => 0.5)).toBe(200);
    expect(backoffDelay(policy, 2, true, () => 0.25)).toBe(200);
  });

  test('the defaults are the documented ones: 4 attempts, 100 ms doubling to 5 s, 60 s per attempt', () => {
    expect(DEFAULT_RETRY_POLICY).toEqual({
      maxAttempts: 4,
      baseDelayMs: 100,
      maxDelayMs: 5000,
      attemptTimeoutMs: 60_000,
    });
  });
});
