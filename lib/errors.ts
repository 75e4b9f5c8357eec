/**
 * The one error class of the library, its stable codes, and the mapping from native (errno) and
 * argument errors. Codes are public API: see the table in README.md.
 */

/**
 * Every code the library raises, each documented in the README's error table (a test checks it).
 * A syscall's errno name is mapped to one of these (`ENOENT` → `ERR_NOT_FOUND`, one without a
 * meaning of its own → `ERR_IO`) and kept in the error's `errnoName`.
 */
export const ERROR_CODES = [
  'ERR_INVALID_URI',
  'ERR_INVALID_ARG_TYPE',
  'ERR_INVALID_ARG_VALUE',
  'ERR_OUT_OF_RANGE',
  'ERR_NOT_FOUND',
  'ERR_ALREADY_EXISTS',
  'ERR_IS_DIRECTORY',
  'ERR_NOT_A_FILE',
  'ERR_ACCESS_DENIED',
  'ERR_NO_SPACE',
  'ERR_CROSS_DEVICE',
  'ERR_ABORTED',
  'ERR_RANGE_NOT_SATISFIABLE',
  'ERR_OBJECT_TOO_LARGE',
  'ERR_TARGET_TOO_SMALL',
  'ERR_TOO_MANY_PARTS',
  'ERR_VERIFY_FAILED',
  'ERR_WRITER_CLOSED',
  'ERR_UNSAFE_PATH',
  'ERR_PROTECTED_PATH',
  'ERR_CHANGED_DURING_READ',
  'ERR_DIRECT_IO_UNSUPPORTED',
  'ERR_BUCKET_NOT_FOUND',
  'ERR_BUCKET_NOT_EMPTY',
  'ERR_BATCH_FAILED',
  'ERR_THROTTLED',
  'ERR_TIMEOUT',
  'ERR_CONNECTION',
  'ERR_NO_HEALTHY_ENDPOINT',
  'ERR_TRUNCATED_BODY',
  'ERR_CHECKSUM_MISMATCH',
  'ERR_BAD_FORMAT',
  'ERR_SERVER',
  'ERR_CONFLICT',
  'ERR_CHECKPOINT_INCOMPLETE',
  'ERR_CHECKPOINT_IS_LATEST',
  'ERR_PRECONDITION_FAILED',
  'ERR_INVALID_REQUEST',
  'ERR_CLOUD',
  'ERR_ITEM_FAILED',
  'ERR_NATIVE',
  'ERR_NATIVE_STALE',
  'ERR_NATIVE_LOAD',
  'ERR_NATIVE_MISSING',
  'ERR_MODULE_NOT_FOUND',
  'ERR_IO',
  'ERR_BUFFER_DETACHED',
  'ERR_OUT_OF_MEMORY',
  'ERR_UNEXPECTED',
] as const;

/**
 * The stable, documented codes: an exact union, so that comparing `error.code` with a code the
 * library never raises (`'ERR_NOTFOUND'`, `'EIO'`) does not compile.
 */
export type ErrorCode = (typeof ERROR_CODES)[number];

const DOCUMENTED_CODES: ReadonlySet<string> = new Set(ERROR_CODES);

/** Whether `code` is one of the library's documented codes. */
export function isErrorCode(code: unknown): code is ErrorCode {
  return typeof code === 'string' && DOCUMENTED_CODES.has(code);
}

/** `ENOENT`, `EAI_AGAIN`, ...: an errno-style name (not one of Node's `ERR_*` codes). */
function isErrnoName(code: string): boolean {
  return /^E[A-Z0-9_]+$/.test(code) && !code.startsWith('ERR_');
}

/** Fields every S3dlioError may carry besides `code`. */
export interface S3dlioErrorDetails {
  /** The URI the failed operation was about (credentials are never included). */
  uri?: string;
  /** The public operation that failed, e.g. `get`. */
  operation?: string;
  /** The underlying error (native errno error, SDK error, abort reason, ...). */
  cause?: unknown;
  /** errno number when the failure came from a syscall. */
  errno?: number;
  /** errno name (`ENOENT`, `EIO`, `ECONNRESET`) when the failure came from a syscall. */
  errnoName?: string;
  /** The failing syscall, when there is one. */
  syscall?: string;
}

