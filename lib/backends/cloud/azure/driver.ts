/**
 * az:// — Azure Blob Storage (and Azurite) through `@azure/storage-blob`. URI forms:
 * `az://account/container/key` and `https://account.blob.core.windows.net/container/key`; listings
 * answer in the form the prefix was given in.
 */
import type { IoThreads } from '../http/io-threads';
import type * as AzBlob from '@azure/storage-blob';

import { S3dlioError } from '../../../errors';
import type { BodyPlacement, ByteRange, StoredChecksum } from '../../../object-store';
import { parseUri } from '../../../uri';
import { invalidValue, optionalPositiveInteger } from '../../../validate';
import { sleep } from '../../../internal/abort';
import { lengthFromContentRange, placeBody, readBody, totalFromContentRange } from '../body';
import type { CloudDriver, CloudRef, CloudUpload, ListPage, ObjectHead, WriteRequest } from '../driver';
import { type CloudFailure, classifyStatus, redactSecrets } from '../errors';
import { checkKey, forbiddenCharacter, keyRule, maxCharacters } from '../keys';
import { AzureClients, DriverFailure, HTTPS_FORM, accountOf } from './credentials';
import type { AzureStoreOptions } from './options';
import { objectHead } from '../sdk';

/** Storage account names: 3–24 lowercase letters and digits. */
const ACCOUNT_NAME = /^[a-z0-9]{3,24}$/;
/** Container names: 3–63 lowercase letters, digits and single hyphens, alphanumeric at both ends. */
const CONTAINER_NAME = /^[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9])){2,62}$/;
/** Containers with a reserved name. */
const SPECIAL_CONTAINERS = new Set(['$root', '$web', '$logs']);
const MAX_PAGE_SIZE = 5000;

/**
 * What a blob name (or a listing prefix) cannot hold on Azure: control characters (refused by the
 * service), U+FFFE and U+FFFF (not characters; XML listings cannot carry them), '\' (the service
 * stores it as '/'), '.' and '..' path segments (the SDK's URL
 * handling removes them, so another blob would be addressed), over 1024 characters or 254
 * segments.
 */
const KEY_RULES = [
  maxCharacters(1024, 'Azure Blob'),
  keyRule((key) => key.split('/').length > 254, 'Azure blob names have at most 254 path segments'),
  // eslint-disable-next-line no-control-regex -- control characters are what is refused
  forbiddenCharacter(/[\u0000-\u001F\u007F-\u009F]/, 'Azure Blob Storage', 'does not allow in blob names'),
  forbiddenCharacter(/[\uFFFE\uFFFF]/, 'Azure Blob Storage', 'cannot list (XML has no form for it)'),
  forbiddenCharacter(/\\/, 'Azure Blob Storage', "stores as '/' (another blob name)"),
  keyRule(
    (key) => /(?:^|\/)\.\.?\//.test(key),
    "the key has a '.' or '..' path segment, which the Azure SDK resolves in the URL (another blob would be addressed)",
  ),
];

/** Blob names Azure would store under another name: a trailing '.' is dropped by the service. */
const OBJECT_RULES = [
  keyRule(
    (key) => key.endsWith('.'),
    "Azure blob names cannot end with '.' (the service drops it: another blob would be addressed)",
  ),
];

const SERVICE_CODES: Record<string, Pick<CloudFailure, 'code' | 'retryable' | 'throttled'>> = {
  BlobNotFound: { code: 'ERR_NOT_FOUND', retryable: false },
  ContainerNotFound: { code: 'ERR_BUCKET_NOT_FOUND', retryable: false },
  ContainerAlreadyExists: { code: 'ERR_ALREADY_EXISTS', retryable: false },
  BlobAlreadyExists: { code: 'ERR_ALREADY_EXISTS', retryable: false },
  ContainerBeingDeleted: { code: 'ERR_CONFLICT', retryable: false },
  AuthenticationFailed: { code: 'ERR_ACCESS_DENIED', retryable: false },
  AuthorizationFailure: { code: 'ERR_ACCESS_DENIED', retryable: false },
  AuthorizationPermissionMismatch: { code: 'ERR_ACCESS_DENIED', retryable: false },
  AuthorizationProtocolMismatch: { code: 'ERR_ACCESS_DENIED', retryable: false },
  AuthorizationResourceTypeMismatch: { code: 'ERR_ACCESS_DENIED', retryable: false },
  AuthorizationServiceMismatch: { code: 'ERR_ACCESS_DENIED', retryable: false },
  AuthorizationSourceIPMismatch: { code: 'ERR_ACCESS_DENIED', retryable: false },
  InsufficientAccountPermissions: { code: 'ERR_ACCESS_DENIED', retryable: false },
  NoAuthenticationInformation: { code: 'ERR_ACCESS_DENIED', retryable: false },
  AccountIsDisabled: { code: 'ERR_ACCESS_DENIED', retryable: false },
  InvalidRange: { code: 'ERR_RANGE_NOT_SATISFIABLE', retryable: false },
  InvalidResourceName: { code: 'ERR_INVALID_URI', retryable: false },
  RequestBodyTooLarge: { code: 'ERR_OBJECT_TOO_LARGE', retryable: false },
  ServerBusy: { code: 'ERR_THROTTLED', retryable: true, throttled: true },
  OperationTimedOut: { code: 'ERR_TIMEOUT', retryable: true },
  InternalError: { code: 'ERR_SERVER', retryable: true },
};

