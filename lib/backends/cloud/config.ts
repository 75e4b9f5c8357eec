/**
 * Settings every cloud backend shares (retries, timeouts, connection pool), from options first,
 * then environment variables, then defaults. Documented in docs/configuration.md ("Retries and
 * timeouts", "Configuration precedence").
 */
import { readFileSync } from 'fs';

import { DEFAULT_RETRY_POLICY, type RetryPolicy } from './retry';
import { badArgument, invalidValue, optionalEnum, optionalPositiveInteger } from '../../validate';

/** Options of every cloud store. */
export interface CloudCommonOptions {
  /** Attempts per request, first included (env `S3DLIO_MAX_ATTEMPTS`, default 4). 1 = no retry. */
  maxAttempts?: number;
  /** Time limit of one attempt in ms (env `S3DLIO_ATTEMPT_TIMEOUT_MS`, default 60000). */
  attemptTimeoutMs?: number;
  /** TCP/TLS connect timeout in ms (env `S3DLIO_CONNECT_TIMEOUT_MS`, default 10000). */
  connectTimeoutMs?: number;
  /** First retry backoff ceiling in ms, doubling (env `S3DLIO_RETRY_BASE_MS`, default 100). */
  retryBaseDelayMs?: number;
  /** Keep-alive sockets per endpoint (env `S3DLIO_MAX_SOCKETS`, default 64). */
  maxSockets?: number;
  /** RangeEngine: split gets larger than this (default 32 MiB; 0 = off). Overridable per call. */
  rangeThreshold?: number;
  /** RangeEngine: bytes per range (default 8 MiB for objects >= 256 MiB, else 4 MiB). */
  chunkSize?: number;
  /** RangeEngine: ranges in flight (default scaled to the object, at most 32). */
  concurrency?: number;
  /** `put` of more bytes than this is a multipart upload (default 64 MiB). */
  multipartThreshold?: number;
  /**
   * Threads that move object bodies, each with its own sockets (env `S3DLIO_CLOUD_IO_THREADS`, default
   * 0: the main thread does). Needs the lean transport. With threads, a read split into ranges
   * returns a view of a SharedArrayBuffer, and writer parts live in shared memory.
   */
  ioThreads?: number;
}

/** Every key of {@link CloudCommonOptions}, spread into each cloud store's key list. */
export const CLOUD_COMMON_KEYS: { readonly [K in keyof Required<CloudCommonOptions>]: true } = {
  maxAttempts: true,
  attemptTimeoutMs: true,
  connectTimeoutMs: true,
  retryBaseDelayMs: true,
  maxSockets: true,
  rangeThreshold: true,
  chunkSize: true,
  concurrency: true,
  multipartThreshold: true,
  ioThreads: true,
};

/** Connection settings derived from the options. */
export interface ConnectionSettings {
  connectTimeoutMs: number;
  maxSockets: number;
  /** I/O threads (0: none). */
  ioThreads: number;
}

/** More I/O threads than this are refused (each is a V8 isolate of its own). */
export const MAX_IO_THREADS = 256;

function fromEnv(name: string, env: NodeJS.ProcessEnv): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value <= 0) throw invalidValue(`process.env.${name}`, 'a positive integer', raw);
  return value;
}

/** The option when given (the environment is then not read at all), else the variable, else `fallback`. */
function setting(
  options: CloudCommonOptions,
  key: keyof CloudCommonOptions,
  envName: string,
  fallback: number,
  env: NodeJS.ProcessEnv,
): number {
  const given = options[key];
  if (given !== undefined) return optionalPositiveInteger(given, `options.${key}`, fallback);
  return fromEnv(envName, env) ?? fallback;
}

/** The first of `names` set to a non-empty value in `env` (an empty variable counts as unset). */
export function envValue(env: NodeJS.ProcessEnv, ...names: string[]): string | undefined {
  for (const name of names) {
    const value = env[name];
    if (value !== undefined && value !== '') return value;
  }
  return undefined;
}