/** Every failure the library reports (argument type errors excepted) is an S3dlioError. */
export class S3dlioError extends Error {
  /** Stable, documented code: branch on this, not on the message. */
  readonly code: ErrorCode;
  /** The URI the operation was about. */
  declare readonly uri?: string;
  /** The public operation that failed. */
  declare readonly operation?: string;
  /** errno number when the failure came from a syscall. */
  declare readonly errno?: number;
  /**
   * errno name when the failure came from a syscall or the network (`ENOENT` behind
   * `ERR_NOT_FOUND`, `EIO` behind `ERR_IO`, `ECONNRESET` behind `ERR_CONNECTION`).
   */
  declare readonly errnoName?: string;
  /** The failing syscall, when there is one. */
  declare readonly syscall?: string;

  constructor(code: ErrorCode, message: string, details: S3dlioErrorDetails = {}) {
    // Credentials written into a URI (`s3://key:secret@…`) never reach a message or a field.
    super(redactUserInfo(message), details.cause === undefined ? undefined : { cause: details.cause });
    this.code = code;
    if (details.uri !== undefined) this.uri = redactUri(details.uri);
    if (details.operation !== undefined) this.operation = details.operation;
    if (details.errno !== undefined) this.errno = details.errno;
    if (details.errnoName !== undefined) this.errnoName = details.errnoName;
    if (details.syscall !== undefined) this.syscall = details.syscall;
  }

  override get name(): string {
    return 'S3dlioError';
  }
}

/**
 * A batch operation (getMany, putMany, deleteMany, ...) in which some items failed. `errors` lists
 * every failure (each an S3dlioError with its `uri`); nothing is hidden behind the first one.
 */
export class BatchError extends AggregateError {
  /** Always `ERR_BATCH_FAILED`. */
  readonly code = 'ERR_BATCH_FAILED' as const;
  /** The batch operation, e.g. `getMany`. */
  readonly operation: string;
  /** How many items succeeded. */
  readonly succeeded: number;
  declare readonly errors: S3dlioError[];

  constructor(operation: string, errors: S3dlioError[], succeeded: number) {
    const first = errors[0];
    super(
      errors,
      `${operation}: ${errors.length} of ${errors.length + succeeded} items failed` +
        (first ? ` (first: ${first.message})` : ''),
    );
    this.operation = operation;
    this.succeeded = succeeded;
  }

  override get name(): string {
    return 'BatchError';
  }
}

/**
 * errno names of a failed connection, DNS lookup or socket, whatever the scheme: `ERR_CONNECTION`
 * (the cloud stores' classification uses the same list).
 */
export const NETWORK_ERRNO_NAMES = [
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EAI_FAIL',
  'EAI_NONAME',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ENETUNREACH',
  'ENETDOWN',
  'ENETRESET',
  'ENOTCONN',
] as const;

/** errno names with a portable meaning across backends; any other is `ERR_IO`. */
const ERRNO_TO_CODE = new Map<string, ErrorCode>([
  ...NETWORK_ERRNO_NAMES.map((name): [string, ErrorCode] => [name, 'ERR_CONNECTION']),
  ['ENOENT', 'ERR_NOT_FOUND'],
  // A path component that is a file: the object does not exist.
  ['ENOTDIR', 'ERR_NOT_FOUND'],
  ['EEXIST', 'ERR_ALREADY_EXISTS'],
  ['EISDIR', 'ERR_IS_DIRECTORY'],
  ['EACCES', 'ERR_ACCESS_DENIED'],
  ['EPERM', 'ERR_ACCESS_DENIED'],
  ['EROFS', 'ERR_ACCESS_DENIED'],
  ['ENOSPC', 'ERR_NO_SPACE'],
  ['EDQUOT', 'ERR_NO_SPACE'],
  ['EXDEV', 'ERR_CROSS_DEVICE'],
  ['ECANCELED', 'ERR_ABORTED'],
  ['ENOMEM', 'ERR_OUT_OF_MEMORY'],
]);

interface ErrnoLike {
  code?: unknown;
  errno?: unknown;
  syscall?: unknown;
  message?: unknown;
}

/**
 * The public code for an errno name or ERR_* code coming from the native layer, `fs` or a
 * dependency: a library code as it is, an errno name its mapped code (`ERR_IO` when it has no
 * meaning of its own), anything else (a Node or SDK code the README does not document)
 * `ERR_UNEXPECTED`.
 */
export function codeForErrno(name: string): ErrorCode {
  const mapped = ERRNO_TO_CODE.get(name);
  if (mapped !== undefined) return mapped;
  if (isErrorCode(name)) return name;
  return isErrnoName(name) ? 'ERR_IO' : 'ERR_UNEXPECTED';
}

/** Removes `user:password@` from a URI so credentials never reach a message. */
export function redactUri(uri: string): string {
  return uri.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/@]*@/i, '$1');
}

