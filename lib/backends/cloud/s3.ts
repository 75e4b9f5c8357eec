/**
 * s3:// — Amazon S3 and S3-compatible stores (MinIO, Ceph, Vast, AIStore, moto) through
 * `@aws-sdk/client-s3`. URI forms: `s3://bucket/key`, and `s3://host:port/bucket/key` to name an
 * endpoint inline (plain HTTP for loopback hosts, HTTPS otherwise).
 */

import { leanTransport, sharedThreads, type ThreadSource } from './http/transport';
import type { HttpTransport, IoThreads } from './http/io-threads';
import type * as S3 from '@aws-sdk/client-s3';
import type * as SmithyHttp from '@smithy/node-http-handler';

import {
  CLOUD_COMMON_KEYS,
  type CloudCommonOptions,
  type ConnectionSettings,
  caBundleFrom,
  connectionSettingsFrom,
  envValue,
  isLoopbackHost,
  retryPolicyFrom,
  type Transport,
  transportFrom,
} from './config';
import { type CloudFailure, classifyStatus, rememberSecrets } from './errors';
import { NOT_IN_XML, checkKey, maxUtf8Bytes } from './keys';
import { crc32cBase64 } from '../../checksum';
import { S3dlioError } from '../../errors';
import { raceSignal } from '../../internal/abort';
import { lengthFromContentRange, placeBody, rangeHeader, readBody, totalFromContentRange } from './body';
import { expectKnownOptions, optionKeys } from '../../internal/option-keys';
import { parseUri } from '../../uri';
import { badArgument, invalidValue, optionalBoolean, optionalEnum, optionalPositiveInteger } from '../../validate';
import type { CloudDriver, CloudRef, ListPage, ObjectHead, CloudUpload, WriteRequest } from './driver';
import { CloudStore } from './cloud-store';
import type { BodyPlacement, ByteRange, StoredChecksum } from '../../object-store';
import { registerStore } from '../../registry';
import { lazyPackage, objectHead } from './sdk';
import { proxyAwareAgents } from './http/proxy-agent';
import { S3DataPath, loadSigner } from './s3-data-path';
import { EndpointSet } from './endpoints/endpoint-set';
import {
  MULTI_ENDPOINT_KEYS,
  type MultiEndpointOptions,
  endpointsFrom,
  healthFrom,
  strategyFrom,
} from './endpoints/settings';

/** Options of an s3:// store. Environment variables apply where an option is not given. */
export interface S3StoreOptions extends CloudCommonOptions, MultiEndpointOptions {
  /** Region (env `AWS_REGION`, `AWS_DEFAULT_REGION`; default `us-east-1`). */
  region?: string;
  /**
   * Endpoint URL of an S3-compatible store (env `S3_ENDPOINT_URIS`, then `AWS_ENDPOINT_URL_S3`,
   * `AWS_ENDPOINT_URL`). `endpoints` names several.
   */
  endpoint?: string;
  /** Path-style addressing (`endpoint/bucket/key`); default true when an endpoint is set. */
  forcePathStyle?: boolean;
  /**
   * Static credentials, or a function that gives them (a provider of `@aws-sdk/credential-providers`
   * such as `fromIni()` fits); default: the SDK's chain (env, profile, SSO, IMDS, ...).
   */
  credentials?: S3Credentials | S3CredentialProvider;
  /**
   * Named profile of the shared AWS files (`~/.aws/credentials`, `~/.aws/config`, or
   * `AWS_SHARED_CREDENTIALS_FILE`/`AWS_CONFIG_FILE`) whose credentials the SDK's chain uses, as
   * `AWS_PROFILE` would (env `AWS_PROFILE`). Not with `credentials`.
   */
  profile?: string;
  /** PEM file of CA certificates to trust (env `AWS_CA_BUNDLE`). TLS verification stays on. */
  caBundle?: string;
  /**
   * Request checksums (and response validation): `WHEN_SUPPORTED` (default) or `WHEN_REQUIRED`
   * for stores that reject them (env `AWS_REQUEST_CHECKSUM_CALCULATION`, and
   * `AWS_RESPONSE_CHECKSUM_VALIDATION` for responses).
   */
  checksums?: 'WHEN_SUPPORTED' | 'WHEN_REQUIRED';
  /** Keys per ListObjectsV2 page (default 1000, the S3 maximum). */
  pageSize?: number;
  /**
   * How object bodies travel (env `S3DLIO_S3_TRANSPORT`): `lean` (default), the library's own
   * HTTP/1.1 path, which reads a body straight into its final buffer and sends one from the
   * caller's memory; or `sdk`, the SDK's HTTP stack for every request. Signing, credentials and
   * every other request (list, head, multipart create and complete, buckets, copy) are the SDK's
   * either way.
   */
  transport?: Transport;
}

