/**
 * How a response body is framed and collected, checked directly: the two Content-Range forms
 * (the total of a ranged answer, the span length a chunked answer must have), which error a
 * body that fails mid-way becomes, and that racing a call against a signal leaves no listener
 * behind. test/cloud/56 drives the same code through servers that cut bodies short.
 */
import { getEventListeners } from 'events';

import { S3dlioError } from '../../lib/errors';
import { raceSignal, sleep } from '../../lib/internal/abort';
import { attemptSignal, DEFAULT_RETRY_POLICY } from '../../lib/internal/retry';
import { lengthFromContentRange, readBody, totalFromContentRange, TruncatedBodyError } from '../../lib/internal/body';
import { rejectionOf } from '../helpers/local';

describe('Content-Range', () => {
  test.each([
    ['bytes 0-99/1000', 1000],
    ['bytes 0-99/12345678901', 12345678901],
    ['bytes 0-99/1000  ', 1000],
    ['bytes */1000', 1000],
    ['bytes 0-99/*', undefined],
    ['bytes 0-99/1000x', undefined],
    ['bytes 0-99/1000 x', undefined],
    ['bytes 0-99/', undefined],
    ['', undefined],
    [undefined, undefined],
  ])('the total of %j is %j', (header, total) => {
    expect(totalFromContentRange(header)).toBe(total);
  });

  test.each([
    ['bytes 100-199/1000', 100],
    ['bytes 100-199/*', 100],
    ['  bytes   0-0/1  ', 1],
    ['BYTES 5-14/20', 10],
    ['bytes 1000000-1999999/5000000', 1000000],
    ['xbytes 100-199/1000', undefined],
    ['bytes 100-199/1000x', undefined],
    ['bytes 100-199', undefined],
    ['bytes 200-199/1000', undefined],
    ['bytes */1000', undefined],
    [undefined, undefined],
  ])('the span length of %j is %j', (header, length) => {
    expect(lengthFromContentRange(header)).toBe(length);
  });
});

async function* chunks(...parts: Array<Uint8Array | Error>): AsyncGenerator<Uint8Array> {
  for (const part of parts) {
    if (part instanceof Error) throw part;
    yield part;
  }
}

describe('readBody', () => {
  test('a body longer than its length fails as such, not as a short body', async () => {
    const error = await rejectionOf(readBody(chunks(new Uint8Array(10)), 5));
    expect(error).not.toBeInstanceOf(TruncatedBodyError);
    expect(error.message).toContain('longer than its Content-Length (5)');
  });

  test('a library error from the stream passes through as it is; another failure before the length is a short body', async () => {
    const ours = new S3dlioError('ERR_TARGET_TOO_SMALL', 'getInto: no room');
    expect(await rejectionOf(readBody(chunks(Uint8Array.of(1, 2), ours), 5))).toBe(ours);
    const reset = Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });
    const short = await rejectionOf(readBody(chunks(Uint8Array.of(1, 2), reset), 5));
    expect(short).toBeInstanceOf(TruncatedBodyError);
    expect((short as Error & { cause?: unknown }).cause).toBe(reset);
  });

  test('the bytes land in the target the caller gave, which must be the announced length', async () => {
    const target = new Uint8Array(4);
    const out = await readBody(chunks(Uint8Array.of(1, 2), Uint8Array.of(3, 4)), 4, undefined, () => target);
    expect(out.buffer).toBe(target.buffer);
    expect([...target]).toEqual([1, 2, 3, 4]);
    const wrong = await rejectionOf(readBody(chunks(Uint8Array.of(1)), 1, undefined, () => new Uint8Array(2)));
    expect(wrong.message).toContain('the response has 1 bytes where 2 were asked for');
  });
});

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
    await readBody(chunks(Uint8Array.of(1)), 1, controller.signal);
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
