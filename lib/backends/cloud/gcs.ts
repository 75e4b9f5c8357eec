/**
 * gs:// (alias gcs://) — Google Cloud Storage through `@google-cloud/storage`. Credentials: the
 * SDK's application default credentials (GOOGLE_APPLICATION_CREDENTIALS, gcloud, metadata server);
 * `endpoint`, else `STORAGE_EMULATOR_HOST`, points it at an emulator (sent unauthenticated unless
 * `keyFilename` or `authClient` is given).
 */
import { leanTransport } from './http/transport';
import type { IoThreads } from './http/io-threads';
import type { Readable, Writable } from 'stream';

import type * as Gcs from '@google-cloud/storage';

import {
  CLOUD_COMMON_KEYS,
  type CloudCommonOptions,
  type Transport,
  connectionSettingsFrom,
  envValue,
  retryPolicyFrom,
  transportFrom,
} from './config';
import { GcsDataPath } from './gcs-data-path';
import { type CloudFailure, classifyStatus, redactSecrets } from './errors';
import { checkKey, forbiddenCharacter, keyRule, maxUtf8Bytes } from './keys';
import { S3dlioError } from '../../errors';
import { raceSignal } from '../../internal/abort';
import { lengthFromContentRange, readBody, totalFromContentRange } from './body';
import { expectKnownOptions, optionKeys } from '../../internal/option-keys';
import { parseUri } from '../../uri';
import { invalidValue, optionalPositiveInteger } from '../../validate';
import type { CloudDriver, CloudRef, ListPage, ObjectHead, CloudUpload, WriteRequest } from './driver';
import { CloudStore } from './cloud-store';
import type { BodyPlacement, ByteRange, StoredChecksum } from '../../object-store';
import { registerStore } from '../../registry';
import { lazyPackage, objectHead } from './sdk';

/** Options of a gs:// store. Environment variables apply where an option is not given. */
export interface GcsStoreOptions extends CloudCommonOptions {
  /** Project id, needed to create and list buckets (env `GOOGLE_CLOUD_PROJECT`, `GCLOUD_PROJECT`). */
  projectId?: string;
  /**
   * Service-account (or other credential) key file (default: application default credentials,
   * e.g. env `GOOGLE_APPLICATION_CREDENTIALS`). Given here, it also authenticates requests to a
   * custom `endpoint`.
   */
  keyFilename?: string;
  /**
   * Root URL of an emulator or private endpoint (env `STORAGE_EMULATOR_HOST`): JSON requests go to
   * `<endpoint>/storage/v1`, uploads to `<endpoint>/upload/storage/v1`. `http://` is assumed
   * without a scheme.
   */
  endpoint?: string;
  /**
   * An auth client of `google-auth-library` (an `AuthClient` such as `OAuth2Client`, `Impersonated`
   * or workload identity federation's, or a `GoogleAuth`). With a custom `endpoint` it is used too
   * (requests to non-Google endpoints are otherwise sent without credentials, as emulators expect).
   */
  authClient?: GcsAuthClient;
  /** Objects per list page (default 1000). */
  pageSize?: number;
  /**
   * How object bodies travel (env `S3DLIO_GCS_TRANSPORT`): `lean` (default), the library's own
   * HTTP/1.1 path, which reads a download straight into its final buffer and sends uploads (one
   * request, or a writer's resumable session) from the caller's memory; or `sdk`. Credentials,
   * the endpoint and every other request (listing, metadata, copies, buckets) are the SDK's
   * either way.
   */
  transport?: Transport;
}

/**
 * What a gs:// store takes as `authClient`: the methods every `google-auth-library` client (an
 * `AuthClient` or a `GoogleAuth`) has, which the SDK and the store call. It is handed to the SDK.
 */
export interface GcsAuthClient {
  /** The headers that authenticate a request (`Authorization: Bearer …`). */
  getRequestHeaders(url?: string): Promise<unknown>;
  /** A current access token. */
  getAccessToken(): Promise<unknown>;
  /** Sends an authenticated request (the SDK's resumable uploads use it). */
  request(options: object): Promise<unknown>;
}