/** AWS credentials: an access key pair, with the session token of temporary credentials. */
export interface S3Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  /** The session token of temporary credentials (STS, SSO, an assumed role). */
  sessionToken?: string;
  /** When temporary credentials expire: a provider is called again before then. */
  expiration?: Date;
}

/** A function that gives AWS credentials, called when they are first needed and before they expire. */
export type S3CredentialProvider = () => Promise<S3Credentials>;

const loadSdk = lazyPackage<typeof S3>('s3', '@aws-sdk/client-s3');
const loadHttpHandler = lazyPackage<typeof SmithyHttp>('s3', '@smithy/node-http-handler');

/** The AWS SDK's own switch for its notice that its 2027 releases need Node 22. */
const NODE_NOTICE_SWITCH = 'AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED';
let nodeNoticeDecided = false;

/**
 * `make()`, the first S3 client's construction, with the SDK's Node-version notice switched off
 * unless the user set the switch (`false` shows it). The SDK decides once per process, at the first
 * client: the variable is set for that moment only, so child processes do not inherit it.
 */
function withoutNodeNotice<T>(make: () => T): T {
  const env = process.env;
  if (nodeNoticeDecided || env[NODE_NOTICE_SWITCH] !== undefined) return make();
  env[NODE_NOTICE_SWITCH] = 'true';
  try {
    const made = make();
    nodeNoticeDecided = true;
    return made;
  } finally {
    delete env[NODE_NOTICE_SWITCH];
  }
}

// 3–63 characters of lowercase letters, digits, dots and hyphens, starting and ending alphanumeric.
const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

const SERVICE_CODES: Record<string, Pick<CloudFailure, 'code' | 'retryable' | 'throttled'>> = {
  NoSuchKey: { code: 'ERR_NOT_FOUND', retryable: false },
  NotFound: { code: 'ERR_NOT_FOUND', retryable: false },
  NoSuchBucket: { code: 'ERR_BUCKET_NOT_FOUND', retryable: false },
  BucketNotEmpty: { code: 'ERR_BUCKET_NOT_EMPTY', retryable: false },
  BucketAlreadyExists: { code: 'ERR_ALREADY_EXISTS', retryable: false },
  InvalidBucketName: { code: 'ERR_INVALID_URI', retryable: false },
  AccessDenied: { code: 'ERR_ACCESS_DENIED', retryable: false },
  InvalidAccessKeyId: { code: 'ERR_ACCESS_DENIED', retryable: false },
  SignatureDoesNotMatch: { code: 'ERR_ACCESS_DENIED', retryable: false },
  ExpiredToken: { code: 'ERR_ACCESS_DENIED', retryable: false },
  InvalidToken: { code: 'ERR_ACCESS_DENIED', retryable: false },
  CredentialsProviderError: { code: 'ERR_ACCESS_DENIED', retryable: false },
  InvalidRange: { code: 'ERR_RANGE_NOT_SATISFIABLE', retryable: false },
  SlowDown: { code: 'ERR_THROTTLED', retryable: true, throttled: true },
  Throttling: { code: 'ERR_THROTTLED', retryable: true, throttled: true },
  ThrottlingException: { code: 'ERR_THROTTLED', retryable: true, throttled: true },
  RequestLimitExceeded: { code: 'ERR_THROTTLED', retryable: true, throttled: true },
  TooManyRequestsException: { code: 'ERR_THROTTLED', retryable: true, throttled: true },
  RequestTimeout: { code: 'ERR_TIMEOUT', retryable: true },
  TimeoutError: { code: 'ERR_TIMEOUT', retryable: true },
  InternalError: { code: 'ERR_SERVER', retryable: true },
  ServiceUnavailable: { code: 'ERR_THROTTLED', retryable: true, throttled: true },
};

interface S3ErrorShape {
  name?: string;
  Code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number; requestId?: string };
}

/** Encodes a key for the CopySource header: every byte but `/` percent-encoded. */
function encodeCopySource(bucket: string, key: string): string {
  return `${bucket}/${key.split('/').map(encodeURIComponent).join('/')}`;
}

/** What S3 can store: any UTF-8 key of at most 1024 bytes. */
const KEY_RULES = [maxUtf8Bytes(1024, 'S3')];

/**
 * Whether DeleteObjects can carry `key` exactly: XML 1.0 has no form for some characters, and a
 * carriage return in the answer's `<Key>` reads back as a line feed (XML end-of-line handling).
 */
function xmlSafeKey(key: string): boolean {
  return !key.includes('\r') && !NOT_IN_XML.test(key);
}

/** A key of a listing answered with `encoding-type=url` (`+` is a space there, `%2B` a plus). */
function decodeListedKey(value: string): string {
  return decodeURIComponent(value.replace(/\+/g, ' '));
}

type ChecksumMode = 'WHEN_SUPPORTED' | 'WHEN_REQUIRED';
const CHECKSUM_MODES: readonly ChecksumMode[] = ['WHEN_SUPPORTED', 'WHEN_REQUIRED'];

