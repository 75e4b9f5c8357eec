/**
 * Turning SDK and network failures into S3dlioErrors with the library's codes, without letting a
 * credential, signature or SAS token reach a message, a log or the `cause` chain.
 */
import { type ErrorCode, NETWORK_ERRNO_NAMES, S3dlioError, redactUri } from '../../errors';

/** What a failed cloud request means. */
export interface CloudFailure {
  code: ErrorCode;
  /** Worth retrying (idempotent steps only). */
  retryable: boolean;
  /** Throttling (503 SlowDown, 429): back off longer. */
  throttled?: boolean;
  /** HTTP status, when the server answered. */
  status?: number;
  /** The service's own error code (`NoSuchKey`, `BlobNotFound`, `notFound`, ...). */
  serviceCode?: string;
  /** Server request id, for support tickets. */
  requestId?: string;
  message: string;
}

const SECRET_PATTERNS: Array<[RegExp, string]> = [
  // Azure SAS and S3 presigned query parameters.
  [
    /([?&](?:sig|X-Amz-Signature|X-Amz-Credential|X-Amz-Security-Token|Signature|AWSAccessKeyId|GoogleAccessId|X-Goog-Signature|X-Goog-Credential)=)[^&;\s"'<]*/gi,
    '$1REDACTED',
  ],
  [/(AccountKey=)[^;\s"']*/gi, '$1REDACTED'],
  [/(SharedAccessSignature=)[^;\s"']*/gi, '$1REDACTED'],
  [/(Authorization:?\s*)(?:AWS4-HMAC-SHA256|SharedKey|Bearer|Basic)\s+[^\s"',]*/gi, '$1REDACTED'],
  // Header parameters end at `,`; the same names in a query string or a connection string end at
  // `&` or `;`: redact the value only, not the fields after it.
  [/(Credential=)[^,;&\s"']*/gi, '$1REDACTED'],
  [/(Signature=)[^,;&\s"']*/gi, '$1REDACTED'],
  // Credential headers quoted back as `name: value` (or `name=value`).
  [
    /((?:x-amz-security-token|x-goog-iam-authorization-token|x-ms-copy-source-authorization)\s*[:=]\s*)[^\s"'&<,|;]*/gi,
    '$1REDACTED',
  ],
  // A token after its scheme word, also without the header name (long enough not to be prose).
  [/(\b(?:Bearer|SharedKey|Basic)\s+)[A-Za-z0-9+/=._~:%-]{8,}/g, '$1REDACTED'],
];

/** Secrets shorter than this are not scrubbed literally: placeholders such as `test` would scrub ordinary words. */
const MIN_LITERAL_SECRET = 16;
/** Credentials the stores of this process were given, scrubbed wherever a text quotes them. */
const knownSecrets = new Set<string>();

/**
 * Remembers credentials a store uses (keys, secrets, tokens, SAS signatures), so any error text
 * that quotes one literally, in whatever field a service put it, is scrubbed too. Values that are
 * not strings (an option of the wrong type, a variable that is not set) are passed over.
 */
export function rememberSecrets(...values: readonly unknown[]): void {
  for (const value of values) {
    if (typeof value !== 'string' || value.length < MIN_LITERAL_SECRET) continue;
    knownSecrets.add(value);
    let decoded = value;
    try {
      decoded = decodeURIComponent(value);
    } catch {
      // not percent-encoded: the value itself is enough
    }
    if (decoded.length >= MIN_LITERAL_SECRET) knownSecrets.add(decoded);
  }
}

/** Removes credentials from any text that may quote a request (URL, header, connection string). */
export function redactSecrets(text: string): string {
  let result = text;
  for (const secret of knownSecrets) if (result.includes(secret)) result = result.split(secret).join('REDACTED');
  return SECRET_PATTERNS.reduce((current, [pattern, replacement]) => current.replace(pattern, replacement), result);
}

// The network errno names every scheme maps to ERR_CONNECTION, and the HTTP clients' own codes for
// a dropped connection.
const NETWORK_CODES: ReadonlySet<string> = new Set([
  ...NETWORK_ERRNO_NAMES,
  'UND_ERR_SOCKET',
  'ERR_STREAM_PREMATURE_CLOSE',
]);

/**
 * Whether an SDK error is the server's error answer (GCS, Azure and S3 shapes), rather than a
 * failure while a successful answer was being read.
 */
function isErrorAnswer(object: {
  code?: unknown;
  status?: unknown;
  statusCode?: unknown;
  $metadata?: { httpStatusCode?: unknown };
}): boolean {
  return [object.code, object.status, object.statusCode, object.$metadata?.httpStatusCode].some(
    (value) => typeof value === 'number' && (value < 200 || value > 299),
  );
}

const NETWORK_MESSAGE = new RegExp(
  `socket hang up|premature close|aborted by the server|\\b(?:${[...NETWORK_CODES].join('|')})\\b`,
  'i',
);

/** Failures below HTTP: connection reset/refused, DNS, premature close. */
export function classifyNetworkError(error: unknown): CloudFailure | undefined {
  const object = (typeof error === 'object' && error !== null ? error : {}) as Parameters<typeof isErrorAnswer>[0] & {
    code?: unknown;
    message?: unknown;
    name?: unknown;
  };
  const code = typeof object.code === 'string' ? object.code : undefined;
  // A service's error answer is never a network failure, whatever its message says: messages can
  // quote bucket and key names ("No such object: b/socket hang up").
  // Stryker disable next-line StringLiteral: any text in place of '' matches no network failure either
  const message = typeof object.message === 'string' && !isErrorAnswer(object) ? object.message : '';
  // The code may survive only in the text: the AWS SDK turns an error from another realm (a jest
  // test environment) into `AWS SDK error wrapper for Error: connect ECONNREFUSED …`.
  if ((code && NETWORK_CODES.has(code)) || NETWORK_MESSAGE.test(message)) {
    return { code: 'ERR_CONNECTION', retryable: true, message: `connection failed (${code ?? message})` };
  }
  return undefined;
}

/** The library's code for an HTTP status, when the service code does not say more. */
export function classifyStatus(status: number): Pick<CloudFailure, 'code' | 'retryable' | 'throttled'> {
  if (status === 404) return { code: 'ERR_NOT_FOUND', retryable: false };
  if (status === 401 || status === 403) return { code: 'ERR_ACCESS_DENIED', retryable: false };
  if (status === 409) return { code: 'ERR_CONFLICT', retryable: false };
  if (status === 412) return { code: 'ERR_PRECONDITION_FAILED', retryable: false };
  if (status === 416) return { code: 'ERR_RANGE_NOT_SATISFIABLE', retryable: false };
  if (status === 408) return { code: 'ERR_TIMEOUT', retryable: true };
  if (status === 429 || status === 503) return { code: 'ERR_THROTTLED', retryable: true, throttled: true };
  if (status >= 500) return { code: 'ERR_SERVER', retryable: true };
  if (status === 400) return { code: 'ERR_INVALID_REQUEST', retryable: false };
  return { code: 'ERR_CLOUD', retryable: false };
}

/** A timeout of one attempt (our per-attempt signal fired, not the caller's). */
export function timeoutFailure(timeoutMs: number): CloudFailure {
  return { code: 'ERR_TIMEOUT', retryable: true, message: `no answer within ${timeoutMs} ms` };
}

/**
 * The S3dlioError for a classified failure. Its `cause` is a sanitized Error (name, service code,
 * status, request id, redacted message), never the SDK's object, which can hold request headers.
 */
export function cloudError(failure: CloudFailure, operation: string, uri: string, original: unknown): S3dlioError {
  const name = (original as { name?: unknown } | null)?.name;
  const originalName = typeof name === 'string' ? name : 'Error';
  const cause = new Error(redactSecrets(failure.message));
  cause.name = originalName;
  // The service code and request id come from the server too: a server may put anything there.
  const serviceCode = failure.serviceCode === undefined ? undefined : redactSecrets(failure.serviceCode);
  Object.assign(cause, {
    ...(serviceCode !== undefined && { code: serviceCode }),
    ...(failure.status !== undefined && { statusCode: failure.status }),
    ...(failure.requestId !== undefined && { requestId: redactSecrets(failure.requestId) }),
  });
  const safeUri = redactSecrets(redactUri(uri));
  const status = failure.status !== undefined ? ` (HTTP ${failure.status}${serviceCode ? ` ${serviceCode}` : ''})` : '';
  return new S3dlioError(failure.code, `${operation} ${safeUri}: ${redactSecrets(failure.message)}${status}`, {
    uri: safeUri,
    operation,
    cause,
  });
}