/** `options.authClient` when it has the methods of {@link GcsAuthClient}, else a TypeError. */
function authClientFrom(value: unknown): Gcs.StorageOptions['authClient'] {
  const given = value as Partial<Record<keyof GcsAuthClient, unknown>> | null;
  const methods = ['getRequestHeaders', 'getAccessToken', 'request'] as const;
  if (typeof given !== 'object' || given === null || !methods.every((name) => typeof given[name] === 'function')) {
    throw Object.assign(
      new TypeError(
        'Expected an auth client of google-auth-library (an object with getRequestHeaders(), getAccessToken() and request()) for `options.authClient`',
      ),
      { code: 'ERR_INVALID_ARG_TYPE' },
    );
  }
  // The SDK's type is google-auth-library's classes; the store asks only for their methods.
  return given as Gcs.StorageOptions['authClient'];
}

type GcsSdk = typeof Gcs;

const loadSdk = lazyPackage<GcsSdk>('gs', '@google-cloud/storage');

// 3–63 characters (222 with dots) of lowercase letters, digits, '-', '_', '.', alphanumeric at both ends.
const BUCKET_NAME = /^[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]$/;

/** What GCS can store (cloud.google.com/storage/docs/objects#naming), for keys and prefixes. */
const KEY_RULES = [maxUtf8Bytes(1024, 'GCS'), forbiddenCharacter(/[\r\n]/, 'GCS', 'does not allow in object names')];

/** Object names GCS refuses whole (prefixes may still start with them). */
const OBJECT_RULES = [
  keyRule((key) => key === '.' || key === '..', "GCS object names cannot be '.' or '..'"),
  keyRule(
    (key) => key.startsWith('.well-known/acme-challenge/'),
    "GCS object names cannot start with '.well-known/acme-challenge/'",
  ),
];

/**
 * The endpoint root as a URL without a trailing '/': `host:port` means `http://host:port`.
 * Refused (not ignored) when it is not an http(s) URL.
 */
function endpointRoot(value: unknown, name: string): string {
  const text =
    typeof value === 'string' && value !== '' && !/^[a-z][a-z0-9+.-]*:\/\//i.test(value) ? `http://${value}` : value;
  let url: URL | undefined;
  try {
    url = typeof text === 'string' ? new URL(text) : undefined;
  } catch {
    url = undefined;
  }
  if (!url || !/^https?:$/.test(url.protocol) || url.search || url.hash || url.username || url.password) {
    throw invalidValue(name, 'an endpoint URL http(s)://host[:port][/path]', redactSecrets(String(value)));
  }
  return url.href.replace(/\/+$/, '');
}

/** Whether an endpoint root is one of Google's own (`*.googleapis.com`), not an emulator. */
function isGoogleEndpoint(endpoint: string | undefined): boolean {
  return endpoint !== undefined && /(?:^|\.)googleapis\.com$/i.test(new URL(endpoint).hostname);
}

interface GcsErrorShape {
  code?: number | string;
  /** A GaxiosError's HTTP status (the resumable upload's requests fail with one). */
  status?: unknown;
  message?: string;
  errors?: Array<{ reason?: string; message?: string }>;
  response?: { headers?: Record<string, string> };
}

/*
 * GCS's own messages for the errors whose code the status alone does not give. A missing bucket
 * and a missing object are both 404 `notFound`; the object's message quotes the names ("No such
 * object: bucket/key"), the bucket's does not. Downloads (`alt=media`) carry the message as a
 * plain-text body, so the SDK's error has no `errors[].reason` there: the message is all there is.
 */
const BUCKET_MISSING = /^The specified bucket does not exist\.?$/;
const BUCKET_NOT_EMPTY = /^The bucket you tried to delete is not empty\b/;
const INVALID_BUCKET_NAME = /^Invalid bucket name\b/;

/** The whole object's CRC32C from `x-goog-hash: crc32c=…,md5=…`, as ResponseHeaders fields. */
function storedCrc32c(header: string | undefined): { checksum?: StoredChecksum } {
  const value = header && /(?:^|,)\s*crc32c=([^,]+)/.exec(header)?.[1];
  return value ? { checksum: { algorithm: 'crc32c', base64: value.trim() } } : {};
}

/** The `{ error: { message, errors } }` body GCS sends with an error, when `text` is one. */
function parseErrorBody(text: string | undefined): GcsErrorShape | undefined {
  if (!text?.startsWith('{')) return undefined;
  try {
    return (JSON.parse(text) as { error?: GcsErrorShape }).error;
  } catch {
    return undefined; // not JSON after all: the message is used as it is
  }
}