/** The checksum mode of the option, else of the variable (any case, as the SDK reads it), else the default. */
function checksumMode(option: unknown, env: NodeJS.ProcessEnv, variable: string): ChecksumMode {
  if (option !== undefined) return optionalEnum(option, 'options.checksums', CHECKSUM_MODES, 'WHEN_SUPPORTED');
  const raw = envValue(env, variable);
  if (raw === undefined) return 'WHEN_SUPPORTED';
  const mode = CHECKSUM_MODES.find((candidate) => candidate === raw.toUpperCase());
  if (!mode) throw invalidValue(`process.env.${variable}`, CHECKSUM_MODES.join(' or '), raw);
  return mode;
}

/** `host:port` of an endpoint named inside the URI (`s3://host:port/bucket/`), if any. */
function inlineEndpoint(base: string): string | undefined {
  return /^s3:\/\/([^/]*:[^/]*)\//.exec(base)?.[1];
}

/**
 * The service an endpoint URL reaches, spelled one way: host (lower case) and port (the default
 * of the protocol when absent) and path. Every Amazon S3 host is `aws` (bucket names are global)
 * and every loopback name of a port is one host, so `s3://127.0.0.1:9000/b/k` and `s3://b/k` on a
 * store configured with `http://localhost:9000` are the same object.
 */
function endpointIdentity(endpoint: string | undefined): string {
  if (endpoint === undefined) return 'aws';
  const url = new URL(endpoint);
  const host = url.hostname.toLowerCase();
  if (/(^|\.)amazonaws\.com(\.cn)?$/.test(host)) return 'aws';
  const port = url.port || (url.protocol === 'http:' ? '80' : '443');
  const name = isLoopbackHost(host) || host === '0.0.0.0' || host === '[::]' ? 'loopback' : host;
  return `${name}:${port}${url.pathname.replace(/\/+$/, '')}`;
}

class S3Driver implements CloudDriver {
  readonly scheme = 's3' as const;
  readonly removeBatchSize = 1000;
  private readonly clients = new Map<string, S3.S3Client>();
  private readonly region: string;
  private readonly endpoint?: string;
  private readonly forcePathStyle?: boolean;
  private readonly requestChecksums: ChecksumMode;
  private readonly responseChecksums: ChecksumMode;
  private readonly ca?: string;
  private readonly pageSize: number;
  private readonly connection: ConnectionSettings;
  /** Object bodies on the library's HTTP path (undefined: the SDK's). */
  private readonly pool: HttpTransport | undefined;
  private readonly dataPaths = new Map<string, S3DataPath>();

  /**
   * Every setting is resolved here, once: the option, else its environment variable, else the
   * default (an endpoint in the URI comes first of all). Clients get each value explicitly, so
   * the SDK never falls back to the environment for one of them.
   */
  constructor(
    private readonly options: S3StoreOptions,
    threadsOf?: ThreadSource,
  ) {
    const env = process.env;
    const given = options.credentials as Partial<Record<'accessKeyId' | 'secretAccessKey' | 'sessionToken', unknown>>;
    rememberSecrets(
      given?.accessKeyId,
      given?.secretAccessKey,
      given?.sessionToken,
      env.AWS_ACCESS_KEY_ID,
      env.AWS_SECRET_ACCESS_KEY,
      env.AWS_SESSION_TOKEN,
    );
    if (options.profile !== undefined) {
      if (typeof options.profile !== 'string' || options.profile === '') {
        throw invalidValue('options.profile', 'a profile name', options.profile);
      }
      if (options.credentials !== undefined) {
        throw badArgument('options.profile and options.credentials both name the credentials: give one');
      }
    }
    this.region = options.region ?? envValue(env, 'AWS_REGION', 'AWS_DEFAULT_REGION') ?? 'us-east-1';
    // The SDK's own switch for ignoring endpoint variables is honoured as it would honour it.
    const envEndpoint = /^true$/i.test(env.AWS_IGNORE_CONFIGURED_ENDPOINT_URLS ?? '')
      ? undefined
      : envValue(env, 'AWS_ENDPOINT_URL_S3', 'AWS_ENDPOINT_URL');
    this.endpoint = options.endpoint ?? envEndpoint;
    if (this.endpoint !== undefined && !/^https?:\/\/[^/]+/.test(this.endpoint)) {
      throw badArgument(`Invalid S3 endpoint ${JSON.stringify(this.endpoint)}: expected http(s)://host[:port]`);
    }
    this.forcePathStyle =
      options.forcePathStyle === undefined
        ? undefined
        : optionalBoolean(options.forcePathStyle, 'options.forcePathStyle', false);
    this.requestChecksums = checksumMode(options.checksums, env, 'AWS_REQUEST_CHECKSUM_CALCULATION');
    this.responseChecksums = checksumMode(options.checksums, env, 'AWS_RESPONSE_CHECKSUM_VALIDATION');
    this.ca =
      options.caBundle !== undefined
        ? caBundleFrom(options.caBundle)
        : caBundleFrom(envValue(env, 'AWS_CA_BUNDLE'), 'process.env.AWS_CA_BUNDLE');
    // ListObjectsV2 returns at most 1000 keys a page whatever is asked.
    this.pageSize = optionalPositiveInteger(options.pageSize, 'options.pageSize', 1000);
    this.connection = connectionSettingsFrom(options, env);
    const transport = transportFrom(options.transport, env, 'S3DLIO_S3_TRANSPORT');
    this.pool = leanTransport(this.connection, transport, this.ca, env, threadsOf);
    // A missing SDK package is found when the store is made, not in the middle of a job.
    loadSdk();
    loadHttpHandler();
    loadSigner();
  }

