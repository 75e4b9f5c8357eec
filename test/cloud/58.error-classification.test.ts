/**
 * How a cloud failure becomes the library's error, on its own (lib/backends/cloud/errors.ts): the code and
 * retry decision for every HTTP status a service answers with, what counts as a network failure,
 * and which credential forms are scrubbed from any text an error carries.
 */
import { classifyNetworkError, classifyStatus, cloudError, redactSecrets } from '../../lib/backends/cloud/errors';

describe('classifyStatus: the code and retry decision for each HTTP status', () => {
  test.each([
    [400, 'ERR_INVALID_REQUEST', false],
    [401, 'ERR_ACCESS_DENIED', false],
    [403, 'ERR_ACCESS_DENIED', false],
    [404, 'ERR_NOT_FOUND', false],
    [408, 'ERR_TIMEOUT', true],
    [409, 'ERR_CONFLICT', false],
    [412, 'ERR_PRECONDITION_FAILED', false],
    [416, 'ERR_RANGE_NOT_SATISFIABLE', false],
    [429, 'ERR_THROTTLED', true],
    [500, 'ERR_SERVER', true],
    [501, 'ERR_SERVER', true],
    [502, 'ERR_SERVER', true],
    [503, 'ERR_THROTTLED', true],
    [504, 'ERR_SERVER', true],
    [599, 'ERR_SERVER', true],
    [300, 'ERR_CLOUD', false],
    [402, 'ERR_CLOUD', false],
    [418, 'ERR_CLOUD', false],
    [499, 'ERR_CLOUD', false],
  ])('%i → %s (retryable: %s)', (status, code, retryable) => {
    const failure = classifyStatus(status);
    expect(failure).toMatchObject({ code, retryable });
    // Only throttling slows the next attempts down.
    expect(failure.throttled === true).toBe(status === 429 || status === 503);
  });
});

describe('classifyNetworkError: failures below HTTP', () => {
  test.each(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'ENOTFOUND', 'EAI_AGAIN', 'UND_ERR_SOCKET'])(
    'an error with code %s is ERR_CONNECTION, retryable',
    (code) => {
      expect(classifyNetworkError(Object.assign(new Error('x'), { code }))).toMatchObject({
        code: 'ERR_CONNECTION',
        retryable: true,
      });
    },
  );

  test('the code found only in the text of a plain error counts too', () => {
    expect(classifyNetworkError(new Error('connect ECONNREFUSED 127.0.0.1:9'))).toMatchObject({
      code: 'ERR_CONNECTION',
    });
    expect(classifyNetworkError(new Error('socket hang up'))).toMatchObject({ code: 'ERR_CONNECTION' });
  });

  test("a service's error answer is not a network failure, whatever its text quotes", () => {
    for (const status of [{ code: 404 }, { statusCode: 404 }, { $metadata: { httpStatusCode: 404 } }]) {
      expect(
        classifyNetworkError(Object.assign(new Error('No such object: b/socket hang up ECONNRESET'), status)),
      ).toBe(undefined);
    }
  });

  test('a failure while a successful (2xx) answer is read is a network failure; any other status is an answer', () => {
    const midBody = (status: number) => Object.assign(new Error('socket hang up'), { statusCode: status });
    expect(classifyNetworkError(midBody(200))).toMatchObject({ code: 'ERR_CONNECTION' });
    expect(classifyNetworkError(midBody(206))).toMatchObject({ code: 'ERR_CONNECTION' });
    expect(classifyNetworkError(midBody(299))).toMatchObject({ code: 'ERR_CONNECTION' });
    expect(classifyNetworkError(midBody(199))).toBe(undefined);
    expect(classifyNetworkError(midBody(300))).toBe(undefined);
    expect(classifyNetworkError(Object.assign(new Error('socket hang up'), { statusCode: '500' }))).toMatchObject({
      code: 'ERR_CONNECTION', // a status that is not a number is not an answer's
    });
  });

  test('anything else is not a network failure', () => {
    expect(classifyNetworkError(new Error('The specified key does not exist.'))).toBe(undefined);
    expect(classifyNetworkError('ECONNRESET as a bare string is not an error object')).toBe(undefined);
    expect(classifyNetworkError(null)).toBe(undefined);
  });
});