/**
 * The HTTP status of a failed resumable-upload request: the SDK reports it only in the text of a
 * plain Error (`Retry limit exceeded - status: 503 - …`), so a 503 would otherwise read as an
 * unknown failure instead of throttling.
 */
function resumableStatus(message: string | undefined): number | undefined {
  const match = message ? /^Retry (?:total time )?limit exceeded - status: (\d{3})\b/.exec(message) : null;
  return match ? Number(match[1]) : undefined;
}

class GcsDriver implements CloudDriver {
  readonly scheme = 'gs' as const;
  private readonly storage: Gcs.Storage;
  private readonly pageSize: number;
  /** The JSON API's root: the emulator or private endpoint, else Google's. */
  private readonly serviceUrl: string;
  /** Object bodies on the library's HTTP path (undefined: the SDK's). */
  private readonly lean: GcsDataPath | undefined;

  /**
   * The settings are resolved once, here (the option, else its variable, else the default), and
   * the client is made at the same moment: the SDK reads `STORAGE_EMULATOR_HOST` itself when it
   * is constructed, and sends reads, lists and deletes there even when given another endpoint, so
   * its JSON base URL is set from the resolved endpoint after construction.
   */
  constructor(options: GcsStoreOptions) {
    const env = process.env;
    const fromEnv = envValue(env, 'STORAGE_EMULATOR_HOST');
    const endpoint =
      options.endpoint !== undefined
        ? endpointRoot(options.endpoint, 'options.endpoint')
        : fromEnv !== undefined
          ? endpointRoot(fromEnv, 'process.env.STORAGE_EMULATOR_HOST')
          : undefined;
    this.pageSize = optionalPositiveInteger(options.pageSize, 'options.pageSize', 1000);
    this.serviceUrl = endpoint ?? 'https://storage.googleapis.com';
    const { Storage } = loadSdk();
    this.storage = new Storage({
      projectId: options.projectId ?? envValue(env, 'GOOGLE_CLOUD_PROJECT', 'GCLOUD_PROJECT'),
      ...(options.keyFilename !== undefined && { keyFilename: options.keyFilename }),
      ...(endpoint !== undefined && { apiEndpoint: endpoint }),
      ...(options.authClient !== undefined && { authClient: authClientFrom(options.authClient) }),
      // Credentials given here are sent to a custom endpoint too; the environment's are not. The
      // SDK takes any endpoint but the one it would pick as custom (unauthenticated): Google's own,
      // named explicitly (over STORAGE_EMULATOR_HOST), still gets credentials.
      ...((options.authClient !== undefined || options.keyFilename !== undefined || isGoogleEndpoint(endpoint)) && {
        useAuthWithCustomEndpoint: true,
      }),
      // Retries are ours (retry.ts), the same policy for every backend.
      retryOptions: { autoRetry: false },
    });
    if (endpoint !== undefined) this.storage.baseUrl = `${endpoint}/storage/v1`;
    const transport = leanTransport(
      connectionSettingsFrom(options, env),
      transportFrom(options.transport, env, 'S3DLIO_GCS_TRANSPORT'),
      undefined,
      env,
    );
    if (transport) this.lean = new GcsDataPath(this.storage, transport);
  }

  serviceUrlOf(): string {
    return this.serviceUrl;
  }

  parse(uri: string, name: string): CloudRef {
    const parsed = parseUri(uri, name);
    if (parsed.scheme !== 'gs')
      throw new S3dlioError('ERR_INVALID_URI', `Invalid URI ${JSON.stringify(uri)}: this store only takes gs:// URIs`, {
        uri,
      });
    if (parsed.bucket === '') {
      throw new S3dlioError(
        'ERR_INVALID_URI',
        `Invalid URI ${JSON.stringify(uri)}: missing the bucket (gs://bucket/key)`,
        { uri },
      );
    }
    if (!BUCKET_NAME.test(parsed.bucket) || parsed.bucket.includes('..')) {
      throw new S3dlioError(
        'ERR_INVALID_URI',
        `Invalid URI ${JSON.stringify(uri)}: ${JSON.stringify(parsed.bucket)} is not a valid GCS bucket name (3-63 lowercase letters, digits, '-', '_', '.')`,
        { uri },
      );
    }
    checkKey(uri, parsed.key, KEY_RULES);
    // Keep the alias the caller used (gs:// or gcs://) in the URIs we hand back.
    const scheme = parsed.uri.slice(0, parsed.uri.indexOf('://'));
    return { base: `${scheme}://${parsed.bucket}/`, bucket: parsed.bucket, key: parsed.key };
  }