  /** Its endpoint's URL, or `default` (AWS's own, chosen by region). */
  get endpointName(): string {
    return this.endpoint ?? 'default';
  }

  serviceUrlOf(): string {
    return this.endpoint ?? `https://s3.${this.region}.amazonaws.com`;
  }

  /** `s3://host:port/bucket/key` names its endpoint inline (`listBuckets('s3://host:port/')` too). */
  inlineEndpointOf(uri: string): string | undefined {
    return inlineEndpoint(uri.endsWith('/') ? uri : `${uri}/`);
  }

  /** Whether `put` may send from the caller's memory (the lean path checks it stays attached). */
  get sendsCallerMemory(): boolean {
    return this.pool !== undefined;
  }

  /** The I/O threads that move bodies, if any. */
  get ioThreads(): IoThreads | undefined {
    return this.pool?.threads;
  }

  parse(uri: string, name: string): CloudRef {
    const parsed = parseUri(uri, name);
    if (parsed.scheme !== 's3')
      throw new S3dlioError('ERR_INVALID_URI', `Invalid URI ${JSON.stringify(uri)}: this store only takes s3:// URIs`, {
        uri,
      });
    let bucket = parsed.bucket;
    let key = parsed.key;
    let base = 's3://';
    // Bucket names cannot contain ':', so `s3://host:port/bucket/key` names an endpoint.
    if (bucket.includes(':')) {
      const [next = '', ...rest] = key.split('/');
      base = `s3://${bucket}/`;
      bucket = next;
      key = rest.join('/');
    }
    if (bucket === '') {
      throw new S3dlioError(
        'ERR_INVALID_URI',
        `Invalid URI ${JSON.stringify(uri)}: missing the bucket (s3://bucket/key)`,
        { uri },
      );
    }
    if (!BUCKET_NAME.test(bucket) || bucket.includes('..')) {
      throw new S3dlioError(
        'ERR_INVALID_URI',
        `Invalid URI ${JSON.stringify(uri)}: ${JSON.stringify(bucket)} is not a valid S3 bucket name (3-63 lowercase letters, digits, '.', '-')`,
        { uri },
      );
    }
    checkKey(uri, key, KEY_RULES);
    return { base: `${base}${bucket}/`, bucket, key };
  }

  async read(
    ref: CloudRef,
    range: ByteRange | undefined,
    signal?: AbortSignal,
    placement?: BodyPlacement,
  ): Promise<Uint8Array> {
    const lean = this.dataPath(ref);
    if (lean) return lean.read(ref, range, signal, placement);
    const { GetObjectCommand } = loadSdk();
    const Range = range && rangeHeader(range);
    const ChecksumMode = placement?.wantsChecksum ? 'ENABLED' : undefined;
    const output = await this.client(ref).send(
      new GetObjectCommand({ Bucket: ref.bucket, Key: ref.key, Range, ChecksumMode }),
      {
        abortSignal: signal,
      },
    );
    // A multipart object's checksum is composite ("…-N"): not a whole-object CRC32C.
    const stored = output.ChecksumCRC32C && !output.ChecksumCRC32C.includes('-') ? output.ChecksumCRC32C : undefined;
    const body = output.Body as AsyncIterable<Uint8Array> | undefined;
    const target = placeBody(body, placement, {
      length: output.ContentLength,
      totalSize: totalFromContentRange(output.ContentRange) ?? output.ContentLength,
      etag: output.ETag,
      ...(stored !== undefined && { checksum: { algorithm: 'crc32c' as const, base64: stored } }),
    });
    if (!body) return new Uint8Array(0);
    return readBody(body, output.ContentLength ?? lengthFromContentRange(output.ContentRange), signal, () => target);
  }