/** What HEAD answers carry no body to say (the code is in `x-ms-error-code` only). */
const BODYLESS_MESSAGES: Record<string, string> = {
  BlobNotFound: 'The specified blob does not exist.',
  ContainerNotFound: 'The specified container does not exist.',
};

/** @azure/identity errors: no usable credential, or the identity provider said no. */
const IDENTITY_ERRORS = new Set([
  'CredentialUnavailableError',
  'AuthenticationError',
  'AggregateAuthenticationError',
  'AuthenticationRequiredError',
]);

interface RestErrorShape {
  name?: string;
  code?: string;
  statusCode?: number;
  message?: string;
  details?: { errorCode?: string; 'x-ms-request-id'?: string; requestId?: string };
  response?: { headers?: { get?(name: string): string | undefined } };
}

/** A stored MD5 as ResponseHeaders fields. */
function storedMd5(md5: Uint8Array | undefined): { checksum?: StoredChecksum } {
  return md5 && md5.byteLength === 16
    ? { checksum: { algorithm: 'md5', base64: Buffer.from(md5).toString('base64') } }
    : {};
}

/** The SDK options of a Put Blob or Put Block List: content type, and create-only. */
function blobWriteOptions({ contentType, ifAbsent }: WriteRequest): {
  blobHTTPHeaders?: { blobContentType: string };
  conditions?: { ifNoneMatch: string };
} {
  return {
    ...(contentType !== undefined && { blobHTTPHeaders: { blobContentType: contentType } }),
    ...(ifAbsent === true && { conditions: { ifNoneMatch: '*' } }),
  };
}

/** The single requests of Azure Blob Storage. */
export class AzureDriver implements CloudDriver {
  readonly scheme = 'az' as const;
  readonly #clients: AzureClients;
  private readonly pageSize: number;

  constructor(options: AzureStoreOptions) {
    this.#clients = new AzureClients(options, process.env);
    const pageSize = optionalPositiveInteger(options.pageSize, 'options.pageSize', MAX_PAGE_SIZE);
    if (pageSize > MAX_PAGE_SIZE)
      throw invalidValue('options.pageSize', `an integer from 1 to ${MAX_PAGE_SIZE}`, pageSize);
    this.pageSize = pageSize;
  }

  parse(uri: string, name: string): CloudRef {
    const parsed = parseUri(uri, name);
    // Messages quote the URI: never with a signature in it.
    const shown = redactSecrets(uri);
    const invalid = (reason: string): S3dlioError =>
      new S3dlioError('ERR_INVALID_URI', `Invalid URI ${JSON.stringify(shown)}: ${reason}`, { uri: shown });
    if (parsed.scheme !== 'az') throw invalid('this store only takes az:// URIs');
    if (HTTPS_FORM.test(uri) && /\?(?:.*&)?sig=/.test(uri)) {
      // A pasted SAS URL: the query would otherwise become part of the key (keys are literal).
      throw invalid(
        'a SAS URL; pass the token as options.sasToken (or AZURE_STORAGE_SAS_TOKEN) and the URI without its query',
      );
    }
    const account = this.checkAccount(uri, parsed.account ?? '');
    const container = parsed.bucket;
    if (container === '') throw invalid('missing the container (az://account/container/key)');
    if (!CONTAINER_NAME.test(container) && !SPECIAL_CONTAINERS.has(container)) {
      throw invalid(
        `${JSON.stringify(container)} is not a valid Azure container name (3-63 lowercase letters, digits and single hyphens, starting and ending with a letter or digit)`,
      );
    }
    checkKey(shown, parsed.key, KEY_RULES);
    return { base: `${this.accountBase(uri, account)}${container}/`, bucket: container, key: parsed.key };
  }