/** The retry policy for a store. */
export function retryPolicyFrom(options: CloudCommonOptions, env: NodeJS.ProcessEnv = process.env): RetryPolicy {
  return {
    maxAttempts: setting(options, 'maxAttempts', 'S3DLIO_MAX_ATTEMPTS', DEFAULT_RETRY_POLICY.maxAttempts, env),
    baseDelayMs: setting(options, 'retryBaseDelayMs', 'S3DLIO_RETRY_BASE_MS', DEFAULT_RETRY_POLICY.baseDelayMs, env),
    maxDelayMs: DEFAULT_RETRY_POLICY.maxDelayMs,
    attemptTimeoutMs: setting(
      options,
      'attemptTimeoutMs',
      'S3DLIO_ATTEMPT_TIMEOUT_MS',
      DEFAULT_RETRY_POLICY.attemptTimeoutMs,
      env,
    ),
  };
}

/** Connect timeout and pool size for a store. */
export function connectionSettingsFrom(
  options: CloudCommonOptions,
  env: NodeJS.ProcessEnv = process.env,
): ConnectionSettings {
  return {
    connectTimeoutMs: setting(options, 'connectTimeoutMs', 'S3DLIO_CONNECT_TIMEOUT_MS', 10_000, env),
    maxSockets: setting(options, 'maxSockets', 'S3DLIO_MAX_SOCKETS', 64, env),
    ioThreads: ioThreadsFrom(options.ioThreads, env),
  };
}

/** `ioThreads`: the option, else `S3DLIO_CLOUD_IO_THREADS`, else 0; an integer from 0 to {@link MAX_IO_THREADS}. */
function ioThreadsFrom(option: unknown, env: NodeJS.ProcessEnv): number {
  const [value, name] =
    option !== undefined
      ? [option, 'options.ioThreads']
      : [envValue(env, 'S3DLIO_CLOUD_IO_THREADS'), 'process.env.S3DLIO_CLOUD_IO_THREADS'];
  if (value === undefined) return 0;
  // A variable is text; an option must be a number.
  const number = option === undefined && typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value;
  if (typeof number !== 'number' || !Number.isSafeInteger(number) || number < 0 || number > MAX_IO_THREADS) {
    throw invalidValue(name, `an integer from 0 to ${MAX_IO_THREADS}`, value);
  }
  return number;
}

/** Whether a host name is this machine (plain HTTP is the default for it). */
export function isLoopbackHost(host: string): boolean {
  // Stryker disable next-line Regex: a host has brackets only around an IPv6 literal, one at each end
  const name = host.replace(/^\[|\]$/g, '').toLowerCase();
  return name === 'localhost' || name === '::1' || /^127\.\d+\.\d+\.\d+$/.test(name);
}

/**
 * How a cloud store moves object bodies: `lean`, the library's own HTTP/1.1 path (bodies straight
 * into their buffers and out of the caller's), or `sdk`, the SDK's HTTP stack.
 */
export type Transport = 'lean' | 'sdk';
const TRANSPORTS: readonly Transport[] = ['lean', 'sdk'];

/** The option when given (the variable is then not read), else the variable, else `lean`. */
export function transportFrom(option: unknown, env: NodeJS.ProcessEnv, variable: string): Transport {
  if (option !== undefined) return optionalEnum(option, 'options.transport', TRANSPORTS, 'lean');
  return optionalEnum(envValue(env, variable), `process.env.${variable}`, TRANSPORTS, 'lean');
}

/**
 * The PEM text of a CA bundle file (`caBundle`), read once when the store is made: its
 * certificates replace Node's trusted set for the store's connections (TLS verification stays on).
 */
export function caBundleFrom(path: unknown, name = 'options.caBundle'): string | undefined {
  if (path === undefined || path === '') return undefined;
  if (typeof path !== 'string') throw invalidValue(name, 'the path of a PEM file', path);
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw badArgument(`Cannot read the CA bundle ${path}: ${(error as Error).message}`, error);
  }
}