  async write(ref: CloudRef, bytes: Uint8Array, signal?: AbortSignal, options: WriteRequest = {}): Promise<void> {
    const lean = this.dataPath(ref);
    if (lean) return lean.write(ref, bytes, signal, options);
    const { contentType, ifAbsent } = options;
    const { PutObjectCommand } = loadSdk();
    await this.client(ref).send(
      new PutObjectCommand({
        Bucket: ref.bucket,
        Key: ref.key,
        Body: bytes,
        ContentLength: bytes.byteLength,
        ContentType: contentType,
        ...(ifAbsent === true && { IfNoneMatch: '*' }),
        // CRC32C computed natively (~10 GB/s) instead of the SDK's JS CRC32; stored with the
        // object, so `get(uri, { verify: true })` can check it.
        ...(this.requestChecksums === 'WHEN_SUPPORTED' && {
          ChecksumAlgorithm: 'CRC32C' as const,
          ChecksumCRC32C: crc32cBase64(bytes),
        }),
      }),
      { abortSignal: signal },
    );
  }

  async head(ref: CloudRef, signal?: AbortSignal): Promise<ObjectHead> {
    const { HeadObjectCommand } = loadSdk();
    const output = await this.client(ref).send(new HeadObjectCommand({ Bucket: ref.bucket, Key: ref.key }), {
      abortSignal: signal,
    });
    return objectHead(output.ContentLength, output.LastModified, output.ETag, output.ContentType);
  }

  async storedChecksum(ref: CloudRef, signal?: AbortSignal): Promise<StoredChecksum | undefined> {
    const { HeadObjectCommand } = loadSdk();
    const output = await this.client(ref).send(
      new HeadObjectCommand({ Bucket: ref.bucket, Key: ref.key, ChecksumMode: 'ENABLED' }),
      {
        abortSignal: signal,
      },
    );
    const value = output.ChecksumCRC32C;
    // A multipart object's checksum is composite ("…-N", ChecksumType COMPOSITE): not of the bytes.
    const composite = output.ChecksumType === 'COMPOSITE' || value?.includes('-');
    return value && !composite ? { algorithm: 'crc32c', base64: value } : undefined;
  }

  async listPage(
    ref: CloudRef,
    delimiter: string | undefined,
    token: string | undefined,
    signal?: AbortSignal,
  ): Promise<ListPage> {
    const { ListObjectsV2Command } = loadSdk();
    const output = await this.client(ref).send(
      new ListObjectsV2Command({
        Bucket: ref.bucket,
        Prefix: ref.key || undefined,
        Delimiter: delimiter,
        ContinuationToken: token,
        MaxKeys: this.pageSize,
        // Keys come back percent-encoded: XML would turn a '\r' into '\n' and cannot carry
        // most control characters at all.
        EncodingType: 'url',
      }),
      { abortSignal: signal },
    );
    // A page that says more follow but gives no way to ask for them: ending here would be a listing
    // silently cut short.
    if (output.IsTruncated && !output.NextContinuationToken) {
      throw Object.assign(
        new Error('the listing page says more keys follow (IsTruncated) but has no NextContinuationToken'),
        { name: 'InvalidListing' },
      );
    }
    // Decoded only when the server says it encoded (a server that ignores the parameter does not).
    const decode = output.EncodingType === 'url' ? decodeListedKey : (value: string) => value;
    const objects = (output.Contents ?? []).flatMap((item) => (item.Key === undefined ? [] : [item]));
    return {
      keys: objects.map((item) => decode(item.Key as string)),
      // ListObjectsV2 gives no content type; size, time and the (quoted) ETag are HEAD's.
      heads: objects.map((item) => objectHead(item.Size, item.LastModified, item.ETag, undefined)),
      prefixes: (output.CommonPrefixes ?? []).flatMap((item) =>
        item.Prefix === undefined ? [] : [decode(item.Prefix)],
      ),
      nextToken: output.IsTruncated ? output.NextContinuationToken : undefined,
    };
  }

  async remove(ref: CloudRef, signal?: AbortSignal): Promise<void> {
    // S3 answers 204 for a missing key; the API promises ERR_NOT_FOUND, so ask first.
    await this.head(ref, signal);
    const { DeleteObjectCommand } = loadSdk();
    await this.client(ref).send(new DeleteObjectCommand({ Bucket: ref.bucket, Key: ref.key }), { abortSignal: signal });
  }

  async removeBatch(bucket: CloudRef, keys: string[], signal?: AbortSignal): Promise<Array<unknown | undefined>> {
    const { DeleteObjectsCommand, DeleteObjectCommand } = loadSdk();
    const failures = new Map<string, unknown>();
    const inXml = keys.filter(xmlSafeKey);
    if (inXml.length > 0) {
      const output = await this.client(bucket).send(
        new DeleteObjectsCommand({
          Bucket: bucket.bucket,
          Delete: { Objects: inXml.map((Key) => ({ Key })), Quiet: true },
        }),
        { abortSignal: signal },
      );
      for (const error of output.Errors ?? [])
        if (error.Key !== undefined)
          failures.set(error.Key, { name: error.Code, message: error.Message ?? error.Code });
    }
    // The others one by one, their key in the URL (like DeleteObjects, a missing key is no error).
    for (const key of keys) {
      if (xmlSafeKey(key)) continue;
      try {
        await this.client(bucket).send(new DeleteObjectCommand({ Bucket: bucket.bucket, Key: key }), {
          abortSignal: signal,
        });
      } catch (error) {
        // No HTTP answer (connection lost, timeout): the whole batch is retried, as for DeleteObjects.
        if ((error as S3ErrorShape).$metadata?.httpStatusCode === undefined) throw error;
        failures.set(key, error);
      }
    }
    return keys.map((key) => failures.get(key));
  }