  identity(ref: CloudRef): string {
    // az://account/… and https://account.blob.core.windows.net/… reach the same account.
    return `${accountOf(ref.base)}\n${ref.bucket}\n${ref.key}`;
  }

  checkObjectKey(ref: CloudRef, uri: string): void {
    checkKey(redactSecrets(uri), ref.key, OBJECT_RULES);
  }

  serviceUrlOf(ref: CloudRef): string {
    return this.#clients.requestUrl(accountOf(ref.base));
  }

  /** `az://account/` or `https://account.blob.core.windows.net/`: where container URIs start. */
  accountBase(uri: string, account?: string): string {
    const name = account ?? this.checkAccount(uri, parseUri(uri, 'schemeUri').account ?? '');
    return HTTPS_FORM.test(uri) ? `https://${name}.blob.core.windows.net/` : `az://${name}/`;
  }

  private checkAccount(uri: string, raw: string): string {
    // Host names are case-insensitive: the https form may be written in any case.
    const account = HTTPS_FORM.test(uri) ? raw.toLowerCase() : raw;
    if (!ACCOUNT_NAME.test(account)) {
      const shown = redactSecrets(uri);
      throw new S3dlioError(
        'ERR_INVALID_URI',
        `Invalid URI ${JSON.stringify(shown)}: ${JSON.stringify(account)} is not a valid Azure storage account name (3-24 lowercase letters and digits)`,
        { uri: shown },
      );
    }
    return account;
  }

  /** Whether `put` may send from the caller's memory (the lean path checks it stays attached). */
  get sendsCallerMemory(): boolean {
    return this.#clients.lean;
  }

  /** The I/O threads that move bodies, if any. */
  get ioThreads(): IoThreads | undefined {
    return this.#clients.threads;
  }

  async read(
    ref: CloudRef,
    range: ByteRange | undefined,
    signal?: AbortSignal,
    placement?: BodyPlacement,
  ): Promise<Uint8Array> {
    const lean = this.#clients.dataPath(ref);
    if (lean) return lean.read(ref, range, signal, placement);
    const blob = this.#clients.container(ref).getBlobClient(ref.key);
    const offset = range?.start ?? 0;
    const count = range?.end === undefined ? undefined : range.end - offset + 1;
    // maxRetryRequests 0: a body cut short is an error here, and CloudStore retries the whole read.
    const response = await blob.download(offset, count, { abortSignal: signal, maxRetryRequests: 0 });
    const body = response.readableStreamBody as (NodeJS.ReadableStream & AsyncIterable<Uint8Array>) | undefined;
    const target = placeBody(body, placement, {
      length: response.contentLength,
      totalSize: totalFromContentRange(response.contentRange) ?? response.contentLength,
      etag: response.etag,
      // The blob's MD5 (kept by the service for single-request uploads), on ranged reads too.
      ...storedMd5(response.blobContentMD5 ?? (range === undefined ? response.contentMD5 : undefined)),
    });
    if (!body) return new Uint8Array(0);
    try {
      return await readBody(
        body,
        response.contentLength ?? lengthFromContentRange(response.contentRange),
        signal,
        () => target,
      );
    } catch (error) {
      // The SDK's body stream reports a connection lost mid-body as an AbortError (or as "Data
      // corruption failure" once its own retries are spent): say what happened.
      const { name, message } = (error ?? {}) as { name?: unknown; message?: unknown };
      const cutShort =
        name === 'AbortError' ||
        (typeof message === 'string' && /^Data corruption failure: received less/.test(message));
      if (signal?.aborted || !cutShort) throw error;
      throw new DriverFailure('TruncatedBodyError', {
        code: 'ERR_TRUNCATED_BODY',
        retryable: true,
        message: `the response body ended before its Content-Length (${response.contentLength} bytes)`,
      });
    }
  }

  async write(ref: CloudRef, bytes: Uint8Array, signal?: AbortSignal, options: WriteRequest = {}): Promise<void> {
    // One Put Blob request (up to 5000 MiB): the blob appears whole or not at all.
    const lean = this.#clients.dataPath(ref);
    if (lean) return lean.write(ref, bytes, signal, options);
    await this.#clients
      .container(ref)
      .getBlockBlobClient(ref.key)
      .upload(bytes, bytes.byteLength, { abortSignal: signal, ...blobWriteOptions(options) });
  }

