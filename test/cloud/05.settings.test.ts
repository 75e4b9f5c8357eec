/**
 * How a cloud store's settings are resolved from its options and the S3DLIO_* variables
 * (docs/configuration.md, "Retries and timeouts"), and which hosts count as this machine: pure functions, checked
 * directly. test/safety/63 watches the same settings on the wire.
 */
import { connectionSettingsFrom, envValue, isLoopbackHost, retryPolicyFrom } from '../../lib/backends/cloud/config';

describe('retry and connection settings: the option, else the variable, else the default', () => {
  const defaults = { maxAttempts: 4, baseDelayMs: 100, attemptTimeoutMs: 60_000 };

  test('retryBaseDelayMs / S3DLIO_RETRY_BASE_MS and the other retry settings: option, variable, default', () => {
    const env = { S3DLIO_RETRY_BASE_MS: '7', S3DLIO_MAX_ATTEMPTS: '9', S3DLIO_ATTEMPT_TIMEOUT_MS: '1234' };
    expect(retryPolicyFrom({ retryBaseDelayMs: 3, maxAttempts: 2, attemptTimeoutMs: 50 }, env)).toMatchObject({
      baseDelayMs: 3,
      maxAttempts: 2,
      attemptTimeoutMs: 50,
    });
    expect(retryPolicyFrom({}, env)).toMatchObject({ baseDelayMs: 7, maxAttempts: 9, attemptTimeoutMs: 1234 });
    expect(retryPolicyFrom({}, {})).toMatchObject(defaults);
  });

  test('connectTimeoutMs / S3DLIO_CONNECT_TIMEOUT_MS and maxSockets / S3DLIO_MAX_SOCKETS: option, variable, default', () => {
    const env = { S3DLIO_CONNECT_TIMEOUT_MS: '222', S3DLIO_MAX_SOCKETS: '5' };
    expect(connectionSettingsFrom({ connectTimeoutMs: 111, maxSockets: 3 }, env)).toEqual({
      connectTimeoutMs: 111,
      maxSockets: 3,
      ioThreads: 0,
    });
    expect(connectionSettingsFrom({}, env)).toEqual({ connectTimeoutMs: 222, maxSockets: 5, ioThreads: 0 });
    expect(connectionSettingsFrom({}, {})).toEqual({ connectTimeoutMs: 10_000, maxSockets: 64, ioThreads: 0 });
  });

  test('ioThreads / S3DLIO_CLOUD_IO_THREADS: option, variable, default 0; 0 is allowed, not a fraction or a word', () => {
    expect(connectionSettingsFrom({ ioThreads: 3 }, { S3DLIO_CLOUD_IO_THREADS: '5' }).ioThreads).toBe(3);
    expect(connectionSettingsFrom({ ioThreads: 0 }, { S3DLIO_CLOUD_IO_THREADS: '5' }).ioThreads).toBe(0);
    expect(connectionSettingsFrom({}, { S3DLIO_CLOUD_IO_THREADS: '5' }).ioThreads).toBe(5);
    expect(connectionSettingsFrom({}, { S3DLIO_CLOUD_IO_THREADS: '' }).ioThreads).toBe(0);
    for (const raw of ['-1', '1.5', 'two', '257', ' 2']) {
      expect(() => connectionSettingsFrom({}, { S3DLIO_CLOUD_IO_THREADS: raw })).toThrow(
        expect.objectContaining({
          code: 'ERR_INVALID_ARG_VALUE',
          message: expect.stringContaining('process.env.S3DLIO_CLOUD_IO_THREADS') as string,
        }) as Error,
      );
    }
    expect(() => connectionSettingsFrom({ ioThreads: '2' as unknown as number }, {})).toThrow(/options\.ioThreads/);
  });

  test('an invalid variable is an error only when no option overrides it; an empty one is unset', () => {
    const broken = { S3DLIO_RETRY_BASE_MS: 'soon', S3DLIO_CONNECT_TIMEOUT_MS: '-1' };
    expect(() => retryPolicyFrom({}, broken)).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }) as Error,
    );
    expect(retryPolicyFrom({ retryBaseDelayMs: 5 }, broken).baseDelayMs).toBe(5);
    expect(connectionSettingsFrom({ connectTimeoutMs: 5 }, broken).connectTimeoutMs).toBe(5);
    expect(retryPolicyFrom({}, { S3DLIO_RETRY_BASE_MS: '' }).baseDelayMs).toBe(100);
  });

  test.each(['0', '-1', '1.5', 'soon', '1e400', ' '])(
    'S3DLIO_MAX_ATTEMPTS=%p is refused, naming the variable',
    (raw) => {
      expect(() => retryPolicyFrom({}, { S3DLIO_MAX_ATTEMPTS: raw })).toThrow(
        expect.objectContaining({
          code: 'ERR_INVALID_ARG_VALUE',
          message: expect.stringContaining('process.env.S3DLIO_MAX_ATTEMPTS') as string,
        }) as Error,
      );
    },
  );

  test('the smallest valid value, 1, is taken from the variable', () => {
    expect(retryPolicyFrom({}, { S3DLIO_MAX_ATTEMPTS: '1' }).maxAttempts).toBe(1);
    expect(connectionSettingsFrom({}, { S3DLIO_MAX_SOCKETS: '1' }).maxSockets).toBe(1);
  });
});

describe('envValue: the first variable set to something', () => {
  test('an empty variable counts as unset; the first non-empty one wins; none gives undefined', () => {
    const env = { A: '', B: 'b', C: 'c' };
    expect(envValue(env, 'A', 'B', 'C')).toBe('b');
    expect(envValue(env, 'C', 'B')).toBe('c');
    expect(envValue(env, 'A')).toBeUndefined();
    expect(envValue(env, 'MISSING', 'A')).toBeUndefined();
    expect(envValue(env)).toBeUndefined();
  });
});

describe('isLoopbackHost: plain HTTP is the default only for this machine', () => {
  test.each(['localhost', 'LOCALHOST', '127.0.0.1', '127.1.2.3', '::1', '[::1]'])('%s is this machine', (host) => {
    expect(isLoopbackHost(host)).toBe(true);
  });
  test.each([
    'example.com',
    'localhost.example.com',
    'mylocalhost',
    '127.0.0.1.example.com',
    'x127.0.0.1',
    '128.0.0.1',
    '127.0.0',
    '::2',
    '[::1]x',
    '',
  ])('%p is not', (host) => {
    expect(isLoopbackHost(host)).toBe(false);
  });
});
