/**
 * No credential ever reaches an error: not its message, `String(error)`, its stack, its cause
 * chain, `util.inspect` of it, nor its JSON. Each cloud is pointed at a server that speaks its
 * error format and puts into every field it can (message, service code, request id, headers)
 * what the request carried: the Authorization header, the URL with its query (SAS signature,
 * presigned parameters), the security-token header, and the secrets themselves.
 */
import { createServer, type IncomingMessage, type Server } from 'http';
import type { AddressInfo } from 'net';
import { inspect } from 'util';

import { OAuth2Client } from 'google-auth-library';

import { BatchError, S3dlioError, type ObjectStore, storeFor } from '../../lib';
import { redactSecrets, rememberSecrets } from '../../lib/backends/cloud/errors';
import { rejectionOf } from '../helpers/local';

const ACCESS_KEY_ID = 'AKIDLEAKCHECK0000001';
const SECRET_ACCESS_KEY = 'secretAccessKey+Leak/Check0000000000000001';
const SESSION_TOKEN = 'SessionTokenLeakCheck//0001+ZZZZ=';
const ACCOUNT = 'leakcheck';
const ACCOUNT_KEY = Buffer.from('account key leak check 0000000000000000000000000000001').toString('base64');
const SAS_SIGNATURE = 'SasSignatureLeakCheck0001%2B%2F%3D';
const SAS_TOKEN = `sv=2023-11-03&ss=b&srt=sco&sp=rwdlac&se=2030-01-01T00%3A00%3A00Z&spr=https%2Chttp&sig=${SAS_SIGNATURE}`;
const BEARER_TOKEN = 'ya29.BearerTokenLeakCheck0001';

/** Everything that must not appear anywhere in an error (the SAS signature also decoded). */
const SECRETS = [
  SECRET_ACCESS_KEY,
  SESSION_TOKEN,
  ACCOUNT_KEY,
  SAS_SIGNATURE,
  decodeURIComponent(SAS_SIGNATURE),
  BEARER_TOKEN,
  ACCESS_KEY_ID,
];

interface Echo {
  server: Server;
  url: string;
  requests: IncomingMessage[];
}

/** Secrets of the store under test that the server also repeats literally (set by each test). */
let repeated: string[] = [];

/** What a careless service could say back: every credential-bearing part of the request. */
function echoOf(req: IncomingMessage): string {
  const headers = Object.entries(req.headers)
    .filter(([name]) => /authorization|token|signature|credential|key/i.test(name))
    .map(([name, value]) => `${name}: ${String(value)}`);
  return [
    `${req.method} ${req.url}`,
    ...headers,
    `Authorization: ${req.headers.authorization ?? ''}`,
    ...repeated,
  ].join(' | ');
}

const escapeXml = (text: string): string => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
/** Header values cannot carry every character: the echo as a header keeps the printable ASCII. */
const headerSafe = (text: string): string => text.replace(/[^\x20-\x7e]/g, '?');