  async copy(source: CloudRef, destination: CloudRef, signal?: AbortSignal): Promise<void> {
    if (inlineEndpoint(source.base) !== inlineEndpoint(destination.base)) {
      // Different endpoints: no server-side copy between them.
      return this.write(destination, await this.read(source, undefined, signal), signal);
    }
    const { CopyObjectCommand } = loadSdk();
    await this.client(destination).send(
      new CopyObjectCommand({
        Bucket: destination.bucket,
        Key: destination.key,
        CopySource: encodeCopySource(source.bucket, source.key),
      }),
      { abortSignal: signal },
    );
  }

  async createBucket(ref: CloudRef, signal?: AbortSignal): Promise<void> {
    const { CreateBucketCommand } = loadSdk();
    const configuration =
      this.region === 'us-east-1' ? undefined : { LocationConstraint: this.region as S3.BucketLocationConstraint };
    try {
      await this.client(ref).send(
        new CreateBucketCommand({ Bucket: ref.bucket, CreateBucketConfiguration: configuration }),
        {
          abortSignal: signal,
        },
      );
    } catch (error) {
      if ((error as S3ErrorShape).name !== 'BucketAlreadyOwnedByYou') throw error;
    }
  }

  async deleteBucket(ref: CloudRef, signal?: AbortSignal): Promise<void> {
    const { DeleteBucketCommand } = loadSdk();
    await this.client(ref).send(new DeleteBucketCommand({ Bucket: ref.bucket }), { abortSignal: signal });
  }

  async listBuckets(ref: { base: string }, signal?: AbortSignal): Promise<string[]> {
    const { ListBucketsCommand } = loadSdk();
    const names: string[] = [];
    let token: string | undefined;
    do {
      const output = await this.client(ref).send(new ListBucketsCommand({ ContinuationToken: token }), {
        abortSignal: signal,
      });
      for (const bucket of output.Buckets ?? []) if (bucket.Name) names.push(bucket.Name);
      token = output.ContinuationToken;
    } while (token);
    return names;
  }

  openUpload(ref: CloudRef, options: WriteRequest): CloudUpload {
    return new S3MultipartUpload(
      this.client(ref),
      ref,
      options,
      this.requestChecksums === 'WHEN_SUPPORTED',
      this.dataPath(ref),
    );
  }

  classify(error: unknown): CloudFailure {
    const shape = (typeof error === 'object' && error !== null ? error : {}) as S3ErrorShape;
    const serviceCode = shape.name ?? shape.Code;
    const status = shape.$metadata?.httpStatusCode;
    // The SDK's own response-checksum validation (ChecksumMode ENABLED) fails with a plain Error.
    if (!status && /^Checksum mismatch:/.test(shape.message ?? '')) {
      return { code: 'ERR_CHECKSUM_MISMATCH', retryable: true, message: shape.message ?? 'checksum mismatch' };
    }
    const known = serviceCode ? SERVICE_CODES[serviceCode] : undefined;
    const base = known ?? (status !== undefined ? classifyStatus(status) : { code: 'ERR_CLOUD', retryable: false });
    const message =
      serviceCode === 'NotFound' && status === 404
        ? 'no such object'
        : serviceCode === 'CredentialsProviderError'
          ? this.options.profile !== undefined
            ? `no AWS credentials for profile "${this.options.profile}": is it a profile of ` +
              `${process.env.AWS_SHARED_CREDENTIALS_FILE ?? '~/.aws/credentials'} or ${process.env.AWS_CONFIG_FILE ?? '~/.aws/config'}, with a key? (${shape.message ?? ''})`
            : `no AWS credentials found (set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, a profile, or pass options.credentials): ${shape.message ?? ''}`
          : (shape.message ?? String(error));
    return { ...base, status, serviceCode, requestId: shape.$metadata?.requestId, message };
  }

  identity(ref: CloudRef): string {
    return `${endpointIdentity(this.endpointOf(ref))}\n${ref.bucket}\n${ref.key}`;
  }

  /** The endpoint URL serving `ref`: its inline endpoint, else the store's (undefined: AWS). */
  private endpointOf(ref: Pick<CloudRef, 'base'>): string | undefined {
    const inline = inlineEndpoint(ref.base);
    return inline ? `${isLoopbackHost(inline.replace(/:\d+$/, '')) ? 'http' : 'https'}://${inline}` : this.endpoint;
  }