/** Removes `user:password@` from every URI quoted in a text. */
function redactUserInfo(text: string): string {
  return text.replace(/\b([a-z][a-z0-9+.-]*:\/\/)[^/@\s"']*@/gi, '$1');
}

/**
 * Wraps any thrown value from an operation into an S3dlioError with the operation, URI and cause.
 * S3dlioErrors and argument TypeErrors/RangeErrors pass through unchanged.
 */
export function toS3dlioError(error: unknown, operation: string, uri: string): Error {
  if (error instanceof S3dlioError || error instanceof BatchError) return error;
  if (isArgumentError(error)) return error;
  const errnoLike = (typeof error === 'object' && error !== null ? error : {}) as ErrnoLike;
  // Without a code of its own the error is not one the library classified: say so (a failed
  // allocation is ERR_OUT_OF_MEMORY).
  const rawCode =
    typeof errnoLike.code === 'string' ? errnoLike.code : isAllocationFailure(error) ? 'ENOMEM' : 'ERR_UNEXPECTED';
  const detail = typeof errnoLike.message === 'string' ? errnoLike.message : String(error);
  const safeUri = redactUri(uri);
  const subject = safeUri === '' ? operation : `${operation} ${safeUri}`;
  return new S3dlioError(codeForErrno(rawCode), `${subject}: ${stripPath(detail)}`, {
    uri: safeUri === '' ? undefined : safeUri,
    operation,
    cause: error,
    errno: typeof errnoLike.errno === 'number' ? Math.abs(errnoLike.errno) : undefined,
    errnoName: isErrnoName(rawCode) ? rawCode : undefined,
    syscall: typeof errnoLike.syscall === 'string' ? errnoLike.syscall : undefined,
  });
}

/** Node's fs messages repeat the path ("ENOENT: ..., open '/x'"); the URI already says it. */
function stripPath(message: string): string {
  return message.replace(/, \w+ '.*'$/, '');
}

/** V8's RangeError when it cannot allocate an ArrayBuffer (out of memory, not a bad argument). */
function isAllocationFailure(error: unknown): boolean {
  return error instanceof RangeError && /^Array buffer allocation failed/.test(error.message);
}

function isArgumentError(error: unknown): error is TypeError | RangeError {
  if (typeof error !== 'object' || error === null) return false;
  const { name, code } = error as { name?: unknown; code?: unknown };
  if (name !== 'TypeError' && name !== 'RangeError') return false;
  return code === 'ERR_INVALID_ARG_TYPE' || code === 'ERR_INVALID_ARG_VALUE' || code === 'ERR_OUT_OF_RANGE';
}

/** The error an aborted operation rejects with; `cause` is the signal's reason. */
export function abortError(operation: string, uri: string, reason: unknown): S3dlioError {
  const safeUri = redactUri(uri);
  const subject = safeUri === '' ? operation : `${operation} ${safeUri}`;
  return new S3dlioError('ERR_ABORTED', `${subject}: the operation was aborted`, {
    uri: safeUri === '' ? undefined : safeUri,
    operation,
    cause: reason,
  });
}

/**
 * Captures the caller's stack synchronously, before any await, so that errors raised later from
 * native code or the thread pool still point at the user's call site.
 */
export class CallSite {
  // The stack is captured now (cheap) and formatted only when an error needs it: formatting on
  // every call cost ~15% of the main thread at 16k small reads per second.
  private readonly holder: { stack?: string } = {};

  constructor() {
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 20;
    Error.captureStackTrace(this.holder, CallSite);
    Error.stackTraceLimit = limit;
  }

  /** Gives `error` a stack made of its own header line and the captured caller frames. */
  attach<E extends Error>(error: E): E {
    const stack = this.holder.stack ?? '';
    const frames = stack.slice(stack.indexOf('\n') + 1);
    if (frames) error.stack = `${error.name}: ${error.message}\n${frames}`;
    return error;
  }
}

/** The failure of a step (get, put) reported as the failure of the operation the user called. */
export function relabel(error: Error, operation: string, what: string): Error;
export function relabel(error: unknown, operation: string, what: string): unknown;
export function relabel(error: unknown, operation: string, what: string): unknown {
  if (!(error instanceof S3dlioError) || error.code === 'ERR_ABORTED') return error;
  return new S3dlioError(error.code, `${operation} ${what}: ${error.message}`, {
    uri: error.uri,
    operation,
    cause: error,
    errno: error.errno,
    errnoName: error.errnoName,
    syscall: error.syscall,
  });
}