  openUpload(ref: CloudRef, options: WriteRequest): CloudUpload {
    const blob = this.#clients.container(ref).getBlockBlobClient(ref.key);
    const lean = this.#clients.dataPath(ref);
    // Block ids must all have the same length: the part index, zero-padded, base64.
    const blockId = (index: number): string => Buffer.from(String(index).padStart(8, '0')).toString('base64');
    return {
      maxParts: 50_000,
      minPartSize: 1,
      maxPartSize: 4000 * 1024 * 1024,
      // Staging a block id again replaces it: safe to retry.
      partsIdempotent: true,
      sendsCallerMemory: lean !== undefined,
      uploadPart: async (index, _offset, bytes, signal) => {
        if (lean) return lean.putBlock(ref, blockId(index), bytes, signal);
        await blob.stageBlock(blockId(index), bytes, bytes.byteLength, { abortSignal: signal });
      },
      complete: async (_total, parts, signal) => {
        const ids = Array.from({ length: parts }, (_, index) => blockId(index));
        const response = await blob.commitBlockList(ids, { abortSignal: signal, ...blobWriteOptions(options) });
        return response.etag === undefined ? {} : { etag: response.etag };
      },
      // Uncommitted blocks are never visible and the service discards them (after 7 days at most).
      abort: async () => undefined,
    };
  }

  async head(ref: CloudRef, signal?: AbortSignal): Promise<ObjectHead> {
    const properties = await this.#clients.container(ref).getBlobClient(ref.key).getProperties({ abortSignal: signal });
    return objectHead(properties.contentLength, properties.lastModified, properties.etag, properties.contentType);
  }

  async storedChecksum(ref: CloudRef, signal?: AbortSignal): Promise<StoredChecksum | undefined> {
    const properties = await this.#clients.container(ref).getBlobClient(ref.key).getProperties({ abortSignal: signal });
    return storedMd5(properties.contentMD5).checksum;
  }

  async listPage(
    ref: CloudRef,
    delimiter: string | undefined,
    token: string | undefined,
    signal?: AbortSignal,
  ): Promise<ListPage> {
    const container = this.#clients.container(ref);
    const options = { prefix: ref.key || undefined, abortSignal: signal };
    const settings = { continuationToken: token, maxPageSize: this.pageSize };
    if (delimiter === undefined) {
      const { value: page } = (await container.listBlobsFlat(options).byPage(settings).next()) as {
        value?: AzBlob.ContainerListBlobFlatSegmentResponse;
      };
      return {
        keys: page ? page.segment.blobItems.map((item) => item.name) : [],
        heads: page ? page.segment.blobItems.map(headOf) : [],
        prefixes: [],
        nextToken: page?.continuationToken || undefined,
      };
    }
    const { value: page } = (await container.listBlobsByHierarchy(delimiter, options).byPage(settings).next()) as {
      value?: AzBlob.ContainerListBlobHierarchySegmentResponse;
    };
    return {
      keys: page ? page.segment.blobItems.map((item) => item.name) : [],
      heads: page ? page.segment.blobItems.map(headOf) : [],
      prefixes: page ? (page.segment.blobPrefixes ?? []).map((item) => item.name) : [],
      nextToken: page?.continuationToken || undefined,
    };
  }

  async remove(ref: CloudRef, signal?: AbortSignal): Promise<void> {
    // Azure answers 404 BlobNotFound for a missing blob. Snapshots go with their blob.
    await this.#clients.container(ref).deleteBlob(ref.key, { abortSignal: signal, deleteSnapshots: 'include' });
  }

  async copy(source: CloudRef, destination: CloudRef, signal?: AbortSignal): Promise<void> {
    if (this.#clients.clientKey(source) !== this.#clients.clientKey(destination)) {
      // Another account (or endpoint): the source would need its own SAS; copy through here.
      return this.write(destination, await this.read(source, undefined, signal), signal);
    }
    const sourceUrl = this.#clients.container(source).getBlobClient(source.key).url;
    const target = this.#clients.container(destination).getBlobClient(destination.key);
    // Copy Blob: within one account the request's own credential authorizes the source (Copy
    // Blob From URL would need a SAS or a public source). Usually done at once; else poll, with
    // our own backoff and signal (the SDK poller's delay ignores the signal).
    const poller = await target.beginCopyFromURL(sourceUrl, { abortSignal: signal });
    for (let delay = 50; !poller.isDone(); delay = Math.min(delay * 2, 2000)) {
      await sleep(delay, signal);
      await poller.poll({ abortSignal: signal });
    }
  }