  /** The lean body path of `ref`'s endpoint, or undefined where bodies go through the SDK. */
  private dataPath(ref: Pick<CloudRef, 'base'>): S3DataPath | undefined {
    if (!this.pool) return undefined;
    const key = this.endpointOf(ref) ?? '';
    let path = this.dataPaths.get(key);
    if (!path) {
      path = new S3DataPath(
        this.client(ref),
        this.pool,
        this.requestChecksums === 'WHEN_SUPPORTED',
        this.responseChecksums === 'WHEN_SUPPORTED',
      );
      this.dataPaths.set(key, path);
    }
    return path;
  }

  /** One client per endpoint, created on first use and reused (keep-alive connection pool). */
  private client(ref: Pick<CloudRef, 'base'>): S3.S3Client {
    const endpoint = this.endpointOf(ref);
    const key = endpoint ?? '';
    let client = this.clients.get(key);
    if (!client) {
      client = this.createClient(endpoint);
      this.clients.set(key, client);
    }
    return client;
  }

  private createClient(endpoint: string | undefined): S3.S3Client {
    const { S3Client } = loadSdk();
    const { NodeHttpHandler } = loadHttpHandler();
    const { connectTimeoutMs, maxSockets } = this.connection;
    const config: S3.S3ClientConfig = {
      region: this.region,
      endpoint,
      forcePathStyle: this.forcePathStyle ?? endpoint !== undefined,
      credentials: this.options.credentials,
      ...(this.options.profile !== undefined && { profile: this.options.profile }),
      // Retries are ours (retry.ts): one policy for every backend, tested end to end.
      // 'standard': AWS_RETRY_MODE=adaptive would add the SDK's own client-side rate limiting.
      maxAttempts: 1,
      retryMode: 'standard',
      // FIPS and dual-stack name AWS's own endpoints: their variables must not break a given one
      // (the SDK refuses a custom endpoint combined with either).
      ...(endpoint !== undefined && { useFipsEndpoint: false, useDualstackEndpoint: false }),
      requestChecksumCalculation: this.requestChecksums,
      responseChecksumValidation: this.responseChecksums,
      // Proxy variables apply to these requests too (CONNECT tunnels).
      requestHandler: new NodeHttpHandler({
        connectionTimeout: connectTimeoutMs,
        ...proxyAwareAgents({ maxSockets, ...(this.ca !== undefined && { ca: this.ca }) }),
      }),
    };
    return withoutNodeNotice(() => new S3Client(config));
  }
}

/**
 * An S3 multipart upload: created at the first part, parts of at least 5 MiB (but the last) and at
 * most 10,000, completed with the part ETags in order, aborted (parts deleted) on failure.
 */
class S3MultipartUpload implements CloudUpload {
  readonly maxParts = 10_000;
  readonly minPartSize = 5 * 1024 * 1024;
  readonly maxPartSize = 5 * 1024 * 1024 * 1024;
  // Re-uploading a part number replaces it: parts are safe to retry.
  readonly partsIdempotent = true;
  readonly compositeChecksums = true;
  private uploadId: Promise<string> | undefined;
  private readonly etags: string[] = [];
  private readonly checksums: string[] = [];

  constructor(
    private readonly client: S3.S3Client,
    private readonly ref: CloudRef,
    private readonly options: WriteRequest,
    // Part CRC32Cs computed natively (not by the SDK in JS) and checked by S3 on each part.
    private readonly withChecksums: boolean,
    /** Part bodies on the library's HTTP path (undefined: the SDK's). */
    private readonly lean: S3DataPath | undefined,
  ) {}

  /** Parts on the lean path go from the caller's memory, guarded against a transfer. */
  get sendsCallerMemory(): boolean {
    return this.lean !== undefined;
  }

  async uploadPart(index: number, _offset: number, bytes: Uint8Array, signal?: AbortSignal): Promise<void> {
    const UploadId = await this.start(signal);
    const { etag, checksum } = this.lean
      ? await this.lean.uploadPart(this.ref, UploadId, index + 1, bytes, signal)
      : await this.sdkUploadPart(UploadId, index, bytes, signal);
    if (checksum !== undefined) this.checksums[index] = checksum;
    if (!etag) throw new Error(`UploadPart ${index + 1} returned no ETag`);
    this.etags[index] = etag;
  }

  /** UploadPart through the SDK, with the part's CRC32C computed natively. */
  private async sdkUploadPart(
    UploadId: string,
    index: number,
    bytes: Uint8Array,
    signal: AbortSignal | undefined,
  ): Promise<{ etag?: string; checksum?: string }> {
    const { UploadPartCommand } = loadSdk();
    const checksum = this.withChecksums ? crc32cBase64(bytes) : undefined;
    const output = await this.client.send(
      new UploadPartCommand({
        Bucket: this.ref.bucket,
        Key: this.ref.key,
        UploadId,
        PartNumber: index + 1,
        Body: bytes,
        ContentLength: bytes.byteLength,
        ...(checksum !== undefined && { ChecksumAlgorithm: 'CRC32C' as const, ChecksumCRC32C: checksum }),
      }),
      { abortSignal: signal },
    );
    return { etag: output.ETag, checksum };
  }

