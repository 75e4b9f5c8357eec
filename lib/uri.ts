/**
 * URI parsing. URIs are taken literally: no percent-decoding, and `%`, `+`, `#`, `?` and spaces are
 * part of the key, as in the AWS CLI. This keeps every legal object key addressable.
 */
import { S3dlioError } from './errors';
import { invalidType, invalidValue } from './validate';

/**
 * The options of each registered scheme's store, by scheme. Each backend adds its own entry next
 * to its `registerStore` call, with a module augmentation:
 *
 * @example
 * declare module 's3dlio' { interface StoreSchemes { mine: MyStoreOptions } }
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type -- filled by augmentation
export interface StoreSchemes {}

/**
 * The store class of each scheme, by scheme: what `storeFor('s3://…')` returns. A backend adds its
 * entry next to its `StoreSchemes` one; a scheme without an entry gives an `ObjectStore`.
 *
 * @example
 * declare module 's3dlio' { interface StoreClasses { mine: MyStore } }
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type -- filled by augmentation
export interface StoreClasses {}

/**
 * The other spellings of a scheme (`registerStore`'s `aliases`), alias to scheme, so that a URI
 * written with an alias (`gcs://`) is typed as its scheme's.
 *
 * @example
 * declare module 's3dlio' { interface SchemeAliases { mine2: 'mine' } }
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type -- filled by augmentation
export interface SchemeAliases {}

/** A registered backend scheme (`gcs://` is an alias of `gs://`; Azure https URLs map to `az`). */
export type Scheme = keyof StoreSchemes & string;

/**
 * How the part after `scheme://` is read: `bucket/key` (S3, GCS, mem), `account/container/key`
 * (Azure) or an absolute filesystem `path` (file, direct).
 */
export type UriLayout = 'bucket' | 'account' | 'path';

/** The URI prefixes the library accepts (every registered scheme and alias), for messages and docs. */
export const ACCEPTED_SCHEMES: readonly string[] = [];

const SCHEME_NAME = /^[a-z][a-z0-9+.-]*$/;

/** Registered spellings (schemes and aliases) and what they stand for. */
const SPELLINGS = new Map<string, { scheme: Scheme; layout: UriLayout }>();

/**
 * Makes `scheme` (and its aliases) parseable. Called by `registerStore`; throws if a spelling is
 * malformed or taken.
 */
export function registerSchemeSyntax(scheme: string, layout: UriLayout, aliases: readonly string[] = []): void {
  const spellings = [scheme, ...aliases];
  spellings.forEach((spelling, index) => {
    if (typeof spelling !== 'string' || !SCHEME_NAME.test(spelling)) {
      throw invalidValue('scheme', 'a lower-case URI scheme name such as "mem" (letters, digits, + - .)', spelling);
    }
    // Taken before, or named twice in this registration.
    if (SPELLINGS.has(spelling) || spellings.indexOf(spelling) !== index) {
      throw invalidValue('scheme', 'a scheme not registered yet', spelling);
    }
  });
  for (const spelling of spellings) {
    SPELLINGS.set(spelling, { scheme: scheme as Scheme, layout });
    (ACCEPTED_SCHEMES as string[]).push(`${spelling}://`);
  }
}

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

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

const AZURE_HTTPS = /^https:\/\/([a-z0-9]+)\.blob\.core\.windows\.net(?:\/(.*))?$/i;

function invalid(uri: string, reason: string): S3dlioError {
  return new S3dlioError('ERR_INVALID_URI', `Invalid URI ${JSON.stringify(uri)}: ${reason}`, { uri });
}

/**
 * True for file:// and direct://, the schemes of this machine's filesystem (another scheme may read
 * its URIs as paths, `layout: 'path'`, without being the filesystem).
 */
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

  const azure = SPELLINGS.has('az') ? AZURE_HTTPS.exec(raw) : null;
  if (azure) return parseCloud(`az://${azure[1]}/${azure[2] ?? ''}`, 'az', 'account', `${azure[1]}/${azure[2] ?? ''}`);

  const match = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\/(.*)$/s.exec(raw);
  const spelling = match ? SPELLINGS.get(match[1].toLowerCase()) : undefined;
  if (!match || !spelling) {
    throw invalid(raw, `expected a URI starting with one of ${ACCEPTED_SCHEMES.join(', ')}`);
  }
  const rest = match[2];
  const uri = `${match[1].toLowerCase()}://${rest}`;
  const { scheme, layout } = spelling;
  return layout === 'path' ? parseLocal(uri, scheme, rest) : parseCloud(uri, scheme, layout, rest);
}

function parseLocal(uri: string, scheme: Scheme, path: string): ParsedUri {
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

function parseCloud(uri: string, scheme: Scheme, layout: UriLayout, rest: string): ParsedUri {
  const parts = rest.split('/');
  // No bucket, container or account name contains '@': this is `user:secret@…`. Refuse it without
  // quoting it (the S3dlioError constructor strips the userinfo from the URI it shows).
  if (parts[0].includes('@')) {
    throw invalid(uri, 'credentials in a URI are not supported; pass them as options or environment variables');
  }
  if (layout === 'account') {
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
  if (SPELLINGS.get(parsed.scheme)?.layout === 'path') return parsed.uri;
  const account = parsed.account ? `${parsed.account}/` : '';
  return `${parsed.uri.slice(0, parsed.uri.indexOf('://'))}://${account}${parsed.bucket}/`;
}