  identity(ref: CloudRef): string {
    // gs:// and gcs:// name the same objects; one store talks to one endpoint.
    return `${ref.bucket}\n${ref.key}`;
  }

  checkObjectKey(ref: CloudRef, uri: string): void {
    checkKey(uri, ref.key, OBJECT_RULES);
  }

  async read(
    ref: CloudRef,
    range: ByteRange | undefined,
    signal?: AbortSignal,
    placement?: BodyPlacement,
  ): Promise<Uint8Array> {
    if (this.lean) return this.lean.read(ref, range, signal, placement);
    const stream = this.file(ref).createReadStream(range ? { start: range.start, end: range.end } : {});
    // The SDK sends the request when reading starts and emits 'response' before the first chunk.
    let length: number | undefined;
    let target: Uint8Array | undefined;
    stream.once('response', (response: { statusCode?: number; headers?: Record<string, string | undefined> }) => {
      // An error answer comes through here too: its headers describe the error body, not the object.
      if (response.statusCode !== undefined && (response.statusCode < 200 || response.statusCode > 299)) return;
      const headers = response.headers ?? {};
      // A transcoded (gzip) object's length is not the length of what we receive.
      if (!headers['content-encoding']) {
        length =
          headers['content-length'] !== undefined
            ? Number(headers['content-length'])
            : lengthFromContentRange(headers['content-range']);
      }
      try {
        target = placement?.onHeaders({
          length,
          totalSize: totalFromContentRange(headers['content-range']) ?? length,
          etag: headers['x-goog-generation'] ?? headers.etag,
          ...storedCrc32c(headers['x-goog-hash']),
        });
      } catch (error) {
        stream.destroy(error as Error);
      }
    });
    return readBody(
      stream as Readable,
      () => length,
      signal,
      () => target,
    );
  }

  /** Whether `put` may send from the caller's memory (the lean path checks it stays attached). */
  get sendsCallerMemory(): boolean {
    return this.lean !== undefined;
  }

  /** The I/O threads that move bodies, if any. */
  get ioThreads(): IoThreads | undefined {
    return this.lean?.threads;
  }