describe('redactSecrets: credential forms, wherever they stand in a text', () => {
  const SECRET = 'Zx9SECRETvalue%2Fend';

  test.each([
    'sig',
    'X-Amz-Signature',
    'X-Amz-Credential',
    'X-Amz-Security-Token',
    'AWSAccessKeyId',
    'X-Goog-Signature',
  ])('presigned query parameter %s: first or later, the whole value goes and the next parameter stays', (name) => {
    for (const url of [
      `https://h.example/c/k?${name}=${SECRET}&keep=1`,
      `https://h.example/c/k?sv=2020&${name}=${SECRET}&keep=1`,
      `GET /c/k?sv=2020&${name}=${SECRET}`,
    ]) {
      const out = redactSecrets(url);
      expect(out).not.toContain('SECRET');
      expect(out).not.toContain('end');
      expect(out).toContain(`${name}=REDACTED`);
      if (url.includes('keep=1')) expect(out).toContain('&keep=1');
    }
  });

  test('Azure connection-string keys and SAS, up to the next field only', () => {
    const out = redactSecrets(
      `DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=${SECRET};SharedAccessSignature=sv=1&sig=${SECRET};EndpointSuffix=core`,
    );
    expect(out).not.toContain('SECRET');
    expect(out).toContain('AccountName=acct');
    expect(out).toContain('EndpointSuffix=core');
  });

  test('authorization headers and bare bearer tokens', () => {
    for (const text of [
      `Authorization: AWS4-HMAC-SHA256 Credential=AKIA/${SECRET}, SignedHeaders=host, Signature=${SECRET}`,
      `authorization: Bearer ${SECRET}`,
      `token was Bearer ${SECRET} in the request`,
      `x-amz-security-token: ${SECRET}`,
      `x-goog-iam-authorization-token=${SECRET}`,
    ]) {
      expect(redactSecrets(text)).not.toContain('SECRET');
    }
  });

  test('ordinary text is left alone', () => {
    const text = 'No such object: my-bucket/a key with sig and Signature words, Bearer of news';
    expect(redactSecrets(text)).toBe(text);
  });

  test('cloudError scrubs the message, the service code and the request id, and keeps status and operation', () => {
    const error = cloudError(
      {
        code: 'ERR_ACCESS_DENIED',
        retryable: false,
        status: 403,
        serviceCode: `Denied?sig=${SECRET}`,
        requestId: `rid Bearer ${SECRET}`,
        message: `Denied for ?X-Amz-Signature=${SECRET}`,
      },
      'get',
      `s3://b/k?sig=${SECRET}`,
      new Error('original'),
    );
    expect(error).toMatchObject({ code: 'ERR_ACCESS_DENIED', operation: 'get' });
    expect(error.cause).toMatchObject({ statusCode: 403 });
    const everything = JSON.stringify({
      message: error.message,
      uri: error.uri,
      cause: { ...(error.cause as object) },
    });
    expect(everything).not.toContain('SECRET');
    expect(String(error.message)).toContain('HTTP 403');
    expect(String(error.message)).toContain('(HTTP 403 Denied?sig=REDACTED)');
    expect(error.cause).toMatchObject({ name: 'Error', code: 'Denied?sig=REDACTED', requestId: 'rid Bearer REDACTED' });
  });

  test('cloudError without a service code, status or request id adds none of them to the cause', () => {
    const error = cloudError(
      { code: 'ERR_CONNECTION', retryable: true, message: 'connection failed (ECONNRESET)' },
      'put',
      's3://b/k',
      Object.assign(new Error('reset'), { name: 'TimeoutError' }),
    );
    expect(error.message).toBe('put s3://b/k: connection failed (ECONNRESET)');
    const cause = error.cause as Error & Record<string, unknown>;
    expect(cause.name).toBe('TimeoutError');
    expect(cause.message).toBe('connection failed (ECONNRESET)');
    expect(Object.keys(cause)).toEqual(['name']); // no code, statusCode or requestId
    expect(
      cloudError({ code: 'ERR_CLOUD', retryable: false, message: 'x' }, 'get', 's3://b/k', 'not an error').cause,
    ).toMatchObject({ name: 'Error' });
  });
});
