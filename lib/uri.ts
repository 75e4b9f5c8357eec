/**
 * URI parsing. URIs are taken literally: no percent-decoding, and `%`, `+`, `#`, `?` and spaces are
 * part of the key, as in the AWS CLI. This keeps every legal object key addressable.
 */
import { S3dlioError } from './errors';
import { invalidType } from './validate';

/** Backend schemes. `gcs://` is an alias of `gs://`; Azure https URLs map to `az`. */
export type Scheme = 's3' | 'az' | 'gs' | 'file' | 'direct';

/** The URI prefixes the library accepts, for messages and docs. */
export const ACCEPTED_SCHEMES = ['s3://', 'az://', 'gs://', 'gcs://', 'file://', 'direct://'] as const;

/** A parsed URI. */
export interface ParsedUri {
  /** The URI as given (scheme lower-cased). */
  readonly uri: string;
  readonly scheme: Scheme;
  /** Bucket (S3/GCS) or container (Azure); empty for local schemes and scheme-only URIs. */
  readonly bucket: string;
  /** Object key inside the bucket; for local schemes the absolute path without its leading `/`. */
  readonly key: string;
  /** Azure storage account. */
  readonly account?: string;
  /** Absolute filesystem path, for `file://` and `direct://`. */
  readonly path?: string;
}

const SCHEME_ALIASES: Record<string, Scheme> = {
  s3: 's3',
  az: 'az',
  gs: 'gs',
  gcs: 'gs',
  file: 'file',
  direct: 'direct',
};

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

const AZURE_HTTPS = /^https:\/\/([a-z0-9]+)\.blob\.core\.windows\.net(?:\/(.*))?$/i;

function invalid(uri: string, reason: string): S3dlioError {
  return new S3dlioError('ERR_INVALID_URI', `Invalid URI ${JSON.stringify(uri)}: ${reason}`, { uri });
}

/** True for file:// and direct://. */
export function isLocalScheme(scheme: Scheme): scheme is 'file' | 'direct' {
  return scheme === 'file' || scheme === 'direct';
}

/**
 * Parses `value` into its scheme, bucket and key. Throws TypeError for a non-string and
 * S3dlioError `ERR_INVALID_URI` for anything malformed, naming the accepted schemes.
 */
export function parseUri(value: unknown, name = 'uri'): ParsedUri {
  if (typeof value !== 'string') throw invalidType(name, 'a string', value);
  const raw = value;
  if (raw === '')
    throw invalid(raw, `an empty string; expected a URI starting with one of ${ACCEPTED_SCHEMES.join(', ')}`);
  if (raw.includes('\0')) throw invalid(raw, 'it contains a NUL character');
  // A lone surrogate has no UTF-8 form: it would reach the service (or the filesystem) as U+FFFD.
  if (LONE_SURROGATE.test(raw)) throw invalid(raw, 'it contains a lone UTF-16 surrogate (not a Unicode character)');

  const azure = AZURE_HTTPS.exec(raw);
  if (azure) return parseCloud(`az://${azure[1]}/${azure[2] ?? ''}`, 'az', `${azure[1]}/${azure[2] ?? ''}`);

  const match = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\/(.*)$/s.exec(raw);
  const scheme = match ? SCHEME_ALIASES[match[1].toLowerCase()] : undefined;
  if (!match || !scheme) {
    throw invalid(raw, `expected a URI starting with one of ${ACCEPTED_SCHEMES.join(', ')}`);
  }
  const rest = match[2];
  const uri = `${match[1].toLowerCase()}://${rest}`;
  return isLocalScheme(scheme) ? parseLocal(uri, scheme, rest) : parseCloud(uri, scheme, rest);
}

function parseLocal(uri: string, scheme: 'file' | 'direct', path: string): ParsedUri {
  if (path.length === 0) throw invalid(uri, `an empty path; use ${scheme}:///absolute/path`);
  if (!path.startsWith('/')) {
    throw invalid(uri, `relative paths are not allowed; use ${scheme}:///absolute/path`);
  }
  const segments = path.split('/');
  if (segments.some((segment) => segment === '.' || segment === '..')) {
    throw invalid(uri, "path segments '.' and '..' are not allowed");
  }
  // `//` means `/` to the kernel; say so here too, so `file:////` is recognisably the root.
  const normalized = path.replace(/\/{2,}/g, '/');
  return { uri, scheme, bucket: '', key: normalized.slice(1), path: normalized };
}

function parseCloud(uri: string, scheme: Scheme, rest: string): ParsedUri {
  const parts = rest.split('/');
  // No bucket, container or account name contains '@': this is `user:secret@…`. Refuse it without
  // quoting it (the S3dlioError constructor strips the userinfo from the URI it shows).
  if (parts[0].includes('@')) {
    throw invalid(uri, 'credentials in a URI are not supported; pass them as options or environment variables');
  }
  if (scheme === 'az') {
    const [account, container = '', ...key] = parts;
    if (!account) throw invalid(uri, 'missing the storage account (az://account/container/key)');
    return { uri, scheme, account, bucket: container, key: key.join('/') };
  }
  // An empty bucket is allowed here (`s3://` picks a store, lists buckets); stores that need a
  // bucket refuse it with their own naming rules.
  const [bucket, ...key] = parts;
  return { uri, scheme, bucket, key: key.join('/') };
}

/** The URI of `path` under a local scheme. */
export function localUri(scheme: 'file' | 'direct', path: string): string {
  return `${scheme}://${path}`;
}

/** The bucket (container) URI of a cloud URI, e.g. `s3://bucket/`; a local prefix is its own "bucket". */
export function bucketUriOf(prefixUri: string): string {
  const parsed = parseUri(prefixUri);
  if (isLocalScheme(parsed.scheme)) return parsed.uri;
  const account = parsed.account ? `${parsed.account}/` : '';
  return `${parsed.uri.slice(0, parsed.uri.indexOf('://'))}://${account}${parsed.bucket}/`;
}