  async write(ref: CloudRef, bytes: Uint8Array, signal?: AbortSignal, options: WriteRequest = {}): Promise<void> {
    if (this.lean) return this.lean.write(ref, bytes, signal, options);
    const { contentType, ifAbsent } = options;
    // One multipart request, validated with CRC32C by the SDK (resumable uploads are for writers).
    const stream: Writable = this.file(ref, ifAbsent).createWriteStream({
      resumable: false,
      validation: 'crc32c',
      ...(contentType !== undefined && { contentType }),
      ...(ifAbsent === true && { preconditionOpts: { ifGenerationMatch: 0 } }),
    });
    const done = new Promise<void>((resolve, reject) => {
      stream.on('finish', resolve);
      stream.on('error', reject);
    });
    const onAbort = (): void => void stream.destroy(signal?.reason as Error);
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      stream.end(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
      await done;
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
  }

  async head(ref: CloudRef, signal?: AbortSignal): Promise<ObjectHead> {
    const [metadata] = await raceSignal(this.file(ref).getMetadata(), signal);
    return headOf(metadata);
  }

  async storedChecksum(ref: CloudRef, signal?: AbortSignal): Promise<StoredChecksum | undefined> {
    const [metadata] = await raceSignal(this.file(ref).getMetadata(), signal);
    return metadata.crc32c ? { algorithm: 'crc32c', base64: metadata.crc32c } : undefined;
  }

  async listPage(
    ref: CloudRef,
    delimiter: string | undefined,
    token: string | undefined,
    signal?: AbortSignal,
  ): Promise<ListPage> {
    const query: Gcs.GetFilesOptions = {
      autoPaginate: false,
      maxResults: this.pageSize,
      ...(ref.key && { prefix: ref.key }),
      ...(delimiter && { delimiter }),
      ...(token && { pageToken: token }),
    };
    const [files, nextQuery, response] = await raceSignal(this.bucket(ref).getFiles(query), signal);
    const prefixes = (response as { prefixes?: string[] } | undefined)?.prefixes ?? [];
    return {
      keys: files.map((file) => file.name),
      // objects.list returns each object's resource, the same one `head` reads.
      heads: files.map((file) => headOf(file.metadata)),
      prefixes,
      nextToken: (nextQuery as { pageToken?: string } | null | undefined)?.pageToken,
    };
  }

  async remove(ref: CloudRef, signal?: AbortSignal): Promise<void> {
    await raceSignal(this.file(ref).delete(), signal);
  }

  async copy(source: CloudRef, destination: CloudRef, signal?: AbortSignal): Promise<void> {
    // Server-side (objects.rewrite); the SDK loops over rewrite tokens for large objects.
    await raceSignal(this.file(source).copy(this.file(destination)), signal);
  }

  async createBucket(ref: CloudRef, signal?: AbortSignal): Promise<void> {
    try {
      await raceSignal(this.client().createBucket(ref.bucket), signal);
    } catch (error) {
      // 409: the name is taken. Ours (we can read it) counts as success, like S3's AlreadyOwnedByYou.
      if ((error as GcsErrorShape).code !== 409) throw error;
      await raceSignal(this.bucket(ref).getMetadata(), signal);
    }
  }

  async deleteBucket(ref: CloudRef, signal?: AbortSignal): Promise<void> {
    await raceSignal(this.bucket(ref).delete(), signal);
  }

  async listBuckets(_ref: { base: string }, signal?: AbortSignal): Promise<string[]> {
    const [buckets] = await raceSignal(this.client().getBuckets({ autoPaginate: true }), signal);
    return buckets.map((bucket) => bucket.name);
  }

  openUpload(ref: CloudRef, options: WriteRequest): CloudUpload {
    if (this.lean) {
      const upload = this.lean.openUpload(ref, options);
      return {
        maxParts: Number.MAX_SAFE_INTEGER,
        minPartSize: 1,
        sequential: true,
        // Bytes already handed to the session cannot be taken back: no blind retry of a part.
        partsIdempotent: false,
        sendsCallerMemory: true,
        uploadPart: (_index, _offset, bytes, signal) => upload.part(bytes, signal),
        complete: async (total, _parts, signal) => {
          await upload.complete(total, signal);
          return {};
        },
        // The session is cancelled: nothing becomes visible, nothing stays open.
        abort: (signal) => upload.abort(signal),
      };
    }
    // A resumable upload session: the SDK sends the bytes in order and finalizes at end().
    let opening: Promise<Writable> | undefined;
    let stream: Writable | undefined;
    let aborted = false;
    let finished: Promise<void> | undefined;
    const metadata = options.contentType !== undefined ? { contentType: options.contentType } : {};
    const open = (): Promise<Writable> => {
      opening ??= (async () => {
        // The session is created here, not by createWriteStream: that path of the SDK drops
        // `useAuthWithCustomEndpoint`, so credentials given as options would not authorize it.
        const preconditionOpts = options.ifAbsent === true ? { ifGenerationMatch: 0 } : undefined;
        const [uri] = await this.file(ref, options.ifAbsent).createResumableUpload({ metadata, preconditionOpts });
        if (aborted) throw new Error('the upload was aborted');
        const created: Writable = this.file(ref, options.ifAbsent).createWriteStream({
          resumable: true,
          uri,
          offset: 0,
          validation: 'crc32c',
          metadata,
          preconditionOpts,
        });
        finished = new Promise<void>((resolve, reject) => {
          created.on('finish', resolve);
          created.on('error', reject);
        });
        finished.catch(() => undefined); // observed by complete() or by the next write
        stream = created;
        return created;
      })();
      return opening;
    };
    const fail = (): Promise<never> =>
      (finished as Promise<void>).then(() => Promise.reject(new Error('the upload stream ended early')));
    return {
      maxParts: Number.MAX_SAFE_INTEGER,
      minPartSize: 1,
      sequential: true,
      // Bytes already handed to the session cannot be taken back: no blind retry of a part.
      partsIdempotent: false,
      uploadPart: async (_index, _offset, bytes, signal) => {
        const target = await raceSignal(open(), signal);
        const written = new Promise<void>((resolve, reject) => {
          const ok = target.write(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), (error) =>
            error ? reject(error) : undefined,
          );
          if (ok) resolve();
          else target.once('drain', resolve);
        });
        await raceSignal(Promise.race([written, fail()]), signal);
      },
      complete: async (_total, _parts, signal) => {
        const target = await raceSignal(open(), signal);
        target.end();
        await raceSignal(finished as Promise<void>, signal);
        return {};
      },
      abort: async () => {
        // The session is never finalized, so nothing becomes visible.
        aborted = true;
        stream?.destroy();
      },
    };
  }

