/**
 * The retry loop and the abort helpers of the cloud backends (lib/backends/cloud/retry.ts, abort.ts) and
 * the settings they read (lib/backends/cloud/config.ts), on their own. test/cloud/51–53 check them end to
 * end against the servers.
 */
import { envValue, isLoopbackHost, retryPolicyFrom } from '../../lib/backends/cloud/config';
import { raceSignal, sleep } from '../../lib/internal/abort';
import { type RetryPolicy, attemptSignal, withRetry } from '../../lib/backends/cloud/retry';
import { rejectionOf, thrownBy } from '../helpers/local';

const policy = (overrides: Partial<RetryPolicy> = {}): RetryPolicy => ({
  maxAttempts: 4,
  baseDelayMs: 100,
  maxDelayMs: 5000,
  attemptTimeoutMs: 0,
  ...overrides,
});

afterEach(() => {
  jest.restoreAllMocks();
});

describe('withRetry', () => {
  test('the pause before another attempt is twice as long after throttling', async () => {
    jest.spyOn(Math, 'random').mockReturnValue(0.5);
    const delays: number[] = [];
    const realSetTimeout = global.setTimeout;
    jest.spyOn(global, 'setTimeout').mockImplementation(((callback: () => void, ms?: number) => {
      delays.push(ms ?? 0);
      return realSetTimeout(callback, 0);
    }) as typeof setTimeout);
    for (const throttled of [false, true]) {
      let calls = 0;
      await withRetry(
        policy(),
        true,
        undefined,
        async () => {
          if (calls++ === 0) throw new Error('transient');
          return 'ok';
        },
        () => ({ retryable: true, throttled }),
      );
    }
    // Half of the ceiling: base 100 ms after the first attempt, doubled when throttled.
    expect(delays).toEqual([50, 100]);
  });

  test('without an attempt timeout (0), an attempt gets the operation’s own signal and no timer', () => {
    const controller = new AbortController();
    const bounded = attemptSignal(policy({ attemptTimeoutMs: 0 }), controller.signal);
    expect(bounded.signal).toBe(controller.signal);
    expect(attemptSignal(policy({ attemptTimeoutMs: 0 }), undefined).signal).toBeUndefined();
  });

  test('an attempt slower than no timeout at all (0) succeeds', async () => {
    const result = await withRetry(
      policy({ attemptTimeoutMs: 0, maxAttempts: 1 }),
      true,
      undefined,
      async (signal) => {
        await sleep(30, signal);
        return signal?.aborted === true ? 'aborted' : 'done';
      },
      () => ({ retryable: false }),
    );
    expect(result).toBe('done');
  });

  test('each attempt’s timer ends with the attempt: it never fires during the pause before the next attempt, or later', async () => {
    const signals: Array<AbortSignal | undefined> = [];
    await withRetry(
      policy({ attemptTimeoutMs: 40 }),
      true,
      undefined,
      async (signal) => {
        signals.push(signal);
        if (signals.length === 1) throw new Error('transient');
        return 'ok';
      },
      () => ({ retryable: true }),
    );
    await sleep(120, undefined);
    expect(signals).toHaveLength(2);
    expect(signals.map((signal) => signal?.aborted)).toEqual([false, false]);
  });
});

describe('sleep and raceSignal', () => {
  test('raceSignal with a signal already aborted rejects with its reason, and the work’s own failure goes unreported', async () => {
    const reason = new Error('stopped');
    const unhandled = jest.fn();
    process.on('unhandledRejection', unhandled);
    try {
      const work = Promise.reject(new Error('the work failed too'));
      expect(await rejectionOf(raceSignal(work, AbortSignal.abort(reason)))).toBe(reason);
      await sleep(10, undefined);
      expect(unhandled).not.toHaveBeenCalled();
    } finally {
      process.off('unhandledRejection', unhandled);
    }
  });

  test('raceSignal settles with the work, or with the signal first', async () => {
    const controller = new AbortController();
    expect(await raceSignal(Promise.resolve(7), controller.signal)).toBe(7);
    expect(await raceSignal(Promise.resolve(8), undefined)).toBe(8);
    const failure = new Error('work failed');
    expect(await rejectionOf(raceSignal(Promise.reject(failure), controller.signal))).toBe(failure);
    const pending = raceSignal(new Promise(() => undefined), controller.signal);
    controller.abort(new Error('late'));
    expect((await rejectionOf(pending)).message).toBe('late');
  });

  test('sleep rejects at once with a signal already aborted, and as soon as one fires', async () => {
    const reason = new Error('now');
    expect(await rejectionOf(sleep(10_000, AbortSignal.abort(reason)))).toBe(reason);
    const controller = new AbortController();
    const started = Date.now();
    const pending = sleep(10_000, controller.signal);
    setTimeout(() => controller.abort(reason), 10);
    expect(await rejectionOf(pending)).toBe(reason);
    expect(Date.now() - started).toBeLessThan(5000);
  });
});

describe('cloud settings', () => {
  test('envValue: the first of the names set to a non-empty value', () => {
    expect(envValue({ B: 'b' }, 'A', 'B')).toBe('b');
    expect(envValue({ A: '', B: 'b' }, 'A', 'B')).toBe('b');
    expect(envValue({ A: 'a', B: 'b' }, 'A', 'B')).toBe('a');
    expect(envValue({ A: '' }, 'A', 'B')).toBeUndefined();
  });

  test('a bad retry option is refused under its own name', () => {
    expect(thrownBy(() => retryPolicyFrom({ maxAttempts: -1 }, {})).message).toContain('options.maxAttempts');
    expect(thrownBy(() => retryPolicyFrom({ attemptTimeoutMs: 1.5 }, {})).message).toContain(
      'options.attemptTimeoutMs',
    );
  });

  test.each<[string, boolean]>([
    ['localhost', true],
    ['LOCALHOST', true],
    ['127.0.0.1', true],
    ['127.10.200.31', true],
    ['[::1]', true],
    ['::1', true],
    ['128.0.0.1', false],
    ['127.0.0', false],
    ['127.0.0.1.example.com', false],
    ['localhost.example.com', false],
    ['[::2]', false],
  ])('isLoopbackHost(%j) → %s', (host, expected) => {
    expect(isLoopbackHost(host)).toBe(expected);
  });
});