  async complete(_total: number, parts: number, signal?: AbortSignal): Promise<{ etag?: string }> {
    const { CompleteMultipartUploadCommand } = loadSdk();
    const UploadId = await this.start(signal);
    const Parts = Array.from({ length: parts }, (_, index) => ({
      PartNumber: index + 1,
      ETag: this.etags[index],
      ...(this.checksums[index] !== undefined && { ChecksumCRC32C: this.checksums[index] }),
    }));
    if (Parts.some((part) => part.ETag === undefined)) throw new Error('a part of the multipart upload has no ETag');
    const output = await this.client.send(
      new CompleteMultipartUploadCommand({
        Bucket: this.ref.bucket,
        Key: this.ref.key,
        UploadId,
        MultipartUpload: { Parts },
        ...(this.options.ifAbsent === true && { IfNoneMatch: '*' }),
      }),
      { abortSignal: signal },
    );
    return output.ETag === undefined ? {} : { etag: output.ETag };
  }

  async abort(signal?: AbortSignal): Promise<void> {
    const pending = this.uploadId;
    if (!pending) return;
    const UploadId = await pending.catch(() => undefined);
    if (!UploadId) return;
    const { AbortMultipartUploadCommand } = loadSdk();
    await this.client.send(new AbortMultipartUploadCommand({ Bucket: this.ref.bucket, Key: this.ref.key, UploadId }), {
      abortSignal: signal,
    });
  }

  private start(signal?: AbortSignal): Promise<string> {
    if (!this.uploadId) {
      const { CreateMultipartUploadCommand } = loadSdk();
      // Not cancelled with the part that started it: an upload created server-side must be known
      // here, or abort() could not delete it. Callers still stop waiting when `signal` fires.
      this.uploadId = this.client
        .send(
          new CreateMultipartUploadCommand({
            Bucket: this.ref.bucket,
            Key: this.ref.key,
            ContentType: this.options.contentType,
            ...(this.withChecksums && { ChecksumAlgorithm: 'CRC32C' as const }),
          }),
        )
        .then((output) => {
          if (!output.UploadId) throw new Error('CreateMultipartUpload returned no UploadId');
          return output.UploadId;
        });
      // A failed start may be retried with the next attempt (nothing was created).
      this.uploadId.catch(() => (this.uploadId = undefined));
    }
    return raceSignal(this.uploadId, signal);
  }
}

const S3_STORE_KEYS = optionKeys<S3StoreOptions>()({
  ...CLOUD_COMMON_KEYS,
  ...MULTI_ENDPOINT_KEYS,
  region: true,
  endpoint: true,
  forcePathStyle: true,
  credentials: true,
  profile: true,
  caBundle: true,
  checksums: true,
  pageSize: true,
  transport: true,
});

/** The s3:// backend. */
export class S3Store extends CloudStore {
  constructor(options?: S3StoreOptions) {
    const opts = expectKnownOptions(options, S3_STORE_KEYS, 'an s3:// store');
    super(s3Endpoints(opts), retryPolicyFrom(opts), opts);
  }

  /** `listBuckets('s3://host:port/')` lists the buckets of that endpoint, as `s3://host:port/bucket/`. */
  protected override bucketListBase(schemeUri: string): string {
    const inline = /^s3:\/\/([^/]*:[^/]*)(?:\/|$)/i.exec(schemeUri)?.[1];
    return inline === undefined ? super.bucketListBase(schemeUri) : `s3://${inline}/`;
  }
}

/**
 * One driver (client, connection pool, socket limit) per endpoint: `endpoints`, else `endpoint`,
 * else `S3_ENDPOINT_URIS`, else the SDK's (`AWS_ENDPOINT_URL_S3`, `AWS_ENDPOINT_URL`, AWS).
 */
function s3Endpoints(options: S3StoreOptions): EndpointSet {
  const strategy = strategyFrom(options.endpointStrategy);
  const health = healthFrom(options.healthCheck);
  const urls = endpointsFrom(options, process.env, 'S3_ENDPOINT_URIS');
  if (urls === undefined) {
    const driver = new S3Driver(options);
    return EndpointSet.single(driver, driver.endpointName);
  }
  // One group of I/O threads serves every endpoint (each thread has sockets to each of them).
  const threadsOf = sharedThreads();
  const endpoints = urls.map((endpoint) => ({
    name: endpoint,
    driver: new S3Driver({ ...options, endpoint }, threadsOf),
  }));
  return new EndpointSet(endpoints, strategy, health);
}

declare module '../../uri' {
  interface StoreSchemes {
    s3: S3StoreOptions;
  }
  interface StoreClasses {
    s3: S3Store;
  }
}
registerStore('s3', (options) => new S3Store(options));