  classify(error: unknown): CloudFailure {
    const shape = (typeof error === 'object' && error !== null ? error : {}) as GcsErrorShape;
    // Download streams report the raw JSON error body as the message: read the real one out of it.
    const body = parseErrorBody(shape.message);
    const message = body?.message ?? shape.message ?? String(error);
    const reason = body?.errors?.[0]?.reason ?? shape.errors?.[0]?.reason;
    if (shape.code === 'CONTENT_DOWNLOAD_MISMATCH') {
      return { code: 'ERR_CHECKSUM_MISMATCH', retryable: true, serviceCode: shape.code, message };
    }
    const status =
      typeof shape.code === 'number'
        ? shape.code
        : typeof shape.status === 'number'
          ? shape.status
          : resumableStatus(shape.message);
    if (status === undefined) return { code: 'ERR_CLOUD', retryable: false, message };
    let base = classifyStatus(status);
    // Only GCS's fixed wording is matched, whole or as a prefix before any name: a bucket or key
    // that contains "bucket" or "not empty" must not change the code.
    const text = message.trim();
    if (status === 404 && BUCKET_MISSING.test(text)) base = { code: 'ERR_BUCKET_NOT_FOUND', retryable: false };
    if (status === 409 && BUCKET_NOT_EMPTY.test(text)) base = { code: 'ERR_BUCKET_NOT_EMPTY', retryable: false };
    else if (status === 409) base = { code: 'ERR_ALREADY_EXISTS', retryable: false };
    if (status === 400 && reason === 'invalid' && INVALID_BUCKET_NAME.test(text))
      base = { code: 'ERR_INVALID_URI', retryable: false };
    return { ...base, status, serviceCode: reason, message };
  }

  private client(): Gcs.Storage {
    return this.storage;
  }

  private bucket(ref: CloudRef): Gcs.Bucket {
    return this.client().bucket(ref.bucket);
  }

  /** The SDK's object; create-only (generation 0 expected) for `ifAbsent` writes. */
  private file(ref: CloudRef, ifAbsent?: boolean): Gcs.File {
    return ifAbsent === true
      ? this.bucket(ref).file(ref.key, { preconditionOpts: { ifGenerationMatch: 0 } })
      : this.bucket(ref).file(ref.key);
  }
}

const GCS_STORE_KEYS = optionKeys<GcsStoreOptions>()({
  ...CLOUD_COMMON_KEYS,
  projectId: true,
  keyFilename: true,
  endpoint: true,
  authClient: true,
  pageSize: true,
  transport: true,
});

/** Options of the other clouds that a gs:// store cannot honour, with what to do instead. */
const GCS_REFUSED_KEYS = {
  caBundle:
    "the GCS SDK's own requests (listing, metadata, deletes) take no CA per client; start Node with NODE_EXTRA_CA_CERTS=<file> to trust a private CA in the whole process",
};

/** The gs:// backend. */
export class GcsStore extends CloudStore {
  constructor(options?: GcsStoreOptions) {
    const opts = expectKnownOptions(options, GCS_STORE_KEYS, 'a gs:// store', 'options', GCS_REFUSED_KEYS);
    super(new GcsDriver(opts), retryPolicyFrom(opts), opts);
  }
}

declare module '../../uri' {
  interface StoreSchemes {
    gs: GcsStoreOptions;
  }
  interface StoreClasses {
    gs: GcsStore;
  }
  interface SchemeAliases {
    gcs: 'gs';
  }
}
registerStore('gs', (options) => new GcsStore(options), { aliases: ['gcs'] });

/** An object's metadata from its resource (what objects.get and each item of objects.list return). */
function headOf(metadata: Gcs.FileMetadata): ObjectHead {
  const modified = metadata.updated ?? metadata.timeCreated;
  const size = metadata.size === undefined ? undefined : Number(metadata.size);
  return objectHead(size, modified === undefined ? undefined : new Date(modified), metadata.etag, metadata.contentType);
}