async function startEcho(
  answer: (req: IncomingMessage, echo: string) => [number, Record<string, string>, string],
): Promise<Echo> {
  const requests: IncomingMessage[] = [];
  const server = createServer((req, res) => {
    requests.push(req);
    req.resume();
    req.on('end', () => {
      const [status, headers, body] = answer(req, echoOf(req));
      res.writeHead(status, headers).end(req.method === 'HEAD' ? undefined : body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests };
}

/** Every text an error shows, the way users and loggers see it (a batch's items included). */
function renderings(error: unknown): Record<string, string> {
  const items = error instanceof BatchError ? error.errors : [];
  return Object.assign(
    ownRenderings(error),
    ...items.map((item, index) =>
      Object.fromEntries(
        Object.entries(ownRenderings(item)).map(([where, text]) => [`errors[${index}].${where}`, text]),
      ),
    ),
  );
}

function ownRenderings(error: unknown): Record<string, string> {
  const out: Record<string, string> = {
    string: String(error),
    inspect: inspect(error, { depth: 10 }),
    json: JSON.stringify(error),
  };
  let depth = 0;
  for (let at = error as { cause?: unknown } | undefined; at && depth < 10; at = at.cause as typeof at, depth++) {
    const item = at as { message?: unknown; stack?: unknown };
    out[`cause[${depth}].message`] = String(item.message);
    out[`cause[${depth}].stack`] = String(item.stack);
    out[`cause[${depth}].json`] = JSON.stringify(at, Object.getOwnPropertyNames(at));
    out[`cause[${depth}].inspect`] = inspect(at, { depth: 10, showHidden: true });
  }
  return out;
}

/** The secrets found in any rendering, as `where: secret` (empty when none leaked). */
function leaks(error: unknown, secrets: readonly string[] = SECRETS): string[] {
  const found: string[] = [];
  for (const [where, text] of Object.entries(renderings(error))) {
    for (const secret of [...SECRETS, ...secrets]) if (text.includes(secret)) found.push(`${where}: ${secret}`);
  }
  return found;
}

/** The operations tried against each store (each fails at the echo server). */
function operations(store: ObjectStore, base: string): Array<[string, () => Promise<unknown>]> {
  return [
    ['get', () => store.get(`${base}dir/obj.bin`, { rangeThreshold: 0 })],
    ['getRange', () => store.getRange(`${base}dir/obj.bin`, 0, 10)],
    ['stat', () => store.stat(`${base}dir/obj.bin`)],
    ['exists', () => store.exists(`${base}dir/obj.bin`)],
    ['put', () => store.put(`${base}dir/obj.bin`, 'x')],
    ['list', () => store.list(`${base}dir/`)],
    ['delete', () => store.delete(`${base}dir/obj.bin`)],
    ['copy', () => store.copy(`${base}dir/obj.bin`, `${base}dir/copy.bin`)],
    ['deleteMany', () => store.deleteMany([`${base}dir/obj.bin`, `${base}dir/other.bin`])],
    ['deletePrefix', () => store.deletePrefix(`${base}dir/`)],
    ['createBucket', () => store.createBucket(base)],
    ['deleteBucket', () => store.deleteBucket(base)],
    ['listBuckets', () => store.listBuckets(base.slice(0, base.indexOf('/', base.indexOf('//') + 2) + 1))],
    [
      'createWriter',
      async () => {
        const writer = store.createWriter(`${base}dir/big.bin`, { partSize: 5 << 20 });
        await writer.write(new Uint8Array(6 << 20));
        await writer.close();
      },
    ],
  ];
}

async function expectNoLeaks(
  store: ObjectStore,
  base: string,
  echo: Echo,
  secrets: readonly string[] = [],
): Promise<void> {
  for (const [name, run] of operations(store, base)) {
    const error = await rejectionOf(run());
    const typed = error instanceof S3dlioError || error instanceof BatchError;
    expect({ name, typed }).toEqual({ name, typed: true });
    expect({ name, code: error.code, leaks: leaks(error, secrets) }).toEqual({ name, code: error.code, leaks: [] });
  }
  // The server did see the credentials: the test is not vacuous.
  expect(echo.requests.length).toBeGreaterThan(0);
}

describe('s3://: a server that echoes the signed request into its S3 error XML', () => {
  let echo: Echo;
  beforeAll(async () => {
    echo = await startEcho((_req, text) => [
      403,
      {
        'Content-Type': 'application/xml',
        'x-amz-request-id': headerSafe(text),
        'x-amz-id-2': headerSafe(text),
      },
      `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code><Message>${escapeXml(text)}</Message>` +
        `<RequestId>${escapeXml(text)}</RequestId><HostId>${escapeXml(text)}</HostId>` +
        `<AWSAccessKeyId>${ACCESS_KEY_ID}</AWSAccessKeyId><StringToSign>${escapeXml(text)}</StringToSign>` +
        `<CanonicalRequest>${escapeXml(text)}</CanonicalRequest></Error>`,
    ]);
  });
  afterAll(() => new Promise<void>((resolve) => echo.server.close(() => resolve())));

  test('no key, secret or session token in any error of any operation', async () => {
    repeated = [ACCESS_KEY_ID, SECRET_ACCESS_KEY, SESSION_TOKEN];
    const store = storeFor('s3://', {
      endpoint: echo.url,
      region: 'us-east-1',
      credentials: { accessKeyId: ACCESS_KEY_ID, secretAccessKey: SECRET_ACCESS_KEY, sessionToken: SESSION_TOKEN },
      maxAttempts: 1,
    });
    await expectNoLeaks(store, 's3://bucket/', echo);
    expect(String(echo.requests[0].headers.authorization)).toContain(ACCESS_KEY_ID);
    expect(echo.requests[0].headers['x-amz-security-token']).toBe(SESSION_TOKEN);
  });

  test('a 5xx after the retries, with the secrets in its message, is scrubbed too', async () => {
    repeated = [ACCESS_KEY_ID, SECRET_ACCESS_KEY];
    const store = storeFor('s3://', {
      endpoint: echo.url,
      region: 'us-east-1',
      credentials: { accessKeyId: ACCESS_KEY_ID, secretAccessKey: SECRET_ACCESS_KEY },
      maxAttempts: 2,
      retryBaseDelayMs: 1,
    });
    const error = await rejectionOf(store.get('s3://bucket/k'));
    expect(leaks(error)).toEqual([]);
  });
});

describe('az://: a server that echoes the signed request into its Azure error XML', () => {
  let echo: Echo;
  beforeAll(async () => {
    echo = await startEcho((_req, text) => [
      403,
      {
        'Content-Type': 'application/xml',
        'x-ms-error-code': 'AuthenticationFailed',
        'x-ms-request-id': headerSafe(text),
      },
      `<?xml version="1.0" encoding="utf-8"?>\n<Error><Code>AuthenticationFailed</Code><Message>${escapeXml(text)}</Message>` +
        `<AuthenticationErrorDetail>${escapeXml(text)}</AuthenticationErrorDetail></Error>`,
    ]);
  });
  afterAll(() => new Promise<void>((resolve) => echo.server.close(() => resolve())));

  const base = `az://${ACCOUNT}/container/`;
  // Each case its own key and signature: stores remember the secrets they were given, and one
  // case must not pass on what another store taught the library.
  const keyFor = (label: string): string =>
    Buffer.from(`account key leak check ${label} 00000000000000000001`).toString('base64');
  const sasFor = (label: string): string => `${SAS_TOKEN.replace(SAS_SIGNATURE, '')}${sigFor(label)}`;
  const sigFor = (label: string): string => `Sig${label.replace(/\W/g, '')}LeakCheck0001%2B%2F%3D`;
  test.each([
    ['accountKey', (label: string) => ({ accountKey: keyFor(label) })],
    ['sasToken', (label: string) => ({ sasToken: `?${sasFor(label)}` })],
    [
      'connectionString (key)',
      (label: string) => ({
        connectionString: `DefaultEndpointsProtocol=http;AccountName=${ACCOUNT};AccountKey=${keyFor(label)};BlobEndpoint=${echo.url}/${ACCOUNT};`,
      }),
    ],
    [
      'connectionString (SAS)',
      (label: string) => ({
        connectionString: `BlobEndpoint=${echo.url}/${ACCOUNT};SharedAccessSignature=${sasFor(label)}`,
      }),
    ],
  ])('%s: no key or SAS signature in any error of any operation', async (label, credential) => {
    repeated =
      label.includes('key') || label === 'accountKey'
        ? [keyFor(label)]
        : [sigFor(label), decodeURIComponent(sigFor(label))];
    const options = { endpoint: `${echo.url}/${ACCOUNT}`, maxAttempts: 1, ...credential(label) };
    if ('connectionString' in options) delete (options as { endpoint?: string }).endpoint;
    await expectNoLeaks(storeFor(base, options), base, echo, repeated);
  });
});

describe('gs://: a server that echoes the bearer token into its GCS JSON error', () => {
  let echo: Echo;
  beforeAll(async () => {
    echo = await startEcho((_req, text) => [
      403,
      { 'Content-Type': 'application/json' },
      JSON.stringify({
        error: { code: 403, message: text, errors: [{ reason: 'forbidden', message: text, domain: 'global' }] },
      }),
    ]);
  });
  afterAll(() => new Promise<void>((resolve) => echo.server.close(() => resolve())));

  test('no token in any error of any operation', async () => {
    repeated = [];
    const authClient = new OAuth2Client();
    authClient.setCredentials({ access_token: BEARER_TOKEN, expiry_date: Date.now() + 3_600_000 });
    const store = storeFor('gs://', { endpoint: echo.url, projectId: 'test', authClient, maxAttempts: 1 });
    await expectNoLeaks(store, 'gs://bucket/', echo);
    expect(String(echo.requests[0].headers.authorization)).toBe(`Bearer ${BEARER_TOKEN}`);
  });
});

describe('credentials in URIs and options', () => {
  test('a SAS query pasted after an https blob URL is refused without repeating the signature', async () => {
    const error = await rejectionOf(
      storeFor(`https://${ACCOUNT}.blob.core.windows.net/`, { accountKey: ACCOUNT_KEY }).get(
        `https://${ACCOUNT}.blob.core.windows.net/container/key?${SAS_TOKEN}`,
      ),
    );
    expect(leaks(error)).toEqual([]);
  });

  test('a malformed connection string or SAS token is an error that does not quote the secret', async () => {
    const attempts: Array<() => Promise<unknown>> = [
      async () =>
        storeFor(`az://${ACCOUNT}/`, { connectionString: `AccountKey=${ACCOUNT_KEY};Nonsense` }).list(
          `az://${ACCOUNT}/c/`,
        ),
      async () =>
        storeFor(`az://${ACCOUNT}/`, { connectionString: `AccountName=other;AccountKey=${ACCOUNT_KEY}` }).list(
          `az://${ACCOUNT}/c/`,
        ),
      async () => storeFor(`az://${ACCOUNT}/`, { sasToken: 42 as never }).list(`az://${ACCOUNT}/c/`),
      async () => storeFor(`az://${ACCOUNT}/`, { accountKey: `not base64 ${ACCOUNT_KEY}` }).list(`az://${ACCOUNT}/c/`),
      async () =>
        storeFor('s3://', { credentials: { accessKeyId: ACCESS_KEY_ID, secretAccessKey: 7 as never } }).list('s3://b/'),
    ];
    for (const attempt of attempts) {
      const error = await rejectionOf(attempt());
      expect({ error: String(error), leaks: leaks(error) }).toEqual({ error: String(error), leaks: [] });
    }
  });
});

describe('redactSecrets: credentials no store was given (SDK chains, other processes) by their form', () => {
  test.each([
    [
      'an S3 presigned query',
      'GET /b/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDFORM1%2F20300101&X-Amz-Signature=feedface01&X-Amz-Security-Token=TokenForm1',
      ['AKIDFORM1', 'feedface01', 'TokenForm1'],
    ],
    ['an Azure SAS query', 'https://a.blob.core.windows.net/c/k?sv=2023-11-03&sig=SigForm1%2B&se=2030', ['SigForm1']],
    [
      'a GCS signed URL',
      'https://storage.googleapis.com/b/k?X-Goog-Credential=svc%40p&X-Goog-Signature=cafe01&GoogleAccessId=svc2',
      ['cafe01', 'svc%40p', 'svc2'],
    ],
    [
      'a SigV4 Authorization header',
      'Authorization: AWS4-HMAC-SHA256 Credential=AKIDFORM2/20300101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=beef02',
      ['AKIDFORM2', 'beef02'],
    ],
    ['a SharedKey Authorization header', 'authorization: SharedKey acct:KeySigForm3=', ['acct:KeySigForm3=']],
    [
      'a bearer token, with or without the header name',
      'Authorization: Bearer ya29.Form4 | retried with Bearer ya29.Form5',
      ['ya29.Form4', 'ya29.Form5'],
    ],
    [
      'a session-token header quoted back',
      'x-amz-security-token: TokenForm6 | X-Amz-Security-Token=TokenForm7&x=1',
      ['TokenForm6', 'TokenForm7'],
    ],
    [
      'a connection string',
      'DefaultEndpointsProtocol=https;AccountName=a;AccountKey=KeyForm8==;SharedAccessSignature=sv=1&sig=SigForm9',
      ['KeyForm8', 'SigForm9'],
    ],
  ])('%s', (_label, text, secrets) => {
    const redacted = redactSecrets(text);
    for (const secret of secrets)
      expect({ secret, redacted }).toEqual({ secret, redacted: expect.not.stringContaining(secret) });
    expect(redacted).toContain('REDACTED');
  });

  test('literal secrets: only those a store was given, not short placeholders', () => {
    rememberSecrets('LiteralSecretForm10-long-enough', 'test', undefined);
    expect(redactSecrets('key LiteralSecretForm10-long-enough and test')).toBe('key REDACTED and test');
    rememberSecrets('Percent%2BEncoded%2FSecret11%3D');
    expect(redactSecrets('Percent+Encoded/Secret11=')).toBe('REDACTED');
  });

  test('literal secrets from 16 characters on, percent-decoded forms too when they are as long', () => {
    rememberSecrets('Sixteen-chars-AB', 'Fifteen-chars-C');
    expect(redactSecrets('[Sixteen-chars-AB] [Fifteen-chars-C]')).toBe('[REDACTED] [Fifteen-chars-C]');
    rememberSecrets('fourteen-chars%41%42'); // decodes to 16 characters
    expect(redactSecrets('fourteen-charsAB')).toBe('REDACTED');
    rememberSecrets('thirteen-char%43%44'); // 19 as given, 15 decoded: only the given form
    expect(redactSecrets('<thirteen-char%43%44> <thirteen-charCD>')).toBe('<REDACTED> <thirteen-charCD>');
  });
});
