/**
 * The helpers that tie cloud calls to an AbortSignal leave no listener behind on it: racing a call,
 * sleeping between attempts, reading a body, and the signal of one attempt. A long-lived signal
 * (one per training job) would otherwise collect a listener per request.
 */
import { getEventListeners } from 'events';

import { raceSignal, sleep } from '../../lib/internal/abort';
import { attemptSignal, DEFAULT_RETRY_POLICY } from '../../lib/backends/cloud/retry';
import { readBody } from '../../lib/backends/cloud/body';
import { rejectionOf } from '../helpers/local';

describe('signals leave no listener behind', () => {
  test('raceSignal removes its listener whether the work resolves or rejects', async () => {
    const controller = new AbortController();
    await expect(raceSignal(Promise.resolve(1), controller.signal)).resolves.toBe(1);
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
    await expect(raceSignal(Promise.reject(new Error('no')), controller.signal)).rejects.toThrow('no');
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
  });

  test('readBody removes its listener once the body is read', async () => {
    const controller = new AbortController();
    const body = (async function* () {
      yield Uint8Array.of(1);
    })();
    await readBody(body, 1, controller.signal);
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
  });

  test('raceSignal rejects with the reason as soon as the signal fires, while the work goes on', async () => {
    const controller = new AbortController();
    const racing = raceSignal(new Promise(() => undefined), controller.signal);
    const reason = new Error('stop');
    controller.abort(reason);
    expect(await rejectionOf(racing)).toBe(reason);
  });

  test('sleep removes its listener when the time is up, and rejects at once on abort', async () => {
    const controller = new AbortController();
    await sleep(1, controller.signal);
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
    const sleeping = sleep(60_000, controller.signal);
    controller.abort(new Error('wake'));
    expect((await rejectionOf(sleeping)).message).toBe('wake');
  });

  test("an attempt's signal: aborted at once by an aborted caller, and the caller's listener goes when it fires", () => {
    const policy = { ...DEFAULT_RETRY_POLICY, attemptTimeoutMs: 60_000 };
    const already = new AbortController();
    const reason = new Error('before the attempt');
    already.abort(reason);
    const early = attemptSignal(policy, already.signal);
    expect(early.signal?.aborted).toBe(true);
    expect(early.signal?.reason).toBe(reason);
    early.done();

    const caller = new AbortController();
    const attempt = attemptSignal(policy, caller.signal);
    expect(attempt.signal?.aborted).toBe(false);
    expect(getEventListeners(caller.signal, 'abort')).toHaveLength(1);
    caller.abort(new Error('later'));
    expect(attempt.signal?.reason).toEqual(new Error('later'));
    expect(getEventListeners(caller.signal, 'abort')).toHaveLength(0);
    attempt.done();

    const finished = new AbortController();
    attemptSignal(policy, finished.signal).done();
    expect(getEventListeners(finished.signal, 'abort')).toHaveLength(0);
  });
});