  async createBucket(ref: CloudRef, signal?: AbortSignal): Promise<void> {
    await this.#clients.container(ref).createIfNotExists({ abortSignal: signal });
  }

  async deleteBucket(ref: CloudRef, signal?: AbortSignal): Promise<void> {
    // Azure deletes non-empty containers; the API promises ERR_BUCKET_NOT_EMPTY, so look first.
    const container = this.#clients.container(ref);
    const { value: page } = (await container
      .listBlobsFlat({ abortSignal: signal })
      .byPage({ maxPageSize: 1 })
      .next()) as { value?: AzBlob.ContainerListBlobFlatSegmentResponse };
    if (page && page.segment.blobItems.length > 0) {
      throw new DriverFailure('ContainerNotEmpty', {
        code: 'ERR_BUCKET_NOT_EMPTY',
        retryable: false,
        message: 'the container is not empty (pass { force: true } to delete its blobs too)',
      });
    }
    await container.delete({ abortSignal: signal });
  }

  async listBuckets(ref: { base: string }, signal?: AbortSignal): Promise<string[]> {
    const names: string[] = [];
    const pages = this.#clients
      .client(ref)
      .listContainers({ abortSignal: signal })
      .byPage({ maxPageSize: MAX_PAGE_SIZE });
    for await (const page of pages) for (const item of page.containerItems ?? []) names.push(item.name);
    return names;
  }

  classify(error: unknown): CloudFailure {
    if (error instanceof DriverFailure) return error.failure;
    const shape = (typeof error === 'object' && error !== null ? error : {}) as RestErrorShape;
    const name = shape.name ?? '';
    const text = typeof shape.message === 'string' ? shape.message : String(error);
    if (name === 'TruncatedBodyError' || /^Data corruption failure: received less data/i.test(text)) {
      return { code: 'ERR_TRUNCATED_BODY', retryable: true, message: text };
    }
    if (name === 'AbortError') {
      // Our own signals are handled before classify: this is the SDK giving up on a connection.
      return {
        code: 'ERR_CONNECTION',
        retryable: true,
        message: 'the connection closed before the answer was complete',
      };
    }
    if (IDENTITY_ERRORS.has(name)) {
      return {
        code: 'ERR_ACCESS_DENIED',
        retryable: false,
        message: `no usable Azure credential (set AZURE_STORAGE_CONNECTION_STRING, AZURE_STORAGE_SAS_TOKEN or AZURE_STORAGE_KEY, pass a credential option, or sign in for DefaultAzureCredential): ${text}`,
      };
    }
    const status = typeof shape.statusCode === 'number' ? shape.statusCode : undefined;
    const header = (header: string): string | undefined => {
      try {
        return shape.response?.headers?.get?.(header) ?? undefined;
      } catch {
        return undefined;
      }
    };
    const serviceCode =
      (status !== undefined ? shape.code : undefined) ?? shape.details?.errorCode ?? header('x-ms-error-code');
    const requestId = shape.details?.['x-ms-request-id'] ?? shape.details?.requestId ?? header('x-ms-request-id');
    const known = serviceCode ? SERVICE_CODES[serviceCode] : undefined;
    const base =
      known ??
      (status !== undefined
        ? classifyStatus(status)
        : shape.code === 'REQUEST_SEND_ERROR'
          ? { code: 'ERR_CONNECTION', retryable: true }
          : { code: 'ERR_CLOUD', retryable: false });
    // Service messages end with "RequestId:…" and "Time:…" lines: the request id has its field.
    const firstLine = text.split('\n')[0].trim();
    const message =
      firstLine ||
      (serviceCode && BODYLESS_MESSAGES[serviceCode]) ||
      (status !== undefined ? `the service answered HTTP ${status}` : name || 'unknown error');
    return {
      ...base,
      ...(status !== undefined && { status }),
      ...(serviceCode !== undefined && { serviceCode }),
      ...(requestId !== undefined && { requestId }),
      message,
    };
  }

  // ---- clients ----
}

/** A listed blob's metadata, as `head` reports it (the listing's properties are Get Blob Properties'). */
function headOf(item: AzBlob.BlobItem): ObjectHead {
  const { contentLength, lastModified, etag, contentType } = item.properties;
  // The listing's XML gives the etag bare (0x8D…); the ETag header, and so `head`, quotes it.
  const quoted = etag === undefined || /^(W\/)?"/.test(etag) ? etag : `"${etag}"`;
  return objectHead(contentLength, lastModified, quoted, contentType);
}
